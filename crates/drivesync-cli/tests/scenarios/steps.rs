//! The `local` and `drive` steps: what the user and the second device do.

use super::*;

impl World {
    pub(crate) fn local(&mut self, a: &[&str]) -> Result<()> {
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
                    .filter(|e| e.file_name() != drivesync_localfs::PAIR_MARKER)
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

    pub(crate) async fn drive(&mut self, a: &[&str]) -> Result<()> {
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

    pub(crate) fn drive_id(&self, path: &str) -> Result<String> {
        Ok(DriveView::new(&self.emu)
            .at(&self.sync_root, path)?
            .ok_or_else(|| anyhow!("no {path} on Drive"))?
            .id
            .clone())
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req.bearer_auth(&self.token).send().await?;
        let status = resp.status();
        let body = resp.text().await?;
        ensure!(status.is_success(), "Drive answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }

    pub(crate) async fn create_meta(&self, meta: Value) -> Result<String> {
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

    pub(crate) async fn create_file(
        &mut self,
        parent: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<String> {
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

    pub(crate) async fn update_content(&mut self, id: &str, bytes: Vec<u8>) -> Result<()> {
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

    pub(crate) async fn patch(
        &self,
        id: &str,
        query: &[(&str, String)],
        meta: Value,
    ) -> Result<()> {
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
    pub(crate) async fn ensure_folder(&self, path: &str) -> Result<String> {
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
}
