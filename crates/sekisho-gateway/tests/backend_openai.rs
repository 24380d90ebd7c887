//! The OpenAI-compatible backend against a local scripted server.

mod backend_support;

use std::time::{Duration, Instant};

use backend_support::{End, Reply, TestServer, chat, closed_port, delta_text, without_latency};
use futures::StreamExt;
use sekisho_gateway::backend::openai::{
    OpenAiBackend, OpenAiConfig, OpenAiStreamDecoder, Secret, SseParser,
};
use sekisho_gateway::backend::{
    Backend, BackendConfig, BackendError, ChatEvent, ContentBlock, Role, StopReason, Usage,
    build_backend,
};
use serde_json::json;

const KEY: &str = "sk-test-0123456789abcdef";
const PROMPT: &str = "my very private prompt about the merger";

fn config(url: &str) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(format!("{url}/v1/"));
    c.max_retries = 2;
    c.retry_base_delay_ms = 5;
    c.timeout_secs = 5;
    c
}

fn backend(url: &str) -> OpenAiBackend {
    OpenAiBackend::new(&config(url), Some(Secret::new(KEY))).unwrap()
}

fn completion(text: &str, finish: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "llama3.1:8b",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    })
}

/// A stream with CRLF, CR and LF line ends, a comment, multi-byte text, a
/// usage chunk and `[DONE]`.
fn sse_body() -> Vec<u8> {
    let mut s = String::new();
    s.push_str("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    s.push_str(": keep-alive\n\n");
    s.push_str("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"こんにちは\"},\"finish_reason\":null}]}\r\n\r\n");
    s.push_str("event: message\nid: 3\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", wörld\"},\"finish_reason\":null}]}\r\r");
    s.push_str("data:{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n");
    s.push_str("data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":4,\"total_tokens\":11}}\n\n");
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

fn expected_events() -> Vec<ChatEvent> {
    vec![
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "こんにちは".into(),
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: ", wörld".into(),
        },
        ChatEvent::ContentStop { index: 0 },
        ChatEvent::MessageStop {
            stop_reason: StopReason::MaxTokens,
        },
        ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 7,
                output_tokens: 4,
            },
            latency: Duration::ZERO,
        },
    ]
}

fn decode_in_pieces(body: &[u8], cuts: &[usize]) -> Vec<ChatEvent> {
    let mut decoder = OpenAiStreamDecoder::new(99, Instant::now());
    let mut events = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        events.extend(decoder.push(&body[from..cut]).unwrap());
        from = cut;
    }
    events.extend(decoder.finish().unwrap());
    without_latency(events)
}

#[test]
fn sse_decoding_is_independent_of_chunk_boundaries() {
    let body = sse_body();
    assert_eq!(decode_in_pieces(&body, &[]), expected_events());
    for cut in 0..=body.len() {
        assert_eq!(
            decode_in_pieces(&body, &[cut]),
            expected_events(),
            "split at {cut}"
        );
    }
    let every: Vec<usize> = (1..body.len()).collect();
    assert_eq!(
        decode_in_pieces(&body, &every),
        expected_events(),
        "byte by byte"
    );
    for a in (0..body.len()).step_by(7) {
        for b in (a..body.len()).step_by(13) {
            assert_eq!(
                decode_in_pieces(&body, &[a, b]),
                expected_events(),
                "split at {a} and {b}"
            );
        }
    }
}

