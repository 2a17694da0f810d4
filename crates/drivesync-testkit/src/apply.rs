//! Appliers: carry out a [`LocalOp`] on a [`MemFs`] (as a user would) and a [`RemoteOp`] on
//! Drive through the [`RemoteStore`] API (as another device would). Each returns what it did
//! to the versions of files ([`Applied`]) for the reference model. A step that does not fit
//! the current state (its path is gone, its target is taken...) is skipped, never forced.
//!
//! Level 2 adds appliers for a real disk; [`apply_remote`] already works over any
//! [`RemoteStore`] (`GoogleDrive` against `drive-emulator` included), given a way to delete
//! for good ([`Device::delete_forever`]), which the engine's trait deliberately lacks.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use drivesync_drive::{File, NewFile, Relocation, RemoteStore, Reparent, UploadSource};
use drivesync_localfs::{FsKind, MemFs};
use drivesync_model::{DriveId, Md5, RelPath};
use md5::Digest;

use crate::gen::{LocalOp, RemoteOp};

/// The MD5 of `bytes`.
pub fn md5_of(bytes: &[u8]) -> Md5 {
    Md5(md5::Md5::digest(bytes).into())
}

/// A Drive file the device named (created, renamed or moved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The file.
    pub id: DriveId,
    /// Its folder.
    pub parent: DriveId,
    /// Its name.
    pub name: String,
    /// The name was taken in that folder on purpose (a duplicate the test made).
    pub duplicate: bool,
}

/// What a user or device step did to file versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Why nothing was done (the step did not fit).
    pub skipped: Option<String>,
    /// Versions (contents) it wrote.
    pub written: Vec<Md5>,
    /// Versions it removed or overwrote on its side (they may still exist elsewhere).
    pub destroyed: Vec<Md5>,
    /// Versions it moved to Drive's trash (off its side, not destroyed).
    pub trashed: Vec<Md5>,
    /// Contents Drive now keeps in a file's version history (replaced by a device upload).
    pub revisions: Vec<(DriveId, Md5)>,
    /// Drive files deleted for good (their version history goes with them).
    pub deleted: Vec<DriveId>,
    /// Drive files the device named.
    pub named: Vec<Named>,
    /// Local paths a file system watcher would report (what a live loop passes on).
    pub touched: Vec<RelPath>,
}

impl Applied {
    /// A step that did not fit, and why.
    pub fn skip(why: impl Into<String>) -> Self {
        Self {
            skipped: Some(why.into()),
            ..Self::default()
        }
    }
}

fn rel(p: &str) -> Option<RelPath> {
    RelPath::new(p).ok().filter(|r| !r.is_root())
}

/// A local folder the user's steps change: a [`MemFs`] (level 1) or a real folder
/// ([`RealDisk`], level 2). Paths are relative to the pair's folder; errors are the test's.
pub trait Disk {
    /// What is at `p`.
    fn kind(&self, p: &RelPath) -> Option<FsKind>;
    /// The content of file `p`.
    fn read(&self, p: &RelPath) -> Option<Vec<u8>>;
    /// Writes file `p`, creating the folders above it.
    fn write(&self, p: &RelPath, bytes: &[u8]);
    /// Renames `from` to `to`, replacing a file there. False when it cannot, because what is
    /// at either path changed since the caller looked (a running daemon raced the change).
    fn rename(&self, from: &RelPath, to: &RelPath) -> bool;
    /// Removes `p` and everything in it.
    fn remove(&self, p: &RelPath);
    /// Creates folder `p` and the folders above it.
    fn mkdir_all(&self, p: &RelPath);
    /// The contents of every file at or under `p`.
    fn contents_under(&self, p: &RelPath) -> Vec<Vec<u8>>;
    /// The mtime of file `p` (nanoseconds since the epoch).
    fn mtime(&self, p: &RelPath) -> Option<i64>;
    /// Sets the mtime of file `p`.
    fn set_mtime(&self, p: &RelPath, ns: i64);
    /// Unplugs the pair's disk (an empty folder, another one, stands at its path). False if
    /// it is already unplugged.
    fn unmount(&self) -> bool;
    /// Plugs the pair's disk back in. False if it is not unplugged.
    fn mount(&self) -> bool;
}

