//! The scenario language: parsing a `.scn` file into steps, and the name helpers the
//! steps and checks share.

use super::*;

#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) known_bug: Option<String>,
    pub(crate) unprivileged: bool,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) line: usize,
    pub(crate) text: String,
    pub(crate) words: Vec<String>,
}

pub(crate) fn parse(text: &str) -> Result<Script> {
    let mut s = Script::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if let Some(why) = c.strip_prefix("known-bug:") {
                s.known_bug = Some(why.trim().to_owned());
            } else if c == "unprivileged" {
                s.unprivileged = true;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let words = tokens(line).with_context(|| format!("line {}: {line}", i + 1))?;
        s.steps.push(Step {
            line: i + 1,
            text: line.to_owned(),
            words,
        });
    }
    Ok(s)
}

/// Splits on white space; `"..."` quotes, with `\n`, `\t`, `\0`, `\\` and `\"` escapes.
pub(crate) fn tokens(line: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut t = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => bail!("unterminated quote"),
                    Some('"') => break,
                    Some('\\') => t.push(match chars.next() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('0') => '\0',
                        Some('\\') => '\\',
                        Some('"') => '"',
                        other => bail!("unknown escape \\{other:?}"),
                    }),
                    Some(c) => t.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                t.push(c);
                chars.next();
            }
        }
        out.push(t);
    }
}

/// A content argument: the text itself, or `@SIZE[:SEED]` for SIZE (`300K`, `20M`, bytes)
/// pseudo-random bytes.
pub(crate) fn content(spec: &str) -> Result<Vec<u8>> {
    let Some(rest) = spec.strip_prefix('@') else {
        return Ok(spec.as_bytes().to_vec());
    };
    let (size, seed) = rest.split_once(':').unwrap_or((rest, "1"));
    let n: u64 = match size.as_bytes().last() {
        Some(b'K') => size[..size.len() - 1].parse::<u64>()? << 10,
        Some(b'M') => size[..size.len() - 1].parse::<u64>()? << 20,
        _ => size.parse()?,
    };
    let mut x: u64 = seed.parse::<u64>()?.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n as usize);
    while (out.len() as u64) < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n as usize);
    Ok(out)
}

pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    let d = Md5::digest(bytes);
    d.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn preview(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
    if bytes.len() > 40 {
        format!("{s:?}... ({} bytes)", bytes.len())
    } else {
        format!("{s:?}")
    }
}

pub(crate) fn parts(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect()
}

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

pub(crate) fn split_parent(path: &str) -> (String, String) {
    let p = parts(path);
    let (name, dir) = p.split_last().map_or(("", &[][..]), |(n, d)| (*n, d));
    (dir.join("/"), name.to_owned())
}

/// `a.txt` -> (`a`, `.txt`); a leading dot is not an extension.
pub(crate) fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// `name` is `orig` numbered for a duplicate: `a (2).txt` for `a.txt`.
pub(crate) fn is_numbered(name: &str, orig: &str) -> bool {
    let (stem, ext) = split_ext(orig);
    name.strip_prefix(stem)
        .and_then(|r| r.strip_suffix(ext))
        .and_then(|r| r.strip_prefix(" ("))
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2))
}

/// `name` is a conflict copy of `orig`: `a (conflict testhost 2026-11-23 101500[ N]).txt`.
pub(crate) fn is_conflict_copy(name: &str, orig: &str) -> bool {
    let (stem, ext) = split_ext(orig);
    let Some(mid) = name
        .strip_prefix(&format!("{stem} (conflict {HOST} "))
        .and_then(|r| r.strip_suffix(&format!("){ext}")))
    else {
        return false;
    };
    let w: Vec<&str> = mid.split(' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let date_ok = w.first().is_some_and(|d| {
        let d: Vec<&str> = d.split('-').collect();
        d.len() == 3 && digits(d[0], 4) && digits(d[1], 2) && digits(d[2], 2)
    });
    date_ok
        && w.get(1).is_some_and(|t| digits(t, 6))
        && (w.len() == 2 || (w.len() == 3 && w[2].parse::<u32>().is_ok()))
}

/// `name` is the local name of a Drive name longer than 255 bytes: the stem cut, then `~`
/// and 8 hex digits of the Drive name's MD5 before the extension.
pub(crate) fn is_shortened(name: &str, drive_name: &str) -> bool {
    let (stem, ext) = split_ext(drive_name);
    let tag = format!("~{}{ext}", &md5_hex(drive_name.as_bytes())[..8]);
    drive_name.len() > 255
        && name.len() <= 255
        && name
            .strip_suffix(&tag)
            .is_some_and(|cut| !cut.is_empty() && stem.starts_with(cut))
}

pub(crate) fn is_app(f: &SnapshotFile) -> bool {
    f.mime_type.starts_with(APPS_PREFIX) && f.mime_type != FOLDER_MIME
}

/// The local name of a Drive file on Linux (SEMANTICS.md section 6), before numbering.
pub(crate) fn local_name(f: &SnapshotFile) -> String {
    let mut n = match f.name.as_str() {
        "" => "(unnamed)".to_owned(),
        "." => "\u{FF0E}".to_owned(),
        ".." => "\u{FF0E}\u{FF0E}".to_owned(),
        s => s
            .chars()
            .map(|c| match c {
                '/' => '\u{2215}',
                '\0' => '\u{2400}',
                c => drivesync_reconcile::invisible(c).unwrap_or(c),
            })
            .collect(),
    };
    if is_app(f) {
        n.push_str(link_extension(&f.mime_type));
    }
    n
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
