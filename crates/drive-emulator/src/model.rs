//! What the emulator stores per file, and how it renders a file as Drive's `File` resource.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::fields::FieldMask;

/// The folder MIME type.
pub const FOLDER_MIME: &str = "application/vnd.google-apps.folder";
/// The shortcut MIME type.
pub const SHORTCUT_MIME: &str = "application/vnd.google-apps.shortcut";
/// Prefix of Google Workspace types (no binary content).
pub const GOOGLE_APPS_PREFIX: &str = "application/vnd.google-apps.";

/// Binary content of a file: a blob on disk plus its digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Blob name in the blob folder.
    pub blob: String,
    /// Byte length.
    pub size: u64,
    /// Lower-case hex MD5.
    pub md5: String,
    /// Lower-case hex SHA-1, computed when first asked for.
    #[serde(default)]
    pub sha1: Option<String>,
    /// Lower-case hex SHA-256, computed when first asked for.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The head revision id; new on every content change.
    pub revision: String,
}

/// One file or folder in the emulated Drive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Drive file id.
    pub id: String,
    /// Insertion order: the stable default listing order.
    pub seq: u64,
    /// Name (any characters, `/` included; not unique in a folder).
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// Parent ids (at most one; empty for the root).
    pub parents: Vec<String>,
    /// In the trash (explicitly or through an ancestor).
    pub trashed: bool,
    /// Trashed by a request on this file itself.
    pub explicitly_trashed: bool,
    /// Starred.
    pub starred: bool,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_time: DateTime<Utc>,
    /// Last modification time (client-settable).
    pub modified_time: DateTime<Utc>,
    /// Last change of any kind, by this account.
    pub modified_by_me_time: DateTime<Utc>,
    /// Grows on every change of the file.
    pub version: u64,
    /// Binary content (absent for folders, Google Docs and shortcuts).
    pub content: Option<Content>,
    /// Shortcut target `(id, mimeType)`.
    pub shortcut_target: Option<(String, String)>,
    /// Public custom properties.
    pub properties: BTreeMap<String, String>,
    /// Private (app) custom properties.
    pub app_properties: BTreeMap<String, String>,
    /// The original upload name.
    pub original_filename: Option<String>,
}

/// Formats a time as Drive does (`2024-05-01T10:00:00.000Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Export formats offered for each Google Workspace type.
pub fn export_formats(mime: &str) -> &'static [&'static str] {
    match mime {
        "application/vnd.google-apps.document" => &[
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.oasis.opendocument.text",
            "application/pdf",
            "text/plain",
            "text/html",
            "application/rtf",
        ],
        "application/vnd.google-apps.spreadsheet" => &[
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/x-vnd.oasis.opendocument.spreadsheet",
            "application/pdf",
            "text/csv",
        ],
        "application/vnd.google-apps.presentation" => &[
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.presentation",
            "application/pdf",
            "text/plain",
        ],
        "application/vnd.google-apps.drawing" => &[
            "image/png",
            "image/jpeg",
            "image/svg+xml",
            "application/pdf",
        ],
        _ => &[],
    }
}

impl FileRecord {
    /// True for folders.
    pub fn is_folder(&self) -> bool {
        self.mime_type == FOLDER_MIME
    }

    /// True for Google Workspace types, folders and shortcuts: nothing to download.
    pub fn is_google_type(&self) -> bool {
        self.mime_type.starts_with(GOOGLE_APPS_PREFIX)
    }

