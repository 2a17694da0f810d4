//! Names: how a Drive name becomes a local name that can exist on disk, how link files for
//! Google Docs are named, and the names of conflict copies. All pure; the rules are listed
//! in SEMANTICS.md.

use chrono::{DateTime, Utc};
use md5::{Digest, Md5 as Md5Hasher};

/// The longest file name (in bytes) on common local file systems.
pub const MAX_NAME_BYTES: usize = 255;

/// Which local names are impossible, besides the universal ones (`/`, NUL, `.`, `..`, empty,
/// too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NameRules {
    /// Also map what Windows cannot store: `<>:"\|?*`, trailing dots and spaces, and the
    /// reserved device names (`CON`, `NUL`, `COM1`...).
    pub windows: bool,
    /// The local file system ignores case, so `A` and `a` in one folder collide.
    pub case_insensitive: bool,
    /// Google Docs, Sheets and Slides appear locally as Office files exported from Drive
    /// (`.docx`, `.xlsx`, `.pptx`) instead of link files (the pair setting `export_docs`).
    pub export_docs: bool,
}

impl NameRules {
    /// The rules of the platform this was built for (Windows and macOS are case-insensitive
    /// by default).
    pub fn native() -> Self {
        Self {
            windows: cfg!(windows),
            case_insensitive: cfg!(any(windows, target_os = "macos")),
            export_docs: false,
        }
    }

    /// The key under which two local names collide.
    pub fn key(&self, name: &str) -> String {
        if self.case_insensitive {
            name.to_lowercase()
        } else {
            name.to_owned()
        }
    }
}

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// The extension of the local link file standing for a Google Workspace file or shortcut of
/// this MIME type (as Google Drive for desktop names them).
pub fn link_extension(mime_type: &str) -> &'static str {
    match mime_type.strip_prefix("application/vnd.google-apps.") {
        Some("document") => ".gdoc",
        Some("spreadsheet") => ".gsheet",
        Some("presentation") => ".gslides",
        Some("drawing") => ".gdraw",
        Some("form") => ".gform",
        Some("map") => ".gmap",
        Some("site") => ".gsite",
        Some("jam") => ".gjam",
        Some("script") => ".gscript",
        Some("fusiontable") => ".gtable",
        _ => ".glink",
    }
}

