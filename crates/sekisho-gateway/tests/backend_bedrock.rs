//! The Bedrock upstream against a local server that checks SigV4 and
//! answers Converse JSON and event-stream frames.

mod backend_support;

use std::time::{Duration, Instant};

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message as Frame};
use backend_support::{
    End, Recorded, Reply, TestServer, chat, delta_text, verify_sigv4, without_latency,
};
use futures::StreamExt;
use sekisho_gateway::backend::bedrock::{
    BedrockBackend, BedrockConfig, BedrockCredentials, BedrockStreamDecoder,
};
use sekisho_gateway::backend::openai::Secret;
use sekisho_gateway::backend::{
    Backend, BackendConfig, BackendError, ChatEvent, ContentBlock, Role, StopReason, Usage,
    build_backend,
};
use serde_json::json;

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDA==";
const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const PROMPT: &str = "my very private prompt about the merger";

fn credentials(token: Option<&str>) -> BedrockCredentials {
    BedrockCredentials {
        access_key_id: AKID.into(),
        secret_access_key: Secret::new(SECRET),
        session_token: token.map(Secret::new),
    }
}

fn backend(url: &str, token: Option<&str>) -> BedrockBackend {
    let mut c = BedrockConfig::new("us-west-2");
    c.endpoint_url = Some(url.to_string());
    c.retry_base_delay_ms = 5;
    c.timeout_secs = 5;
    BedrockBackend::new(&c, credentials(token)).unwrap()
}

fn converse_answer() -> serde_json::Value {
    json!({
        "output": {"message": {"role": "assistant", "content": [
            {"text": "Hello from Bedrock."},
            {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30},
        "metrics": {"latencyMs": 250}
    })
}

/// Answers with `reply` when the request is correctly signed, else with
/// Bedrock's signature error.
fn signed_or_403(request: &Recorded, token: Option<&str>, reply: Reply) -> Reply {
    match verify_sigv4(request, AKID, SECRET, token, "us-west-2", "bedrock") {
        Ok(()) => reply,
        Err(why) => Reply::status(
            403,
            &[("x-amzn-errortype", "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/")],
            &json!({"message": format!("The request signature we calculated does not match: {why}")}).to_string(),
        ),
    }
}

fn frame(event_type: &str, payload: serde_json::Value) -> Vec<u8> {
    let message = Frame::new(payload.to_string().into_bytes())
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ));
    let mut out = Vec::new();
    write_message_to(&message, &mut out).unwrap();
    out
}

fn exception_frame(kind: &str, message: &str) -> Vec<u8> {
    let message = Frame::new(json!({"message": message}).to_string().into_bytes())
        .add_header(Header::new(
            ":exception-type",
            HeaderValue::String(kind.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("exception".into()),
        ));
    let mut out = Vec::new();
    write_message_to(&message, &mut out).unwrap();
    out
}

fn stream_frames() -> Vec<Vec<u8>> {
    vec![
        frame("messageStart", json!({"role": "assistant", "p": "abcd"})),
        frame(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hello"}, "p": "ab"}),
        ),
        frame(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": " 世界"}}),
        ),
        frame("contentBlockStop", json!({"contentBlockIndex": 0})),
        frame(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "n"}}}),
        ),
        frame(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{}"}}}),
        ),
        frame("contentBlockStop", json!({"contentBlockIndex": 1})),
        frame("messageStop", json!({"stopReason": "max_tokens"})),
        frame(
            "metadata",
            json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}, "metrics": {"latencyMs": 99}}),
        ),
    ]
}

fn expected_stream_events() -> Vec<ChatEvent> {
    vec![
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "Hello".into(),
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: " 世界".into(),
        },
        ChatEvent::ContentStop { index: 0 },
        ChatEvent::ContentStop { index: 1 },
        ChatEvent::MessageStop {
            stop_reason: StopReason::MaxTokens,
        },
        ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 5,
                output_tokens: 3,
            },
            latency: Duration::ZERO,
        },
    ]
}

