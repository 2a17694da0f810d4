//! Drive's rules for changing files, on top of [`State`]: parents, trash propagation, quota,
//! shortcuts, pre-generated ids. Pure state changes; content blobs are written by the caller
//! beforehand and the blobs these functions retire are returned for deletion.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::blobs::random_id;
use crate::error::{ApiError, ApiResult};
use crate::meta::FileMeta;
use crate::model::{Content, FileRecord, FOLDER_MIME, SHORTCUT_MIME};
use crate::state::{Op, State};

/// The name of the one shared zero-byte blob (metadata-only binary files).
pub const EMPTY_BLOB: &str = "empty";
/// MD5 of no bytes.
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Content received for a create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContent {
    /// Committed blob name.
    pub blob: String,
    /// Length.
    pub size: u64,
    /// Hex MD5.
    pub md5: String,
    /// The media's `Content-Type`, if the request gave one.
    pub mime: Option<String>,
}

impl NewContent {
    fn into_content(self) -> Content {
        Content {
            blob: self.blob,
            size: self.size,
            md5: self.md5,
            sha1: None,
            sha256: None,
            revision: random_id(51),
        }
    }
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::backend(e)
}

fn forbidden(reason: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, reason, message)
}

/// 403 `storageQuotaExceeded` if `extra` more bytes do not fit.
pub fn check_quota(s: &State, extra: u64) -> ApiResult<()> {
    if s.usage().saturating_add(extra) > s.quota_limit {
        return Err(forbidden(
            "storageQuotaExceeded",
            "The user's Drive storage quota has been exceeded.",
        ));
    }
    Ok(())
}

fn check_parent<'a>(s: &'a State, id: &str) -> ApiResult<&'a FileRecord> {
    let p = s.file(id).ok_or_else(|| ApiError::file_not_found(id))?;
    if !p.is_folder() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("The specified parent is not a folder: {id}."),
        ));
    }
    Ok(p)
}

/// `files.create` (and copy): stores a new file. Returns it and the blobs to delete (content
/// sent for a type that has none). On error the caller still owns the content blob it passed.
pub fn create(
    s: &mut State,
    meta: FileMeta,
    content: Option<NewContent>,
    now: DateTime<Utc>,
) -> ApiResult<(FileRecord, Vec<String>)> {
    let id = match meta.id {
        Some(id) if s.file(&id).is_some() => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "fileIdInUse",
                "A file already exists with the provided ID.",
            ))
        }
        Some(id) if !s.is_reserved(&id) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "fileIdNotUsable",
                "The provided file ID is not usable.",
            )
            .at_param("id"))
        }
        Some(id) => id,
        None => random_id(33),
    };
    let parents = meta.parents.unwrap_or_else(|| vec![s.root_id.clone()]);
    if parents.len() > 1 {
        return Err(forbidden(
            "cannotAddParent",
            "Increasing the number of parents is not allowed.",
        ));
    }
    let parents: Vec<String> = parents.iter().map(|p| s.resolve(p).to_owned()).collect();
    let parent_trashed = match parents.first() {
        Some(p) => check_parent(s, p)?.trashed,
        None => false,
    };
    let mime = meta
        .mime_type
        .or_else(|| content.as_ref().and_then(|c| c.mime.clone()))
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut rec = s.new_record(
        id,
        meta.name.as_deref().unwrap_or("Untitled"),
        &mime,
        parents,
        now,
    );
    let mut retired = Vec::new();
    if rec.is_google_type() {
        retired.extend(content.map(|c| c.blob));
        if mime == SHORTCUT_MIME {
            let target = meta.shortcut_target.ok_or_else(|| {
                ApiError::bad_request("A shortcut needs shortcutDetails.targetId.")
            })?;
            let t = s
                .file(&target)
                .ok_or_else(|| ApiError::file_not_found(&target))?;
            rec.shortcut_target = Some((t.id.clone(), t.mime_type.clone()));
        }
    } else {
        let c = content.unwrap_or_else(|| NewContent {
            blob: EMPTY_BLOB.into(),
            size: 0,
            md5: EMPTY_MD5.into(),
            mime: None,
        });
        check_quota(s, c.size)?;
        rec.content = Some(c.into_content());
    }
    rec.created_time = meta.created_time.unwrap_or(now);
    rec.modified_time = meta.modified_time.unwrap_or(now);
    rec.description = meta.description.flatten();
    rec.starred = meta.starred.unwrap_or(false);
    rec.explicitly_trashed = meta.trashed.unwrap_or(false);
    rec.trashed = rec.explicitly_trashed || parent_trashed;
    rec.original_filename = meta
        .original_filename
        .or_else(|| rec.content.as_ref().map(|_| rec.name.clone()));
    merge_props(&mut rec.properties, meta.properties);
    merge_props(&mut rec.app_properties, meta.app_properties);
    s.commit(Op::PutFile {
        file: rec.clone(),
        change: Some(now),
    })
    .map_err(io)?;
    Ok((rec, retired))
}

