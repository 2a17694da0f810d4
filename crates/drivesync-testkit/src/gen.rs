//! The seeded generator: random, correlated changes on both sides of a pair, interleaved with
//! syncs (some with injected faults, a crash, or changes made while the sync runs).
//!
//! Everything is data ([`Step`], [`LocalOp`], [`RemoteOp`], [`SyncSpec`]) with paths relative
//! to the pair root, so the same steps can be applied to the in-memory fakes (level 1,
//! [`crate::apply`]) or to a real disk and `drive-emulator` (level 2). The generator looks at
//! the current state of both sides ([`View`]) to pick paths that exist, so most steps do
//! something; a step that no longer fits (after shrinking, say) is skipped by the appliers.
//!
//! The same seed and the same views give the same steps ([`ChaCha8Rng`], value-stable across
//! platforms and `rand` versions).

use std::collections::{BTreeMap, VecDeque};

use drivesync_model::Kind;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A change a user makes on the local disk. Paths are `/`-separated, relative to the pair
/// root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalOp {
    /// Create the file (missing folders too) or overwrite it in place (same file id).
    Write {
        /// The file.
        path: String,
        /// Its new content.
        text: String,
    },
    /// Save as editors do: write a temporary file next to it and rename it over the file (a
    /// new file id with the new content).
    Save {
        /// The file (must exist).
        path: String,
        /// Its new content.
        text: String,
    },
    /// Append to an existing file.
    Append {
        /// The file.
        path: String,
        /// What to add.
        text: String,
    },
    /// Cut an existing file to at most `len` bytes.
    Truncate {
        /// The file.
        path: String,
        /// The new length (no-op if the file is shorter).
        len: u32,
    },
    /// `mkdir -p`.
    Mkdir {
        /// The folder.
        path: String,
    },
    /// `rm -r` (permanent: this is the user).
    Remove {
        /// The file or folder.
        path: String,
    },
    /// `mv` (rename and/or move); skipped if `to` exists or its folder does not.
    Move {
        /// What.
        from: String,
        /// Where to.
        to: String,
    },
    /// Replace a file by a folder of the same name (`rm`, `mkdir`).
    FileToFolder {
        /// The file.
        path: String,
    },
    /// Replace a folder by a file of the same name (`rm -r`, write).
    FolderToFile {
        /// The folder.
        path: String,
        /// The file's content.
        text: String,
    },
    /// Overwrite an existing file with `text` made as long as its content, then put its
    /// mtime back: a same-size edit that keeps the file's stamp, as one within a coarse
    /// clock's resolution (FAT: 2 s) of the last sync does. Skipped when the file is not that
    /// recent (where no file system could keep its stamp).
    EditSameStamp {
        /// The file.
        path: String,
        /// Its new content (cut or padded to the old length).
        text: String,
    },
    /// The disk holding the pair is unplugged: an empty folder (another one, as a mount
    /// point is) stands at the pair's path until [`LocalOp::Mount`]. Skipped if unmounted.
    Unmount,
    /// The disk is back. Skipped if mounted.
    Mount,
}

/// A change another device makes on Drive, by path of Drive names under the pair's folder
/// (the first match when a folder holds duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteOp {
    /// New content for the file at `path` (a new revision), or create it (missing folders
    /// too).
    Write {
        /// The file.
        path: String,
        /// Its new content.
        text: String,
    },
    /// Append to an existing file (download, upload a new revision).
    Append {
        /// The file.
        path: String,
        /// What to add.
        text: String,
    },
    /// Cut an existing file to at most `len` bytes (a new revision).
    Truncate {
        /// The file.
        path: String,
        /// The new length.
        len: u32,
    },
    /// Create a folder (and missing parents).
    Mkdir {
        /// The folder.
        path: String,
    },
    /// Move to Drive's trash.
    Trash {
        /// The file or folder.
        path: String,
    },
    /// Delete for good (as emptying the trash would): the user's own loss.
    DeleteForever {
        /// The file or folder.
        path: String,
    },
    /// Rename and/or move; skipped if `to` exists or its folder does not.
    Move {
        /// What.
        from: String,
        /// Where to.
        to: String,
    },
    /// Trash a file and create a folder of the same name.
    FileToFolder {
        /// The file.
        path: String,
    },
    /// Trash a folder and create a file of the same name.
    FolderToFile {
        /// The folder.
        path: String,
        /// The file's content.
        text: String,
    },
    /// Create another file with the same name in the same folder (Drive allows duplicates).
    Duplicate {
        /// An existing file.
        path: String,
        /// The duplicate's content.
        text: String,
    },
}

