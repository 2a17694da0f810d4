//! Resumable uploads that are cut off: the upload is dropped after K chunks together with
//! its client, and a new client resumes from the session saved through `UploadSessions`,
//! sending only what Drive lacks; expired sessions start over cleanly; a session that
//! completed before the crash is not uploaded again. Always one file, with the right MD5.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{write_pattern, Env};
use drive_emulator::FaultSpec;
use drivesync_drive::{
    DriveConfig, DriveId, Md5, MemSessions, NewFile, RemoteStore, ResumableSession, UploadKey,
    UploadSessions, UploadSource,
};
use tokio::sync::Notify;

const MIB: u64 = 1 << 20;
const LEN: u64 = 6 * MIB;

fn small_chunks(c: &mut DriveConfig) {
    c.multipart_max = MIB;
    c.chunk_size = MIB;
}

/// Starts uploading `path` and drops the upload (and its client) once `k` chunks are stored.
/// From that moment Drive refuses every upload request (503), so the chunk the client starts
/// next changes nothing and the cut falls exactly after chunk `k`.
async fn upload_and_kill(
    env: &Env,
    sessions: Arc<dyn UploadSessions>,
    source: UploadSource,
    k: u64,
) {
    let client = env.new_client(small_chunks).with_sessions(sessions);
    let stored = Arc::new(Notify::new());
    let (signal, emu) = (stored.clone(), env.emu.shared().clone());
    let source = source.progress(Arc::new(move |done, _| {
        if done >= k * MIB {
            emu.add_fault(FaultSpec {
                method: Some("PUT".into()),
                path: Some("/upload/*".into()),
                count: Some(1000),
                status: Some(503),
                ..FaultSpec::default()
            });
            signal.notify_one();
        }
    }));
    let new = NewFile::new(DriveId::new("root"), "big.bin");
    tokio::select! {
        biased;
        _ = stored.notified() => {}
        r = client.create_file(&new, &source) => panic!("the upload should have been cut: {r:?}"),
    }
    drop(client);
    env.emu.clear_faults();
    assert!(env.emu.snapshot().files.is_empty(), "nothing on Drive yet");
}

