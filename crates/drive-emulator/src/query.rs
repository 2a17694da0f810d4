//! The `files.list` query language (`q`): the subset sync clients use, parsed into an AST and
//! evaluated per file. Anything outside it is refused with Google's `400 invalid` on `q`, never
//! answered wrongly.
//!
//! Supported terms: `name` (`=`, `!=`, `contains`: case-insensitive prefix of the name or of a
//! word in it, as Drive documents), `mimeType` (`=`, `!=`, `contains`), `modifiedTime` and
//! `createdTime` (`<`, `<=`, `=`, `!=`, `>`, `>=`, RFC 3339), `trashed`, `starred`, `sharedWithMe`
//! (`=`, `!=`), `'ID' in parents`, `'me'|email in owners|writers|readers`,
//! `properties|appProperties has { key='k' and value='v' }`; `and`, `or`, `not`, parentheses.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::model::FileRecord;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Both hold.
    And(Box<Query>, Box<Query>),
    /// Either holds.
    Or(Box<Query>, Box<Query>),
    /// Negation.
    Not(Box<Query>),
    /// `name` compared with a string.
    Name(StrOp, String),
    /// `mimeType` compared with a string.
    MimeType(StrOp, String),
    /// A time field compared with an instant.
    Time(TimeField, CmpOp, DateTime<Utc>),
    /// A boolean field compared with a value (`!=` is folded into the value).
    Flag(FlagField, bool),
    /// `'ID' in parents`.
    InParents(String),
    /// `'me' in owners` and friends: true when the value names the account.
    IsMe(bool),
    /// `properties has { key='k' and value='v' }` (`app` for appProperties).
    HasProperty {
        /// `appProperties` rather than `properties`.
        app: bool,
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
}

/// String operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `contains`
    Contains,
}

/// Ordering operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Time fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    /// `modifiedTime`
    Modified,
    /// `createdTime`
    Created,
}

/// Boolean fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagField {
    /// `trashed`
    Trashed,
    /// `starred`
    Starred,
    /// `sharedWithMe` (never true here: every file belongs to the one account)
    SharedWithMe,
}

/// A query the emulator cannot answer faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query at byte {at}: {why}")]
pub struct QueryError {
    /// Byte offset in the query.
    pub at: usize,
    /// What was wrong.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    LBrace,
    RBrace,
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => (out.push((i, Tok::LParen)), i += 1).1,
            b')' => (out.push((i, Tok::RParen)), i += 1).1,
            b'{' => (out.push((i, Tok::LBrace)), i += 1).1,
            b'}' => (out.push((i, Tok::RBrace)), i += 1).1,
            b'=' => (out.push((i, Tok::Op("="))), i += 1).1,
            b'!' if b.get(i + 1) == Some(&b'=') => (out.push((i, Tok::Op("!="))), i += 2).1,
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    (b'<', true) => "<=",
                    (b'<', false) => "<",
                    (_, true) => ">=",
                    _ => ">",
                };
                out.push((i, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            b'\'' | b'"' => {
                let quote = c;
                let mut val = String::new();
                let mut chars = s[i + 1..].char_indices();
                let mut closed = false;
                while let Some((j, ch)) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some((_, esc)) => val.push(esc),
                            None => break,
                        },
                        _ if ch as u32 == quote as u32 => {
                            i = i + 1 + j + 1;
                            closed = true;
                            break;
                        }
                        _ => val.push(ch),
                    }
                }
                if !closed {
                    return Err(QueryError {
                        at: start,
                        why: "unterminated string".into(),
                    });
                }
                out.push((start, Tok::Str(val)));
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((start, Tok::Ident(s[start..i].to_owned())));
            }
            _ => {
                return Err(QueryError {
                    at: i,
                    why: format!("unexpected character {:?}", &s[i..].chars().next()),
                })
            }
        }
    }
    Ok(out)
}

