//! Drive's discovery document (revision 20261106), embedded: served to clients that build
//! themselves from it, and used to validate `fields` and request bodies.

use std::sync::OnceLock;

use serde_json::Value;

/// The discovery document exactly as Google ships it.
pub const DISCOVERY_JSON: &str = include_str!("../assets/drive.v3.json");

/// The parsed document.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(DISCOVERY_JSON).expect("embedded discovery document is valid JSON")
    })
}

/// The schema named `name` (`File`, `FileList`, `Change`...).
pub fn schema(name: &str) -> Option<&'static Value> {
    document().get("schemas")?.get(name)
}

/// Follows a `$ref` to its schema; any other value is returned as is.
pub fn resolve(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str).and_then(schema) {
        Some(target) => target,
        None => v,
    }
}

/// The document with every Google root URL replaced by `base` (which ends with `/`).
pub fn rewritten(base: &str) -> Value {
    let mut doc = document().clone();
    doc["rootUrl"] = Value::String(base.to_owned());
    doc["mtlsRootUrl"] = Value::String(base.to_owned());
    doc["baseUrl"] = Value::String(format!("{base}drive/v3/"));
    doc
}

/// True if `name` is a property of the `File` resource.
pub fn is_file_property(name: &str) -> bool {
    schema("File")
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(name))
        .is_some()
}
