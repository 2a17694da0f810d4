//! Steps as text, one a line, so a failing case prints a reproduction that a regression test
//! pastes back ([`parse`]) and a person can read:
//!
//! ```text
//! local write "a/c.txt" "L3 a/c.txt\n"
//! drive mv "a" "b/a"
//! sync advance=60 random=42:100 fault=update-content:5xx:after:1 disk-full crash=7:before
//!   during 3 drive write "a/c.txt" "D4 a/c.txt\n"
//! ```
//!
//! Verbs (`local` and `drive`): `write PATH TEXT`, `save PATH TEXT` (local), `append PATH
//! TEXT`, `truncate PATH LEN`, `mkdir PATH`, `rm PATH` (local), `trash PATH` (drive),
//! `delete-forever PATH` (drive), `mv FROM TO`, `file-to-folder PATH`, `folder-to-file PATH
//! TEXT`, `dup PATH TEXT` (drive), `edit-same-stamp PATH TEXT` (local: an edit that keeps the
//! file's size and mtime), `unmount` and `mount` (local: the pair's disk unplugged and back). Strings are quoted as Rust's `{:?}` does.

use std::fmt;

use crate::gen::{
    CrashSpec, During, FaultKind, FaultRule, FaultSpec, LocalOp, RemoteCall, RemoteOp, Step,
    SyncSpec,
};

struct Q<'a>(&'a str);

impl fmt::Display for Q<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for LocalOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalOp::Write { path, text } => write!(f, "local write {} {}", Q(path), Q(text)),
            LocalOp::Save { path, text } => write!(f, "local save {} {}", Q(path), Q(text)),
            LocalOp::Append { path, text } => write!(f, "local append {} {}", Q(path), Q(text)),
            LocalOp::Truncate { path, len } => write!(f, "local truncate {} {len}", Q(path)),
            LocalOp::Mkdir { path } => write!(f, "local mkdir {}", Q(path)),
            LocalOp::Remove { path } => write!(f, "local rm {}", Q(path)),
            LocalOp::Move { from, to } => write!(f, "local mv {} {}", Q(from), Q(to)),
            LocalOp::FileToFolder { path } => write!(f, "local file-to-folder {}", Q(path)),
            LocalOp::FolderToFile { path, text } => {
                write!(f, "local folder-to-file {} {}", Q(path), Q(text))
            }
            LocalOp::EditSameStamp { path, text } => {
                write!(f, "local edit-same-stamp {} {}", Q(path), Q(text))
            }
            LocalOp::Unmount => write!(f, "local unmount"),
            LocalOp::Mount => write!(f, "local mount"),
        }
    }
}

impl fmt::Display for RemoteOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteOp::Write { path, text } => write!(f, "drive write {} {}", Q(path), Q(text)),
            RemoteOp::Append { path, text } => write!(f, "drive append {} {}", Q(path), Q(text)),
            RemoteOp::Truncate { path, len } => write!(f, "drive truncate {} {len}", Q(path)),
            RemoteOp::Mkdir { path } => write!(f, "drive mkdir {}", Q(path)),
            RemoteOp::Trash { path } => write!(f, "drive trash {}", Q(path)),
            RemoteOp::DeleteForever { path } => write!(f, "drive delete-forever {}", Q(path)),
            RemoteOp::Move { from, to } => write!(f, "drive mv {} {}", Q(from), Q(to)),
            RemoteOp::FileToFolder { path } => write!(f, "drive file-to-folder {}", Q(path)),
            RemoteOp::FolderToFile { path, text } => {
                write!(f, "drive folder-to-file {} {}", Q(path), Q(text))
            }
            RemoteOp::Duplicate { path, text } => write!(f, "drive dup {} {}", Q(path), Q(text)),
        }
    }
}

impl fmt::Display for SyncSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sync advance={}", self.advance)?;
        if let Some(fs) = &self.faults {
            write!(f, " random={}:{}", fs.seed, fs.permille)?;
            for r in &fs.rules {
                write!(
                    f,
                    " fault={}:{}:{}:{}",
                    r.call.map_or("*", RemoteCall::name),
                    r.kind.name(),
                    if r.after { "after" } else { "before" },
                    r.count
                )?;
            }
            if fs.disk_full {
                write!(f, " disk-full")?;
            }
        }
        if let Some(c) = &self.crash {
            write!(
                f,
                " crash={}:{}",
                c.at,
                if c.after { "after" } else { "before" }
            )?;
        }
        for d in &self.during {
            write!(f, "\n  during {} {}", d.at, d.op)?;
        }
        Ok(())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Local(op) => op.fmt(f),
            Step::Remote(op) => op.fmt(f),
            Step::Sync(s) => s.fmt(f),
        }
    }
}