fn merge_props(
    into: &mut std::collections::BTreeMap<String, String>,
    changes: std::collections::BTreeMap<String, Option<String>>,
) {
    for (k, v) in changes {
        match v {
            Some(v) => into.insert(k, v),
            None => into.remove(&k),
        };
    }
}

/// A `files.update`: metadata, parents and optionally content. Returns the file and the blobs
/// to delete. On error the caller still owns (and deletes) the content blob it passed.
pub fn update(
    s: &mut State,
    id: &str,
    meta: FileMeta,
    add_parents: &[String],
    remove_parents: &[String],
    content: Option<NewContent>,
    now: DateTime<Utc>,
) -> ApiResult<(FileRecord, Vec<String>)> {
    let mut rec = s
        .file(id)
        .cloned()
        .ok_or_else(|| ApiError::file_not_found(id))?;
    let is_root = rec.id == s.root_id;
    if is_root
        && (meta != FileMeta::default()
            || !add_parents.is_empty()
            || !remove_parents.is_empty()
            || content.is_some())
    {
        return Err(forbidden(
            "insufficientFilePermissions",
            "The user does not have sufficient permissions for this file.",
        ));
    }
    let mut retired = Vec::new();
    if !add_parents.is_empty() || !remove_parents.is_empty() {
        let removes: Vec<&str> = remove_parents.iter().map(|p| s.resolve(p)).collect();
        let mut parents: Vec<String> = rec
            .parents
            .iter()
            .filter(|p| !removes.contains(&p.as_str()))
            .cloned()
            .collect();
        for p in add_parents {
            let p = s.resolve(p).to_owned();
            check_parent(s, &p)?;
            if s.is_within(&p, &rec.id) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "A folder cannot be moved into itself or one of its descendants.",
                ));
            }
            if !parents.contains(&p) {
                parents.push(p);
            }
        }
        if parents.len() > 1 {
            return Err(forbidden(
                "cannotAddParent",
                "Increasing the number of parents is not allowed.",
            ));
        }
        if parents.is_empty() {
            return Err(forbidden(
                "cannotRemoveParent",
                "A file must keep one parent: add a new parent when removing the last one.",
            ));
        }
        rec.parents = parents;
    }
    if let Some(m) = &meta.mime_type {
        if (*m == FOLDER_MIME) != rec.is_folder() || (rec.is_google_type() && *m != rec.mime_type) {
            return Err(forbidden(
                "cannotChangeMimeType",
                "The MIME type of this file cannot be changed to the one given.",
            ));
        }
        rec.mime_type = m.clone();
    }
    if let Some(c) = content {
        if rec.is_google_type() {
            return Err(ApiError::bad_request(
                "Only files with binary content can be updated with media.",
            ));
        }
        let old = rec.content.as_ref().map_or(0, |c| c.size);
        check_quota(s, c.size.saturating_sub(old))?;
        if let Some(m) = &c.mime {
            if meta.mime_type.is_none() {
                rec.mime_type = m.clone();
            }
        }
        retired.extend(rec.content.take().map(|c| c.blob));
        rec.content = Some(c.into_content());
        rec.modified_time = now;
    }
    if let Some(n) = meta.name {
        rec.name = n;
    }
    if let Some(d) = meta.description {
        rec.description = d;
    }
    if let Some(st) = meta.starred {
        rec.starred = st;
    }
    if let Some(t) = meta.modified_time {
        rec.modified_time = t;
    }
    if let Some(o) = meta.original_filename {
        rec.original_filename = Some(o);
    }
    merge_props(&mut rec.properties, meta.properties);
    merge_props(&mut rec.app_properties, meta.app_properties);
    if let Some(t) = meta.trashed {
        rec.explicitly_trashed = t;
    }
    rec.version = s.next_version();
    rec.modified_by_me_time = now;
    let id = rec.id.clone();
    let trash_may_change =
        meta.trashed.is_some() || !add_parents.is_empty() || !remove_parents.is_empty();
    s.commit(Op::PutFile {
        file: rec,
        change: Some(now),
    })
    .map_err(io)?;
    if trash_may_change {
        settle_trash(s, &id, now)?;
    }
    Ok((s.file(&id).cloned().expect("just stored"), retired))
}

