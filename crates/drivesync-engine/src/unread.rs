//! New local files that their upload could not read.
//!
//! The scan leaves a new file unread when the plan only uploads it
//! ([`drivesync_localfs::ScanOptions::defer_new`]), so its upload is the first read. When that
//! read is refused (permissions, a disk error), the file is reported as the scan would have
//! reported it, and later syncs leave it out of the plan until it changes or the watcher
//! reports it: an idle pair must not retry, and log, the same unreadable file at every poll.

use std::collections::BTreeMap;

use drivesync_localfs::{IssueKind, Scan, ScanIssue};
use drivesync_model::{Kind, LocalStamp, RelPath};

/// Files found unreadable by their upload, with their stamp then.
#[derive(Debug, Default)]
pub(crate) struct Unread(BTreeMap<RelPath, LocalStamp>);

impl Unread {
    /// Notes that the upload of `path`, planned with `stamp`, could not read it.
    pub fn note(&mut self, path: RelPath, stamp: LocalStamp) {
        self.0.insert(path, stamp);
    }

    /// Takes out of `scan` every noted file that is still an unread new file with the same
    /// stamp and that `retry` does not ask to read again, and reports it as an issue. Forgets
    /// the others (changed, gone, read by the scan, or to be retried).
    pub fn hold_back(&mut self, scan: &mut Scan, retry: impl Fn(&RelPath) -> bool) {
        self.0.retain(|path, stamp| {
            let same = scan
                .tree
                .get(path)
                .is_some_and(|l| l.kind == Kind::File && l.md5.is_none() && l.stamp == *stamp);
            if !same || retry(path) {
                return false;
            }
            scan.tree.remove(path);
            let why = "it could not be read when it was last uploaded; it is tried again when it \
                       changes";
            scan.issues.push(ScanIssue {
                path: path.clone(),
                kind: IssueKind::Unreadable(why.into()),
            });
            true
        });
        scan.issues.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::{LocalEntry, Md5};

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn stamp(size: u64) -> LocalStamp {
        LocalStamp {
            size,
            mtime_ns: 7,
            file_id: 3,
        }
    }

    fn scan_of(entries: &[(&str, u64, Option<Md5>)]) -> Scan {
        let mut scan = Scan::default();
        for (p, size, md5) in entries {
            let entry = LocalEntry {
                kind: Kind::File,
                md5: *md5,
                stamp: stamp(*size),
            };
            scan.tree.insert(rel(p), entry);
        }
        scan
    }

    #[test]
    fn an_unchanged_unreadable_file_is_held_back_until_it_changes() {
        let mut unread = Unread::default();
        unread.note(rel("locked"), stamp(5));
        let mut scan = scan_of(&[("locked", 5, None), ("ok", 1, None)]);
        unread.hold_back(&mut scan, |_| false);
        assert!(!scan.tree.contains_key(&rel("locked")));
        assert!(scan.tree.contains_key(&rel("ok")));
        assert_eq!(scan.issues.len(), 1);
        assert_eq!(scan.issues[0].path, rel("locked"));
        // Still noted: held back again at the next sync.
        let mut again = scan_of(&[("locked", 5, None)]);
        unread.hold_back(&mut again, |_| false);
        assert!(again.tree.is_empty());
        // Changed: planned again, and forgotten.
        let mut changed = scan_of(&[("locked", 6, None)]);
        unread.hold_back(&mut changed, |_| false);
        assert!(changed.tree.contains_key(&rel("locked")));
        assert!(changed.issues.is_empty());
        assert!(unread.0.is_empty());
    }

    #[test]
    fn a_file_the_watcher_reports_or_the_scan_read_is_tried_again() {
        let mut unread = Unread::default();
        unread.note(rel("touched"), stamp(5));
        unread.note(rel("hashed"), stamp(5));
        let mut scan = scan_of(&[("touched", 5, None), ("hashed", 5, Some(Md5([1; 16])))]);
        unread.hold_back(&mut scan, |p| p.as_str() == "touched");
        assert_eq!(scan.tree.len(), 2);
        assert!(scan.issues.is_empty());
        assert!(unread.0.is_empty());
    }
}
