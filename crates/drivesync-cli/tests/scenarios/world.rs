//! One running scenario: the emulator, the pair's folders, the `drivesync` child processes
//! it runs, and the dispatch of each step.

use super::*;

/// Request counts read from the emulator's counting rules.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Counters {
    pub(crate) uploads: u64,
    pub(crate) resumable_starts: u64,
    pub(crate) downloads: u64,
    pub(crate) device_uploads: u64,
}

/// A scenario's world: the emulator, the pair's folders, the second device's Drive client,
/// and what the checks remember between steps.
pub(crate) struct World {
    pub(crate) name: String,
    pub(crate) emu: EmulatorHandle,
    pub(crate) tmp: Option<tempfile::TempDir>,
    pub(crate) dir: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) logs: PathBuf,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    pub(crate) api: String,
    pub(crate) sync_root: String,
    pub(crate) as_nobody: bool,
    pub(crate) unreadable: BTreeSet<String>,
    pub(crate) allowed_dups: HashSet<(String, String)>,
    pub(crate) device_uploads: u64,
    pub(crate) held_downloads: u64,
    pub(crate) held_uploads: u64,
    pub(crate) mark: Counters,
    /// For each content (md5), the Drive files that held it while synced: a content replaced
    /// later stays in that file's revision history.
    pub(crate) history: HashMap<String, HashSet<String>>,
    pub(crate) previews: HashMap<String, String>,
    pub(crate) last_output: String,
    pub(crate) runs: u32,
}

pub(crate) fn running_as_root(dir: &Path) -> bool {
    let probe = dir.join(".uid-probe");
    let uid = std::fs::write(&probe, b"")
        .and_then(|()| std::fs::metadata(&probe))
        .map(|m| m.uid())
        .unwrap_or(1);
    let _ = std::fs::remove_file(&probe);
    uid == 0
}

impl World {
    pub(crate) async fn new(name: &str, script: &Script) -> Result<Self> {
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

    pub(crate) async fn run(&mut self, script: &Script) -> Result<()> {
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

    pub(crate) fn cmd(&self) -> Command {
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

    pub(crate) fn spawn(&mut self, args: &[&str]) -> Result<(Child, PathBuf, PathBuf)> {
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
    pub(crate) async fn finish(
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

    pub(crate) fn collect_output(&mut self, out: &Path, err: &Path, code: Option<i32>) -> String {
        let stdout = std::fs::read_to_string(out).unwrap_or_default();
        let stderr = std::fs::read_to_string(err).unwrap_or_default();
        let _ = write!(
            self.last_output,
            "--- exit {code:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        );
        format!("{stdout}{stderr}")
    }

    pub(crate) async fn cli(&mut self, args: &[&str]) -> Result<(Option<i32>, String)> {
        let (child, out, err) = self.spawn(args)?;
        self.finish(child, &out, &err).await
    }

    /// In `# unprivileged` scenarios run as root, the child is `nobody`: give it the folders.
    pub(crate) fn fix_permissions(&self) {
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
        // The token file must stay private (drivesync refuses one others can read): it is
        // given to the child instead.
        let tokens = self.dir.join("state/tokens.json");
        if tokens.exists() {
            let _ = std::os::unix::fs::chown(&tokens, Some(NOBODY), Some(NOBODY));
            let _ = std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600));
        }
    }

    pub(crate) fn restore_permissions(&self) {
        for r in &self.unreadable {
            let p = self.root.join(r);
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
        }
    }

    pub(crate) fn counters(&self) -> Counters {
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

    pub(crate) async fn step(&mut self, w: &[String]) -> Result<()> {
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
}