/// `steps` as a script, one step a line (a sync's `during` lines indented below it).
pub fn to_script(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        out.push_str(&s.to_string());
        out.push('\n');
    }
    out
}

/// The words of a line: bare words and `{:?}`-quoted strings.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else {
            return Ok(out);
        };
        if c != '"' {
            let mut w = String::new();
            while let Some(&c) = chars.peek().filter(|c| !c.is_whitespace()) {
                w.push(c);
                chars.next();
            }
            out.push(w);
            continue;
        }
        chars.next();
        let mut w = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("unterminated string in {line:?}")),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => w.push('\n'),
                    Some('t') => w.push('\t'),
                    Some('r') => w.push('\r'),
                    Some('0') => w.push('\0'),
                    Some(c @ ('\\' | '"' | '\'')) => w.push(c),
                    Some('u') => {
                        let mut hex = String::new();
                        if chars.next() != Some('{') {
                            return Err(format!("bad \\u escape in {line:?}"));
                        }
                        for c in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                            hex.push(c);
                        }
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad \\u escape in {line:?}"))?;
                        w.push(c);
                    }
                    other => return Err(format!("bad escape {other:?} in {line:?}")),
                },
                Some(c) => w.push(c),
            }
        }
        out.push(w);
    }
}

fn num<T: std::str::FromStr>(s: &str, line: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("not a number: {s:?} in {line:?}"))
}

fn op_of(w: &[String], line: &str) -> Result<Step, String> {
    let bad = || format!("cannot read step {line:?}");
    let s = |i: usize| w.get(i).cloned().ok_or_else(bad);
    let side = w.first().ok_or_else(bad)?.as_str();
    let verb = w.get(1).ok_or_else(bad)?.as_str();
    let n = w.len();
    let step = match (side, verb, n) {
        ("local", "write", 4) => Step::Local(LocalOp::Write {
            path: s(2)?,
            text: s(3)?,
        }),
        ("local", "save", 4) => Step::Local(LocalOp::Save {
            path: s(2)?,
            text: s(3)?,
        }),
        ("local", "append", 4) => Step::Local(LocalOp::Append {
            path: s(2)?,
            text: s(3)?,
        }),
        ("local", "truncate", 4) => Step::Local(LocalOp::Truncate {
            path: s(2)?,
            len: num(&s(3)?, line)?,
        }),
        ("local", "mkdir", 3) => Step::Local(LocalOp::Mkdir { path: s(2)? }),
        ("local", "rm", 3) => Step::Local(LocalOp::Remove { path: s(2)? }),
        ("local", "mv", 4) => Step::Local(LocalOp::Move {
            from: s(2)?,
            to: s(3)?,
        }),
        ("local", "edit-same-stamp", 4) => Step::Local(LocalOp::EditSameStamp {
            path: s(2)?,
            text: s(3)?,
        }),
        ("local", "unmount", 2) => Step::Local(LocalOp::Unmount),
        ("local", "mount", 2) => Step::Local(LocalOp::Mount),
        ("local", "file-to-folder", 3) => Step::Local(LocalOp::FileToFolder { path: s(2)? }),
        ("local", "folder-to-file", 4) => Step::Local(LocalOp::FolderToFile {
            path: s(2)?,
            text: s(3)?,
        }),
        ("drive", "write", 4) => Step::Remote(RemoteOp::Write {
            path: s(2)?,
            text: s(3)?,
        }),
        ("drive", "append", 4) => Step::Remote(RemoteOp::Append {
            path: s(2)?,
            text: s(3)?,
        }),
        ("drive", "truncate", 4) => Step::Remote(RemoteOp::Truncate {
            path: s(2)?,
            len: num(&s(3)?, line)?,
        }),
        ("drive", "mkdir", 3) => Step::Remote(RemoteOp::Mkdir { path: s(2)? }),
        ("drive", "trash", 3) => Step::Remote(RemoteOp::Trash { path: s(2)? }),
        ("drive", "delete-forever", 3) => Step::Remote(RemoteOp::DeleteForever { path: s(2)? }),
        ("drive", "mv", 4) => Step::Remote(RemoteOp::Move {
            from: s(2)?,
            to: s(3)?,
        }),
        ("drive", "file-to-folder", 3) => Step::Remote(RemoteOp::FileToFolder { path: s(2)? }),
        ("drive", "folder-to-file", 4) => Step::Remote(RemoteOp::FolderToFile {
            path: s(2)?,
            text: s(3)?,
        }),
        ("drive", "dup", 4) => Step::Remote(RemoteOp::Duplicate {
            path: s(2)?,
            text: s(3)?,
        }),
        _ => return Err(bad()),
    };
    Ok(step)
}