#[test]
fn sse_parser_follows_the_event_stream_rules() {
    let mut p = SseParser::new();
    let events = p.push(b"data: a\ndata: b\n\ndata:\ndata: c\n\n:comment\n\ndata:  two spaces\r\n\r\nretry: 5\n\n").unwrap();
    assert_eq!(events, ["a\nb", "\nc", " two spaces"]);
    // A final event without a blank line is still delivered at the end.
    assert!(p.push(b"data: tail").unwrap().is_empty());
    assert_eq!(p.finish().unwrap().as_deref(), Some("tail"));
    // A lone CR at a chunk end does not produce an extra blank line.
    let mut p = SseParser::new();
    assert!(p.push(b"data: x\r").unwrap().is_empty());
    assert!(p.push(b"\ndata: y\r").unwrap().is_empty());
    assert_eq!(p.push(b"\n\r\n").unwrap(), ["x\ny"]);
    // Oversized events are refused.
    let mut p = SseParser::new();
    let big = vec![b'x'; 5 * 1024 * 1024];
    assert!(p.push(b"data: ").is_ok());
    assert!(p.push(&big).is_err());
}

#[test]
fn stream_decoder_handles_missing_usage_and_missing_done() {
    // No usage chunk: estimated. No [DONE] but a finish_reason: complete.
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there\"},\"finish_reason\":\"stop\"}]}\n\n";
    let events = decode_in_pieces(body, &[]);
    assert_eq!(
        events.last(),
        Some(&ChatEvent::Metadata {
            usage: Usage {
                input_tokens: 99,
                output_tokens: 2
            },
            latency: Duration::ZERO
        })
    );
    // Cut short: an error, not a silent end.
    let mut decoder = OpenAiStreamDecoder::new(1, Instant::now());
    decoder
        .push(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n")
        .unwrap();
    assert!(matches!(decoder.finish(), Err(BackendError::Failed(_))));
    // An error object mid-stream.
    let mut decoder = OpenAiStreamDecoder::new(1, Instant::now());
    let err = decoder.push(b"data: {\"error\":{\"message\":\"boom: my very private prompt\",\"code\":\"server_error\"}}\n\n");
    match err {
        Err(BackendError::Failed(m)) => {
            assert!(m.contains("server_error"));
            assert!(!m.contains("private"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn converse_maps_the_request_and_the_answer() {
    let server = TestServer::start(|_, _| Reply::json(200, &completion("Hi!", "stop"))).await;
    let mut c = config(&server.url);
    c.model_map
        .insert("meta.llama3-8b-instruct-v1:0".into(), "llama3.1:8b".into());
    let backend = OpenAiBackend::new(&c, Some(Secret::new(KEY))).unwrap();
    let mut request = chat("meta.llama3-8b-instruct-v1:0", PROMPT);
    request.system = vec!["You are terse.".into(), "Answer in English.".into()];
    request.messages.push(sekisho_gateway::backend::Message {
        role: Role::Assistant,
        content: vec![ContentBlock::Text("Sure.".into())],
    });
    request.messages.push(sekisho_gateway::backend::Message {
        role: Role::User,
        content: vec![
            ContentBlock::Text("More".into()),
            ContentBlock::Text("please".into()),
        ],
    });
    request.inference.max_tokens = Some(100);
    request.inference.temperature = Some(0.7);
    request.inference.top_p = Some(0.9);
    request.inference.stop_sequences = vec!["\n\n".into()];

    let response = backend.converse(request).await.unwrap();
    assert_eq!(
        response.message.content,
        vec![ContentBlock::Text("Hi!".into())]
    );
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3
        }
    );

    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({
            "model": "llama3.1:8b",
            "messages": [
                {"role": "system", "content": "You are terse.\n\nAnswer in English."},
                {"role": "user", "content": PROMPT},
                {"role": "assistant", "content": "Sure."},
                {"role": "user", "content": "More\nplease"},
            ],
            "max_tokens": 100,
            "temperature": 0.7,
            "top_p": 0.9,
            "stop": ["\n\n"],
            "stream": false,
        })
    );
}

#[tokio::test]
async fn finish_reasons_and_missing_usage() {
    for (finish, expected) in [
        ("stop", StopReason::EndTurn),
        ("length", StopReason::MaxTokens),
        ("tool_calls", StopReason::ToolUse),
        ("content_filter", StopReason::ContentFiltered),
    ] {
        let server =
            TestServer::start(move |_, _| Reply::json(200, &completion("a b", finish))).await;
        let r = backend(&server.url).converse(chat("m", "x")).await.unwrap();
        assert_eq!(r.stop_reason, expected, "{finish}");
    }
    let server = TestServer::start(|_, _| {
        Reply::json(200, &json!({"choices": [{"message": {"content": "one two three"}, "finish_reason": "stop", "stop_reason": "END"}]}))
    })
    .await;
    let r = backend(&server.url)
        .converse(chat("m", "four words are here"))
        .await
        .unwrap();
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 4,
            output_tokens: 3
        }
    );
    assert_eq!(r.stop_reason, StopReason::StopSequence);
}

#[tokio::test]
async fn tool_calls_map_to_tool_use_blocks() {
    let server = TestServer::start(|_, _| {
        Reply::json(
            200,
            &json!({"choices": [{"message": {"content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Tokyo\"}"}}]}, "finish_reason": "tool_calls"}]}),
        )
    })
    .await;
    let mut request = chat("m", "weather?");
    request.tool_config = Some(
        json!({"tools": [{"toolSpec": {"name": "weather", "description": "Weather", "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": {"auto": {}}}),
    );
    let r = backend(&server.url).converse(request).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::ToolUse);
    assert_eq!(
        r.message.content,
        vec![ContentBlock::Other(
            json!({"toolUse": {"toolUseId": "call_1", "name": "weather", "input": {"city": "Tokyo"}}})
        )]
    );
    let sent = server.requests()[0].json();
    assert_eq!(
        sent["tools"][0],
        json!({"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}, "description": "Weather"}})
    );
    assert_eq!(sent["tool_choice"], json!("auto"));
}

#[tokio::test]
async fn converse_stream_through_the_server() {
    let body = sse_body();
    let server = TestServer::start(move |_, _| {
        let chunks = body.chunks(17).map(<[u8]>::to_vec).collect();
        Reply::chunks("text/event-stream", chunks, Duration::ZERO, End::Finish)
    })
    .await;
    let b = backend(&server.url);
    let stream = b.converse_stream(chat("m", PROMPT)).await.unwrap();
    let events: Vec<ChatEvent> = stream.map(|e| e.unwrap()).collect().await;
    assert_eq!(without_latency(events), expected_events());
    let sent = server.requests()[0].json();
    assert_eq!(sent["stream"], json!(true));
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        server.requests()[0].header("accept"),
        Some("text/event-stream")
    );
}

#[tokio::test]
async fn retries_503_then_succeeds_on_one_pooled_client() {
    let server = TestServer::start(|n, _| {
        if n < 2 {
            Reply::status(503, &[], "overloaded")
        } else {
            Reply::json(200, &completion("ok", "stop"))
        }
    })
    .await;
    let b = backend(&server.url);
    let r = b.converse(chat("m", "x")).await.unwrap();
    assert_eq!(r.message.content, vec![ContentBlock::Text("ok".into())]);
    assert_eq!(server.request_count(), 3);
    // The same pooled connection serves the retries and the next call.
    b.converse(chat("m", "x")).await.unwrap();
    assert_eq!(server.request_count(), 4);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn retries_before_a_stream_starts() {
    let body = sse_body();
    let server = TestServer::start(move |n, _| match n {
        0 => Reply::status(502, &[], ""),
        1 => Reply::status(504, &[], ""),
        _ => Reply::chunks(
            "text/event-stream",
            vec![body.clone()],
            Duration::ZERO,
            End::Finish,
        ),
    })
    .await;
    let stream = backend(&server.url)
        .converse_stream(chat("m", "x"))
        .await
        .unwrap();
    let events: Vec<ChatEvent> = stream.map(|e| e.unwrap()).collect().await;
    assert_eq!(delta_text(&events), "こんにちは, wörld");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn throttled_after_max_retries() {
    let server = TestServer::start(|_, _| {
        Reply::status(
            429,
            &[("content-type", "application/json")],
            r#"{"error":{"message":"slow down","type":"rate_limit_exceeded"}}"#,
        )
    })
    .await;
    let mut c = config(&server.url);
    c.max_retries = 3;
    let b = OpenAiBackend::new(&c, None).unwrap();
    assert_eq!(
        b.converse(chat("m", "x")).await.unwrap_err(),
        BackendError::Throttled
    );
    assert_eq!(server.request_count(), 4);
    assert!(server.requests()[0].header("authorization").is_none());
    assert_eq!(
        b.converse_stream(chat("m", "x")).await.err().unwrap(),
        BackendError::Throttled
    );
    assert_eq!(server.request_count(), 8);
}

#[tokio::test]
async fn no_retry_after_the_stream_started() {
    let server = TestServer::start(|_, _| {
        let first =
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n".to_vec();
        Reply::chunks("text/event-stream", vec![first], Duration::ZERO, End::Cut)
    })
    .await;
    let mut c = config(&server.url);
    c.max_retries = 5;
    let b = OpenAiBackend::new(&c, None).unwrap();
    let stream = b.converse_stream(chat("m", "x")).await.unwrap();
    let items: Vec<_> = stream.collect().await;
    assert_eq!(
        items[0],
        Ok(ChatEvent::MessageStart {
            role: Role::Assistant
        })
    );
    assert_eq!(
        items[1],
        Ok(ChatEvent::ContentDelta {
            index: 0,
            text: "partial".into()
        })
    );
    assert!(
        matches!(items[2], Err(BackendError::Failed(_))),
        "{items:?}"
    );
    assert_eq!(items.len(), 3);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_upstream_connection() {
    let server = TestServer::start(|_, _| {
        let chunks = vec![
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"one \"}}]}\n\n".to_vec(),
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"two \"}}]}\n\n".to_vec(),
        ];
        Reply::chunks("text/event-stream", chunks, Duration::ZERO, End::Hang)
    })
    .await;
    let b = backend(&server.url);
    let mut stream = b.converse_stream(chat("m", "x")).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::MessageStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::ContentDelta { .. }))
    ));
    assert_eq!(server.closed_by_client(), 0);
    drop(stream);
    assert!(
        server
            .wait_closed_by_client(1, Duration::from_secs(5))
            .await,
        "the upstream connection stayed open"
    );
}

#[tokio::test]
async fn dropping_a_pending_call_closes_the_upstream_connection() {
    let server = TestServer::start(|_, _| Reply::Stall).await;
    let b = backend(&server.url);
    let call = b.converse(chat("m", "x"));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), call)
            .await
            .is_err()
    );
    assert!(
        server
            .wait_closed_by_client(1, Duration::from_secs(5))
            .await
    );
}

