//! The AWS Query protocol (STS, IAM): requests as
//! `application/x-www-form-urlencoded` bodies (or the URL query of a GET),
//! `Action` and `Version` among the parameters.
//!
//! Lists and maps are flattened exactly as botocore's `QuerySerializer`
//! writes them:
//!
//! | shape | keys |
//! |---|---|
//! | list of strings | `Names.member.1`, `Names.member.2`, … (`TransitiveTagKeys.member.N`) |
//! | list of structures | `Tags.member.1.Key`, `Tags.member.1.Value`, `PolicyArns.member.1.arn` |
//! | map | `Attributes.entry.1.key`, `Attributes.entry.1.value` |
//! | empty list | `Names=` (the bare name with an empty value) |
//!
//! Parsing is strict where leniency would let two readers of one request
//! disagree: a bad `%` escape, non-UTF-8 text and a parameter given twice
//! are errors, not guesses. Everything is bounded by [`QueryLimits`].

use std::collections::BTreeMap;

use http::Method;

use super::{
    DecodeError, Violations, media_type, percent_decode_bytes, violation, violation_redacted,
};
use crate::error::{ApiError, ErrorKind};

/// The media type of Query request bodies.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Bounds on a Query request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// The encoded input (URL query plus body), in bytes.
    pub max_bytes: usize,
    /// How many parameters.
    pub max_params: usize,
    /// A decoded parameter name, in bytes.
    pub max_name_bytes: usize,
    /// A decoded parameter value, in bytes (IAM policy documents may hold
    /// 131,072 characters).
    pub max_value_bytes: usize,
    /// The largest list or map index (`member.N`, `entry.N`).
    pub max_list_index: u32,
}

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits {
            max_bytes: 1024 * 1024,
            max_params: 1000,
            max_name_bytes: 256,
            max_value_bytes: 512 * 1024,
            max_list_index: 1000,
        }
    }
}

/// The decoded parameters of a Query request, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    params: Vec<(String, String)>,
    action: String,
    version: Option<String>,
    max_list_index: u32,
}

/// Longest accepted `Action` value.
const MAX_ACTION_LEN: usize = 128;

impl QueryParams {
    /// Parses a form-encoded body (or URL query) with the default limits.
    pub fn parse(input: &[u8]) -> Result<QueryParams, ApiError> {
        QueryParams::parse_with(input, &QueryLimits::default())
    }

    /// Parses a form-encoded body (or URL query).
    pub fn parse_with(input: &[u8], limits: &QueryLimits) -> Result<QueryParams, ApiError> {
        QueryParams::from_sources(&[input], limits)
    }

    /// Parses a Query request from its parts: the URL query for `GET`; for
    /// `POST` the form body (which must be `application/x-www-form-urlencoded`
    /// when not empty) together with any URL query parameters. A parameter
    /// may appear once across both.
    pub fn from_request(
        method: &Method,
        uri_query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
        limits: &QueryLimits,
    ) -> Result<QueryParams, ApiError> {
        let query = uri_query.unwrap_or("").as_bytes();
        if *method == Method::GET {
            QueryParams::from_sources(&[query], limits)
        } else if *method == Method::POST {
            if !body.is_empty() {
                let ok = content_type.is_some_and(|ct| media_type(ct) == FORM_CONTENT_TYPE);
                if !ok {
                    return Err(ApiError::validation(format!(
                        "The Content-Type of a Query request must be {FORM_CONTENT_TYPE}"
                    )));
                }
            }
            QueryParams::from_sources(&[query, body], limits)
        } else {
            Err(ApiError::validation(
                "The Query protocol accepts GET and POST requests only",
            ))
        }
    }