fn sync_of(w: &[String], line: &str) -> Result<SyncSpec, String> {
    let mut spec = SyncSpec::default();
    for word in &w[1..] {
        let (key, value) = word.split_once('=').unwrap_or((word.as_str(), ""));
        match key {
            "advance" => spec.advance = num(value, line)?,
            "random" => {
                let (seed, p) = value
                    .split_once(':')
                    .ok_or_else(|| format!("random=SEED:PERMILLE in {line:?}"))?;
                let f = spec.faults.get_or_insert_with(FaultSpec::default);
                f.seed = num(seed, line)?;
                f.permille = num(p, line)?;
            }
            "fault" => {
                let parts: Vec<&str> = value.split(':').collect();
                let [call, kind, when, count] = parts[..] else {
                    return Err(format!("fault=CALL:KIND:WHEN:COUNT in {line:?}"));
                };
                let call = match call {
                    "*" => None,
                    c => Some(RemoteCall::parse(c).ok_or_else(|| format!("unknown call {c:?}"))?),
                };
                let kind =
                    FaultKind::parse(kind).ok_or_else(|| format!("unknown fault {kind:?}"))?;
                let rule = FaultRule {
                    call,
                    kind,
                    after: when == "after",
                    count: num(count, line)?,
                };
                spec.faults
                    .get_or_insert_with(FaultSpec::default)
                    .rules
                    .push(rule);
            }
            "disk-full" => spec.faults.get_or_insert_with(FaultSpec::default).disk_full = true,
            "crash" => {
                let (at, when) = value
                    .split_once(':')
                    .ok_or_else(|| format!("crash=N:before|after in {line:?}"))?;
                spec.crash = Some(CrashSpec {
                    at: num(at, line)?,
                    after: when == "after",
                });
            }
            other => return Err(format!("unknown sync option {other:?} in {line:?}")),
        }
    }
    Ok(spec)
}

/// Reads a script (see the module docs); blank lines and `#` comments are skipped.
pub fn parse(script: &str) -> Result<Vec<Step>, String> {
    let mut out: Vec<Step> = Vec::new();
    for line in script.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let w = words(t)?;
        match w[0].as_str() {
            "sync" => out.push(Step::Sync(sync_of(&w, t)?)),
            "during" => {
                let at = num(w.get(1).map_or("", String::as_str), t)?;
                let op = op_of(&w[2..], t)?;
                match out.last_mut() {
                    Some(Step::Sync(s)) => s.during.push(During { at, op }),
                    _ => return Err(format!("`during` must follow a sync: {t:?}")),
                }
            }
            _ => out.push(op_of(&w, t)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{Gen, GenConfig, View};
    use drivesync_model::Kind;

    #[test]
    fn scripts_read_back_what_they_print() {
        let mut view = View::default();
        for p in ["a", "a/b", "C.txt"] {
            view.local.insert(p.into(), Kind::Folder);
            view.remote.insert(p.into(), Kind::Folder);
        }
        for p in [
            "a/c.txt",
            "a (conflict h 2026-01-01 000000).txt",
            "x\"y\\z\u{7}é",
        ] {
            view.local.insert(p.into(), Kind::File);
            view.remote.insert(p.into(), Kind::File);
        }
        let mut g = Gen::new(3, GenConfig::default());
        let steps: Vec<Step> = (0..2000).map(|_| g.next_step(&view)).collect();
        let text = to_script(&steps);
        assert_eq!(parse(&text).unwrap(), steps);
    }
}
