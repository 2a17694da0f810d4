//! End-to-end sync scenarios: the real `drivesync` binary against an in-process drive-emulator,
//! with this test acting as a second device that changes Drive. Each scenario is a file
//! `tests/scenarios/<name>.scn` at the repository root, in the line language described in
//! `tests/scenarios/README.md`; each file is one test here, named like the file.
//!
//! Every `sync` step also checks the no-data-loss rule (every content present on either side
//! before the sync is, after it, on a side, in a trash, or a superseded synced version kept in
//! the history of a Drive file that still exists), and every scenario ends by checking that
//! both sides are the same, that Drive holds no unexpected duplicate names, that nothing was
//! written outside the pair, and that one more sync has nothing to do.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use drive_emulator::faults::FaultRule;
use drive_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultSpec, SnapshotFile};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use md5::{Digest, Md5};
use serde_json::{json, Value};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios");
/// The host name conflict copies carry (`DRIVESYNC_HOST` of the child).
const HOST: &str = "testhost";
const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
const APPS_PREFIX: &str = "application/vnd.google-apps.";
const DOC_MIME: &str = "application/vnd.google-apps.document";
const SHORTCUT_MIME: &str = "application/vnd.google-apps.shortcut";
/// The user the child runs as in `# unprivileged` scenarios when the tests run as root.
const NOBODY: u32 = 65534;
/// How long one `drivesync` run may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// drivesync's built-in ignore rules and link-file names, from the planner itself.
use drivesync_reconcile::{is_link_name, link_extension, BUILT_IN as BUILTIN_IGNORES};
/// Tags of the emulator fault rules used as request counters (they never fire a fault).
const COUNT_UPLOAD: &str = "count:upload";
const COUNT_RESUMABLE: &str = "count:resumable-start";
const COUNT_DOWNLOAD: &str = "count:download";
const HOLD_DOWNLOAD: &str = "hold:download";

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run(stringify!($name)).await
            }
        )*
        /// Every scenario that has a test.
        const LISTED: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios! {
    first_sync_merge,
    edit_local_to_drive,
    edit_drive_to_local,
    conflict_both_edited,
    delete_local_vs_edit_drive,
    delete_drive_vs_edit_local,
    deletes_propagate_to_trash,
    rename_move_local,
    rename_move_drive,
    folder_delete_keeps_changed_file,
    case_only_rename,
    odd_drive_names,
    drive_duplicates,
    docs_and_shortcuts,
    ignore_rules,
    delete_guard,
    change_during_download,
    unreadable_file,
    symlink_not_followed,
    resume_after_kill,
    kill_mid_sync_many_files,
    type_change,
    swap_names,
    conflicting_moves,
    move_and_edit_local,
    folder_rename_while_drive_adds,
    kill_mid_download,
    kill_mid_download_leaves_no_partial,
    repeated_conflicts,
    change_during_upload,
    move_there_edit_here,
    long_drive_name,
}