/// The Office format a Google Workspace type is exported to when a pair exports Docs:
/// the local extension and the export MIME type. `None` for types without one (drawings,
/// forms...), which stay link files.
pub fn office_export(mime_type: &str) -> Option<(&'static str, &'static str)> {
    match mime_type.strip_prefix("application/vnd.google-apps.") {
        Some("document") => Some((
            ".docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )),
        Some("spreadsheet") => Some((
            ".xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )),
        Some("presentation") => Some((
            ".pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        )),
        _ => None,
    }
}

/// The extension a Google Workspace file or shortcut of this MIME type gets locally under
/// `rules`: its Office extension when Docs are exported, its link extension otherwise.
pub fn google_suffix(mime_type: &str, rules: &NameRules) -> &'static str {
    match office_export(mime_type) {
        Some((ext, _)) if rules.export_docs => ext,
        _ => link_extension(mime_type),
    }
}

/// Whether the local file at `path`, standing for a Google file of `mime_type`, is an Office
/// export (its content comes from Drive's export) rather than a link file. Decided by the
/// name, which always ends with the suffix drivesync gave it, so a synced export is
/// recognized after the pair's setting changed.
pub fn is_export(name: &str, mime_type: &str) -> bool {
    office_export(mime_type).is_some_and(|(ext, _)| name.ends_with(ext))
}

/// Every link-file extension drivesync writes; a new local file with one of them is not
/// uploaded (it is a link, not content).
pub const LINK_EXTENSIONS: [&str; 11] = [
    ".gdoc", ".gsheet", ".gslides", ".gdraw", ".gform", ".gmap", ".gsite", ".gjam", ".gscript",
    ".gtable", ".glink",
];

/// Is this the name of a link file?
pub fn is_link_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    LINK_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// The visible stand-in of a character no local name gets, on any system: C0 controls and
/// DEL become their control pictures (`␊` for a newline), C1 controls and the characters that
/// reorder text (bidi overrides, isolates and marks, which can make `exe.txt` of `txt.exe`)
/// become U+FFFD. `None` for other characters.
pub fn invisible(c: char) -> Option<char> {
    match c {
        '\u{1}'..='\u{1F}' => char::from_u32(0x2400 + c as u32),
        '\u{7F}' => Some('\u{2421}'),
        '\u{80}'..='\u{9F}'
        | '\u{61C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some('\u{FFFD}'),
        _ => None,
    }
}

/// `text` with the characters [`invisible`] maps replaced, for terminal output and
/// notifications: a name from Drive cannot move the cursor, clear the screen or reorder
/// what is shown.
pub fn shown(text: &str) -> String {
    text.chars().map(|c| invisible(c).unwrap_or(c)).collect()
}

fn fullwidth(c: char) -> char {
    match c {
        '/' => '\u{2215}',
        '\0' => '\u{2400}',
        '<' => '\u{FF1C}',
        '>' => '\u{FF1E}',
        ':' => '\u{FF1A}',
        '"' => '\u{FF02}',
        '\\' => '\u{FF3C}',
        '|' => '\u{FF5C}',
        '?' => '\u{FF1F}',
        '*' => '\u{FF0A}',
        '.' => '\u{FF0E}',
        ' ' => '\u{3000}',
        c => c,
    }
}

/// Splits `name` into stem and extension (`"a.tar.gz"` -> `("a.tar", ".gz")`; a leading dot
/// is part of the stem: `".bashrc"` -> `(".bashrc", "")`).
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// `stem<insert>ext`, shortening the stem (on a character boundary) so the result fits in
/// [`MAX_NAME_BYTES`].
pub fn with_insert(name: &str, insert: &str) -> String {
    let (stem, ext) = split_ext(name);
    let ext = if ext.len() > 32 { "" } else { ext };
    let stem = if ext.is_empty() { name } else { stem };
    let room = MAX_NAME_BYTES.saturating_sub(insert.len() + ext.len());
    let mut cut = stem.len().min(room);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{insert}{ext}", &stem[..cut])
}

/// The local name for a Drive `name` of `kind`, by `rules`: impossible characters become
/// look-alikes, `.`/`..` become full-width dots, over-long names are shortened with a hash,
/// and Google Docs get their link extension. The synced tree keeps the Drive name, so the
/// mapping is reversed by lookup, never by parsing.
pub fn local_name(drive_name: &str, link_mime: Option<&str>, rules: &NameRules) -> String {
    let mut name: String = drive_name
        .chars()
        .map(|c| match c {
            '/' | '\0' => fullwidth(c),
            '<' | '>' | ':' | '"' | '\\' | '|' | '?' | '*' if rules.windows => fullwidth(c),
            c => invisible(c).unwrap_or(c),
        })
        .collect();
    if name.is_empty() {
        name = "(unnamed)".to_owned();
    }
    if name == "." || name == ".." {
        name = name.chars().map(fullwidth).collect();
    }
    if let Some(mime) = link_mime {
        name.push_str(google_suffix(mime, rules));
    }
    if rules.windows {
        while name.ends_with('.') || name.ends_with(' ') {
            let last = name.pop().map(fullwidth).unwrap_or('_');
            name.push(last);
            if !name.ends_with('.') && !name.ends_with(' ') {
                break;
            }
        }
        let (stem, _) = split_ext(&name);
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
            name = with_insert(&name, "_");
        }
    }
    if name.len() > MAX_NAME_BYTES {
        let digest = Md5Hasher::digest(drive_name.as_bytes());
        let tag = format!(
            "~{:02x}{:02x}{:02x}{:02x}",
            digest[0], digest[1], digest[2], digest[3]
        );
        name = with_insert(&name, &tag);
    }
    name
}

/// The Drive name for a local `name` when an entry is created or renamed locally: the same
/// name, except that a name equal to the mapping of `previous` (the Drive name the synced tree
/// has) keeps `previous`, and a link file drops its extension.
pub fn drive_name(name: &str, previous: Option<(&str, Option<&str>)>, rules: &NameRules) -> String {
    if let Some((prev, link_mime)) = previous {
        if local_name(prev, link_mime, rules) == name {
            return prev.to_owned();
        }
        if let Some(mime) = link_mime {
            if let Some(stem) = name.strip_suffix(google_suffix(mime, rules)) {
                return stem.to_owned();
            }
        }
    }
    name.to_owned()
}

/// The `n`th name (n >= 2) for duplicates in one folder: `a (2).txt`.
pub fn numbered(name: &str, n: u32) -> String {
    with_insert(name, &format!(" ({n})"))
}

/// The name of a conflict copy: `name (conflict <host> <YYYY-MM-DD HHMMSS>).ext`, with ` 2`,
/// ` 3`... added inside the parentheses for the `attempt`th try when that name is taken.
pub fn conflict_name(name: &str, host: &str, now: DateTime<Utc>, attempt: u32) -> String {
    let when = now.format("%Y-%m-%d %H%M%S");
    let insert = if attempt <= 1 {
        format!(" (conflict {host} {when})")
    } else {
        format!(" (conflict {host} {when} {attempt})")
    };
    with_insert(name, &insert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const UNIX: NameRules = NameRules {
        windows: false,
        case_insensitive: false,
        export_docs: false,
    };
    const WIN: NameRules = NameRules {
        windows: true,
        case_insensitive: true,
        export_docs: false,
    };

    #[test]
    fn impossible_names_get_look_alikes() {
        assert_eq!(local_name("a/b", None, &UNIX), "a\u{2215}b");
        assert_eq!(local_name("a\0b", None, &UNIX), "a\u{2400}b");
        assert_eq!(local_name("..", None, &UNIX), "\u{FF0E}\u{FF0E}");
        assert_eq!(local_name(".", None, &UNIX), "\u{FF0E}");
        assert_eq!(local_name("", None, &UNIX), "(unnamed)");
        assert_eq!(local_name("plain.txt", None, &UNIX), "plain.txt");
        assert_eq!(local_name("a:b?", None, &UNIX), "a:b?");
    }

    #[test]
    fn control_and_reordering_characters_never_reach_a_local_name() {
        assert_eq!(
            local_name("a\nb\tc\u{1b}[2J", None, &UNIX),
            "a\u{240A}b\u{2409}c\u{241B}[2J"
        );
        assert_eq!(local_name("del\u{7f}", None, &UNIX), "del\u{2421}");
        assert_eq!(
            local_name("invoice\u{202E}txt.exe", None, &UNIX),
            "invoice\u{FFFD}txt.exe"
        );
        assert_eq!(
            local_name("x\u{2066}y\u{200F}\u{85}", None, &UNIX),
            "x\u{FFFD}y\u{FFFD}\u{FFFD}"
        );
        assert_eq!(local_name("é ü 日本", None, &UNIX), "é ü 日本");
        assert_eq!(shown("a\u{1b}]0;x\u{7}b"), "a\u{241B}]0;x\u{2407}b");
    }

    #[test]
    fn windows_rules_map_reserved_names_and_trailing_dots() {
        assert_eq!(local_name("a:b?", None, &WIN), "a\u{FF1A}b\u{FF1F}");
        assert_eq!(local_name("CON", None, &WIN), "CON_");
        assert_eq!(local_name("nul.txt", None, &WIN), "nul_.txt");
        assert_eq!(local_name("end.", None, &WIN), "end\u{FF0E}");
        assert_eq!(local_name("end ", None, &WIN), "end\u{3000}");
        assert_eq!(local_name("CONSOLE", None, &WIN), "CONSOLE");
    }

    #[test]
    fn long_names_are_shortened_with_a_stable_hash() {
        let long = format!("{}.txt", "é".repeat(200));
        let a = local_name(&long, None, &UNIX);
        assert!(a.len() <= MAX_NAME_BYTES, "{}", a.len());
        assert!(a.ends_with(".txt"));
        assert_eq!(a, local_name(&long, None, &UNIX));
        let other = format!("{}x.txt", "é".repeat(200));
        assert_ne!(a, local_name(&other, None, &UNIX));
    }

    #[test]
    fn docs_get_link_extensions_and_map_back() {
        let doc = "application/vnd.google-apps.document";
        assert_eq!(local_name("Plan", Some(doc), &UNIX), "Plan.gdoc");
        assert_eq!(
            drive_name("Plan.gdoc", Some(("Plan", Some(doc))), &UNIX),
            "Plan"
        );
        assert_eq!(
            drive_name("New.gdoc", Some(("Plan", Some(doc))), &UNIX),
            "New"
        );
        assert!(is_link_name("x.GSHEET"));
        assert!(!is_link_name("x.txt"));
    }

    #[test]
    fn mapped_names_map_back_by_lookup() {
        assert_eq!(
            drive_name("a\u{2215}b", Some(("a/b", None)), &UNIX),
            "a/b",
            "an unchanged mapped name keeps its Drive name"
        );
        assert_eq!(drive_name("c", Some(("a/b", None)), &UNIX), "c");
        assert_eq!(drive_name("new", None, &UNIX), "new");
    }

    #[test]
    fn conflict_and_duplicate_names() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 15, 0).unwrap();
        assert_eq!(
            conflict_name("report.txt", "laptop", now, 1),
            "report (conflict laptop 2026-11-23 101500).txt"
        );
        assert_eq!(
            conflict_name(".bashrc", "pc", now, 2),
            ".bashrc (conflict pc 2026-11-23 101500 2)"
        );
        assert_eq!(numbered("a.txt", 2), "a (2).txt");
        assert_eq!(numbered("folder", 3), "folder (3)");
    }
}
