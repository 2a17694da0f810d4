//! How values are written to and read from columns.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use drivesync_model::Kind;
use rusqlite::types::Type;
use rusqlite::Row;

/// A time as stored: RFC 3339 in UTC with nanoseconds (exact, sortable, readable).
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A `u64` as stored: SQLite integers are signed 64-bit, so the same 64 bits are kept
/// (values above `i64::MAX` read as negative in SQL, and come back exactly).
pub(crate) fn u64_sql(v: u64) -> i64 {
    v as i64
}

/// The inverse of [`u64_sql`].
pub(crate) fn u64_from(v: i64) -> u64 {
    v as u64
}

/// A [`Kind`] as stored.
pub(crate) fn kind(k: Kind) -> &'static str {
    match k {
        Kind::File => "file",
        Kind::Folder => "folder",
        Kind::Link => "link",
    }
}

/// The column `idx` of `row` parsed from its text, an unreadable value reported as a
/// conversion failure (which [`crate::StateError::sql`] turns into `Corrupt`).
pub(crate) fn parse<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Like [`parse`] for a nullable column.
pub(crate) fn parse_opt<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
    })
    .transpose()
}

/// The [`Kind`] in column `idx`.
pub(crate) fn parse_kind(row: &Row<'_>, idx: usize) -> rusqlite::Result<Kind> {
    let s: String = row.get(idx)?;
    match s.as_str() {
        "file" => Ok(Kind::File),
        "folder" => Ok(Kind::Folder),
        "link" => Ok(Kind::Link),
        _ => Err(rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Text,
            format!("unknown kind {s:?}").into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_keeps_all_64_bits() {
        for v in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(u64_from(u64_sql(v)), v);
        }
    }

    #[test]
    fn times_round_trip_exactly() {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(time(t), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(time(t).parse::<DateTime<Utc>>().unwrap(), t);
    }
}
