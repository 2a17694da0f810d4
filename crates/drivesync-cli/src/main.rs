//! `drivesync`: keep local folders and Google Drive folders identical. This binary is a thin
//! layer over the `drivesync` facade: parse arguments, call it, print, map errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use drivesync::control::Request;
use drivesync::{Drivesync, EntryKind, Error, Overrides, SyncRequest};

mod run_cmd;
mod sync_cmd;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 failure (the message says what and what to do); \
2 bad command line; 3 sign-in needed (not signed in, or Google revoked access: run `drivesync login`); \
4 the sync ran but some files failed (listed; they are retried at the next sync); \
5 the delete guard stopped a sync that would delete many files (check, then use --force-deletes); \
6 a pair's folder is missing, not mounted or not the folder that was synced (nothing was deleted; \
reconnect it, or use --force-deletes if its files are meant to be gone).";

/// Keep local folders and Google Drive folders identical, both ways.
#[derive(Debug, Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    /// Configuration file (default: config.toml in the platform config folder).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Send every Google request to this server instead (e.g. a drive-emulator URL).
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<url::Url>,
    /// More log output on stderr: -v info, -vv debug, -vvv trace. Tokens are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect a Google account (opens the browser; the token goes to the OS keychain).
    Login {
        /// Print the sign-in link instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Disconnect: stop the running drivesync's syncing, revoke drivesync's access and delete
    /// the token from the keychain (kept when Google does not confirm the revoke).
    Logout {
        /// Delete the token even if Google does not confirm the revoke.
        #[arg(long)]
        force: bool,
    },
    /// Show the connected account and its storage use.
    Whoami,
    /// List a Drive folder (`/` is My Drive).
    Ls {
        /// Folder path on Drive, names separated by `/`.
        #[arg(default_value = "/")]
        path: String,
    },
    /// Add, list or remove sync pairs (a local folder kept identical to a Drive folder).
    Pair {
        #[command(subcommand)]
        command: PairCommand,
    },
    /// Sync the pairs (or one) now: both ways, then exit.
    Sync {
        /// The pair (name or id); default: every enabled pair.
        pair: Option<String>,
        /// Sync once and exit (the default; `drivesync run` keeps syncing).
        #[arg(long)]
        once: bool,
        /// Print what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Proceed even if the sync deletes more than the pair's delete limit.
        #[arg(long)]
        force_deletes: bool,
    },
    /// Show the pairs: folders, last sync, pending operations, conflicts, and what a running
    /// drivesync is doing.
    Status {
        /// Print the status as JSON (for scripts and the app).
        #[arg(long)]
        json: bool,
    },
    /// Keep syncing every enabled pair until stopped (Ctrl-C or SIGTERM): local changes are
    /// picked up within seconds, Drive's changes at the poll interval. Logs go to stderr and
    /// to daily files in the data folder's `logs`.
    Run,
    /// Try drivesync without a Google account: an embedded Drive emulator and a sample pair
    /// in a temporary folder, synced continuously (as `run`) until Ctrl-C; then everything
    /// is removed. Edit files in the printed folder and watch them reach "Drive".
    Demo,
    /// Pause the running drivesync (one pair, or all).
    Pause {
        /// The pair (name or id); default: all.
        pair: Option<String>,
    },
    /// Resume the running drivesync (one pair, or all).
    Resume {
        /// The pair (name or id); default: all.
        pair: Option<String>,
    },
    /// Limit the running drivesync's transfer speeds now (KiB/s, 0 = unlimited). The config
    /// file's `[sync] upload_limit_kib` / `download_limit_kib` apply at start.
    Limit {
        /// Upload limit in KiB/s.
        #[arg(long)]
        up: Option<u64>,
        /// Download limit in KiB/s.
        #[arg(long)]
        down: Option<u64>,
    },
}

/// A switch on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl OnOff {
    fn on(self) -> bool {
        matches!(self, OnOff::On)
    }
}

