//! `drive-emulator`: runs the local Drive v3 + OAuth server until stopped. Prints its base URL
//! as the first line on stdout.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use drive_emulator::{Emulator, EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

/// A local Google Drive v3 and OAuth 2.0 server for tests and demos. Binds 127.0.0.1 only.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep files, change log, upload sessions and tokens here across restarts.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3599)]
    token_ttl: u64,
    /// Resumable upload session lifetime in seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    session_ttl: u64,
    /// Register an OAuth client `ID:SECRET` (repeatable); the built-in one is always present.
    #[arg(long = "client", value_name = "ID:SECRET")]
    clients: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DRIVE_EMULATOR_LOG")
                .unwrap_or_else(|_| "drive_emulator=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut clients = vec![(
        DEFAULT_CLIENT_ID.to_owned(),
        DEFAULT_CLIENT_SECRET.to_owned(),
    )];
    for c in &args.clients {
        let (id, secret) = c
            .split_once(':')
            .with_context(|| format!("--client {c}: expected ID:SECRET"))?;
        clients.push((id.to_owned(), secret.to_owned()));
    }
    let config = EmulatorConfig {
        port: args.port,
        data_dir: args.data_dir,
        latency: Duration::from_millis(args.latency_ms),
        token_ttl: Duration::from_secs(args.token_ttl),
        session_ttl: Duration::from_secs(args.session_ttl),
        clients,
    };
    let emu = Emulator::start(config)
        .await
        .context("starting drive-emulator")?;
    println!("{}", emu.base_url());
    eprintln!(
        "drive-emulator: Drive API at {0}/drive/v3, OAuth at {0}/auth and {0}/token, client id {DEFAULT_CLIENT_ID} secret {DEFAULT_CLIENT_SECRET}; control API at {0}/__emulator. Ctrl-C stops.",
        emu.base_url()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    emu.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        s.recv().await;
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
