//! XML responses of the AWS Query protocol (STS, IAM).
//!
//! A small writer that cannot produce malformed XML: text and attribute
//! values are escaped (`&`, `<`, `>`, `"`, `'`), characters XML 1.0 does not
//! allow at all (C0 controls other than tab, newline and carriage return;
//! U+FFFE, U+FFFF) become U+FFFD, a carriage return is written as `&#xD;` so
//! parsers keep it, and element names are sanitized. Elements are closed in
//! order, and [`XmlWriter::finish`] closes whatever is still open.
//!
//! The shapes follow botocore's `QueryParser`:
//!
//! ```text
//! <{Action}Response xmlns="{ns}">
//!   <{Action}Result>…</{Action}Result>
//!   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//! </{Action}Response>
//!
//! <ErrorResponse xmlns="{ns}">
//!   <Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
//!   <RequestId>…</RequestId>
//! </ErrorResponse>
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::Bytes;
use http::Response;
use time::OffsetDateTime;

use crate::error::{ApiError, Dialect};

/// `Content-Type` of Query responses.
pub const CONTENT_TYPE: &str = "text/xml";

/// STS's XML namespace.
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// IAM's XML namespace.
pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// An XML document under construction.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    open: Vec<String>,
}

impl XmlWriter {
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::with_capacity(512),
            open: Vec::with_capacity(8),
        }
    }

    /// Opens `<name>`.
    pub fn start(&mut self, name: &str) -> &mut Self {
        let name = element_name(name);
        self.out.push('<');
        self.out.push_str(&name);
        self.out.push('>');
        self.open.push(name.into_owned());
        self
    }

    /// Opens `<name xmlns="ns">`.
    pub fn start_ns(&mut self, name: &str, ns: &str) -> &mut Self {
        let name = element_name(name);
        self.out.push('<');
        self.out.push_str(&name);
        self.out.push_str(" xmlns=\"");
        self.out.push_str(&escape_attr(ns));
        self.out.push_str("\">");
        self.open.push(name.into_owned());
        self
    }

    /// Closes the innermost open element (nothing when none is open).
    pub fn end(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
        }
        self
    }

    /// `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        let name = element_name(name);
        self.out.push('<');
        self.out.push_str(&name);
        self.out.push('>');
        self.out.push_str(&escape_text(text));
        self.out.push_str("</");
        self.out.push_str(&name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>` when `text` is present; nothing otherwise.
    pub fn opt_element(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.element(name, text);
        }
        self
    }

    /// `<name>true|false</name>`.
    pub fn bool_element(&mut self, name: &str, value: bool) -> &mut Self {
        self.element(name, if value { "true" } else { "false" })
    }

    /// `<name>123</name>`.
    pub fn int_element(&mut self, name: &str, value: i64) -> &mut Self {
        let mut buf = String::new();
        let _ = write!(buf, "{value}");
        self.element(name, &buf)
    }

    /// `<name>2026-11-25T22:05:26Z</name>`.
    pub fn timestamp_element(&mut self, name: &str, at: OffsetDateTime) -> &mut Self {
        self.element(name, &iso8601(at))
    }

    /// `<name>…</name>` with the content written by `f`.
    pub fn nested(&mut self, name: &str, f: impl FnOnce(&mut XmlWriter)) -> &mut Self {
        let depth = self.open.len();
        self.start(name);
        f(self);
        // Close anything `f` left open, then `name` itself.
        while self.open.len() > depth {
            self.end();
        }
        self
    }

    /// `<name><member>…</member>…</name>`: one `<member>` per item, its
    /// content written by `f` (an empty list gives `<name></name>`, which
    /// botocore reads as an empty list).
    pub fn list<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut XmlWriter, T),
    ) -> &mut Self {
        self.nested(name, |w| {
            for item in items {
                w.nested("member", |w| f(w, item));
            }
        })
    }

    /// `<name><member>text</member>…</name>` for a list of strings.
    pub fn string_list<S: AsRef<str>>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.list(name, items, |w, s| {
            w.text(s.as_ref());
        })
    }

    /// `<name><member><Key>k</Key><Value>v</Value></member>…</name>`, the
    /// shape of IAM and STS tag lists.
    pub fn tag_list<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        name: &str,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.list(name, tags, |w, (k, v)| {
            w.element("Key", k.as_ref()).element("Value", v.as_ref());
        })
    }

    /// Escaped text inside the current element.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape_text(text));
        self
    }

    /// The document so far with every open element closed.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }
}

/// A complete Query response document:
/// `<{action}Response xmlns="{ns}"><{action}Result>…</{action}Result>
/// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></{action}Response>`.
///
/// `result` writes the members of the result; operations without output
/// (e.g. IAM `DeleteUser`) still get an empty result element, which
/// botocore accepts.
pub fn query_response_body(
    action: &str,
    ns: &str,
    request_id: &str,
    result: impl FnOnce(&mut XmlWriter),
) -> String {
    let mut w = XmlWriter::new();
    w.start_ns(&format!("{action}Response"), ns);
    w.nested(&format!("{action}Result"), result);
    w.nested("ResponseMetadata", |w| {
        w.element("RequestId", request_id);
    });
    w.finish()
}

/// [`query_response_body`] as an HTTP 200 response with `Content-Type:
/// text/xml` and `x-amzn-RequestId`.
pub fn query_response(
    action: &str,
    ns: &str,
    request_id: &str,
    result: impl FnOnce(&mut XmlWriter),
) -> Response<Bytes> {
    let body = query_response_body(action, ns, request_id, result);
    super::build_response(200, CONTENT_TYPE, request_id, &[], Bytes::from(body))
}

/// The Query error document for `err`.
pub fn error_body(ns: &str, err: &ApiError, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.start_ns("ErrorResponse", ns);
    w.nested("Error", |w| {
        w.element(
            "Type",
            if err.kind.is_sender_fault() {
                "Sender"
            } else {
                "Receiver"
            },
        )
        .element("Code", err.code(Dialect::Query))
        .element("Message", &err.message);
    });
    w.element("RequestId", request_id);
    w.finish()
}

/// The Query error response for `err`: its status, `text/xml`, the request
/// id in the header and in the body.
pub fn error_response(ns: &str, err: &ApiError, request_id: &str) -> Response<Bytes> {
    let body = error_body(ns, err, request_id);
    super::build_response(
        err.kind.status(),
        CONTENT_TYPE,
        request_id,
        &[],
        Bytes::from(body),
    )
}

/// ISO 8601 in UTC with seconds, as STS and IAM write timestamps:
/// `2026-11-25T22:05:26Z`. Never fails (years beyond four digits are
/// written as they are).
pub fn iso8601(at: OffsetDateTime) -> String {
    // Only a date at the very edge of the range can fail to convert; it is
    // then written in its own offset's wall-clock time.
    let at = at.checked_to_offset(time::UtcOffset::UTC).unwrap_or(at);
    let mut out = String::with_capacity(20);
    let year = at.year();
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        let _ = write!(out, "{year:+05}");
    }
    let _ = write!(
        out,
        "-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    out
}

/// [`iso8601`] from seconds since the Unix epoch (out-of-range values are
/// clamped to the representable range).
pub fn iso8601_unix(seconds: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(if seconds < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        time::macros::datetime!(9999-12-31 23:59:59 UTC)
    });
    iso8601(at)
}

