//! The built-in trial model `sekisho.echo-v1`.

mod backend_support;

use std::time::{Duration, Instant};

use backend_support::{chat, delta_text, without_latency};
use futures::StreamExt;
use sekisho_gateway::backend::echo::{EchoBackend, EchoConfig, count_text_tokens, tokenize};
use sekisho_gateway::backend::{
    Backend, BackendConfig, ChatEvent, ContentBlock, Message, Role, StopReason, Usage,
    build_backend,
};

fn echo(chunk_tokens: usize, chunk_delay_ms: u64) -> EchoBackend {
    EchoBackend::new(EchoConfig {
        chunk_tokens,
        chunk_delay_ms,
    })
    .unwrap()
}

async fn stream_all(
    backend: &EchoBackend,
    request: sekisho_gateway::backend::ChatRequest,
) -> Vec<ChatEvent> {
    let stream = backend.converse_stream(request).await.unwrap();
    stream.map(|e| e.unwrap()).collect().await
}

fn text_of(response: &sekisho_gateway::backend::ChatResponse) -> &str {
    match &response.message.content[..] {
        [ContentBlock::Text(t)] => t,
        other => panic!("unexpected content {other:?}"),
    }
}

#[tokio::test]
async fn answers_with_the_last_user_message_deterministically() {
    let backend = echo(3, 0);
    let mut request = chat("sekisho.echo-v1", "Hello, Sekisho!");
    request.system = vec!["Be brief.".into()];
    request.messages.insert(
        0,
        Message {
            role: Role::User,
            content: vec![ContentBlock::Text("first".into())],
        },
    );
    request.messages.insert(
        1,
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text("ok".into())],
        },
    );

    let a = backend.converse(request.clone()).await.unwrap();
    let b = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&a), "You said: Hello, Sekisho!");
    assert_eq!(a.message.role, Role::Assistant);
    assert_eq!(a.stop_reason, StopReason::EndTurn);
    // system "Be brief." = 3, "first" = 1, "ok" = 1, "Hello, Sekisho!" = 4.
    assert_eq!(
        a.usage,
        Usage {
            input_tokens: 9,
            output_tokens: 7
        }
    );
    assert_eq!(backend.count_tokens(&request), 9);
    assert_eq!(
        (a.message, a.stop_reason, a.usage),
        (b.message, b.stop_reason, b.usage)
    );
}

#[tokio::test]
async fn answers_nothing_when_there_is_no_user_text() {
    let backend = echo(3, 0);
    let mut request = chat("sekisho.echo-v1", "   ");
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "You said nothing.");
    request.messages[0].content = vec![ContentBlock::Other(serde_json::json!({"image": {}}))];
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "You said nothing.");
    assert_eq!(r.usage.input_tokens, 1);
}

#[tokio::test]
async fn honours_max_tokens() {
    let backend = echo(2, 0);
    let mut request = chat("sekisho.echo-v1", "one two three four five");
    request.inference.max_tokens = Some(5);
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "You said: one two");
    assert_eq!(r.stop_reason, StopReason::MaxTokens);
    assert_eq!(r.usage.output_tokens, 5);

    // Exactly enough tokens: not truncated.
    request.inference.max_tokens = Some(8);
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "You said: one two three four five");
    assert_eq!(r.stop_reason, StopReason::EndTurn);

    request.inference.max_tokens = Some(0);
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "");
    assert_eq!(r.usage.output_tokens, 0);
    let events = stream_all(&backend, request).await;
    assert_eq!(delta_text(&events), "");
}

#[tokio::test]
async fn honours_stop_sequences() {
    let backend = echo(3, 0);
    let mut request = chat("sekisho.echo-v1", "alpha beta STOP gamma END delta");
    request.inference.stop_sequences = vec!["END".into(), "".into(), "STOP".into()];
    let r = backend.converse(request.clone()).await.unwrap();
    assert_eq!(text_of(&r), "You said: alpha beta ");
    assert_eq!(r.stop_reason, StopReason::StopSequence);
    assert_eq!(r.usage.output_tokens, 5);

    // max_tokens reached before the stop sequence wins.
    request.inference.max_tokens = Some(4);
    let r = backend.converse(request).await.unwrap();
    assert_eq!(text_of(&r), "You said: alpha");
    assert_eq!(r.stop_reason, StopReason::MaxTokens);
}

