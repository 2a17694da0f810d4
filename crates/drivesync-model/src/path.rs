//! [`RelPath`]: a path inside a sync pair, relative to its root. It is always normalized
//! (components joined by `/`, none empty, `.` or `..`, no NUL), so it can never name anything
//! outside the pair root, whatever a remote name or a local event contained.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A normalized path relative to a pair's root; the empty path is the root itself.
///
/// Ordering is by components, so a folder sorts right before its content.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RelPath(String);

/// Why a string is not a valid [`RelPath`] or path component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    /// An empty component (`a//b`, a leading or trailing `/`).
    #[error("{0:?} has an empty path component")]
    Empty(String),
    /// `.` or `..`.
    #[error("{0:?} contains `.` or `..`, which could leave the sync folder")]
    Dot(String),
    /// A NUL byte.
    #[error("{0:?} contains a NUL character")]
    Nul(String),
    /// A `/` inside a single name.
    #[error("the name {0:?} contains `/`")]
    Slash(String),
    /// A path that is not valid UTF-8 (only UTF-8 names are synced).
    #[error("{0:?} is not valid UTF-8")]
    NotUtf8(String),
}

fn check_name(name: &str, whole: &str) -> Result<(), RelPathError> {
    match name {
        "" => Err(RelPathError::Empty(whole.to_owned())),
        "." | ".." => Err(RelPathError::Dot(whole.to_owned())),
        n if n.contains('\0') => Err(RelPathError::Nul(whole.to_owned())),
        _ => Ok(()),
    }
}

impl RelPath {
    /// The pair root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Parses `a/b/c` (no leading or trailing `/`; `""` is the root).
    pub fn new(s: impl Into<String>) -> Result<Self, RelPathError> {
        let s = s.into();
        if !s.is_empty() {
            for c in s.split('/') {
                check_name(c, &s)?;
            }
        }
        Ok(Self(s))
    }

    /// The path of `p` under `root`, if it is inside it and valid UTF-8.
    pub fn from_local(root: &Path, p: &Path) -> Result<Option<Self>, RelPathError> {
        let Ok(rest) = p.strip_prefix(root) else {
            return Ok(None);
        };
        let mut out = Self::root();
        for c in rest.components() {
            match c {
                std::path::Component::Normal(n) => {
                    let n = n
                        .to_str()
                        .ok_or_else(|| RelPathError::NotUtf8(p.display().to_string()))?;
                    out = out.join(n)?;
                }
                std::path::Component::CurDir => {}
                _ => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// `self/name`; `name` must be one valid component.
    pub fn join(&self, name: &str) -> Result<Self, RelPathError> {
        if name.contains('/') {
            return Err(RelPathError::Slash(name.to_owned()));
        }
        check_name(name, name)?;
        Ok(if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}/{name}", self.0))
        })
    }

    /// The root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as `a/b/c`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The containing folder (`None` for the root).
    pub fn parent(&self) -> Option<Self> {
        if self.0.is_empty() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_owned()),
            None => Self::root(),
        })
    }

    /// The last component (`""` for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The components, root first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// Number of components (0 for the root).
    pub fn depth(&self) -> usize {
        self.components().count()
    }

    /// `self` is `other` or inside it (component-wise: `ab` is not inside `a`).
    pub fn starts_with(&self, other: &RelPath) -> bool {
        other.0.is_empty()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// `self` with its prefix `from` replaced by `to` (for moves of a folder); `None` when
    /// `self` is not inside `from`.
    pub fn rebase(&self, from: &RelPath, to: &RelPath) -> Option<RelPath> {
        if !self.starts_with(from) {
            return None;
        }
        let rest = self.0[from.0.len()..].trim_start_matches('/');
        Some(if rest.is_empty() {
            to.clone()
        } else if to.0.is_empty() {
            Self(rest.to_owned())
        } else {
            Self(format!("{}/{rest}", to.0))
        })
    }

    /// The same path with `name` as the last component.
    pub fn with_name(&self, name: &str) -> Result<Self, RelPathError> {
        self.parent().unwrap_or_else(Self::root).join(name)
    }

    /// A key equal for paths that a case-insensitive file system treats as one (Unicode
    /// lower case of every component).
    pub fn fold_key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The absolute path under `root`.
    pub fn to_path(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        for c in self.components() {
            p.push(c);
        }
        p
    }
}