#[test]
fn every_scenario_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(SCENARIOS)
        .expect("tests/scenarios exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".scn").map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "add each tests/scenarios/*.scn to the scenarios! list in tests/scenarios.rs"
    );
}

async fn run(name: &str) {
    let path = Path::new(SCENARIOS).join(format!("{name}.scn"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let script = match parse(&text) {
        Ok(s) => s,
        Err(e) => panic!("{name}.scn: {e:#}"),
    };
    if let Some(why) = &script.known_bug {
        if std::env::var_os("SCENARIOS_RUN_KNOWN_BUGS").is_none() {
            println!(
                "SKIPPED {name}: known engine bug: {why} (SCENARIOS_RUN_KNOWN_BUGS=1 runs it)"
            );
            return;
        }
    }
    let started = Instant::now();
    let mut world = match World::new(name, &script).await {
        Ok(w) => w,
        Err(e) => panic!("{name}: setup failed: {e:#}"),
    };
    let result = world.run(&script).await;
    world.restore_permissions();
    if std::env::var_os("SCENARIOS_KEEP").is_some() {
        if let Some(t) = world.tmp.take() {
            println!("{name}: kept {}", t.keep().display());
        }
    }
    if let Err(e) = result {
        panic!(
            "scenario {name} failed: {e:#}\n\nlast drivesync run:\n{}",
            world.last_output
        );
    }
    println!("{name}: ok in {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// The language

#[derive(Debug, Default)]
struct Script {
    known_bug: Option<String>,
    unprivileged: bool,
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    line: usize,
    text: String,
    words: Vec<String>,
}

fn parse(text: &str) -> Result<Script> {
    let mut s = Script::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if let Some(why) = c.strip_prefix("known-bug:") {
                s.known_bug = Some(why.trim().to_owned());
            } else if c == "unprivileged" {
                s.unprivileged = true;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let words = tokens(line).with_context(|| format!("line {}: {line}", i + 1))?;
        s.steps.push(Step {
            line: i + 1,
            text: line.to_owned(),
            words,
        });
    }
    Ok(s)
}

/// Splits on white space; `"..."` quotes, with `\n`, `\t`, `\0`, `\\` and `\"` escapes.
fn tokens(line: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut t = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => bail!("unterminated quote"),
                    Some('"') => break,
                    Some('\\') => t.push(match chars.next() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('0') => '\0',
                        Some('\\') => '\\',
                        Some('"') => '"',
                        other => bail!("unknown escape \\{other:?}"),
                    }),
                    Some(c) => t.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                t.push(c);
                chars.next();
            }
        }
        out.push(t);
    }
}

/// A content argument: the text itself, or `@SIZE[:SEED]` for SIZE (`300K`, `20M`, bytes)
/// pseudo-random bytes.
fn content(spec: &str) -> Result<Vec<u8>> {
    let Some(rest) = spec.strip_prefix('@') else {
        return Ok(spec.as_bytes().to_vec());
    };
    let (size, seed) = rest.split_once(':').unwrap_or((rest, "1"));
    let n: u64 = match size.as_bytes().last() {
        Some(b'K') => size[..size.len() - 1].parse::<u64>()? << 10,
        Some(b'M') => size[..size.len() - 1].parse::<u64>()? << 20,
        _ => size.parse()?,
    };
    let mut x: u64 = seed.parse::<u64>()?.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n as usize);
    while (out.len() as u64) < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n as usize);
    Ok(out)
}

fn md5_hex(bytes: &[u8]) -> String {
    let d = Md5::digest(bytes);
    d.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn preview(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
    if bytes.len() > 40 {
        format!("{s:?}... ({} bytes)", bytes.len())
    } else {
        format!("{s:?}")
    }
}

fn parts(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn split_parent(path: &str) -> (String, String) {
    let p = parts(path);
    let (name, dir) = p.split_last().map_or(("", &[][..]), |(n, d)| (*n, d));
    (dir.join("/"), name.to_owned())
}

/// `a.txt` -> (`a`, `.txt`); a leading dot is not an extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// `name` is `orig` numbered for a duplicate: `a (2).txt` for `a.txt`.
fn is_numbered(name: &str, orig: &str) -> bool {
    let (stem, ext) = split_ext(orig);
    name.strip_prefix(stem)
        .and_then(|r| r.strip_suffix(ext))
        .and_then(|r| r.strip_prefix(" ("))
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2))
}

/// `name` is a conflict copy of `orig`: `a (conflict testhost 2026-11-23 101500[ N]).txt`.
fn is_conflict_copy(name: &str, orig: &str) -> bool {
    let (stem, ext) = split_ext(orig);
    let Some(mid) = name
        .strip_prefix(&format!("{stem} (conflict {HOST} "))
        .and_then(|r| r.strip_suffix(&format!("){ext}")))
    else {
        return false;
    };
    let w: Vec<&str> = mid.split(' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let date_ok = w.first().is_some_and(|d| {
        let d: Vec<&str> = d.split('-').collect();
        d.len() == 3 && digits(d[0], 4) && digits(d[1], 2) && digits(d[2], 2)
    });
    date_ok
        && w.get(1).is_some_and(|t| digits(t, 6))
        && (w.len() == 2 || (w.len() == 3 && w[2].parse::<u32>().is_ok()))
}

/// `name` is the local name of a Drive name longer than 255 bytes: the stem cut, then `~`
/// and 8 hex digits of the Drive name's MD5 before the extension.
fn is_shortened(name: &str, drive_name: &str) -> bool {
    let (stem, ext) = split_ext(drive_name);
    let tag = format!("~{}{ext}", &md5_hex(drive_name.as_bytes())[..8]);
    drive_name.len() > 255
        && name.len() <= 255
        && name
            .strip_suffix(&tag)
            .is_some_and(|cut| !cut.is_empty() && stem.starts_with(cut))
}

fn is_app(f: &SnapshotFile) -> bool {
    f.mime_type.starts_with(APPS_PREFIX) && f.mime_type != FOLDER_MIME
}

/// The local name of a Drive file on Linux (SEMANTICS.md section 6), before numbering.
fn local_name(f: &SnapshotFile) -> String {
    let mut n = match f.name.as_str() {
        "" => "(unnamed)".to_owned(),
        "." => "\u{FF0E}".to_owned(),
        ".." => "\u{FF0E}\u{FF0E}".to_owned(),
        s => s.replace('/', "\u{2215}").replace('\0', "\u{2400}"),
    };
    if is_app(f) {
        n.push_str(link_extension(&f.mime_type));
    }
    n
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Drive as the second device sees it

struct DriveView {
    files: HashMap<String, SnapshotFile>,
    kids: HashMap<String, Vec<String>>,
}

impl DriveView {
    fn new(emu: &EmulatorHandle) -> Self {
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
    fn children(&self, parent: &str, live: bool) -> Vec<&SnapshotFile> {
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
    fn at(&self, root: &str, path: &str) -> Result<Option<&SnapshotFile>> {
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
    fn trashed_at(&self, parent: &str, path: &[&str], trashed: bool) -> bool {
        let Some((name, rest)) = path.split_first() else {
            return trashed;
        };
        self.children(parent, false)
            .into_iter()
            .filter(|f| f.name == *name)
            .any(|f| self.trashed_at(&f.id, rest, trashed || f.trashed))
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing the two sides

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Dir,
    File(String),
    Link(String),
}

#[derive(Default)]
struct Compare {
    diffs: Vec<String>,
    /// `(md5, Drive id)` of the files equal on both sides.
    linked: Vec<(String, String)>,
}

#[derive(Clone, Copy, Default, Debug)]
struct Counters {
    uploads: u64,
    resumable_starts: u64,
    downloads: u64,
    device_uploads: u64,
}

struct World {
    name: String,
    emu: EmulatorHandle,
    tmp: Option<tempfile::TempDir>,
    dir: PathBuf,
    root: PathBuf,
    home: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    http: reqwest::Client,
    token: String,
    api: String,
    sync_root: String,
    as_nobody: bool,
    unreadable: BTreeSet<String>,
    allowed_dups: HashSet<(String, String)>,
    device_uploads: u64,
    held_downloads: u64,
    held_uploads: u64,
    mark: Counters,
    /// For each content (md5), the Drive files that held it while synced: a content replaced
    /// later stays in that file's revision history.
    history: HashMap<String, HashSet<String>>,
    previews: HashMap<String, String>,
    last_output: String,
    runs: u32,
}

fn running_as_root(dir: &Path) -> bool {
    let probe = dir.join(".uid-probe");
    let uid = std::fs::write(&probe, b"")
        .and_then(|()| std::fs::metadata(&probe))
        .map(|m| m.uid())
        .unwrap_or(1);
    let _ = std::fs::remove_file(&probe);
    uid == 0
}

impl World {
    async fn new(name: &str, script: &Script) -> Result<Self> {
        let emu = Emulator::start(EmulatorConfig::default()).await?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!("scn-{name}-"))
            .tempdir()?;
        let dir = tmp.path().to_owned();
        let as_nobody = script.unprivileged && running_as_root(&dir);
        let home = dir.join("home");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&logs)?;
        let config = common::write_config(&dir, &emu.base_url());
        let token = emu.mint_tokens(None)?.access_token;
        for (tag, method, path, query) in [
            (
                COUNT_RESUMABLE,
                "POST",
                "/upload/*",
                Some("uploadType=resumable"),
            ),
            (
                COUNT_RESUMABLE,
                "PATCH",
                "/upload/*",
                Some("uploadType=resumable"),
            ),
            (COUNT_UPLOAD, "*", "/upload/*", None),
            (
                COUNT_DOWNLOAD,
                "GET",
                "/drive/v3/files/*",
                Some("alt=media"),
            ),
        ] {
            emu.add_fault(FaultSpec {
                method: Some(method.into()),
                path: Some(path.into()),
                query_contains: query.map(Into::into),
                count: Some(u32::MAX),
                message: Some(tag.into()),
                ..Default::default()
            });
        }
        let mut w = World {
            name: name.to_owned(),
            api: emu.base_url(),
            emu,
            tmp: Some(tmp),
            root: dir.join("pair"),
            dir,
            home,
            config,
            logs,
            http: reqwest::Client::new(),
            token,
            sync_root: String::new(),
            as_nobody,
            unreadable: BTreeSet::new(),
            allowed_dups: HashSet::new(),
            device_uploads: 0,
            held_downloads: 0,
            held_uploads: 0,
            mark: Counters::default(),
            history: HashMap::new(),
            previews: HashMap::new(),
            last_output: String::new(),
            runs: 0,
        };
        std::fs::create_dir_all(&w.root)?;
        w.fix_permissions();
        common::login(w.cmd()).await.map_err(|e| anyhow!(e))?;
        let root = w.root.to_string_lossy().into_owned();
        let (code, _) = w.cli(&["pair", "add", &root, "/Sync"]).await?;
        ensure!(code == Some(0), "pair add failed");
        w.root = w.root.canonicalize()?;
        let view = DriveView::new(&w.emu);
        let my_drive = w.emu.snapshot().root_id;
        w.sync_root = view
            .at(&my_drive, "Sync")?
            .ok_or_else(|| anyhow!("pair add made no /Sync on Drive"))?
            .id
            .clone();
        w.mark = w.counters();
        Ok(w)
    }

    async fn run(&mut self, script: &Script) -> Result<()> {
        for step in &script.steps {
            self.step(&step.words)
                .await
                .with_context(|| format!("{}.scn line {}: {}", self.name, step.line, step.text))?;
        }
        let end =
            |what: &'static str| move || format!("{what} (checked at the end of every scenario)");
        self.expect_same().with_context(end("expect same"))?;
        self.expect_no_duplicates()
            .with_context(end("expect no-duplicates"))?;
        self.expect_outside_clean()
            .with_context(end("expect outside-clean"))?;
        let (code, out) = self.cli(&["sync", "--dry-run"]).await?;
        ensure!(
            code == Some(0) && out.contains("nothing to do"),
            "one more sync would still do something (checked at the end of every scenario)"
        );
        Ok(())
    }

    // -- the child ----------------------------------------------------------------------------

    fn cmd(&self) -> Command {
        let mut c = common::drivesync(&self.config);
        c.env("HOME", &self.home)
            .env("DRIVESYNC_HOST", HOST)
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .current_dir(&self.dir);
        if self.as_nobody {
            c.uid(NOBODY).gid(NOBODY);
        }
        c
    }

    fn spawn(&mut self, args: &[&str]) -> Result<(Child, PathBuf, PathBuf)> {
        self.fix_permissions();
        self.runs += 1;
        let out = self.logs.join(format!("{:03}.out", self.runs));
        let err = self.logs.join(format!("{:03}.err", self.runs));
        let child = self
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(&err)?)
            .spawn()
            .context("cannot start drivesync")?;
        self.last_output = format!("$ drivesync {}\n", args.join(" "));
        Ok((child, out, err))
    }

    /// Waits for `child` (killing it after [`CLI_TIMEOUT`]); returns its exit code and output.
    async fn finish(
        &mut self,
        mut child: Child,
        out: &Path,
        err: &Path,
    ) -> Result<(Option<i32>, String)> {
        let deadline = Instant::now() + CLI_TIMEOUT;
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.collect_output(out, err, None);
                bail!("drivesync did not finish in {CLI_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let text = self.collect_output(out, err, status.code());
        Ok((status.code(), text))
    }

    fn collect_output(&mut self, out: &Path, err: &Path, code: Option<i32>) -> String {
        let stdout = std::fs::read_to_string(out).unwrap_or_default();
        let stderr = std::fs::read_to_string(err).unwrap_or_default();
        let _ = write!(
            self.last_output,
            "--- exit {code:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        );
        format!("{stdout}{stderr}")
    }

    async fn cli(&mut self, args: &[&str]) -> Result<(Option<i32>, String)> {
        let (child, out, err) = self.spawn(args)?;
        self.finish(child, &out, &err).await
    }

    /// In `# unprivileged` scenarios run as root, the child is `nobody`: give it the folders.
    fn fix_permissions(&self) {
        if !self.as_nobody {
            return;
        }
        fn walk(p: &Path, skip: &BTreeSet<PathBuf>) {
            let Ok(m) = std::fs::symlink_metadata(p) else {
                return;
            };
            if m.file_type().is_symlink() || skip.contains(p) {
                return;
            }
            let mode = if m.is_dir() { 0o777 } else { 0o666 };
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
            if m.is_dir() {
                for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                    walk(&e.path(), skip);
                }
            }
        }
        let skip: BTreeSet<PathBuf> = self.unreadable.iter().map(|r| self.root.join(r)).collect();
        walk(&self.dir, &skip);
    }

    fn restore_permissions(&self) {
        for r in &self.unreadable {
            let p = self.root.join(r);
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
        }
    }

    fn counters(&self) -> Counters {
        let mut c = Counters {
            device_uploads: self.device_uploads,
            downloads: self.held_downloads,
            uploads: self.held_uploads,
            ..Default::default()
        };
        let faults = self
            .emu
            .shared()
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for f in faults.iter() {
            let used = u64::from(u32::MAX - f.remaining);
            match f.spec.message.as_deref() {
                Some(COUNT_RESUMABLE) => {
                    c.resumable_starts += used;
                    c.uploads += used;
                }
                Some(COUNT_UPLOAD) => c.uploads += used,
                Some(COUNT_DOWNLOAD) => c.downloads += used,
                _ => {}
            }
        }
        c
    }

    // -- the steps ----------------------------------------------------------------------------

    async fn step(&mut self, w: &[String]) -> Result<()> {
        let a: Vec<&str> = w.iter().map(String::as_str).collect();
        match a.as_slice() {
            ["local", rest @ ..] => self.local(rest),
            ["drive", rest @ ..] => self.drive(rest).await,
            ["sync"] => self.sync(&[], 0).await,
            ["sync", "expect-exit", n, args @ ..] => self.sync(args, n.parse()?).await,
            ["sync-kill-after", ms] => self.sync_kill(Some(ms.parse()?), None).await,
            ["sync-kill-after-uploads", n] => self.sync_kill(None, Some(n.parse()?)).await,
            ["sync-kill-mid-upload"] => self.sync_kill_mid_upload().await,
            ["sync-kill-mid-download"] => self.sync_kill_mid_download().await,
            ["sync-write-during-download", path, text] => {
                self.sync_write_during(false, path, &content(text)?).await
            }
            ["sync-write-during-upload", path, text] => {
                self.sync_write_during(true, path, &content(text)?).await
            }
            ["mark"] => {
                self.mark = self.counters();
                Ok(())
            }
            ["expect", rest @ ..] => self.expect(rest).await,
            _ => bail!("unknown step"),
        }
    }

    fn local(&mut self, a: &[&str]) -> Result<()> {
        let abs = |p: &str| self.root.join(p);
        match a {
            ["write", path, text] => write_file(&abs(path), &content(text)?),
            ["write-ignore", text] => write_file(&abs(".drivesyncignore"), text.as_bytes()),
            ["mkdir", path] => Ok(std::fs::create_dir_all(abs(path))?),
            ["rm", path] => {
                let p = abs(path);
                let m = std::fs::symlink_metadata(&p).with_context(|| format!("no {path} here"))?;
                if m.is_dir() {
                    std::fs::remove_dir_all(&p)?;
                } else {
                    std::fs::remove_file(&p)?;
                }
                Ok(())
            }
            ["mv", from, to] => {
                let to = abs(to);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                Ok(std::fs::rename(abs(from), to)?)
            }
            ["symlink", path, target] => Ok(std::os::unix::fs::symlink(target, abs(path))?),
            ["chmod000", path] => {
                ensure!(
                    self.as_nobody || !running_as_root(&self.dir),
                    "running as root, which reads everything: mark the scenario `# unprivileged`"
                );
                std::fs::set_permissions(abs(path), std::fs::Permissions::from_mode(0o000))?;
                self.unreadable.insert(path.to_string());
                Ok(())
            }
            ["write-sole", dir, text] => {
                let files: Vec<PathBuf> = std::fs::read_dir(abs(dir))?
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| e.path())
                    .collect();
                match files.as_slice() {
                    [one] => write_file(one, &content(text)?),
                    _ => bail!("{dir} holds {} files, not one", files.len()),
                }
            }
            ["write-many", dir, n] => {
                for i in 1..=n.parse::<u32>()? {
                    let p = format!("{dir}/f{i:02}.txt");
                    write_file(&abs(&p), format!("{p} v1").as_bytes())?;
                }
                Ok(())
            }
            ["rm-many", dir, n] => {
                for i in 1..=n.parse::<u32>()? {
                    std::fs::remove_file(abs(&format!("{dir}/f{i:02}.txt")))?;
                }
                Ok(())
            }
            _ => bail!("unknown local step"),
        }
    }

    async fn drive(&mut self, a: &[&str]) -> Result<()> {
        match a {
            ["write", path, text] => {
                let bytes = content(text)?;
                let view = DriveView::new(&self.emu);
                match view.at(&self.sync_root, path)? {
                    Some(f) if f.mime_type == FOLDER_MIME || is_app(f) => {
                        bail!("{path} on Drive is not a binary file")
                    }
                    Some(f) => {
                        let id = f.id.clone();
                        self.update_content(&id, bytes).await
                    }
                    None => {
                        let (dir, name) = split_parent(path);
                        let parent = self.ensure_folder(&dir).await?;
                        self.create_file(&parent, &name, bytes).await.map(drop)
                    }
                }
            }
            ["mkdir", path] => self.ensure_folder(path).await.map(drop),
            ["rm", path] => {
                let id = self.drive_id(path)?;
                self.patch(&id, &[], json!({"trashed": true})).await
            }
            ["mv", from, to] => {
                let view = DriveView::new(&self.emu);
                let f = view
                    .at(&self.sync_root, from)?
                    .ok_or_else(|| anyhow!("no {from} on Drive"))?
                    .clone();
                let (dir, name) = split_parent(to);
                let parent = self.ensure_folder(&dir).await?;
                let mut q = Vec::new();
                if f.parents.first() != Some(&parent) {
                    q.push(("addParents", parent));
                    q.push(("removeParents", f.parents.join(",")));
                }
                self.patch(&f.id, &q, json!({ "name": name })).await
            }
            ["doc", path] => {
                let (dir, name) = split_parent(path);
                let parent = self.ensure_folder(&dir).await?;
                self.create_meta(json!({"name": name, "parents": [parent], "mimeType": DOC_MIME}))
                    .await
                    .map(drop)
            }
            ["shortcut", path, target] => {
                let target = self.drive_id(target)?;
                let (dir, name) = split_parent(path);
                let parent = self.ensure_folder(&dir).await?;
                self.create_meta(json!({
                    "name": name, "parents": [parent], "mimeType": SHORTCUT_MIME,
                    "shortcutDetails": {"targetId": target}
                }))
                .await
                .map(drop)
            }
            ["dup", path, text] => {
                let (dir, name) = split_parent(path);
                let parent = self.ensure_folder(&dir).await?;
                self.create_file(&parent, &name, content(text)?).await?;
                self.allowed_dups.insert((parent, name));
                Ok(())
            }
            ["raw-name", folder, name, text] => {
                let parent = self.ensure_folder(folder).await?;
                self.create_file(&parent, name, content(text)?)
                    .await
                    .map(drop)
            }
            ["latency", ms] => {
                self.emu.set_latency(Duration::from_millis(ms.parse()?));
                Ok(())
            }
            _ => bail!("unknown drive step"),
        }
    }

    fn drive_id(&self, path: &str) -> Result<String> {
        Ok(DriveView::new(&self.emu)
            .at(&self.sync_root, path)?
            .ok_or_else(|| anyhow!("no {path} on Drive"))?
            .id
            .clone())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req.bearer_auth(&self.token).send().await?;
        let status = resp.status();
        let body = resp.text().await?;
        ensure!(status.is_success(), "Drive answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }

    async fn create_meta(&self, meta: Value) -> Result<String> {
        let v = self
            .send(
                self.http
                    .post(format!("{}/drive/v3/files", self.api))
                    .query(&[("fields", "id")])
                    .json(&meta),
            )
            .await?;
        Ok(v["id"].as_str().ok_or_else(|| anyhow!("no id"))?.to_owned())
    }

    async fn create_file(&mut self, parent: &str, name: &str, bytes: Vec<u8>) -> Result<String> {
        const B: &str = "scenario-boundary-5d1c0f2a9b";
        let meta = json!({"name": name, "parents": [parent]});
        let mut body = format!(
            "--{B}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n\
             --{B}\r\ncontent-type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        self.device_uploads += 1;
        let v = self
            .send(
                self.http
                    .post(format!("{}/upload/drive/v3/files", self.api))
                    .query(&[("uploadType", "multipart"), ("fields", "id")])
                    .header("content-type", format!("multipart/related; boundary={B}"))
                    .body(body),
            )
            .await?;
        Ok(v["id"].as_str().ok_or_else(|| anyhow!("no id"))?.to_owned())
    }

    async fn update_content(&mut self, id: &str, bytes: Vec<u8>) -> Result<()> {
        self.device_uploads += 1;
        self.send(
            self.http
                .patch(format!("{}/upload/drive/v3/files/{id}", self.api))
                .query(&[("uploadType", "media"), ("fields", "id")])
                .body(bytes),
        )
        .await
        .map(drop)
    }

    async fn patch(&self, id: &str, query: &[(&str, String)], meta: Value) -> Result<()> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("fields", "id".into()));
        self.send(
            self.http
                .patch(format!("{}/drive/v3/files/{id}", self.api))
                .query(&q)
                .json(&meta),
        )
        .await
        .map(drop)
    }

    /// The folder at `path` under the pair's Drive folder, created if missing.
    async fn ensure_folder(&self, path: &str) -> Result<String> {
        let mut id = self.sync_root.clone();
        for name in parts(path) {
            let view = DriveView::new(&self.emu);
            let found = view
                .children(&id, true)
                .into_iter()
                .find(|f| f.name == name && f.mime_type == FOLDER_MIME)
                .map(|f| f.id.clone());
            id = match found {
                Some(f) => f,
                None => {
                    self.create_meta(
                        json!({"name": name, "parents": [id], "mimeType": FOLDER_MIME}),
                    )
                    .await?
                }
            };
        }
        Ok(id)
    }

    // -- syncs and the no-data-loss rule ------------------------------------------------------

    async fn sync(&mut self, args: &[&str], expect: i32) -> Result<()> {
        let before = self.contents_on_sides()?;
        let mut all = vec!["sync"];
        all.extend_from_slice(args);
        let (code, _) = self.cli(&all).await?;
        ensure!(
            code == Some(expect),
            "drivesync sync exited with {code:?}, expected {expect}"
        );
        self.check_no_loss(&before, &[])?;
        self.record_history(&before)
    }

    /// SIGKILLs a `drivesync sync` after `ms` milliseconds, or once it has made `uploads`
    /// upload requests; it is an error if the sync finished first.
    async fn sync_kill(&mut self, ms: Option<u64>, uploads: Option<u64>) -> Result<()> {
        let before = self.contents_on_sides()?;
        let start = self.counters();
        let (mut child, out, err) = self.spawn(&["sync"])?;
        let t0 = Instant::now();
        loop {
            if child.try_wait()?.is_some() {
                let (code, _) = self.finish(child, &out, &err).await?;
                bail!(
                    "the sync finished (exit {code:?}) after {:?}, before the kill: slow it down \
                     (`drive latency`) or kill earlier",
                    t0.elapsed()
                );
            }
            let done = self.counters();
            let uploaded =
                (done.uploads - start.uploads) - (done.device_uploads - start.device_uploads);
            let due = ms.is_some_and(|ms| t0.elapsed() >= Duration::from_millis(ms))
                || uploads.is_some_and(|n| uploaded >= n);
            if due {
                break;
            }
            ensure!(t0.elapsed() < CLI_TIMEOUT, "the kill never became due");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill()?;
        let (code, _) = self.finish(child, &out, &err).await?;
        ensure!(code.is_none(), "the sync was not killed (exit {code:?})");
        let c = self.counters();
        println!(
            "{}: killed the sync after {:?} and {} upload requests",
            self.name,
            t0.elapsed(),
            (c.uploads - start.uploads) - (c.device_uploads - start.device_uploads)
        );
        self.check_no_loss(&before, &[])?;
        self.record_history(&before)
    }

    async fn sync_kill_mid_upload(&mut self) -> Result<()> {
        let before = self.contents_on_sides()?;
        let (mut child, out, err) = self.spawn(&["sync"])?;
        let deadline = Instant::now() + CLI_TIMEOUT;
        loop {
            if child.try_wait()?.is_some() {
                self.finish(child, &out, &err).await?;
                bail!("the sync finished before an upload was half done: use a bigger file or `drive latency`");
            }
            let under_way = self
                .emu
                .shared()
                .lock()
                .sessions
                .values()
                .any(|s| s.received > 0 && s.completed.is_none());
            if under_way {
                break;
            }
            ensure!(Instant::now() < deadline, "no resumable upload started");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill()?;
        let (code, _) = self.finish(child, &out, &err).await?;
        ensure!(code.is_none(), "the sync was not killed (exit {code:?})");
        self.check_no_loss(&before, &[])?;
        self.record_history(&before)
    }

    /// Puts a rule first that holds the next download `ms` milliseconds.
    fn hold_next_download(&self, ms: u64) {
        self.hold_next(ms, "GET", "/drive/v3/files/*", Some("alt=media"));
    }

    /// Puts a rule first that holds the next upload request `ms` milliseconds.
    fn hold_next_upload(&self, ms: u64) {
        self.hold_next(ms, "*", "/upload/*", None);
    }

    fn hold_next(&self, ms: u64, method: &str, path: &str, query: Option<&str>) {
        self.emu
            .shared()
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                0,
                FaultRule {
                    spec: FaultSpec {
                        method: Some(method.into()),
                        path: Some(path.into()),
                        query_contains: query.map(Into::into),
                        delay_ms: Some(ms),
                        message: Some(HOLD_DOWNLOAD.into()),
                        ..Default::default()
                    },
                    remaining: 1,
                },
            );
    }

    /// Starts `drivesync sync` and waits until the held request has reached the emulator.
    async fn sync_until_held(&mut self) -> Result<(Child, PathBuf, PathBuf)> {
        let held = |w: &World| {
            !w.emu
                .shared()
                .faults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|f| f.spec.message.as_deref() == Some(HOLD_DOWNLOAD))
        };
        let (mut child, out, err) = self.spawn(&["sync"])?;
        let deadline = Instant::now() + CLI_TIMEOUT;
        while !held(self) {
            if child.try_wait()?.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                self.finish(child, &out, &err).await?;
                bail!("the sync never made the held request");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((child, out, err))
    }

    /// Holds the next download (or upload) for 1.5 s, writes `path` locally while it is held,
    /// then waits. What `path` held before is the user's to lose; what they wrote is not.
    async fn sync_write_during(&mut self, upload: bool, path: &str, bytes: &[u8]) -> Result<()> {
        let before = self.contents_on_sides()?;
        if upload {
            self.hold_next_upload(1500);
        } else {
            self.hold_next_download(1500);
        }
        let (child, out, err) = self.sync_until_held().await?;
        if upload {
            self.held_uploads += 1;
        } else {
            self.held_downloads += 1;
        }
        let target = self.root.join(path);
        let replaced = std::fs::read(&target).ok().map(|b| md5_hex(&b));
        write_file(&target, bytes)?;
        let (code, _) = self.finish(child, &out, &err).await?;
        println!("{}: sync-write-during: exit {code:?}", self.name);
        ensure!(
            matches!(code, Some(0) | Some(4)),
            "drivesync sync exited with {code:?}, expected 0 or 4"
        );
        let md5 = md5_hex(bytes);
        self.previews.insert(md5.clone(), preview(bytes));
        let mut must_survive = before.clone();
        if let Some(old) = replaced {
            if before
                .get(&old)
                .is_some_and(|w| *w == format!("local {path}"))
            {
                must_survive.remove(&old);
            }
        }
        self.check_no_loss(
            &must_survive,
            &[(md5, format!("local {path} (written during the sync)"))],
        )?;
        self.record_history(&before)
    }

    /// SIGKILLs a `drivesync sync` while its first download is held by the emulator.
    async fn sync_kill_mid_download(&mut self) -> Result<()> {
        let before = self.contents_on_sides()?;
        self.hold_next_download(5000);
        let (mut child, out, err) = self.sync_until_held().await?;
        self.held_downloads += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        child.kill()?;
        let (code, _) = self.finish(child, &out, &err).await?;
        ensure!(code.is_none(), "the sync was not killed (exit {code:?})");
        self.check_no_loss(&before, &[])?;
        self.record_history(&before)
    }

    /// Every content (md5 -> where) on the local side (not in a trash, not link files) and
    /// on Drive (not trashed).
    fn contents_on_sides(&mut self) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        let mut previews = HashMap::new();
        walk_files(&self.root, "", &mut |rel, bytes| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            let skip = rel.starts_with(".drivesync-trash/")
                || name.starts_with(".drivesync-partial-")
                || is_link_name(name);
            if !skip {
                let m = md5_hex(bytes);
                previews.insert(m.clone(), preview(bytes));
                out.insert(m, format!("local {rel}"));
            }
        })?;
        self.previews.extend(previews);
        let view = DriveView::new(&self.emu);
        for f in view.files.values() {
            if let (false, Some(m)) = (f.trashed, &f.md5_checksum) {
                out.entry(m.clone())
                    .or_insert_with(|| format!("Drive {}", f.path.clone().unwrap_or_default()));
            }
        }
        Ok(out)
    }

    /// Every content anywhere: both sides, both trashes, trashed Drive files.
    fn contents_anywhere(&self) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        let mut add = |_: &str, bytes: &[u8]| {
            out.insert(md5_hex(bytes));
        };
        walk_files(&self.root, "", &mut add)?;
        walk_files(&self.home.join(".local/share/Trash/files"), "", &mut add)?;
        for f in DriveView::new(&self.emu).files.values() {
            if let Some(m) = &f.md5_checksum {
                out.insert(m.clone());
            }
        }
        Ok(out)
    }

    fn check_no_loss(
        &self,
        before: &HashMap<String, String>,
        extra: &[(String, String)],
    ) -> Result<()> {
        let after = self.contents_anywhere()?;
        let view = DriveView::new(&self.emu);
        let mut lost = Vec::new();
        for (m, whr) in before.iter().chain(extra.iter().map(|(m, w)| (m, w))) {
            if after.contains(m) {
                continue;
            }
            let in_history = self
                .history
                .get(m)
                .is_some_and(|ids| ids.iter().any(|id| view.files.contains_key(id)));
            if !in_history {
                lost.push(format!(
                    "{} (was at {whr})",
                    self.previews.get(m).cloned().unwrap_or_else(|| m.clone())
                ));
            }
        }
        lost.sort();
        ensure!(
            lost.is_empty(),
            "NO-DATA-LOSS violated: after the sync these contents are on no side, in no trash \
             and in no Drive file's history:\n  {}",
            lost.join("\n  ")
        );
        Ok(())
    }

    /// Records which Drive files now hold a synced version: the files equal on both sides,
    /// and the Drive files holding a content that was on the local side before the sync (so
    /// drivesync uploaded it). A Drive-side edit counts only once it reached the local side.
    fn record_history(&mut self, before: &HashMap<String, String>) -> Result<()> {
        let cmp = self.compare()?;
        for (m, id) in cmp.linked {
            self.history.entry(m).or_default().insert(id);
        }
        for f in DriveView::new(&self.emu).files.values() {
            if let Some(m) = &f.md5_checksum {
                if before.get(m).is_some_and(|w| w.starts_with("local ")) {
                    self.history
                        .entry(m.clone())
                        .or_default()
                        .insert(f.id.clone());
                }
            }
        }
        Ok(())
    }

    // -- comparing ----------------------------------------------------------------------------

    fn ignore_rules(&self) -> Result<Gitignore> {
        let mut b = GitignoreBuilder::new(&self.root);
        for l in BUILTIN_IGNORES {
            b.add_line(None, l)?;
        }
        if let Ok(text) = std::fs::read_to_string(self.root.join(".drivesyncignore")) {
            for l in text.lines() {
                let _ = b.add_line(None, l);
            }
        }
        Ok(b.build()?)
    }

    fn compare(&self) -> Result<Compare> {
        let view = DriveView::new(&self.emu);
        let gi = self.ignore_rules()?;
        let mut cmp = Compare::default();
        self.compare_dir("", &self.sync_root, &view, &gi, &mut cmp)?;
        Ok(cmp)
    }

    fn local_items(&self, rel: &str, gi: &Gitignore) -> Result<Vec<(String, Item)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.root.join(rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = join(rel, &name);
            let m = e.path().symlink_metadata()?;
            if m.file_type().is_symlink()
                || self.unreadable.contains(&path)
                || gi
                    .matched_path_or_any_parents(&path, m.is_dir())
                    .is_ignore()
            {
                continue;
            }
            let item = if m.is_dir() {
                Item::Dir
            } else {
                let bytes = std::fs::read(e.path())?;
                let doc = is_link_name(&name)
                    .then(|| serde_json::from_slice::<Value>(&bytes).ok())
                    .flatten()
                    .and_then(|v| v["doc_id"].as_str().map(str::to_owned));
                match doc {
                    Some(id) => Item::Link(id),
                    None => Item::File(md5_hex(&bytes)),
                }
            };
            out.push((name, item));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn compare_dir(
        &self,
        rel: &str,
        drive_id: &str,
        view: &DriveView,
        gi: &Gitignore,
        cmp: &mut Compare,
    ) -> Result<()> {
        let mut local: Vec<Option<(String, Item)>> =
            self.local_items(rel, gi)?.into_iter().map(Some).collect();
        let mut drive: Vec<Option<(String, &SnapshotFile, Item)>> = view
            .children(drive_id, true)
            .into_iter()
            .filter_map(|f| {
                let name = local_name(f);
                let is_dir = f.mime_type == FOLDER_MIME;
                let path = join(rel, &name);
                // Ignored paths, and unreadable local ones (skipped, so Drive keeps the
                // synced version), are not compared.
                if self.unreadable.contains(&path)
                    || gi.matched_path_or_any_parents(&path, is_dir).is_ignore()
                {
                    return None;
                }
                let item = if is_dir {
                    Item::Dir
                } else if is_app(f) {
                    Item::Link(f.id.clone())
                } else {
                    Item::File(f.md5_checksum.clone().unwrap_or_default())
                };
                Some(Some((name, f, item)))
            })
            .collect();
        let same = |a: &Item, b: &Item| match (a, b) {
            (Item::Dir, Item::Dir) => true,
            (x, y) => x == y,
        };
        let mut pairs: Vec<(String, &SnapshotFile, Item)> = Vec::new();
        // Pass 1: same name, same content; 2: numbered duplicate, same content; 3: same name.
        for pass in 0..3 {
            for d in drive.iter_mut() {
                let Some((dname, f, ditem)) = d.as_ref() else {
                    continue;
                };
                let found = local.iter().position(|l| {
                    l.as_ref().is_some_and(|(lname, litem)| match pass {
                        0 => lname == dname && same(litem, ditem),
                        1 => {
                            (is_numbered(lname, dname) || is_shortened(lname, &f.name))
                                && same(litem, ditem)
                        }
                        _ => lname == dname,
                    })
                });
                if let Some(i) = found {
                    let (lname, litem) = local[i].take().expect("found");
                    if !same(&litem, ditem) {
                        cmp.diffs.push(format!(
                            "{}: differs (local {litem:?}, Drive {ditem:?})",
                            join(rel, &lname)
                        ));
                    } else {
                        pairs.push((lname, f, ditem.clone()));
                    }
                    *d = None;
                }
            }
        }
        for (name, item) in local.into_iter().flatten() {
            cmp.diffs
                .push(format!("{}: only local ({item:?})", join(rel, &name)));
        }
        for (name, f, item) in drive.into_iter().flatten() {
            cmp.diffs.push(format!(
                "{}: only on Drive ({item:?}, Drive name {:?})",
                join(rel, &name),
                f.name
            ));
        }
        for (name, f, item) in pairs {
            match item {
                Item::Dir => self.compare_dir(&join(rel, &name), &f.id, view, gi, cmp)?,
                Item::File(m) => cmp.linked.push((m, f.id.clone())),
                Item::Link(_) => {}
            }
        }
        Ok(())
    }

    fn expect_same(&self) -> Result<()> {
        let cmp = self.compare()?;
        ensure!(
            cmp.diffs.is_empty(),
            "the local folder and Drive differ:\n  {}",
            cmp.diffs.join("\n  ")
        );
        Ok(())
    }

    fn expect_no_duplicates(&self) -> Result<()> {
        let view = DriveView::new(&self.emu);
        let mut dups = Vec::new();
        let mut pending = vec![(self.sync_root.clone(), String::new())];
        while let Some((id, path)) = pending.pop() {
            let kids = view.children(&id, true);
            for w in kids.windows(2) {
                if w[0].name == w[1].name
                    && !self.allowed_dups.contains(&(id.clone(), w[0].name.clone()))
                {
                    dups.push(join(&path, &w[0].name));
                }
            }
            for k in kids {
                if k.mime_type == FOLDER_MIME {
                    pending.push((k.id.clone(), join(&path, &k.name)));
                }
            }
        }
        dups.dedup();
        ensure!(dups.is_empty(), "duplicate names on Drive: {dups:?}");
        Ok(())
    }

    fn expect_outside_clean(&self) -> Result<()> {
        let known = ["pair", "home", "state", "logs", "config.toml"];
        let mut extra = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if !known.contains(&name.as_str()) {
                extra.push(name);
            }
        }
        ensure!(
            extra.is_empty(),
            "something was written next to the pair folder: {extra:?}"
        );
        Ok(())
    }

    // -- expectations -------------------------------------------------------------------------

    async fn expect(&mut self, a: &[&str]) -> Result<()> {
        match a {
            ["local", path, text] => {
                let want = content(text)?;
                let got = std::fs::read(self.root.join(path))
                    .with_context(|| format!("no local {path}"))?;
                ensure!(
                    got == want,
                    "local {path} holds {}, expected {}",
                    preview(&got),
                    preview(&want)
                );
            }
            ["local-missing", path] => {
                ensure!(
                    std::fs::symlink_metadata(self.root.join(path)).is_err(),
                    "local {path} exists"
                );
            }
            ["local-dir", path] => ensure!(self.root.join(path).is_dir(), "no local folder {path}"),
            ["local-link", path] => {
                let bytes = std::fs::read(self.root.join(path))
                    .with_context(|| format!("no local {path}"))?;
                let v: Value = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{path} is not a link file: {}", preview(&bytes)))?;
                let id = v["doc_id"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{path} has no doc_id"))?;
                ensure!(
                    v["url"].as_str().is_some_and(|u| u.contains(id)),
                    "{path} has no url to {id}"
                );
                ensure!(
                    DriveView::new(&self.emu).files.contains_key(id),
                    "{path} points to {id}, not on Drive"
                );
            }
            ["local-names", dir, names @ ..] => {
                let mut got: Vec<String> = std::fs::read_dir(self.root.join(dir))?
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".drivesync-trash")
                    .collect();
                got.sort();
                let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                want.sort();
                ensure!(got == want, "local {dir} holds {got:?}, expected {want:?}");
            }
            ["local-conflict", path, text] => {
                let want = content(text)?;
                let (dir, name) = split_parent(path);
                let mut seen = Vec::new();
                for e in std::fs::read_dir(self.root.join(&dir))? {
                    let e = e?;
                    let n = e.file_name().to_string_lossy().into_owned();
                    if is_conflict_copy(&n, &name) {
                        if std::fs::read(e.path())? == want {
                            return Ok(());
                        }
                        seen.push(n);
                    }
                }
                bail!(
                    "no local conflict copy of {path} holding {} (conflict copies: {seen:?})",
                    preview(&want)
                );
            }
            ["local-trash", path] => self.expect_local_trash(path)?,
            ["drive", path, text] => {
                let want = content(text)?;
                let view = DriveView::new(&self.emu);
                let f = view
                    .at(&self.sync_root, path)?
                    .ok_or_else(|| anyhow!("no {path} on Drive"))?;
                ensure!(
                    f.md5_checksum.as_deref() == Some(md5_hex(&want).as_str()),
                    "Drive {path} does not hold {}",
                    preview(&want)
                );
            }
            ["drive-missing", path] => {
                let view = DriveView::new(&self.emu);
                ensure!(
                    view.at(&self.sync_root, path)?.is_none(),
                    "Drive has {path}"
                );
            }
            ["drive-dir", path] => {
                let view = DriveView::new(&self.emu);
                ensure!(
                    view.at(&self.sync_root, path)?
                        .is_some_and(|f| f.mime_type == FOLDER_MIME),
                    "no folder {path} on Drive"
                );
            }
            ["drive-doc", path] => {
                let view = DriveView::new(&self.emu);
                ensure!(
                    view.at(&self.sync_root, path)?.is_some_and(is_app),
                    "no Google Doc or shortcut {path} on Drive"
                );
            }
            ["drive-trashed", path] => {
                let view = DriveView::new(&self.emu);
                ensure!(
                    view.trashed_at(&self.sync_root, &parts(path), false),
                    "{path} is not in Drive's trash"
                );
            }
            ["drive-trash-count", n] => {
                let view = DriveView::new(&self.emu);
                let got = view.files.values().filter(|f| f.trashed).count();
                ensure!(
                    got == n.parse::<usize>()?,
                    "Drive's trash holds {got} entries"
                );
            }
            ["drive-names", dir, names @ ..] => {
                let view = DriveView::new(&self.emu);
                let id = if parts(dir).is_empty() {
                    self.sync_root.clone()
                } else {
                    self.drive_id(dir)?
                };
                let mut got: Vec<String> = view
                    .children(&id, true)
                    .into_iter()
                    .map(|f| f.name.clone())
                    .collect();
                got.sort();
                let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                want.sort();
                ensure!(got == want, "Drive {dir} holds {got:?}, expected {want:?}");
            }
            ["drive-conflict", path, text] => {
                let want = md5_hex(&content(text)?);
                let (dir, name) = split_parent(path);
                let view = DriveView::new(&self.emu);
                let id = if dir.is_empty() {
                    self.sync_root.clone()
                } else {
                    self.drive_id(&dir)?
                };
                let found = view.children(&id, true).into_iter().any(|f| {
                    is_conflict_copy(&f.name, &name) && f.md5_checksum.as_deref() == Some(&want)
                });
                ensure!(
                    found,
                    "no conflict copy of {path} on Drive with that content"
                );
            }
            ["same"] => self.expect_same()?,
            ["no-duplicates"] => self.expect_no_duplicates()?,
            ["outside-clean"] => self.expect_outside_clean()?,
            ["conflicts", n] => {
                let (code, out) = self.cli(&["status"]).await?;
                ensure!(code == Some(0), "drivesync status failed");
                let got = out
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("conflicts:"))
                    .ok_or_else(|| anyhow!("status shows no conflicts line"))?
                    .trim()
                    .to_owned();
                ensure!(got == *n, "status shows {got} conflicts, expected {n}");
            }
            ["uploads", n] => {
                let c = self.counters();
                let got =
                    (c.uploads - self.mark.uploads) - (c.device_uploads - self.mark.device_uploads);
                ensure!(
                    got == n.parse::<u64>()?,
                    "drivesync made {got} upload requests since the mark, expected {n}"
                );
            }
            ["downloads", n] => {
                let got = self.counters().downloads - self.mark.downloads;
                ensure!(
                    got == n.parse::<u64>()?,
                    "drivesync made {got} download requests since the mark, expected {n}"
                );
            }
            ["resumable-starts", n] => {
                let got = self.counters().resumable_starts - self.mark.resumable_starts;
                ensure!(
                    got == n.parse::<u64>()?,
                    "drivesync started {got} resumable uploads since the mark, expected {n}"
                );
            }
            ["output", text] => {
                ensure!(
                    self.last_output.contains(text),
                    "the last drivesync output lacks {text:?}"
                );
            }
            _ => bail!("unknown expect step"),
        }
        Ok(())
    }

    fn expect_local_trash(&self, path: &str) -> Result<()> {
        let (dir, name) = split_parent(path);
        // The fallback: <pair>/.drivesync-trash/<stamp>/<path>, maybe numbered.
        let fallback = self.root.join(".drivesync-trash");
        for stamp in std::fs::read_dir(&fallback).into_iter().flatten().flatten() {
            for e in std::fs::read_dir(stamp.path().join(&dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                let n = e.file_name().to_string_lossy().into_owned();
                if n == name || is_numbered(&n, &name) {
                    return Ok(());
                }
            }
        }
        // The OS trash under the child's HOME: info/*.trashinfo name the original path.
        let want = self.root.join(path);
        let info = self.home.join(".local/share/Trash/info");
        for e in std::fs::read_dir(&info).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if text
                .lines()
                .filter_map(|l| l.strip_prefix("Path="))
                .any(|p| Path::new(&percent_decode(p)) == want)
            {
                return Ok(());
            }
        }
        bail!(
            "{path} is in neither the OS trash ({}) nor {}",
            info.display(),
            fallback.display()
        )
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Calls `f(relative path, content)` for every regular file under `dir` (symlinks not
/// followed; unreadable files skipped).
fn walk_files(dir: &Path, rel: &str, f: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = join(rel, &name);
        let m = e.path().symlink_metadata()?;
        if m.is_dir() {
            walk_files(&e.path(), &path, f)?;
        } else if m.is_file() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                f(&path, &bytes);
            }
        }
    }
    Ok(())
}
