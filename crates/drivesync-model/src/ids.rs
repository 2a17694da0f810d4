//! Identifiers and checksums with meaning: a Drive file id is not just any string, an MD5 is 16
//! bytes shown as lower-case hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Google Drive file id (opaque, case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DriveId(String);

impl DriveId {
    /// Wraps an id as Drive returned it.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DriveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DriveId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// An MD5 digest (Drive's `md5Checksum`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Md5(pub [u8; 16]);

/// A string that is not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an MD5 checksum (32 hex digits): {0:?}")]
pub struct Md5ParseError(pub String);

impl FromStr for Md5 {
    type Err = Md5ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Md5ParseError(s.to_owned());
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5({self})")
    }
}

impl Serialize for Md5 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Md5 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_round_trips_as_lower_hex() {
        let m: Md5 = "D41D8CD98F00B204E9800998ECF8427E".parse().unwrap();
        assert_eq!(m.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            "\"d41d8cd98f00b204e9800998ecf8427e\""
        );
        assert!("xyz".parse::<Md5>().is_err());
        assert!("g41d8cd98f00b204e9800998ecf8427e".parse::<Md5>().is_err());
    }
}
