//! InvokeModel native bodies ↔ the internal shape, for each provider.

mod backend_support;

use std::time::Duration;

use backend_support::chat;
use futures::StreamExt;
use sekisho_gateway::backend::echo::{EchoBackend, EchoConfig};
use sekisho_gateway::backend::native::{
    MAX_NATIVE_BODY_BYTES, NativeFormat, NativeStreamEncoder, parse_prompt,
};
use sekisho_gateway::backend::{
    Backend, BackendError, ChatEvent, ChatRequest, ChatResponse, ContentBlock, InferenceConfig,
    Message, Role, StopReason, Usage,
};
use serde_json::{Value, json};

fn text(role: Role, t: &str) -> Message {
    Message {
        role,
        content: vec![ContentBlock::Text(t.to_string())],
    }
}

fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// decode → encode → decode gives the same request.
fn assert_request_round_trip(format: NativeFormat, native: &[u8]) -> ChatRequest {
    let request = format.decode_request(native, "upstream-id").unwrap();
    let again = format
        .decode_request(&format.encode_request(&request).unwrap(), "upstream-id")
        .unwrap();
    assert_eq!(again, request, "{format:?}");
    request
}

/// encode → decode gives the same response (latency aside).
fn assert_response_round_trip(format: NativeFormat, response: &ChatResponse) -> Value {
    let bytes = format.encode_response("model-id", response);
    let decoded = format.decode_response(&bytes).unwrap();
    assert_eq!(decoded.message, response.message, "{format:?}");
    assert_eq!(decoded.stop_reason, response.stop_reason, "{format:?}");
    parse(&bytes)
}

fn response(text_: &str, stop_reason: StopReason) -> ChatResponse {
    ChatResponse {
        message: text(Role::Assistant, text_),
        stop_reason,
        usage: Usage {
            input_tokens: 11,
            output_tokens: 4,
        },
        latency: Duration::from_millis(5),
    }
}

