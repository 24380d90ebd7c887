//! `bedrock`: Amazon Bedrock as the upstream.
//!
//! Calls `POST {endpoint}/model/{modelId}/converse` and
//! `.../converse-stream` on `https://bedrock-runtime.{region}.amazonaws.com`
//! (or the configured `endpoint_url`, for proxies and tests), each request
//! signed afresh with SigV4 (`aws-sigv4`, service `bedrock`) under the
//! configured credentials, never the caller's. The request and the answer
//! are Converse JSON, which is what [`ChatRequest`] and [`ChatResponse`]
//! model, so non-text blocks (images, documents, tool use) pass through
//! unchanged. The stream is AWS event-stream framing, decoded with
//! `aws-smithy-eventstream`'s [`MessageFrameDecoder`].
//!
//! Retries, timeouts and cancellation work as for the OpenAI-compatible
//! backend (see [`super::openai`]): throttling, unavailability, a model not
//! ready, internal errors and connect errors are retried with backoff
//! before the answer starts, never after.
//!
//! Upstream errors keep Bedrock's exception name; Bedrock's own message is
//! kept for `ValidationException` (it describes the request's shape, not
//! its content), trimmed to 300 characters.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message as FrameMessage};
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::echo::{count_request_tokens, count_text_tokens};
use super::openai::{
    Attempt, BodyDecoder, MAX_RESPONSE_BYTES, RetryPolicy, Secret, body_events, http_client,
    json_f32, read_bounded, retry_after, safe_code, secret_from_env, transport_error, with_retries,
};
use super::{
    Backend, BackendError, ChatEvent, ChatRequest, ChatResponse, ChatStream, ContentBlock, Message,
    Role, StopReason, Usage,
};

/// Largest event-stream frame accepted from the upstream.
const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

fn default_access_key_id_env() -> String {
    "AWS_ACCESS_KEY_ID".into()
}
fn default_secret_access_key_env() -> String {
    "AWS_SECRET_ACCESS_KEY".into()
}
fn default_session_token_env() -> Option<String> {
    Some("AWS_SESSION_TOKEN".into())
}
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

/// Settings of a Bedrock upstream (`type = "bedrock"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockConfig {
    /// The region called and signed for, e.g. `us-east-1`.
    pub region: String,
    /// Another endpoint than `https://bedrock-runtime.{region}.amazonaws.com`
    /// (a VPC endpoint, a proxy, a test server).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Environment variable holding the access key id.
    #[serde(default = "default_access_key_id_env")]
    pub access_key_id_env: String,
    /// Environment variable holding the secret access key.
    #[serde(default = "default_secret_access_key_env")]
    pub secret_access_key_env: String,
    /// Environment variable holding a session token, if the credentials are
    /// temporary; when it is unset or empty no token is sent.
    #[serde(default = "default_session_token_env")]
    pub session_token_env: Option<String>,
    /// Limit for a whole non-streamed call; for a stream, the limit until
    /// the response starts and between two frames.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry, with jitter.
    #[serde(default = "default_retry_base_delay_ms")]
    pub retry_base_delay_ms: u64,
    /// Upstream model ids by the model id the catalogue gives; an id not
    /// listed is sent as it is.
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
}

impl BedrockConfig {
    /// A configuration with the defaults for `region`.
    pub fn new(region: impl Into<String>) -> Self {
        BedrockConfig {
            region: region.into(),
            endpoint_url: None,
            access_key_id_env: default_access_key_id_env(),
            secret_access_key_env: default_secret_access_key_env(),
            session_token_env: default_session_token_env(),
            timeout_secs: default_timeout_secs(),
            connect_timeout_secs: default_connect_timeout_secs(),
            max_retries: default_max_retries(),
            retry_base_delay_ms: default_retry_base_delay_ms(),
            model_map: BTreeMap::new(),
        }
    }
}

/// The credentials requests to the upstream are signed with.
#[derive(Clone)]
pub struct BedrockCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

impl fmt::Debug for BedrockCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl BedrockCredentials {
    /// Reads the credentials from the environment variables `config` names.
    pub fn from_env(config: &BedrockConfig) -> Result<Self, String> {
        let access_key_id = secret_from_env(&config.access_key_id_env, "access_key_id_env")?
            .expose()
            .to_string();
        let secret_access_key =
            secret_from_env(&config.secret_access_key_env, "secret_access_key_env")?;
        let session_token = config
            .session_token_env
            .as_deref()
            .and_then(|name| std::env::var(name).ok())
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        Ok(BedrockCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        })
    }
}

