//! [`LocalFs`] for [`MemFs`]: the same contracts as [`crate::StdFs`], in memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use drivesync_model::{Md5, RelPath, RootId};
use md5::Digest;

use super::staged::MemStaged;
use super::tree::{Body, State};
use super::MemFs;
use crate::api::numbered;
use crate::{Expect, FsError, Hashed, Listing, LocalFs, Meta, Staged, Trashed, UploadFile};
use crate::{Kept, KEPT_PREFIX, PARTIAL_PREFIX, TRASH_DIR};

/// The bytes of the regular file at `p`, honouring "unreadable".
pub(super) fn file_bytes<'a>(
    s: &'a State,
    p: &RelPath,
    op: &'static str,
) -> Result<&'a [u8], FsError> {
    let path = s.abs(p);
    let n = s.get(p).ok_or_else(|| FsError::NotFound {
        op,
        path: path.clone(),
    })?;
    match &n.body {
        Body::File(_) if n.unreadable => Err(FsError::PermissionDenied { op, path }),
        Body::File(b) => Ok(b),
        _ => Err(FsError::NotAFile { op, path }),
    }
}

fn not_root(s: &State, p: &RelPath, op: &'static str) -> Result<RelPath, FsError> {
    p.parent().ok_or_else(|| FsError::Io {
        op,
        path: s.abs(p),
        source: std::io::Error::other("not allowed on the pair root itself"),
    })
}

#[async_trait::async_trait]
impl LocalFs for MemFs {
    fn root(&self) -> &Path {
        &self.root
    }

    async fn root_id(&self) -> Result<Option<RootId>, FsError> {
        let s = self.lock();
        Ok(s.root.is_folder().then_some(RootId {
            device: s.device,
            file_id: s.root.id,
        }))
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Meta>, FsError> {
        Ok(self.lock().get(path).map(|n| n.meta()))
    }

    async fn list_dir(&self, path: &RelPath) -> Result<Listing, FsError> {
        let op = "list";
        let s = self.lock();
        let abs = s.abs(path);
        let n = s.get(path).ok_or_else(|| FsError::NotFound {
            op,
            path: abs.clone(),
        })?;
        let Body::Folder(ch) = &n.body else {
            return Err(FsError::NotAFolder { op, path: abs });
        };
        if n.unreadable {
            return Err(FsError::PermissionDenied { op, path: abs });
        }
        let mut entries: Vec<_> = ch.values().map(|c| (c.name.clone(), c.meta())).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Listing {
            entries,
            skipped: Vec::new(),
        })
    }

    async fn hash(&self, path: &RelPath) -> Result<Hashed, FsError> {
        let mut s = self.lock();
        s.hash_count += 1;
        let md5 = Md5(md5::Md5::digest(file_bytes(&s, path, "read")?).into());
        let meta = s.get(path).expect("just read").meta();
        let key = s.path_key(path);
        if let Some(new) = s.change_on_hash.remove(&key) {
            // The file changes while it is read: what was read is half old, half new.
            let now = s.tick();
            let n = s.get_mut(path).expect("just read");
            n.body = Body::File(new);
            n.mtime_ns = now;
            return Err(FsError::Changed { path: s.abs(path) });
        }
        Ok(Hashed { md5, meta })
    }

    async fn create_dir(&self, path: &RelPath) -> Result<Meta, FsError> {
        let op = "create the folder";
        let mut s = self.lock();
        let Some(parent) = path.parent() else {
            return Ok(s.root.meta());
        };
        s.check_dir(&parent, op)?;
        match s.get(path) {
            Some(n) if n.is_folder() => return Ok(n.meta()),
            Some(_) => {
                return Err(FsError::AlreadyExists {
                    op,
                    path: s.abs(path),
                })
            }
            None => {}
        }
        if s.disk_full {
            return Err(FsError::DiskFull {
                op,
                path: s.abs(path),
            });
        }
        s.tick();
        let n = s.node(Body::Folder(BTreeMap::new()));
        s.put(path, n);
        Ok(s.get(path).expect("just created").meta())
    }

