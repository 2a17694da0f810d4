//! `drivesync`: keep local folders and Google Drive folders identical. This binary is a thin
//! layer over the `drivesync` facade: parse arguments, call it, print, map errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use drivesync::{Drivesync, EntryKind, Error, Overrides};

const EXIT_CODES: &str = "Exit codes: 0 success; 1 failure (the message says what and what to do); \
2 bad command line; 3 sign-in needed (not signed in, or Google revoked access: run `drivesync login`).";

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
    /// Disconnect: revoke drivesync's access and delete the token from the keychain.
    Logout,
    /// Show the connected account and its storage use.
    Whoami,
    /// List a Drive folder (`/` is My Drive).
    Ls {
        /// Folder path on Drive, names separated by `/`.
        #[arg(default_value = "/")]
        path: String,
    },
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRIVESYNC_LOG")
        .unwrap_or_else(|_| level.into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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

async fn run(cli: Cli) -> Result<(), Error> {
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
        }
        Command::Logout => {
            let email = app.logout().await?;
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
                println!("{kind}  {:>10}  {}", size(e.size), e.name);
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drivesync: {e}");
            ExitCode::from(if e.needs_login() { 3 } else { 1 })
        }
    }
}