impl Disk for MemFs {
    fn kind(&self, p: &RelPath) -> Option<FsKind> {
        self.meta(p.clone()).map(|m| m.kind)
    }
    fn read(&self, p: &RelPath) -> Option<Vec<u8>> {
        MemFs::read(self, p.clone()).ok()
    }
    fn write(&self, p: &RelPath, bytes: &[u8]) {
        MemFs::write(self, p.clone(), bytes);
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> bool {
        self.rename_raw(from.clone(), to.clone());
        true
    }
    fn remove(&self, p: &RelPath) {
        MemFs::remove(self, p.clone());
    }
    fn mkdir_all(&self, p: &RelPath) {
        MemFs::mkdir_all(self, p.clone());
    }
    fn contents_under(&self, p: &RelPath) -> Vec<Vec<u8>> {
        self.files()
            .into_iter()
            .filter(|(k, _)| k.starts_with(p))
            .map(|(_, b)| b)
            .collect()
    }
    fn mtime(&self, p: &RelPath) -> Option<i64> {
        self.meta(p.clone()).map(|m| m.stamp.mtime_ns)
    }
    fn set_mtime(&self, p: &RelPath, ns: i64) {
        MemFs::set_mtime(self, p.clone(), ns);
    }
    fn unmount(&self) -> bool {
        !self.is_unmounted() && {
            MemFs::unmount(self);
            true
        }
    }
    /// Panics if anything was written to the empty mount point meanwhile, as
    /// [`RealDisk`]'s.
    fn mount(&self) -> bool {
        if !self.is_unmounted() {
            return false;
        }
        let (files, folders) = (self.files(), self.folders());
        assert!(
            files.is_empty() && folders.is_empty(),
            "something wrote into the unplugged disk's empty mount point: {files:?} {folders:?}"
        );
        MemFs::mount(self);
        true
    }
}

/// A real folder on disk (level 2). IO errors panic: they are the test machine's.
#[derive(Debug, Clone)]
pub struct RealDisk {
    /// The pair's local folder.
    pub root: PathBuf,
}

impl RealDisk {
    fn abs(&self, p: &RelPath) -> PathBuf {
        self.root.join(p.as_str())
    }
}

impl Disk for RealDisk {
    fn kind(&self, p: &RelPath) -> Option<FsKind> {
        let m = std::fs::symlink_metadata(self.abs(p)).ok()?;
        Some(if m.is_file() {
            FsKind::File
        } else if m.is_dir() {
            FsKind::Folder
        } else if m.file_type().is_symlink() {
            FsKind::Symlink
        } else {
            FsKind::Other
        })
    }
    fn read(&self, p: &RelPath) -> Option<Vec<u8>> {
        std::fs::read(self.abs(p)).ok()
    }
    fn write(&self, p: &RelPath, bytes: &[u8]) {
        let abs = self.abs(p);
        if let Some(dir) = abs.parent() {
            std::fs::create_dir_all(dir).expect("create folders");
        }
        std::fs::write(&abs, bytes).expect("write a file");
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> bool {
        use std::io::ErrorKind as K;
        match std::fs::rename(self.abs(from), self.abs(to)) {
            Ok(()) => true,
            Err(e)
                if matches!(
                    e.kind(),
                    K::NotFound | K::IsADirectory | K::NotADirectory | K::DirectoryNotEmpty
                ) =>
            {
                false
            }
            Err(e) => panic!("rename {from} -> {to}: {e}"),
        }
    }
    fn remove(&self, p: &RelPath) {
        let abs = self.abs(p);
        match self.kind(p) {
            Some(FsKind::Folder) => std::fs::remove_dir_all(abs).expect("remove a folder"),
            Some(_) => std::fs::remove_file(abs).expect("remove a file"),
            None => {}
        }
    }
    fn mkdir_all(&self, p: &RelPath) {
        std::fs::create_dir_all(self.abs(p)).expect("create folders");
    }
    fn contents_under(&self, p: &RelPath) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pending = vec![self.abs(p)];
        while let Some(at) = pending.pop() {
            let Ok(m) = std::fs::symlink_metadata(&at) else {
                continue;
            };
            if m.is_dir() {
                if let Ok(rd) = std::fs::read_dir(&at) {
                    pending.extend(rd.flatten().map(|e| e.path()));
                }
            } else if m.is_file() {
                out.extend(std::fs::read(&at).ok());
            }
        }
        out
    }
    fn mtime(&self, p: &RelPath) -> Option<i64> {
        let t = std::fs::metadata(self.abs(p)).ok()?.modified().ok()?;
        let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(d.as_nanos()).ok()
    }
    fn set_mtime(&self, p: &RelPath, ns: i64) {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns.max(0) as u64);
        std::fs::File::options()
            .write(true)
            .open(self.abs(p))
            .and_then(|f| f.set_modified(t))
            .expect("set a file's mtime");
    }
    /// The folder goes to `<root>.unplugged` and an empty one takes its path.
    fn unmount(&self) -> bool {
        let away = self.unplugged();
        if away.exists() {
            return false;
        }
        std::fs::rename(&self.root, &away).expect("move the pair's folder away");
        std::fs::create_dir(&self.root).expect("create the empty mount point");
        true
    }
    /// Panics if anything was written to the empty mount point meanwhile: drivesync must
    /// never write there.
    fn mount(&self) -> bool {
        let away = self.unplugged();
        if !away.exists() {
            return false;
        }
        let inside: Vec<_> = std::fs::read_dir(&self.root)
            .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            inside.is_empty(),
            "something wrote into the unplugged disk's empty mount point: {inside:?}"
        );
        std::fs::remove_dir(&self.root).expect("remove the empty mount point");
        std::fs::rename(&away, &self.root).expect("put the pair's folder back");
        true
    }
}

