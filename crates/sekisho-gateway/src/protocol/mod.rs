//! AWS wire protocols, as pure codecs: no I/O, no networking. The server
//! reads a request, hands its parts to the decoder of the service's
//! protocol, and renders the handler's answer (or [`ApiError`]) with the
//! matching encoder.
//!
//! | protocol | services | operation selector | errors |
//! |---|---|---|---|
//! | [`query`] + [`xml`] | STS, IAM | form field `Action` | `<ErrorResponse>` XML |
//! | [`json`] (awsJson 1.0 / 1.1) | KMS, CloudTrail, Logs | `X-Amz-Target` | `{"__type","message"}` |
//! | [`restjson`] | Bedrock (all four) | method + path | `x-amzn-ErrorType` + `{"message"}` |
//!
//! Streaming responses use the event-stream framing of
//! [`crate::eventstream`].
//!
//! Every decoder is bounded (sizes, counts, depth) and answers hostile input
//! with an [`ApiError`], never a panic.

pub mod json;
pub mod query;
pub mod restjson;
pub mod xml;

use std::fmt::Write as _;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use crate::error::{ApiError, Dialect};

/// The response header that carries the request id in every protocol.
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// The header that names the error code (rest-json; also sent by awsJson).
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";

/// The wire protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// AWS Query: form-encoded requests, XML responses (STS, IAM).
    Query,
    /// awsJson 1.0 (`application/x-amz-json-1.0`).
    AwsJson10,
    /// awsJson 1.1 (`application/x-amz-json-1.1`; KMS, CloudTrail, Logs).
    AwsJson11,
    /// rest-json (Bedrock).
    RestJson,
}

impl Protocol {
    /// The error-code family of this protocol.
    pub fn dialect(self) -> Dialect {
        match self {
            Protocol::Query => Dialect::Query,
            Protocol::AwsJson10 | Protocol::AwsJson11 | Protocol::RestJson => Dialect::Json,
        }
    }

    /// The `Content-Type` of this protocol's (non-streaming) responses.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Query => xml::CONTENT_TYPE,
            Protocol::AwsJson10 => json::CONTENT_TYPE_1_0,
            Protocol::AwsJson11 => json::CONTENT_TYPE_1_1,
            Protocol::RestJson => restjson::CONTENT_TYPE,
        }
    }
}

/// Renders `err` in the exact error shape of `protocol`, with the request
/// id in the `x-amzn-RequestId` header (and, for Query, in the body).
///
/// For Query the `<ErrorResponse>` carries the STS namespace; use
/// [`error_response_ns`] to name the service's own (SDKs ignore it).
pub fn error_response(protocol: Protocol, err: &ApiError, request_id: &str) -> Response<Bytes> {
    error_response_ns(protocol, xml::STS_NS, err, request_id)
}

/// [`error_response`] with the XML namespace of the Query service (ignored
/// by the JSON protocols).
pub fn error_response_ns(
    protocol: Protocol,
    xmlns: &str,
    err: &ApiError,
    request_id: &str,
) -> Response<Bytes> {
    match protocol {
        Protocol::Query => xml::error_response(xmlns, err, request_id),
        Protocol::AwsJson10 => json::error_response(json::JsonVersion::V1_0, err, request_id),
        Protocol::AwsJson11 => json::error_response(json::JsonVersion::V1_1, err, request_id),
        Protocol::RestJson => restjson::error_response(err, request_id),
    }
}

/// A fresh request id (a random UUID, the form AWS uses).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Builds a response with status, content type, request id and body. A
/// request id or header value that is not a valid header value is replaced,
/// never a panic.
pub(crate) fn build_response(
    status: u16,
    content_type: &'static str,
    request_id: &str,
    extra: &[(&'static str, &str)],
    body: Bytes,
) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    headers.insert(REQUEST_ID_HEADER, header_value(request_id));
    for (name, value) in extra {
        headers.insert(*name, header_value(value));
    }
    response
}

/// A header value from arbitrary text: visible ASCII kept, anything else
/// replaced by `_` so the value is always valid.
pub(crate) fn header_value(text: &str) -> HeaderValue {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && let Ok(value) = HeaderValue::from_str(text)
    {
        return value;
    }
    let cleaned: String = text
        .chars()
        .take(1024)
        .map(|c| if (' '..='~').contains(&c) { c } else { '_' })
        .collect();
    HeaderValue::from_str(&cleaned).unwrap_or(HeaderValue::from_static("-"))
}

// ---------------------------------------------------------------------------
// Validation messages in the AWS ("Coral") style.
// ---------------------------------------------------------------------------

/// Collects constraint violations and renders them the way AWS does:
/// `1 validation error detected: Value null at 'roleArn' failed to satisfy
/// constraint: Member must not be null` (several joined with `; `).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations {
    items: Vec<String>,
}

/// How many violations are spelled out in one message; AWS stops at a
/// handful too.
const MAX_LISTED_VIOLATIONS: usize = 10;

impl Violations {
    pub fn new() -> Violations {
        Violations::default()
    }

    /// A required member is missing.
    pub fn missing(&mut self, member: &str) {
        self.push(member, None, "Member must not be null");
    }

    /// A member's value breaks a constraint. `value` is shown quoted when
    /// it is short and printable (never pass a secret); `None` shows `null`.
    pub fn push(&mut self, member: &str, value: Option<&str>, constraint: &str) {
        let value = match value {
            None => "null".to_owned(),
            Some(v) => display_value(v),
        };
        self.items.push(format!(
            "Value {value} at '{}' failed to satisfy constraint: {constraint}",
            member_path(member)
        ));
    }