/// Makes `trashed` true exactly for files explicitly trashed or under a trashed folder, within
/// the subtree of `id`, logging a change for each file that flips.
fn settle_trash(s: &mut State, id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    for node in s.subtree(id) {
        let f = s.file(&node).expect("subtree ids exist");
        let parent_trashed = f
            .parents
            .first()
            .and_then(|p| s.file(p))
            .is_some_and(|p| p.trashed);
        let want = f.explicitly_trashed || parent_trashed;
        if f.trashed != want {
            let mut f = f.clone();
            f.trashed = want;
            f.version = s.next_version();
            f.modified_by_me_time = now;
            s.commit(Op::PutFile {
                file: f,
                change: Some(now),
            })
            .map_err(io)?;
        }
    }
    Ok(())
}

/// `files.delete`: removes `id` and everything under it permanently. Returns retired blobs.
pub fn delete(s: &mut State, id: &str, now: DateTime<Utc>) -> ApiResult<Vec<String>> {
    let rec = s.file(id).ok_or_else(|| ApiError::file_not_found(id))?;
    if rec.id == s.root_id {
        return Err(forbidden(
            "insufficientFilePermissions",
            "The user does not have sufficient permissions for this file.",
        ));
    }
    let mut ids = s.subtree(&rec.id.clone());
    ids.reverse();
    let mut retired = Vec::new();
    for id in ids {
        if let Some(c) = s.file(&id).and_then(|f| f.content.clone()) {
            retired.push(c.blob);
        }
        s.commit(Op::RemoveFile { id, time: now }).map_err(io)?;
    }
    Ok(retired)
}

/// `files.emptyTrash`: deletes every explicitly trashed file and its subtree.
pub fn empty_trash(s: &mut State, now: DateTime<Utc>) -> ApiResult<Vec<String>> {
    let ids: Vec<String> = s
        .all_files()
        .filter(|f| f.explicitly_trashed)
        .map(|f| f.id.clone())
        .collect();
    let mut retired = Vec::new();
    for id in ids {
        if s.file(&id).is_some() {
            retired.extend(delete(s, &id, now)?);
        }
    }
    Ok(retired)
}

