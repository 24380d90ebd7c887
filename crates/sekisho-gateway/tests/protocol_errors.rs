//! `error_response` renders every error kind in every protocol's exact
//! shape. With `SEKISHO_PROTOCOL_DUMP=dir` set, the responses (and a few
//! event streams) are also written there, to be checked against botocore's
//! own parsers (see the comment at the end of this file).

use std::path::PathBuf;

use sekisho_gateway::backend::{ChatEvent, Role, StopReason, Usage};
use sekisho_gateway::error::{ApiError, Dialect, ErrorKind};
use sekisho_gateway::eventstream::{self, StreamException, StreamOperation};
use sekisho_gateway::protocol::{
    self, Protocol, error_response, error_response_ns, new_request_id, xml,
};
use serde_json::{Value, json};

const ALL_KINDS: [ErrorKind; 21] = [
    ErrorKind::AccessDenied,
    ErrorKind::UnrecognizedClient,
    ErrorKind::InvalidSignature,
    ErrorKind::MissingAuthentication,
    ErrorKind::RequestExpired,
    ErrorKind::ExpiredToken,
    ErrorKind::InvalidToken,
    ErrorKind::Validation,
    ErrorKind::MalformedPolicyDocument,
    ErrorKind::NotFound,
    ErrorKind::EntityAlreadyExists,
    ErrorKind::LimitExceeded,
    ErrorKind::Conflict,
    ErrorKind::Throttling,
    ErrorKind::ModelTimeout,
    ErrorKind::ModelError,
    ErrorKind::ModelNotReady,
    ErrorKind::ServiceUnavailable,
    ErrorKind::UnknownOperation,
    ErrorKind::PayloadTooLarge,
    ErrorKind::Internal,
];

const PROTOCOLS: [Protocol; 4] = [
    Protocol::Query,
    Protocol::AwsJson10,
    Protocol::AwsJson11,
    Protocol::RestJson,
];

fn body_str(r: &http::Response<bytes::Bytes>) -> &str {
    std::str::from_utf8(r.body()).unwrap()
}

#[test]
fn every_kind_in_every_protocol() {
    for protocol in PROTOCOLS {
        for kind in ALL_KINDS {
            let err = ApiError::new(kind, format!("msg for {kind:?} <&>\"'"));
            let r = error_response(protocol, &err, "req-123");
            assert_eq!(r.status().as_u16(), kind.status(), "{protocol:?} {kind:?}");
            assert_eq!(r.headers()["x-amzn-RequestId"], "req-123");
            assert_eq!(r.headers()["content-type"], protocol.content_type());
            let code = err.code(protocol.dialect());
            match protocol {
                Protocol::Query => {
                    let body = body_str(&r);
                    let fault = if kind.is_sender_fault() {
                        "Sender"
                    } else {
                        "Receiver"
                    };
                    assert!(body.starts_with(
                        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                    ));
                    assert!(
                        body.contains(&format!("<Type>{fault}</Type><Code>{code}</Code>")),
                        "{body}"
                    );
                    assert!(
                        body.contains("&lt;&amp;&gt;&quot;&apos;</Message>"),
                        "{body}"
                    );
                    assert!(body.ends_with("<RequestId>req-123</RequestId></ErrorResponse>"));
                    assert!(r.headers().get("x-amzn-ErrorType").is_none());
                }
                Protocol::AwsJson10 | Protocol::AwsJson11 => {
                    let v: Value = serde_json::from_slice(r.body()).unwrap();
                    assert_eq!(v, json!({"__type": code, "message": err.message}));
                    assert_eq!(r.headers()["x-amzn-ErrorType"], code);
                }
                Protocol::RestJson => {
                    let v: Value = serde_json::from_slice(r.body()).unwrap();
                    assert_eq!(v, json!({"message": err.message}));
                    assert_eq!(r.headers()["x-amzn-ErrorType"], code);
                }
            }
        }
    }
}