    async fn rename(&self, from: &RelPath, to: &RelPath, expect: Expect) -> Result<Meta, FsError> {
        let op = "rename";
        let mut s = self.lock();
        s.check_dir(&not_root(&s, from, op)?, op)?;
        s.check_dir(&not_root(&s, to, op)?, op)?;
        let cur = s
            .get(from)
            .map(|n| n.meta())
            .ok_or_else(|| FsError::NotFound {
                op,
                path: s.abs(from),
            })?;
        if !expect.matches(Some(&cur)) {
            return Err(FsError::Changed { path: s.abs(from) });
        }
        if from == to {
            return Ok(cur);
        }
        if to.starts_with(from) {
            return Err(FsError::Io {
                op,
                path: s.abs(to),
                source: std::io::Error::other("a folder cannot be moved into itself"),
            });
        }
        match s.get(to) {
            Some(t) if from.fold_key() == to.fold_key() && t.id == cur.stamp.file_id => {}
            Some(_) => {
                return Err(FsError::AlreadyExists {
                    op,
                    path: s.abs(to),
                })
            }
            None => {}
        }
        s.tick();
        let n = s.take(from).expect("checked above");
        s.put(to, n);
        Ok(s.get(to).expect("just moved").meta())
    }

    async fn trash(&self, path: &RelPath, expect: Expect) -> Result<Trashed, FsError> {
        let op = "move to the trash";
        let mut s = self.lock();
        let parent = not_root(&s, path, op)?;
        s.check_dir(&parent, op)?;
        let Some(cur) = s.get(path).map(|n| n.meta()) else {
            return Err(FsError::NotFound {
                op,
                path: s.abs(path),
            });
        };
        if !expect.matches(Some(&cur)) {
            return Err(FsError::Changed { path: s.abs(path) });
        }
        s.tick();
        let node = s.take(path).expect("checked above");
        Ok(to_trash(&mut s, node, path))
    }

    async fn keep(&self, path: &RelPath) -> Result<Option<Kept>, FsError> {
        let op = "keep the old version of";
        let mut s = self.lock();
        let parent = not_root(&s, path, op)?;
        s.check_dir(&parent, op)?;
        let node = match s.get(path) {
            None => {
                return Err(FsError::NotFound {
                    op,
                    path: s.abs(path),
                })
            }
            Some(n) if !matches!(n.body, Body::File(_)) => {
                return Err(FsError::NotAFile {
                    op,
                    path: s.abs(path),
                })
            }
            // A second link: the same content and file id.
            Some(n) => n.clone(),
        };
        s.next_temp += 1;
        let dir =
            RelPath::new(format!("{TRASH_DIR}/{KEPT_PREFIX}{:012x}", s.next_temp)).expect("valid");
        s.mkdir_all(&dir);
        let at = dir.join(path.name()).expect("a valid name");
        s.put(&at, node);
        Ok(Some(Kept {
            path: path.clone(),
            at,
        }))
    }

    async fn trash_kept(&self, kept: &Kept) -> Result<Trashed, FsError> {
        let mut s = self.lock();
        let Some(node) = s.take(&kept.at) else {
            return Err(FsError::NotFound {
                op: "move to the trash",
                path: s.abs(&kept.at),
            });
        };
        s.tick();
        drop_kept_dir(&mut s, kept);
        Ok(to_trash(&mut s, node, &kept.path))
    }

    async fn drop_kept(&self, kept: &Kept) -> Result<(), FsError> {
        let mut s = self.lock();
        if !Kept::is_kept_place(&kept.at) {
            return Err(FsError::Io {
                op: "delete the kept old version",
                path: s.abs(&kept.at),
                source: std::io::Error::other("not a kept version"),
            });
        }
        s.take(&kept.at);
        drop_kept_dir(&mut s, kept);
        Ok(())
    }

