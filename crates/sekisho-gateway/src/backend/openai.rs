//! `openai`: an OpenAI-compatible chat-completions upstream (vLLM, Ollama,
//! llama.cpp server, OpenAI and the many servers that copy its API).
//!
//! `POST {base_url}/chat/completions` with the system prompts as one
//! `system` message, the conversation as `user` / `assistant` messages and
//! `max_tokens`, `temperature`, `top_p`, `stop`. Streaming sets
//! `stream: true` with `stream_options.include_usage` and reads the
//! server-sent events (`data: {...}` lines ending in `data: [DONE]`) with
//! [`SseParser`], which accepts any split of the bytes into chunks.
//!
//! One [`reqwest::Client`] per backend pools the connections. A call that
//! gets 429, 502, 503 or 504, or cannot connect, is retried up to
//! `max_retries` times with exponential backoff and jitter (honouring
//! `Retry-After`), but only before the answer is handed on: once a stream
//! has been returned it is never retried. Dropping the returned future or
//! stream drops the upstream request and closes its connection.
//!
//! Error messages name the HTTP status and the upstream's error code, never
//! the upstream's error text (it may quote the prompt), the API key or the
//! prompt.
//!
//! This module also holds the small upstream toolkit the Bedrock client
//! shares: [`RetryPolicy`], [`with_retries`], [`read_bounded`], [`Secret`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::echo::{count_request_tokens, count_text_tokens};
use super::{
    Backend, BackendError, ChatEvent, ChatRequest, ChatResponse, ChatStream, ContentBlock, Message,
    Role, StopReason, Usage,
};

/// Largest non-streamed upstream answer accepted.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Largest single server-sent event accepted.
pub const MAX_SSE_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Longest wait between two retries, whatever `Retry-After` says.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(20);
/// How much of an error body is read to find its error code.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

fn default_timeout_secs() -> u64 {
    60
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_max_retries() -> u32 {
    2
}
fn default_retry_base_delay_ms() -> u64 {
    250
}

/// Settings of an OpenAI-compatible backend (`type = "openai"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// The API root, e.g. `http://127.0.0.1:11434/v1` (Ollama),
    /// `http://127.0.0.1:8000/v1` (vLLM), `https://api.openai.com/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the API key (sent as
    /// `Authorization: Bearer`); none sends no key. The key is never
    /// logged.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Limit for a whole non-streamed call; for a stream, the limit until
    /// the response starts and between two chunks.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt (429, 502, 503, 504, connect errors).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry, with jitter.
    #[serde(default = "default_retry_base_delay_ms")]
    pub retry_base_delay_ms: u64,
    /// Upstream model names by the model id the catalogue gives; an id not
    /// listed is sent as it is.
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
}

impl OpenAiConfig {
    /// A configuration with the defaults for `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key_env: None,
            timeout_secs: default_timeout_secs(),
            connect_timeout_secs: default_connect_timeout_secs(),
            max_retries: default_max_retries(),
            retry_base_delay_ms: default_retry_base_delay_ms(),
            model_map: BTreeMap::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// The upstream toolkit shared with the Bedrock client.

/// A secret string (API key, secret access key, session token): its
/// `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a secret from the environment variable `name`; the error names
/// the variable and the setting, never a value.
pub fn secret_from_env(name: &str, setting: &str) -> Result<Secret, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(Secret(v)),
        Ok(_) => Err(format!(
            "{setting}: the environment variable {name} is empty"
        )),
        Err(_) => Err(format!(
            "{setting}: the environment variable {name} is not set"
        )),
    }
}

/// When and how often an upstream call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the exponential
    /// delay with "equal jitter" (half fixed, half random), or the
    /// upstream's `Retry-After` when it says longer; never above 20 s.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(MAX_RETRY_DELAY);
        let jittered = exp / 2 + exp.mul_f64(random_fraction() / 2.0);
        retry_after
            .map_or(jittered, |ra| ra.max(jittered))
            .min(MAX_RETRY_DELAY)
    }
}

/// A number in [0, 1) that differs between calls (jitter only; not for
/// anything secret).
fn random_fraction() -> f64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The result of one attempt of an upstream call.
pub enum Attempt<T> {
    /// Success.
    Done(T),
    /// A failure worth retrying (throttling, unavailable, connect error).
    Retry {
        error: BackendError,
        retry_after: Option<Duration>,
    },
    /// A failure retrying cannot fix.
    Fail(BackendError),
}