#[tokio::test]
async fn converse_is_signed_and_mapped() {
    for token in [None, Some(TOKEN)] {
        let server = TestServer::start(move |_, r| {
            signed_or_403(r, token, Reply::json(200, &converse_answer()))
        })
        .await;
        let b = backend(&server.url, token);
        let mut request = chat(MODEL, PROMPT);
        request.system = vec!["Be terse.".into()];
        request.messages[0].content.push(ContentBlock::Other(
            json!({"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}),
        ));
        request.inference.max_tokens = Some(300);
        request.inference.temperature = Some(0.2);
        request.inference.stop_sequences = vec!["Human:".into()];
        request.tool_config =
            Some(json!({"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {}}}}]}));

        let r = b.converse(request).await.unwrap();
        assert_eq!(
            r.message.content,
            vec![
                ContentBlock::Text("Hello from Bedrock.".into()),
                ContentBlock::Other(
                    json!({"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}})
                ),
            ]
        );
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 21,
                output_tokens: 9
            }
        );

        let sent = &server.requests()[0];
        assert_eq!(
            sent.path,
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        assert_eq!(sent.header("x-amz-security-token"), token);
        assert_eq!(
            sent.json(),
            json!({
                "messages": [{"role": "user", "content": [
                    {"text": PROMPT},
                    {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
                ]}],
                "system": [{"text": "Be terse."}],
                "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "stopSequences": ["Human:"]},
                "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {}}}}]},
            })
        );
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_upstream() {
    let server =
        TestServer::start(|_, r| signed_or_403(r, None, Reply::json(200, &converse_answer())))
            .await;
    let mut c = BedrockConfig::new("us-west-2");
    c.endpoint_url = Some(server.url.clone());
    let wrong = BedrockCredentials {
        access_key_id: AKID.into(),
        secret_access_key: Secret::new("not-the-secret"),
        session_token: None,
    };
    let b = BedrockBackend::new(&c, wrong).unwrap();
    match b.converse(chat(MODEL, PROMPT)).await {
        Err(BackendError::Failed(m)) => {
            assert!(m.contains("InvalidSignatureException"), "{m}");
            assert!(
                !m.contains("not-the-secret") && !m.contains("private"),
                "{m}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        server.request_count(),
        1,
        "a refused signature is not retried"
    );
    // Inference-profile ARNs are encoded into one path segment.
    let server =
        TestServer::start(|_, r| signed_or_403(r, None, Reply::json(200, &converse_answer())))
            .await;
    let arn = "arn:aws:bedrock:us-west-2:111122223333:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
    backend(&server.url, None)
        .converse(chat(arn, "x"))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].path,
        "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A111122223333%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
}

#[tokio::test]
async fn converse_stream_decodes_event_stream_frames() {
    let body: Vec<u8> = stream_frames().concat();
    let server = TestServer::start(move |_, r| {
        // Odd-sized chunks: frames split across chunk boundaries.
        let chunks = body.chunks(23).map(<[u8]>::to_vec).collect();
        signed_or_403(
            r,
            None,
            Reply::chunks(
                "application/vnd.amazon.eventstream",
                chunks,
                Duration::ZERO,
                End::Finish,
            ),
        )
    })
    .await;
    let b = backend(&server.url, None);
    let stream = b.converse_stream(chat(MODEL, "x")).await.unwrap();
    let events: Vec<ChatEvent> = stream.map(|e| e.unwrap()).collect().await;
    assert_eq!(without_latency(events), expected_stream_events());
    let sent = &server.requests()[0];
    assert_eq!(
        sent.path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    );
    assert_eq!(
        sent.header("accept"),
        Some("application/vnd.amazon.eventstream")
    );
}

#[test]
fn event_stream_decoding_is_independent_of_chunk_boundaries() {
    let body: Vec<u8> = stream_frames().concat();
    let decode = |cuts: &[usize]| {
        let mut d = BedrockStreamDecoder::new(0, Instant::now());
        let mut events = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
            events.extend(d.push(&body[from..cut]).unwrap());
            from = cut;
        }
        events.extend(d.finish().unwrap());
        without_latency(events)
    };
    for cut in 0..=body.len() {
        assert_eq!(decode(&[cut]), expected_stream_events(), "split at {cut}");
    }
    let every: Vec<usize> = (1..body.len()).collect();
    assert_eq!(decode(&every), expected_stream_events());

    // A corrupted frame is an error, not garbage.
    let mut bad = body.clone();
    bad[20] ^= 0xff;
    let mut d = BedrockStreamDecoder::new(0, Instant::now());
    assert!(matches!(d.push(&bad), Err(BackendError::Failed(_))));
    // Cut before messageStop: an error at the end.
    let frames = stream_frames();
    let mut d = BedrockStreamDecoder::new(0, Instant::now());
    d.push(&frames[..3].concat()).unwrap();
    assert!(d.finish().is_err());
}

#[tokio::test]
async fn an_exception_frame_ends_the_stream_with_its_error() {
    let server = TestServer::start(|_, _| {
        let mut frames = stream_frames()[..2].to_vec();
        frames.push(exception_frame(
            "throttlingException",
            "Too many tokens, please wait.",
        ));
        Reply::chunks(
            "application/vnd.amazon.eventstream",
            frames,
            Duration::ZERO,
            End::Finish,
        )
    })
    .await;
    let items: Vec<_> = backend(&server.url, None)
        .converse_stream(chat(MODEL, "x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[2], Err(BackendError::Throttled));
    assert_eq!(server.request_count(), 1, "never retried once streaming");

    let server = TestServer::start(|_, _| {
        Reply::chunks(
            "application/vnd.amazon.eventstream",
            vec![exception_frame(
                "modelStreamErrorException",
                "upstream model broke",
            )],
            Duration::ZERO,
            End::Finish,
        )
    })
    .await;
    let items: Vec<_> = backend(&server.url, None)
        .converse_stream(chat(MODEL, "x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(&items[..], [Err(BackendError::Failed(m))] if m.contains("modelStreamErrorException")),
        "{items:?}"
    );
}

#[tokio::test]
async fn throttling_is_retried_with_fresh_signatures() {
    let server = TestServer::start(|n, r| {
        let reply = if n < 2 {
            Reply::status(
                429,
                &[(
                    "x-amzn-errortype",
                    "ThrottlingException:http://internal.amazon.com/",
                )],
                r#"{"message":"Too many requests"}"#,
            )
        } else {
            Reply::json(200, &converse_answer())
        };
        signed_or_403(r, None, reply)
    })
    .await;
    let r = backend(&server.url, None)
        .converse(chat(MODEL, "x"))
        .await
        .unwrap();
    assert_eq!(r.usage.output_tokens, 9);
    assert_eq!(server.request_count(), 3);

    let server = TestServer::start(|_, _| {
        Reply::status(
            503,
            &[("content-type", "application/json")],
            r#"{"__type":"com.amazon#ServiceUnavailableException","message":"busy"}"#,
        )
    })
    .await;
    let err = backend(&server.url, None)
        .converse(chat(MODEL, "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackendError::Unavailable(m) if m.contains("ServiceUnavailableException")),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn bedrock_errors_map_to_backend_errors() {
    type Check = fn(&BackendError) -> bool;
    let cases: Vec<(u16, &str, Check)> = vec![
        (
            400,
            "ValidationException",
            |e| matches!(e, BackendError::Invalid(m) if m.contains("The provided model identifier is invalid.")),
        ),
        (408, "ModelTimeoutException", |e| {
            matches!(e, BackendError::Timeout(_))
        }),
        (424, "ModelErrorException", |e| {
            matches!(e, BackendError::Failed(_))
        }),
        (
            403,
            "AccessDeniedException",
            |e| matches!(e, BackendError::Failed(m) if m.contains("credentials")),
        ),
        (404, "ResourceNotFoundException", |e| {
            matches!(e, BackendError::Failed(_))
        }),
        (400, "ServiceQuotaExceededException", |e| {
            matches!(e, BackendError::Throttled)
        }),
    ];
    for (status, kind, check) in cases {
        let server = TestServer::start(move |_, _| {
            Reply::status(
                status,
                &[("x-amzn-errortype", kind)],
                r#"{"message":"The provided model identifier is invalid."}"#,
            )
        })
        .await;
        let err = backend(&server.url, None)
            .converse(chat(MODEL, PROMPT))
            .await
            .unwrap_err();
        assert!(check(&err), "{kind}: {err:?}");
        assert!(!err.to_string().contains("private"));
        assert_eq!(server.request_count(), 1, "{kind} is not retried");
    }
}

#[tokio::test]
async fn dropping_the_stream_closes_the_upstream_connection() {
    let server = TestServer::start(|_, _| {
        Reply::chunks(
            "application/vnd.amazon.eventstream",
            stream_frames()[..2].to_vec(),
            Duration::ZERO,
            End::Hang,
        )
    })
    .await;
    let b = backend(&server.url, None);
    let mut stream = b.converse_stream(chat(MODEL, "x")).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::MessageStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::ContentDelta { .. }))
    ));
    drop(stream);
    assert!(
        server
            .wait_closed_by_client(1, Duration::from_secs(5))
            .await
    );
}

#[tokio::test]
async fn streams_can_be_read_through_the_whole_client() {
    // A stream that is never completed by metadata still ends cleanly once
    // messageStop came, with estimated usage.
    let server = TestServer::start(|_, _| {
        let frames = stream_frames();
        Reply::chunks(
            "application/vnd.amazon.eventstream",
            frames[..8].to_vec(),
            Duration::ZERO,
            End::Finish,
        )
    })
    .await;
    let events: Vec<ChatEvent> = backend(&server.url, None)
        .converse_stream(chat(MODEL, "a b c"))
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(delta_text(&events), "Hello 世界");
    assert!(matches!(
        events.last(),
        Some(ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 3,
                output_tokens: 3
            },
            ..
        })
    ));
}

#[test]
fn config_and_credentials() {
    let c: BackendConfig = toml::from_str(
        "type = \"bedrock\"\nregion = \"us-east-1\"\naccess_key_id_env = \"SEKISHO_TEST_SURELY_UNSET_AKID\"",
    )
    .unwrap();
    let BackendConfig::Bedrock(bc) = &c else {
        panic!()
    };
    assert_eq!(bc.secret_access_key_env, "AWS_SECRET_ACCESS_KEY");
    assert_eq!(bc.session_token_env.as_deref(), Some("AWS_SESSION_TOKEN"));
    assert_eq!(bc.timeout_secs, 60);
    let err = build_backend(&c).err().unwrap();
    assert!(
        err.contains("SEKISHO_TEST_SURELY_UNSET_AKID") && err.contains("access_key_id_env"),
        "{err}"
    );
    assert!(
        toml::from_str::<BackendConfig>("type = \"bedrock\"").is_err(),
        "region is required"
    );

    let mut bad = BedrockConfig::new("us-east-1; rm -rf");
    assert!(BedrockBackend::new(&bad, credentials(None)).is_err());
    bad.region = "us-east-1".into();
    bad.endpoint_url = Some("http://x/?a=b".into());
    assert!(BedrockBackend::new(&bad, credentials(None)).is_err());

    let b = BedrockBackend::new(
        &BedrockConfig::new("eu-central-1"),
        credentials(Some(TOKEN)),
    )
    .unwrap();
    let shown = format!("{b:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    assert_eq!(
        b.url_for(&chat(MODEL, "x"), "converse"),
        "https://bedrock-runtime.eu-central-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
}
