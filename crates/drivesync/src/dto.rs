//! Plain data handed to front ends.

use drivesync_drive::{About, File, FOLDER_MIME, GOOGLE_APPS_PREFIX, SHORTCUT_MIME};

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountInfo {
    /// Email address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Bytes used.
    pub used: Option<u64>,
    /// Bytes available in all (none: unlimited).
    pub limit: Option<u64>,
}

impl From<About> for AccountInfo {
    fn from(a: About) -> Self {
        Self {
            email: a.user.email_address,
            name: a.user.display_name,
            used: a.storage_quota.usage,
            limit: a.storage_quota.limit,
        }
    }
}

/// What kind of Drive entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EntryKind {
    /// A folder.
    Folder,
    /// A file with content.
    File,
    /// A Google Docs/Sheets/Slides... document (no content to download; exported).
    GoogleDoc,
    /// A shortcut to another entry.
    Shortcut,
}

/// One entry of a Drive folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Name (may contain `/`).
    pub name: String,
    /// Drive id.
    pub id: String,
    /// Kind.
    pub kind: EntryKind,
    /// Size of content.
    pub size: Option<u64>,
}

impl From<File> for Entry {
    fn from(f: File) -> Self {
        let kind = match f.mime_type.as_str() {
            FOLDER_MIME => EntryKind::Folder,
            SHORTCUT_MIME => EntryKind::Shortcut,
            m if m.starts_with(GOOGLE_APPS_PREFIX) => EntryKind::GoogleDoc,
            _ => EntryKind::File,
        };
        Self {
            name: f.name,
            id: f.id.to_string(),
            kind,
            size: f.size,
        }
    }
}