/// Runs `attempt` until it succeeds, fails for good, or `policy` allows no
/// more retries; the last error is returned then. The argument of
/// `attempt` is the attempt number (0 for the first).
pub async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    backend: &str,
    mut attempt: F,
) -> Result<T, BackendError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut n = 0;
    loop {
        match attempt(n).await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { error, retry_after } => {
                if n >= policy.max_retries {
                    return Err(error);
                }
                let delay = policy.delay(n, retry_after);
                tracing::debug!(backend, attempt = n + 1, delay_ms = delay.as_millis() as u64, %error, "retrying the upstream call");
                tokio::time::sleep(delay).await;
                n += 1;
            }
        }
    }
}

/// The `Retry-After` header in seconds, if any.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Reads a response body of at most `limit` bytes.
pub async fn read_bounded(response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            if e.is_timeout() {
                BodyError::Timeout
            } else {
                BodyError::Broken
            }
        })?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// Why [`read_bounded`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Timeout,
    Broken,
}

impl BodyError {
    pub fn into_backend_error(self, timeout: Duration) -> BackendError {
        match self {
            BodyError::TooLarge => {
                BackendError::Failed("the upstream answer is too large".to_string())
            }
            BodyError::Timeout => BackendError::Timeout(timeout),
            BodyError::Broken => BackendError::Failed(
                "the upstream connection broke while reading the answer".into(),
            ),
        }
    }
}

/// The attempt outcome of a transport error (no HTTP response).
pub fn transport_error<T>(error: &reqwest::Error, timeout: Duration) -> Attempt<T> {
    if error.is_connect() {
        Attempt::Retry {
            error: BackendError::Unavailable("cannot connect to the upstream".into()),
            retry_after: None,
        }
    } else if error.is_timeout() {
        Attempt::Fail(BackendError::Timeout(timeout))
    } else {
        Attempt::Fail(BackendError::Failed(
            "the connection to the upstream failed".into(),
        ))
    }
}

/// An error code safe to show: letters, digits, `_`, `-`, `.` and `:`,
/// at most 64 characters, or nothing.
pub fn safe_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    ok.then(|| code.to_string())
}