/// Parses `q`.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    let toks = lex(q)?;
    let mut p = P {
        toks,
        pos: 0,
        len: q.len(),
    };
    let e = p.or(0)?;
    if p.pos != p.toks.len() {
        return Err(p.err("unexpected trailing input"));
    }
    Ok(e)
}

struct P {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

impl P {
    fn err(&self, why: &str) -> QueryError {
        QueryError {
            at: self.toks.get(self.pos).map(|t| t.0).unwrap_or(self.len),
            why: why.into(),
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.1.clone());
        self.pos += 1;
        t
    }
    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self, depth: usize) -> Result<Query, QueryError> {
        let mut e = self.and(depth)?;
        while self.keyword("or") {
            e = Query::Or(Box::new(e), Box::new(self.and(depth)?));
        }
        Ok(e)
    }
    fn and(&mut self, depth: usize) -> Result<Query, QueryError> {
        let mut e = self.unary(depth)?;
        while self.keyword("and") {
            e = Query::And(Box::new(e), Box::new(self.unary(depth)?));
        }
        Ok(e)
    }
    fn unary(&mut self, depth: usize) -> Result<Query, QueryError> {
        if depth > 64 {
            return Err(self.err("query nested too deeply"));
        }
        if self.keyword("not") {
            return Ok(Query::Not(Box::new(self.unary(depth + 1)?)));
        }
        if matches!(self.peek(), Some(Tok::LParen)) {
            self.pos += 1;
            let e = self.or(depth + 1)?;
            return match self.next() {
                Some(Tok::RParen) => Ok(e),
                _ => Err(self.err("expected )")),
            };
        }
        self.term()
    }
    fn string(&mut self) -> Result<String, QueryError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            _ => {
                self.pos -= 1;
                Err(self.err("expected a quoted string"))
            }
        }
    }
    fn term(&mut self) -> Result<Query, QueryError> {
        match self.next() {
            Some(Tok::Str(value)) => {
                if !self.keyword("in") {
                    return Err(self.err("expected `in`"));
                }
                match self.next() {
                    Some(Tok::Ident(f)) if f == "parents" => Ok(Query::InParents(value)),
                    Some(Tok::Ident(f))
                        if matches!(f.as_str(), "owners" | "writers" | "readers") =>
                    {
                        Ok(Query::IsMe(
                            value == "me" || value == crate::state::USER_EMAIL,
                        ))
                    }
                    _ => {
                        self.pos -= 1;
                        Err(self.err("unsupported collection after `in`"))
                    }
                }
            }
            Some(Tok::Ident(field)) => self.field_term(&field),
            _ => {
                self.pos = self.pos.saturating_sub(1);
                Err(self.err("expected a query term"))
            }
        }
    }
    fn field_term(&mut self, field: &str) -> Result<Query, QueryError> {
        if matches!(field, "properties" | "appProperties") {
            return self.has(field == "appProperties");
        }
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(Tok::Ident(k)) if k.eq_ignore_ascii_case("contains") => "contains",
            _ => {
                self.pos -= 1;
                return Err(self.err("expected an operator"));
            }
        };
        match field {
            "name" | "mimeType" => {
                let sop = match op {
                    "=" => StrOp::Eq,
                    "!=" => StrOp::Ne,
                    "contains" => StrOp::Contains,
                    _ => return Err(self.err("operator not supported for this field")),
                };
                let v = self.string()?;
                Ok(if field == "name" {
                    Query::Name(sop, v)
                } else {
                    Query::MimeType(sop, v)
                })
            }
            "modifiedTime" | "createdTime" => {
                let cop = match op {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    "=" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    _ => return Err(self.err("operator not supported for a time")),
                };
                let raw = self.string()?;
                let t = parse_time(&raw).ok_or_else(|| self.err("not an RFC 3339 time"))?;
                let tf = if field == "modifiedTime" {
                    TimeField::Modified
                } else {
                    TimeField::Created
                };
                Ok(Query::Time(tf, cop, t))
            }
            "trashed" | "starred" | "sharedWithMe" => {
                let neg = match op {
                    "=" => false,
                    "!=" => true,
                    _ => return Err(self.err("operator not supported for a boolean")),
                };
                let v = match self.next() {
                    Some(Tok::Ident(b)) if b == "true" => true,
                    Some(Tok::Ident(b)) if b == "false" => false,
                    _ => {
                        self.pos -= 1;
                        return Err(self.err("expected true or false"));
                    }
                };
                let f = match field {
                    "trashed" => FlagField::Trashed,
                    "starred" => FlagField::Starred,
                    _ => FlagField::SharedWithMe,
                };
                Ok(Query::Flag(f, v != neg))
            }
            _ => Err(QueryError {
                at: 0,
                why: format!("unsupported query term {field}"),
            }),
        }
    }
    fn has(&mut self, app: bool) -> Result<Query, QueryError> {
        if !self.keyword("has") || self.next() != Some(Tok::LBrace) {
            return Err(self.err("expected has {"));
        }
        let mut key = None;
        let mut value = None;
        loop {
            let which = match self.next() {
                Some(Tok::Ident(w)) if w == "key" || w == "value" => w,
                _ => return Err(self.err("expected key or value")),
            };
            if self.next() != Some(Tok::Op("=")) {
                return Err(self.err("expected ="));
            }
            let s = self.string()?;
            if which == "key" {
                key = Some(s)
            } else {
                value = Some(s)
            }
            if self.keyword("and") {
                continue;
            }
            if self.next() != Some(Tok::RBrace) {
                return Err(self.err("expected }"));
            }
            break;
        }
        match (key, value) {
            (Some(key), Some(value)) => Ok(Query::HasProperty { app, key, value }),
            _ => Err(self.err("has needs both key and value")),
        }
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc())
        })
}

