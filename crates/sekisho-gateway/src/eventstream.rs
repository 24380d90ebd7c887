//! AWS event-stream framing for the streaming Bedrock responses
//! (`application/vnd.amazon.eventstream`), built on
//! `aws-smithy-eventstream`'s frame writer (prelude, headers, payload, both
//! CRC32s).
//!
//! * ConverseStream: one event per [`ChatEvent`] — `messageStart`
//!   `{"role"}`, `contentBlockDelta` `{"delta":{"text"},"contentBlockIndex"}`,
//!   `contentBlockStop` `{"contentBlockIndex"}`, `messageStop`
//!   `{"stopReason"}`, `metadata` `{"usage":{…},"metrics":{"latencyMs"}}`
//!   — with headers `:event-type`, `:content-type: application/json`,
//!   `:message-type: event`.
//! * InvokeModelWithResponseStream: `chunk` events whose payload is
//!   `{"bytes": "<base64 of the model-native chunk JSON>"}`.
//! * Errors mid-stream: `:message-type: exception` with `:exception-type`
//!   naming the member of the stream union (`throttlingException`,
//!   `modelStreamErrorException`, …) and a `{"message"}` payload. botocore
//!   looks the header up among the union's members, so the lower-camel
//!   member name is what makes it raise `EventStreamError` with that code;
//!   after an exception the server ends the stream.
//!
//! Names are those of botocore's bedrock-runtime model
//! (`ConverseStreamOutput`, `ResponseStream`).

use std::time::Duration;

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder, write_message_to};
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::backend::{BackendError, ChatEvent, Role, StopReason, Usage};
use crate::error::{ApiError, ErrorKind};

/// `Content-Type` of an event-stream HTTP response.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// The response header InvokeModelWithResponseStream uses for the content
/// type of the chunks.
pub const BEDROCK_CONTENT_TYPE_HEADER: &str = "X-Amzn-Bedrock-Content-Type";

/// A text delta longer than this (in bytes) is sent as several
/// `contentBlockDelta` events, so no frame comes near the 16 MiB limit of
/// the format.
pub const MAX_DELTA_BYTES: usize = 256 * 1024;

/// The largest chunk InvokeModelWithResponseStream may carry (`PartBody`
/// has `max: 1000000`).
pub const MAX_CHUNK_BYTES: usize = 1_000_000;

/// Exception messages are cut to this many bytes.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// Which streaming operation a frame belongs to; they allow different
/// exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamOperation {
    ConverseStream,
    InvokeModelWithResponseStream,
}

/// The exceptions a Bedrock response stream can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamException {
    InternalServer,
    ModelStreamError,
    Validation,
    Throttling,
    ServiceUnavailable,
    /// Only in InvokeModelWithResponseStream's `ResponseStream`.
    ModelTimeout,
}

impl StreamException {
    /// The union member name, the value of `:exception-type`
    /// (`throttlingException`).
    pub fn member_name(self) -> &'static str {
        match self {
            StreamException::InternalServer => "internalServerException",
            StreamException::ModelStreamError => "modelStreamErrorException",
            StreamException::Validation => "validationException",
            StreamException::Throttling => "throttlingException",
            StreamException::ServiceUnavailable => "serviceUnavailableException",
            StreamException::ModelTimeout => "modelTimeoutException",
        }
    }

    /// The exception's shape name (`ThrottlingException`).
    pub fn shape_name(self) -> &'static str {
        match self {
            StreamException::InternalServer => "InternalServerException",
            StreamException::ModelStreamError => "ModelStreamErrorException",
            StreamException::Validation => "ValidationException",
            StreamException::Throttling => "ThrottlingException",
            StreamException::ServiceUnavailable => "ServiceUnavailableException",
            StreamException::ModelTimeout => "ModelTimeoutException",
        }
    }

    /// Whether `op`'s stream union has this member; ConverseStream has no
    /// `modelTimeoutException`.
    pub fn allowed_in(self, op: StreamOperation) -> bool {
        !(self == StreamException::ModelTimeout && op == StreamOperation::ConverseStream)
    }

    /// `self`, or the nearest member `op` has (a model timeout in
    /// ConverseStream is a `modelStreamErrorException`).
    pub fn for_operation(self, op: StreamOperation) -> StreamException {
        if self.allowed_in(op) {
            self
        } else {
            StreamException::ModelStreamError
        }
    }

    /// The exception for an [`ErrorKind`] raised mid-stream.
    pub fn from_kind(kind: ErrorKind, op: StreamOperation) -> StreamException {
        use ErrorKind::*;
        let e = match kind {
            Throttling => StreamException::Throttling,
            ModelTimeout => StreamException::ModelTimeout,
            ModelError => StreamException::ModelStreamError,
            ModelNotReady | ServiceUnavailable => StreamException::ServiceUnavailable,
            Validation
            | MalformedPolicyDocument
            | PayloadTooLarge
            | NotFound
            | UnknownOperation => StreamException::Validation,
            _ => StreamException::InternalServer,
        };
        e.for_operation(op)
    }

    /// The exception for a backend failure mid-stream.
    pub fn from_backend(err: &BackendError, op: StreamOperation) -> StreamException {
        let e = match err {
            BackendError::Timeout(_) => StreamException::ModelTimeout,
            BackendError::Throttled => StreamException::Throttling,
            BackendError::Invalid(_) => StreamException::Validation,
            BackendError::Failed(_) => StreamException::ModelStreamError,
            BackendError::Unavailable(_) => StreamException::ServiceUnavailable,
        };
        e.for_operation(op)
    }
}

