//! A strict JSON reader (RFC 8259) that keeps the byte span of every value.
//!
//! Policy errors must point at the line and column of the offending value,
//! which a plain `serde_json::Value` forgets, and the reader must bound what a
//! client controls (document size, nesting depth) before doing any work.
//! Objects keep their members in document order and keep duplicate keys, so
//! the policy layer can reject ambiguous documents instead of silently taking
//! one of the values.

use std::fmt;

/// Bounds on what a document may cost to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // The largest AWS policy type (a KMS key policy) is 32 KiB; leave room
        // for pretty-printing while keeping the reader's work bounded.
        Limits {
            max_bytes: 128 * 1024,
            max_depth: 32,
        }
    }
}

/// Byte offsets `start..end` of a value in the source document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A value with the span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A JSON value. Numbers keep their source text: IAM treats them as strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Spanned<Value>>),
    Object(Vec<(Spanned<String>, Spanned<Value>)>),
}

impl Value {
    /// The JSON type name, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonError {}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Reads one JSON document from raw bytes.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Spanned<Value>, JsonError> {
    if input.len() > limits.max_bytes {
        return Err(JsonError {
            offset: limits.max_bytes,
            line: 1,
            column: 1,
            message: format!(
                "document is {} bytes, larger than the limit of {} bytes",
                input.len(),
                limits.max_bytes
            ),
        });
    }
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            let valid = &input[..e.valid_up_to()];
            // The valid prefix is UTF-8 by construction.
            let prefix = std::str::from_utf8(valid).unwrap_or("");
            let (line, column) = line_col(prefix, prefix.len());
            return Err(JsonError {
                offset: e.valid_up_to(),
                line,
                column,
                message: format!(
                    "document is not valid UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            });
        }
    };
    parse_str(text, limits)
}

/// Reads one JSON document from text.
pub fn parse_str(text: &str, limits: &Limits) -> Result<Spanned<Value>, JsonError> {
    if text.len() > limits.max_bytes {
        return parse(text.as_bytes(), limits);
    }
    let mut reader = Reader {
        src: text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        max_depth: limits.max_depth,
    };
    // A UTF-8 byte order mark is tolerated, as AWS tolerates it.
    if text.starts_with('\u{feff}') {
        reader.pos = 3;
    }
    reader.skip_ws();
    if reader.pos >= reader.bytes.len() {
        return Err(reader.error(reader.pos, "document is empty; expected a JSON object"));
    }
    let value = reader.value()?;
    reader.skip_ws();
    if reader.pos < reader.bytes.len() {
        return Err(reader.error(reader.pos, "unexpected data after the end of the document"));
    }
    Ok(value)
}

struct Reader<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl Reader<'_> {
    fn error(&self, offset: usize, message: impl Into<String>) -> JsonError {
        let (line, column) = line_col(self.src, offset);
        JsonError {
            offset,
            line,
            column,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn found(&self) -> String {
        match self.src.get(self.pos..).and_then(|s| s.chars().next()) {
            None => "the end of the document".to_string(),
            Some(c) if c.is_control() => format!("{:?}", c),
            Some(c) => format!("'{c}'"),
        }
    }

    fn value(&mut self) -> Result<Spanned<Value>, JsonError> {
        let start = self.pos;
        let value = match self.peek() {
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => {
                return Err(self.error(
                    self.pos,
                    format!("expected a JSON value, found {}", self.found()),
                ));
            }
        };
        Ok(Spanned {
            value,
            span: Span {
                start,
                end: self.pos,
            },
        })
    }

    fn nested(
        &mut self,
        read: fn(&mut Self) -> Result<Value, JsonError>,
    ) -> Result<Value, JsonError> {
        if self.depth >= self.max_depth {
            return Err(self.error(
                self.pos,
                format!("nesting is deeper than the limit of {}", self.max_depth),
            ));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error(
                self.pos,
                format!("expected a JSON value, found {}", self.found()),
            ))
        }
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error(
                    self.pos,
                    format!(
                        "expected a member name in double quotes, found {}",
                        self.found()
                    ),
                ));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key = Spanned {
                value: key,
                span: Span {
                    start: key_start,
                    end: self.pos,
                },
            };
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error(
                    self.pos,
                    format!("expected ':' after a member name, found {}", self.found()),
                ));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => {
                    return Err(self.error(
                        self.pos,
                        format!("expected ',' or '}}' in an object, found {}", self.found()),
                    ));
                }
            }
        }
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => {
                    return Err(self.error(
                        self.pos,
                        format!("expected ',' or ']' in an array, found {}", self.found()),
                    ));
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while let Some(b'0'..=b'9') = r.peek() {
                r.pos += 1;
            }
            r.pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        if !digits(self) {
            return Err(self.error(self.pos, "expected a digit in a number"));
        }
        if self.bytes[int_start] == b'0' && self.pos - int_start > 1 {
            return Err(self.error(int_start, "numbers may not have leading zeros"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error(self.pos, "expected a digit after '.' in a number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error(self.pos, "expected a digit in a number's exponent"));
            }
        }
        Ok(Value::Number(self.src[start..self.pos].to_string()))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let open = self.pos;
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.src[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error(open, "string is not closed")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = self.pos;
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape(esc)?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.error(esc, "invalid escape sequence in a string")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.error(
                        self.pos,
                        "control character in a string; escape it (for example \\n)",
                    ));
                }
            }
        }
    }

    fn hex4(&mut self, esc: usize) -> Result<u32, JsonError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error(esc, "expected four hex digits after \\u"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error(esc, "invalid \\u escape"))
    }

    fn unicode_escape(&mut self, esc: usize) -> Result<char, JsonError> {
        let first = self.hex4(esc)?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.src[self.pos..].starts_with("\\u") {
                return Err(self.error(esc, "unpaired surrogate in a \\u escape"));
            }
            self.pos += 2;
            let second = self.hex4(esc)?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error(esc, "unpaired surrogate in a \\u escape"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error(esc, "unpaired surrogate in a \\u escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Spanned<Value>, JsonError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn reads_values_with_spans() {
        let v = read(r#" {"a": [1, "x\u00e9", true, null, -2.5e3]} "#).unwrap();
        assert_eq!(v.span, Span { start: 1, end: 42 });
        let Value::Object(members) = v.value else {
            panic!("object expected")
        };
        assert_eq!(members[0].0.value, "a");
        let Value::Array(items) = &members[0].1.value else {
            panic!("array expected")
        };
        assert_eq!(items[0].value, Value::Number("1".into()));
        assert_eq!(items[1].value, Value::String("xé".into()));
        assert_eq!(items[4].value, Value::Number("-2.5e3".into()));
        assert_eq!(
            &r#" {"a": [1, "x\u00e9", true, null, -2.5e3]} "#
                [items[2].span.start..items[2].span.end],
            "true"
        );
    }

    #[test]
    fn keeps_duplicate_keys_in_order() {
        let v = read(r#"{"a":1,"a":2}"#).unwrap();
        let Value::Object(members) = v.value else {
            panic!()
        };
        assert_eq!(members.len(), 2);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = read("{\n  \"a\": tru\n}").unwrap_err();
        assert_eq!((e.line, e.column), (2, 8));
        assert!(e.message.contains("expected a JSON value"), "{e}");
        let e = read("{\"a\": 1,}").unwrap_err();
        assert!(e.message.contains("member name"), "{e}");
        let e = read("[1 2]").unwrap_err();
        assert!(e.message.contains("',' or ']'"), "{e}");
        assert!(read("").unwrap_err().message.contains("empty"));
        assert!(read("{} x").unwrap_err().message.contains("after the end"));
        assert!(read("\"abc").unwrap_err().message.contains("not closed"));
        assert!(read("01").unwrap_err().message.contains("leading zeros"));
        assert!(
            read("\"\\ud800\"")
                .unwrap_err()
                .message
                .contains("surrogate")
        );
        assert!(read("\"a\u{1}\"").unwrap_err().message.contains("control"));
        assert_eq!(
            read("\"\\ud83d\\ude00\"").unwrap().value,
            Value::String("😀".into())
        );
    }

    #[test]
    fn bounds_size_and_depth() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        let e = read(&deep).unwrap_err();
        assert!(e.message.contains("deeper than the limit of 32"), "{e}");
        let limits = Limits {
            max_bytes: 10,
            max_depth: 4,
        };
        let e = parse(b"[1,2,3,4,5,6]", &limits).unwrap_err();
        assert!(e.message.contains("larger than the limit"), "{e}");
        // Depth is checked before recursion, so an enormous nesting cannot
        // exhaust the stack.
        let huge = "[".repeat(100_000);
        let limits = Limits {
            max_bytes: 1 << 20,
            max_depth: 32,
        };
        assert!(parse(huge.as_bytes(), &limits).is_err());
    }

    #[test]
    fn rejects_invalid_utf8_with_offset() {
        let e = parse(b"{\"a\": \"\xff\"}", &Limits::default()).unwrap_err();
        assert!(e.message.contains("not valid UTF-8"), "{e}");
        assert_eq!(e.offset, 7);
    }

    #[test]
    fn tolerates_a_byte_order_mark() {
        assert!(read("\u{feff}{}").is_ok());
    }
}
