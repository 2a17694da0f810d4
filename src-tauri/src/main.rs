//! The `drivesync-app` binary: logs to stderr (`DRIVESYNC_LOG` sets the filter) and, once the
//! data folder is known, to daily files at the configured level; then runs the app. `--hidden` starts in the tray, `--demo` runs the demo, `--config FILE` reads
//! another configuration.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> anyhow::Result<()> {
    let logs = drivesync::logs::Logs::init("info")?;
    let mut options = drivesync_app::Options::parse(std::env::args().skip(1));
    options.logs = Some(std::sync::Arc::new(logs));
    drivesync_app::run(options)
}