impl RealDisk {
    fn unplugged(&self) -> PathBuf {
        let mut name = self.root.as_os_str().to_owned();
        name.push(".unplugged");
        PathBuf::from(name)
    }
}

fn kind_at(fs: &(impl Disk + ?Sized), p: &RelPath) -> Option<FsKind> {
    fs.kind(p)
}

/// Every folder above `p` is a folder or absent (so writing `p` can create them).
fn parents_free(fs: &(impl Disk + ?Sized), p: &RelPath) -> bool {
    let mut cur = p.parent();
    while let Some(a) = cur.filter(|a| !a.is_root()) {
        match kind_at(fs, &a) {
            None | Some(FsKind::Folder) => {}
            Some(_) => return false,
        }
        cur = a.parent();
    }
    true
}

fn files_under(fs: &(impl Disk + ?Sized), p: &RelPath) -> Vec<Md5> {
    fs.contents_under(p).iter().map(|b| md5_of(b)).collect()
}

/// Carries out `op` on `fs` as a user would.
pub fn apply_local(fs: &(impl Disk + ?Sized), op: &LocalOp) -> Applied {
    let path = match op {
        LocalOp::Unmount if fs.unmount() => return Applied::default(),
        LocalOp::Unmount => return Applied::skip("already unmounted"),
        LocalOp::Mount if fs.mount() => return Applied::default(),
        LocalOp::Mount => return Applied::skip("not unmounted"),
        LocalOp::Write { path, .. }
        | LocalOp::EditSameStamp { path, .. }
        | LocalOp::Save { path, .. }
        | LocalOp::Append { path, .. }
        | LocalOp::Truncate { path, .. }
        | LocalOp::Mkdir { path }
        | LocalOp::Remove { path }
        | LocalOp::FileToFolder { path }
        | LocalOp::FolderToFile { path, .. } => path,
        LocalOp::Move { from, .. } => from,
    };
    let Some(p) = rel(path) else {
        return Applied::skip("not a valid path");
    };
    let here = kind_at(fs, &p);
    let old = || fs.read(&p);
    let mut out = Applied::default();
    // What a watcher reports: the path, the folders the step creates above it, and for a
    // move its destination.
    let mut created = Vec::new();
    let mut cur = p.parent();
    while let Some(a) = cur.filter(|a| !a.is_root()) {
        if kind_at(fs, &a).is_none() {
            created.push(a.clone());
        }
        cur = a.parent();
    }
    out.touched.push(p.clone());
    out.touched.extend(created);
    if let LocalOp::Move { to, .. } = op {
        out.touched.extend(rel(to));
    }
    match op {
        LocalOp::Write { text, .. } => {
            if !parents_free(fs, &p) || matches!(here, Some(k) if k != FsKind::File) {
                return Applied::skip("a folder or a non-file is in the way");
            }
            out.destroyed.extend(old().map(|b| md5_of(&b)));
            fs.write(&p, text.as_bytes());
            out.written.push(md5_of(text.as_bytes()));
        }
        LocalOp::EditSameStamp { text, .. } => {
            let (Some(FsKind::File), Some(bytes), Some(mtime)) = (here, old(), fs.mtime(&p)) else {
                return Applied::skip("no such file");
            };
            let mut new: Vec<u8> = text.bytes().cycle().take(bytes.len()).collect();
            if new == bytes {
                match new.last_mut() {
                    Some(b) => *b = if *b == b'#' { b'%' } else { b'#' },
                    None => return Applied::skip("an empty file cannot change at the same size"),
                }
            }
            fs.write(&p, &new);
            fs.set_mtime(&p, mtime);
            out.destroyed.push(md5_of(&bytes));
            out.written.push(md5_of(&new));
        }
        LocalOp::Save { text, .. } => {
            if here != Some(FsKind::File) {
                return Applied::skip("no such file");
            }
            let Ok(tmp) = p.with_name(".save-tmp~") else {
                return Applied::skip("no temporary name");
            };
            if kind_at(fs, &tmp).is_some() {
                return Applied::skip("the temporary name is taken");
            }
            let replaced = old().map(|b| md5_of(&b));
            fs.write(&tmp, text.as_bytes());
            if !fs.rename(&tmp, &p) {
                fs.remove(&tmp);
                return Applied::skip("the file changed meanwhile");
            }
            out.destroyed.extend(replaced);
            out.written.push(md5_of(text.as_bytes()));
        }
        LocalOp::Append { text, .. } => {
            let Some(mut bytes) = old().filter(|_| here == Some(FsKind::File)) else {
                return Applied::skip("no such file");
            };
            out.destroyed.push(md5_of(&bytes));
            bytes.extend_from_slice(text.as_bytes());
            out.written.push(md5_of(&bytes));
            fs.write(&p, &bytes);
        }
        LocalOp::Truncate { len, .. } => {
            let Some(mut bytes) = old().filter(|_| here == Some(FsKind::File)) else {
                return Applied::skip("no such file");
            };
            if bytes.len() <= *len as usize {
                return Applied::skip("already that short");
            }
            out.destroyed.push(md5_of(&bytes));
            bytes.truncate(*len as usize);
            out.written.push(md5_of(&bytes));
            fs.write(&p, &bytes);
        }
        LocalOp::Mkdir { .. } => {
            if here.is_some() || !parents_free(fs, &p) {
                return Applied::skip("something is in the way");
            }
            fs.mkdir_all(&p);
        }
        LocalOp::Remove { .. } => {
            if here.is_none() {
                return Applied::skip("nothing there");
            }
            out.destroyed = files_under(fs, &p);
            fs.remove(&p);
        }
        LocalOp::Move { to, .. } => {
            let Some(to) = rel(to) else {
                return Applied::skip("not a valid path");
            };
            let folder = to.parent().unwrap_or_else(RelPath::root);
            let folder_ok = folder.is_root() || kind_at(fs, &folder) == Some(FsKind::Folder);
            if here.is_none() || kind_at(fs, &to).is_some() || !folder_ok || to.starts_with(&p) {
                return Applied::skip("cannot move there");
            }
            if !fs.rename(&p, &to) {
                return Applied::skip("something appeared there meanwhile");
            }
        }
        LocalOp::FileToFolder { .. } => {
            if here != Some(FsKind::File) {
                return Applied::skip("no such file");
            }
            out.destroyed.extend(old().map(|b| md5_of(&b)));
            fs.remove(&p);
            fs.mkdir_all(&p);
        }
        LocalOp::FolderToFile { text, .. } => {
            if here != Some(FsKind::Folder) {
                return Applied::skip("no such folder");
            }
            out.destroyed = files_under(fs, &p);
            fs.remove(&p);
            fs.write(&p, text.as_bytes());
            out.written.push(md5_of(text.as_bytes()));
        }
        LocalOp::Unmount | LocalOp::Mount => unreachable!("applied before the path is read"),
    }
    out
}