fn name_contains(name: &str, term: &str) -> bool {
    let name = name.to_lowercase();
    let term = term.to_lowercase();
    name.starts_with(&term)
        || name
            .match_indices(|c: char| !c.is_alphanumeric())
            .any(|(i, sep)| name[i + sep.len()..].starts_with(&term))
}

impl Query {
    /// True if `file` matches. `root_id` resolves the `root` alias in `'root' in parents`.
    pub fn matches(&self, file: &FileRecord, root_id: &str) -> bool {
        match self {
            Query::And(a, b) => a.matches(file, root_id) && b.matches(file, root_id),
            Query::Or(a, b) => a.matches(file, root_id) || b.matches(file, root_id),
            Query::Not(a) => !a.matches(file, root_id),
            Query::Name(op, v) => str_op(*op, &file.name, v, true),
            Query::MimeType(op, v) => str_op(*op, &file.mime_type, v, false),
            Query::Time(f, op, t) => {
                let ft = match f {
                    TimeField::Modified => file.modified_time,
                    TimeField::Created => file.created_time,
                };
                match op {
                    CmpOp::Lt => ft < *t,
                    CmpOp::Le => ft <= *t,
                    CmpOp::Eq => ft == *t,
                    CmpOp::Ne => ft != *t,
                    CmpOp::Gt => ft > *t,
                    CmpOp::Ge => ft >= *t,
                }
            }
            Query::Flag(f, v) => {
                let actual = match f {
                    FlagField::Trashed => file.trashed,
                    FlagField::Starred => file.starred,
                    FlagField::SharedWithMe => false,
                };
                actual == *v
            }
            Query::InParents(p) => {
                let p = if p == "root" { root_id } else { p.as_str() };
                file.parents.iter().any(|x| x == p)
            }
            Query::IsMe(me) => *me,
            Query::HasProperty { app, key, value } => {
                let map = if *app {
                    &file.app_properties
                } else {
                    &file.properties
                };
                map.get(key) == Some(value)
            }
        }
    }