#[test]
fn the_codes_sdks_map_to_exception_classes() {
    let cases = [
        (
            ErrorKind::AccessDenied,
            "AccessDenied",
            "AccessDeniedException",
        ),
        (
            ErrorKind::Validation,
            "ValidationError",
            "ValidationException",
        ),
        (
            ErrorKind::NotFound,
            "NoSuchEntity",
            "ResourceNotFoundException",
        ),
        (ErrorKind::Throttling, "Throttling", "ThrottlingException"),
        (
            ErrorKind::ModelTimeout,
            "ModelTimeoutException",
            "ModelTimeoutException",
        ),
        (
            ErrorKind::ServiceUnavailable,
            "ServiceUnavailable",
            "ServiceUnavailableException",
        ),
        (
            ErrorKind::UnrecognizedClient,
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ),
        (
            ErrorKind::InvalidSignature,
            "SignatureDoesNotMatch",
            "InvalidSignatureException",
        ),
        (
            ErrorKind::ExpiredToken,
            "ExpiredToken",
            "ExpiredTokenException",
        ),
        (
            ErrorKind::MalformedPolicyDocument,
            "MalformedPolicyDocument",
            "ValidationException",
        ),
    ];
    for (kind, query, json) in cases {
        let err = ApiError::new(kind, "m");
        assert!(
            body_str(&error_response(Protocol::Query, &err, "r"))
                .contains(&format!("<Code>{query}</Code>"))
        );
        assert_eq!(
            error_response(Protocol::RestJson, &err, "r").headers()["x-amzn-ErrorType"],
            json
        );
        let v: Value =
            serde_json::from_slice(error_response(Protocol::AwsJson11, &err, "r").body()).unwrap();
        assert_eq!(v["__type"], json);
    }
    // A service's own code wins.
    let err = ApiError::not_found("no key").with_code("NotFoundException");
    assert_eq!(
        error_response(Protocol::AwsJson11, &err, "r").headers()["x-amzn-ErrorType"],
        "NotFoundException"
    );
    assert!(
        body_str(&error_response(Protocol::Query, &err, "r"))
            .contains("<Code>NotFoundException</Code>")
    );
}

