//! Metadata calls: `files.get`, `files.list`, folder creates, renames and moves, trash,
//! `files.generateIds` (with a pool for idempotent creates), `changes.*` and `about.get`.

use drivesync_auth::AccessTokenSource;
use drivesync_model::DriveId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::transport::Ctx;
use super::GoogleDrive;
use crate::error::FileRef;
use crate::fields;
use crate::model::{About, ChangeList, ChangeToken, File, FileList, PageToken, FOLDER_MIME};
use crate::store::{NewFile, Relocation};
use crate::DriveError;

/// A string literal in a `files.list` query.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `trashed = false and ('a' in parents or 'b' in parents)`.
pub(crate) fn children_query(parents: &[DriveId]) -> String {
    let terms: Vec<String> = parents
        .iter()
        .map(|p| format!("{} in parents", quote(p.as_str())))
        .collect();
    match terms.as_slice() {
        [one] => format!("{one} and trashed = false"),
        many => format!("({}) and trashed = false", many.join(" or ")),
    }
}

impl<T: AccessTokenSource> GoogleDrive<T> {
    /// `files.get` with `fields`.
    pub(super) async fn get_fields(&self, id: &DriveId, fields: &str) -> Result<File, DriveError> {
        let ctx = Ctx::new("files.get", Some(FileRef::from(id)));
        let url = self.file_url(id, "");
        self.transport
            .call_json(&ctx, || {
                Ok(self
                    .transport
                    .http()
                    .get(url.clone())
                    .query(&[("fields", fields)]))
            })
            .await
    }

    pub(super) async fn list_page_impl(
        &self,
        parents: &[DriveId],
        page: Option<&PageToken>,
    ) -> Result<FileList, DriveError> {
        if parents.is_empty() {
            return Ok(FileList::default());
        }
        let ctx = Ctx::new("files.list", parents.first().map(FileRef::from));
        let q = children_query(parents);
        let size = self.config.list_page_size.clamp(1, 1000).to_string();
        self.transport
            .call_json(&ctx, || {
                let mut rb = self.transport.http().get(self.files_url.clone()).query(&[
                    ("q", q.as_str()),
                    ("pageSize", size.as_str()),
                    ("spaces", "drive"),
                    ("fields", fields::FILE_LIST),
                ]);
                if let Some(t) = page {
                    rb = rb.query(&[("pageToken", t.as_str())]);
                }
                Ok(rb)
            })
            .await
    }