// ---------------------------------------------------------------------------
// Converse JSON.

/// The Converse request body for `request`.
pub fn to_converse_request(request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content: Vec<Value> = m.content.iter().map(block_to_json).collect();
            json!({"role": role, "content": content})
        })
        .collect();
    let mut body = serde_json::Map::new();
    body.insert("messages".into(), Value::Array(messages));
    if !request.system.is_empty() {
        let system: Vec<Value> = request.system.iter().map(|s| json!({"text": s})).collect();
        body.insert("system".into(), Value::Array(system));
    }
    let inf = &request.inference;
    let mut config = serde_json::Map::new();
    if let Some(n) = inf.max_tokens {
        config.insert("maxTokens".into(), Value::from(n));
    }
    if let Some(t) = inf.temperature {
        config.insert("temperature".into(), json_f32(t));
    }
    if let Some(p) = inf.top_p {
        config.insert("topP".into(), json_f32(p));
    }
    if !inf.stop_sequences.is_empty() {
        config.insert(
            "stopSequences".into(),
            Value::from(inf.stop_sequences.clone()),
        );
    }
    if !config.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(config));
    }
    if let Some(tools) = &request.tool_config {
        body.insert("toolConfig".into(), tools.clone());
    }
    Value::Object(body)
}

fn block_to_json(block: &ContentBlock) -> Value {
    match block {
        ContentBlock::Text(text) => json!({"text": text}),
        ContentBlock::Other(value) => value.clone(),
    }
}

/// A Converse stop reason → [`StopReason`]; reasons this gateway does not
/// model (`malformed_model_output`, ...) read as `end_turn`, a full
/// context window as `max_tokens`.
pub fn parse_stop_reason(reason: &str) -> StopReason {
    match reason {
        "model_context_window_exceeded" => StopReason::MaxTokens,
        other => serde_json::from_value(Value::from(other)).unwrap_or(StopReason::EndTurn),
    }
}

fn usage_from(value: Option<&Value>) -> Option<Usage> {
    let u = value?;
    let n = |k: &str| {
        u.get(k)
            .and_then(Value::as_u64)
            .map(|x| u32::try_from(x).unwrap_or(u32::MAX))
    };
    Some(Usage {
        input_tokens: n("inputTokens")?,
        output_tokens: n("outputTokens").unwrap_or(0),
    })
}

/// A Converse response body → [`ChatResponse`].
pub fn from_converse_response(
    body: &[u8],
    request: &ChatRequest,
    latency: Duration,
) -> Result<ChatResponse, BackendError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| BackendError::Failed("the upstream answer is not valid JSON".into()))?;
    let blocks = value
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .ok_or_else(|| BackendError::Failed("the upstream answer has no output message".into()))?;
    let content: Vec<ContentBlock> = blocks
        .iter()
        .map(|b| match b.get("text").and_then(Value::as_str) {
            Some(text) if b.as_object().is_some_and(|o| o.len() == 1) => {
                ContentBlock::Text(text.to_string())
            }
            _ => ContentBlock::Other(b.clone()),
        })
        .collect();
    let stop_reason = value
        .get("stopReason")
        .and_then(Value::as_str)
        .map_or(StopReason::EndTurn, parse_stop_reason);
    let usage = usage_from(value.get("usage")).unwrap_or_else(|| {
        let text: String = content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text(t) => Some(t.as_str()),
                ContentBlock::Other(_) => None,
            })
            .collect();
        Usage::estimate(request, &text)
    });
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

// ---------------------------------------------------------------------------
// The event stream.

/// Turns the bytes of a ConverseStream answer into [`ChatEvent`]s.
///
/// `messageStart`, `contentBlockDelta` (text), `contentBlockStop`,
/// `messageStop` and `metadata` map one to one; tool-use and reasoning
/// deltas are dropped (a [`ChatEvent`] carries text only). An exception
/// frame becomes the matching [`BackendError`].
#[derive(Debug)]
pub struct BedrockStreamDecoder {
    frames: MessageFrameDecoder,
    buffer: BytesMut,
    started: Instant,
    input_estimate: u32,
    text_tokens: u32,
    stopped: Option<StopReason>,
    done: bool,
}

