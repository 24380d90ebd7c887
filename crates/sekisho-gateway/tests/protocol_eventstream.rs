//! Event-stream frames for ConverseStream and InvokeModelWithResponseStream,
//! decoded back with aws-smithy-eventstream's reader (which checks both
//! CRCs) and compared with botocore's bedrock-runtime model.

use std::time::Duration;

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::Message;
use base64::Engine as _;
use sekisho_gateway::backend::{BackendError, ChatEvent, Role, StopReason, Usage};
use sekisho_gateway::error::{ApiError, ErrorKind};
use sekisho_gateway::eventstream::{
    self, CONTENT_TYPE, MAX_CHUNK_BYTES, MAX_DELTA_BYTES, StreamException, StreamOperation,
    decode_frames, encode_api_error, encode_backend_error, encode_chunk, encode_converse_event,
    encode_exception, encode_model_stream_error, header_str,
};
use serde_json::{Value, json};

fn one(bytes: &[u8]) -> Message {
    let mut buf = bytes;
    let m = read_message_from(&mut buf).expect("frame decodes with valid CRCs");
    assert!(buf.is_empty(), "exactly one frame");
    m
}

fn payload(m: &Message) -> Value {
    serde_json::from_slice(m.payload()).unwrap()
}

fn headers(m: &Message) -> Vec<(String, String)> {
    m.headers()
        .iter()
        .map(|h| {
            (
                h.name().as_str().to_owned(),
                h.value().as_string().unwrap().as_str().to_owned(),
            )
        })
        .collect()
}

fn assert_event(m: &Message, event_type: &str) {
    assert_eq!(
        headers(m),
        vec![
            (":event-type".to_owned(), event_type.to_owned()),
            (":content-type".to_owned(), "application/json".to_owned()),
            (":message-type".to_owned(), "event".to_owned()),
        ]
    );
}

