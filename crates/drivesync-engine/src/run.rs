//! Running a plan: its batches, each op's future, and the group commits of finished ops.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::stream::{FuturesUnordered, StreamExt};

use drivesync_model::{BaseEntry, DriveId, RelPath, Tree};
use drivesync_reconcile::{Op, Plan};
use drivesync_state::{ActivityKind, BaseChange, NewActivity};

use crate::{
    apply_change, exec, group, held, ids, op_name, readahead, stale, Engine, EngineError, Event,
    OpError, SyncOptions, SyncReport,
};

/// One op in flight: the op and its outcome (an engine error stops the sync; an op error is
/// that file's).
type OpFuture<'b> =
    futures_util::future::BoxFuture<'b, (&'b Op, Result<Result<exec::Done, OpError>, EngineError>)>;

impl Engine {
    /// Runs `plan`'s ops, batch by batch, then drops the synced entries it left stale (see
    /// [`stale`]). Returns the synced tree and whether the stored cursor was dropped.
    pub(crate) async fn run_plan(
        &self,
        plan: &Plan,
        base: &Tree<BaseEntry>,
        remote: &Tree<drivesync_model::RemoteEntry>,
        (opts, root_id): (&SyncOptions, drivesync_model::RootId),
        report: &mut SyncReport,
    ) -> Result<(Tree<BaseEntry>, bool), EngineError> {
        let bytes: u64 = plan
            .ops
            .iter()
            .map(|op| match op {
                Op::Upload { expect, .. } => expect.size,
                Op::Download { remote, .. } => remote.size,
                _ => 0,
            })
            .sum();
        self.events.send(Event::Planned {
            ops: plan.ops.len(),
            bytes,
        });
        let exec = exec::Exec {
            remote: self.remote.as_ref(),
            fs: self.fs.as_ref(),
            db: &self.db,
            pair: self.pair.id,
            root: &self.pair.remote_root,
            planned_remote: remote,
            root_id,
            base: Mutex::new(base.clone()),
            fresh: Mutex::new(HashMap::new()),
            alive: std::sync::OnceLock::new(),
            recorded: Mutex::new(HashMap::new()),
            group: group::GroupCommit::new(self.db.clone(), self.pair.id),
            ids: ids::Ids::new(self.db.pending_ids(self.pair.id)?.into_iter().collect()),
            slots: tokio::sync::Semaphore::new(self.pair.settings.concurrency.max(1)),
            ahead: readahead::ReadAhead::default(),
            now: opts.now,
            host: &opts.host,
            events: &self.events,
        };
        let need = exec.ids.needed(plan);
        let fetch = exec
            .ids
            .fetch(self.remote.as_ref(), &self.db, self.pair.id, need);
        let run = self.run_batches(plan, &exec, opts, report);
        tokio::pin!(fetch, run);
        // The ids come while the ops run (their first request is sent first); once the ops
        // are done, the rest is not needed.
        match futures_util::future::select(fetch, run).await {
            futures_util::future::Either::Left(((), run)) => run.await?,
            futures_util::future::Either::Right((ran, _)) => ran?,
        }
        let mut base = std::mem::take(&mut *exec.base.lock().unwrap_or_else(|e| e.into_inner()));
        let recorded = exec.recorded.lock().unwrap_or_else(|e| e.into_inner());
        let stale = stale::stale_entries(&base, &recorded, |id| exec.planned_path(id));
        let relist = stale.contains(&BaseChange::Relist);
        if !stale.is_empty() {
            tracing::info!(
                ?stale,
                "synced entries left at a Drive file's old place dropped"
            );
            self.db.apply(self.pair.id, &stale)?;
            for c in &stale {
                apply_change(&mut base, c);
            }
        }
        Ok((base, relist))
    }

