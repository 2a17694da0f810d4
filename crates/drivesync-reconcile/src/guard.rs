//! The delete guard: a sync that would trash a large part of a pair stops and asks first
//! (a wrong folder, an unmounted disk, a mass delete by mistake).

use drivesync_model::{BaseEntry, PairSettings, Tree};

use crate::ops::{Op, Plan};

/// A plan deletes more than the pair's limits allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this sync would move {deletes} of {total} files and folders to the trash, more than the \
     limit ({limit_files} and {limit_percent}%); check the pair, then run again with \
     --force-deletes to proceed"
)]
pub struct DeleteGuard {
    /// Entries the plan trashes (counting folders' content).
    pub deletes: u64,
    /// Entries in the pair's synced tree.
    pub total: u64,
    /// The file limit.
    pub limit_files: u64,
    /// The share limit, in percent.
    pub limit_percent: u8,
}

/// Counts what `plan` trashes, by the synced tree, and refuses when it is over both limits.
pub fn check_deletes(
    plan: &Plan,
    base: &Tree<BaseEntry>,
    settings: &PairSettings,
) -> Result<(), DeleteGuard> {
    let deletes: u64 = plan
        .ops
        .iter()
        .filter(|op| op.is_delete())
        .map(|op| {
            let p = op.path();
            let under = base
                .range(p.clone()..)
                .take_while(|(k, _)| k.starts_with(p))
                .count() as u64;
            match op {
                Op::TrashLocal { expect, .. } => under.max(expect.len() as u64).max(1),
                _ => under.max(1),
            }
        })
        .sum();
    let total = base.len() as u64;
    let over_files = deletes > settings.delete_limit_files;
    let over_share = deletes * 100 > total * u64::from(settings.delete_limit_percent);
    if over_files && over_share {
        return Err(DeleteGuard {
            deletes,
            total,
            limit_files: settings.delete_limit_files,
            limit_percent: settings.delete_limit_percent,
        });
    }
    Ok(())
}
