//! Reading small files for upload in groups.
//!
//! Each upload first reads its file (and re-checks its stamp) on a blocking thread. For a
//! small file that hand-off costs more than the read, so the first upload of a run of small
//! ones reads its own file and those of the uploads already launched after it, in one
//! blocking call ([`LocalFs::upload_many`]); they then find their file read. What is read is
//! exactly what [`LocalFs::upload_path`] would have returned a moment later: the content
//! and the stamp of the open file after reading it, which the upload compares with the plan.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use drivesync_localfs::{FsError, LocalFs, UploadFile};
use drivesync_model::RelPath;
use drivesync_reconcile::Op;
use tokio::sync::Notify;

/// Files of at most this many bytes are read ahead.
pub(crate) const SMALL: u64 = 64 * 1024;

/// At most this many files per read.
const GROUP: usize = 32;

/// The read-ahead of one sync's uploads.
#[derive(Default)]
pub(crate) struct ReadAhead {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    /// Small uploads launched whose file nobody has started reading, in launch order.
    launched: VecDeque<RelPath>,
    /// Files being read, by the upload that claimed them.
    reading: HashSet<RelPath>,
    /// Files read for an upload that has not taken its result yet.
    read: HashMap<RelPath, Result<UploadFile, FsError>>,
}

impl ReadAhead {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that `op` is launched: if it uploads a small file, another upload may read it.
    /// Every op noted must then run, so that what is read for it is taken (and freed).
    pub fn launched(&self, op: &Op) {
        if let Op::Upload { path, expect, .. } = op {
            if expect.size <= SMALL {
                self.state().launched.push_back(path.clone());
            }
        }
    }

    /// `path`'s content for its upload ([`LocalFs::upload_path`]'s contract): read already
    /// by another upload, being read by one (then waited for), or read now together with the
    /// launched uploads not yet read.
    pub async fn take(&self, fs: &dyn LocalFs, path: &RelPath) -> Result<UploadFile, FsError> {
        loop {
            // Registered before the state is looked at, so a read ending in between wakes us.
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let group = {
                let mut st = self.state();
                if let Some(r) = st.read.remove(path) {
                    return r;
                }
                if st.reading.contains(path) {
                    None
                } else {
                    st.launched.retain(|p| p != path);
                    let mut group = vec![path.clone()];
                    while group.len() < GROUP {
                        let Some(p) = st.launched.pop_front() else {
                            break;
                        };
                        group.push(p);
                    }
                    st.reading.extend(group.iter().cloned());
                    Some(group)
                }
            };
            match group {
                Some(group) => return self.read(fs, group).await,
                None => notified.await,
            }
        }
    }

    /// Reads `group` (its first path is the caller's), keeps the others' results and
    /// returns the caller's. If this future is dropped midway, the others are released, and
    /// each then reads its own file.
    async fn read(&self, fs: &dyn LocalFs, group: Vec<RelPath>) -> Result<UploadFile, FsError> {
        struct Release<'a> {
            ahead: &'a ReadAhead,
            paths: Vec<RelPath>,
        }
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut st = self.ahead.state();
                for p in &self.paths {
                    st.reading.remove(p);
                }
                drop(st);
                self.ahead.ready.notify_waiters();
            }
        }
        let release = Release {
            ahead: self,
            paths: group.clone(),
        };
        let mut results = fs.upload_many(&group).await.into_iter();
        let own = results.next().unwrap_or_else(|| {
            Err(FsError::Io {
                op: "read",
                path: group[0].to_path(fs.root()),
                source: std::io::Error::other("no result for the file"),
            })
        });
        let mut st = self.state();
        for (p, r) in group.into_iter().skip(1).zip(results) {
            st.read.insert(p, r);
        }
        drop(st);
        drop(release);
        own
    }

    /// How many results are waiting to be taken (for tests).
    #[cfg(test)]
    fn unread(&self) -> usize {
        self.state().read.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_localfs::MemFs;
    use drivesync_localfs::StdFs;
    use drivesync_model::LocalStamp;

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn upload(path: &str, size: u64) -> Op {
        Op::Upload {
            path: rel(path),
            name: path.into(),
            replace: None,
            expect: LocalStamp {
                size,
                mtime_ns: 0,
                file_id: 0,
            },
            md5: None,
        }
    }

    #[tokio::test]
    async fn the_first_upload_reads_the_launched_small_files_and_each_takes_its_own() {
        let fs = MemFs::new();
        for (name, body) in [("a", &b"A"[..]), ("b", b"BB"), ("c", b"CCC")] {
            fs.write(name, body);
        }
        let ahead = ReadAhead::default();
        for op in [upload("a", 1), upload("big", SMALL + 1), upload("b", 2)] {
            ahead.launched(&op);
        }
        let a = ahead.take(&fs, &rel("a")).await.unwrap();
        assert_eq!(a.content.as_deref(), Some(&b"A"[..]));
        assert_eq!(
            ahead.unread(),
            1,
            "b was read with a; the large file was not"
        );
        // Changed after the read ahead: b's upload gets what was read, with the stamp it
        // had then (which the upload compares with the plan's).
        let before = fs.stat(&rel("b")).await.unwrap().unwrap().stamp;
        fs.write("b", b"changed");
        let b = ahead.take(&fs, &rel("b")).await.unwrap();
        assert_eq!(b.content.as_deref(), Some(&b"BB"[..]));
        assert_eq!(b.stamp, before);
        // Not launched: read alone.
        let c = ahead.take(&fs, &rel("c")).await.unwrap();
        assert_eq!(c.content.as_deref(), Some(&b"CCC"[..]));
        assert_eq!(ahead.unread(), 0);
        // Errors are per file.
        ahead.launched(&upload("gone", 1));
        assert!(ahead
            .take(&fs, &rel("gone"))
            .await
            .unwrap_err()
            .is_not_found());
    }

    #[tokio::test]
    async fn an_upload_whose_file_is_being_read_waits_for_that_read() {
        // On the disk, the read goes to a blocking thread: b's upload finds it under way.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"A").unwrap();
        std::fs::write(dir.path().join("b"), b"B").unwrap();
        let fs = StdFs::new(dir.path().to_owned());
        let ahead = ReadAhead::default();
        ahead.launched(&upload("a", 1));
        ahead.launched(&upload("b", 1));
        let (pa, pb) = (rel("a"), rel("b"));
        let (a, b) = tokio::join!(ahead.take(&fs, &pa), ahead.take(&fs, &pb));
        assert_eq!(a.unwrap().content.as_deref(), Some(&b"A"[..]));
        assert_eq!(b.unwrap().content.as_deref(), Some(&b"B"[..]));
        assert_eq!(ahead.unread(), 0);
    }

    #[tokio::test]
    async fn a_read_dropped_midway_lets_the_others_read_their_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"A").unwrap();
        std::fs::write(dir.path().join("b"), b"B").unwrap();
        let fs = StdFs::new(dir.path().to_owned());
        let ahead = ReadAhead::default();
        ahead.launched(&upload("b", 1));
        let a = rel("a");
        {
            let take = ahead.take(&fs, &a);
            tokio::pin!(take);
            // Polled once (both files claimed, the read handed to a blocking thread), then
            // dropped.
            tokio::select! {
                biased;
                _ = &mut take => panic!("read without waiting for the blocking thread"),
                () = std::future::ready(()) => {}
            }
            assert_eq!(ahead.state().reading.len(), 2);
        }
        assert!(ahead.state().reading.is_empty());
        let b = ahead.take(&fs, &rel("b")).await.unwrap();
        assert_eq!(b.content.as_deref(), Some(&b"B"[..]));
    }
}