    fn from_sources(sources: &[&[u8]], limits: &QueryLimits) -> Result<QueryParams, ApiError> {
        let total: usize = sources.iter().map(|s| s.len()).sum();
        if total > limits.max_bytes {
            return Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "The request exceeds the maximum size of {} bytes",
                    limits.max_bytes
                ),
            ));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        for source in sources {
            for piece in source.split(|&b| b == b'&') {
                if piece.is_empty() {
                    continue;
                }
                if params.len() >= limits.max_params {
                    return Err(ApiError::validation(format!(
                        "The request has more than {} parameters",
                        limits.max_params
                    )));
                }
                let position = params.len() + 1;
                let (raw_name, raw_value) = match piece.iter().position(|&b| b == b'=') {
                    Some(eq) => (&piece[..eq], &piece[eq + 1..]),
                    None => (piece, &b""[..]),
                };
                let name = decode_part(raw_name, position, "name")?;
                if name.is_empty() {
                    return Err(malformed(format!(
                        "parameter #{position} has an empty name"
                    )));
                }
                if name.len() > limits.max_name_bytes {
                    return Err(malformed(format!(
                        "parameter #{position} has a name longer than {} bytes",
                        limits.max_name_bytes
                    )));
                }
                if raw_value.len() > limits.max_value_bytes.saturating_mul(3) {
                    return Err(value_too_long(&name, limits));
                }
                let value = decode_part(raw_value, position, "value")?;
                if value.len() > limits.max_value_bytes {
                    return Err(value_too_long(&name, limits));
                }
                if seen.insert(name.clone(), ()).is_some() {
                    return Err(malformed(format!(
                        "the parameter '{}' is given more than once",
                        printable(&name)
                    )));
                }
                params.push((name, value));
            }
        }
        let action = match params.iter().find(|(k, _)| k == "Action") {
            None => return Err(ApiError::validation("Missing Action").with_code("MissingAction")),
            Some((_, a)) if a.is_empty() => {
                return Err(ApiError::validation("Missing Action").with_code("MissingAction"));
            }
            Some((_, a)) => a.clone(),
        };
        if action.len() > MAX_ACTION_LEN || !action.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::new(
                ErrorKind::UnknownOperation,
                "The action is not valid for this web service.",
            ));
        }
        let version = params
            .iter()
            .find(|(k, _)| k == "Version")
            .map(|(_, v)| v.clone());
        Ok(QueryParams {
            params,
            action,
            version,
            max_list_index: limits.max_list_index,
        })
    }

    /// The `Action` parameter (ASCII letters and digits, never empty).
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The `Version` parameter, if given.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The error for an action this endpoint does not serve, worded as AWS
    /// words it: `Could not find operation X for version Y`.
    pub fn unknown_action_error(&self) -> ApiError {
        ApiError::new(
            ErrorKind::UnknownOperation,
            format!(
                "Could not find operation {} for version {}",
                self.action,
                self.version
                    .as_deref()
                    .map(printable)
                    .unwrap_or_else(|| "NO_VERSION_SPECIFIED".to_owned())
            ),
        )
    }

    /// How many parameters (`Action` and `Version` included).
    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// All parameters in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of an optional parameter (same as [`QueryParams::get`]).
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    /// The value of a required parameter; missing → `Value null at 'name'
    /// failed to satisfy constraint: Member must not be null`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| super::missing(name))
    }

    /// An optional string whose length (in characters) must be within
    /// `min..=max`.
    pub fn string_len(&self, name: &str, min: usize, max: usize) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => check_len(name, v, min, max).map(Some),
        }
    }

    /// A required string whose length (in characters) must be within
    /// `min..=max`.
    pub fn required_len(&self, name: &str, min: usize, max: usize) -> Result<&str, ApiError> {
        check_len(name, self.required(name)?, min, max)
    }

    /// An optional integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_int(v)
                .map(Some)
                .ok_or_else(|| violation(name, Some(v), "Member must be a number")),
        }
    }

    /// An optional integer within `min..=max`, with AWS's wording when out
    /// of range (`Member must have value greater than or equal to 900`).
    pub fn int_in(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.int(name)? {
            None => Ok(None),
            Some(n) if n < min => Err(violation(
                name,
                self.get(name),
                &format!("Member must have value greater than or equal to {min}"),
            )),
            Some(n) if n > max => Err(violation(
                name,
                self.get(name),
                &format!("Member must have value less than or equal to {max}"),
            )),
            Some(n) => Ok(Some(n)),
        }
    }

    /// An optional boolean (`true` / `false`, any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(violation(
                name,
                Some(v),
                "Member must be a boolean (true or false)",
            )),
        }
    }

    /// Whether `name` or any flattened member of it (`name.…`) was given.
    pub fn contains(&self, name: &str) -> bool {
        self.params.iter().any(|(k, _)| {
            k == name
                || (k.len() > name.len() && k.starts_with(name) && k.as_bytes()[name.len()] == b'.')
        })
    }

    /// A list of strings, `name.member.1`, `name.member.2`, … in index
    /// order (`name=` alone is an empty list; absent is an empty list too —
    /// use [`QueryParams::contains`] to tell them apart).
    pub fn list(&self, name: &str) -> Result<Vec<&str>, ApiError> {
        let items = self.indexed(name, "member")?;
        let mut out = Vec::with_capacity(items.len());
        for (index, fields) in items {
            match fields.as_slice() {
                [("", value)] => out.push(*value),
                _ => {
                    return Err(violation_redacted(
                        &format!("{name}.member.{index}"),
                        "Member must be a string, not a structure",
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A list of structures, `name.member.N.Field`, in index order.
    pub fn struct_list(&self, name: &str) -> Result<Vec<QueryStruct<'_>>, ApiError> {
        let items = self.indexed(name, "member")?;
        let mut out = Vec::with_capacity(items.len());
        for (index, fields) in items {
            if fields.iter().any(|(field, _)| field.is_empty()) {
                return Err(violation_redacted(
                    &format!("{name}.member.{index}"),
                    "Member must be a structure, not a string",
                ));
            }
            out.push(QueryStruct {
                path: format!("{name}.member.{index}"),
                index,
                fields,
            });
        }
        Ok(out)
    }

    /// A list of tags, `name.member.N.Key` and `name.member.N.Value` (both
    /// required), the shape of IAM's and STS's `Tags`.
    pub fn tags(&self, name: &str) -> Result<Vec<(&str, &str)>, ApiError> {
        let items = self.struct_list(name)?;
        let mut violations = Violations::new();
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            match (item.get("Key"), item.get("Value")) {
                (Some(k), Some(v)) => out.push((k, v)),
                (k, v) => {
                    if k.is_none() {
                        violations.missing(&format!("{}.Key", item.path));
                    }
                    if v.is_none() {
                        violations.missing(&format!("{}.Value", item.path));
                    }
                }
            }
        }
        violations.into_result()?;
        Ok(out)
    }

    /// A map, `name.entry.N.key` and `name.entry.N.value`, in index order.
    pub fn map(&self, name: &str) -> Result<Vec<(&str, &str)>, ApiError> {
        let items = self.indexed(name, "entry")?;
        let mut out = Vec::with_capacity(items.len());
        let mut violations = Violations::new();
        for (index, fields) in items {
            let get = |f: &str| fields.iter().find(|(k, _)| *k == f).map(|(_, v)| *v);
            match (get("key"), get("value")) {
                (Some(k), Some(v)) => out.push((k, v)),
                (k, v) => {
                    if k.is_none() {
                        violations.missing(&format!("{name}.entry.{index}.key"));
                    }
                    if v.is_none() {
                        violations.missing(&format!("{name}.entry.{index}.value"));
                    }
                }
            }
        }
        violations.into_result()?;
        Ok(out)
    }

    /// Groups `name.{kind}.N[.field]` by N. Each item holds its fields as
    /// `(field, value)` where `field` is `""` for a plain value.
    #[allow(clippy::type_complexity)]
    fn indexed(&self, name: &str, kind: &str) -> Result<Vec<(u32, Vec<(&str, &str)>)>, ApiError> {
        let mut items: BTreeMap<u32, Vec<(&str, &str)>> = BTreeMap::new();
        for (key, value) in &self.params {
            if key == name {
                if !value.is_empty() {
                    return Err(violation_redacted(name, "Member must be a list"));
                }
                continue;
            }
            let Some(rest) = key
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.strip_prefix(kind))
                .and_then(|r| r.strip_prefix('.'))
            else {
                if key.starts_with(name) && key.as_bytes().get(name.len()) == Some(&b'.') {
                    return Err(violation_redacted(
                        key,
                        &format!("Member must be flattened as {name}.{kind}.N"),
                    ));
                }
                continue;
            };
            let (index_text, field) = match rest.find('.') {
                Some(dot) => (&rest[..dot], &rest[dot + 1..]),
                None => (rest, ""),
            };
            let index = parse_index(index_text)
                .filter(|&i| i <= self.max_list_index)
                .ok_or_else(|| {
                    violation_redacted(
                        key,
                        &format!(
                            "the list index must be a whole number from 1 to {} (got '{}')",
                            self.max_list_index,
                            printable(index_text)
                        ),
                    )
                })?;
            if rest.len() > index_text.len() && field.is_empty() {
                return Err(violation_redacted(
                    key,
                    "Member must name a field after the index",
                ));
            }
            let fields = items.entry(index).or_default();
            if fields.iter().any(|(f, _)| f.is_empty()) || (field.is_empty() && !fields.is_empty())
            {
                return Err(violation_redacted(
                    key,
                    "Member must be either a value or a structure",
                ));
            }
            fields.push((field, value.as_str()));
        }
        Ok(items.into_iter().collect())
    }

    /// [`QueryParams::list`] with at most `max_items` items.
    pub fn list_bounded(&self, name: &str, max_items: usize) -> Result<Vec<&str>, ApiError> {
        let items = self.list(name)?;
        if items.len() > max_items {
            return Err(violation_redacted(
                name,
                &format!("Member must have length less than or equal to {max_items}"),
            ));
        }
        Ok(items)
    }
}

/// One structure of a flattened list (`Tags.member.3.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryStruct<'a> {
    path: String,
    index: u32,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> QueryStruct<'a> {
    /// The 1-based index in the request.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The flattened path, e.g. `Tags.member.3`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A field's value (`Key`, `arn`, …), if given.
    pub fn get(&self, field: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| *v)
    }

    /// A required field; missing → a validation error naming
    /// `tags.3.member.key`.
    pub fn required(&self, field: &str) -> Result<&'a str, ApiError> {
        self.get(field)
            .ok_or_else(|| super::missing(&format!("{}.{field}", self.path)))
    }

    /// All fields in request order (nested fields keep their dotted names).
    pub fn fields(&self) -> &[(&'a str, &'a str)] {
        &self.fields
    }
}