    /// The folder every match must be a child of, if the query says so at its top level: lets
    /// the store look only at that folder's children.
    pub fn required_parent(&self) -> Option<&str> {
        match self {
            Query::InParents(p) => Some(p),
            Query::And(a, b) => a.required_parent().or_else(|| b.required_parent()),
            _ => None,
        }
    }
}

fn str_op(op: StrOp, actual: &str, v: &str, is_name: bool) -> bool {
    match op {
        StrOp::Eq => actual == v,
        StrOp::Ne => actual != v,
        StrOp::Contains if is_name => name_contains(actual, v),
        StrOp::Contains => actual.contains(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(name: &str, mime: &str, parent: &str, trashed: bool) -> FileRecord {
        let mut f = FileRecord::new_for_test("id1", name, mime, parent);
        f.trashed = trashed;
        f
    }

    #[test]
    fn rclone_style_query() {
        let q = parse("trashed=false and ('ROOT' in parents) and (name='x') and (mimeType='application/vnd.google-apps.folder' or mimeType='application/vnd.google-apps.shortcut')").unwrap();
        assert!(q.matches(
            &file("x", "application/vnd.google-apps.folder", "ROOT", false),
            "ROOT"
        ));
        assert!(!q.matches(&file("x", "text/plain", "ROOT", false), "ROOT"));
        assert!(!q.matches(
            &file("x", "application/vnd.google-apps.folder", "ROOT", true),
            "ROOT"
        ));
        assert_eq!(q.required_parent(), Some("ROOT"));
    }

    #[test]
    fn escapes_and_not() {
        let q = parse(r"name = 'it\'s a \\ test' and not trashed = true").unwrap();
        assert!(q.matches(&file(r"it's a \ test", "text/plain", "r", false), "r"));
    }

    #[test]
    fn name_contains_is_prefix_of_words() {
        let q = parse("name contains 'hello'").unwrap();
        assert!(q.matches(&file("HelloWorld", "t", "r", false), "r"));
        assert!(q.matches(&file("say hello.txt", "t", "r", false), "r"));
        assert!(!parse("name contains 'World'")
            .unwrap()
            .matches(&file("HelloWorld", "t", "r", false), "r"));
    }

    #[test]
    fn times_compare() {
        let mut f = file("a", "t", "r", false);
        f.modified_time = parse_time("2024-05-01T00:00:00Z").unwrap();
        assert!(parse("modifiedTime > '2024-04-30T12:00:00'")
            .unwrap()
            .matches(&f, "r"));
        assert!(!parse("modifiedTime < '2024-04-30T12:00:00+00:00'")
            .unwrap()
            .matches(&f, "r"));
    }

    #[test]
    fn root_alias_and_owner_terms() {
        let f = file("a", "t", "ROOTID", false);
        assert!(parse("'root' in parents and 'me' in owners")
            .unwrap()
            .matches(&f, "ROOTID"));
        assert!(!parse("'someone@else.com' in owners")
            .unwrap()
            .matches(&f, "ROOTID"));
    }

    #[test]
    fn unsupported_or_broken_queries_are_refused() {
        for bad in [
            "fullText contains 'x'",
            "name",
            "name = ",
            "name = 'x' and",
            "(name = 'x'",
            "name > 'a'",
            "trashed = maybe",
            "'x' in nowhere",
            "name = 'unterminated",
            "visibility = 'limited'",
            "name ~ 'x'",
            "properties has { key='a' }",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in r#"[a-zA-Z'"=!<>(){}\\ ]{0,60}"#) {
            let _ = parse(&s);
        }

        #[test]
        fn quoted_names_round_trip(name in "\\PC{0,20}") {
            let quoted = name.replace('\\', "\\\\").replace('\'', "\\'");
            let q = parse(&format!("name = '{quoted}'")).unwrap();
            prop_assert_eq!(q, Query::Name(StrOp::Eq, name));
        }
    }
}
