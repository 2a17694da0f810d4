//! Which desktop notifications a status change deserves: a pair's first sync finished,
//! something now needs the user, a conflict copy was made. Pure, so it is tested alone.

use drivesync::desktop::{AppStatus, Overall};
use drivesync::Conflict;

/// A notification to show: title and body.
pub type Notice = (String, String);

/// The notices for going from `before` (none at start) to `now`.
pub fn status_notices(before: Option<&AppStatus>, now: &AppStatus) -> Vec<Notice> {
    let mut out = Vec::new();
    if let Some(before) = before {
        for p in &now.pairs {
            let was_new = before
                .pairs
                .iter()
                .any(|b| b.pair == p.pair && b.last_sync.is_none());
            if was_new && p.last_sync.is_some() {
                out.push((
                    format!("{} is in sync", p.name),
                    format!("{} and its Drive folder are identical.", p.local.display()),
                ));
            }
        }
    }
    let needs_user = matches!(now.overall, Overall::Attention | Overall::NotConnected);
    let needed_before =
        before.is_some_and(|b| b.overall == now.overall && b.summary == now.summary);
    if needs_user && !needed_before {
        out.push(("drivesync needs you".to_owned(), now.summary.clone()));
    }
    out
}

/// The notice for a new conflict copy.
pub fn conflict_notice(c: &Conflict) -> Notice {
    (
        "Both versions kept".to_owned(),
        format!(
            "{} changed here and on Drive: your version is now {}.",
            c.path, c.copy
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use drivesync::{PairState, PairStatus};

    use super::*;

    fn status(overall: Overall, summary: &str, last_sync: bool) -> AppStatus {
        AppStatus {
            overall,
            summary: summary.into(),
            pairs: vec![PairStatus {
                pair: 1,
                name: "Work".into(),
                local: PathBuf::from("/home/a/Work"),
                state: PairState::Idle,
                last_sync: last_sync.then(chrono::Utc::now),
                pending_local: 0,
                failed_files: 0,
                watch_problem: None,
            }],
            transfers: vec![],
        }
    }

    #[test]
    fn the_first_finished_sync_of_a_pair_is_told_once() {
        let start = status(Overall::Syncing, "Syncing", false);
        let done = status(Overall::InSync, "Up to date", true);
        let n = status_notices(Some(&start), &done);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].0, "Work is in sync");
        assert!(status_notices(Some(&done), &done).is_empty());
        assert!(status_notices(None, &done).is_empty());
    }

    #[test]
    fn a_problem_is_told_when_it_starts_or_changes_not_again() {
        let ok = status(Overall::InSync, "Up to date", true);
        let bad = status(Overall::Attention, "Work: the folder is missing", true);
        assert_eq!(
            status_notices(Some(&ok), &bad)[0].1,
            "Work: the folder is missing"
        );
        assert!(status_notices(Some(&bad), &bad).is_empty());
        let worse = status(Overall::Attention, "2 files could not be synced", true);
        assert_eq!(status_notices(Some(&bad), &worse).len(), 1);
        assert_eq!(status_notices(None, &bad).len(), 1, "at start too");
    }
}