#[test]
fn converse_stream_sequence() {
    let events = [
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "Hello, ".into(),
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "世界 \"quoted\"\n".into(),
        },
        ChatEvent::ContentStop { index: 0 },
        ChatEvent::MessageStop {
            stop_reason: StopReason::EndTurn,
        },
        ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 12,
                output_tokens: 7,
            },
            latency: Duration::from_millis(345),
        },
    ];
    let mut stream = Vec::new();
    for e in &events {
        stream.extend_from_slice(&encode_converse_event(e));
    }
    let frames = decode_frames(&stream).unwrap();
    assert_eq!(frames.len(), 6);

    assert_event(&frames[0], "messageStart");
    assert_eq!(payload(&frames[0]), json!({"role": "assistant"}));
    assert_event(&frames[1], "contentBlockDelta");
    assert_eq!(
        payload(&frames[1]),
        json!({"contentBlockIndex": 0, "delta": {"text": "Hello, "}})
    );
    assert_eq!(payload(&frames[2])["delta"]["text"], "世界 \"quoted\"\n");
    assert_event(&frames[3], "contentBlockStop");
    assert_eq!(payload(&frames[3]), json!({"contentBlockIndex": 0}));
    assert_event(&frames[4], "messageStop");
    assert_eq!(payload(&frames[4]), json!({"stopReason": "end_turn"}));
    assert_event(&frames[5], "metadata");
    assert_eq!(
        payload(&frames[5]),
        json!({"usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19}, "metrics": {"latencyMs": 345}})
    );
    assert_eq!(header_str(&frames[5], ":event-type"), Some("metadata"));
    assert_eq!(header_str(&frames[5], ":nope"), None);
}

#[test]
fn stop_reasons_and_roles_use_converse_names() {
    // The names of botocore's StopReason enum.
    for (reason, name) in [
        (StopReason::EndTurn, "end_turn"),
        (StopReason::MaxTokens, "max_tokens"),
        (StopReason::StopSequence, "stop_sequence"),
        (StopReason::ToolUse, "tool_use"),
        (StopReason::GuardrailIntervened, "guardrail_intervened"),
        (StopReason::ContentFiltered, "content_filtered"),
    ] {
        let m = one(&encode_converse_event(&ChatEvent::MessageStop {
            stop_reason: reason,
        }));
        assert_eq!(payload(&m)["stopReason"], name);
        // Same as the backend's serde names.
        assert_eq!(serde_json::to_value(reason).unwrap(), name);
    }
    let m = one(&encode_converse_event(&ChatEvent::MessageStart {
        role: Role::User,
    }));
    assert_eq!(payload(&m), json!({"role": "user"}));
}

#[test]
fn long_deltas_are_split_at_char_boundaries() {
    let text: String = "日本語テキスト".repeat(MAX_DELTA_BYTES / 7);
    assert!(text.len() > MAX_DELTA_BYTES * 2);
    let bytes = encode_converse_event(&ChatEvent::ContentDelta {
        index: 3,
        text: text.clone(),
    });
    let frames = decode_frames(&bytes).unwrap();
    assert!(frames.len() >= 3);
    let mut joined = String::new();
    for f in &frames {
        assert_event(f, "contentBlockDelta");
        let p = payload(f);
        assert_eq!(p["contentBlockIndex"], 3);
        let piece = p["delta"]["text"].as_str().unwrap();
        assert!(piece.len() <= MAX_DELTA_BYTES);
        joined.push_str(piece);
    }
    assert_eq!(joined, text);
    // Empty delta: one frame with empty text.
    let m = one(&encode_converse_event(&ChatEvent::ContentDelta {
        index: 0,
        text: String::new(),
    }));
    assert_eq!(payload(&m)["delta"]["text"], "");
    // Control characters and lone specials survive as JSON.
    let nasty = "\u{0}\u{1f}\u{7f}\u{2028}\\\"";
    let m = one(&encode_converse_event(&ChatEvent::ContentDelta {
        index: 0,
        text: nasty.into(),
    }));
    assert_eq!(payload(&m)["delta"]["text"], nasty);
}

#[test]
fn huge_latency_and_usage_do_not_overflow() {
    let m = one(&encode_converse_event(&ChatEvent::Metadata {
        usage: Usage {
            input_tokens: u32::MAX,
            output_tokens: u32::MAX,
        },
        latency: Duration::MAX,
    }));
    let p = payload(&m);
    assert_eq!(p["usage"]["totalTokens"], u32::MAX);
    assert_eq!(p["metrics"]["latencyMs"], u64::MAX);
}

#[test]
fn invoke_model_chunks() {
    let native =
        br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#;
    let m = one(&encode_chunk(native).unwrap());
    assert_event(&m, "chunk");
    let p = payload(&m);
    assert_eq!(p.as_object().unwrap().len(), 1);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(p["bytes"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, native);

    // Any bytes, empty included.
    let m = one(&encode_chunk(b"").unwrap());
    assert_eq!(payload(&m)["bytes"], "");
    let m = one(&encode_chunk(b"\x00\xff\xfe").unwrap());
    assert_eq!(payload(&m)["bytes"], "AP/+");

    // PartBody's maximum.
    assert!(encode_chunk(&vec![b'a'; MAX_CHUNK_BYTES]).is_ok());
    let e = encode_chunk(&vec![b'a'; MAX_CHUNK_BYTES + 1]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ModelError);
}

#[test]
fn exceptions_mid_stream() {
    // The :exception-type values are the members of botocore's
    // ConverseStreamOutput / ResponseStream unions.
    for (exception, member) in [
        (StreamException::Throttling, "throttlingException"),
        (
            StreamException::ModelStreamError,
            "modelStreamErrorException",
        ),
        (StreamException::Validation, "validationException"),
        (StreamException::InternalServer, "internalServerException"),
        (
            StreamException::ServiceUnavailable,
            "serviceUnavailableException",
        ),
        (StreamException::ModelTimeout, "modelTimeoutException"),
    ] {
        let m = one(&encode_exception(
            StreamOperation::InvokeModelWithResponseStream,
            exception,
            "Rate exceeded",
        ));
        assert_eq!(
            headers(&m),
            vec![
                (":exception-type".to_owned(), member.to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
                (":message-type".to_owned(), "exception".to_owned()),
            ]
        );
        assert_eq!(payload(&m), json!({"message": "Rate exceeded"}));
        assert_eq!(exception.member_name(), member);
        assert!(exception.shape_name().ends_with("Exception"));
        assert_eq!(
            exception.shape_name()[..1].to_lowercase() + &exception.shape_name()[1..],
            member
        );
    }
    // ConverseStream has no modelTimeoutException: it becomes a model stream error.
    let m = one(&encode_exception(
        StreamOperation::ConverseStream,
        StreamException::ModelTimeout,
        "slow",
    ));
    assert_eq!(
        header_str(&m, ":exception-type"),
        Some("modelStreamErrorException")
    );

    // From backend errors and API errors.
    let cases = [
        (
            BackendError::Throttled,
            "throttlingException",
            "throttlingException",
        ),
        (
            BackendError::Timeout(Duration::from_secs(60)),
            "modelTimeoutException",
            "modelStreamErrorException",
        ),
        (
            BackendError::Invalid("bad".into()),
            "validationException",
            "validationException",
        ),
        (
            BackendError::Failed("boom".into()),
            "modelStreamErrorException",
            "modelStreamErrorException",
        ),
        (
            BackendError::Unavailable("down".into()),
            "serviceUnavailableException",
            "serviceUnavailableException",
        ),
    ];
    for (err, invoke, converse) in cases {
        let m = one(&encode_backend_error(
            StreamOperation::InvokeModelWithResponseStream,
            &err,
        ));
        assert_eq!(header_str(&m, ":exception-type"), Some(invoke));
        assert_eq!(payload(&m)["message"], err.to_string());
        let m = one(&encode_backend_error(StreamOperation::ConverseStream, &err));
        assert_eq!(header_str(&m, ":exception-type"), Some(converse));
    }
    let m = one(&encode_api_error(
        StreamOperation::ConverseStream,
        &ApiError::new(ErrorKind::Throttling, "slow down"),
    ));
    assert_eq!(
        header_str(&m, ":exception-type"),
        Some("throttlingException")
    );
    let m = one(&encode_api_error(
        StreamOperation::ConverseStream,
        &ApiError::internal("x"),
    ));
    assert_eq!(
        header_str(&m, ":exception-type"),
        Some("internalServerException")
    );
    let m = one(&encode_api_error(
        StreamOperation::ConverseStream,
        &ApiError::validation("guardrail config"),
    ));
    assert_eq!(
        header_str(&m, ":exception-type"),
        Some("validationException")
    );

    // Model stream error with the upstream's status and message.
    let m = one(&encode_model_stream_error(
        "The model failed",
        Some(500),
        Some("upstream said no"),
    ));
    assert_eq!(
        payload(&m),
        json!({"message": "The model failed", "originalStatusCode": 500, "originalMessage": "upstream said no"})
    );
    let m = one(&encode_model_stream_error("x", Some(42), None));
    assert_eq!(payload(&m), json!({"message": "x"}));

    // Long messages are cut, at a character boundary.
    let long = "警".repeat(10_000);
    let m = one(&encode_exception(
        StreamOperation::ConverseStream,
        StreamException::Validation,
        &long,
    ));
    let msg = payload(&m)["message"].as_str().unwrap().to_owned();
    assert!(msg.len() <= 8 * 1024 && msg.chars().all(|c| c == '警'));
}

#[test]
fn frames_are_byte_exact_and_corruption_is_detected() {
    let bytes = encode_converse_event(&ChatEvent::ContentStop { index: 1 });
    // Prelude: total length, headers length, then CRCs.
    let total = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
    assert_eq!(total, bytes.len());
    let headers_len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let payload_len = total - 12 - headers_len - 4;
    assert_eq!(
        &bytes[12 + headers_len..12 + headers_len + payload_len],
        br#"{"contentBlockIndex":1}"#
    );
    // Flipping any byte breaks decoding (a CRC or a length check).
    for i in 0..bytes.len() {
        let mut broken = bytes.to_vec();
        broken[i] ^= 0x01;
        assert!(decode_frames(&broken).is_err(), "byte {i}");
    }
    // Truncation is reported, not a panic.
    for cut in 0..bytes.len() {
        assert!(decode_frames(&bytes[..cut]).is_err() || cut == 0);
    }
    assert!(decode_frames(&[]).unwrap().is_empty());
}

#[test]
fn response_head() {
    assert_eq!(CONTENT_TYPE, "application/vnd.amazon.eventstream");
    let r = eventstream::response_builder(StreamOperation::ConverseStream, "rid")
        .body(())
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
    assert_eq!(r.headers()["x-amzn-requestid"], "rid");
    assert!(r.headers().get("x-amzn-bedrock-content-type").is_none());
    let r =
        eventstream::response_builder(StreamOperation::InvokeModelWithResponseStream, "bad\nid")
            .body(())
            .unwrap();
    assert_eq!(
        r.headers()["x-amzn-bedrock-content-type"],
        "application/json"
    );
    assert_eq!(r.headers()["x-amzn-requestid"], "bad_id");
}