    /// A member's value breaks a constraint; the value is not shown (for
    /// strings that may be secret: external ids, token codes, policies).
    pub fn push_redacted(&mut self, member: &str, constraint: &str) {
        self.items.push(format!(
            "Value at '{}' failed to satisfy constraint: {constraint}",
            member_path(member)
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The message, or `None` when nothing was violated.
    pub fn message(&self) -> Option<String> {
        if self.items.is_empty() {
            return None;
        }
        let n = self.items.len();
        let mut out = format!(
            "{n} validation error{} detected: ",
            if n == 1 { "" } else { "s" }
        );
        for (i, item) in self.items.iter().take(MAX_LISTED_VIOLATIONS).enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(item);
        }
        Some(out)
    }

    /// `Ok(())` when nothing was violated, else a Validation [`ApiError`].
    pub fn into_result(self) -> Result<(), ApiError> {
        match self.message() {
            None => Ok(()),
            Some(message) => Err(ApiError::validation(message)),
        }
    }
}

/// One violation as an error.
pub fn violation(member: &str, value: Option<&str>, constraint: &str) -> ApiError {
    let mut v = Violations::new();
    v.push(member, value, constraint);
    ApiError::validation(v.message().unwrap_or_default())
}

/// One violation as an error, the value not shown.
pub fn violation_redacted(member: &str, constraint: &str) -> ApiError {
    let mut v = Violations::new();
    v.push_redacted(member, constraint);
    ApiError::validation(v.message().unwrap_or_default())
}

/// A missing required member as an error.
pub fn missing(member: &str) -> ApiError {
    violation(member, None, "Member must not be null")
}

/// The member path as AWS prints it: each name segment with a lower-case
/// first letter, and list indexes before `member` (`Tags.member.1.Key` →
/// `tags.1.member.key`).
pub fn member_path(name: &str) -> String {
    let segments: Vec<&str> = name.split('.').collect();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < segments.len() {
        let seg = segments[i];
        let next_is_index = segments
            .get(i + 1)
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        if !out.is_empty() {
            out.push('.');
        }
        if (seg == "member" || seg == "entry") && next_is_index {
            out.push_str(segments[i + 1]);
            out.push('.');
            out.push_str(seg);
            i += 2;
            continue;
        }
        let mut chars = seg.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_lowercase());
            out.push_str(chars.as_str());
        }
        i += 1;
    }
    out
}

/// A value quoted for a message: short printable values as `'value'`,
/// anything else elided.
fn display_value(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() <= MAX && !value.chars().any(char::is_control) {
        format!("'{value}'")
    } else {
        let mut out = String::from("'");
        for c in value.chars().filter(|c| !c.is_control()).take(MAX) {
            out.push(c);
        }
        let _ = write!(out, "...'");
        out
    }
}

// ---------------------------------------------------------------------------
// Percent-decoding shared by the query and rest-json decoders.
// ---------------------------------------------------------------------------

/// Why percent-decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// `%` not followed by two hex digits (also `%` at the end).
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Percent-decodes `input` exactly once. With `plus_is_space`, `+` means a
/// space (form encoding). Fails on a bad escape or non-UTF-8 result.
pub(crate) fn percent_decode(input: &str, plus_is_space: bool) -> Result<String, DecodeError> {
    let bytes = input.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(input.to_owned());
    }
    percent_decode_bytes(bytes, plus_is_space)
}

/// [`percent_decode`] of raw bytes (which need not be UTF-8 before
/// decoding; the result must be).
pub(crate) fn percent_decode_bytes(
    bytes: &[u8],
    plus_is_space: bool,
) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(DecodeError::BadEscape),
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The media type of a `Content-Type` value, lower-cased, without
/// parameters (`application/x-amz-json-1.1; charset=utf-8` →
/// `application/x-amz-json-1.1`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths() {
        assert_eq!(member_path("RoleArn"), "roleArn");
        assert_eq!(member_path("Tags.member.1.Key"), "tags.1.member.key");
        assert_eq!(
            member_path("PolicyArns.member.12.arn"),
            "policyArns.12.member.arn"
        );
        assert_eq!(member_path(""), "");
        assert_eq!(member_path("a..b"), "a..b");
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%3Ab", false).unwrap(), "a:b");
        assert_eq!(percent_decode("a+b", true).unwrap(), "a b");
        assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
        assert_eq!(percent_decode("%", false), Err(DecodeError::BadEscape));
        assert_eq!(percent_decode("%4", false), Err(DecodeError::BadEscape));
        assert_eq!(percent_decode("%zz", false), Err(DecodeError::BadEscape));
        assert_eq!(percent_decode("%ff", false), Err(DecodeError::NotUtf8));
        assert_eq!(percent_decode("%2541", false).unwrap(), "%41");
    }

    #[test]
    fn violations_render() {
        let mut v = Violations::new();
        assert!(v.clone().into_result().is_ok());
        v.missing("RoleArn");
        assert_eq!(
            v.message().unwrap(),
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
        );
        v.push(
            "DurationSeconds",
            Some("10"),
            "Member must have value greater than or equal to 900",
        );
        assert!(
            v.message()
                .unwrap()
                .starts_with("2 validation errors detected: ")
        );
        assert!(
            v.message()
                .unwrap()
                .contains("; Value '10' at 'durationSeconds'")
        );
    }

    #[test]
    fn header_values_never_fail() {
        assert_eq!(header_value("abc").to_str().unwrap(), "abc");
        assert_eq!(header_value("a\nb\u{0}c").to_str().unwrap(), "a_b_c");
        assert_eq!(header_value("日本").to_str().unwrap(), "__");
    }
}
