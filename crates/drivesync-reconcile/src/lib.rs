//! The pure planner of drivesync: [`plan`] compares the synced tree (base) with the local and
//! the remote tree and returns the [`Plan`] that makes both sides identical without losing
//! anything. No IO, no async, no clock: the time for conflict names is passed in.
//!
//! Planning runs in two phases: renames and moves are found first (by Drive id remotely, by
//! file id locally) and planned as moves, then every path is merged three-way. SEMANTICS.md
//! describes the outcome of each case.

mod guard;
mod ignore_rules;
mod merge;
mod moves;
mod names;
mod ops;
mod place;
#[cfg(any(test, feature = "sim"))]
pub mod sim;

use chrono::{DateTime, Utc};
use std::collections::HashSet;

use drivesync_model::{BaseEntry, Kind, LocalEntry, RelPath, RemoteEntry, Tree};

pub use guard::{check_deletes, DeleteGuard};
pub use ignore_rules::{IgnoreError, IgnoreRules, BUILT_IN, IGNORE_FILE};
pub use merge::{base_of, moved_base};
pub use names::{
    conflict_name, drive_name, google_suffix, invisible, is_export, is_link_name, link_extension,
    local_name, numbered, office_export, shown, NameRules, LINK_EXTENSIONS, MAX_NAME_BYTES,
};
pub use ops::{Op, Plan, Stage};
pub use place::{place, place_claimed, MappingReason, NameMapping, Placed};

/// What a plan depends on besides the trees.
#[derive(Debug, Clone)]
pub struct PlanContext {
    /// This computer's name, for conflict copies.
    pub host: String,
    /// The time for conflict copy names.
    pub now: DateTime<Utc>,
    /// Local naming rules.
    pub rules: NameRules,
}

/// Plans the ops that make the local tree and the remote tree identical, given the synced
/// tree `base` (what they agreed on last). Deterministic: the same input gives the same plan.
///
/// Guarantees (checked by the property tests): no op discards a version that changed since
/// `base` (changed files are uploaded, downloaded or kept as conflict copies; deletes go to a
/// trash and are re-checked); after the plan runs, both sides hold the same tree; planning
/// again then gives an empty plan.
pub fn plan(
    base: &Tree<BaseEntry>,
    local: &Tree<LocalEntry>,
    remote: &Tree<RemoteEntry>,
    ctx: &PlanContext,
) -> Plan {
    let local = links_in(base, local);
    let mut work = moves::Work::new(base.clone(), local, remote.clone(), ctx);
    work.plan_moves();
    work.merge();
    let mut ops = work.ops;
    // Stable: moves keep their sequence; folders parents first; deletes deepest first.
    ops.sort_by_key(|op| match op.stage() {
        Stage::Moves => (Stage::Moves, 0),
        Stage::Folders => (Stage::Folders, op.path().depth()),
        Stage::Deletes => (Stage::Deletes, usize::MAX - op.path().depth()),
        s => (s, 0),
    });
    Plan { ops }
}

/// The local tree with link files recognized: a file at a synced link's path, or a link file
/// that is a synced link moved (same file id), is a [`Kind::Link`]; any other new file with a
/// link extension (a copy of one made elsewhere) is not content and is left alone.
/// Whether [`plan`] compares the content of the local file at `p`, given the synced tree
/// `base` and the remote tree `remote` it plans with: when either has an entry at its path
/// (a change to detect, identical files to link, different ones to keep as a conflict), or
/// when it may be a synced file moved locally (its file id is one of `base`'s). For any other
/// file (a new one) the plan only uploads it and needs no MD5: a scan may leave it unread and
/// let the upload hash what it sends.
pub fn compares_content<'a>(
    base: &'a Tree<BaseEntry>,
    remote: &'a Tree<RemoteEntry>,
) -> impl Fn(&RelPath, &LocalEntry) -> bool + 'a {
    let synced_ids = std::cell::OnceCell::<HashSet<u64>>::new();
    move |p, l| {
        base.contains_key(p)
            || remote.contains_key(p)
            || synced_ids
                .get_or_init(|| base.values().map(|b| b.local.file_id).collect())
                .contains(&l.stamp.file_id)
    }
}

fn links_in(base: &Tree<BaseEntry>, local: &Tree<LocalEntry>) -> Tree<LocalEntry> {
    let link_ids: HashSet<u64> = base
        .values()
        .filter(|b| b.kind == Kind::Link && b.local.file_id != 0)
        .map(|b| b.local.file_id)
        .collect();
    local
        .iter()
        .filter_map(|(p, l)| {
            let mut l = l.clone();
            match base.get(p) {
                Some(b) if b.kind == Kind::Link && l.kind == Kind::File => l.kind = Kind::Link,
                Some(_) => {}
                None if l.kind == Kind::Folder || !is_link_name(p.name()) => {}
                None if link_ids.contains(&l.stamp.file_id) => l.kind = Kind::Link,
                None => return None,
            }
            Some((p.clone(), l))
        })
        .collect()
}

#[cfg(test)]
mod tests;
