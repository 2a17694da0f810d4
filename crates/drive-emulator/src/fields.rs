//! The `fields` system parameter: parsed (`nextPageToken, files(id,name)`, `a/b`, `*`),
//! checked against the response schema in the discovery document, and applied to responses.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::discovery;

/// A parsed field selection: everything, or a set of named members each with its own selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMask {
    /// The whole value.
    All,
    /// Only these members (of an object, or of each element of an array).
    Some(BTreeMap<String, FieldMask>),
}

/// Why a `fields` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid field selection {0}")]
pub struct FieldsError(pub String);

/// At most this many distinct masks are kept parsed ([`FieldMask::checked`]).
const CACHED_MASKS: usize = 256;

impl FieldMask {
    /// [`FieldMask::parse`] of `input` checked against `schema` ([`FieldMask::validate`]).
    /// A client sends the same few masks again and again, so the checked masks are kept:
    /// parsing and checking a long mask on every request would be most of a small upload's
    /// work here.
    pub fn checked(input: &str, schema: &str) -> Result<Arc<Self>, FieldsError> {
        type Cache = Mutex<HashMap<(String, String), Arc<FieldMask>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Cache::default);
        let key = (schema.to_owned(), input.to_owned());
        if let Some(m) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(m.clone());
        }
        let mask = Self::parse(input)?;
        mask.validate(schema)?;
        let mask = Arc::new(mask);
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_MASKS {
            cache.clear();
        }
        cache.insert(key, mask.clone());
        Ok(mask)
    }

    /// Parses a `fields` value. Whitespace around names and separators is allowed.
    pub fn parse(input: &str) -> Result<Self, FieldsError> {
        let mut p = Parser {
            chars: input.char_indices().peekable(),
            src: input,
        };
        let mask = p.list(0)?;
        p.skip_ws();
        match p.chars.next() {
            None => Ok(mask),
            Some((i, _)) => Err(FieldsError(input[i..].trim().to_owned())),
        }
    }

    /// True if `name` is selected at this level.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            FieldMask::All => true,
            FieldMask::Some(m) => m.contains_key(name) || m.contains_key("*"),
        }
    }

    /// The selection for member `name`, if it is selected.
    pub fn child(&self, name: &str) -> Option<&FieldMask> {
        match self {
            FieldMask::All => Some(&FieldMask::All),
            FieldMask::Some(m) => m.get(name).or_else(|| m.get("*")),
        }
    }

    /// Keeps only the selected members of `value` (objects recursively, arrays per element).
    pub fn apply(&self, value: Value) -> Value {
        match (self, value) {
            (FieldMask::All, v) => v,
            (mask @ FieldMask::Some(_), Value::Array(items)) => {
                Value::Array(items.into_iter().map(|v| mask.apply(v)).collect())
            }
            (mask @ FieldMask::Some(_), Value::Object(obj)) => {
                let mut out = Map::new();
                for (k, v) in obj {
                    if let Some(sub) = mask.child(&k) {
                        out.insert(k, sub.apply(v));
                    }
                }
                Value::Object(out)
            }
            (_, v) => v,
        }
    }

    /// Checks every selected name against the discovery schema `schema` (e.g. `FileList`).
    pub fn validate(&self, schema: &str) -> Result<(), FieldsError> {
        let root = discovery::schema(schema).ok_or_else(|| FieldsError(schema.to_owned()))?;
        validate_against(self, root, "")
    }

    fn insert(&mut self, path: &[String], sub: FieldMask) {
        let FieldMask::Some(map) = self else { return };
        let (head, rest) = path.split_first().expect("paths are non-empty");
        if head == "*" && rest.is_empty() && sub == FieldMask::All {
            map.insert("*".into(), FieldMask::All);
            return;
        }
        if rest.is_empty() {
            match map.get_mut(head) {
                Some(existing) => existing.merge(sub),
                None => {
                    map.insert(head.clone(), sub);
                }
            }
        } else {
            map.entry(head.clone())
                .or_insert_with(|| FieldMask::Some(BTreeMap::new()))
                .insert(rest, sub);
        }
    }

    fn merge(&mut self, other: FieldMask) {
        match (&mut *self, other) {
            (FieldMask::All, _) => {}
            (_, FieldMask::All) => *self = FieldMask::All,
            (FieldMask::Some(a), FieldMask::Some(b)) => {
                for (k, v) in b {
                    match a.get_mut(&k) {
                        Some(e) => e.merge(v),
                        None => {
                            a.insert(k, v);
                        }
                    }
                }
            }
        }
    }
}