#[tokio::test]
async fn timeouts() {
    let server = TestServer::start(|_, _| Reply::Stall).await;
    let mut c = config(&server.url);
    c.timeout_secs = 1;
    let b = OpenAiBackend::new(&c, None).unwrap();
    let started = Instant::now();
    assert_eq!(
        b.converse(chat("m", "x")).await.unwrap_err(),
        BackendError::Timeout(Duration::from_secs(1))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        b.converse_stream(chat("m", "x")).await.err().unwrap(),
        BackendError::Timeout(Duration::from_secs(1))
    );
    assert_eq!(server.request_count(), 2, "timeouts are not retried");

    // A stream that goes quiet after it started.
    let server = TestServer::start(|_, _| {
        let first =
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n".to_vec();
        Reply::chunks("text/event-stream", vec![first], Duration::ZERO, End::Hang)
    })
    .await;
    let mut c = config(&server.url);
    c.timeout_secs = 1;
    let b = OpenAiBackend::new(&c, None).unwrap();
    let items: Vec<_> = b
        .converse_stream(chat("m", "x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        items.last(),
        Some(&Err(BackendError::Timeout(Duration::from_secs(1))))
    );
}

#[tokio::test]
async fn errors_map_without_prompt_or_key() {
    let body = format!(
        r#"{{"error":{{"message":"bad input: {PROMPT} with key {KEY}","type":"invalid_request_error"}}}}"#
    );
    for (status, check) in [
        (
            400u16,
            (|e: &BackendError| matches!(e, BackendError::Invalid(_))) as fn(&BackendError) -> bool,
        ),
        (422, |e| matches!(e, BackendError::Invalid(_))),
        (401, |e| matches!(e, BackendError::Failed(_))),
        (404, |e| matches!(e, BackendError::Failed(_))),
        (500, |e| matches!(e, BackendError::Failed(_))),
        (503, |e| matches!(e, BackendError::Unavailable(_))),
    ] {
        let body = body.clone();
        let server = TestServer::start(move |_, _| {
            Reply::status(status, &[("content-type", "application/json")], &body)
        })
        .await;
        let err = backend(&server.url)
            .converse(chat("m", PROMPT))
            .await
            .unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
        let shown = err.to_string();
        assert!(shown.contains(&status.to_string()), "{shown}");
        assert!(
            !shown.contains("private") && !shown.contains(KEY),
            "{shown}"
        );
        assert!(!format!("{err:?}").contains(KEY));
    }
}

#[tokio::test]
async fn connect_errors_are_retried_then_unavailable() {
    let addr = closed_port().await;
    let b = backend(&format!("http://{addr}"));
    match b.converse(chat("m", "x")).await {
        Err(BackendError::Unavailable(m)) => assert!(!m.contains(KEY)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn config_and_secrets() {
    let c: BackendConfig = toml::from_str(
        "type = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\napi_key_env = \"SEKISHO_TEST_SURELY_UNSET_VAR\"\n[model_map]\n\"sekisho.llama\" = \"llama3.1:8b\"",
    )
    .unwrap();
    let BackendConfig::OpenAi(oc) = &c else {
        panic!()
    };
    assert_eq!(oc.timeout_secs, 60);
    assert_eq!(oc.max_retries, 2);
    assert_eq!(oc.model_map["sekisho.llama"], "llama3.1:8b");
    let err = build_backend(&c).err().unwrap();
    assert!(
        err.contains("SEKISHO_TEST_SURELY_UNSET_VAR") && err.contains("api_key_env"),
        "{err}"
    );

    let err = toml::from_str::<BackendConfig>(
        "type = \"openai\"\nbase_url = \"http://x\"\napi_key = \"sk-1\"",
    )
    .unwrap_err();
    assert!(err.to_string().contains("api_key"), "{err}");

    assert!(OpenAiBackend::new(&OpenAiConfig::new("ftp://x"), None).is_err());
    assert!(OpenAiBackend::new(&OpenAiConfig::new("http://user:pw@x/v1"), None).is_err());
    let b = OpenAiBackend::new(&OpenAiConfig::new("http://x/v1"), Some(Secret::new(KEY))).unwrap();
    assert!(!format!("{b:?}").contains(KEY));
    let err = OpenAiBackend::new(
        &OpenAiConfig::new("http://x/v1"),
        Some(Secret::new("bad\nkey-123")),
    )
    .unwrap_err();
    assert!(
        err.contains("api_key_env") && !err.contains("key-123"),
        "{err}"
    );
}

#[tokio::test]
async fn reads_the_api_key_from_the_named_environment_variable() {
    // PATH is set in every test environment; it stands in for a key here.
    let path = std::env::var("PATH").unwrap();
    let server = TestServer::start(|_, _| Reply::json(200, &completion("ok", "stop"))).await;
    let mut c = config(&server.url);
    c.api_key_env = Some("PATH".into());
    let b = build_backend(&BackendConfig::OpenAi(c)).unwrap();
    b.converse(chat("m", "x")).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {path}").as_str())
    );
}
