//! The two time formats of the trail: CloudTrail's ISO 8601 `2026-11-26T01:02:03Z`
//! in records and digests, and the compact `20261126T010203Z` in file names
//! (fixed width, so lexical order of names is time order).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const ISO: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const COMPACT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// `2026-11-26T01:02:03Z` (UTC, whole seconds), as CloudTrail writes eventTime.
pub fn iso(t: OffsetDateTime) -> String {
    // Formatting a valid date with a fixed description cannot fail for years
    // 0..=9999; the fallback keeps this total for any other year.
    t.to_offset(UtcOffset::UTC)
        .format(ISO)
        .unwrap_or_else(|_| String::from("0000-00-00T00:00:00Z"))
}

/// Parses RFC 3339 (CloudTrail's format is a subset), normalised to UTC.
pub fn parse_iso(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// `20261126T010203Z`, the time stamp inside file names.
pub fn compact(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(COMPACT)
        .unwrap_or_else(|_| String::from("00000000T000000Z"))
}

pub fn parse_compact(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, COMPACT)
        .ok()
        .map(|p| p.assume_utc())
}

/// Drops sub-second precision so times survive the whole-second formats unchanged.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
}

/// serde adapter for `OffsetDateTime` fields in the ISO format.
pub mod serde_iso {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_iso(&s).ok_or_else(|| serde::de::Error::custom("expected an ISO 8601 time"))
    }
}

/// Like [`serde_iso`] for `Option<OffsetDateTime>`.
pub mod serde_iso_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::iso(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        match s {
            None => Ok(None),
            Some(s) => super::parse_iso(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("expected an ISO 8601 time")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips() {
        let t = datetime!(2026-11-26 01:02:03 UTC);
        assert_eq!(iso(t), "2026-11-26T01:02:03Z");
        assert_eq!(parse_iso("2026-11-26T01:02:03Z"), Some(t));
        assert_eq!(compact(t), "20261126T010203Z");
        assert_eq!(parse_compact("20261126T010203Z"), Some(t));
        assert_eq!(parse_iso("2026-11-26T10:02:03+09:00"), Some(t));
        assert_eq!(parse_iso("garbage"), None);
    }
}