fn validate_against(
    mask: &FieldMask,
    schema: &'static Value,
    prefix: &str,
) -> Result<(), FieldsError> {
    let FieldMask::Some(map) = mask else {
        return Ok(());
    };
    let schema = discovery::resolve(schema);
    if let Some(items) = schema.get("items") {
        return validate_against(mask, items, prefix);
    }
    if schema.get("additionalProperties").is_some() && schema.get("properties").is_none() {
        return Ok(());
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (name, sub) in map {
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if name == "*" {
            continue;
        }
        let Some(prop) = props.and_then(|p| p.get(name)) else {
            return Err(FieldsError(full));
        };
        if let FieldMask::Some(_) = sub {
            let prop = discovery::resolve(prop);
            let nested = prop.get("items").map(discovery::resolve).unwrap_or(prop);
            let is_container =
                nested.get("properties").is_some() || nested.get("additionalProperties").is_some();
            if !is_container {
                return Err(FieldsError(full));
            }
            validate_against(sub, nested, &full)?;
        }
    }
    Ok(())
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    src: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.chars.peek(), Some((_, c)) if c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn name(&mut self) -> Result<String, FieldsError> {
        self.skip_ws();
        let mut s = String::new();
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '*' || c == '.' || c == '-' || c == '$'
            {
                s.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        if s.is_empty() {
            let rest = self
                .chars
                .peek()
                .map(|&(i, _)| &self.src[i..])
                .unwrap_or("");
            return Err(FieldsError(if rest.is_empty() {
                self.src.to_owned()
            } else {
                rest.to_owned()
            }));
        }
        self.skip_ws();
        Ok(s)
    }

    fn list(&mut self, depth: usize) -> Result<FieldMask, FieldsError> {
        if depth > 16 {
            return Err(FieldsError(self.src.to_owned()));
        }
        let mut mask = FieldMask::Some(BTreeMap::new());
        loop {
            let mut path = vec![self.name()?];
            while matches!(self.chars.peek(), Some((_, '/'))) {
                self.chars.next();
                path.push(self.name()?);
            }
            let sub = if matches!(self.chars.peek(), Some((_, '('))) {
                self.chars.next();
                let inner = self.list(depth + 1)?;
                self.skip_ws();
                match self.chars.next() {
                    Some((_, ')')) => inner,
                    _ => return Err(FieldsError(self.src.to_owned())),
                }
            } else {
                FieldMask::All
            };
            mask.insert(&path, sub);
            self.skip_ws();
            match self.chars.peek() {
                Some((_, ',')) => {
                    self.chars.next();
                }
                _ => return Ok(mask),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parses_nested_selection_with_spaces() {
        let m = FieldMask::parse("nextPageToken, files(id, name ,parents)").unwrap();
        let v = json!({"kind": "drive#fileList", "nextPageToken": "t",
            "files": [{"id": "1", "name": "a", "size": "3", "parents": ["r"]}]});
        assert_eq!(
            m.apply(v),
            json!({"nextPageToken": "t", "files": [{"id": "1", "name": "a", "parents": ["r"]}]})
        );
    }

    #[test]
    fn slash_paths_equal_parentheses() {
        assert_eq!(
            FieldMask::parse("files/id,files/name").unwrap(),
            FieldMask::parse("files(id,name)").unwrap()
        );
    }

    #[test]
    fn star_selects_everything() {
        let v = json!({"a": 1, "b": {"c": 2}});
        assert_eq!(FieldMask::parse("*").unwrap().apply(v.clone()), v);
        assert_eq!(
            FieldMask::parse("files(*)")
                .unwrap()
                .apply(json!({"files": [v.clone()], "k": 1})),
            json!({"files": [v]})
        );
    }

    #[test]
    fn validates_against_discovery_schema() {
        FieldMask::parse("nextPageToken, files(id,name,capabilities/canEdit,exportLinks)")
            .unwrap()
            .validate("FileList")
            .unwrap();
        FieldMask::parse("changes(file(md5Checksum),removed),newStartPageToken")
            .unwrap()
            .validate("ChangeList")
            .unwrap();
        let err = FieldMask::parse("files(id,bogus)")
            .unwrap()
            .validate("FileList")
            .unwrap_err();
        assert_eq!(err.0, "files/bogus");
        assert!(FieldMask::parse("id(name)")
            .unwrap()
            .validate("File")
            .is_err());
    }

    #[test]
    fn a_checked_mask_is_parsed_once_and_a_bad_one_is_still_refused() {
        let a = FieldMask::checked("id,name,parents", "File").unwrap();
        let b = FieldMask::checked("id,name,parents", "File").unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second request reuses the parsed mask"
        );
        assert_eq!(*a, FieldMask::parse("id,name,parents").unwrap());
        // The same text against another schema is checked on its own.
        assert!(FieldMask::checked("id,name,parents", "About").is_err());
        assert!(FieldMask::checked("nope", "File").is_err());
        assert!(FieldMask::checked("nope", "File").is_err());
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "", "files(", "files(id", "a,,b", ")", "a)b", "a b", "files()",
        ] {
            assert!(FieldMask::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "[a-z(),/* ]{0,40}") {
            let _ = FieldMask::parse(&s).map(|m| m.validate("FileList"));
        }

        #[test]
        fn any_selected_names_survive_apply(names in proptest::collection::btree_set("[a-z]{1,6}", 1..6)) {
            let list: Vec<_> = names.iter().cloned().collect();
            let mask = FieldMask::parse(&list.join(",")).unwrap();
            let obj: Map<String, Value> = list.iter().map(|n| (n.clone(), json!(1))).chain([("zzzzzzz".to_string(), json!(2))]).collect();
            let out = mask.apply(Value::Object(obj));
            prop_assert_eq!(out.as_object().unwrap().len(), list.len());
        }
    }
}
