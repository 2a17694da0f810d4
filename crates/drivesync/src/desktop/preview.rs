//! What the first sync of a new pair would do, shown before the user starts it.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use drivesync_engine::{Events, SyncOptions};
use drivesync_model::{DriveId, PairSettings, RelPath};
use drivesync_reconcile::{Op, Plan};
use drivesync_state::{NewPair, StateDb};
use serde::Serialize;

use crate::desktop::browse::folder_path;
use crate::pairs::host_name;
use crate::{Drivesync, Error};

/// Paths listed at most per kind (the counts are always whole).
pub const PREVIEW_LIST_MAX: usize = 200;

/// The first sync of a pair, planned but not run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// Files that would be uploaded.
    pub upload_count: usize,
    /// Files that would be downloaded (link files for Google Docs included).
    pub download_count: usize,
    /// Files that differ on both sides: both kept, the local one as a conflict copy.
    pub conflict_count: usize,
    /// Files already the same on both sides (only recorded).
    pub same_count: usize,
    /// Bytes to upload.
    pub upload_bytes: u64,
    /// Bytes to download.
    pub download_bytes: u64,
    /// Paths to upload (at most [`PREVIEW_LIST_MAX`]).
    pub upload: Vec<String>,
    /// Paths to download (at most [`PREVIEW_LIST_MAX`]).
    pub download: Vec<String>,
    /// Paths in conflict (at most [`PREVIEW_LIST_MAX`]).
    pub conflicts: Vec<String>,
}

fn push(list: &mut Vec<String>, path: String) {
    if list.len() < PREVIEW_LIST_MAX {
        list.push(path);
    }
}

impl Preview {
    /// Sums up `plan`; `size_of_upload` gives the size of a local file to upload. A conflict
    /// counts once, not also as the upload of its copy and the download of the other side.
    pub fn of_plan(plan: &Plan, size_of_upload: impl Fn(&Op) -> u64) -> Self {
        let mut p = Self::default();
        let in_conflict: std::collections::HashSet<&RelPath> = plan
            .ops
            .iter()
            .flat_map(|op| match op {
                Op::ConflictCopy { path, copy, .. } | Op::RenameRemoteAside { path, copy, .. } => {
                    vec![path, copy]
                }
                _ => vec![],
            })
            .collect();
        for op in &plan.ops {
            match op {
                Op::Upload { path, .. }
                | Op::Download { path, .. }
                | Op::WriteLink { path, .. }
                    if in_conflict.contains(path) => {}
                Op::Upload { path, .. } => {
                    p.upload_count += 1;
                    p.upload_bytes += size_of_upload(op);
                    push(&mut p.upload, path.to_string());
                }
                Op::Download { path, remote, .. } => {
                    p.download_count += 1;
                    p.download_bytes += remote.size;
                    push(&mut p.download, path.to_string());
                }
                Op::WriteLink { path, .. } => {
                    p.download_count += 1;
                    push(&mut p.download, path.to_string());
                }
                Op::ConflictCopy { path, .. } | Op::RenameRemoteAside { path, .. } => {
                    p.conflict_count += 1;
                    push(&mut p.conflicts, path.to_string());
                }
                Op::Record { .. } => p.same_count += 1,
                _ => {}
            }
        }
        p
    }
}

impl Drivesync {
    /// Plans the first sync of the local folder `local` with Drive folder `drive_id` without
    /// changing anything on either side (nothing is stored either).
    pub async fn preview(&self, local: &Path, drive_id: &str) -> Result<Preview, Error> {
        if !local.is_dir() {
            return Err(Error::Invalid(format!(
                "{} is not a folder: pick an existing folder (an empty one is fine)",
                local.display()
            )));
        }
        let remote = self.remote().await?;
        let id = DriveId::new(drive_id);
        let path = folder_path(remote.as_ref(), &id).await?;
        let db = Arc::new(StateDb::open_in_memory()?);
        let pair = db.add_pair(
            &NewPair {
                name: "preview".into(),
                local_root: crate::overlap::canonical(local),
                remote_root: id,
                remote_path: path,
                settings: PairSettings::default(),
            },
            Utc::now(),
        )?;
        let engine = self.engine(remote, db, &pair).with_events(Events::none());
        let opts = SyncOptions {
            dry_run: true,
            force_deletes: false,
            now: Utc::now(),
            host: host_name(),
        };
        let report = engine.sync(&opts).await?;
        Ok(Preview::of_plan(&report.plan, |op| match op {
            Op::Upload { expect, .. } => expect.size,
            _ => 0,
        }))
    }
}
