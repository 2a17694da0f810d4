//! [`Held`]: the paths of the ops of a sync that failed or were held back, so later ops that
//! rely on them wait for the next sync instead of acting on a state the plan did not mean.
//!
//! A plan's later stages assume its earlier ones happened: a file is created where a type
//! change trashed the old entry, a folder's content is uploaded into the folder just created,
//! a folder is trashed once what was inside moved out. When an earlier op fails, the ops at or
//! below its paths, and the trashing of folders above them, are not run: the next sync plans
//! them again from what really is there. Holding an op back is always safe (it only delays);
//! running it could put two entries with one name on Drive or trash what should stay.

use drivesync_model::RelPath;
use drivesync_reconcile::Op;

/// Paths that later ops of this sync must keep away from.
#[derive(Debug, Default)]
pub(crate) struct Held {
    paths: Vec<RelPath>,
}

impl Held {
    /// The held path that `op` depends on, if any: one of its paths is at or below a held
    /// path, or (for a trash) a held path is below it.
    pub fn blocking(&self, op: &Op) -> Option<&RelPath> {
        self.paths.iter().find(|h| {
            op.paths()
                .into_iter()
                .any(|p| p.starts_with(h) || (op.is_delete() && h.starts_with(p)))
        })
    }

    /// Records that `op` failed or was held back.
    pub fn hold(&mut self, op: &Op) {
        for p in op.paths() {
            if !self.paths.iter().any(|h| p.starts_with(h)) {
                self.paths.push(p.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivesync_model::{DriveId, LocalStamp, Tree};

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn mkdir(path: &str) -> Op {
        Op::MkdirRemote {
            path: p(path),
            name: path.rsplit('/').next().unwrap().into(),
            before_move: false,
        }
    }

    fn trash_local(path: &str) -> Op {
        Op::TrashLocal {
            path: p(path),
            expect: Tree::new(),
            replaced: false,
        }
    }

    fn upload(path: &str) -> Op {
        Op::Upload {
            path: p(path),
            name: "x".into(),
            replace: None,
            expect: LocalStamp {
                size: 0,
                mtime_ns: 0,
                file_id: 0,
            },
            md5: None,
        }
    }

    #[test]
    fn ops_below_a_failed_folder_wait() {
        let mut held = Held::default();
        held.hold(&mkdir("a/b"));
        assert_eq!(held.blocking(&upload("a/b/c")), Some(&p("a/b")));
        assert_eq!(held.blocking(&mkdir("a/b")), Some(&p("a/b")));
        assert_eq!(held.blocking(&upload("a/bc")), None);
        assert_eq!(held.blocking(&upload("a/c")), None);
    }

    #[test]
    fn trashing_a_folder_above_a_failed_op_waits() {
        let mut held = Held::default();
        held.hold(&upload("a/b/c"));
        assert_eq!(held.blocking(&trash_local("a")), Some(&p("a/b/c")));
        assert_eq!(held.blocking(&trash_local("b")), None);
        // Only trashes look upwards: creating a sibling folder is unaffected.
        assert_eq!(held.blocking(&mkdir("a")), None);
    }

    #[test]
    fn both_ends_of_a_failed_move_are_held() {
        let mut held = Held::default();
        held.hold(&Op::MoveRemote {
            from: p("a"),
            to: p("b"),
            id: DriveId::new("x"),
            name: "b".into(),
        });
        assert!(held.blocking(&mkdir("a")).is_some());
        assert!(held.blocking(&upload("b/c")).is_some());
        assert!(held.blocking(&upload("c")).is_none());
    }
}