/// The metadata a copy of `src` starts from, overridden by `meta`.
pub fn copy_meta(src: &FileRecord, meta: FileMeta) -> ApiResult<FileMeta> {
    if src.is_folder() {
        return Err(forbidden(
            "cannotCopyFile",
            "This file cannot be copied by the user.",
        ));
    }
    Ok(FileMeta {
        id: None,
        name: meta.name.or_else(|| Some(src.name.clone())),
        mime_type: meta.mime_type.or_else(|| Some(src.mime_type.clone())),
        parents: meta.parents.or_else(|| Some(src.parents.clone())),
        description: meta.description.or_else(|| Some(src.description.clone())),
        starred: meta.starred,
        trashed: None,
        modified_time: meta.modified_time,
        created_time: meta.created_time,
        properties: src
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .chain(meta.properties)
            .collect(),
        app_properties: src
            .app_properties
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .chain(meta.app_properties)
            .collect(),
        original_filename: meta
            .original_filename
            .or_else(|| src.original_filename.clone()),
        shortcut_target: src.shortcut_target.as_ref().map(|t| t.0.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(s: &mut State, name: &str, parent: &str) -> String {
        let meta = FileMeta {
            name: Some(name.into()),
            mime_type: Some(FOLDER_MIME.into()),
            parents: Some(vec![parent.into()]),
            ..Default::default()
        };
        create(s, meta, None, Utc::now()).unwrap().0.id
    }

    #[test]
    fn trashing_a_folder_trashes_its_subtree_and_untrash_restores_it() {
        let mut s = State::new(vec![], None, Utc::now()).unwrap();
        let a = folder(&mut s, "a", "root");
        let b = folder(&mut s, "b", &a);
        let c = folder(&mut s, "c", &b);
        update(
            &mut s,
            &c,
            FileMeta {
                trashed: Some(true),
                ..Default::default()
            },
            &[],
            &[],
            None,
            Utc::now(),
        )
        .unwrap();
        update(
            &mut s,
            &a,
            FileMeta {
                trashed: Some(true),
                ..Default::default()
            },
            &[],
            &[],
            None,
            Utc::now(),
        )
        .unwrap();
        assert!(s.file(&b).unwrap().trashed && !s.file(&b).unwrap().explicitly_trashed);
        update(
            &mut s,
            &a,
            FileMeta {
                trashed: Some(false),
                ..Default::default()
            },
            &[],
            &[],
            None,
            Utc::now(),
        )
        .unwrap();
        assert!(!s.file(&b).unwrap().trashed);
        assert!(
            s.file(&c).unwrap().trashed,
            "c was trashed on its own and stays trashed"
        );
    }

    #[test]
    fn moves_refuse_cycles_and_second_parents() {
        let mut s = State::new(vec![], None, Utc::now()).unwrap();
        let a = folder(&mut s, "a", "root");
        let b = folder(&mut s, "b", &a);
        let e = update(
            &mut s,
            &a,
            FileMeta::default(),
            std::slice::from_ref(&b),
            &["root".into()],
            None,
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(e.reason, "invalid");
        let e = update(
            &mut s,
            &b,
            FileMeta::default(),
            &["root".into()],
            &[],
            None,
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(e.reason, "cannotAddParent");
        let moved = update(
            &mut s,
            &b,
            FileMeta::default(),
            &["root".into()],
            std::slice::from_ref(&a),
            None,
            Utc::now(),
        )
        .unwrap()
        .0;
        assert_eq!(moved.parents, [s.root_id.clone()]);
    }

    #[test]
    fn every_change_raises_the_version() {
        let mut s = State::new(vec![], None, Utc::now()).unwrap();
        let a = folder(&mut s, "a", "root");
        let v1 = s.file(&a).unwrap().version;
        let v2 = update(
            &mut s,
            &a,
            FileMeta {
                name: Some("b".into()),
                ..Default::default()
            },
            &[],
            &[],
            None,
            Utc::now(),
        )
        .unwrap()
        .0
        .version;
        assert!(v2 > v1);
    }

    #[test]
    fn delete_removes_the_subtree_and_returns_blobs() {
        let mut s = State::new(vec![], None, Utc::now()).unwrap();
        let a = folder(&mut s, "a", "root");
        let c = NewContent {
            blob: "blob1".into(),
            size: 3,
            md5: "x".into(),
            mime: Some("text/plain".into()),
        };
        let f = create(
            &mut s,
            FileMeta {
                parents: Some(vec![a.clone()]),
                ..Default::default()
            },
            Some(c),
            Utc::now(),
        )
        .unwrap()
        .0;
        assert_eq!(delete(&mut s, &a, Utc::now()).unwrap(), ["blob1"]);
        assert!(s.file(&f.id).is_none() && s.file(&a).is_none());
    }
}
