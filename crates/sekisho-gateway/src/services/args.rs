//! Typed access to the members of an awsJson request, with errors in the
//! shape SDKs show (`Value at 'keyId' failed to satisfy constraint: ...`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::protocol::{member_path, missing, violation_redacted};
use crate::registry::Input;

/// The members of an awsJson request.
#[derive(Clone, Copy)]
pub struct Args<'a>(pub &'a Map<String, Value>);

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Args<'a> {
    /// The members of a call's input (an empty set for other protocols).
    pub fn of(input: &'a Input) -> Args<'a> {
        match input {
            Input::Json(m) => Args(m),
            _ => Args(&EMPTY),
        }
    }

    fn wrong_type(name: &str, what: &str) -> ApiError {
        violation_redacted(name, &format!("Member must be {what}"))
    }

    /// A string member, if present (null counts as absent).
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Self::wrong_type(name, "a string")),
        }
    }

    /// A required, non-empty string member.
    pub fn required(&self, name: &str) -> Result<&'a str, ApiError> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(name)),
        }
    }

    /// A string member within `1..=max` characters.
    pub fn bounded(&self, name: &str, max: usize) -> Result<Option<&'a str>, ApiError> {
        match self.str(name)? {
            Some(s) if s.chars().count() > max => Err(violation_redacted(
                name,
                &format!("Member must have length less than or equal to {max}"),
            )),
            other => Ok(other),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::wrong_type(name, "a boolean")),
        }
    }

    /// An integer member (JSON numbers that are whole).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::wrong_type(name, "an integer")),
            Some(_) => Err(Self::wrong_type(name, "an integer")),
        }
    }

    /// An integer member within `min..=max`.
    pub fn int_in(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.int(name)? {
            Some(v) if v < min => Err(violation_redacted(
                name,
                &format!("Member must have value greater than or equal to {min}"),
            )),
            Some(v) if v > max => Err(violation_redacted(
                name,
                &format!("Member must have value less than or equal to {max}"),
            )),
            other => Ok(other),
        }
    }

    /// A timestamp member: awsJson sends epoch seconds (possibly
    /// fractional).
    pub fn epoch_seconds(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| Self::wrong_type(name, "a timestamp")),
            Some(_) => Err(Self::wrong_type(name, "a timestamp")),
        }
    }

    /// A blob member: base64 text, decoded.
    pub fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
        use base64::Engine as _;
        match self.str(name)? {
            None => Ok(None),
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Some)
                .map_err(|_| violation_redacted(name, "Member must be valid base64")),
        }
    }

    /// A map of strings to strings (`EncryptionContext`, `tags`).
    pub fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(Self::wrong_type(
                        &format!("{}.{k}", member_path(name)),
                        "a string",
                    )),
                })
                .collect(),
            Some(_) => Err(Self::wrong_type(name, "a map of strings")),
        }
    }

    /// A list of strings.
    pub fn string_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(Self::wrong_type(name, "a list of strings")),
                })
                .collect(),
            Some(_) => Err(Self::wrong_type(name, "a list of strings")),
        }
    }

    /// A list of objects.
    pub fn objects(&self, name: &str) -> Result<Vec<Args<'a>>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(Args(m)),
                    _ => Err(Self::wrong_type(name, "a list of structures")),
                })
                .collect(),
            Some(_) => Err(Self::wrong_type(name, "a list of structures")),
        }
    }

    /// A nested structure.
    pub fn object(&self, name: &str) -> Result<Option<Args<'a>>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Args(m))),
            Some(_) => Err(Self::wrong_type(name, "a structure")),
        }
    }

    /// The raw value of a member.
    pub fn value(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name)
    }
}

/// Epoch seconds as awsJson writes timestamps.
pub fn epoch(t: time::OffsetDateTime) -> Value {
    let secs = t.unix_timestamp_nanos() as f64 / 1e9;
    serde_json::Number::from_f64((secs * 1000.0).round() / 1000.0)
        .map_or(Value::Null, Value::Number)
}

/// Milliseconds since the epoch (CloudWatch Logs' timestamps).
pub fn epoch_millis(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_are_checked() {
        let v = json!({"a": "x", "n": 5, "b": true, "m": {"k": "v"}, "bad": {"k": 1}});
        let m = v.as_object().unwrap();
        let a = Args(m);
        assert_eq!(a.required("a").unwrap(), "x");
        assert!(a.required("missing").is_err());
        assert!(a.str("n").is_err());
        assert_eq!(a.int_in("n", 1, 10).unwrap(), Some(5));
        assert!(a.int_in("n", 6, 10).is_err());
        assert_eq!(a.bool("b").unwrap(), Some(true));
        assert_eq!(a.string_map("m").unwrap().get("k").unwrap(), "v");
        assert!(a.string_map("bad").is_err());
    }
}
