//! `drivesync sync` and `drivesync status`: run or preview a sync with progress bars, print
//! the plan, the summary and the pairs' state.

use drivesync::{Drivesync, Error, Event, Events, PairInfo, SyncReport, SyncRequest};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

/// Exit code: the sync ran, but some files failed (listed; retried at the next sync).
pub const EXIT_SOME_FAILED: u8 = 4;
/// Exit code: the delete guard stopped the sync.
pub const EXIT_DELETE_GUARD: u8 = 5;
/// Exit code: a pair's folder is missing, not mounted, or not the folder that was synced.
pub const EXIT_FOLDER_MISSING: u8 = 6;

fn bars() -> (MultiProgress, ProgressBar, ProgressBar) {
    let multi = MultiProgress::new();
    let files = multi.add(ProgressBar::new(0));
    files.set_style(
        ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} ops  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    files.set_prefix("files");
    let bytes = multi.add(ProgressBar::new(0));
    bytes.set_style(
        ProgressStyle::with_template(
            "{prefix:>6} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bytes.set_prefix("bytes");
    (multi, files, bytes)
}

/// Prints a line above the bars, or plainly when they are hidden (output is not a terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

/// Shows events as two bars (ops, bytes) and the transfers in flight.
async fn show(mut rx: mpsc::UnboundedReceiver<Event>) {
    let (_multi, files, bytes) = bars();
    let mut moved: std::collections::HashMap<String, u64> = Default::default();
    let mut active: Vec<String> = Vec::new();
    while let Some(e) = rx.recv().await {
        match e {
            Event::Planned { ops, bytes: total } => {
                files.set_length(ops as u64);
                bytes.set_length(total);
            }
            Event::Started { path, what } => {
                active.push(format!("{what} {path}"));
                files.set_message(active.join(", "));
            }
            Event::Progress { path, done, .. } => {
                let last = moved.entry(path.to_string()).or_default();
                bytes.inc(done.saturating_sub(*last));
                *last = done;
            }
            Event::Finished {
                path,
                message,
                kind,
                ..
            } => {
                active.retain(|a| !a.ends_with(&format!(" {path}")));
                files.set_message(active.join(", "));
                files.inc(1);
                if kind == drivesync::ActivityKind::Error {
                    say(&files, format!("error: {path}: {message}"));
                }
            }
            Event::Conflict { path, copy } => {
                files.println(format!(
                    "conflict: {path} changed on both sides; your version is kept as {copy}"
                ));
            }
        }
    }
    files.finish_and_clear();
    bytes.finish_and_clear();
}

fn print_plan(report: &SyncReport) {
    if report.plan.is_empty() {
        println!("  nothing to do");
    }
    for op in &report.plan.ops {
        println!("  {:<22} {}", drivesync::op_name(op), op.path());
    }
}

fn print_summary(info: &PairInfo, r: &SyncReport) {
    println!(
        "{}: {} uploaded, {} downloaded, {} moved, {} folders created, {} to trash ({} local, {} on Drive), {} conflicts, {} errors",
        info.name,
        r.uploaded,
        r.downloaded,
        r.moved,
        r.folders,
        r.trashed_local + r.trashed_remote,
        r.trashed_local,
        r.trashed_remote,
        r.conflicts,
        r.errors.len()
    );
    for e in &r.errors {
        println!("  error: {e}");
    }
    if r.held > 0 {
        println!(
            "  {} more waiting for the files above; retried at the next sync",
            r.held
        );
    }
    for i in &r.issues {
        println!("  skipped: {i}");
    }
}

/// Runs `drivesync sync`; returns the exit code.
pub async fn sync(app: &Drivesync, pair: Option<&str>, req: SyncRequest) -> Result<u8, Error> {
    let (tx, rx) = mpsc::unbounded_channel();
    let shower = tokio::spawn(show(rx));
    let results = app.sync(pair, req, Events::to(tx)).await;
    let _ = shower.await;
    let mut code = 0;
    for (info, result) in results? {
        match result {
            Ok(report) if req.dry_run => {
                println!(
                    "{} ({} <-> {}): would do:",
                    info.name,
                    info.local.display(),
                    info.drive_path
                );
                print_plan(&report);
            }
            Ok(report) => {
                print_summary(&info, &report);
                if !report.errors.is_empty() {
                    code = code.max(EXIT_SOME_FAILED);
                }
            }
            Err(Error::Sync(drivesync::EngineError::DeleteGuard(g))) => {
                eprintln!("drivesync: {}: {g}", info.name);
                code = code.max(EXIT_DELETE_GUARD);
            }
            Err(Error::Sync(e))
                if drivesync::Blocker::of_engine(&e) == Some(drivesync::Blocker::FolderMissing) =>
            {
                eprintln!("drivesync: {}: {e}", info.name);
                code = code.max(EXIT_FOLDER_MISSING);
            }
            Err(e) if e.needs_login() => return Err(e),
            Err(e) => {
                eprintln!("drivesync: {}: {e}", info.name);
                code = code.max(1);
            }
        }
    }
    Ok(code)
}

/// Runs `drivesync status` (with `json`, as one JSON object: `daemon` is the running
/// drivesync's status or null, `pairs` the stored pairs).
pub async fn status(app: &Drivesync, json: bool) -> Result<u8, Error> {
    let pairs = app.pairs()?;
    let live = match drivesync::control::request(
        &app.config().data_dir,
        &drivesync::control::Request::Status,
    )
    .await
    {
        Ok(s) => Some(s),
        Err(Error::NotRunning { .. }) => None,
        Err(e) => {
            eprintln!("warning: {e}");
            None
        }
    };
    if json {
        let out = serde_json::json!({ "daemon": live, "pairs": pairs });
        println!("{out}");
        return Ok(0);
    }
    match &live {
        Some(l) => println!("drivesync run: running (pid {})", l.pid),
        None => println!("drivesync run: not running (start it with `drivesync run`)"),
    }
    if let Some(problem) = live.as_ref().and_then(|l| l.account_problem.as_ref()) {
        println!("  not syncing: {problem}");
    }
    if pairs.is_empty() {
        println!("no sync pairs: add one with `drivesync pair add LOCAL_FOLDER DRIVE_PATH`");
        return Ok(0);
    }
    // Not forced: a pair held (delete guard, a folder not mounted) shows why, not the plan a
    // forced sync would make over an empty mount point.
    let pending = app
        .sync(
            None,
            SyncRequest {
                dry_run: true,
                force_deletes: false,
            },
            Events::none(),
        )
        .await;
    for p in &pairs {
        println!(
            "{} [{}]",
            p.name,
            if p.enabled { "enabled" } else { "disabled" }
        );
        println!("  local:     {}", p.local.display());
        println!("  drive:     {}", p.drive_path);
        println!("  last sync: {}", p.last_sync.as_deref().unwrap_or("never"));
        if let Some(running) = live
            .as_ref()
            .and_then(|l| l.pairs.iter().find(|r| r.pair == p.id))
        {
            println!("  now:       {}", crate::run_cmd::describe(running));
        }
        let ops = match &pending {
            Ok(results) => results
                .iter()
                .find(|(i, _)| i.id == p.id)
                .map(|(_, r)| match r {
                    Ok(r) => r
                        .plan
                        .ops
                        .iter()
                        .filter(|op| !op.is_record())
                        .count()
                        .to_string(),
                    Err(e) => format!("unknown ({e})"),
                })
                .unwrap_or_else(|| "-".into()),
            Err(e) => format!("unknown ({e})"),
        };
        println!("  pending:   {ops}");
        println!("  conflicts: {}", p.conflicts);
        for c in app.conflicts(p.id)? {
            println!(
                "    {} (your version: {}) at {}",
                c.path,
                c.copy,
                c.at.to_rfc3339()
            );
        }
    }
    Ok(0)
}