/// An operation of the Drive API, for aiming faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemoteCall {
    /// files.get
    Get,
    /// files.list (each page)
    List,
    /// create a folder
    CreateFolder,
    /// create a file (upload)
    CreateFile,
    /// update a file's content (upload)
    UpdateContent,
    /// rename / move
    Relocate,
    /// move to trash
    Trash,
    /// download content
    Download,
    /// changes.list (each page)
    Changes,
    /// changes.getStartPageToken
    StartPageToken,
    /// files.generateIds
    GenerateIds,
}

impl RemoteCall {
    /// Every call, in a fixed order.
    pub const ALL: [RemoteCall; 11] = [
        RemoteCall::Get,
        RemoteCall::List,
        RemoteCall::CreateFolder,
        RemoteCall::CreateFile,
        RemoteCall::UpdateContent,
        RemoteCall::Relocate,
        RemoteCall::Trash,
        RemoteCall::Download,
        RemoteCall::Changes,
        RemoteCall::StartPageToken,
        RemoteCall::GenerateIds,
    ];

    /// Its name in scripts.
    pub fn name(self) -> &'static str {
        match self {
            RemoteCall::Get => "get",
            RemoteCall::List => "list",
            RemoteCall::CreateFolder => "create-folder",
            RemoteCall::CreateFile => "create-file",
            RemoteCall::UpdateContent => "update-content",
            RemoteCall::Relocate => "relocate",
            RemoteCall::Trash => "trash",
            RemoteCall::Download => "download",
            RemoteCall::Changes => "changes",
            RemoteCall::StartPageToken => "start-page-token",
            RemoteCall::GenerateIds => "generate-ids",
        }
    }

    /// The call named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// What an injected fault looks like to the client (after its own retries gave up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 500/503.
    ServerError,
    /// 429 Too Many Requests.
    RateLimited,
    /// 403 rateLimitExceeded.
    RateLimited403,
    /// The connection dropped (mid-chunk for a transfer).
    Reset,
    /// 401: the access token expired or was revoked.
    Unauthorized,
    /// The bytes transferred did not match Drive's MD5.
    ChecksumMismatch,
    /// 403 storageQuotaExceeded.
    QuotaExceeded,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::ServerError,
        FaultKind::RateLimited,
        FaultKind::RateLimited403,
        FaultKind::Reset,
        FaultKind::Unauthorized,
        FaultKind::ChecksumMismatch,
        FaultKind::QuotaExceeded,
    ];

    /// Its name in scripts.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ServerError => "5xx",
            FaultKind::RateLimited => "429",
            FaultKind::RateLimited403 => "403-rate",
            FaultKind::Reset => "reset",
            FaultKind::Unauthorized => "401",
            FaultKind::ChecksumMismatch => "md5",
            FaultKind::QuotaExceeded => "quota",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// One injected fault rule: the next `count` calls of `call` (any call for `None`) fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The call it hits (`None`: any).
    pub call: Option<RemoteCall>,
    /// The error.
    pub kind: FaultKind,
    /// `true`: the call happened but its answer was lost; `false`: it never happened.
    pub after: bool,
    /// How many calls it hits.
    pub count: u32,
}

/// The faults of one sync.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSpec {
    /// Seed of the random faults.
    pub seed: u64,
    /// Each call fails (5xx or 429, before or after the call) with this probability, in
    /// thousandths.
    pub permille: u16,
    /// Aimed faults, applied before the random ones.
    pub rules: Vec<FaultRule>,
    /// The local disk is full for the whole sync.
    pub disk_full: bool,
}

/// Where a sync is cut by a crash: at the `at`-th call the engine makes to Drive or to
/// change the local disk (1-based), before the call or after it took effect (its answer
/// lost). A sync that makes fewer calls is not cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashSpec {
    /// The call.
    pub at: u32,
    /// After the call took effect.
    pub after: bool,
}

/// A change made while a sync runs, right before the engine's `at`-th call (as counted for
/// [`CrashSpec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct During {
    /// The call it precedes.
    pub at: u32,
    /// The change ([`Step::Local`] or [`Step::Remote`]).
    pub op: Step,
}

/// How one sync runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncSpec {
    /// Seconds the clock moves on before this sync (0: the same second as the last one).
    pub advance: u32,
    /// Faults injected during it.
    pub faults: Option<FaultSpec>,
    /// A crash cutting it.
    pub crash: Option<CrashSpec>,
    /// Changes made while it runs.
    pub during: Vec<During>,
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The local user changes something.
    Local(LocalOp),
    /// Another device changes Drive.
    Remote(RemoteOp),
    /// A sync runs.
    Sync(SyncSpec),
}

