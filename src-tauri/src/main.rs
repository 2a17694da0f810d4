//! The `drivesync-app` binary: logs to stderr (`DRIVESYNC_LOG` sets the filter), then runs
//! the app. `--hidden` starts in the tray, `--demo` runs the demo, `--config FILE` reads
//! another configuration.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRIVESYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    drivesync_app::run(drivesync_app::Options::parse(std::env::args().skip(1)))
}