#[test]
fn model_ids_choose_the_codec() {
    for (id, format) in [
        (
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            NativeFormat::Anthropic,
        ),
        (
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            NativeFormat::Anthropic,
        ),
        (
            "apac.anthropic.claude-3-haiku-20240307-v1:0",
            NativeFormat::Anthropic,
        ),
        ("amazon.titan-text-express-v1", NativeFormat::TitanText),
        ("amazon.titan-text-premier-v1:0", NativeFormat::TitanText),
        ("meta.llama3-8b-instruct-v1:0", NativeFormat::Llama),
        ("eu.meta.llama3-2-1b-instruct-v1:0", NativeFormat::Llama),
        ("mistral.mistral-7b-instruct-v0:2", NativeFormat::Mistral),
        ("sekisho.echo-v1", NativeFormat::Sekisho),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0",
            NativeFormat::Llama,
        ),
    ] {
        assert_eq!(NativeFormat::for_model(id).unwrap(), format, "{id}");
    }
    for id in [
        "cohere.command-r-v1:0",
        "amazon.titan-embed-text-v2:0",
        "amazon.nova-pro-v1:0",
        "",
        "us.unknown.x",
    ] {
        match NativeFormat::for_model(id) {
            Err(BackendError::Invalid(m)) => assert!(m.contains("Converse"), "{m}"),
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[test]
fn anthropic_messages_round_trip() {
    let native = body(json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "system": "You are a helpful assistant.",
        "messages": [
            {"role": "user", "content": "What is in this picture?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Let me look."}]},
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "text", "text": "Here it is."}
            ]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "zoom", "input": {"x": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "zoomed", "is_error": false}]}
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 250,
        "stop_sequences": ["\n\nHuman:"],
        "tools": [{"name": "zoom", "description": "Zoom in", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto"}
    }));
    let request = assert_request_round_trip(NativeFormat::Anthropic, &native);
    assert_eq!(request.upstream_model, "upstream-id");
    assert_eq!(request.system, vec!["You are a helpful assistant."]);
    assert_eq!(
        request.inference,
        InferenceConfig {
            max_tokens: Some(512),
            temperature: Some(0.5),
            top_p: Some(0.9),
            stop_sequences: vec!["\n\nHuman:".into()]
        }
    );
    assert_eq!(
        request.messages[0],
        text(Role::User, "What is in this picture?")
    );
    assert_eq!(
        request.messages[2].content[0],
        ContentBlock::Other(json!({"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}}))
    );
    assert_eq!(
        request.messages[3].content[0],
        ContentBlock::Other(
            json!({"toolUse": {"toolUseId": "tu1", "name": "zoom", "input": {"x": 1}}})
        )
    );
    assert_eq!(
        request.messages[4].content[0],
        ContentBlock::Other(
            json!({"toolResult": {"toolUseId": "tu1", "content": [{"text": "zoomed"}]}})
        )
    );
    assert_eq!(
        request.tool_config,
        Some(
            json!({"tools": [{"toolSpec": {"name": "zoom", "inputSchema": {"json": {"type": "object"}}, "description": "Zoom in"}}], "toolChoice": {"auto": {}}})
        )
    );

    // System as blocks.
    let native = body(json!({
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
        "system": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        assert_request_round_trip(NativeFormat::Anthropic, &native).system,
        vec!["one", "two"]
    );

    // Responses.
    for reason in [
        StopReason::EndTurn,
        StopReason::MaxTokens,
        StopReason::StopSequence,
        StopReason::ToolUse,
        StopReason::ContentFiltered,
    ] {
        let v = assert_response_round_trip(NativeFormat::Anthropic, &response("Hello!", reason));
        assert_eq!(v["type"], "message");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["model"], "model-id");
        assert_eq!(v["content"], json!([{"type": "text", "text": "Hello!"}]));
        assert_eq!(v["usage"], json!({"input_tokens": 11, "output_tokens": 4}));
        assert!(v["id"].as_str().unwrap().starts_with("msg_bdrk_"));
    }
    let v = assert_response_round_trip(
        NativeFormat::Anthropic,
        &response("blocked", StopReason::GuardrailIntervened),
    );
    assert_eq!(v["amazon-bedrock-guardrailAction"], "INTERVENED");
    let mut with_tool = response("", StopReason::ToolUse);
    with_tool.message.content = vec![
        ContentBlock::Text("Calling.".into()),
        ContentBlock::Other(json!({"toolUse": {"toolUseId": "a", "name": "f", "input": {}}})),
    ];
    let v = assert_response_round_trip(NativeFormat::Anthropic, &with_tool);
    assert_eq!(
        v["content"][1],
        json!({"type": "tool_use", "id": "a", "name": "f", "input": {}})
    );
    assert_eq!(v["stop_reason"], "tool_use");
}

#[test]
fn anthropic_validation_messages() {
    let cases = [
        (
            json!({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
            "anthropic_version",
        ),
        (
            json!({"anthropic_version": "2023-06-01", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
            "anthropic_version",
        ),
        (
            json!({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens",
        ),
        (
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []}),
            "no message",
        ),
        (
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "prompt": "x", "messages": [{"role": "user", "content": "hi"}]}),
            "prompt",
        ),
        (
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
            "video",
        ),
        (
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "temperature": 7, "messages": [{"role": "user", "content": "hi"}]}),
            "temperature",
        ),
    ];
    for (v, needle) in cases {
        match NativeFormat::Anthropic.decode_request(&body(v.clone()), "m") {
            Err(BackendError::Invalid(m)) => assert!(m.contains(needle), "{v}: {m}"),
            other => panic!("{v}: {other:?}"),
        }
    }
    // Values of the body (prompts) are never quoted back.
    let secret = "tell nobody about project falcon";
    for v in [
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": secret, "messages": [{"role": "user", "content": "hi"}]}),
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": secret, "content": "hi"}]}),
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": secret}]}]}),
    ] {
        let err = NativeFormat::Anthropic
            .decode_request(&body(v), "m")
            .unwrap_err();
        assert!(matches!(err, BackendError::Invalid(_)));
        assert!(!err.to_string().contains("falcon"), "{err}");
    }
    let err = NativeFormat::Anthropic
        .decode_request(b"{not json", "m")
        .unwrap_err();
    assert!(matches!(err, BackendError::Invalid(m) if m.contains("Anthropic")));
    let big = vec![b' '; MAX_NATIVE_BODY_BYTES + 1];
    assert!(
        matches!(NativeFormat::Anthropic.decode_request(&big, "m"), Err(BackendError::Invalid(m)) if m.contains("at most"))
    );
}

#[test]
fn sekisho_echo_takes_the_anthropic_shape_leniently() {
    let request = assert_request_round_trip(
        NativeFormat::Sekisho,
        &body(json!({"messages": [{"role": "user", "content": "Hello"}]})),
    );
    assert_eq!(request.messages, vec![text(Role::User, "Hello")]);
    assert_eq!(request.inference.max_tokens, None);
    // But not any version.
    assert!(NativeFormat::Sekisho.decode_request(&body(json!({"anthropic_version": "x", "messages": [{"role": "user", "content": "Hello"}]})), "m").is_err());
}

#[test]
fn titan_text_round_trip() {
    let native = body(json!({
        "inputText": "User: What is Sekisho?\nBot:",
        "textGenerationConfig": {"maxTokenCount": 256, "temperature": 0.3, "topP": 0.8, "stopSequences": ["User:"]}
    }));
    let request = assert_request_round_trip(NativeFormat::TitanText, &native);
    assert_eq!(
        request.messages,
        vec![text(Role::User, "User: What is Sekisho?\nBot:")]
    );
    assert_eq!(request.inference.max_tokens, Some(256));
    assert_eq!(request.inference.stop_sequences, vec!["User:"]);
    assert_eq!(
        parse(&NativeFormat::TitanText.encode_request(&request).unwrap()),
        parse(&native)
    );

    for reason in [
        StopReason::EndTurn,
        StopReason::MaxTokens,
        StopReason::StopSequence,
        StopReason::ContentFiltered,
    ] {
        let v = assert_response_round_trip(
            NativeFormat::TitanText,
            &response("Sekisho is a gateway.", reason),
        );
        assert_eq!(v["inputTextTokenCount"], 11);
        assert_eq!(v["results"][0]["tokenCount"], 4);
        assert_eq!(v["results"][0]["outputText"], "Sekisho is a gateway.");
    }
    let v =
        parse(&NativeFormat::TitanText.encode_response("m", &response("x", StopReason::MaxTokens)));
    assert_eq!(v["results"][0]["completionReason"], "LENGTH");

    assert!(
        NativeFormat::TitanText
            .decode_request(&body(json!({"inputText": ""})), "m")
            .is_err()
    );
    match NativeFormat::TitanText.decode_request(
        &body(json!({"inputText": "x", "textGenerationConfig": {"maxTokens": 5}})),
        "m",
    ) {
        Err(BackendError::Invalid(m)) => assert!(m.contains("maxTokens"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn llama_round_trip_and_templates() {
    // A plain prompt is one user message, verbatim.
    let native = body(
        json!({"prompt": "What is AWS?", "max_gen_len": 128, "temperature": 0.5, "top_p": 0.9}),
    );
    let request = assert_request_round_trip(NativeFormat::Llama, &native);
    assert_eq!(request.messages, vec![text(Role::User, "What is AWS?")]);
    assert_eq!(request.inference.max_tokens, Some(128));

    // The Llama 3 template splits into turns.
    let prompt = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are kind.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n";
    let request = assert_request_round_trip(NativeFormat::Llama, &body(json!({"prompt": prompt})));
    assert_eq!(request.system, vec!["You are kind."]);
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "Hi there"),
            text(Role::Assistant, "Hello!"),
            text(Role::User, "Tell me a joke.")
        ]
    );
    let encoded = parse(&NativeFormat::Llama.encode_request(&request).unwrap());
    assert_eq!(encoded["prompt"], prompt);

    for reason in [StopReason::EndTurn, StopReason::MaxTokens] {
        let v = assert_response_round_trip(
            NativeFormat::Llama,
            &response("Why did the chicken...", reason),
        );
        assert_eq!(v["prompt_token_count"], 11);
        assert_eq!(v["generation_token_count"], 4);
    }
    let v = parse(&NativeFormat::Llama.encode_response("m", &response("x", StopReason::MaxTokens)));
    assert_eq!(v["stop_reason"], "length");
    assert!(
        NativeFormat::Llama
            .decode_request(&body(json!({"prompt": "x", "max_tokens": 5})), "m")
            .is_err()
    );
}

#[test]
fn mistral_round_trip_and_templates() {
    let native = body(json!({
        "prompt": "<s>[INST] What is your favourite condiment? [/INST] Mayonnaise.</s>[INST] Do you have recipes? [/INST]",
        "max_tokens": 200, "temperature": 0.5, "top_p": 0.9, "top_k": 50, "stop": ["</s>"]
    }));
    let request = assert_request_round_trip(NativeFormat::Mistral, &native);
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "What is your favourite condiment?"),
            text(Role::Assistant, "Mayonnaise."),
            text(Role::User, "Do you have recipes?"),
        ]
    );
    assert_eq!(request.inference.stop_sequences, vec!["</s>"]);
    let (system, messages) =
        parse_prompt("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]").unwrap();
    assert_eq!(system, vec!["Be brief."]);
    assert_eq!(messages, vec![text(Role::User, "Hi")]);

    // A request with a system prompt survives the trip through [INST].
    let mut with_system = chat("m", "Hi");
    with_system.system = vec!["Be brief.".into()];
    let again = NativeFormat::Mistral
        .decode_request(
            &NativeFormat::Mistral.encode_request(&with_system).unwrap(),
            "m",
        )
        .unwrap();
    assert_eq!(again.system, with_system.system);
    assert_eq!(again.messages, with_system.messages);

    let v = assert_response_round_trip(
        NativeFormat::Mistral,
        &response("Yes.", StopReason::MaxTokens),
    );
    assert_eq!(
        v,
        json!({"outputs": [{"text": "Yes.", "stop_reason": "length"}]})
    );
}

async fn echo_events(request: ChatRequest) -> Vec<ChatEvent> {
    let echo = EchoBackend::new(EchoConfig {
        chunk_tokens: 2,
        chunk_delay_ms: 0,
    })
    .unwrap();
    echo.converse_stream(request)
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await
}

fn encode_all(format: NativeFormat, events: &[ChatEvent]) -> Vec<Value> {
    let mut encoder = NativeStreamEncoder::new(format, "sekisho.echo-v1", 4);
    let mut chunks: Vec<Value> = events
        .iter()
        .flat_map(|e| encoder.push(e))
        .map(|c| parse(&c))
        .collect();
    chunks.extend(encoder.finish().into_iter().map(|c| parse(&c)));
    chunks
}

#[tokio::test]
async fn invoke_model_reaches_the_echo_backend() {
    let echo = EchoBackend::new(EchoConfig::default()).unwrap();
    let native = body(
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "Hello, 関所!"}]}),
    );
    let format = NativeFormat::for_model("sekisho.echo-v1").unwrap();
    let request = format.decode_request(&native, "sekisho.echo-v1").unwrap();
    let answer = echo.converse(request).await.unwrap();
    let v = parse(&format.encode_response("sekisho.echo-v1", &answer));
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "You said: Hello, 関所!"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"], json!({"input_tokens": 5, "output_tokens": 8}));
}