impl BedrockStreamDecoder {
    pub fn new(input_estimate: u32, started: Instant) -> Self {
        BedrockStreamDecoder {
            frames: MessageFrameDecoder::new(),
            buffer: BytesMut::new(),
            started,
            input_estimate,
            text_tokens: 0,
            stopped: None,
            done: false,
        }
    }

    /// Whether the `metadata` event (or an error) ended the stream.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next bytes of the body.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ChatEvent>, BackendError> {
        let mut events = Vec::new();
        if self.done {
            return Ok(events);
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > MAX_FRAME_BYTES {
            self.done = true;
            return Err(BackendError::Failed(
                "an upstream stream frame is too large".into(),
            ));
        }
        loop {
            let frame = match self.frames.decode_frame(&mut self.buffer) {
                Ok(DecodedFrame::Complete(frame)) => frame,
                Ok(DecodedFrame::Incomplete) => break,
                Err(_) => {
                    self.done = true;
                    return Err(BackendError::Failed(
                        "the upstream sent a malformed event-stream frame".into(),
                    ));
                }
            };
            if let Err(e) = self.on_frame(&frame, &mut events) {
                self.done = true;
                return Err(e);
            }
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
        self.done = true;
        match self.stopped {
            // The upstream stopped but sent no metadata: estimate it.
            Some(_) => {
                let usage = Usage {
                    input_tokens: self.input_estimate,
                    output_tokens: self.text_tokens,
                };
                events.push(ChatEvent::Metadata {
                    usage,
                    latency: self.started.elapsed(),
                });
                Ok(events)
            }
            None => Err(BackendError::Failed(
                "the upstream stream ended before the answer was complete".into(),
            )),
        }
    }

    fn on_frame(
        &mut self,
        frame: &FrameMessage,
        events: &mut Vec<ChatEvent>,
    ) -> Result<(), BackendError> {
        let message_type = header_str(frame, ":message-type").unwrap_or("event");
        match message_type {
            "event" => {}
            "exception" => {
                let kind = header_str(frame, ":exception-type").unwrap_or("unknown");
                let message = serde_json::from_slice::<Value>(frame.payload())
                    .ok()
                    .and_then(|v| {
                        v.get("message")
                            .or_else(|| v.get("Message"))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    });
                return Err(exception_error(kind, message.as_deref(), Duration::ZERO));
            }
            _ => {
                let code = header_str(frame, ":error-code")
                    .and_then(safe_code)
                    .unwrap_or_else(|| "unknown".into());
                return Err(BackendError::Failed(format!(
                    "the upstream stream failed ({code})"
                )));
            }
        }
        let payload: Value = serde_json::from_slice(frame.payload()).map_err(|_| {
            BackendError::Failed("the upstream sent a stream event that is not valid JSON".into())
        })?;
        let index = || {
            payload
                .get("contentBlockIndex")
                .and_then(Value::as_u64)
                .map_or(0, |i| i as u32)
        };
        match header_str(frame, ":event-type").unwrap_or_default() {
            "messageStart" => {
                let role = match payload.get("role").and_then(Value::as_str) {
                    Some("user") => Role::User,
                    _ => Role::Assistant,
                };
                events.push(ChatEvent::MessageStart { role });
            }
            "contentBlockDelta" => {
                if let Some(text) = payload.pointer("/delta/text").and_then(Value::as_str) {
                    self.text_tokens = self.text_tokens.saturating_add(count_text_tokens(text));
                    events.push(ChatEvent::ContentDelta {
                        index: index(),
                        text: text.to_string(),
                    });
                }
            }
            "contentBlockStop" => events.push(ChatEvent::ContentStop { index: index() }),
            "messageStop" => {
                let reason = payload
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .map_or(StopReason::EndTurn, parse_stop_reason);
                self.stopped = Some(reason);
                events.push(ChatEvent::MessageStop {
                    stop_reason: reason,
                });
            }
            "metadata" => {
                let usage = usage_from(payload.get("usage")).unwrap_or(Usage {
                    input_tokens: self.input_estimate,
                    output_tokens: self.text_tokens,
                });
                events.push(ChatEvent::Metadata {
                    usage,
                    latency: self.started.elapsed(),
                });
                self.done = true;
            }
            // contentBlockStart (tool use) and events unknown to this gateway.
            _ => {}
        }
        Ok(())
    }
}

fn header_str<'a>(frame: &'a FrameMessage, name: &str) -> Option<&'a str> {
    frame
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

