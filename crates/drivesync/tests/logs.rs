//! The binaries' logging: files appear in the folder asked for, at the level asked for, and a
//! new level applies at once (the app's Settings change it while running). One test: the
//! subscriber is global to the process.

use std::path::Path;
use std::time::{Duration, Instant};

use drivesync::logs::Logs;

/// Everything written to the log files of `dir` so far.
fn logged(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("drivesync.") && name.ends_with(".log"),
            "{name}"
        );
        all += &std::fs::read_to_string(p).unwrap();
    }
    all
}

/// Waits until the files hold `line` (the writer is a background thread).
fn wait_for(dir: &Path, line: &str) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = logged(dir);
        if text.contains(line) || Instant::now() > end {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn log_files_follow_the_level_set_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let logs = Logs::init("error").unwrap();
    assert!(Logs::init("info").is_err(), "installed once per process");
    assert_eq!(logs.dir(), None);
    tracing::warn!("before the files");

    let files = dir.path().join("logs");
    logs.write_files(&files, "info").unwrap();
    assert_eq!(logs.dir().as_deref(), Some(files.as_path()));
    tracing::debug!("debug one");
    tracing::info!("info one");
    let text = wait_for(&files, "info one");
    assert!(text.contains("info one"), "{text}");
    assert!(
        !text.contains("debug one") && !text.contains("before the files"),
        "{text}"
    );

    logs.set_level("debug").unwrap();
    tracing::debug!("debug two");
    assert!(wait_for(&files, "debug two").contains("debug two"));

    logs.set_level("warn").unwrap();
    tracing::info!("info three");
    tracing::warn!("warn three");
    let text = wait_for(&files, "warn three");
    assert!(
        text.contains("warn three") && !text.contains("info three"),
        "{text}"
    );

    let e = logs.set_level("verbose").unwrap_err().to_string();
    assert!(e.contains("error, warn, info, debug, trace"), "{e}");
}