    async fn stage(&self, dir: &RelPath) -> Result<Box<dyn Staged>, FsError> {
        let op = "create a file in";
        let mut s = self.lock();
        s.check_dir(dir, op)?;
        if s.disk_full {
            return Err(FsError::DiskFull {
                op,
                path: s.abs(dir),
            });
        }
        s.next_temp += 1;
        let name = format!("{PARTIAL_PREFIX}{:012x}", s.next_temp);
        let temp = dir.join(&name).expect("valid name");
        s.tick();
        let n = s.node(Body::File(Vec::new()));
        s.put(&temp, n);
        Ok(Box::new(MemStaged::new(self.clone(), temp)))
    }

    async fn remove_partial(&self, path: &RelPath) -> Result<(), FsError> {
        if !path.name().starts_with(PARTIAL_PREFIX) {
            return Err(FsError::Io {
                op: "remove a partial download",
                path: path.to_path(&self.root),
                source: std::io::Error::other("not a partial download"),
            });
        }
        self.remove(path.clone());
        Ok(())
    }

    async fn upload_path(&self, path: &RelPath) -> Result<UploadFile, FsError> {
        let op = "read";
        let (bytes, stamp) = {
            let s = self.lock();
            let bytes = file_bytes(&s, path, op)?.to_vec();
            let stamp = s
                .get(path)
                .map(|n| n.meta().stamp)
                .ok_or_else(|| FsError::NotFound {
                    op,
                    path: s.abs(path),
                })?;
            (bytes, stamp)
        };
        let snapshot = (|| {
            let mut f = tempfile::NamedTempFile::new()?;
            f.write_all(&bytes)?;
            f.flush()?;
            Ok::<_, std::io::Error>(f.into_temp_path())
        })()
        .map_err(|e| FsError::from_io("snapshot", std::env::temp_dir(), e))?;
        Ok(UploadFile {
            path: snapshot.to_path_buf(),
            stamp,
            content: (bytes.len() as u64 <= crate::SMALL_FILE).then_some(bytes),
            _keep: Some(snapshot),
        })
    }
}

/// Puts `node`, taken from the tree, in the trash as `path`: the fake OS trash (recorded in
/// `trashed`), else `.drivesync-trash/<stamp>/<path>` (numbered on collision).
fn to_trash(s: &mut State, node: super::tree::Node, path: &RelPath) -> Trashed {
    let mut files = Vec::new();
    node.files_into(path, false, &mut files);
    s.trashed.extend(files);
    if s.os_trash {
        return Trashed::Os;
    }
    let stamp = chrono::DateTime::from_timestamp_nanos(s.clock)
        .format("%Y%m%d-%H%M%S")
        .to_string();
    let dir = RelPath::new(format!("{TRASH_DIR}/{stamp}")).expect("valid");
    let dir = path
        .parent()
        .unwrap_or_else(RelPath::root)
        .components()
        .fold(dir, |d, c| d.join(c).expect("valid"));
    s.mkdir_all(&dir);
    let dest = (1..)
        .map(|n| dir.join(&numbered(path.name(), n)).expect("valid"))
        .find(|d| s.get(d).is_none())
        .expect("a free name");
    s.put(&dest, node);
    Trashed::Fallback(s.abs(&dest))
}

/// Removes the folder that held `kept` and then the trash folder, each if it is empty now
/// (as `StdFs` does).
fn drop_kept_dir(s: &mut State, kept: &Kept) {
    let trash = RelPath::new(TRASH_DIR).expect("valid");
    for dir in kept.at.parent().into_iter().chain([trash]) {
        if s.get(&dir)
            .is_some_and(|n| matches!(&n.body, Body::Folder(c) if c.is_empty()))
        {
            s.take(&dir);
        }
    }
}