/// A Bedrock exception (by name, in either case convention) → the error.
fn exception_error(kind: &str, message: Option<&str>, timeout: Duration) -> BackendError {
    let name = kind.split(':').next().unwrap_or(kind);
    let shown = safe_code(name).unwrap_or_else(|| "unknown".into());
    match name.to_ascii_lowercase().as_str() {
        "throttlingexception" | "servicequotaexceededexception" => BackendError::Throttled,
        "validationexception" => {
            let detail: String = message
                .unwrap_or("the request is not valid")
                .chars()
                .take(300)
                .collect();
            BackendError::Invalid(format!("{shown}: {detail}"))
        }
        "modeltimeoutexception" => BackendError::Timeout(timeout),
        "serviceunavailableexception" | "modelnotreadyexception" => {
            BackendError::Unavailable(format!("the upstream Bedrock is unavailable ({shown})"))
        }
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "expiredtokenexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception" => BackendError::Failed(format!(
            "the upstream Bedrock refused the configured credentials ({shown})"
        )),
        _ => BackendError::Failed(format!("the upstream Bedrock failed ({shown})")),
    }
}

/// Whether an error named `kind` is worth retrying.
fn retryable_exception(kind: &str) -> bool {
    matches!(
        kind.to_ascii_lowercase().as_str(),
        "throttlingexception"
            | "serviceunavailableexception"
            | "modelnotreadyexception"
            | "internalserverexception"
    )
}

// ---------------------------------------------------------------------------
// The backend.

/// An Amazon Bedrock upstream.
pub struct BedrockBackend {
    client: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: BedrockCredentials,
    timeout: Duration,
    retry: RetryPolicy,
    model_map: BTreeMap<String, String>,
}