    /// Runs `plan`'s ops batch by batch, [`Pair`] concurrency at a time; an op that waits for
    /// one that failed is held (see [`held`]).
    async fn run_batches(
        &self,
        plan: &Plan,
        exec: &exec::Exec<'_>,
        opts: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<(), EngineError> {
        let concurrency = self.pair.settings.concurrency.max(1);
        let mut held = held::Held::default();
        for batch in plan.batches() {
            // The ops of one batch are independent (moves come one per batch).
            let width = concurrency;
            // At most `width` ops at work (`exec.slots`), and a few times that waiting for a
            // slot or for their commit, so that ops finishing while a commit is written join
            // the next one (a plain loop, not a stream combinator with a closure, so the
            // future stays provably `Send`). Each op is committed as soon as it finishes: a
            // crash loses only the ops in flight.
            let mut waiting = batch.iter();
            let mut running = FuturesUnordered::new();
            loop {
                while running.len() < width * 8 {
                    let Some(op) = waiting.next() else { break };
                    match held.blocking(op) {
                        // Not an error of its own: the failed op it waits for is one, so
                        // the sync is not clean and all of it is planned again.
                        Some(first) => {
                            let message = format!("not done yet: it waits for {first}, which could not be synced; it is retried at the next sync");
                            self.log(
                                Some(op.path()),
                                ActivityKind::Skipped,
                                message.clone(),
                                opts.now,
                            );
                            self.events.send(Event::Finished {
                                path: op.path().clone(),
                                kind: ActivityKind::Skipped,
                                message,
                                bytes: 0,
                            });
                            report.held += 1;
                            held.hold(op);
                        }
                        None => {
                            exec.ahead.launched(op);
                            running.push(self.run_op(op, exec, opts));
                        }
                    }
                }
                match running.next().await {
                    Some((op, result)) => {
                        let result = result?;
                        if result.is_err() {
                            held.hold(op);
                        }
                        self.finish(op, result, opts, report);
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Runs and commits one op. Boxed, so the stream of ops in flight stays `Send`.
    fn run_op<'b>(
        &'b self,
        op: &'b Op,
        exec: &'b exec::Exec<'_>,
        opts: &'b SyncOptions,
    ) -> OpFuture<'b> {
        Box::pin(async move {
            let slot = exec.slots.acquire().await;
            self.events.send(Event::Started {
                path: op.path().clone(),
                what: op_name(op),
            });
            let ran = exec.run(op).await;
            // The commit needs no slot: the next op starts meanwhile.
            drop(slot);
            let result = match ran {
                Ok(done) => self.commit(op, done, exec, opts).await.map(Ok),
                Err(e) => Ok(Err(e)),
            };
            (op, result)
        })
    }

    /// Commits a finished op: the synced tree, the end of its pending create and its activity
    /// entry, all or nothing (with the ops that finished at the same time: see [`group`]),
    /// then the in-memory copy.
    async fn commit(
        &self,
        op: &Op,
        done: exec::Done,
        exec: &exec::Exec<'_>,
        opts: &SyncOptions,
    ) -> Result<exec::Done, EngineError> {
        let activity = (!op.is_record()).then(|| NewActivity {
            at: opts.now,
            kind: done.kind,
            path: Some(op.path().clone()),
            message: done.message.clone(),
        });
        let mut changes = done.changes.clone();
        // Synced entries this op drops that Drive still has elsewhere in the pair (a folder
        // moved on Drive whose local copy could not follow is forgotten and downloaded at its
        // new place): the change feed will not mention them again, so the cursor goes with
        // them and, until they are recorded at their new place, the next sync lists Drive
        // whole. What Drive had at or below a removed path went with it (a trash on Drive).
        let removed: Vec<&RelPath> = changes
            .iter()
            .filter_map(|c| match c {
                BaseChange::Remove(p) => Some(p),
                _ => None,
            })
            .collect();
        let elsewhere = {
            let base = exec.base.lock().unwrap_or_else(|e| e.into_inner());
            dropped_ids(&base, &changes).iter().any(|id| {
                exec.planned_path(id)
                    .is_some_and(|q| !removed.iter().any(|r| q.starts_with(r)))
            })
        };
        if elsewhere {
            changes.push(BaseChange::Relist);
        }
        exec.group.commit(group::Job { changes, activity }).await?;
        let mut base = exec.base.lock().unwrap_or_else(|e| e.into_inner());
        let mut recorded = exec.recorded.lock().unwrap_or_else(|e| e.into_inner());
        for c in &done.changes {
            apply_change(&mut base, c);
            if let BaseChange::Put(p, e) = c {
                recorded.insert(e.id.clone(), p.clone());
            }
        }
        Ok(done)
    }

    /// Reports one op's outcome: the summary, an event, and for a failure the activity log.
    fn finish(
        &self,
        op: &Op,
        result: Result<exec::Done, OpError>,
        opts: &SyncOptions,
        report: &mut SyncReport,
    ) {
        let path = op.path().clone();
        match result {
            // An upload that could not read a file the scan left unread: a scan issue.
            Ok(done) if done.kind == ActivityKind::Skipped => {
                if let Op::Upload { expect, .. } = op {
                    report.unread.push((path.clone(), *expect));
                }
                report.issues.push(format!("{path}: {}", done.message));
                self.events.send(Event::Finished {
                    path,
                    kind: done.kind,
                    message: done.message,
                    bytes: 0,
                });
            }
            Ok(done) => {
                report.count(op, done.bytes);
                self.events.send(Event::Finished {
                    path,
                    kind: done.kind,
                    message: done.message,
                    bytes: done.bytes,
                });
            }
            Err(e) => {
                tracing::warn!("{e}");
                self.log(
                    Some(&path),
                    ActivityKind::Error,
                    e.message.clone(),
                    opts.now,
                );
                self.events.send(Event::Finished {
                    path,
                    kind: ActivityKind::Error,
                    message: e.message.clone(),
                    bytes: 0,
                });
                report.errors.push(e);
            }
        }
    }
}

/// The Drive ids of `base` that `changes` drop (and do not put back elsewhere).
fn dropped_ids(base: &Tree<BaseEntry>, changes: &[BaseChange]) -> Vec<DriveId> {
    let mut part: Tree<BaseEntry> = Tree::new();
    for c in changes {
        let roots = match c {
            BaseChange::Put(p, _) | BaseChange::Remove(p) => vec![p],
            BaseChange::Move { from, to } => vec![from, to],
            BaseChange::Relist => vec![],
        };
        for r in roots {
            for (k, v) in base
                .range(r.clone()..)
                .take_while(|(k, _)| k.starts_with(r))
            {
                part.insert(k.clone(), v.clone());
            }
        }
    }
    let before: Vec<DriveId> = part.values().map(|b| b.id.clone()).collect();
    for c in changes {
        apply_change(&mut part, c);
    }
    let after: std::collections::HashSet<&DriveId> = part.values().map(|b| &b.id).collect();
    before
        .into_iter()
        .filter(|id| !after.contains(id))
        .collect()
}