impl Step {
    /// A plain sync one minute after the last.
    pub fn sync() -> Self {
        Step::Sync(SyncSpec {
            advance: 60,
            ..SyncSpec::default()
        })
    }
}

/// What each side holds now, for choosing paths: path -> kind. `remote` is by Drive names
/// under the pair's folder (the first of duplicates).
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The local tree (trash and partial files left out).
    pub local: BTreeMap<String, Kind>,
    /// The Drive tree (trashed files left out).
    pub remote: BTreeMap<String, Kind>,
}

/// Knobs of the generator.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Steps per case before the final quiescence.
    pub steps: usize,
    /// The names paths are made of: few, so changes collide often.
    pub names: Vec<String>,
    /// Deepest path (components).
    pub max_depth: usize,
    /// Above this many entries on a side, the generator stops creating there.
    pub max_entries: usize,
    /// Share of steps that are syncs (thousandths).
    pub sync_permille: u32,
    /// Share of syncs with faults (thousandths; 0 turns faults off).
    pub fault_permille: u32,
    /// Share of syncs cut by a crash (thousandths; 0 turns crashes off).
    pub crash_permille: u32,
    /// Share of syncs with changes made while they run (thousandths; 0 turns it off).
    pub during_permille: u32,
    /// Permanent deletes on Drive and duplicates there (R4-ish) are generated.
    pub drive_extras: bool,
    /// Share of local changes that are same-stamp edits (thousandths; level 1 only: on a
    /// real disk the test cannot make one within a coarse clock's tick of a sync).
    pub same_stamp_permille: u32,
    /// Share of steps that unplug the pair's disk for two syncs (thousandths).
    pub unmount_permille: u32,
    /// Half of those unplugs happen in the middle of a sync (where changes during a sync are
    /// generated). Off by default: an op that checked the folder just before the unplug
    /// still writes to the empty mount point, until local ops act through a handle of the
    /// folder opened when the sync starts (known bug, `tests/sim.rs`).
    pub unmount_during_sync: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            steps: 40,
            names: ["a", "b", "c.txt", "d.txt", "C.txt"]
                .map(String::from)
                .to_vec(),
            max_depth: 4,
            max_entries: 40,
            sync_permille: 220,
            fault_permille: 300,
            crash_permille: 200,
            during_permille: 150,
            drive_extras: true,
            unmount_permille: 8,
            same_stamp_permille: 40,
            unmount_during_sync: false,
        }
    }
}

/// Which side a helper works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

