//! Group commit of finished ops.
//!
//! Each finished op must be in the state database before it counts as done (a crash loses
//! only ops in flight). Ops that finish while a commit is being written wait and are then
//! committed together, in one transaction, each all or nothing ([`StateDb::commit_ops`]):
//! with many small transfers, one transaction and one trip to a blocking thread serve a
//! whole burst instead of one op each. No extra task: the first op to find no commit running
//! writes the batch (its own op and whatever queued), the others wait to be told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use drivesync_model::PairId;
use drivesync_state::{BaseChange, NewActivity, StateDb};
use tokio::sync::Notify;

use crate::EngineError;

/// At most this many ops per transaction.
const MAX_BATCH: usize = 256;

/// A batch smaller than this waits [`LINGER`] for more ops to finish before it is written
/// (on a multi-threaded runtime): every transaction has a fixed cost (its pages written to
/// the log, its locks), and a burst of small transfers otherwise commits two or three ops at
/// a time. An op waiting holds no transfer slot, so the transfers go on meanwhile.
const LINGER_BELOW: usize = 32;

/// How long a small batch waits for company.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// What one finished op commits.
pub(crate) struct Job {
    /// Its synced-tree changes.
    pub changes: Vec<BaseChange>,
    /// Its activity entry.
    pub activity: Option<NewActivity>,
}

/// The group commit of one pair's ops during one sync.
pub(crate) struct GroupCommit {
    db: Arc<StateDb>,
    pair: PairId,
    queue: Mutex<Queue>,
    done: Notify,
}

#[derive(Default)]
struct Queue {
    next: u64,
    waiting: Vec<(u64, Job)>,
    results: HashMap<u64, Result<(), EngineError>>,
    writing: bool,
}

