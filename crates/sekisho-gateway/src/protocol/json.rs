//! awsJson 1.0 and 1.1 (KMS, CloudTrail, CloudWatch Logs): every request is
//! a `POST /` whose operation is named by `X-Amz-Target:
//! {TargetPrefix}.{Operation}` (`TrentService.Encrypt`,
//! `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail`,
//! `Logs_20140328.CreateLogGroup`) and whose body is a JSON object.
//!
//! Errors are `{"__type": "Code", "message": "…"}` with the code also in
//! `x-amzn-ErrorType`; botocore reads `__type` (taking what follows a `#`
//! and what precedes a `:`), so the plain code is sent.
//!
//! The JSON reader here ([`parse_value`]) is shared with rest-json: bounded
//! in size and depth, and it refuses duplicate object keys, so a body means
//! one thing to every reader of it.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, Response};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{ERROR_TYPE_HEADER, build_response, media_type};
use crate::error::{ApiError, Dialect, ErrorKind};

/// `Content-Type` of awsJson 1.0.
pub const CONTENT_TYPE_1_0: &str = "application/x-amz-json-1.0";
/// `Content-Type` of awsJson 1.1.
pub const CONTENT_TYPE_1_1: &str = "application/x-amz-json-1.1";
/// The header naming the operation.
pub const TARGET_HEADER: &str = "x-amz-target";

/// Which awsJson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonVersion {
    V1_0,
    V1_1,
}

impl JsonVersion {
    pub fn content_type(self) -> &'static str {
        match self {
            JsonVersion::V1_0 => CONTENT_TYPE_1_0,
            JsonVersion::V1_1 => CONTENT_TYPE_1_1,
        }
    }

    /// The version a `Content-Type` value names, if any.
    pub fn from_content_type(content_type: &str) -> Option<JsonVersion> {
        match media_type(content_type).as_str() {
            CONTENT_TYPE_1_0 => Some(JsonVersion::V1_0),
            CONTENT_TYPE_1_1 => Some(JsonVersion::V1_1),
            _ => None,
        }
    }
}

/// Bounds on a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// The body, in bytes.
    pub max_bytes: usize,
    /// Nesting of objects and arrays (the top-level object is depth 1).
    pub max_depth: usize,
}

impl Default for JsonLimits {
    fn default() -> JsonLimits {
        JsonLimits {
            max_bytes: 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Why a JSON body was refused (the protocol decides the error code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    TooLarge { max_bytes: usize },
    TooDeep { max_depth: usize },
    Syntax(String),
    NotAnObject,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::TooLarge { max_bytes } => write!(
                f,
                "The request body exceeds the maximum size of {max_bytes} bytes"
            ),
            JsonError::TooDeep { max_depth } => write!(
                f,
                "The request body is nested deeper than {max_depth} levels"
            ),
            JsonError::Syntax(detail) => write!(f, "The request body is not valid JSON: {detail}"),
            JsonError::NotAnObject => write!(f, "The request body must be a JSON object"),
        }
    }
}

impl JsonError {
    /// The error in awsJson's terms: `SerializationException` for a body
    /// that is not JSON, as AWS's JSON services answer.
    pub fn into_aws_json_error(self) -> ApiError {
        match self {
            JsonError::TooLarge { .. } => {
                ApiError::new(ErrorKind::PayloadTooLarge, self.to_string())
            }
            _ => ApiError::validation(self.to_string()).with_code("SerializationException"),
        }
    }

    /// The error in rest-json (Bedrock) terms: `ValidationException`.
    pub fn into_rest_json_error(self) -> ApiError {
        match self {
            JsonError::TooLarge { .. } => {
                ApiError::new(ErrorKind::PayloadTooLarge, self.to_string())
            }
            _ => ApiError::validation(self.to_string()),
        }
    }
}

/// Parses a JSON document within `limits`; duplicate keys in an object are
/// an error, as are non-UTF-8 text, lone surrogates and trailing data.
pub fn parse_value(body: &[u8], limits: &JsonLimits) -> Result<Value, JsonError> {
    if body.len() > limits.max_bytes {
        return Err(JsonError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = ValueSeed {
        depth: 0,
        max_depth: limits.max_depth,
    };
    let value = seed.deserialize(&mut de).map_err(|e| classify(e, limits))?;
    de.end().map_err(|e| classify(e, limits))?;
    Ok(value)
}

/// Parses a body that must be a JSON object; an empty body is `{}`.
pub fn parse_object(body: &[u8], limits: &JsonLimits) -> Result<Map<String, Value>, JsonError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if body.len() > limits.max_bytes {
            return Err(JsonError::TooLarge {
                max_bytes: limits.max_bytes,
            });
        }
        return Ok(Map::new());
    }
    match parse_value(body, limits)? {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

const TOO_DEEP: &str = "sekisho: nesting limit";

fn classify(e: serde_json::Error, limits: &JsonLimits) -> JsonError {
    let text = e.to_string();
    if text.starts_with(TOO_DEEP) || text.starts_with("recursion limit exceeded") {
        JsonError::TooDeep {
            max_depth: limits.max_depth,
        }
    } else {
        JsonError::Syntax(truncate(&text, 200))
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if text.chars().count() > max {
        out.push_str("...");
    }
    out
}

/// Builds a [`Value`] with a depth bound and no duplicate keys.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
    max_depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed {
    fn nested<E: serde::de::Error>(&self) -> Result<ValueSeed, E> {
        let depth = self.depth + 1;
        if depth > self.max_depth {
            return Err(E::custom(TOO_DEEP));
        }
        Ok(ValueSeed {
            depth,
            max_depth: self.max_depth,
        })
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested::<A::Error>()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested::<A::Error>()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format_args!(
                    "duplicate key \"{}\"",
                    truncate(&key, 64)
                )));
            }
            let value = map.next_value_seed(inner)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// An `X-Amz-Target` split at its last dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The service's target prefix (`TrentService`, `Logs_20140328`, …).
    pub prefix: &'a str,
    /// The operation name (`Encrypt`, `CreateLogGroup`, …).
    pub operation: &'a str,
}

/// Longest accepted `X-Amz-Target`.
const MAX_TARGET_LEN: usize = 256;

/// Parses `X-Amz-Target`. The prefix is letters, digits, `_` and `.`; the
/// operation letters and digits.
pub fn parse_target(value: &str) -> Result<Target<'_>, ApiError> {
    let bad = || {
        ApiError::new(
            ErrorKind::UnknownOperation,
            "The X-Amz-Target header does not name an operation of this service",
        )
    };
    if value.len() > MAX_TARGET_LEN {
        return Err(bad());
    }
    let (prefix, operation) = value.rsplit_once('.').ok_or_else(bad)?;
    let prefix_ok = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && !prefix.starts_with('.')
        && !prefix.contains("..");
    let operation_ok =
        !operation.is_empty() && operation.bytes().all(|b| b.is_ascii_alphanumeric());
    if prefix_ok && operation_ok {
        Ok(Target { prefix, operation })
    } else {
        Err(bad())
    }
}

/// A decoded awsJson request.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRequest {
    pub version: JsonVersion,
    pub target_prefix: String,
    pub operation: String,
    pub body: Map<String, Value>,
}

