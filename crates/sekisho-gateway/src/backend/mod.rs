//! Model backends: what answers a model call after it has been authorized
//! and checked.
//!
//! Every backend speaks one internal shape, modelled on Bedrock's Converse
//! API: a [`ChatRequest`] in, a [`ChatResponse`] or a stream of
//! [`ChatEvent`]s out. The Bedrock runtime handlers translate Converse and
//! the providers' InvokeModel bodies to and from it (see [`native`]), so a
//! backend never sees the wire format and guardrails see one shape of text.
//!
//! Dropping a returned future or stream cancels the backend call: when a
//! client goes away, hyper drops the response, and with it the upstream
//! request.

pub mod bedrock;
pub mod echo;
pub mod native;
pub mod openai;

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// A conversation turn's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One block of a message. Text is what guardrails inspect; other blocks
/// (images, documents, tool use and results) pass through as their Converse
/// JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    Text(String),
    Other(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

/// Inference parameters (Converse `inferenceConfig`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceConfig {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub stop_sequences: Vec<String>,
}

/// A model call in the internal shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model id the backend should use upstream (after catalogue
    /// mapping), e.g. `llama3.1:8b` for an Ollama backend.
    pub upstream_model: String,
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub inference: InferenceConfig,
    /// Converse `toolConfig`, passed through where the backend supports it.
    pub tool_config: Option<serde_json::Value>,
}

/// Why generation stopped, in Converse's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    GuardrailIntervened,
    ContentFiltered,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

impl Usage {
    /// Counts estimated with the echo tokenizer, for upstreams that report
    /// no usage.
    pub fn estimate(request: &ChatRequest, output_text: &str) -> Usage {
        Usage {
            input_tokens: echo::count_request_tokens(request),
            output_tokens: echo::count_text_tokens(output_text),
        }
    }

    pub fn total(&self) -> u32 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub message: Message,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// Time the backend took.
    pub latency: Duration,
}

/// One event of a streamed answer, in Converse-stream order:
/// `MessageStart`, then `ContentDelta`s (per content block index), then
/// `ContentStop`, `MessageStop` and `Metadata`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    MessageStart { role: Role },
    ContentDelta { index: u32, text: String },
    ContentStop { index: u32 },
    MessageStop { stop_reason: StopReason },
    Metadata { usage: Usage, latency: Duration },
}

/// A failure of the backend, mapped by the handlers to Bedrock's exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend did not answer in time (`ModelTimeoutException`).
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend refused for load (`ThrottlingException`).
    #[error("the model backend is throttling requests")]
    Throttled,
    /// The backend rejected the request as invalid (`ValidationException`).
    #[error("the model backend rejected the request: {0}")]
    Invalid(String),
    /// The backend failed (`ModelErrorException`); the message is safe to
    /// show (no upstream credentials, no prompt).
    #[error("the model backend failed: {0}")]
    Failed(String),
    /// The backend cannot be reached (`ServiceUnavailableException`).
    #[error("the model backend is unavailable: {0}")]
    Unavailable(String),
}

pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, BackendError>> + Send>>;

/// A model backend.
pub trait Backend: Send + Sync {
    /// A short name for logs and metrics (`echo`, `openai`, `bedrock`).
    fn kind(&self) -> &'static str;

    /// Generates a complete answer.
    fn converse(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, BackendError>>;

    /// Generates an answer as a stream of events.
    fn converse_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, BackendError>>;

    /// Counts the input tokens of a request the way this backend's model
    /// would (an estimate where the backend cannot say).
    fn count_tokens(&self, request: &ChatRequest) -> u32;
}

/// One configured backend, as the `[backends.NAME]` tables of the
/// configuration give it: `type = "echo" | "openai" | "bedrock"` and that
/// backend's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackendConfig {
    #[serde(rename = "echo")]
    Echo(echo::EchoConfig),
    #[serde(rename = "openai")]
    OpenAi(openai::OpenAiConfig),
    #[serde(rename = "bedrock")]
    Bedrock(bedrock::BedrockConfig),
}

impl Default for BackendConfig {
    /// The built-in trial model with its default settings.
    fn default() -> Self {
        BackendConfig::Echo(echo::EchoConfig::default())
    }
}

/// Builds the backend `config` describes, reading the secrets from the
/// environment variables it names. The error names the setting at fault
/// and never holds a secret.
pub fn build_backend(config: &BackendConfig) -> Result<std::sync::Arc<dyn Backend>, String> {
    Ok(match config {
        BackendConfig::Echo(c) => std::sync::Arc::new(echo::EchoBackend::new(c.clone())?),
        BackendConfig::OpenAi(c) => std::sync::Arc::new(openai::OpenAiBackend::from_config(c)?),
        BackendConfig::Bedrock(c) => std::sync::Arc::new(bedrock::BedrockBackend::from_config(c)?),
    })
}