    /// The `File` resource with the members `mask` selects (nested selections applied too).
    /// Only selected members are built: a listing of many files asks for a few fields each.
    pub fn to_json(&self, base_url: &str, user: &Value, mask: &FieldMask) -> Value {
        let mut v = Map::new();
        let mut put = |key: &str, value: &dyn Fn() -> Value| {
            if let Some(sub) = mask.child(key) {
                v.insert(key.to_owned(), sub.apply(value()));
            }
        };
        put("kind", &|| json!("drive#file"));
        put("id", &|| json!(self.id));
        put("name", &|| json!(self.name));
        put("mimeType", &|| json!(self.mime_type));
        put("starred", &|| json!(self.starred));
        put("trashed", &|| json!(self.trashed));
        put("explicitlyTrashed", &|| json!(self.explicitly_trashed));
        put("parents", &|| json!(self.parents));
        put("properties", &|| json!(self.properties));
        put("appProperties", &|| json!(self.app_properties));
        put("spaces", &|| json!(["drive"]));
        put("version", &|| json!(self.version.to_string()));
        put("webViewLink", &|| {
            json!(format!("{base_url}file/d/{}/view", self.id))
        });
        put("iconLink", &|| {
            json!(format!("{base_url}icons/{}", self.mime_type))
        });
        put("hasThumbnail", &|| json!(false));
        put("thumbnailVersion", &|| json!("0"));
        put("viewedByMe", &|| json!(true));
        put("viewedByMeTime", &|| {
            json!(rfc3339(self.modified_by_me_time))
        });
        put("createdTime", &|| json!(rfc3339(self.created_time)));
        put("modifiedTime", &|| json!(rfc3339(self.modified_time)));
        put("modifiedByMeTime", &|| {
            json!(rfc3339(self.modified_by_me_time))
        });
        put("modifiedByMe", &|| json!(true));
        put("owners", &|| json!([user]));
        put("lastModifyingUser", &|| user.clone());
        put("shared", &|| json!(false));
        put("ownedByMe", &|| json!(true));
        put("capabilities", &|| self.capabilities());
        put("viewersCanCopyContent", &|| json!(true));
        put("copyRequiresWriterPermission", &|| json!(false));
        put("writersCanShare", &|| json!(true));
        put("permissionIds", &|| json!(["emulator-user-permission"]));
        put("isAppAuthorized", &|| json!(true));
        put("quotaBytesUsed", &|| {
            json!(self.content.as_ref().map_or(0, |c| c.size).to_string())
        });
        put("inheritedPermissionsDisabled", &|| json!(false));
        if let Some(d) = &self.description {
            put("description", &|| json!(d));
        }
        if let Some(o) = &self.original_filename {
            put("originalFilename", &|| json!(o));
        }
        if let Some(c) = &self.content {
            put("size", &|| json!(c.size.to_string()));
            put("md5Checksum", &|| json!(c.md5));
            if let Some(s) = &c.sha1 {
                put("sha1Checksum", &|| json!(s));
            }
            if let Some(s) = &c.sha256 {
                put("sha256Checksum", &|| json!(s));
            }
            put("headRevisionId", &|| json!(c.revision));
            put("webContentLink", &|| {
                json!(format!("{base_url}drive/v3/files/{}?alt=media", self.id))
            });
            let ext = self
                .name
                .rsplit_once('.')
                .filter(|(stem, e)| !stem.is_empty() && !e.is_empty());
            if let Some((_, ext)) = ext {
                put("fileExtension", &|| json!(ext));
                put("fullFileExtension", &|| {
                    json!(self.name.split_once('.').map_or(ext, |(_, e)| e))
                });
            }
        }
        let formats = export_formats(&self.mime_type);
        if !formats.is_empty() {
            put("exportLinks", &|| {
                let links: Map<String, Value> = formats
                    .iter()
                    .map(|f| {
                        (
                            (*f).to_owned(),
                            json!(format!(
                                "{base_url}drive/v3/files/{}/export?mimeType={f}",
                                self.id
                            )),
                        )
                    })
                    .collect();
                Value::Object(links)
            });
        }
        if let Some((tid, tmime)) = &self.shortcut_target {
            put(
                "shortcutDetails",
                &|| json!({"targetId": tid, "targetMimeType": tmime}),
            );
        }
        Value::Object(v)
    }

    fn capabilities(&self) -> Value {
        let folder = self.is_folder();
        let binary = self.content.is_some();
        json!({
            "canAddChildren": folder && !self.trashed,
            "canChangeCopyRequiresWriterPermission": true,
            "canChangeViewersCanCopyContent": true,
            "canComment": true,
            "canCopy": !folder,
            "canDelete": true,
            "canDownload": binary || !export_formats(&self.mime_type).is_empty(),
            "canEdit": !self.trashed,
            "canListChildren": folder,
            "canModifyContent": !self.trashed,
            "canMoveItemWithinDrive": true,
            "canReadRevisions": binary,
            "canRemoveChildren": folder,
            "canRename": true,
            "canShare": true,
            "canTrash": true,
            "canUntrash": true,
        })
    }

    /// A minimal record for unit tests elsewhere in the crate.
    #[cfg(test)]
    pub fn new_for_test(id: &str, name: &str, mime: &str, parent: &str) -> Self {
        let t = Utc::now();
        Self {
            id: id.into(),
            seq: 0,
            name: name.into(),
            mime_type: mime.into(),
            parents: vec![parent.into()],
            trashed: false,
            explicitly_trashed: false,
            starred: false,
            description: None,
            created_time: t,
            modified_time: t,
            modified_by_me_time: t,
            version: 1,
            content: None,
            shortcut_target: None,
            properties: BTreeMap::new(),
            app_properties: BTreeMap::new(),
            original_filename: None,
        }
    }
}