/// Builds the shared HTTP client of an upstream.
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .user_agent(concat!("sekisho/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

// ---------------------------------------------------------------------------
// Server-sent events.

/// An incremental parser of `text/event-stream`: feed it the bytes as they
/// come, in chunks split anywhere (inside a line, a `\r\n` or a UTF-8
/// character), and it returns the `data` of each complete event.
///
/// Lines end in `\n`, `\r\n` or `\r`; a blank line ends an event; several
/// `data:` lines of one event join with `\n`; comments (`:`) and the
/// `event`, `id` and `retry` fields are ignored. An event or line larger
/// than [`MAX_SSE_EVENT_BYTES`] is an error.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The unfinished line.
    line: Vec<u8>,
    /// The data of the unfinished event.
    data: Option<Vec<u8>>,
    /// The last chunk ended in `\r`: a leading `\n` of the next belongs to it.
    skip_lf: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes`; returns the data of the events they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<String>, BackendError> {
        let mut events = Vec::new();
        if self.skip_lf && !bytes.is_empty() {
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            self.skip_lf = false;
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, rest) = bytes.split_at(pos);
            self.line.extend_from_slice(head);
            self.check_size()?;
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.line_done(&line)? {
                events.push(event);
            }
            bytes = &rest[1..];
            if rest[0] == b'\r' {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
        self.check_size()?;
        Ok(events)
    }

    /// The end of the stream: returns the data of an event the upstream
    /// did not close with a blank line.
    pub fn finish(&mut self) -> Result<Option<String>, BackendError> {
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(&line)?;
        }
        self.line_done(b"")
    }

    fn check_size(&self) -> Result<(), BackendError> {
        let pending = self.line.len() + self.data.as_ref().map_or(0, Vec::len);
        if pending > MAX_SSE_EVENT_BYTES {
            return Err(BackendError::Failed(
                "an upstream stream event is too large".into(),
            ));
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<String>, BackendError> {
        if line.is_empty() {
            return match self.data.take() {
                None => Ok(None),
                Some(data) => String::from_utf8(data)
                    .map(Some)
                    .map_err(|_| BackendError::Failed("the upstream stream is not UTF-8".into())),
            };
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            match &mut self.data {
                Some(data) => {
                    data.push(b'\n');
                    data.extend_from_slice(value);
                }
                None => self.data = Some(value.to_vec()),
            }
            self.check_size()?;
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------
// Mapping requests and answers.

/// The chat-completions request body for `request`, sent as `model`.
pub fn to_openai_request(
    request: &ChatRequest,
    model: &str,
    stream: bool,
) -> Result<Value, BackendError> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system.join("\n\n")}));
    }
    for message in &request.messages {
        push_messages(message, &mut messages)?;
    }
    let mut body = serde_json::Map::new();
    body.insert("model".into(), Value::from(model));
    body.insert("messages".into(), Value::Array(messages));
    let inf = &request.inference;
    if let Some(n) = inf.max_tokens {
        body.insert("max_tokens".into(), Value::from(n));
    }
    if let Some(t) = inf.temperature {
        body.insert("temperature".into(), json_f32(t));
    }
    if let Some(p) = inf.top_p {
        body.insert("top_p".into(), json_f32(p));
    }
    if !inf.stop_sequences.is_empty() {
        body.insert("stop".into(), Value::from(inf.stop_sequences.clone()));
    }
    if let Some(tool_config) = &request.tool_config {
        add_tools(tool_config, &mut body)?;
    }
    body.insert("stream".into(), Value::Bool(stream));
    if stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(body))
}

/// An `f32` as the JSON number a person would write (0.7, not
/// 0.699999988079071).
pub(crate) fn json_f32(x: f32) -> Value {
    let short: f64 = x.to_string().parse().unwrap_or(f64::from(x));
    serde_json::Number::from_f64(short).map_or(Value::Null, Value::Number)
}

/// Appends the OpenAI messages of one Converse message: tool results become
/// `tool` messages, tool uses the assistant's `tool_calls`.
fn push_messages(message: &Message, out: &mut Vec<Value>) -> Result<(), BackendError> {
    let role = match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let mut parts: Vec<Value> = Vec::new();
    let mut has_image = false;
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(text) => parts.push(json!({"type": "text", "text": text})),
            ContentBlock::Other(value) => {
                let (kind, inner) = block_kind(value);
                match kind {
                    "image" => {
                        parts.push(image_part(inner)?);
                        has_image = true;
                    }
                    "guardContent" => {
                        let text = inner
                            .pointer("/text/text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        parts.push(json!({"type": "text", "text": text}));
                    }
                    "toolUse" => {
                        let arguments = inner.get("input").cloned().unwrap_or_else(|| json!({}));
                        tool_calls.push(json!({
                            "id": inner.get("toolUseId").cloned().unwrap_or(Value::Null),
                            "type": "function",
                            "function": {
                                "name": inner.get("name").cloned().unwrap_or(Value::Null),
                                "arguments": arguments.to_string(),
                            }
                        }));
                    }
                    "toolResult" => out.push(json!({
                        "role": "tool",
                        "tool_call_id": inner.get("toolUseId").cloned().unwrap_or(Value::Null),
                        "content": tool_result_text(inner),
                    })),
                    "cachePoint" => {}
                    other => {
                        return Err(BackendError::Invalid(format!(
                            "the OpenAI-compatible backend cannot take a `{other}` content block"
                        )));
                    }
                }
            }
        }
    }
    if parts.is_empty() && tool_calls.is_empty() {
        return Ok(());
    }
    let content = if has_image {
        Value::Array(parts)
    } else if parts.is_empty() {
        Value::Null
    } else {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::from(texts.join("\n"))
    };
    let mut msg = json!({"role": role, "content": content});
    if !tool_calls.is_empty() {
        msg["tool_calls"] = Value::Array(tool_calls);
    }
    out.push(msg);
    Ok(())
}

/// The kind of a Converse content block (its single key) and its body.
pub(crate) fn block_kind(value: &Value) -> (&str, &Value) {
    match value.as_object().and_then(|o| o.iter().next()) {
        Some((k, v)) => (k.as_str(), v),
        None => ("unknown", &Value::Null),
    }
}

fn image_part(image: &Value) -> Result<Value, BackendError> {
    let format = image.get("format").and_then(Value::as_str).unwrap_or("png");
    let data = image
        .pointer("/source/bytes")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            BackendError::Invalid(
                "the OpenAI-compatible backend takes images as inline bytes only".into(),
            )
        })?;
    Ok(
        json!({"type": "image_url", "image_url": {"url": format!("data:image/{format};base64,{data}")}}),
    )
}

fn tool_result_text(result: &Value) -> String {
    let blocks = result
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    blocks
        .iter()
        .map(
            |b| match (b.get("text").and_then(Value::as_str), b.get("json")) {
                (Some(t), _) => t.to_string(),
                (None, Some(j)) => j.to_string(),
                (None, None) => String::new(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Converse `toolConfig` → `tools` and `tool_choice`.
fn add_tools(
    tool_config: &Value,
    body: &mut serde_json::Map<String, Value>,
) -> Result<(), BackendError> {
    let tools = tool_config
        .get("tools")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(tools.len());
    for tool in tools {
        let Some(spec) = tool.get("toolSpec") else {
            if tool.get("cachePoint").is_some() {
                continue;
            }
            return Err(BackendError::Invalid(
                "the OpenAI-compatible backend takes `toolSpec` tools only".into(),
            ));
        };
        let mut function = json!({
            "name": spec.get("name").cloned().unwrap_or(Value::Null),
            "parameters": spec.pointer("/inputSchema/json").cloned().unwrap_or_else(|| json!({"type": "object"})),
        });
        if let Some(d) = spec.get("description") {
            function["description"] = d.clone();
        }
        out.push(json!({"type": "function", "function": function}));
    }
    if !out.is_empty() {
        body.insert("tools".into(), Value::Array(out));
    }
    if let Some(choice) = tool_config.get("toolChoice") {
        let (kind, inner) = block_kind(choice);
        let mapped = match kind {
            "auto" => json!("auto"),
            "any" => json!("required"),
            "tool" => {
                json!({"type": "function", "function": {"name": inner.get("name").cloned().unwrap_or(Value::Null)}})
            }
            _ => return Err(BackendError::Invalid("unknown toolChoice".into())),
        };
        body.insert("tool_choice".into(), mapped);
    }
    Ok(())
}

/// `finish_reason` (and vLLM's `stop_reason`, the matched stop string) →
/// [`StopReason`].
pub fn stop_reason_from_finish(
    finish_reason: Option<&str>,
    matched_stop: Option<&Value>,
) -> StopReason {
    match finish_reason {
        Some("length") => StopReason::MaxTokens,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("content_filter") => StopReason::ContentFiltered,
        _ if matched_stop.is_some_and(Value::is_string) => StopReason::StopSequence,
        _ => StopReason::EndTurn,
    }
}

fn usage_from(value: Option<&Value>) -> Option<Usage> {
    let u = value?.as_object()?;
    let n = |k: &str| {
        u.get(k)
            .and_then(Value::as_u64)
            .map(|x| u32::try_from(x).unwrap_or(u32::MAX))
    };
    Some(Usage {
        input_tokens: n("prompt_tokens")?,
        output_tokens: n("completion_tokens").unwrap_or(0),
    })
}

/// The text of an OpenAI `content` (a string, null, or text parts).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// A chat-completions answer → [`ChatResponse`]; usage is estimated with
/// the echo tokenizer when the upstream reports none.
pub fn from_openai_response(
    body: &[u8],
    request: &ChatRequest,
    latency: Duration,
) -> Result<ChatResponse, BackendError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| BackendError::Failed("the upstream answer is not valid JSON".into()))?;
    let choice = value
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| BackendError::Failed("the upstream answer has no choices".into()))?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    let text = content_text(message.get("content"));
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(ContentBlock::Text(text.clone()));
    }
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for call in tool_calls {
        let arguments = call.pointer("/function/arguments");
        let input = match arguments {
            Some(Value::String(s)) => {
                serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            Some(v) => v.clone(),
            None => json!({}),
        };
        content.push(ContentBlock::Other(json!({"toolUse": {
            "toolUseId": call.get("id").cloned().unwrap_or(Value::Null),
            "name": call.pointer("/function/name").cloned().unwrap_or(Value::Null),
            "input": input,
        }})));
    }
    if content.is_empty() {
        content.push(ContentBlock::Text(String::new()));
    }
    let mut stop_reason = stop_reason_from_finish(
        choice.get("finish_reason").and_then(Value::as_str),
        choice.get("stop_reason"),
    );
    if !tool_calls.is_empty() && stop_reason == StopReason::EndTurn {
        stop_reason = StopReason::ToolUse;
    }
    let usage = usage_from(value.get("usage")).unwrap_or_else(|| Usage::estimate(request, &text));
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        usage,
        latency,
    })
}

/// Turns the bytes of a chat-completions stream into [`ChatEvent`]s:
/// [`SseParser`] plus the mapping of each `chat.completion.chunk`.
///
/// Emits `MessageStart` with the first chunk, a `ContentDelta` per
/// non-empty `delta.content`, and at `data: [DONE]` (or the end of the
/// bytes, if a `finish_reason` came) `ContentStop`, `MessageStop` and
/// `Metadata` (usage from the usage chunk, else estimated). Tool-call
/// deltas are not representable as [`ChatEvent`]s and are dropped; the
/// stop reason still says `tool_use`.
#[derive(Debug)]
pub struct OpenAiStreamDecoder {
    sse: SseParser,
    started: Instant,
    input_estimate: u32,
    began: bool,
    text_tokens: u32,
    finish: Option<StopReason>,
    usage: Option<Usage>,
    done: bool,
}

impl OpenAiStreamDecoder {
    /// `input_estimate` is used as input tokens when the upstream reports
    /// no usage; `started` is when the call began (for the latency).
    pub fn new(input_estimate: u32, started: Instant) -> Self {
        OpenAiStreamDecoder {
            sse: SseParser::new(),
            started,
            input_estimate,
            began: false,
            text_tokens: 0,
            finish: None,
            usage: None,
            done: false,
        }
    }

    /// Whether `[DONE]` (or an error) ended the stream.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next bytes of the body.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ChatEvent>, BackendError> {
        let mut events = Vec::new();
        if self.done {
            return Ok(events);
        }
        for data in self.sse.push(bytes)? {
            self.on_data(&data, &mut events)?;
            if self.done {
                break;
            }
        }
        Ok(events)
    }

    /// The end of the body.
    pub fn finish(&mut self) -> Result<Vec<ChatEvent>, BackendError> {
        let mut events = Vec::new();
        if self.done {
            return Ok(events);
        }
        if let Some(data) = self.sse.finish()? {
            self.on_data(&data, &mut events)?;
        }
        if !self.done {
            if self.finish.is_none() {
                self.done = true;
                return Err(BackendError::Failed(
                    "the upstream stream ended before the answer was complete".into(),
                ));
            }
            self.close(&mut events);
        }
        Ok(events)
    }

    fn on_data(&mut self, data: &str, events: &mut Vec<ChatEvent>) -> Result<(), BackendError> {
        let data = data.trim();
        if data == "[DONE]" {
            if self.finish.is_none() && !self.began {
                self.done = true;
                return Err(BackendError::Failed(
                    "the upstream stream ended without an answer".into(),
                ));
            }
            self.close(events);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| {
            self.done = true;
            BackendError::Failed("the upstream sent a stream event that is not valid JSON".into())
        })?;
        if let Some(error) = chunk.get("error") {
            self.done = true;
            let code = error
                .get("code")
                .or_else(|| error.get("type"))
                .and_then(Value::as_str)
                .and_then(safe_code)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            return Err(BackendError::Failed(format!(
                "the upstream reported an error mid-stream{code}"
            )));
        }
        if !self.began {
            self.began = true;
            events.push(ChatEvent::MessageStart {
                role: Role::Assistant,
            });
        }
        if let Some(usage) = usage_from(chunk.get("usage")) {
            self.usage = Some(usage);
        }
        let choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for choice in choices
            .iter()
            .filter(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        {
            let text = content_text(choice.pointer("/delta/content"));
            if !text.is_empty() {
                self.text_tokens = self.text_tokens.saturating_add(count_text_tokens(&text));
                events.push(ChatEvent::ContentDelta { index: 0, text });
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish = Some(stop_reason_from_finish(
                    Some(reason),
                    choice.get("stop_reason"),
                ));
            }
        }
        Ok(())
    }

    fn close(&mut self, events: &mut Vec<ChatEvent>) {
        self.done = true;
        if !self.began {
            events.push(ChatEvent::MessageStart {
                role: Role::Assistant,
            });
        }
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: self.input_estimate,
            output_tokens: self.text_tokens,
        });
        events.push(ChatEvent::ContentStop { index: 0 });
        events.push(ChatEvent::MessageStop {
            stop_reason: self.finish.unwrap_or(StopReason::EndTurn),
        });
        events.push(ChatEvent::Metadata {
            usage,
            latency: self.started.elapsed(),
        });
    }
}

// ---------------------------------------------------------------------------
// The backend.

/// An OpenAI-compatible upstream.
pub struct OpenAiBackend {
    client: reqwest::Client,
    url: reqwest::Url,
    /// `Bearer <key>`, marked sensitive.
    authorization: Option<reqwest::header::HeaderValue>,
    timeout: Duration,
    retry: RetryPolicy,
    model_map: BTreeMap<String, String>,
}

impl fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("url", &self.url.as_str())
            .field("api_key", &self.authorization.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiBackend {
    /// A backend for `config`, reading the API key from `api_key_env`.
    pub fn from_config(config: &OpenAiConfig) -> Result<Self, String> {
        let key = match &config.api_key_env {
            Some(name) => Some(secret_from_env(name, "api_key_env")?),
            None => None,
        };
        Self::new(config, key)
    }

    /// A backend for `config` with the given API key (`api_key_env` is not
    /// read).
    pub fn new(config: &OpenAiConfig, api_key: Option<Secret>) -> Result<Self, String> {
        let base = config.base_url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .map_err(|e| format!("base_url: not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("base_url: must be an http:// or https:// URL with a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("base_url: must not hold credentials; use api_key_env".into());
        }
        if config.timeout_secs == 0 || config.connect_timeout_secs == 0 {
            return Err("timeout_secs and connect_timeout_secs must be at least 1".into());
        }
        if config.max_retries > 10 {
            return Err("max_retries must be at most 10".into());
        }
        let authorization = match api_key {
            Some(key) => {
                let mut value =
                    reqwest::header::HeaderValue::try_from(format!("Bearer {}", key.expose()))
                        .map_err(|_| {
                            "api_key_env: the key holds characters not allowed in a header"
                                .to_string()
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(OpenAiBackend {
            client: http_client(Duration::from_secs(config.connect_timeout_secs))?,
            url,
            authorization,
            timeout: Duration::from_secs(config.timeout_secs),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                base_delay: Duration::from_millis(config.retry_base_delay_ms),
            },
            model_map: config.model_map.clone(),
        })
    }

    fn model_for<'a>(&'a self, request: &'a ChatRequest) -> &'a str {
        self.model_map
            .get(&request.upstream_model)
            .map_or(request.upstream_model.as_str(), String::as_str)
    }

    fn post(&self, body: Bytes, stream: bool) -> reqwest::RequestBuilder {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut builder = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, accept)
            .body(body);
        if let Some(value) = &self.authorization {
            builder = builder.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        builder
    }

    /// The attempt outcome of a non-success status.
    async fn status_error<T>(&self, response: reqwest::Response) -> Attempt<T> {
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let body = read_bounded(response, MAX_ERROR_BODY_BYTES)
            .await
            .unwrap_or_default();
        let code = error_code(&body)
            .map(|c| format!(", {c}"))
            .unwrap_or_default();
        let what = format!("HTTP {status} from the upstream{code}");
        match status {
            429 => Attempt::Retry {
                error: BackendError::Throttled,
                retry_after: after,
            },
            502..=504 => Attempt::Retry {
                error: BackendError::Unavailable(what),
                retry_after: after,
            },
            400 | 413 | 422 => Attempt::Fail(BackendError::Invalid(what)),
            408 => Attempt::Fail(BackendError::Timeout(self.timeout)),
            401 | 403 => Attempt::Fail(BackendError::Failed(format!(
                "the upstream refused the configured API key ({what})"
            ))),
            _ => Attempt::Fail(BackendError::Failed(what)),
        }
    }
}

/// The error code or type of an OpenAI-style error body, if safe to show.
fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .or_else(|| error.get("type").and_then(Value::as_str))?;
    safe_code(code)
}

impl Backend for OpenAiBackend {
    fn kind(&self) -> &'static str {
        "openai"
    }

    fn converse(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let body = Bytes::from(
                to_openai_request(&request, self.model_for(&request), false)?.to_string(),
            );
            let answer = with_retries(self.retry, "openai", |_| {
                let body = body.clone();
                async move {
                    let response = match self.post(body, false).timeout(self.timeout).send().await {
                        Ok(r) => r,
                        Err(e) => return transport_error(&e, self.timeout),
                    };
                    if !response.status().is_success() {
                        return self.status_error(response).await;
                    }
                    match read_bounded(response, MAX_RESPONSE_BYTES).await {
                        Ok(bytes) => Attempt::Done(bytes),
                        Err(e) => Attempt::Fail(e.into_backend_error(self.timeout)),
                    }
                }
            })
            .await?;
            from_openai_response(&answer, &request, started.elapsed())
        })
    }

    fn converse_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let body = Bytes::from(
                to_openai_request(&request, self.model_for(&request), true)?.to_string(),
            );
            let response = with_retries(self.retry, "openai", |_| {
                let body = body.clone();
                async move {
                    let response = match tokio::time::timeout(
                        self.timeout,
                        self.post(body, true).send(),
                    )
                    .await
                    {
                        Err(_) => return Attempt::Fail(BackendError::Timeout(self.timeout)),
                        Ok(Err(e)) => return transport_error(&e, self.timeout),
                        Ok(Ok(r)) => r,
                    };
                    if !response.status().is_success() {
                        return self.status_error(response).await;
                    }
                    Attempt::Done(response)
                }
            })
            .await?;
            let decoder = OpenAiStreamDecoder::new(count_request_tokens(&request), started);
            let stream: ChatStream = Box::pin(body_events(
                response.bytes_stream().boxed(),
                decoder,
                self.timeout,
            ));
            Ok(stream)
        })
    }

    fn count_tokens(&self, request: &ChatRequest) -> u32 {
        count_request_tokens(request)
    }
}

/// An incremental decoder of a streamed answer body.
pub trait BodyDecoder: Send + 'static {
    /// Feeds the next bytes of the body.
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<ChatEvent>, BackendError>;
    /// The end of the body.
    fn finish(&mut self) -> Result<Vec<ChatEvent>, BackendError>;
    /// Whether the answer is complete (no more bytes needed).
    fn is_done(&self) -> bool;
}

impl BodyDecoder for OpenAiStreamDecoder {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<ChatEvent>, BackendError> {
        OpenAiStreamDecoder::push(self, bytes)
    }
    fn finish(&mut self) -> Result<Vec<ChatEvent>, BackendError> {
        OpenAiStreamDecoder::finish(self)
    }
    fn is_done(&self) -> bool {
        OpenAiStreamDecoder::is_done(self)
    }
}

/// The events of a streamed body; `idle` bounds the wait for each chunk.
/// Nothing is retried here: the answer has started. The stream ends after
/// the first error. Dropping it drops `body`, which closes the upstream
/// connection.
pub fn body_events<D: BodyDecoder>(
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    decoder: D,
    idle: Duration,
) -> impl futures::Stream<Item = Result<ChatEvent, BackendError>> + Send {
    struct State<D> {
        body: BoxStream<'static, reqwest::Result<Bytes>>,
        decoder: D,
        queue: VecDeque<ChatEvent>,
        ended: bool,
    }
    let state = State {
        body,
        decoder,
        queue: VecDeque::new(),
        ended: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(event) = st.queue.pop_front() {
                return Some((Ok(event), st));
            }
            if st.ended {
                return None;
            }
            let result = match tokio::time::timeout(idle, st.body.next()).await {
                Err(_) => Err(BackendError::Timeout(idle)),
                Ok(Some(Ok(bytes))) => st.decoder.push(&bytes),
                Ok(Some(Err(e))) if e.is_timeout() => Err(BackendError::Timeout(idle)),
                Ok(Some(Err(_))) => Err(BackendError::Failed(
                    "the upstream connection broke during the answer".into(),
                )),
                Ok(None) => {
                    st.ended = true;
                    st.decoder.finish()
                }
            };
            match result {
                Ok(events) => {
                    st.queue.extend(events);
                    st.ended |= st.decoder.is_done();
                }
                Err(e) => {
                    st.ended = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
}