fn header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

/// An event message: `:event-type`, `:content-type: application/json`,
/// `:message-type: event`.
pub fn event_message(event_type: &'static str, payload: impl Into<Bytes>) -> Message {
    Message::new(payload)
        .add_header(header(":event-type", event_type))
        .add_header(header(":content-type", "application/json"))
        .add_header(header(":message-type", "event"))
}

/// An exception message: `:exception-type`, `:content-type:
/// application/json`, `:message-type: exception`.
pub fn exception_message(exception: StreamException, payload: impl Into<Bytes>) -> Message {
    Message::new(payload)
        .add_header(header(":exception-type", exception.member_name()))
        .add_header(header(":content-type", "application/json"))
        .add_header(header(":message-type", "exception"))
}

/// One frame on the wire. Encoding can only fail for oversized headers or
/// payloads, which this module never builds; should it fail anyway, an
/// `internalServerException` frame takes its place.
pub fn encode_message(message: &Message) -> Bytes {
    let mut out = Vec::with_capacity(message.payload().len() + 128);
    match write_message_to(message, &mut out) {
        Ok(()) => Bytes::from(out),
        Err(_) => {
            let fallback = exception_message(
                StreamException::InternalServer,
                Bytes::from_static(br#"{"message":"The event could not be encoded"}"#),
            );
            let mut out = Vec::with_capacity(128);
            match write_message_to(&fallback, &mut out) {
                Ok(()) => Bytes::from(out),
                Err(_) => Bytes::new(),
            }
        }
    }
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// Converse's name for a stop reason (`end_turn`, `max_tokens`, …).
pub fn stop_reason_name(reason: StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn => "end_turn",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ToolUse => "tool_use",
        StopReason::GuardrailIntervened => "guardrail_intervened",
        StopReason::ContentFiltered => "content_filtered",
    }
}

/// The `usage` object of Converse (`inputTokens`, `outputTokens`,
/// `totalTokens`).
pub fn usage_json(usage: &Usage) -> Value {
    json!({
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total(),
    })
}

fn latency_ms(latency: Duration) -> u64 {
    u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)
}

/// The ConverseStream message(s) for one event; a long text delta becomes
/// several `contentBlockDelta` messages of at most [`MAX_DELTA_BYTES`]
/// each, split at character boundaries.
pub fn converse_messages(event: &ChatEvent) -> Vec<Message> {
    match event {
        ChatEvent::MessageStart { role } => {
            vec![event_message(
                "messageStart",
                to_bytes(&json!({ "role": role_name(*role) })),
            )]
        }
        ChatEvent::ContentDelta { index, text } => split_text(text, MAX_DELTA_BYTES)
            .map(|piece| {
                event_message(
                    "contentBlockDelta",
                    to_bytes(&json!({ "contentBlockIndex": index, "delta": { "text": piece } })),
                )
            })
            .collect(),
        ChatEvent::ContentStop { index } => {
            vec![event_message(
                "contentBlockStop",
                to_bytes(&json!({ "contentBlockIndex": index })),
            )]
        }
        ChatEvent::MessageStop { stop_reason } => vec![event_message(
            "messageStop",
            to_bytes(&json!({ "stopReason": stop_reason_name(*stop_reason) })),
        )],
        ChatEvent::Metadata { usage, latency } => vec![event_message(
            "metadata",
            to_bytes(
                &json!({ "usage": usage_json(usage), "metrics": { "latencyMs": latency_ms(*latency) } }),
            ),
        )],
    }
}

/// The ConverseStream `metadata` event with a `trace` member (a guardrail's
/// assessments, when the call asked for its trace).
pub fn encode_converse_metadata_with_trace(
    usage: &Usage,
    latency: Duration,
    trace: &Value,
) -> Bytes {
    encode_message(&event_message(
        "metadata",
        to_bytes(&json!({
            "usage": usage_json(usage),
            "metrics": { "latencyMs": latency_ms(latency) },
            "trace": trace,
        })),
    ))
}

/// The ConverseStream frame(s) for one event, ready to send.
pub fn encode_converse_event(event: &ChatEvent) -> Bytes {
    let messages = converse_messages(event);
    if let [one] = messages.as_slice() {
        return encode_message(one);
    }
    let mut out = Vec::new();
    for message in &messages {
        out.extend_from_slice(&encode_message(message));
    }
    Bytes::from(out)
}