impl GroupCommit {
    /// Commits to `pair` in `db`.
    pub fn new(db: Arc<StateDb>, pair: PairId) -> Self {
        Self {
            db,
            pair,
            queue: Mutex::new(Queue::default()),
            done: Notify::new(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits `job` and returns once it is in the database (or failed, alone or with its
    /// batch). Dropping the future before that leaves the job to be committed with a
    /// later batch, or not at all if none comes (as a crash would).
    pub async fn commit(&self, job: Job) -> Result<(), EngineError> {
        let ticket = {
            let mut q = self.queue();
            q.next += 1;
            let t = q.next;
            q.waiting.push((t, job));
            t
        };
        loop {
            // Registered before the queue is looked at, so a batch ending in between wakes us.
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let batch = {
                let mut q = self.queue();
                if let Some(r) = q.results.remove(&ticket) {
                    return r;
                }
                if q.writing {
                    None
                } else {
                    q.writing = true;
                    let n = q.waiting.len().min(MAX_BATCH);
                    Some(q.waiting.drain(..n).collect::<Vec<_>>())
                }
            };
            match batch {
                Some(batch) => self.write(batch).await,
                None => notified.await,
            }
        }
    }

    /// Writes `batch` (with the ops that join it while a small one lingers) on a blocking
    /// thread and hands out the results. If this future is dropped midway, the batch's ops
    /// get an error (their commit may or may not have landed, as in a crash) and the
    /// writer's flag is cleared, so the waiters go on.
    async fn write(&self, mut batch: Vec<(u64, Job)>) {
        struct Release<'a> {
            group: &'a GroupCommit,
            tickets: Vec<u64>,
        }
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut q = self.group.queue();
                for t in self.tickets.drain(..) {
                    q.results.insert(
                        t,
                        Err(EngineError::Internal(
                            "the commit was interrupted".to_owned(),
                        )),
                    );
                }
                q.writing = false;
                drop(q);
                self.group.done.notify_waiters();
            }
        }
        let mut release = Release {
            group: self,
            tickets: batch.iter().map(|(t, _)| *t).collect(),
        };
        // A single-threaded runtime (the deterministic simulation) commits inline: how
        // many ops join a batch must not depend on when another thread finishes.
        let threaded = tokio::runtime::Handle::current().runtime_flavor()
            != tokio::runtime::RuntimeFlavor::CurrentThread;
        if threaded && batch.len() < LINGER_BELOW {
            tokio::time::sleep(LINGER).await;
            let mut q = self.queue();
            let n = q.waiting.len().min(MAX_BATCH.saturating_sub(batch.len()));
            let joined: Vec<_> = q.waiting.drain(..n).collect();
            drop(q);
            release.tickets.extend(joined.iter().map(|(t, _)| *t));
            batch.extend(joined);
        }
        let tickets = release.tickets.clone();
        let (db, pair) = (self.db.clone(), self.pair);
        let work = move || {
            let ops: Vec<_> = batch
                .iter()
                .map(|(_, j)| (j.changes.as_slice(), j.activity.as_ref()))
                .collect();
            db.commit_ops(pair, &ops)
        };
        let outcome = if threaded {
            tokio::task::spawn_blocking(work).await
        } else {
            Ok(work())
        };
        let results: Vec<Result<(), EngineError>> = match outcome {
            Ok(Ok(each)) => each
                .into_iter()
                .map(|r| r.map_err(EngineError::State))
                .collect(),
            Ok(Err(e)) => {
                let message = e.to_string();
                let mut first = Some(EngineError::State(e));
                tickets
                    .iter()
                    .map(|_| {
                        Err(first
                            .take()
                            .unwrap_or_else(|| EngineError::Commit(message.clone())))
                    })
                    .collect()
            }
            Err(e) => tickets
                .iter()
                .map(|_| Err(EngineError::Internal(format!("a commit failed: {e}"))))
                .collect(),
        };
        let mut q = self.queue();
        q.results.extend(tickets.into_iter().zip(results));
        drop(q);
        // Delivered: the guard only clears the flag and wakes the waiters.
        release.tickets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use drivesync_model::RelPath;
    use drivesync_state::NewPair;

    fn setup() -> (Arc<StateDb>, PairId) {
        let db = Arc::new(StateDb::open_in_memory().unwrap());
        let pair = db
            .add_pair(
                &NewPair {
                    name: "p".into(),
                    local_root: "/tmp/p".into(),
                    remote_root: drivesync_model::DriveId::new("root"),
                    remote_path: "/p".into(),
                    settings: Default::default(),
                },
                Utc::now(),
            )
            .unwrap();
        (db, pair.id)
    }

    fn activity(path: &str) -> Option<NewActivity> {
        Some(NewActivity {
            at: Utc::now(),
            kind: drivesync_state::ActivityKind::Info,
            path: Some(RelPath::new(path).unwrap()),
            message: "m".into(),
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_all_land_and_a_refused_op_fails_alone() {
        let (db, pair) = setup();
        let group = Arc::new(GroupCommit::new(db.clone(), pair));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let group = group.clone();
            tasks.push(tokio::spawn(async move {
                // Op 7 is refused (the root is not an entry); the rest commit.
                let changes = if i == 7 {
                    vec![BaseChange::Remove(RelPath::root())]
                } else {
                    vec![]
                };
                group
                    .commit(Job {
                        changes,
                        activity: activity(&format!("f{i}")),
                    })
                    .await
            }));
        }
        let mut failed = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            if t.await.unwrap().is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, [7]);
        let logged = db
            .activity(&drivesync_state::ActivityQuery {
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(logged.len(), 199);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_dropped_midway_strands_no_op_of_its_batch() {
        let (db, pair) = setup();
        let group = GroupCommit::new(db, pair);
        let job = || Job {
            changes: vec![],
            activity: activity("f"),
        };
        group.queue().writing = true;
        // Polled once (it hands the batch to a blocking thread), then dropped.
        tokio::select! {
            biased;
            () = group.write(vec![(1, job()), (2, job())]) => panic!("written without waiting"),
            () = std::future::ready(()) => {}
        }
        let mut q = group.queue();
        assert!(!q.writing, "the next op may write");
        for t in [1, 2] {
            assert!(
                matches!(q.results.remove(&t), Some(Err(EngineError::Internal(_)))),
                "op {t} of the dropped batch is told"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_op_finishing_while_a_small_batch_lingers_joins_it() {
        let (db, pair) = setup();
        let group = GroupCommit::new(db.clone(), pair);
        let job = |p: &str| Job {
            changes: vec![],
            activity: activity(p),
        };
        group.queue().writing = true;
        let write = group.write(vec![(1, job("first"))]);
        tokio::pin!(write);
        // Polled once: it lingers before writing.
        tokio::select! {
            biased;
            () = &mut write => panic!("a batch of one was written without lingering"),
            () = std::future::ready(()) => {}
        }
        group.queue().waiting.push((2, job("second")));
        write.await;
        let mut q = group.queue();
        assert!(q.waiting.is_empty(), "the second op joined the batch");
        assert!(matches!(q.results.remove(&1), Some(Ok(()))));
        assert!(matches!(q.results.remove(&2), Some(Ok(()))));
        drop(q);
        let logged = db
            .activity(&drivesync_state::ActivityQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(logged.len(), 2);
    }

    #[tokio::test]
    async fn a_whole_batch_failing_fails_every_op_in_it() {
        let (db, pair) = setup();
        db.remove_pair(pair).unwrap();
        let group = GroupCommit::new(db, pair);
        let job = || Job {
            changes: vec![],
            activity: activity("f"),
        };
        let (a, b) = tokio::join!(group.commit(job()), group.commit(job()));
        assert!(matches!(a, Err(EngineError::State(_))), "{a:?}");
        assert!(b.is_err(), "{b:?}");
    }
}
