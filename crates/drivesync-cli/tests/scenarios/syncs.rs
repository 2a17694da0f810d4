//! The `sync` steps: plain runs, runs killed part-way, and changes made while a transfer
//! is held.

use super::*;

impl World {
    pub(crate) async fn sync(&mut self, args: &[&str], expect: i32) -> Result<()> {
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
    pub(crate) async fn sync_kill(&mut self, ms: Option<u64>, uploads: Option<u64>) -> Result<()> {
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

    pub(crate) async fn sync_kill_mid_upload(&mut self) -> Result<()> {
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
    pub(crate) fn hold_next_download(&self, ms: u64) {
        self.hold_next(ms, "GET", "/drive/v3/files/*", Some("alt=media"));
    }

    /// Puts a rule first that holds the next upload request `ms` milliseconds.
    pub(crate) fn hold_next_upload(&self, ms: u64) {
        self.hold_next(ms, "*", "/upload/*", None);
    }

    pub(crate) fn hold_next(&self, ms: u64, method: &str, path: &str, query: Option<&str>) {
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
    pub(crate) async fn sync_until_held(&mut self) -> Result<(Child, PathBuf, PathBuf)> {
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
    pub(crate) async fn sync_write_during(
        &mut self,
        upload: bool,
        path: &str,
        bytes: &[u8],
    ) -> Result<()> {
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
    pub(crate) async fn sync_kill_mid_download(&mut self) -> Result<()> {
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
}