/// The generator. See the module docs.
#[derive(Debug, Clone)]
pub struct Gen {
    rng: ChaCha8Rng,
    cfg: GenConfig,
    version: u64,
    queue: VecDeque<Step>,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

fn parent_of(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

fn depth(p: &str) -> usize {
    if p.is_empty() {
        0
    } else {
        p.split('/').count()
    }
}

fn is_within(p: &str, dir: &str) -> bool {
    p == dir || (p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/')
}

impl Gen {
    /// A generator for case `seed`.
    pub fn new(seed: u64, cfg: GenConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            cfg,
            version: 0,
            queue: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GenConfig {
        &self.cfg
    }

    fn chance(&mut self, permille: u32) -> bool {
        self.rng.random_range(0..1000) < permille
    }

    fn text(&mut self, side: Side, path: &str) -> String {
        self.version += 1;
        let tag = if side == Side::Local { 'L' } else { 'D' };
        format!("{tag}{} {path}\n", self.version)
    }

    fn addition(&mut self, side: Side) -> String {
        self.version += 1;
        let tag = if side == Side::Local { 'l' } else { 'd' };
        format!("+{tag}{}\n", self.version)
    }

    fn tree(view: &View, side: Side) -> &BTreeMap<String, Kind> {
        match side {
            Side::Local => &view.local,
            Side::Remote => &view.remote,
        }
    }

    fn pick_entry(&mut self, view: &View, side: Side, kind: Option<Kind>) -> Option<String> {
        let all: Vec<&String> = Self::tree(view, side)
            .iter()
            .filter(|(_, k)| kind.is_none_or(|want| **k == want))
            .map(|(p, _)| p)
            .collect();
        all.choose(&mut self.rng).map(|p| (*p).clone())
    }

    fn folders(view: &View, side: Side) -> Vec<String> {
        let mut out = vec![String::new()];
        out.extend(
            Self::tree(view, side)
                .iter()
                .filter(|(_, k)| **k == Kind::Folder)
                .map(|(p, _)| p.clone()),
        );
        out
    }

    /// A name free in folder `parent` on `side`.
    fn free_name(&mut self, view: &View, side: Side, parent: &str) -> Option<String> {
        let tree = Self::tree(view, side);
        let free: Vec<String> = self
            .cfg
            .names
            .iter()
            .filter(|n| !tree.contains_key(&join(parent, n)))
            .cloned()
            .collect();
        free.choose(&mut self.rng).cloned()
    }

    /// A path where nothing is yet on `side`, sometimes a few new folders deep.
    fn fresh_path(&mut self, view: &View, side: Side) -> Option<String> {
        let folders: Vec<String> = Self::folders(view, side)
            .into_iter()
            .filter(|f| depth(f) < self.cfg.max_depth)
            .collect();
        let parent = folders.choose(&mut self.rng)?.clone();
        let mut path = join(&parent, &self.free_name(view, side, &parent)?);
        // Deep trees: go on below the new name.
        while depth(&path) < self.cfg.max_depth && self.chance(180) {
            let name = self.cfg.names.choose(&mut self.rng)?.clone();
            path = join(&path, &name);
        }
        Some(path)
    }

    /// A destination for moving `from` on `side`: another folder (not inside `from`) and/or
    /// another name; sometimes a case-only rename.
    fn move_target(&mut self, view: &View, side: Side, from: &str) -> Option<String> {
        let name = from.rsplit('/').next().unwrap_or(from).to_owned();
        if self.chance(60) {
            let upper = name.to_uppercase();
            let other = if upper != name {
                upper
            } else {
                name.to_lowercase()
            };
            let to = join(parent_of(from), &other);
            if other != name && !Self::tree(view, side).contains_key(&to) {
                return Some(to);
            }
        }
        let sub_depth = Self::tree(view, side)
            .keys()
            .filter(|p| is_within(p, from))
            .map(|p| depth(p) - depth(from))
            .max()
            .unwrap_or(0);
        let folders: Vec<String> = Self::folders(view, side)
            .into_iter()
            .filter(|f| !is_within(f, from))
            .filter(|f| depth(f) + 1 + sub_depth <= self.cfg.max_depth + 1)
            .collect();
        let parent = folders.choose(&mut self.rng)?.clone();
        let keep_name = parent != parent_of(from) && self.chance(500);
        let to = if keep_name {
            join(&parent, &name)
        } else {
            join(&parent, &self.free_name(view, side, &parent)?)
        };
        (!Self::tree(view, side).contains_key(&to)).then_some(to)
    }

    fn local_op(&mut self, view: &View) -> Option<LocalOp> {
        let full = view.local.len() >= self.cfg.max_entries;
        if self.cfg.same_stamp_permille > 0 && self.chance(self.cfg.same_stamp_permille) {
            let path = self.pick_entry(view, Side::Local, Some(Kind::File))?;
            let text = self.text(Side::Local, &path);
            return Some(LocalOp::EditSameStamp { path, text });
        }
        let roll = self.rng.random_range(0..100);
        let side = Side::Local;
        Some(match roll {
            0..=21 if !full => {
                let path = self.fresh_path(view, side)?;
                let text = self.text(side, &path);
                LocalOp::Write { path, text }
            }
            0..=36 => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.text(side, &path);
                LocalOp::Write { path, text }
            }
            37..=41 => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.text(side, &path);
                LocalOp::Save { path, text }
            }
            42..=47 => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.addition(side);
                LocalOp::Append { path, text }
            }
            48..=50 => LocalOp::Truncate {
                path: self.pick_entry(view, side, Some(Kind::File))?,
                len: self.rng.random_range(0..6),
            },
            51..=57 if !full => LocalOp::Mkdir {
                path: self.fresh_path(view, side)?,
            },
            51..=66 => LocalOp::Remove {
                path: self.pick_entry(view, side, None)?,
            },
            67..=85 => {
                let from = self.pick_entry(view, side, None)?;
                let to = self.move_target(view, side, &from)?;
                LocalOp::Move { from, to }
            }
            86..=90 => LocalOp::FileToFolder {
                path: self.pick_entry(view, side, Some(Kind::File))?,
            },
            91..=95 => {
                let path = self.pick_entry(view, side, Some(Kind::Folder))?;
                let text = self.text(side, &path);
                LocalOp::FolderToFile { path, text }
            }
            _ => {
                // An edit of a file in a folder, so folder deletes on the other side meet it.
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.addition(side);
                LocalOp::Append { path, text }
            }
        })
    }

    fn remote_op(&mut self, view: &View) -> Option<RemoteOp> {
        let full = view.remote.len() >= self.cfg.max_entries;
        let roll = self.rng.random_range(0..100);
        let side = Side::Remote;
        Some(match roll {
            0..=21 if !full => {
                let path = self.fresh_path(view, side)?;
                let text = self.text(side, &path);
                RemoteOp::Write { path, text }
            }
            0..=36 => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.text(side, &path);
                RemoteOp::Write { path, text }
            }
            37..=43 => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.addition(side);
                RemoteOp::Append { path, text }
            }
            44..=46 => RemoteOp::Truncate {
                path: self.pick_entry(view, side, Some(Kind::File))?,
                len: self.rng.random_range(0..6),
            },
            47..=53 if !full => RemoteOp::Mkdir {
                path: self.fresh_path(view, side)?,
            },
            47..=63 => RemoteOp::Trash {
                path: self.pick_entry(view, side, None)?,
            },
            64..=82 => {
                let from = self.pick_entry(view, side, None)?;
                let to = self.move_target(view, side, &from)?;
                RemoteOp::Move { from, to }
            }
            83..=87 => RemoteOp::FileToFolder {
                path: self.pick_entry(view, side, Some(Kind::File))?,
            },
            88..=92 => {
                let path = self.pick_entry(view, side, Some(Kind::Folder))?;
                let text = self.text(side, &path);
                RemoteOp::FolderToFile { path, text }
            }
            93..=95 if self.cfg.drive_extras && !full => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.text(side, &path);
                RemoteOp::Duplicate { path, text }
            }
            96 if self.cfg.drive_extras => RemoteOp::DeleteForever {
                path: self.pick_entry(view, side, None)?,
            },
            _ => {
                let path = self.pick_entry(view, side, Some(Kind::File))?;
                let text = self.text(side, &path);
                RemoteOp::Write { path, text }
            }
        })
    }

    /// A file present on both sides (synced, most likely).
    fn shared_file(&mut self, view: &View) -> Option<String> {
        let both: Vec<&String> = view
            .local
            .iter()
            .filter(|(p, k)| **k == Kind::File && view.remote.get(*p) == Some(&Kind::File))
            .map(|(p, _)| p)
            .collect();
        both.choose(&mut self.rng).map(|p| (*p).clone())
    }

    /// Two changes at once, one per side, on the same file: both edit it, or one side
    /// renames it while the other edits it, or one deletes it (or its folder) while the other
    /// edits it.
    fn collision(&mut self, view: &View) -> Option<(Step, Step)> {
        let path = self.shared_file(view)?;
        let local_edit = |g: &mut Self| {
            let text = g.text(Side::Local, &path);
            Step::Local(LocalOp::Write {
                path: path.clone(),
                text,
            })
        };
        let remote_edit = |g: &mut Self| {
            let text = g.text(Side::Remote, &path);
            Step::Remote(RemoteOp::Write {
                path: path.clone(),
                text,
            })
        };
        Some(match self.rng.random_range(0..6) {
            0 | 1 => (local_edit(self), remote_edit(self)),
            2 => {
                let to = self.move_target(view, Side::Local, &path)?;
                (
                    Step::Local(LocalOp::Move {
                        from: path.clone(),
                        to,
                    }),
                    remote_edit(self),
                )
            }
            3 => {
                let to = self.move_target(view, Side::Remote, &path)?;
                (
                    local_edit(self),
                    Step::Remote(RemoteOp::Move {
                        from: path.clone(),
                        to,
                    }),
                )
            }
            4 => {
                let victim = if self.chance(500) {
                    parent_of(&path).to_owned()
                } else {
                    path.clone()
                };
                if victim.is_empty() {
                    return None;
                }
                (
                    Step::Local(LocalOp::Remove { path: victim }),
                    remote_edit(self),
                )
            }
            _ => {
                let victim = if self.chance(500) {
                    parent_of(&path).to_owned()
                } else {
                    path.clone()
                };
                if victim.is_empty() {
                    return None;
                }
                (
                    local_edit(self),
                    Step::Remote(RemoteOp::Trash { path: victim }),
                )
            }
        })
    }

    fn fault_spec(&mut self) -> FaultSpec {
        let permille = *[0u16, 30, 100, 250].choose(&mut self.rng).unwrap_or(&0);
        let n = self.rng.random_range(0..3);
        let rules = (0..n)
            .map(|_| {
                let call = if self.chance(200) {
                    None
                } else {
                    RemoteCall::ALL.choose(&mut self.rng).copied()
                };
                let kind = *FaultKind::ALL
                    .choose(&mut self.rng)
                    .unwrap_or(&FaultKind::ServerError);
                FaultRule {
                    call,
                    kind,
                    after: self.chance(500),
                    count: self.rng.random_range(1..3),
                }
            })
            .collect();
        FaultSpec {
            seed: self.rng.random(),
            permille,
            rules,
            disk_full: self.chance(80),
        }
    }

    fn sync_spec(&mut self, view: &View) -> SyncSpec {
        let advance = *[0u32, 1, 7, 60, 60, 3600]
            .choose(&mut self.rng)
            .unwrap_or(&60);
        let faults = (self.cfg.fault_permille > 0 && self.chance(self.cfg.fault_permille))
            .then(|| self.fault_spec());
        let crash =
            (self.cfg.crash_permille > 0 && self.chance(self.cfg.crash_permille)).then(|| {
                CrashSpec {
                    at: self.rng.random_range(1..=40),
                    after: self.chance(500),
                }
            });
        let mut during = Vec::new();
        if self.cfg.during_permille > 0 && self.chance(self.cfg.during_permille) {
            for _ in 0..self.rng.random_range(1..=2) {
                let at = self.rng.random_range(1..=30);
                let op = if self.chance(500) {
                    self.local_op(view).map(Step::Local)
                } else {
                    self.remote_op(view).map(Step::Remote)
                };
                if let Some(op) = op {
                    during.push(During { at, op });
                }
            }
            during.sort_by_key(|d| d.at);
        }
        SyncSpec {
            advance,
            faults,
            crash,
            during,
        }
    }

    /// The next step, given what both sides hold now.
    pub fn next_step(&mut self, view: &View) -> Step {
        if let Some(s) = self.queue.pop_front() {
            return s;
        }
        if self.cfg.unmount_permille > 0 && self.chance(self.cfg.unmount_permille) {
            // Unplugged for two syncs (or from the middle of the first, where changes during
            // a sync are generated), with Drive changing meanwhile, then plugged back in.
            let unplug = Step::Local(LocalOp::Unmount);
            let mid_sync = self.cfg.unmount_during_sync && self.cfg.during_permille > 0;
            let first = if mid_sync && self.chance(500) {
                Step::Sync(SyncSpec {
                    advance: 60,
                    during: vec![During {
                        at: self.rng.random_range(1..=20),
                        op: unplug,
                    }],
                    ..SyncSpec::default()
                })
            } else {
                self.queue.push_back(Step::sync());
                unplug
            };
            if let Some(op) = self.remote_op(view) {
                self.queue.push_back(Step::Remote(op));
            }
            self.queue.push_back(Step::sync());
            self.queue.push_back(Step::Local(LocalOp::Mount));
            return first;
        }
        for _ in 0..20 {
            let roll = self.rng.random_range(0..1000);
            let sync = self.cfg.sync_permille;
            let step = if roll < sync {
                Some(Step::Sync(self.sync_spec(view)))
            } else if roll < sync + 70 {
                self.collision(view).map(|(a, b)| {
                    self.queue.push_back(b);
                    a
                })
            } else if roll < sync + 70 + (1000 - sync - 70) / 2 {
                self.local_op(view).map(Step::Local)
            } else {
                self.remote_op(view).map(Step::Remote)
            };
            if let Some(s) = step {
                return s;
            }
        }
        Step::sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_views_give_the_same_steps() {
        let mut view = View::default();
        view.local.insert("a".into(), Kind::Folder);
        view.local.insert("a/c.txt".into(), Kind::File);
        view.remote = view.local.clone();
        let run = |seed| {
            let mut g = Gen::new(seed, GenConfig::default());
            (0..200).map(|_| g.next_step(&view)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn moves_never_go_inside_themselves() {
        let mut view = View::default();
        for p in ["a", "a/b", "a/b/c.txt", "b"] {
            view.local.insert(p.into(), Kind::Folder);
        }
        let mut g = Gen::new(1, GenConfig::default());
        for _ in 0..500 {
            if let Some(to) = g.move_target(&view, Side::Local, "a") {
                assert!(!is_within(&to, "a"), "{to}");
            }
        }
    }
}
