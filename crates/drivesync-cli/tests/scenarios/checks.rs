//! What every sync and every scenario checks: no data loss, both sides the same, no
//! duplicates, nothing outside the pair, and the `expect` steps.

use super::*;

/// One entry as the comparison sees it (content md5s, link targets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Dir,
    File(String),
    Link(String),
}

/// The two sides compared: what differs, and which files are linked.
#[derive(Default)]
pub(crate) struct Compare {
    pub(crate) diffs: Vec<String>,
    /// `(md5, Drive id)` of the files equal on both sides.
    pub(crate) linked: Vec<(String, String)>,
}

impl World {
    /// Every content (md5 -> where) on the local side (not in a trash, not link files) and
    /// on Drive (not trashed).
    pub(crate) fn contents_on_sides(&mut self) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        let mut previews = HashMap::new();
        walk_files(&self.root, "", &mut |rel, bytes| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            let skip = rel.starts_with(".drivesync-trash/")
                || rel == ".drivesync-pair"
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
    pub(crate) fn contents_anywhere(&self) -> Result<HashSet<String>> {
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

    pub(crate) fn check_no_loss(
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
    pub(crate) fn record_history(&mut self, before: &HashMap<String, String>) -> Result<()> {
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

    pub(crate) fn ignore_rules(&self) -> Result<Gitignore> {
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

    pub(crate) fn compare(&self) -> Result<Compare> {
        let view = DriveView::new(&self.emu);
        let gi = self.ignore_rules()?;
        let mut cmp = Compare::default();
        self.compare_dir("", &self.sync_root, &view, &gi, &mut cmp)?;
        Ok(cmp)
    }

    pub(crate) fn local_items(&self, rel: &str, gi: &Gitignore) -> Result<Vec<(String, Item)>> {
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

    pub(crate) fn compare_dir(
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

    pub(crate) fn expect_same(&self) -> Result<()> {
        let cmp = self.compare()?;
        ensure!(
            cmp.diffs.is_empty(),
            "the local folder and Drive differ:\n  {}",
            cmp.diffs.join("\n  ")
        );
        Ok(())
    }

    pub(crate) fn expect_no_duplicates(&self) -> Result<()> {
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

    pub(crate) fn expect_outside_clean(&self) -> Result<()> {
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

    pub(crate) async fn expect(&mut self, a: &[&str]) -> Result<()> {
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
                    .filter(|n| n != ".drivesync-trash" && n != ".drivesync-pair")
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

    pub(crate) fn expect_local_trash(&self, path: &str) -> Result<()> {
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

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Calls `f(relative path, content)` for every regular file under `dir` (symlinks not
/// followed; unreadable files skipped).
pub(crate) fn walk_files(dir: &Path, rel: &str, f: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
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