#[test]
fn namespaces_request_ids_and_hostile_text() {
    let err = ApiError::validation("x");
    let r = error_response_ns(Protocol::Query, xml::IAM_NS, &err, "r");
    assert!(
        body_str(&r)
            .starts_with("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">")
    );
    // The namespace is ignored by the JSON protocols.
    let a = error_response_ns(Protocol::RestJson, xml::IAM_NS, &err, "r");
    assert_eq!(
        a.body(),
        error_response(Protocol::RestJson, &err, "r").body()
    );

    // Request ids: fresh ones are UUIDs; a hostile one cannot break headers or XML.
    let id = new_request_id();
    assert_eq!(id.len(), 36);
    assert_ne!(id, new_request_id());
    for protocol in PROTOCOLS {
        let r = error_response(protocol, &err, "evil\r\nSet-Cookie: a=b</RequestId><x>");
        let h = r.headers()["x-amzn-RequestId"].to_str().unwrap();
        assert!(!h.contains('\r') && !h.contains('\n'));
        if protocol == Protocol::Query {
            assert!(body_str(&r).contains("&lt;/RequestId&gt;&lt;x&gt;"));
        }
    }
    // Messages with every kind of character.
    let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
    for protocol in PROTOCOLS {
        let r = error_response(protocol, &ApiError::validation(all.clone()), "r");
        if protocol != Protocol::Query {
            let v: Value = serde_json::from_slice(r.body()).unwrap();
            assert_eq!(v["message"], all);
        }
    }
    assert_eq!(Protocol::Query.dialect(), Dialect::Query);
    assert_eq!(Protocol::RestJson.dialect(), Dialect::Json);
}

#[test]
fn aws_style_validation_messages() {
    let mut v = protocol::Violations::new();
    v.missing("RoleArn");
    v.push(
        "DurationSeconds",
        Some("600"),
        "Member must have value greater than or equal to 900",
    );
    v.push(
        "Policy",
        Some(&"x".repeat(500)),
        "Member must have length less than or equal to 2048",
    );
    let msg = v.message().unwrap();
    assert!(msg.starts_with("3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "));
    assert!(msg.contains("Value '600' at 'durationSeconds'"));
    // Long values are elided, not echoed in full.
    assert!(msg.len() < 500, "{msg}");
    assert_eq!(v.len(), 3);
    let e = v.into_result().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(
        protocol::missing("modelId").message,
        "1 validation error detected: Value null at 'modelId' failed to satisfy constraint: Member must not be null"
    );
}

/// Writes responses for the botocore cross-check when asked to.
#[test]
fn dump_for_botocore() {
    let Some(dir) = std::env::var_os("SEKISHO_PROTOCOL_DUMP") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut index = Vec::new();
    for protocol in PROTOCOLS {
        for kind in ALL_KINDS {
            let err = ApiError::new(kind, format!("message of {kind:?}: <&> \"q\" \u{1} 日本"));
            let r = error_response(protocol, &err, "req-1");
            let name = format!("{protocol:?}-{kind:?}");
            std::fs::write(dir.join(format!("{name}.body")), r.body()).unwrap();
            let headers: serde_json::Map<String, Value> = r
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        Value::String(v.to_str().unwrap().to_owned()),
                    )
                })
                .collect();
            index.push(json!({
                "name": name, "protocol": format!("{protocol:?}"), "status": r.status().as_u16(),
                "headers": headers, "code": err.code(protocol.dialect()), "message": err.message,
            }));
        }
    }
    std::fs::write(
        dir.join("errors.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();

    // A Query success response.
    let exp = time::macros::datetime!(2026-11-25 22:05:26 UTC);
    let r = xml::query_response("AssumeRole", xml::STS_NS, "req-2", |w| {
        w.nested("Credentials", |w| {
            w.element("AccessKeyId", "ASIAEXAMPLE")
                .element("SecretAccessKey", "secret")
                .element("SessionToken", "token")
                .timestamp_element("Expiration", exp);
        });
        w.nested("AssumedRoleUser", |w| {
            w.element("AssumedRoleId", "AROAEXAMPLE:s1")
                .element("Arn", "arn:aws:sts::123456789012:assumed-role/r/s1");
        });
        w.int_element("PackedPolicySize", 6)
            .element("SourceIdentity", "a<b&c\u{2}");
    });
    std::fs::write(dir.join("assume_role.xml"), r.body()).unwrap();
    let r = xml::query_response("ListRoleTags", xml::IAM_NS, "req-3", |w| {
        w.tag_list("Tags", [("k1", "v1"), ("k&2", "v<2>")])
            .bool_element("IsTruncated", false);
    });
    std::fs::write(dir.join("list_role_tags.xml"), r.body()).unwrap();

    // A ConverseStream that ends in an exception, and an invoke stream.
    let mut converse = Vec::new();
    for e in [
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "Hello 世界".into(),
        },
        ChatEvent::ContentStop { index: 0 },
        ChatEvent::MessageStop {
            stop_reason: StopReason::MaxTokens,
        },
        ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 3,
                output_tokens: 2,
            },
            latency: std::time::Duration::from_millis(12),
        },
    ] {
        converse.extend_from_slice(&eventstream::encode_converse_event(&e));
    }
    std::fs::write(dir.join("converse.stream"), &converse).unwrap();
    converse.extend_from_slice(&eventstream::encode_exception(
        StreamOperation::ConverseStream,
        StreamException::Throttling,
        "Too many tokens",
    ));
    std::fs::write(dir.join("converse_throttled.stream"), &converse).unwrap();
    let mut invoke = Vec::new();
    invoke.extend_from_slice(
        &eventstream::encode_chunk(br#"{"outputText":"Hi","index":0}"#).unwrap(),
    );
    invoke.extend_from_slice(&eventstream::encode_exception(
        StreamOperation::InvokeModelWithResponseStream,
        StreamException::ModelTimeout,
        "slow",
    ));
    std::fs::write(dir.join("invoke.stream"), &invoke).unwrap();
}

// The cross-check (run by hand, it needs boto3; the script is not in the
// repository): SEKISHO_PROTOCOL_DUMP=/tmp/dump cargo test -p sekisho-gateway
// --test protocol_errors dump_for_botocore, then serve each dumped
// status/headers/body from a local HTTP server and call it with boto3
// clients (sts, iam, kms, bedrock-runtime) at endpoint_url: every error
// must come back as ClientError with the dumped Code, Message and
// RequestId (and the modeled exception class where the service has one),
// assume_role/list_role_tags must parse (Expiration as a UTC datetime), and
// converse_stream / invoke_model_with_response_stream must yield the events
// and raise EventStreamError with the member code.
