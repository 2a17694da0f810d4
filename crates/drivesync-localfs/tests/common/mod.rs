//! A [`LocalFs`] plus raw access to what is "really" there, for StdFs (a temp dir) and MemFs,
//! so one contract test runs against both.

#![allow(dead_code)]

use std::path::Path;

use drivesync_localfs::{LocalFs, MemFs, RelPath, StdFs};

/// A file system under test and a user's direct access to it.
pub trait Raw: Send + Sync {
    /// The implementation under test.
    fn fs(&self) -> &dyn LocalFs;
    /// Writes a file as a user would (creating folders; an existing file is edited in place).
    fn write(&self, path: &str, bytes: &[u8]);
    /// A file's content, `None` if absent.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// The names in a folder, drivesync's temporary files included.
    fn names(&self, dir: &str) -> Vec<String>;
    /// Creates a symbolic link.
    fn symlink(&self, path: &str, target: &str);
    /// Creates folders (`mkdir -p`).
    fn mkdir(&self, path: &str);
}

/// StdFs in a temporary folder (OS trash off).
pub struct StdRaw {
    pub dir: tempfile::TempDir,
    pub fs: StdFs,
}

pub fn std_raw() -> StdRaw {
    let dir = tempfile::tempdir().unwrap();
    let fs = StdFs::new(dir.path().join("pair")).with_os_trash(false);
    std::fs::create_dir(fs.root()).unwrap();
    StdRaw { dir, fs }
}

impl StdRaw {
    fn abs(&self, p: &str) -> std::path::PathBuf {
        rel(p).to_path(self.fs.root())
    }
}

impl Raw for StdRaw {
    fn fs(&self) -> &dyn LocalFs {
        &self.fs
    }
    fn write(&self, path: &str, bytes: &[u8]) {
        let abs = self.abs(path);
        std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
        std::fs::write(abs, bytes).unwrap();
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.abs(path)).ok()
    }
    fn names(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.abs(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
    fn symlink(&self, path: &str, target: &str) {
        #[cfg(unix)]
        std::os::unix::fs::symlink(target, self.abs(path)).unwrap();
        #[cfg(not(unix))]
        let _ = (path, target);
    }
    fn mkdir(&self, path: &str) {
        std::fs::create_dir_all(self.abs(path)).unwrap();
    }
}

/// MemFs (OS trash off, like [`std_raw`]).
pub struct MemRaw(pub MemFs);

pub fn mem_raw() -> MemRaw {
    MemRaw(MemFs::new().with_os_trash(false))
}

pub fn mem_ci_raw() -> MemRaw {
    MemRaw(MemFs::case_insensitive().with_os_trash(false))
}

impl Raw for MemRaw {
    fn fs(&self) -> &dyn LocalFs {
        &self.0
    }
    fn write(&self, path: &str, bytes: &[u8]) {
        self.0.write(path, bytes);
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.read(path).ok()
    }
    fn names(&self, dir: &str) -> Vec<String> {
        let s = &self.0;
        let l = futures_lite_block(s.list_dir(&rel(dir)));
        l.unwrap().entries.into_iter().map(|(n, _)| n).collect()
    }
    fn symlink(&self, path: &str, target: &str) {
        self.0.symlink(path, target);
    }
    fn mkdir(&self, path: &str) {
        self.0.mkdir_all(path);
    }
}

/// MemFs futures never wait: poll once.
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("MemFs future pending"),
    }
}

pub fn rel(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

/// Whether this process runs as root (permission bits do not stop root).
pub fn is_root_user() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// MD5 of `bytes` as lower-case hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `p` is under `dir`.
pub fn under(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir)
}