    /// A pre-generated id for a create, from the pool (refilled by one `generateIds` call per
    /// `id_batch` creates); `None` when idempotent creates are off.
    pub(super) async fn take_id(&self) -> Result<Option<DriveId>, DriveError> {
        if self.config.id_batch == 0 {
            return Ok(None);
        }
        let pooled = self.ids.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(id) = pooled {
            return Ok(Some(id));
        }
        // One refill at a time: concurrent creates wait for it instead of each fetching a batch.
        let _refill = self.refill.lock().await;
        let pooled = self.ids.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(id) = pooled {
            return Ok(Some(id));
        }
        let mut fresh = self.generate_ids_impl(self.config.id_batch).await?;
        let id = fresh.pop();
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fresh);
        Ok(id)
    }

    /// After `409 fileIdInUse` for `id`: the file an earlier try of this create made, if it
    /// is the one asked for (`same` checks content); otherwise `err`.
    pub(super) async fn adopt(
        &self,
        id: &DriveId,
        new: &NewFile,
        err: DriveError,
        same: impl Fn(&File) -> bool + Send,
    ) -> Result<File, DriveError> {
        let f = self.get_fields(id, fields::FILE).await?;
        let parent_ok = new.parent.as_str() == "root" || f.parents.contains(&new.parent);
        if f.name == new.name && parent_ok && !f.trashed && same(&f) {
            tracing::debug!(%id, "create already done by an earlier try");
            Ok(f)
        } else {
            Err(err)
        }
    }

    /// `e` says a pooled id (`pooled`) is not usable (it expired, or the Drive was reset):
    /// the pool is emptied so the create can retry with a fresh id.
    pub(super) fn stale_pooled_id(&self, e: &DriveError, pooled: bool) -> bool {
        let stale = pooled
            && matches!(e, DriveError::Api { status: 400, reason, .. } if reason == "fileIdNotUsable");
        if stale {
            tracing::debug!("pre-generated ids expired: fetching new ones");
            self.ids.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        stale
    }

    pub(super) async fn create_folder_impl(&self, new: &NewFile) -> Result<File, DriveError> {
        let mut retried = false;
        loop {
            let id = match &new.id {
                Some(id) => Some(id.clone()),
                None => self.take_id().await?,
            };
            let mut meta =
                json!({"name": new.name, "mimeType": FOLDER_MIME, "parents": [new.parent]});
            if let Some(id) = &id {
                meta["id"] = json!(id);
            }
            let ctx = Ctx::new("files.create", Some(FileRef::Name(new.name.clone())));
            let done = self
                .transport
                .call_json(&ctx, || {
                    Ok(self
                        .transport
                        .http()
                        .post(self.files_url.clone())
                        .query(&[("fields", fields::FILE)])
                        .json(&meta))
                })
                .await;
            return match (done, &id) {
                (Err(e), _) if !retried && self.stale_pooled_id(&e, new.id.is_none()) => {
                    retried = true;
                    continue;
                }
                (Err(e @ DriveError::Api { status: 409, .. }), Some(id)) => {
                    self.adopt(id, new, e, File::is_folder).await
                }
                (r, _) => r,
            };
        }
    }

    /// `files.update` of metadata (plus `addParents`/`removeParents`).
    async fn patch(
        &self,
        op: &'static str,
        id: &DriveId,
        body: &Value,
        query: &[(&str, &str)],
    ) -> Result<File, DriveError> {
        let ctx = Ctx::new(op, Some(FileRef::from(id)));
        let url = self.file_url(id, "");
        self.transport
            .call_json(&ctx, || {
                Ok(self
                    .transport
                    .http()
                    .patch(url.clone())
                    .query(&[("fields", fields::FILE)])
                    .query(query)
                    .json(body))
            })
            .await
    }

    pub(super) async fn relocate_impl(
        &self,
        id: &DriveId,
        to: &Relocation,
    ) -> Result<File, DriveError> {
        let mut body = json!({});
        if let Some(name) = &to.name {
            body["name"] = json!(name);
        }
        let mut query = Vec::new();
        if let Some(p) = &to.parent {
            query.push(("addParents", p.to.as_str()));
            query.push(("removeParents", p.from.as_str()));
        }
        self.patch("files.update (move)", id, &body, &query).await
    }

    pub(super) async fn set_trashed(
        &self,
        id: &DriveId,
        trashed: bool,
    ) -> Result<File, DriveError> {
        let op = if trashed {
            "files.update (trash)"
        } else {
            "files.update (untrash)"
        };
        self.patch(op, id, &json!({ "trashed": trashed }), &[])
            .await
    }

    pub(super) async fn generate_ids_impl(&self, count: u32) -> Result<Vec<DriveId>, DriveError> {
        #[derive(Deserialize)]
        struct Ids {
            ids: Vec<DriveId>,
        }
        let ctx = Ctx::new("files.generateIds", None);
        let count = count.clamp(1, 1000).to_string();
        let url = self.api("files/generateIds");
        let ids: Ids = self
            .transport
            .call_json(&ctx, || {
                Ok(self.transport.http().get(url.clone()).query(&[
                    ("count", count.as_str()),
                    ("space", "drive"),
                    ("type", "files"),
                    ("fields", fields::GENERATED_IDS),
                ]))
            })
            .await?;
        Ok(ids.ids)
    }

    pub(super) async fn start_page_token_impl(&self) -> Result<ChangeToken, DriveError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Start {
            start_page_token: ChangeToken,
        }
        let ctx = Ctx::new("changes.getStartPageToken", None);
        let url = self.api("changes/startPageToken");
        let s: Start = self
            .transport
            .call_json(&ctx, || {
                Ok(self
                    .transport
                    .http()
                    .get(url.clone())
                    .query(&[("fields", fields::START_PAGE_TOKEN)]))
            })
            .await?;
        Ok(s.start_page_token)
    }

    pub(super) async fn changes_page_impl(
        &self,
        token: &ChangeToken,
    ) -> Result<ChangeList, DriveError> {
        let ctx = Ctx::new("changes.list", None);
        let url = self.api("changes");
        let size = self.config.changes_page_size.clamp(1, 1000).to_string();
        self.transport
            .call_json(&ctx, || {
                Ok(self.transport.http().get(url.clone()).query(&[
                    ("pageToken", token.as_str()),
                    ("pageSize", size.as_str()),
                    ("includeRemoved", "true"),
                    ("spaces", "drive"),
                    ("fields", fields::CHANGE_LIST),
                ]))
            })
            .await
    }

    pub(super) async fn about_impl(&self) -> Result<About, DriveError> {
        let ctx = Ctx::new("about.get", None);
        let url = self.api("about");
        self.transport
            .call_json(&ctx, || {
                Ok(self
                    .transport
                    .http()
                    .get(url.clone())
                    .query(&[("fields", fields::ABOUT)]))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_ids_and_batch_parents() {
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(
            children_query(&[DriveId::new("A")]),
            "'A' in parents and trashed = false"
        );
        assert_eq!(
            children_query(&[DriveId::new("A"), DriveId::new("B")]),
            "('A' in parents or 'B' in parents) and trashed = false"
        );
    }
}