fn decode_part(raw: &[u8], position: usize, what: &str) -> Result<String, ApiError> {
    percent_decode_bytes(raw, true).map_err(|e| match e {
        DecodeError::BadEscape => malformed(format!(
            "the {what} of parameter #{position} has an invalid percent-encoding"
        )),
        DecodeError::NotUtf8 => malformed(format!(
            "the {what} of parameter #{position} is not valid UTF-8"
        )),
    })
}

fn malformed(detail: String) -> ApiError {
    ApiError::validation(format!(
        "The request has a malformed query string: {detail}"
    ))
}

fn value_too_long(name: &str, limits: &QueryLimits) -> ApiError {
    violation_redacted(
        name,
        &format!(
            "Member must have length less than or equal to {}",
            limits.max_value_bytes
        ),
    )
}

/// Length in characters within `min..=max`; the value is not echoed in
/// the error (string parameters can be secrets: `ExternalId`, `TokenCode`).
fn check_len<'v>(name: &str, value: &'v str, min: usize, max: usize) -> Result<&'v str, ApiError> {
    let n = value.chars().count();
    if n < min {
        Err(violation_redacted(
            name,
            &format!("Member must have length greater than or equal to {min}"),
        ))
    } else if n > max {
        Err(violation_redacted(
            name,
            &format!("Member must have length less than or equal to {max}"),
        ))
    } else {
        Ok(value)
    }
}

/// A decimal integer: optional sign, ASCII digits only, no spaces.
fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A list index: 1, 2, … without leading zeros.
fn parse_index(text: &str) -> Option<u32> {
    if text.is_empty()
        || text.len() > 9
        || text.starts_with('0')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

/// Text safe to quote in a message: control characters dropped, at most
/// 64 characters.
fn printable(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    if text.chars().count() > 64 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic() {
        let q = QueryParams::parse(b"Action=GetCallerIdentity&Version=2011-06-15").unwrap();
        assert_eq!(q.action(), "GetCallerIdentity");
        assert_eq!(q.version(), Some("2011-06-15"));
    }

    #[test]
    fn index_rules() {
        assert_eq!(parse_index("1"), Some(1));
        assert_eq!(parse_index("01"), None);
        assert_eq!(parse_index("0"), None);
        assert_eq!(parse_index("-1"), None);
        assert_eq!(parse_index("9999999999"), None);
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int("3600"), Some(3600));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int(" 5"), None);
        assert_eq!(parse_int("5.0"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
    }
}