/// Splits `text` into pieces of at most `max` bytes at character
/// boundaries (an empty text is one empty piece).
fn split_text(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let max = max.max(4);
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        if current.len() <= max {
            rest = None;
            return Some(current);
        }
        let mut cut = max;
        while !current.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = current.split_at(cut);
        rest = Some(tail);
        Some(head)
    })
}

/// The InvokeModelWithResponseStream `chunk` message for one model-native
/// chunk (its JSON bytes, sent base64-encoded in `{"bytes": …}`). A chunk
/// over [`MAX_CHUNK_BYTES`] is refused: it cannot be split without breaking
/// the model's JSON.
pub fn chunk_message(native_chunk: &[u8]) -> Result<Message, ApiError> {
    if native_chunk.len() > MAX_CHUNK_BYTES {
        return Err(ApiError::new(
            ErrorKind::ModelError,
            format!("A response chunk exceeds the maximum of {MAX_CHUNK_BYTES} bytes"),
        ));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(native_chunk);
    let mut map = Map::new();
    map.insert("bytes".to_owned(), Value::String(encoded));
    Ok(event_message("chunk", to_bytes(&Value::Object(map))))
}

/// [`chunk_message`], encoded.
pub fn encode_chunk(native_chunk: &[u8]) -> Result<Bytes, ApiError> {
    chunk_message(native_chunk).map(|m| encode_message(&m))
}

/// An exception frame with `{"message": …}` (cut to 8 KiB), its type
/// adjusted to what `op`'s stream allows.
pub fn encode_exception(op: StreamOperation, exception: StreamException, message: &str) -> Bytes {
    let mut map = Map::new();
    map.insert(
        "message".to_owned(),
        Value::String(cut(message, MAX_MESSAGE_BYTES).to_owned()),
    );
    encode_message(&exception_message(
        exception.for_operation(op),
        to_bytes(&Value::Object(map)),
    ))
}

/// A `modelStreamErrorException` frame with the upstream model's status
/// and message (`originalStatusCode`, `originalMessage`).
pub fn encode_model_stream_error(
    message: &str,
    original_status_code: Option<u16>,
    original_message: Option<&str>,
) -> Bytes {
    let mut map = Map::new();
    map.insert(
        "message".to_owned(),
        Value::String(cut(message, MAX_MESSAGE_BYTES).to_owned()),
    );
    if let Some(code) = original_status_code.filter(|c| (100..=599).contains(c)) {
        map.insert("originalStatusCode".to_owned(), Value::from(code));
    }
    if let Some(m) = original_message {
        map.insert(
            "originalMessage".to_owned(),
            Value::String(cut(m, MAX_MESSAGE_BYTES).to_owned()),
        );
    }
    encode_message(&exception_message(
        StreamException::ModelStreamError,
        to_bytes(&Value::Object(map)),
    ))
}

/// The exception frame for an [`ApiError`] raised mid-stream.
pub fn encode_api_error(op: StreamOperation, err: &ApiError) -> Bytes {
    encode_exception(op, StreamException::from_kind(err.kind, op), &err.message)
}

/// The exception frame for a backend failure mid-stream.
pub fn encode_backend_error(op: StreamOperation, err: &BackendError) -> Bytes {
    encode_exception(op, StreamException::from_backend(err, op), &err.to_string())
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The head of a streaming response: 200, `application/vnd.amazon.eventstream`,
/// `x-amzn-RequestId`, and for InvokeModelWithResponseStream
/// `X-Amzn-Bedrock-Content-Type: application/json`.
pub fn response_builder(op: StreamOperation, request_id: &str) -> http::response::Builder {
    let builder = http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .header(
            crate::protocol::REQUEST_ID_HEADER,
            crate::protocol::header_value(request_id),
        );
    match op {
        StreamOperation::ConverseStream => builder,
        StreamOperation::InvokeModelWithResponseStream => {
            builder.header(BEDROCK_CONTENT_TYPE_HEADER, "application/json")
        }
    }
}

/// Decodes every complete frame in `bytes` (CRCs checked) — for tests and
/// for reading an upstream Bedrock stream. Trailing bytes that do not form
/// a whole frame are an error.
pub fn decode_frames(bytes: &[u8]) -> Result<Vec<Message>, String> {
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = bytes;
    let mut out = Vec::new();
    while !buf.is_empty() {
        match decoder.decode_frame(&mut buf).map_err(|e| e.to_string())? {
            DecodedFrame::Complete(message) => out.push(message),
            DecodedFrame::Incomplete => {
                return Err(format!("{} trailing bytes do not form a frame", buf.len()));
            }
        }
    }
    Ok(out)
}

/// The string value of a frame header, if present.
pub fn header_str<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        let pieces: Vec<&str> = split_text("aé日b", 4).collect();
        assert_eq!(pieces.concat(), "aé日b");
        assert!(pieces.iter().all(|p| p.len() <= 4));
        assert_eq!(split_text("", 4).collect::<Vec<_>>(), vec![""]);
    }

    #[test]
    fn cut_at_boundary() {
        assert_eq!(cut("日本", 4), "日");
        assert_eq!(cut("abc", 10), "abc");
    }
}