impl fmt::Debug for BedrockBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockBackend")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl BedrockBackend {
    /// A backend for `config`, with the credentials from the environment
    /// variables it names.
    pub fn from_config(config: &BedrockConfig) -> Result<Self, String> {
        Self::new(config, BedrockCredentials::from_env(config)?)
    }

    /// A backend for `config` with the given credentials (the `*_env`
    /// settings are not read).
    pub fn new(config: &BedrockConfig, credentials: BedrockCredentials) -> Result<Self, String> {
        let region = &config.region;
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("region: not a region name (like us-east-1)".into());
        }
        let endpoint = match &config.endpoint_url {
            Some(url) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| format!("endpoint_url: not a URL ({e})"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(
                        "endpoint_url: must be an http:// or https:// URL with a host".into(),
                    );
                }
                if parsed.query().is_some()
                    || !parsed.username().is_empty()
                    || parsed.password().is_some()
                {
                    return Err("endpoint_url: must have no query and no credentials".into());
                }
                url.trim_end_matches('/').to_string()
            }
            None => format!("https://bedrock-runtime.{region}.amazonaws.com"),
        };
        if config.timeout_secs == 0 || config.connect_timeout_secs == 0 {
            return Err("timeout_secs and connect_timeout_secs must be at least 1".into());
        }
        if config.max_retries > 10 {
            return Err("max_retries must be at most 10".into());
        }
        if credentials.access_key_id.is_empty() || credentials.secret_access_key.expose().is_empty()
        {
            return Err("the Bedrock credentials are empty".into());
        }
        Ok(BedrockBackend {
            client: http_client(Duration::from_secs(config.connect_timeout_secs))?,
            endpoint,
            region: region.clone(),
            credentials,
            timeout: Duration::from_secs(config.timeout_secs),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                base_delay: Duration::from_millis(config.retry_base_delay_ms),
            },
            model_map: config.model_map.clone(),
        })
    }

    /// The URL of `operation` (`converse`, `converse-stream`) for the
    /// model of `request`.
    pub fn url_for(&self, request: &ChatRequest, operation: &str) -> String {
        let model = self
            .model_map
            .get(&request.upstream_model)
            .unwrap_or(&request.upstream_model);
        format!(
            "{}/model/{}/{operation}",
            self.endpoint,
            encode_path_segment(model)
        )
    }

    /// A request to `url` carrying `body`, signed with SigV4 now.
    fn signed(
        &self,
        url: &str,
        body: Bytes,
        accept: &str,
    ) -> Result<reqwest::RequestBuilder, BackendError> {
        let signing_failed = |_| BackendError::Failed("cannot sign the upstream request".into());
        let identity = Credentials::new(
            self.credentials.access_key_id.clone(),
            self.credentials.secret_access_key.expose(),
            self.credentials
                .session_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            None,
            "sekisho-bedrock-backend",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("bedrock")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| BackendError::Failed("cannot sign the upstream request".into()))?
            .into();
        let headers = [("content-type", "application/json"), ("accept", accept)];
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(signing_failed)?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(signing_failed)?
            .into_parts();
        let mut builder = self.client.post(url).body(body.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        for (name, value) in instructions.headers() {
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| BackendError::Failed("cannot sign the upstream request".into()))?;
            if name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("x-amz-security-token")
            {
                value.set_sensitive(true);
            }
            builder = builder.header(name, value);
        }
        Ok(builder)
    }

    /// The attempt outcome of a non-success status.
    async fn status_error<T>(&self, response: reqwest::Response) -> Attempt<T> {
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let header_kind = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_string());
        let body = read_bounded(response, MAX_ERROR_BODY_BYTES)
            .await
            .unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let body_kind = parsed.as_ref().and_then(|v| {
            v.get("__type")
                .or_else(|| v.get("code"))
                .and_then(Value::as_str)
                .map(|t| {
                    // `__type` may be `namespace#Name`.
                    t.rsplit('#').next().unwrap_or(t).to_string()
                })
        });
        let message = parsed.as_ref().and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let kind = header_kind.or(body_kind);
        let error = match &kind {
            Some(kind) => exception_error(kind, message.as_deref(), self.timeout),
            None => match status {
                429 => BackendError::Throttled,
                502..=504 => {
                    BackendError::Unavailable(format!("HTTP {status} from the upstream Bedrock"))
                }
                400 | 413 | 422 => {
                    BackendError::Invalid(format!("HTTP {status} from the upstream Bedrock"))
                }
                408 => BackendError::Timeout(self.timeout),
                _ => BackendError::Failed(format!("HTTP {status} from the upstream Bedrock")),
            },
        };
        let retry = match &kind {
            Some(kind) => retryable_exception(kind),
            None => matches!(status, 429 | 502..=504),
        };
        if retry {
            Attempt::Retry {
                error,
                retry_after: after,
            }
        } else {
            Attempt::Fail(error)
        }
    }
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved
/// characters), as the AWS SDKs do for a model id: `:` → `%3A`, `/` → `%2F`.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Backend for BedrockBackend {
    fn kind(&self) -> &'static str {
        "bedrock"
    }

    fn converse(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let url = self.url_for(&request, "converse");
            let body = Bytes::from(to_converse_request(&request).to_string());
            let answer = with_retries(self.retry, "bedrock", |_| {
                let body = body.clone();
                let url = url.as_str();
                async move {
                    let builder = match self.signed(url, body, "application/json") {
                        Ok(b) => b,
                        Err(e) => return Attempt::Fail(e),
                    };
                    let response = match builder.timeout(self.timeout).send().await {
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
            from_converse_response(&answer, &request, started.elapsed())
        })
    }

    fn converse_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, BackendError>> {
        Box::pin(async move {
            let started = Instant::now();
            let url = self.url_for(&request, "converse-stream");
            let body = Bytes::from(to_converse_request(&request).to_string());
            let response = with_retries(self.retry, "bedrock", |_| {
                let body = body.clone();
                let url = url.as_str();
                async move {
                    let builder = match self.signed(url, body, "application/vnd.amazon.eventstream")
                    {
                        Ok(b) => b,
                        Err(e) => return Attempt::Fail(e),
                    };
                    let response = match tokio::time::timeout(self.timeout, builder.send()).await {
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
            let decoder = BedrockStreamDecoder::new(count_request_tokens(&request), started);
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

impl BodyDecoder for BedrockStreamDecoder {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<ChatEvent>, BackendError> {
        BedrockStreamDecoder::push(self, bytes)
    }
    fn finish(&mut self) -> Result<Vec<ChatEvent>, BackendError> {
        BedrockStreamDecoder::finish(self)
    }
    fn is_done(&self) -> bool {
        BedrockStreamDecoder::is_done(self)
    }
}
