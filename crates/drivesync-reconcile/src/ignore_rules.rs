//! [`IgnoreRules`]: which paths a pair does not sync: built-in temporary files plus the pair's
//! `.drivesyncignore` (gitignore syntax). Applied to all three trees, so an ignored path is
//! neither uploaded, downloaded nor deleted.

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use drivesync_model::RelPath;

/// The name of the per-pair ignore file, at the pair's root.
pub const IGNORE_FILE: &str = ".drivesyncignore";

/// Always ignored: editors' lock and temporary files, OS metadata, drivesync's own partial
/// downloads, fallback trash and pair marker.
pub const BUILT_IN: &[&str] = &[
    "~$*",
    ".~lock.*",
    "*.tmp",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    ".drivesync-partial-*",
    "/.drivesync-trash/",
    "/.drivesync-pair",
    ".Trash-*",
    "/.Trash/",
];

/// A line of `.drivesyncignore` that is not valid gitignore syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{IGNORE_FILE} line {line}: {message}; fix or remove the line (it is ignored until then)")]
pub struct IgnoreError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Compiled ignore rules of one pair: the built-in rules (which a `!` line cannot undo), the
/// pair's own, and paths always left out (drivesync's own folders inside a pair).
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    built_in: Gitignore,
    matcher: Gitignore,
    left_out: Vec<RelPath>,
}

impl Default for IgnoreRules {
    fn default() -> Self {
        Self::new("").0
    }
}

impl IgnoreRules {
    /// The built-in rules plus `user` (the content of `.drivesyncignore`). Bad lines are
    /// skipped and returned, so one typo never stops the sync.
    pub fn new(user: &str) -> (Self, Vec<IgnoreError>) {
        let mut b = GitignoreBuilder::new("");
        for line in BUILT_IN {
            let _ = b.add_line(None, line);
        }
        let built_in = b.build().unwrap_or_else(|_| Gitignore::empty());
        let mut b = GitignoreBuilder::new("");
        let mut errors = Vec::new();
        for (i, line) in user.lines().enumerate() {
            if let Err(e) = b.add_line(None, line) {
                errors.push(IgnoreError {
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
        let matcher = b.build().unwrap_or_else(|_| Gitignore::empty());
        let rules = Self {
            built_in,
            matcher,
            left_out: Vec::new(),
        };
        (rules, errors)
    }

    /// These paths and everything under them are ignored whatever the rules say (drivesync's
    /// data and config folders inside a pair's folder).
    pub fn leaving_out(mut self, paths: Vec<RelPath>) -> Self {
        self.left_out = paths;
        self
    }

    /// Is `path` (a folder when `is_dir`) or one of its parent folders ignored?
    pub fn is_ignored(&self, path: &RelPath, is_dir: bool) -> bool {
        if path.is_root() {
            return false;
        }
        self.left_out.iter().any(|l| path.starts_with(l))
            || [&self.built_in, &self.matcher].iter().any(|m| {
                m.matched_path_or_any_parents(path.as_str(), is_dir)
                    .is_ignore()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn built_in_rules_cover_temporary_files() {
        let r = IgnoreRules::default();
        for path in [
            "~$report.docx",
            "a/.~lock.sheet.ods#",
            "x.tmp",
            "deep/er/.DS_Store",
            "Thumbs.db",
            ".drivesync-partial-abc",
            ".drivesync-trash/old.txt",
        ] {
            assert!(r.is_ignored(&p(path), false), "{path} not ignored");
        }
        for path in ["report.docx", "tmp", "a/b.txt", "sub/.drivesync-trash/x"] {
            assert!(!r.is_ignored(&p(path), false), "{path} ignored");
        }
    }

    #[test]
    fn built_in_rules_and_left_out_paths_cannot_be_negated() {
        let (r, _) = IgnoreRules::new("!*.tmp\n!.drivesync-partial-*\n!/.drivesync-pair\n!data/\n");
        let r = r.leaving_out(vec![p("data/drivesync")]);
        for path in [
            "x.tmp",
            ".drivesync-partial-1",
            ".drivesync-pair",
            "data/drivesync/state.sqlite3",
        ] {
            assert!(r.is_ignored(&p(path), false), "{path} not ignored");
        }
        assert!(r.is_ignored(&p("data/drivesync"), true));
        assert!(!r.is_ignored(&p("data/other.txt"), false));
        assert!(
            !r.is_ignored(&p("data/drivesync-not"), false),
            "by component, not prefix"
        );
    }

    #[test]
    fn user_rules_use_gitignore_syntax() {
        let (r, errors) = IgnoreRules::new("build/\n*.log\n!keep.log\n# comment\n/top.txt\n");
        assert!(errors.is_empty());
        assert!(r.is_ignored(&p("build"), true));
        assert!(r.is_ignored(&p("build/out/a.o"), false));
        assert!(r.is_ignored(&p("src/x.log"), false));
        assert!(!r.is_ignored(&p("keep.log"), false));
        assert!(r.is_ignored(&p("top.txt"), false));
        assert!(!r.is_ignored(&p("sub/top.txt"), false));
        assert!(!r.is_ignored(&p("build.rs"), false));
    }

    #[test]
    fn a_bad_line_is_reported_and_the_rest_applies() {
        let (r, errors) = IgnoreRules::new("*.log\n[z-a]\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
        assert!(r.is_ignored(&p("a.log"), false));
    }
}
