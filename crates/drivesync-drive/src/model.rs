//! Drive v3 resources as drivesync reads them: [`File`], [`FileList`], [`Change`],
//! [`ChangeList`], [`About`]. Fields Drive may omit are `Option`s; int64 fields, which Drive
//! sends as JSON strings, are parsed to `u64`.

use std::fmt;

use chrono::{DateTime, Utc};
use drivesync_model::{DriveId, Md5};
use serde::{Deserialize, Serialize};

/// The MIME type of a Drive folder.
pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
/// The MIME type of a Drive shortcut.
pub const SHORTCUT_MIME: &str = "application/vnd.google-apps.shortcut";
/// The prefix of Google Workspace types (Docs, Sheets...), which have no binary content.
pub const GOOGLE_APPS_PREFIX: &str = "application/vnd.google-apps.";

macro_rules! opaque_token {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value as Drive returned it.
            pub fn new(v: impl Into<String>) -> Self {
                Self(v.into())
            }

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_token!(
    /// A `files.list` page token (only valid with the query it came from).
    PageToken
);
opaque_token!(
    /// A position in the change feed: a `startPageToken`, `nextPageToken` or
    /// `newStartPageToken`. Store the `newStartPageToken` of the last page as the cursor.
    ChangeToken
);
opaque_token!(
    /// A file's head revision id (`headRevisionId`): new on every content change.
    RevisionId
);

/// A file or folder (Drive's `File` resource, the fields drivesync asks for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    /// The file id.
    pub id: DriveId,
    /// The name (not unique in a folder, may contain `/`).
    #[serde(default)]
    pub name: String,
    /// The MIME type ([`FOLDER_MIME`] for folders).
    #[serde(default)]
    pub mime_type: String,
    /// Parent folder ids (one, or none for the root and for files shared with the user).
    #[serde(default)]
    pub parents: Vec<DriveId>,
    /// In the trash (explicitly or because a parent folder is).
    #[serde(default)]
    pub trashed: bool,
    /// Byte size of binary content (absent for folders, Google Docs and shortcuts).
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// MD5 of binary content (absent where there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_checksum: Option<Md5>,
    /// Grows on every change of the file (metadata or content), not necessarily by 1.
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The head revision of binary content; changes with the content only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_revision_id: Option<RevisionId>,
    /// Last modification time (settable by clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<DateTime<Utc>>,
    /// The target of a shortcut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut_details: Option<ShortcutDetails>,
}

impl File {
    /// A folder.
    pub fn is_folder(&self) -> bool {
        self.mime_type == FOLDER_MIME
    }

    /// A Google Workspace file (Doc, Sheet, shortcut, folder...): no binary content to
    /// download; Docs can be exported.
    pub fn is_google_type(&self) -> bool {
        self.mime_type.starts_with(GOOGLE_APPS_PREFIX)
    }
}

/// Where a shortcut points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShortcutDetails {
    /// The target file.
    pub target_id: DriveId,
    /// The target's MIME type.
    #[serde(default)]
    pub target_mime_type: Option<String>,
}

/// One page of `files.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileList {
    /// The files on this page.
    #[serde(default)]
    pub files: Vec<File>,
    /// The next page, absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<PageToken>,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `file` (or `drive` for shared-drive changes, which drivesync ignores).
    #[serde(default)]
    pub change_type: Option<String>,
    /// The file was deleted permanently or access to it was lost; `file` is then absent.
    #[serde(default)]
    pub removed: bool,
    /// The file that changed.
    #[serde(default)]
    pub file_id: Option<DriveId>,
    /// When it changed.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// The file as it is now (absent when removed). Trashing is a change with `trashed`.
    #[serde(default)]
    pub file: Option<File>,
}

/// One page of `changes.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeList {
    /// The changes on this page, oldest first.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// The next page (absent on the last one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<ChangeToken>,
    /// On the last page: where the next poll starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_start_page_token: Option<ChangeToken>,
}

/// All changes since a token, every page read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The changes, oldest first.
    pub changes: Vec<Change>,
    /// Where the next poll starts (the last page's `newStartPageToken`).
    pub new_start_page_token: ChangeToken,
}

/// The signed-in user (`about.user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The name shown to people.
    #[serde(default)]
    pub display_name: String,
    /// The account's email address.
    #[serde(default)]
    pub email_address: String,
}

/// Storage use (`about.storageQuota`), in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageQuota {
    /// The limit; absent for unlimited storage.
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Used across all Google services.
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// Used by Drive.
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub usage_in_drive: Option<u64>,
    /// Used by Drive's trash.
    #[serde(default, with = "int64_opt", skip_serializing_if = "Option::is_none")]
    pub usage_in_drive_trash: Option<u64>,
}

/// The account (`about.get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct About {
    /// Who is signed in.
    #[serde(default)]
    pub user: User,
    /// How much space is used and left.
    #[serde(default)]
    pub storage_quota: StorageQuota,
}

/// Drive's int64 fields: JSON strings on the wire (numbers are accepted too).
mod int64_opt {
    use serde::{de, Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Number(n)) => Ok(Some(n)),
            Some(Raw::Text(t)) => t
                .parse()
                .map(Some)
                .map_err(|_| de::Error::custom(format!("not an int64: {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parses_drive_json_with_string_int64s() {
        let f: File = serde_json::from_str(
            r#"{"id":"abc","name":"a.txt","mimeType":"text/plain","parents":["p"],
                "size":"12","version":"7","md5Checksum":"d41d8cd98f00b204e9800998ecf8427e",
                "headRevisionId":"r1","modifiedTime":"2024-05-01T10:00:00.000Z","trashed":false}"#,
        )
        .unwrap();
        assert_eq!(f.id.as_str(), "abc");
        assert_eq!((f.size, f.version), (Some(12), Some(7)));
        assert_eq!(f.head_revision_id, Some(RevisionId::new("r1")));
        assert!(!f.is_folder());
        let back: File = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        assert_eq!(serde_json::to_value(&f).unwrap()["size"], "12");
    }

    #[test]
    fn folders_and_removed_changes_omit_fields() {
        let f: File = serde_json::from_str(
            r#"{"id":"d","name":"docs","mimeType":"application/vnd.google-apps.folder"}"#,
        )
        .unwrap();
        assert!(f.is_folder() && f.is_google_type());
        assert_eq!((f.size, f.md5_checksum, f.version), (None, None, None));
        let c: Change =
            serde_json::from_str(r#"{"removed":true,"fileId":"x","changeType":"file"}"#).unwrap();
        assert!(c.removed && c.file.is_none());
        assert!(serde_json::from_str::<File>(r#"{"id":"x","size":"twelve"}"#).is_err());
    }

    #[test]
    fn about_quota_limit_may_be_absent() {
        let a: About = serde_json::from_str(
            r#"{"user":{"displayName":"U","emailAddress":"u@x"},"storageQuota":{"usage":"5"}}"#,
        )
        .unwrap();
        assert_eq!(a.storage_quota.limit, None);
        assert_eq!(a.storage_quota.usage, Some(5));
        assert_eq!(a.user.email_address, "u@x");
    }
}