impl Ord for RelPath {
    /// By components, computed on the bytes: at the first byte where the two differ, a `/`
    /// (the end of a component) sorts below any byte of a name, which is what comparing the
    /// components one by one gives. Synced trees are ordered maps of paths, so this runs on
    /// every lookup.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let key = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
        match a.iter().zip(b).position(|(x, y)| x != y) {
            Some(i) => key(a[i]).cmp(&key(b[i])),
            None => a.len().cmp(&b.len()),
        }
    }
}

impl PartialOrd for RelPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("/")
        } else {
            f.write_str(&self.0)
        }
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::str::FromStr for RelPath {
    type Err = RelPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for RelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn rejects_paths_that_could_escape_the_root() {
        for bad in ["..", "a/../b", "./a", "/a", "a/", "a//b", "a\0b"] {
            assert!(RelPath::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(p("a").join("..").is_err());
        assert!(p("a").join("b/c").is_err());
    }

    #[test]
    fn parent_name_join_and_rebase() {
        let x = p("a/b/c.txt");
        assert_eq!(x.parent(), Some(p("a/b")));
        assert_eq!(p("a").parent(), Some(RelPath::root()));
        assert_eq!(RelPath::root().parent(), None);
        assert_eq!(x.name(), "c.txt");
        assert_eq!(RelPath::root().join("a").unwrap(), p("a"));
        assert_eq!(x.rebase(&p("a/b"), &p("z")), Some(p("z/c.txt")));
        assert_eq!(x.rebase(&p("a"), &RelPath::root()), Some(p("b/c.txt")));
        assert_eq!(p("ab").rebase(&p("a"), &p("z")), None);
        assert_eq!(x.with_name("d").unwrap(), p("a/b/d"));
    }

    #[test]
    fn starts_with_is_component_wise() {
        assert!(p("a/b").starts_with(&p("a")));
        assert!(p("a").starts_with(&p("a")));
        assert!(p("a").starts_with(&RelPath::root()));
        assert!(!p("ab").starts_with(&p("a")));
    }

    #[test]
    fn a_folder_sorts_right_before_its_content() {
        let mut v = vec![p("a b"), p("a/z"), p("a"), p("a-b")];
        v.sort();
        assert_eq!(v, vec![p("a"), p("a/z"), p("a b"), p("a-b")]);
    }

    proptest::proptest! {
        /// The byte-wise order is the order of the components, compared one by one.
        #[test]
        fn order_is_by_components(
            a in proptest::collection::vec("[a/ .!\\-~\u{e9}]{1,3}", 0..4),
            b in proptest::collection::vec("[a/ .!\\-~\u{e9}]{1,3}", 0..4),
        ) {
            let path = |parts: &[String]| {
                let names: Vec<String> = parts.iter().map(|n| n.replace('/', "_")).collect();
                RelPath::new(names.join("/")).ok()
            };
            if let (Some(x), Some(y)) = (path(&a), path(&b)) {
                proptest::prop_assert_eq!(x.cmp(&y), x.components().cmp(y.components()));
                proptest::prop_assert_eq!(x.cmp(&y) == std::cmp::Ordering::Equal, x == y);
            }
        }
    }

    #[test]
    fn from_local_stays_inside_the_root() {
        let root = Path::new("/r");
        assert_eq!(
            RelPath::from_local(root, Path::new("/r/a/b")).unwrap(),
            Some(p("a/b"))
        );
        assert_eq!(RelPath::from_local(root, Path::new("/x")).unwrap(), None);
        assert_eq!(
            RelPath::from_local(root, Path::new("/r/../x")).unwrap(),
            None
        );
    }
}