#[tokio::test]
async fn counts_cjk_characters_one_token_each() {
    assert_eq!(count_text_tokens("東京タワーは333メートルです。"), 14);
    assert_eq!(count_text_tokens("Hello 世界!"), 4);
    let backend = echo(2, 0);
    let mut request = chat("sekisho.echo-v1", "日本語のテキスト");
    request.inference.max_tokens = Some(6);
    let r = backend.converse(request).await.unwrap();
    assert_eq!(text_of(&r), "You said: 日本語");
    let spans = tokenize("You said: 日本語");
    assert_eq!(spans.len(), 6);
}

#[tokio::test]
async fn streams_in_chunks_that_add_up_to_the_answer() {
    for chunk_tokens in [1, 2, 3, 5, 100] {
        let backend = echo(chunk_tokens, 0);
        for text in [
            "The quick brown fox, jumps over the lazy dog.  ",
            "東京は晴れ。明日も晴れ！",
            "x",
        ] {
            let request = chat("sekisho.echo-v1", text);
            let whole = backend.converse(request.clone()).await.unwrap();
            let events = stream_all(&backend, request.clone()).await;
            assert_eq!(
                delta_text(&events),
                text_of(&whole),
                "chunk_tokens={chunk_tokens}"
            );
            let deltas: Vec<&str> = events
                .iter()
                .filter_map(|e| match e {
                    ChatEvent::ContentDelta { index: 0, text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            let tokens = whole.usage.output_tokens as usize;
            assert_eq!(deltas.len(), tokens.div_ceil(chunk_tokens));
            for d in &deltas[..deltas.len() - 1] {
                assert_eq!(tokenize(d).len(), chunk_tokens, "{d:?}");
            }
            // Order of events, and usage equal to the non-streamed answer.
            let n = events.len();
            assert_eq!(
                events[0],
                ChatEvent::MessageStart {
                    role: Role::Assistant
                }
            );
            assert_eq!(events[n - 3], ChatEvent::ContentStop { index: 0 });
            assert_eq!(
                events[n - 2],
                ChatEvent::MessageStop {
                    stop_reason: whole.stop_reason
                }
            );
            assert!(
                matches!(events[n - 1], ChatEvent::Metadata { usage, .. } if usage == whole.usage)
            );
            // Streams are reproducible too.
            let again = stream_all(&backend, request).await;
            assert_eq!(without_latency(again), without_latency(events));
        }
    }
}

#[tokio::test]
async fn chunk_delay_paces_the_stream_and_dropping_it_stops_it() {
    let backend = echo(1, 40);
    let request = chat("sekisho.echo-v1", "a b c d e f g h i j");
    let started = Instant::now();
    let mut stream = backend.converse_stream(request.clone()).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::MessageStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::ContentDelta { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::ContentDelta { .. }))
    ));
    assert!(started.elapsed() >= Duration::from_millis(80));
    drop(stream);
    // All of it: 13 chunks of 40 ms.
    let started = Instant::now();
    let events = stream_all(&backend, request).await;
    assert!(started.elapsed() >= Duration::from_millis(13 * 40));
    match events.last() {
        Some(ChatEvent::Metadata { latency, .. }) => {
            assert!(*latency >= Duration::from_millis(13 * 40))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn config_from_toml_with_defaults_and_unknown_keys_refused() {
    let c: BackendConfig = toml::from_str("type = \"echo\"").unwrap();
    assert_eq!(
        c,
        BackendConfig::Echo(EchoConfig {
            chunk_tokens: 3,
            chunk_delay_ms: 0
        })
    );
    let c: BackendConfig =
        toml::from_str("type = \"echo\"\nchunk_tokens = 5\nchunk_delay_ms = 20").unwrap();
    assert_eq!(
        c,
        BackendConfig::Echo(EchoConfig {
            chunk_tokens: 5,
            chunk_delay_ms: 20
        })
    );
    let err = toml::from_str::<BackendConfig>("type = \"echo\"\nchunk_size = 5")
        .unwrap_err()
        .to_string();
    assert!(err.contains("chunk_size"), "{err}");
    let err = toml::from_str::<BackendConfig>("type = \"llama\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("llama"), "{err}");

    let backend = build_backend(&c).unwrap();
    assert_eq!(backend.kind(), "echo");
    let err = build_backend(&BackendConfig::Echo(EchoConfig {
        chunk_tokens: 0,
        chunk_delay_ms: 0,
    }))
    .err()
    .unwrap();
    assert!(err.contains("chunk_tokens"), "{err}");
}