#[tokio::test]
async fn anthropic_stream_chunks() {
    let mut request = chat("sekisho.echo-v1", "one two three four");
    request.inference.max_tokens = Some(6);
    let events = echo_events(request).await;
    let chunks = encode_all(NativeFormat::Anthropic, &events);
    let types: Vec<&str> = chunks.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(chunks[0]["message"]["usage"]["input_tokens"], 4);
    assert_eq!(chunks[0]["message"]["model"], "sekisho.echo-v1");
    assert_eq!(
        chunks[1]["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = chunks
        .iter()
        .filter(|c| c["type"] == "content_block_delta")
        .map(|c| {
            assert_eq!(c["delta"]["type"], "text_delta");
            c["delta"]["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(text, "You said: one two three");
    assert_eq!(chunks[6]["delta"]["stop_reason"], "max_tokens");
    assert_eq!(chunks[6]["usage"]["output_tokens"], 6);
    let metrics = &chunks[7]["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["inputTokenCount"], 4);
    assert_eq!(metrics["outputTokenCount"], 6);
    assert!(metrics["invocationLatency"].is_u64() && metrics["firstByteLatency"].is_u64());
}

#[tokio::test]
async fn titan_llama_mistral_stream_chunks() {
    let events = echo_events(chat("sekisho.echo-v1", "alpha beta gamma")).await;
    let expected = "You said: alpha beta gamma";

    let chunks = encode_all(NativeFormat::TitanText, &events);
    let text: String = chunks
        .iter()
        .map(|c| c["outputText"].as_str().unwrap())
        .collect();
    assert_eq!(text, expected);
    assert_eq!(chunks[0]["inputTextTokenCount"], 4);
    assert_eq!(chunks[0]["index"], 0);
    assert!(chunks[1]["inputTextTokenCount"].is_null());
    let last = chunks.last().unwrap();
    assert_eq!(last["completionReason"], "FINISH");
    assert_eq!(last["totalOutputTextTokenCount"], 6);
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
        6
    );
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["completionReason"].is_null())
    );

    let chunks = encode_all(NativeFormat::Llama, &events);
    let text: String = chunks
        .iter()
        .map(|c| c["generation"].as_str().unwrap())
        .collect();
    assert_eq!(text, expected);
    assert_eq!(chunks[0]["prompt_token_count"], 4);
    let last = chunks.last().unwrap();
    assert_eq!(last["stop_reason"], "stop");
    assert_eq!(last["generation_token_count"], 6);
    assert!(last["amazon-bedrock-invocationMetrics"].is_object());

    let chunks = encode_all(NativeFormat::Mistral, &events);
    let text: String = chunks
        .iter()
        .map(|c| c["outputs"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, expected);
    let last = chunks.last().unwrap();
    assert_eq!(last["outputs"][0]["stop_reason"], "stop");
    assert!(last["amazon-bedrock-invocationMetrics"].is_object());
}

#[test]
fn a_stream_cut_short_still_closes_its_chunks() {
    let mut encoder = NativeStreamEncoder::new(NativeFormat::Anthropic, "m", 2);
    let mut chunks: Vec<Value> = Vec::new();
    for e in [
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: "partial answer".into(),
        },
    ] {
        chunks.extend(encoder.push(&e).iter().map(|c| parse(c)));
    }
    chunks.extend(encoder.finish().iter().map(|c| parse(c)));
    assert!(encoder.finish().is_empty(), "finish is idempotent");
    let types: Vec<&str> = chunks.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(chunks[3]["usage"]["output_tokens"], 2);
}

#[test]
fn anthropic_streams_always_open_with_message_start() {
    let mut encoder = NativeStreamEncoder::new(NativeFormat::Anthropic, "m", 1);
    let first = encoder.push(&ChatEvent::ContentDelta {
        index: 0,
        text: "x".into(),
    });
    assert_eq!(parse(&first[0])["type"], "message_start");
    let mut encoder = NativeStreamEncoder::new(NativeFormat::Sekisho, "m", 1);
    let types: Vec<String> = encoder
        .finish()
        .iter()
        .map(|c| parse(c)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["message_start", "message_delta", "message_stop"]);
}