fn one_file(env: &Env, md5: Md5) -> String {
    let snap = env.emu.snapshot();
    assert_eq!(snap.files.len(), 1, "{:?}", snap.files);
    let f = &snap.files[0];
    assert_eq!(
        (f.md5_checksum.clone(), f.size),
        (Some(md5.to_string()), Some(LEN))
    );
    f.id.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_upload_resumes_at_the_servers_offset() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    let md5 = write_pattern(&path, LEN, 1);
    let sessions = Arc::new(MemSessions::new());
    let key = UploadKey::new("big.bin@1");
    let source = UploadSource::new(&path).resume_key(key.clone());
    upload_and_kill(&env, sessions.clone(), source.clone(), 2).await;
    assert_eq!(sessions.len(), 1, "the session was saved");

    let restarted = env.new_client(small_chunks).with_sessions(sessions.clone());
    let f = restarted
        .create_file(&NewFile::new(DriveId::new("root"), "big.bin"), &source)
        .await
        .unwrap();
    assert_eq!(f.md5_checksum, Some(md5));
    let m = restarted.metrics();
    assert_eq!(
        m.bytes_sent,
        LEN - 2 * MIB,
        "only the missing bytes were sent again"
    );
    assert_eq!(
        m.requests,
        1 + 4,
        "one status query and the four missing chunks"
    );
    assert_eq!(one_file(&env, md5), f.id.to_string());
    assert!(sessions.is_empty(), "a finished upload forgets its session");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_session_starts_over_cleanly() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    let md5 = write_pattern(&path, LEN, 2);
    let sessions = Arc::new(MemSessions::new());
    let source = UploadSource::new(&path).resume_key(UploadKey::new("k"));
    upload_and_kill(&env, sessions.clone(), source.clone(), 1).await;
    env.emu.expire_upload_sessions().unwrap();

    let restarted = env.new_client(small_chunks).with_sessions(sessions.clone());
    let f = restarted
        .create_file(&NewFile::new(DriveId::new("root"), "big.bin"), &source)
        .await
        .unwrap();
    assert_eq!(f.md5_checksum, Some(md5));
    assert_eq!(
        restarted.metrics().bytes_sent,
        LEN,
        "a new session sends everything"
    );
    one_file(&env, md5);
    assert!(sessions.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn session_expiring_mid_upload_is_replaced() {
    let env = Env::start_with(small_chunks).await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    let md5 = write_pattern(&path, LEN, 3);
    let expired = Arc::new(AtomicBool::new(false));
    let (flag, emu) = (expired.clone(), env.emu.shared().clone());
    let source = UploadSource::new(&path).progress(Arc::new(move |done, _| {
        if done >= 3 * MIB && !flag.swap(true, Ordering::SeqCst) {
            emu.expire_upload_sessions().unwrap();
        }
    }));
    let f = env
        .drive
        .create_file(&NewFile::new(DriveId::new("root"), "big.bin"), &source)
        .await
        .unwrap();
    assert!(expired.load(Ordering::SeqCst));
    assert_eq!(f.md5_checksum, Some(md5));
    // Three chunks, the refused fourth, then everything again in a new session.
    let sent = env.drive.metrics().bytes_sent;
    assert!((LEN + 3 * MIB..=LEN + 4 * MIB).contains(&sent), "{sent}");
    one_file(&env, md5);
}

/// Keeps sessions even when told to forget them: a crash between Drive finishing the upload
/// and the caller recording it.
#[derive(Default)]
struct NeverForget(MemSessions);

impl UploadSessions for NeverForget {
    fn load(&self, key: &UploadKey) -> Option<ResumableSession> {
        self.0.load(key)
    }
    fn save(&self, key: &UploadKey, session: &ResumableSession) {
        self.0.save(key, session)
    }
    fn clear(&self, _: &UploadKey) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_finished_before_a_crash_is_not_repeated() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    let md5 = write_pattern(&path, LEN, 4);
    let sessions = Arc::new(NeverForget::default());
    let source = UploadSource::new(&path).resume_key(UploadKey::new("k"));
    let new = NewFile::new(DriveId::new("root"), "big.bin");
    let first = env.new_client(small_chunks).with_sessions(sessions.clone());
    let f1 = first.create_file(&new, &source).await.unwrap();

    // The session is still there: Drive answers the status query with the file.
    let second = env.new_client(small_chunks).with_sessions(sessions.clone());
    let f2 = second.create_file(&new, &source).await.unwrap();
    assert_eq!(f2.id, f1.id);
    assert_eq!(
        (second.metrics().bytes_sent, second.metrics().requests),
        (0, 1)
    );

    // The session expired too: a new one with the same pre-generated id, and Drive's
    // "id in use" means the earlier upload made it.
    env.emu.expire_upload_sessions().unwrap();
    let third = env.new_client(small_chunks).with_sessions(sessions.clone());
    let f3 = third.create_file(&new, &source).await.unwrap();
    assert_eq!(f3.id, f1.id);
    one_file(&env, md5);
}

#[tokio::test(flavor = "multi_thread")]
async fn resumable_update_replaces_content() {
    let env = Env::start_with(small_chunks).await;
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::write(&small, b"v1").unwrap();
    let f = env
        .drive
        .create_file(
            &NewFile::new(DriveId::new("root"), "big.bin"),
            &UploadSource::new(&small),
        )
        .await
        .unwrap();
    let path = tmp.path().join("big.bin");
    let md5 = write_pattern(&path, LEN, 5);
    let u = env
        .drive
        .update_content(&f.id, &UploadSource::new(&path))
        .await
        .unwrap();
    assert_eq!(
        (u.id.clone(), u.md5_checksum, u.size),
        (f.id.clone(), Some(md5), Some(LEN))
    );
    assert!(u.version > f.version);
    one_file(&env, md5);
}

/// A saved session URL at another origin (a tampered state database, a hostile server's
/// `Location`) is refused before any request: the bearer token never leaves for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_url_at_another_origin_gets_no_request_and_no_token() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    write_pattern(&path, LEN, 3);
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let contacted = Arc::new(AtomicBool::new(false));
    let seen = contacted.clone();
    let listener = tokio::spawn(async move {
        if elsewhere.accept().await.is_ok() {
            seen.store(true, Ordering::SeqCst);
        }
    });
    let sessions = Arc::new(MemSessions::new());
    let key = UploadKey::new("tampered");
    sessions.save(
        &key,
        &ResumableSession {
            uri: drivesync_model::Sensitive::new(format!(
                "http://127.0.0.1:{port}/upload/drive/v3/files?upload_id=stolen"
            )),
            size: LEN,
            file_id: None,
        },
    );
    let client = env.new_client(small_chunks).with_sessions(sessions.clone());
    let source = UploadSource::new(&path).resume_key(key);
    let err = client
        .create_file(&NewFile::new(DriveId::new("root"), "big.bin"), &source)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not at the upload server"),
        "{err}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!contacted.load(Ordering::SeqCst), "no request went there");
    assert!(sessions.is_empty(), "the tampered session is forgotten");
    listener.abort();
    assert!(env.emu.snapshot().files.is_empty());
}
