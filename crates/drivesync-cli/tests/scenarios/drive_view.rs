//! Drive as the second device sees it: the emulator's snapshot, by parent and path.

use super::*;

/// The emulator's files by id, and each folder's children.
pub(crate) struct DriveView {
    pub(crate) files: HashMap<String, SnapshotFile>,
    pub(crate) kids: HashMap<String, Vec<String>>,
}

impl DriveView {
    pub(crate) fn new(emu: &EmulatorHandle) -> Self {
        let snap = emu.snapshot();
        let mut kids: HashMap<String, Vec<String>> = HashMap::new();
        for f in &snap.files {
            for p in &f.parents {
                kids.entry(p.clone()).or_default().push(f.id.clone());
            }
        }
        let files = snap.files.into_iter().map(|f| (f.id.clone(), f)).collect();
        Self { files, kids }
    }

    /// Children of `parent`, by name then id; `live` leaves out trashed ones.
    pub(crate) fn children(&self, parent: &str, live: bool) -> Vec<&SnapshotFile> {
        let mut v: Vec<&SnapshotFile> = self
            .kids
            .get(parent)
            .into_iter()
            .flatten()
            .filter_map(|id| self.files.get(id))
            .filter(|f| !live || !f.trashed)
            .collect();
        v.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        v
    }

    /// The live entry at `path` (Drive names) under `root`.
    pub(crate) fn at(&self, root: &str, path: &str) -> Result<Option<&SnapshotFile>> {
        let mut cur: Option<&SnapshotFile> = None;
        let mut id = root.to_owned();
        for name in parts(path) {
            let found: Vec<&SnapshotFile> = self
                .children(&id, true)
                .into_iter()
                .filter(|f| f.name == name)
                .collect();
            match found.as_slice() {
                [] => return Ok(None),
                [one] => {
                    id = one.id.clone();
                    cur = Some(one);
                }
                _ => bail!(
                    "{path} is ambiguous on Drive: {} files named {name}",
                    found.len()
                ),
            }
        }
        Ok(cur)
    }

    /// Is there an entry at `path` that is in Drive's trash (itself or a folder above it)?
    pub(crate) fn trashed_at(&self, parent: &str, path: &[&str], trashed: bool) -> bool {
        let Some((name, rest)) = path.split_first() else {
            return trashed;
        };
        self.children(parent, false)
            .into_iter()
            .filter(|f| f.name == *name)
            .any(|f| self.trashed_at(&f.id, rest, trashed || f.trashed))
    }
}
