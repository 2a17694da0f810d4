//! The `fields` each call asks for: exactly what the models in [`crate::model`] read.

/// One file, as every call that returns a file asks for it.
pub const FILE: &str = "id,name,mimeType,parents,trashed,size,md5Checksum,version,headRevisionId,modifiedTime,shortcutDetails(targetId,targetMimeType)";

/// A page of `files.list`.
pub const FILE_LIST: &str = concat!(
    "nextPageToken,files(",
    "id,name,mimeType,parents,trashed,size,md5Checksum,version,headRevisionId,modifiedTime,shortcutDetails(targetId,targetMimeType)",
    ")"
);

/// A page of `changes.list`.
pub const CHANGE_LIST: &str = concat!(
    "nextPageToken,newStartPageToken,changes(changeType,removed,fileId,time,file(",
    "id,name,mimeType,parents,trashed,size,md5Checksum,version,headRevisionId,modifiedTime,shortcutDetails(targetId,targetMimeType)",
    "))"
);

/// `changes.getStartPageToken`.
pub const START_PAGE_TOKEN: &str = "startPageToken";

/// `about.get`.
pub const ABOUT: &str =
    "user(displayName,emailAddress),storageQuota(limit,usage,usageInDrive,usageInDriveTrash)";

/// `files.generateIds`.
pub const GENERATED_IDS: &str = "ids";

/// What a download needs to check its result.
pub const CHECKSUM: &str = "id,md5Checksum,size";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_masks_embed_the_file_mask() {
        assert!(FILE_LIST.contains(&format!("files({FILE})")));
        assert!(CHANGE_LIST.contains(&format!("file({FILE})")));
    }
}
