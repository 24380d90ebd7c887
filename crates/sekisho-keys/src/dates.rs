//! Date encodings: KMS JSON sends epoch seconds as a number (botocore's
//! `timestamp` in the json protocol); persisted records use RFC 3339 so no
//! precision is lost across a restart.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Epoch seconds with millisecond precision, as KMS returns them.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    millis as f64 / 1000.0
}

/// `serde(with)` for `OffsetDateTime` as epoch seconds (API output).
pub(crate) mod epoch {
    use super::*;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(epoch_seconds(*t))
    }
}

/// `serde(with)` for `Option<OffsetDateTime>` as epoch seconds (API output).
pub(crate) mod epoch_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_f64(epoch_seconds(*t)),
            None => s.serialize_none(),
        }
    }
}

/// `serde(with)` for RFC 3339 dates (persisted records).
pub(crate) mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

/// `serde(with)` for optional RFC 3339 dates (persisted records).
pub(crate) mod rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(epoch_seconds(t), 1_700_000_000.123);
    }
}
