//! File metadata in request bodies (`files.create`, `files.update`, `files.copy`, upload
//! metadata parts): parsed and checked the way Drive checks them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The writable metadata a request carried. `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileMeta {
    /// A pre-generated id (create only).
    pub id: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Parents (create and copy only).
    pub parents: Option<Vec<String>>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Starred flag.
    pub starred: Option<bool>,
    /// Trashed flag.
    pub trashed: Option<bool>,
    /// Client-set modification time.
    pub modified_time: Option<DateTime<Utc>>,
    /// Client-set creation time (create only).
    pub created_time: Option<DateTime<Utc>>,
    /// Property changes; `None` values delete the key.
    pub properties: BTreeMap<String, Option<String>>,
    /// App property changes; `None` values delete the key.
    pub app_properties: BTreeMap<String, Option<String>>,
    /// Original file name.
    pub original_filename: Option<String>,
    /// Shortcut target id.
    pub shortcut_target: Option<String>,
}

/// Which request the metadata came with: the writable fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaFor {
    /// `files.create` and uploads that create.
    Create,
    /// `files.update`.
    Update,
    /// `files.copy`.
    Copy,
}

/// Writable fields the emulator accepts but does not model.
const IGNORED: &[&str] = &[
    "kind",
    "folderColorRgb",
    "contentHints",
    "viewedByMeTime",
    "copyRequiresWriterPermission",
    "writersCanShare",
    "viewersCanCopyContent",
    "contentRestrictions",
    "inheritedPermissionsDisabled",
    "downloadRestrictions",
];

fn string(v: &Value, field: &str) -> ApiResult<String> {
    v.as_str().map(str::to_owned).ok_or_else(|| {
        ApiError::parse_error(format!(
            "Invalid value at 'resource.{field}' ({}), expected a string",
            type_name(v)
        ))
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "TYPE_BOOL",
        Value::Number(_) => "TYPE_NUMBER",
        Value::String(_) => "TYPE_STRING",
        Value::Array(_) => "TYPE_LIST",
        Value::Object(_) => "TYPE_MESSAGE",
    }
}

fn time(v: &Value, field: &str) -> ApiResult<DateTime<Utc>> {
    let s = string(v, field)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(format!("Invalid value for {field}: {s}")).at_param(field)
        })
}

fn bool_field(v: &Value, field: &str) -> ApiResult<bool> {
    v.as_bool().ok_or_else(|| {
        ApiError::parse_error(format!(
            "Invalid value at 'resource.{field}', expected a boolean"
        ))
    })
}

fn props(v: &Value, field: &str) -> ApiResult<BTreeMap<String, Option<String>>> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::parse_error(format!("Invalid value at 'resource.{field}'")))?;
    obj.iter()
        .map(|(k, v)| match v {
            Value::Null => Ok((k.clone(), None)),
            Value::String(s) => Ok((k.clone(), Some(s.clone()))),
            other => Ok((k.clone(), Some(other.to_string()))),
        })
        .collect()
}

impl FileMeta {
    /// Parses a request body. An empty body is empty metadata.
    pub fn parse(body: &[u8], purpose: MetaFor) -> ApiResult<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let v: Value = serde_json::from_slice(body).map_err(ApiError::parse_error)?;
        Self::from_json(&v, purpose)
    }

    /// Reads metadata from a JSON object.
    pub fn from_json(v: &Value, purpose: MetaFor) -> ApiResult<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| ApiError::parse_error("Expected a JSON object."))?;
        let mut m = Self::default();
        for (key, val) in obj {
            match key.as_str() {
                "id" if purpose == MetaFor::Create => m.id = Some(string(val, key)?),
                "name" | "title" => m.name = Some(string(val, key)?),
                "mimeType" => m.mime_type = Some(string(val, key)?),
                "parents" if purpose == MetaFor::Update => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "fieldNotWritable",
                        "The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.",
                    ))
                }
                "parents" => {
                    let arr = val.as_array().ok_or_else(|| ApiError::parse_error("Invalid value at 'resource.parents'"))?;
                    m.parents = Some(arr.iter().map(|p| string(p, "parents")).collect::<ApiResult<_>>()?);
                }
                "description" => m.description = Some(val.as_str().map(str::to_owned)),
                "starred" => m.starred = Some(bool_field(val, key)?),
                "trashed" => m.trashed = Some(bool_field(val, key)?),
                "modifiedTime" => m.modified_time = Some(time(val, key)?),
                "createdTime" if purpose != MetaFor::Update => m.created_time = Some(time(val, key)?),
                "properties" => m.properties = props(val, key)?,
                "appProperties" => m.app_properties = props(val, key)?,
                "originalFilename" => m.original_filename = Some(string(val, key)?),
                "shortcutDetails" if purpose == MetaFor::Create => {
                    let t = val.get("targetId").ok_or_else(|| ApiError::bad_request("A shortcut needs shortcutDetails.targetId."))?;
                    m.shortcut_target = Some(string(t, "shortcutDetails.targetId")?);
                }
                k if IGNORED.contains(&k) => {}
                k if crate::discovery::is_file_property(k) => return Err(ApiError::not_writable(k)),
                k => return Err(ApiError::parse_error(format!("Unknown name \"{k}\": Cannot find field."))),
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_writable_fields() {
        let m = FileMeta::parse(
            br#"{"name":"a/b","parents":["p"],"modifiedTime":"2024-01-02T03:04:05.678Z","appProperties":{"k":"v","gone":null}}"#,
            MetaFor::Create,
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("a/b"));
        assert_eq!(m.parents, Some(vec!["p".into()]));
        assert_eq!(m.app_properties.get("gone"), Some(&None));
        assert_eq!(m.modified_time.unwrap().timestamp_subsec_millis(), 678);
    }

    #[test]
    fn refuses_read_only_unknown_and_malformed() {
        assert_eq!(
            FileMeta::parse(br#"{"md5Checksum":"x"}"#, MetaFor::Create)
                .unwrap_err()
                .reason,
            "fieldNotWritable"
        );
        assert_eq!(
            FileMeta::parse(br#"{"parents":["x"]}"#, MetaFor::Update)
                .unwrap_err()
                .reason,
            "fieldNotWritable"
        );
        assert_eq!(
            FileMeta::parse(br#"{"bogus":1}"#, MetaFor::Create)
                .unwrap_err()
                .reason,
            "parseError"
        );
        assert_eq!(
            FileMeta::parse(br#"{"name":"#, MetaFor::Create)
                .unwrap_err()
                .reason,
            "parseError"
        );
        assert_eq!(
            FileMeta::parse(br#"{"name":3}"#, MetaFor::Create)
                .unwrap_err()
                .reason,
            "parseError"
        );
        assert_eq!(
            FileMeta::parse(b"  ", MetaFor::Create).unwrap(),
            FileMeta::default()
        );
    }
}