/// Percent-encodes a policy document the way IAM returns documents
/// (`AssumeRolePolicyDocument`, `PolicyDocument`): RFC 3986, everything but
/// unreserved characters escaped. botocore un-quotes and parses them.
pub fn policy_document_encode(document: &str) -> String {
    let mut out = String::with_capacity(document.len() * 3 / 2);
    for b in document.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether XML 1.0 allows `c` anywhere in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes character data. Characters XML 1.0 forbids become U+FFFD.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Escapes an attribute value (also tab and newline, which attribute
/// normalization would otherwise turn into spaces).
pub fn escape_attr(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, attr: bool) -> Cow<'_, str> {
    let needs = text.chars().any(|c| {
        matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r')
            || !is_xml_char(c)
            || (attr && matches!(c, '\t' | '\n'))
    });
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' if attr => out.push_str("&#x9;"),
            '\n' if attr => out.push_str("&#xA;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An element name: letters, digits, `_`, `-`, `.` kept (not starting with
/// a digit, `-` or `.`), anything else replaced by `_`. Names come from code
/// and action names; this only guarantees well-formed output.
fn element_name(name: &str) -> Cow<'_, str> {
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ok_rest = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if ok_first(first) && chars.all(ok_rest) => Cow::Borrowed(name),
        None => Cow::Borrowed("_"),
        Some(_) => {
            let mut out = String::with_capacity(name.len() + 1);
            for (i, c) in name.chars().enumerate() {
                if i == 0 && !ok_first(c) {
                    out.push('_');
                    if ok_rest(c) {
                        out.push(c);
                    }
                } else if ok_rest(c) {
                    out.push(c);
                } else {
                    out.push('_');
                }
            }
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape_text("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f"
        );
        assert_eq!(
            escape_text("x\u{0}y\u{1b}z\u{FFFF}"),
            "x\u{FFFD}y\u{FFFD}z\u{FFFD}"
        );
        assert_eq!(escape_text("a\tb\nc\rd"), "a\tb\nc&#xD;d");
        assert_eq!(escape_attr("a\tb\nc"), "a&#x9;b&#xA;c");
        assert!(matches!(escape_text("plain 日本語"), Cow::Borrowed(_)));
    }

    #[test]
    fn names() {
        assert_eq!(
            element_name("GetCallerIdentityResponse"),
            "GetCallerIdentityResponse"
        );
        assert_eq!(element_name(""), "_");
        assert_eq!(element_name("1a<b"), "_1a_b");
        assert_eq!(element_name("x y"), "x_y");
    }

    #[test]
    fn timestamps() {
        let t = time::macros::datetime!(2026-11-25 22:05:26.789 UTC);
        assert_eq!(iso8601(t), "2026-11-25T22:05:26Z");
        let t = time::macros::datetime!(2026-11-26 07:05:26 +09:00);
        assert_eq!(iso8601(t), "2026-11-25T22:05:26Z");
        assert_eq!(iso8601_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_unix(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(iso8601_unix(i64::MIN), "1970-01-01T00:00:00Z");
    }
}