#[derive(Debug, Subcommand)]
enum PairCommand {
    /// Pair a local folder with a Drive folder (both created if missing).
    Add {
        /// The local folder.
        local: PathBuf,
        /// The Drive folder: a path like `/Backup/Photos`, or `id:FOLDER_ID`.
        drive: String,
        /// A name for the pair (default: the local folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the pairs.
    List,
    /// Change a pair's settings (they apply from its next sync); with no option, show them.
    Set {
        /// The pair (name or id).
        pair: String,
        /// Write Google Docs, Sheets and Slides as exported .docx/.xlsx/.pptx files instead
        /// of link files.
        #[arg(long, value_name = "on|off")]
        export_docs: Option<OnOff>,
        /// Sync the pair or skip it.
        #[arg(long, value_name = "on|off")]
        enabled: Option<OnOff>,
        /// Transfers at once.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: Option<u16>,
        /// The delete guard: stop before deleting more than this many files...
        #[arg(long)]
        delete_limit_files: Option<u64>,
        /// ...and this percentage of the pair.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        delete_limit_percent: Option<u8>,
    },
    /// Forget a pair and its sync state. Never deletes files on either side.
    Remove {
        /// The pair (name or id).
        pair: String,
    },
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // Stderr only: the handle (for files and level changes) is not needed here.
    let _ = drivesync::logs::Logs::init(level);
}

fn size(bytes: Option<u64>) -> String {
    match bytes {
        None => "-".into(),
        Some(b) if b < 1024 => format!("{b} B"),
        Some(b) if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        Some(b) if b < 1 << 30 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        Some(b) => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
    }
}

async fn run(cli: Cli) -> Result<u8, Error> {
    let verbose = cli.verbose;
    if matches!(cli.command, Command::Demo) {
        return run_cmd::demo(verbose).await;
    }
    let app = Drivesync::open(&Overrides {
        config_file: cli.config,
        endpoint: cli.endpoint,
    })?;
    match cli.command {
        Command::Login { no_browser } => {
            let show = move |url: &url::Url| {
                if no_browser {
                    println!(
                        "Open this link in a browser to connect drivesync to Google Drive:\n{url}"
                    );
                } else {
                    eprintln!("Opening your browser to connect drivesync. If it does not open, use this link:\n{url}");
                }
            };
            let who = app.login(no_browser, show).await?;
            println!("Signed in as {} <{}>.", who.name, who.email);
            run_cmd::tell_running(&app, true).await;
        }
        Command::Logout { force } => {
            let running = run_cmd::sign_out_running(&app).await;
            let result = app.logout(force).await;
            // Signed out, it says so; still signed in (the revoke failed), it syncs again.
            if running {
                run_cmd::tell_running(&app, true).await;
            }
            let email = result?;
            println!("Signed out {email}: access revoked and the token deleted from the keychain.");
        }
        Command::Whoami => {
            let who = app.whoami().await?;
            println!("{} <{}>", who.name, who.email);
            println!(
                "storage: {} used of {}",
                size(who.used),
                who.limit.map_or("unlimited".into(), |l| size(Some(l)))
            );
        }
        Command::Ls { path } => {
            for e in app.ls(&path).await? {
                let kind = match e.kind {
                    EntryKind::Folder => "dir ",
                    EntryKind::File => "file",
                    EntryKind::GoogleDoc => "doc ",
                    EntryKind::Shortcut => "link",
                };
                println!(
                    "{kind}  {:>10}  {}",
                    size(e.size),
                    drivesync::shown(&e.name)
                );
            }
        }
        Command::Pair { command } => {
            let changes = !matches!(command, PairCommand::List);
            pair(&app, command).await?;
            if changes {
                run_cmd::tell_running(&app, false).await;
            }
        }
        Command::Sync {
            pair,
            once: _,
            dry_run,
            force_deletes,
        } => {
            let req = SyncRequest {
                dry_run,
                force_deletes,
            };
            return match sync_cmd::sync(&app, pair.as_deref(), req).await {
                Err(Error::AlreadyRunning { pid, .. }) => {
                    let ask = Request::SyncNow {
                        pair,
                        force_deletes,
                    };
                    let running = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    let done = format!("drivesync run{running} is syncing now; `drivesync status` shows how it goes.");
                    run_cmd::control(&app, ask, &done).await
                }
                other => other,
            };
        }
        Command::Status { json } => return sync_cmd::status(&app, json).await,
        Command::Run => return run_cmd::run(&app, verbose).await,
        Command::Demo => unreachable!("handled above"),
        Command::Pause { pair } => {
            let done = format!("Paused {}.", pair.as_deref().unwrap_or("every pair"));
            return run_cmd::control(&app, Request::Pause { pair }, &done).await;
        }
        Command::Resume { pair } => {
            let done = format!("Resumed {}.", pair.as_deref().unwrap_or("every pair"));
            return run_cmd::control(&app, Request::Resume { pair }, &done).await;
        }
        Command::Limit { up, down } => {
            let req = Request::Limit {
                up_kib: up,
                down_kib: down,
            };
            return run_cmd::control(&app, req, "Speed limits set.").await;
        }
    }
    Ok(0)
}

async fn pair(app: &Drivesync, command: PairCommand) -> Result<(), Error> {
    match command {
        PairCommand::Add { local, drive, name } => {
            let p = app.pair_add(&local, &drive, name.as_deref()).await?;
            println!(
                "Added pair {} ({}): {} <-> {}. Run `drivesync sync` to sync it.",
                p.name,
                p.id,
                p.local.display(),
                p.drive_path
            );
            for out in &p.left_out {
                println!(
                    "  {out} is drivesync's own folder: it is left out of the pair, never synced."
                );
            }
        }
        PairCommand::List => {
            for p in app.pairs()? {
                println!(
                    "{:>3}  {:<16} {} <-> {}  last sync: {}",
                    p.id,
                    p.name,
                    p.local.display(),
                    p.drive_path,
                    p.last_sync.as_deref().unwrap_or("never")
                );
            }
        }
        PairCommand::Set {
            pair,
            export_docs,
            enabled,
            concurrency,
            delete_limit_files,
            delete_limit_percent,
        } => {
            let s = app.pair_configure(&pair, |s| {
                if let Some(v) = export_docs {
                    s.export_docs = v.on();
                }
                if let Some(v) = enabled {
                    s.enabled = v.on();
                }
                if let Some(v) = concurrency {
                    s.concurrency = v.into();
                }
                if let Some(v) = delete_limit_files {
                    s.delete_limit_files = v;
                }
                if let Some(v) = delete_limit_percent {
                    s.delete_limit_percent = v;
                }
            })?;
            let on = |b: bool| if b { "on" } else { "off" };
            println!(
                "{pair}: export-docs {}, enabled {}, concurrency {}, delete limit {} files and {} %",
                on(s.export_docs),
                on(s.enabled),
                s.concurrency,
                s.delete_limit_files,
                s.delete_limit_percent
            );
        }
        PairCommand::Remove { pair } => {
            let p = app.pair_remove(&pair)?;
            println!(
                "Removed pair {}: its sync state is forgotten; no file was deleted ({} and {} are untouched).",
                p.name,
                p.local.display(),
                p.drive_path
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run | Command::Demo) {
        // `run` logs to a file too, once it knows the data folder.
        init_tracing(cli.verbose);
    }
    match run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("drivesync: {e}");
            ExitCode::from(if e.needs_login() { 3 } else { 1 })
        }
    }
}