/// Decodes an awsJson request of a service speaking `expected`: one
/// `X-Amz-Target`, the matching `Content-Type`, a JSON object body within
/// `limits` (an empty body counts as `{}`). Whether the target prefix is
/// the service's own is for the caller to check.
pub fn parse_request(
    expected: JsonVersion,
    headers: &HeaderMap,
    body: &[u8],
    limits: &JsonLimits,
) -> Result<JsonRequest, ApiError> {
    let mut targets = headers.get_all(TARGET_HEADER).iter();
    let target = match (targets.next(), targets.next()) {
        (None, _) => {
            return Err(ApiError::new(
                ErrorKind::UnknownOperation,
                "Missing X-Amz-Target header",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorKind::UnknownOperation,
                "The X-Amz-Target header is given more than once",
            ));
        }
        (Some(v), None) => v.to_str().map_err(|_| {
            ApiError::new(
                ErrorKind::UnknownOperation,
                "The X-Amz-Target header does not name an operation of this service",
            )
        })?,
    };
    let target = parse_target(target)?;
    let mut types = headers.get_all(http::header::CONTENT_TYPE).iter();
    let version = match (types.next(), types.next()) {
        (Some(ct), None) => ct.to_str().ok().and_then(JsonVersion::from_content_type),
        _ => None,
    };
    if version != Some(expected) {
        return Err(ApiError::validation(format!(
            "The Content-Type of this service's requests must be {}",
            expected.content_type()
        )));
    }
    let body = parse_object(body, limits).map_err(JsonError::into_aws_json_error)?;
    Ok(JsonRequest {
        version: expected,
        target_prefix: target.prefix.to_owned(),
        operation: target.operation.to_owned(),
        body,
    })
}

/// A 200 response with a JSON body.
pub fn response(version: JsonVersion, body: &Value, request_id: &str) -> Response<Bytes> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    response_raw(version, Bytes::from(bytes), request_id)
}

/// A 200 response with an already-serialized JSON body.
pub fn response_raw(version: JsonVersion, body: Bytes, request_id: &str) -> Response<Bytes> {
    build_response(200, version.content_type(), request_id, &[], body)
}

/// `{"__type": "Code", "message": "…"}`.
pub fn error_body(err: &ApiError) -> Bytes {
    let mut map = Map::new();
    map.insert(
        "__type".to_owned(),
        Value::String(err.code(Dialect::Json).to_owned()),
    );
    map.insert("message".to_owned(), Value::String(err.message.clone()));
    Bytes::from(serde_json::to_vec(&Value::Object(map)).unwrap_or_default())
}

/// The awsJson error response for `err`: its status, the version's
/// content type, `x-amzn-ErrorType` and `x-amzn-RequestId`.
pub fn error_response(version: JsonVersion, err: &ApiError, request_id: &str) -> Response<Bytes> {
    build_response(
        err.kind.status(),
        version.content_type(),
        request_id,
        &[(ERROR_TYPE_HEADER, err.code(Dialect::Json))],
        error_body(err),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail")
            .unwrap();
        assert_eq!(
            t.prefix,
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
        );
        assert_eq!(t.operation, "CreateTrail");
        assert!(parse_target("NoDot").is_err());
        assert!(parse_target(".Encrypt").is_err());
        assert!(parse_target("TrentService.").is_err());
        assert!(parse_target("Trent Service.Encrypt").is_err());
        assert!(parse_target("a..b.Encrypt").is_err());
    }

    #[test]
    fn depth() {
        let limits = JsonLimits {
            max_bytes: 1 << 20,
            max_depth: 3,
        };
        assert!(parse_value(b"[[[1]]]", &limits).is_ok());
        assert_eq!(
            parse_value(b"[[[[1]]]]", &limits),
            Err(JsonError::TooDeep { max_depth: 3 })
        );
    }
}
