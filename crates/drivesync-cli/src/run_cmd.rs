//! `drivesync run` and the commands that talk to it: `pause`, `resume`, and the live part of
//! `status`.
use drivesync::control::{self, Request};
use drivesync::logs::Logs;
use drivesync::{
    Daemon, DaemonStatus, Drivesync, Error, Event, Events, InstanceLock, PairState, PairStatus,
};

/// Logs to stderr (at `verbose`, default info) and to daily files in `<data>/logs` at the
/// configured level (`[app] log_level`, default info; 7 files kept).
fn init_logging(app: &Drivesync, verbose: u8) -> Option<Logs> {
    let level = match verbose {
        0 | 1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let logs = Logs::init(level).ok()?;
    let dir = app.config().data_dir.join("logs");
    if let Err(e) = logs.write_files(&dir, &app.config().log_level) {
        tracing::warn!("{e}");
    }
    Some(logs)
}

/// Runs every enabled pair continuously until Ctrl-C or SIGTERM.
pub async fn run(app: &Drivesync, verbose: u8) -> Result<u8, Error> {
    let data_dir = app.config().data_dir.clone();
    let _logs = init_logging(app, verbose);
    let lock = InstanceLock::acquire(&data_dir)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::start(app, lock, Events::to(tx)).await?;
    let server = control::serve(daemon.clone(), &data_dir)?;
    let logger = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Event::Finished {
                path,
                kind,
                message,
                ..
            } = ev
            {
                tracing::info!(target: "drivesync::activity", %path, %kind, "{message}");
            }
        }
    });
    let status = daemon.status().await;
    if let Some(problem) = &status.account_problem {
        tracing::warn!("{problem}");
    }
    tracing::info!(
        pid = status.pid,
        pairs = status.pairs.len(),
        "drivesync is running; stop it with Ctrl-C"
    );
    wait_for_stop().await;
    tracing::info!("stopping");
    server.abort();
    daemon.stop().await;
    logger.abort();
    let _ = std::fs::remove_file(control::socket_path(&data_dir));
    Ok(0)
}

/// `drivesync demo`: starts the demo and runs it like `run` until stopped.
pub async fn demo(verbose: u8) -> Result<u8, Error> {
    let demo = drivesync::demo::Demo::start().await?;
    let local = &demo.pair.local;
    println!("drivesync demo: no Google account needed.");
    println!("  local folder: {}", local.display());
    println!(
        "  Drive:        {} (the embedded emulator; see {}/__emulator/snapshot)",
        demo.pair.drive_path,
        demo.drive_url()
    );
    println!(
        "Change files in the local folder and watch the log. Ctrl-C stops and removes everything."
    );
    run(&demo.app, verbose).await
}

#[cfg(unix)]
async fn wait_for_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_stop() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Sends `req` to the running drivesync and prints the pairs it concerns.
pub async fn control(app: &Drivesync, req: Request, done: &str) -> Result<u8, Error> {
    let status = control::request(&app.config().data_dir, &req).await?;
    println!("{done}");
    print_live(&status);
    Ok(0)
}

/// Asks a running drivesync to tell its pairs again (after pairs or the sign-in changed).
/// Quiet when none runs.
pub async fn tell_running(app: &Drivesync, reconnect: bool) {
    match control::request(&app.config().data_dir, &Request::Reload { reconnect }).await {
        Ok(_) => println!("The running drivesync picked up the change."),
        Err(Error::NotRunning { .. }) => {}
        Err(e) => eprintln!("warning: the running drivesync did not take the change: {e}"),
    }
}

/// Tells a running drivesync to stop syncing before a sign-out; whether one was running.
pub async fn sign_out_running(app: &Drivesync) -> bool {
    match control::request(&app.config().data_dir, &Request::SignOut).await {
        Ok(_) => {
            println!("The running drivesync stopped syncing.");
            true
        }
        Err(Error::NotRunning { .. }) => false,
        Err(e) => {
            eprintln!("warning: the running drivesync did not stop: {e}");
            true
        }
    }
}

/// The live state of each pair of a running drivesync.
pub fn print_live(status: &DaemonStatus) {
    if let Some(p) = &status.account_problem {
        println!("drivesync run (pid {}): not syncing: {p}", status.pid);
    }
    let kib = |l: Option<u64>| l.map_or("unlimited".to_owned(), |b| format!("{} KiB/s", b / 1024));
    println!(
        "  speed limits: up {}, down {}",
        kib(status.upload_limit),
        kib(status.download_limit)
    );
    for p in &status.pairs {
        println!("  {}: {}", p.name, describe(p));
    }
}

/// One line about a running pair.
pub fn describe(p: &PairStatus) -> String {
    let mut line = match &p.state {
        PairState::Starting => "starting".to_owned(),
        PairState::Idle => "in sync".to_owned(),
        PairState::Syncing => "syncing".to_owned(),
        PairState::Paused => "paused (drivesync resume to continue)".to_owned(),
        PairState::Blocked { message, .. } => message.clone(),
        PairState::Retrying { message } => message.clone(),
    };
    if p.pending_local > 0 {
        line.push_str(&format!("; {} local change(s) waiting", p.pending_local));
    }
    if let Some(w) = &p.watch_problem {
        line.push_str(&format!("; {w}"));
    }
    line
}