/// Another device on Drive: the store it talks to and the pair's folder.
pub struct Device<'a> {
    /// Drive.
    pub store: &'a dyn RemoteStore,
    /// The pair's folder.
    pub root: DriveId,
    /// A folder for the temporary files uploads are read from.
    pub tmp: PathBuf,
    /// The device's clock (the `modifiedTime` it sets).
    pub now: DateTime<Utc>,
    /// Deletes a file (and a folder's content, trashed files included) for good, which
    /// [`RemoteStore`] cannot; returns every file deleted, with its content's MD5.
    #[allow(clippy::type_complexity)]
    pub delete_forever:
        &'a (dyn Fn(&DriveId) -> Result<Vec<(DriveId, Option<Md5>)>, String> + Sync),
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

impl Device<'_> {
    /// The first live file named `name` in `folder`.
    async fn child(&self, folder: &DriveId, name: &str) -> Result<Option<File>, String> {
        let kids = self
            .store
            .list_children(folder)
            .await
            .map_err(|e| e.to_string())?;
        Ok(kids.into_iter().find(|f| f.name == name))
    }

    /// The file at `path` (Drive names).
    async fn resolve(&self, path: &str) -> Result<Option<File>, String> {
        let parts = split(path);
        let mut cur: Option<File> = None;
        for part in parts {
            let folder = match &cur {
                None => self.root.clone(),
                Some(f) if f.is_folder() => f.id.clone(),
                Some(_) => return Ok(None),
            };
            match self.child(&folder, part).await? {
                Some(f) => cur = Some(f),
                None => return Ok(None),
            }
        }
        Ok(cur)
    }

    /// The folder at `path` (the pair's folder for ""), `None` if absent or not a folder.
    async fn folder(&self, path: &str) -> Result<Option<DriveId>, String> {
        if split(path).is_empty() {
            return Ok(Some(self.root.clone()));
        }
        Ok(self
            .resolve(path)
            .await?
            .filter(|f| f.is_folder())
            .map(|f| f.id))
    }

    /// The folder at `path`, created with its missing parents; `None` if a file is in the way.
    async fn folders(&self, path: &str, named: &mut Vec<Named>) -> Result<Option<DriveId>, String> {
        let mut cur = self.root.clone();
        for part in split(path) {
            cur = match self.child(&cur, part).await? {
                Some(f) if f.is_folder() => f.id,
                Some(_) => return Ok(None),
                None => {
                    let f = self
                        .store
                        .create_folder(&NewFile::new(cur.clone(), part))
                        .await
                        .map_err(|e| e.to_string())?;
                    named.push(Named {
                        id: f.id.clone(),
                        parent: cur,
                        name: part.to_owned(),
                        duplicate: false,
                    });
                    f.id
                }
            };
        }
        Ok(Some(cur))
    }

    fn source(&self, bytes: &[u8]) -> Result<(UploadSource, tempfile::TempPath), String> {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new_in(&self.tmp).map_err(|e| e.to_string())?;
        f.write_all(bytes).map_err(|e| e.to_string())?;
        let path = f.into_temp_path();
        Ok((UploadSource::new(&*path).modified_time(self.now), path))
    }

    async fn content(&self, id: &DriveId) -> Result<Vec<u8>, String> {
        let mut out: Vec<u8> = Vec::new();
        self.store
            .download(id, None, &mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    async fn create(
        &self,
        parent: &DriveId,
        name: &str,
        bytes: &[u8],
        duplicate: bool,
        out: &mut Applied,
    ) -> Result<(), String> {
        let (src, _keep) = self.source(bytes)?;
        let f = self
            .store
            .create_file(&NewFile::new(parent.clone(), name), &src)
            .await
            .map_err(|e| e.to_string())?;
        out.named.push(Named {
            id: f.id,
            parent: parent.clone(),
            name: name.to_owned(),
            duplicate,
        });
        out.written.push(md5_of(bytes));
        Ok(())
    }

    async fn update(&self, f: &File, bytes: &[u8], out: &mut Applied) -> Result<(), String> {
        let old = self.content(&f.id).await?;
        let (src, _keep) = self.source(bytes)?;
        self.store
            .update_content(&f.id, &src)
            .await
            .map_err(|e| e.to_string())?;
        out.destroyed.push(md5_of(&old));
        out.revisions.push((f.id.clone(), md5_of(&old)));
        out.written.push(md5_of(bytes));
        Ok(())
    }

    /// The contents of `f` (a file, or every live file in a folder).
    async fn contents(&self, f: &File) -> Result<Vec<Md5>, String> {
        let mut all = vec![f.clone()];
        if f.is_folder() {
            all.extend(
                self.store
                    .list_tree(&f.id)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut out = Vec::new();
        for g in all.iter().filter(|g| !g.is_folder() && !g.is_google_type()) {
            out.push(md5_of(&self.content(&g.id).await?));
        }
        Ok(out)
    }

    async fn trash(&self, f: &File, out: &mut Applied) -> Result<(), String> {
        out.trashed.extend(self.contents(f).await?);
        self.store.trash(&f.id).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    fn parent_and_name(path: &str) -> (String, String) {
        let parts = split(path);
        let name = parts.last().copied().unwrap_or_default().to_owned();
        let parent = parts[..parts.len().saturating_sub(1)].join("/");
        (parent, name)
    }

    async fn run(&self, op: &RemoteOp) -> Result<Applied, String> {
        let mut out = Applied::default();
        let path = match op {
            RemoteOp::Write { path, .. }
            | RemoteOp::Append { path, .. }
            | RemoteOp::Truncate { path, .. }
            | RemoteOp::Mkdir { path }
            | RemoteOp::Trash { path }
            | RemoteOp::DeleteForever { path }
            | RemoteOp::FileToFolder { path }
            | RemoteOp::FolderToFile { path, .. }
            | RemoteOp::Duplicate { path, .. } => path,
            RemoteOp::Move { from, .. } => from,
        };
        if split(path).is_empty() {
            return Ok(Applied::skip("not a valid path"));
        }
        let here = self.resolve(path).await?;
        let file = here
            .clone()
            .filter(|f| !f.is_folder() && !f.is_google_type());
        let folder = here.clone().filter(|f| f.is_folder());
        let (parent_path, name) = Self::parent_and_name(path);
        match op {
            RemoteOp::Write { text, .. } => match (&here, &file) {
                (Some(_), Some(f)) => self.update(f, text.as_bytes(), &mut out).await?,
                (Some(_), None) => return Ok(Applied::skip("not a file")),
                (None, _) => match self.folders(&parent_path, &mut out.named).await? {
                    Some(parent) => {
                        self.create(&parent, &name, text.as_bytes(), false, &mut out)
                            .await?
                    }
                    None => return Ok(Applied::skip("a file is in the way")),
                },
            },
            RemoteOp::Append { text, .. } => {
                let Some(f) = &file else {
                    return Ok(Applied::skip("no such file"));
                };
                let mut bytes = self.content(&f.id).await?;
                bytes.extend_from_slice(text.as_bytes());
                self.update(f, &bytes, &mut out).await?;
            }
            RemoteOp::Truncate { len, .. } => {
                let Some(f) = &file else {
                    return Ok(Applied::skip("no such file"));
                };
                let mut bytes = self.content(&f.id).await?;
                if bytes.len() <= *len as usize {
                    return Ok(Applied::skip("already that short"));
                }
                bytes.truncate(*len as usize);
                self.update(f, &bytes, &mut out).await?;
            }
            RemoteOp::Mkdir { .. } => {
                if here.is_some() {
                    return Ok(Applied::skip("something is there"));
                }
                if self.folders(path, &mut out.named).await?.is_none() {
                    return Ok(Applied::skip("a file is in the way"));
                }
            }
            RemoteOp::Trash { .. } => {
                let Some(f) = &here else {
                    return Ok(Applied::skip("nothing there"));
                };
                self.trash(f, &mut out).await?;
            }
            RemoteOp::DeleteForever { .. } => {
                let Some(f) = &here else {
                    return Ok(Applied::skip("nothing there"));
                };
                for (id, md5) in (self.delete_forever)(&f.id)? {
                    out.destroyed.extend(md5);
                    out.deleted.push(id);
                }
            }
            RemoteOp::Move { to, .. } => {
                let Some(f) = &here else {
                    return Ok(Applied::skip("nothing there"));
                };
                let (to_parent, to_name) = Self::parent_and_name(to);
                let inside = to == path || to.starts_with(&format!("{path}/"));
                if split(to).is_empty() || inside || self.resolve(to).await?.is_some() {
                    return Ok(Applied::skip("cannot move there"));
                }
                let Some(dest) = self.folder(&to_parent).await? else {
                    return Ok(Applied::skip("no such folder"));
                };
                let from = f
                    .parents
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.root.clone());
                let reloc = Relocation {
                    name: (to_name != f.name).then(|| to_name.clone()),
                    parent: (dest != from).then(|| Reparent {
                        from,
                        to: dest.clone(),
                    }),
                };
                self.store
                    .relocate(&f.id, &reloc)
                    .await
                    .map_err(|e| e.to_string())?;
                out.named.push(Named {
                    id: f.id.clone(),
                    parent: dest,
                    name: to_name,
                    duplicate: false,
                });
            }
            RemoteOp::FileToFolder { .. } => {
                let Some(f) = &file else {
                    return Ok(Applied::skip("no such file"));
                };
                let parent = f
                    .parents
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.root.clone());
                self.trash(f, &mut out).await?;
                let g = self
                    .store
                    .create_folder(&NewFile::new(parent.clone(), &name))
                    .await
                    .map_err(|e| e.to_string())?;
                out.named.push(Named {
                    id: g.id,
                    parent,
                    name,
                    duplicate: false,
                });
            }
            RemoteOp::FolderToFile { text, .. } => {
                let Some(f) = &folder else {
                    return Ok(Applied::skip("no such folder"));
                };
                let parent = f
                    .parents
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.root.clone());
                self.trash(f, &mut out).await?;
                self.create(&parent, &name, text.as_bytes(), false, &mut out)
                    .await?;
            }
            RemoteOp::Duplicate { text, .. } => {
                let Some(f) = &file else {
                    return Ok(Applied::skip("no such file"));
                };
                let parent = f
                    .parents
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.root.clone());
                self.create(&parent, &name, text.as_bytes(), true, &mut out)
                    .await?;
            }
        }
        Ok(out)
    }
}

/// Carries out `op` on Drive as another device would. A Drive error (none are expected from
/// the fakes) is reported as a skip with the message.
pub async fn apply_remote(device: &Device<'_>, op: &RemoteOp) -> Applied {
    device
        .run(op)
        .await
        .unwrap_or_else(|e| Applied::skip(format!("Drive error: {e}")))
}
