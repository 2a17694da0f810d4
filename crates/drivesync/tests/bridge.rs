//! The event bridge against a running daemon and drive-emulator: a local edit shows up in the
//! window's events as a transfer, a log entry and status changes, and a pair added by the
//! command line as a `pairs` event, with nothing polled.

use std::time::Duration;

use drive_emulator::{Emulator, EmulatorConfig};
use drivesync::demo::emulator_config;
use drivesync::desktop::{spawn_bridge, Overall, UiEvent};
use drivesync::{ActivityKind, Daemon, Drivesync, Events, InstanceLock, Overrides};
use tokio::sync::mpsc;

async fn next(rx: &mut mpsc::UnboundedReceiver<UiEvent>, seen: &mut Vec<UiEvent>) -> UiEvent {
    let e = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within 30 s; seen: {seen:#?}"))
        .expect("the bridge ended");
    seen.push(e.clone());
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_edit_reaches_the_window_as_transfer_activity_and_status() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, emulator_config(&emu.base_url())).unwrap();
    let app = Drivesync::open(&Overrides {
        config_file: Some(config),
        endpoint: None,
    })
    .unwrap();
    app.login_unattended().await.unwrap();
    let local = dir.path().join("local");
    let pair = app.pair_add(&local, "/Bridge", None).await.unwrap();

    let (tx, events) = mpsc::unbounded_channel();
    let lock = InstanceLock::acquire(&app.config().data_dir).unwrap();
    let daemon = Daemon::start(&app, lock, Events::tagged(tx)).await.unwrap();
    let (out, mut rx) = mpsc::unbounded_channel();
    let bridge = spawn_bridge(daemon.clone(), app.state().unwrap(), events, out);
    let mut seen = Vec::new();

    // The first status comes at once; the first sync (of an empty pair) settles.
    loop {
        if let UiEvent::Status(s) = next(&mut rx, &mut seen).await {
            assert_eq!(s.pairs.len(), 1);
            if s.overall == Overall::InSync {
                break;
            }
        }
    }

    std::fs::write(local.join("report.txt"), vec![b'x'; 300_000]).unwrap();
    let (mut finished, mut logged) = (false, false);
    while !(finished && logged) {
        match next(&mut rx, &mut seen).await {
            UiEvent::Transfer(t) => {
                assert_eq!(
                    (t.pair, t.path.as_str(), t.upload),
                    (pair.id, "report.txt", true)
                );
                assert!(t.done <= t.total && t.total == 300_000);
                finished |= t.finished;
            }
            UiEvent::Status(_) => {}
            UiEvent::Activity(a) => {
                if a.kind == ActivityKind::Uploaded {
                    assert_eq!(a.path.as_ref().map(|p| p.as_str()), Some("report.txt"));
                    assert_eq!(a.pair.map(|p| p.0), Some(pair.id));
                    logged = true;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // It settles again; then only the loop's own polls (a status each) reach the window.
    loop {
        if let UiEvent::Status(s) = next(&mut rx, &mut seen).await {
            if s.overall == Overall::InSync && s.transfers.is_empty() {
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut idle = Vec::new();
    while let Ok(e) = rx.try_recv() {
        idle.push(e);
    }
    assert!(
        idle.len() <= 2 && idle.iter().all(|e| matches!(e, UiEvent::Status(_))),
        "events while idle: {idle:?}"
    );

    // `drivesync pair add` while the app runs: the command line adds the pair and tells the
    // running daemon through its control socket; the window gets the new list.
    #[cfg(unix)]
    {
        let server = drivesync::control::serve(daemon.clone(), &app.config().data_dir).unwrap();
        let cli = Drivesync::open(&Overrides {
            config_file: Some(dir.path().join("config.toml")),
            endpoint: None,
        })
        .unwrap();
        let second = cli
            .pair_add(&dir.path().join("second"), "/Second", None)
            .await
            .unwrap();
        let reload = drivesync::control::Request::Reload { reconnect: false };
        let status = drivesync::control::request(&app.config().data_dir, &reload)
            .await
            .unwrap();
        assert_eq!(status.pairs.len(), 2);
        loop {
            if let UiEvent::Pairs(list) = next(&mut rx, &mut seen).await {
                let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
                assert_eq!(ids, [pair.id, second.id]);
                break;
            }
        }
        server.abort();
    }
    daemon.stop().await;
    drop(daemon);
    bridge.abort();
}
