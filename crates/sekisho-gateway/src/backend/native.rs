//! The providers' native InvokeModel bodies ↔ [`ChatRequest`] /
//! [`ChatResponse`], so InvokeModel and InvokeModelWithResponseStream can
//! reach any backend.
//!
//! The codec is chosen by the model id's provider prefix, see
//! [`NativeFormat::for_model`]:
//!
//! | prefix | format |
//! |---|---|
//! | `anthropic.` | Anthropic Messages (`anthropic_version: bedrock-2023-05-31`) |
//! | `amazon.titan-text`, `amazon.titan-tg1` | Amazon Titan Text (`inputText`) |
//! | `meta.` | Meta Llama (`prompt`, `max_gen_len`) |
//! | `mistral.` | Mistral (`prompt`, `max_tokens`) |
//! | `sekisho.` | the Anthropic Messages shape, `anthropic_version` and `max_tokens` optional |
//!
//! Inference-profile ids (`us.anthropic...`, `apac.meta...`) and model or
//! profile ARNs are reduced to the foundation-model id first. An
//! application inference profile's ARN names no provider: the handler
//! passes the profile's model id instead.
//!
//! Prompt-only formats (Llama, Mistral) are split into turns when the
//! prompt uses a chat template (Llama 3 headers, or `[INST]` turns with an
//! optional Llama 2 `<<SYS>>` block) so guardrails and chat backends see
//! the conversation; a prompt without a template is one user message.
//! Encoding a request writes those templates.
//!
//! Streaming: [`NativeStreamEncoder`] turns [`ChatEvent`]s into the JSON
//! chunks each provider streams (each the payload of one `chunk` event);
//! the last chunk carries `amazon-bedrock-invocationMetrics` as Bedrock's
//! do.
//!
//! A body that is not the model's shape is [`BackendError::Invalid`]
//! (`ValidationException`) with a message naming the field; values of the
//! body (which may be prompt text) are never quoted in it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::echo::count_text_tokens;
use super::openai::{block_kind, json_f32};
use super::{
    BackendError, ChatEvent, ChatRequest, ChatResponse, ContentBlock, InferenceConfig, Message,
    Role, StopReason, Usage,
};

/// Largest InvokeModel body accepted.
pub const MAX_NATIVE_BODY_BYTES: usize = 20 * 1024 * 1024;

/// The only `anthropic_version` Bedrock accepts.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Model providers, to tell an inference-profile geography prefix from a
/// provider.
const PROVIDERS: &[&str] = &[
    "ai21",
    "amazon",
    "anthropic",
    "cohere",
    "deepseek",
    "luma",
    "meta",
    "mistral",
    "openai",
    "qwen",
    "sekisho",
    "stability",
    "twelvelabs",
    "writer",
];

/// A provider's InvokeModel body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NativeFormat {
    /// Anthropic Messages on Bedrock.
    Anthropic,
    /// Amazon Titan Text.
    TitanText,
    /// Meta Llama.
    Llama,
    /// Mistral (text completion).
    Mistral,
    /// `sekisho.*` models: the Anthropic Messages shape, leniently.
    Sekisho,
}

/// The foundation-model id of a model id, inference-profile id or ARN:
/// `arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0`
/// and `us.meta.llama3-8b-instruct-v1:0` both give
/// `meta.llama3-8b-instruct-v1:0`.
pub fn base_model_id(model_id: &str) -> &str {
    let id = if model_id.starts_with("arn:") {
        model_id.rsplit('/').next().unwrap_or(model_id)
    } else {
        model_id
    };
    if let Some((first, rest)) = id.split_once('.')
        && !PROVIDERS.contains(&first)
        && rest
            .split_once('.')
            .is_some_and(|(provider, _)| PROVIDERS.contains(&provider))
    {
        return rest;
    }
    id
}

fn invalid(message: impl Into<String>) -> BackendError {
    BackendError::Invalid(message.into())
}

impl NativeFormat {
    /// The format of `model_id`'s InvokeModel bodies.
    pub fn for_model(model_id: &str) -> Result<Self, BackendError> {
        let base = base_model_id(model_id);
        let format = if base.starts_with("anthropic.") {
            NativeFormat::Anthropic
        } else if base.starts_with("amazon.titan-text") || base.starts_with("amazon.titan-tg1") {
            NativeFormat::TitanText
        } else if base.starts_with("meta.") {
            NativeFormat::Llama
        } else if base.starts_with("mistral.") {
            NativeFormat::Mistral
        } else if base.starts_with("sekisho.") {
            NativeFormat::Sekisho
        } else {
            return Err(invalid(
                "InvokeModel does not know this model's request format; it supports anthropic.*, \
                 amazon.titan-text-*, meta.*, mistral.* and sekisho.* models (use Converse for the others)",
            ));
        };
        Ok(format)
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            NativeFormat::Anthropic => "Anthropic Messages",
            NativeFormat::TitanText => "Amazon Titan Text",
            NativeFormat::Llama => "Meta Llama",
            NativeFormat::Mistral => "Mistral",
            NativeFormat::Sekisho => "Sekisho (Anthropic Messages)",
        }
    }

    /// An InvokeModel body → [`ChatRequest`] for `upstream_model`.
    pub fn decode_request(
        self,
        body: &[u8],
        upstream_model: &str,
    ) -> Result<ChatRequest, BackendError> {
        let (system, messages, inference, tool_config) = match self {
            NativeFormat::Anthropic => anthropic::decode_request(parse_body(self, body)?, true)?,
            NativeFormat::Sekisho => anthropic::decode_request(parse_body(self, body)?, false)?,
            NativeFormat::TitanText => titan::decode_request(parse_body(self, body)?)?,
            NativeFormat::Llama => llama::decode_request(parse_body(self, body)?)?,
            NativeFormat::Mistral => mistral::decode_request(parse_body(self, body)?)?,
        };
        if messages.is_empty() {
            return Err(invalid(format!(
                "the {} request has no message",
                self.name()
            )));
        }
        check_inference(&inference)?;
        Ok(ChatRequest {
            upstream_model: upstream_model.to_string(),
            system,
            messages,
            inference,
            tool_config,
        })
    }

    /// [`ChatRequest`] → an InvokeModel body (for an upstream that takes
    /// native bodies, and for tests).
    pub fn encode_request(self, request: &ChatRequest) -> Result<Vec<u8>, BackendError> {
        let value = match self {
            NativeFormat::Anthropic => anthropic::encode_request(request, true)?,
            NativeFormat::Sekisho => anthropic::encode_request(request, false)?,
            NativeFormat::TitanText => titan::encode_request(request),
            NativeFormat::Llama => llama::encode_request(request),
            NativeFormat::Mistral => mistral::encode_request(request),
        };
        Ok(value.to_string().into_bytes())
    }

    /// [`ChatResponse`] → the InvokeModel answer body, for `model_id`.
    pub fn encode_response(self, model_id: &str, response: &ChatResponse) -> Vec<u8> {
        let value = match self {
            NativeFormat::Anthropic | NativeFormat::Sekisho => {
                anthropic::encode_response(model_id, response)
            }
            NativeFormat::TitanText => titan::encode_response(response),
            NativeFormat::Llama => llama::encode_response(response),
            NativeFormat::Mistral => mistral::encode_response(response),
        };
        with_guardrail_action(value, response.stop_reason)
            .to_string()
            .into_bytes()
    }

    /// An InvokeModel answer body → [`ChatResponse`] (latency zero; token
    /// counts estimated where the format has none).
    pub fn decode_response(self, body: &[u8]) -> Result<ChatResponse, BackendError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            invalid(format!(
                "malformed {} response body: {}",
                self.name(),
                sanitize(&e.to_string())
            ))
        })?;
        let mut response = match self {
            NativeFormat::Anthropic | NativeFormat::Sekisho => anthropic::decode_response(&value)?,
            NativeFormat::TitanText => titan::decode_response(&value)?,
            NativeFormat::Llama => llama::decode_response(&value)?,
            NativeFormat::Mistral => mistral::decode_response(&value)?,
        };
        if value.get(GUARDRAIL_ACTION).and_then(Value::as_str) == Some("INTERVENED") {
            response.stop_reason = StopReason::GuardrailIntervened;
        }
        Ok(response)
    }
}

const GUARDRAIL_ACTION: &str = "amazon-bedrock-guardrailAction";

fn with_guardrail_action(mut value: Value, stop_reason: StopReason) -> Value {
    if stop_reason == StopReason::GuardrailIntervened
        && let Some(obj) = value.as_object_mut()
    {
        obj.insert(GUARDRAIL_ACTION.into(), json!("INTERVENED"));
    }
    value
}

fn parse_body<T: DeserializeOwned>(format: NativeFormat, body: &[u8]) -> Result<T, BackendError> {
    if body.len() > MAX_NATIVE_BODY_BYTES {
        return Err(invalid(format!(
            "the request body is {} bytes; at most {MAX_NATIVE_BODY_BYTES} are accepted",
            body.len()
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "malformed {} request body: {}",
            format.name(),
            sanitize(&e.to_string())
        ))
    })
}

/// A serde error message without the body's values: quoted strings become
/// `"…"` and long backquoted names are cut (field names stay).
fn sanitize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push_str("\"…\"");
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                }
            }
            '`' => {
                let inner: String = chars.by_ref().take_while(|&c| c != '`').collect();
                if inner.chars().count() <= 40 && !inner.contains(char::is_whitespace) {
                    out.push('`');
                    out.push_str(&inner);
                    out.push('`');
                } else {
                    out.push_str("`…`");
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn check_inference(inference: &InferenceConfig) -> Result<(), BackendError> {
    if let Some(t) = inference.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(invalid("temperature must be between 0 and 2"));
    }
    if let Some(p) = inference.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return Err(invalid("top_p must be between 0 and 1"));
    }
    if inference.stop_sequences.len() > 64 {
        return Err(invalid("at most 64 stop sequences are accepted"));
    }
    Ok(())
}

type Decoded = (Vec<String>, Vec<Message>, InferenceConfig, Option<Value>);

/// The text of a response's text blocks, concatenated.
fn response_text(response: &ChatResponse) -> String {
    response
        .message
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text(t) => Some(t.as_str()),
            ContentBlock::Other(_) => None,
        })
        .collect()
}

/// The text of a message's text blocks, joined by newlines.
fn message_text(message: &Message) -> String {
    message
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text(t) => Some(t.as_str()),
            ContentBlock::Other(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_response(text: String, stop_reason: StopReason, usage: Usage) -> ChatResponse {
    ChatResponse {
        message: Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text(text)],
        },
        stop_reason,
        usage,
        latency: Duration::ZERO,
    }
}

fn u32_of(value: &Value, key: &str) -> Option<u32> {
    value
        .get(key)
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// `stop` / `length` stop reasons of Llama and Mistral.
fn simple_stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

fn from_simple_stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("length") => StopReason::MaxTokens,
        _ => StopReason::EndTurn,
    }
}

fn user_text(text: String) -> Message {
    Message {
        role: Role::User,
        content: vec![ContentBlock::Text(text)],
    }
}

/// Anthropic Messages.
mod anthropic {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Request {
        anthropic_version: Option<String>,
        #[serde(default)]
        #[allow(dead_code)]
        anthropic_beta: Option<Vec<String>>,
        max_tokens: Option<u32>,
        #[serde(default)]
        system: Option<Value>,
        messages: Vec<RequestMessage>,
        temperature: Option<f32>,
        top_p: Option<f32>,
        #[serde(default)]
        #[allow(dead_code)]
        top_k: Option<u32>,
        #[serde(default)]
        stop_sequences: Vec<String>,
        #[serde(default)]
        tools: Option<Vec<Value>>,
        #[serde(default)]
        tool_choice: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RequestMessage {
        role: Role,
        content: Value,
    }

    pub(super) fn decode_request(req: Request, strict: bool) -> Result<Decoded, BackendError> {
        match req.anthropic_version.as_deref() {
            Some(ANTHROPIC_VERSION) => {}
            Some(_) => {
                return Err(invalid(format!(
                    "anthropic_version must be {ANTHROPIC_VERSION}"
                )));
            }
            None if strict => {
                return Err(invalid(format!(
                    "anthropic_version is required ({ANTHROPIC_VERSION})"
                )));
            }
            None => {}
        }
        if strict && req.max_tokens.is_none() {
            return Err(invalid("max_tokens is required"));
        }
        let system = match req.system {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(blocks)) => blocks
                .iter()
                .map(|b| {
                    match (
                        b.get("type").and_then(Value::as_str),
                        b.get("text").and_then(Value::as_str),
                    ) {
                        (Some("text"), Some(t)) => Ok(t.to_string()),
                        _ => Err(invalid("system must be a string or a list of text blocks")),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("system must be a string or a list of text blocks")),
        };
        let messages = req
            .messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                Ok(Message {
                    role: m.role,
                    content: decode_content(m.content, i)?,
                })
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        let tool_config = decode_tools(req.tools, req.tool_choice)?;
        let inference = InferenceConfig {
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: req.stop_sequences,
        };
        Ok((system, messages, inference, tool_config))
    }

    fn decode_content(content: Value, index: usize) -> Result<Vec<ContentBlock>, BackendError> {
        match content {
            Value::String(s) => Ok(vec![ContentBlock::Text(s)]),
            Value::Array(blocks) => blocks.iter().map(|b| decode_block(b, index)).collect(),
            _ => Err(invalid(format!(
                "messages.{index}.content must be a string or a list of content blocks"
            ))),
        }
    }

    fn decode_block(block: &Value, index: usize) -> Result<ContentBlock, BackendError> {
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let field = |name: &str| {
            block
                .get(name)
                .cloned()
                .ok_or_else(|| invalid(format!("messages.{index}: a {kind} block needs `{name}`")))
        };
        Ok(match kind {
            "text" => ContentBlock::Text(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("messages.{index}: a text block needs `text`")))?
                    .to_string(),
            ),
            "image" => {
                let source = field("source")?;
                let media = source
                    .get("media_type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let format = media
                    .strip_prefix("image/")
                    .filter(|f| matches!(*f, "png" | "jpeg" | "gif" | "webp"));
                match (
                    source.get("type").and_then(Value::as_str),
                    format,
                    source.get("data"),
                ) {
                    (Some("base64"), Some(format), Some(Value::String(data))) => {
                        ContentBlock::Other(
                            json!({"image": {"format": format, "source": {"bytes": data}}}),
                        )
                    }
                    _ => {
                        return Err(invalid(format!(
                            "messages.{index}: an image block needs a base64 source of image/png, jpeg, gif or webp"
                        )));
                    }
                }
            }
            "tool_use" => ContentBlock::Other(json!({"toolUse": {
                "toolUseId": field("id")?,
                "name": field("name")?,
                "input": block.get("input").cloned().unwrap_or_else(|| json!({})),
            }})),
            "tool_result" => {
                let content = match block.get("content") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::String(s)) => vec![json!({"text": s})],
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|item| match decode_block(item, index)? {
                            ContentBlock::Text(t) => Ok(json!({"text": t})),
                            ContentBlock::Other(v) if v.get("image").is_some() => Ok(v),
                            ContentBlock::Other(_) => Err(invalid(format!(
                                "messages.{index}: a tool_result holds text and images only"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(invalid(format!(
                            "messages.{index}: tool_result content must be a string or a list"
                        )));
                    }
                };
                let mut result = json!({"toolUseId": field("tool_use_id")?, "content": content});
                if block.get("is_error").and_then(Value::as_bool) == Some(true) {
                    result["status"] = json!("error");
                }
                ContentBlock::Other(json!({"toolResult": result}))
            }
            "" => {
                return Err(invalid(format!(
                    "messages.{index}: a content block needs `type`"
                )));
            }
            _ => {
                let shown = if kind.len() <= 32
                    && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    kind
                } else {
                    "…"
                };
                return Err(invalid(format!(
                    "messages.{index}: content blocks of type `{shown}` are not supported"
                )));
            }
        })
    }

    fn decode_tools(
        tools: Option<Vec<Value>>,
        choice: Option<Value>,
    ) -> Result<Option<Value>, BackendError> {
        let Some(tools) = tools else {
            return Ok(None);
        };
        let specs = tools
            .iter()
            .map(|t| {
                let name = t.get("name").ok_or_else(|| invalid("every tool needs a `name`"))?;
                let mut spec = json!({
                    "name": name,
                    "inputSchema": {"json": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"}))},
                });
                if let Some(d) = t.get("description") {
                    spec["description"] = d.clone();
                }
                Ok(json!({"toolSpec": spec}))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        let mut config = json!({"tools": specs});
        if let Some(choice) = choice {
            let mapped = match choice.get("type").and_then(Value::as_str) {
                Some("auto") => json!({"auto": {}}),
                Some("any") => json!({"any": {}}),
                Some("tool") => {
                    json!({"tool": {"name": choice.get("name").cloned().unwrap_or(Value::Null)}})
                }
                _ => return Err(invalid("tool_choice.type must be auto, any or tool")),
            };
            config["toolChoice"] = mapped;
        }
        Ok(Some(config))
    }

    /// `strict`: Bedrock's Anthropic models need `max_tokens`; 1024 when
    /// the request has none.
    pub(super) fn encode_request(
        request: &ChatRequest,
        strict: bool,
    ) -> Result<Value, BackendError> {
        let mut body = Map::new();
        body.insert("anthropic_version".into(), json!(ANTHROPIC_VERSION));
        match request.inference.max_tokens {
            Some(n) => {
                body.insert("max_tokens".into(), json!(n));
            }
            None if strict => {
                body.insert("max_tokens".into(), json!(1024));
            }
            None => {}
        }
        match request.system.as_slice() {
            [] => {}
            [one] => {
                body.insert("system".into(), json!(one));
            }
            many => {
                let blocks: Vec<Value> = many
                    .iter()
                    .map(|s| json!({"type": "text", "text": s}))
                    .collect();
                body.insert("system".into(), Value::Array(blocks));
            }
        }
        let messages = request
            .messages
            .iter()
            .map(|m| {
                let content = m
                    .content
                    .iter()
                    .map(encode_block)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(json!({"role": m.role, "content": content}))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        body.insert("messages".into(), Value::Array(messages));
        if let Some(t) = request.inference.temperature {
            body.insert("temperature".into(), json_f32(t));
        }
        if let Some(p) = request.inference.top_p {
            body.insert("top_p".into(), json_f32(p));
        }
        if !request.inference.stop_sequences.is_empty() {
            body.insert(
                "stop_sequences".into(),
                json!(request.inference.stop_sequences),
            );
        }
        if let Some(config) = &request.tool_config {
            encode_tools(config, &mut body)?;
        }
        Ok(Value::Object(body))
    }

    fn encode_block(block: &ContentBlock) -> Result<Value, BackendError> {
        let value = match block {
            ContentBlock::Text(text) => return Ok(json!({"type": "text", "text": text})),
            ContentBlock::Other(value) => value,
        };
        let (kind, inner) = block_kind(value);
        Ok(match kind {
            "image" => json!({"type": "image", "source": {
                "type": "base64",
                "media_type": format!("image/{}", inner.get("format").and_then(Value::as_str).unwrap_or("png")),
                "data": inner.pointer("/source/bytes").cloned().unwrap_or(Value::Null),
            }}),
            "toolUse" => json!({
                "type": "tool_use",
                "id": inner.get("toolUseId").cloned().unwrap_or(Value::Null),
                "name": inner.get("name").cloned().unwrap_or(Value::Null),
                "input": inner.get("input").cloned().unwrap_or_else(|| json!({})),
            }),
            "toolResult" => {
                let content: Vec<Value> = inner
                    .get("content")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|c| match c.get("text") {
                        Some(t) => Ok(json!({"type": "text", "text": t})),
                        None => encode_block(&ContentBlock::Other(c.clone())),
                    })
                    .collect::<Result<_, _>>()?;
                let mut result = json!({
                    "type": "tool_result",
                    "tool_use_id": inner.get("toolUseId").cloned().unwrap_or(Value::Null),
                    "content": content,
                });
                if inner.get("status").and_then(Value::as_str) == Some("error") {
                    result["is_error"] = json!(true);
                }
                result
            }
            _ => return Err(invalid("this content block has no Anthropic Messages form")),
        })
    }

    fn encode_tools(config: &Value, body: &mut Map<String, Value>) -> Result<(), BackendError> {
        let tools = config
            .get("tools")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let tools: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.get("toolSpec"))
            .map(|spec| {
                let mut tool = json!({
                    "name": spec.get("name").cloned().unwrap_or(Value::Null),
                    "input_schema": spec.pointer("/inputSchema/json").cloned().unwrap_or_else(|| json!({"type": "object"})),
                });
                if let Some(d) = spec.get("description") {
                    tool["description"] = d.clone();
                }
                tool
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = config.get("toolChoice") {
            let (kind, inner) = block_kind(choice);
            let mapped = match kind {
                "auto" => json!({"type": "auto"}),
                "any" => json!({"type": "any"}),
                "tool" => {
                    json!({"type": "tool", "name": inner.get("name").cloned().unwrap_or(Value::Null)})
                }
                _ => return Err(invalid("unknown toolChoice")),
            };
            body.insert("tool_choice".into(), mapped);
        }
        Ok(())
    }

    pub(super) fn stop_reason_str(reason: StopReason) -> &'static str {
        match reason {
            StopReason::EndTurn | StopReason::GuardrailIntervened => "end_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::ToolUse => "tool_use",
            StopReason::ContentFiltered => "refusal",
        }
    }

    fn parse_stop_reason(reason: Option<&str>) -> StopReason {
        match reason {
            Some("max_tokens") => StopReason::MaxTokens,
            Some("stop_sequence") => StopReason::StopSequence,
            Some("tool_use") => StopReason::ToolUse,
            Some("refusal") => StopReason::ContentFiltered,
            _ => StopReason::EndTurn,
        }
    }

    pub(super) fn message_id() -> String {
        format!("msg_bdrk_{}", uuid::Uuid::new_v4().simple())
    }

    pub(super) fn encode_response(model_id: &str, response: &ChatResponse) -> Value {
        let content: Vec<Value> = response
            .message
            .content
            .iter()
            .map(|b| encode_block(b).unwrap_or_else(|_| json!({"type": "text", "text": ""})))
            .collect();
        json!({
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": content,
            "stop_reason": stop_reason_str(response.stop_reason),
            "stop_sequence": null,
            "usage": {"input_tokens": response.usage.input_tokens, "output_tokens": response.usage.output_tokens},
        })
    }

    pub(super) fn decode_response(value: &Value) -> Result<ChatResponse, BackendError> {
        let blocks = value
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("an Anthropic Messages response needs `content`"))?;
        let content = blocks
            .iter()
            .map(|b| decode_block(b, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let usage = value.get("usage").unwrap_or(&Value::Null);
        Ok(ChatResponse {
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason: parse_stop_reason(value.get("stop_reason").and_then(Value::as_str)),
            usage: Usage {
                input_tokens: u32_of(usage, "input_tokens").unwrap_or(0),
                output_tokens: u32_of(usage, "output_tokens").unwrap_or(0),
            },
            latency: Duration::ZERO,
        })
    }
}

/// Amazon Titan Text.
mod titan {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Request {
        #[serde(rename = "inputText")]
        input_text: String,
        #[serde(rename = "textGenerationConfig", default)]
        config: Option<GenerationConfig>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct GenerationConfig {
        max_token_count: Option<u32>,
        temperature: Option<f32>,
        top_p: Option<f32>,
        #[serde(default)]
        stop_sequences: Vec<String>,
    }

    pub(super) fn decode_request(req: Request) -> Result<Decoded, BackendError> {
        if req.input_text.trim().is_empty() {
            return Err(invalid("inputText must not be empty"));
        }
        let config = req.config.unwrap_or_default();
        let inference = InferenceConfig {
            max_tokens: config.max_token_count,
            temperature: config.temperature,
            top_p: config.top_p,
            stop_sequences: config.stop_sequences,
        };
        Ok((Vec::new(), vec![user_text(req.input_text)], inference, None))
    }

    /// One user message is the `inputText`; a conversation is written as
    /// Titan's `User:` / `Bot:` transcript.
    pub(super) fn encode_request(request: &ChatRequest) -> Value {
        let input_text = match (request.system.as_slice(), request.messages.as_slice()) {
            ([], [only]) if only.role == Role::User => message_text(only),
            (system, messages) => {
                let mut text = system.join("\n");
                for m in messages {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(if m.role == Role::User {
                        "User: "
                    } else {
                        "Bot: "
                    });
                    text.push_str(&message_text(m));
                }
                text.push_str("\nBot:");
                text
            }
        };
        let inf = &request.inference;
        let mut config = Map::new();
        if let Some(n) = inf.max_tokens {
            config.insert("maxTokenCount".into(), json!(n));
        }
        if let Some(t) = inf.temperature {
            config.insert("temperature".into(), json_f32(t));
        }
        if let Some(p) = inf.top_p {
            config.insert("topP".into(), json_f32(p));
        }
        if !inf.stop_sequences.is_empty() {
            config.insert("stopSequences".into(), json!(inf.stop_sequences));
        }
        let mut body = json!({"inputText": input_text});
        if !config.is_empty() {
            body["textGenerationConfig"] = Value::Object(config);
        }
        body
    }

    pub(super) fn completion_reason(reason: StopReason) -> &'static str {
        match reason {
            StopReason::EndTurn | StopReason::ToolUse => "FINISH",
            StopReason::MaxTokens => "LENGTH",
            StopReason::StopSequence => "STOP_CRITERIA_MET",
            StopReason::ContentFiltered | StopReason::GuardrailIntervened => "CONTENT_FILTERED",
        }
    }

    fn parse_completion_reason(reason: Option<&str>) -> StopReason {
        match reason {
            Some("LENGTH") => StopReason::MaxTokens,
            Some("STOP_CRITERIA_MET") => StopReason::StopSequence,
            Some("CONTENT_FILTERED") => StopReason::ContentFiltered,
            _ => StopReason::EndTurn,
        }
    }

    pub(super) fn encode_response(response: &ChatResponse) -> Value {
        json!({
            "inputTextTokenCount": response.usage.input_tokens,
            "results": [{
                "tokenCount": response.usage.output_tokens,
                "outputText": response_text(response),
                "completionReason": completion_reason(response.stop_reason),
            }],
        })
    }

    pub(super) fn decode_response(value: &Value) -> Result<ChatResponse, BackendError> {
        let result = value
            .get("results")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .ok_or_else(|| invalid("a Titan Text response needs `results`"))?;
        let text = result
            .get("outputText")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let usage = Usage {
            input_tokens: u32_of(value, "inputTextTokenCount").unwrap_or(0),
            output_tokens: u32_of(result, "tokenCount").unwrap_or_else(|| count_text_tokens(&text)),
        };
        let reason =
            parse_completion_reason(result.get("completionReason").and_then(Value::as_str));
        Ok(text_response(text, reason, usage))
    }
}

/// Meta Llama.
mod llama {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Request {
        prompt: String,
        max_gen_len: Option<u32>,
        temperature: Option<f32>,
        top_p: Option<f32>,
    }

    pub(super) fn decode_request(req: Request) -> Result<Decoded, BackendError> {
        let (system, messages) = parse_prompt(&req.prompt)?;
        let inference = InferenceConfig {
            max_tokens: req.max_gen_len,
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: Vec::new(),
        };
        Ok((system, messages, inference, None))
    }

    /// Writes the Llama 3 chat template, ending with the assistant header.
    pub(super) fn encode_request(request: &ChatRequest) -> Value {
        let mut prompt = String::from("<|begin_of_text|>");
        let mut turn = |role: &str, text: &str| {
            prompt.push_str(&format!(
                "<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>"
            ));
        };
        if !request.system.is_empty() {
            turn("system", &request.system.join("\n"));
        }
        for m in &request.messages {
            turn(
                if m.role == Role::User {
                    "user"
                } else {
                    "assistant"
                },
                &message_text(m),
            );
        }
        prompt.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
        let inf = &request.inference;
        let mut body = json!({"prompt": prompt});
        if let Some(n) = inf.max_tokens {
            body["max_gen_len"] = json!(n);
        }
        if let Some(t) = inf.temperature {
            body["temperature"] = json_f32(t);
        }
        if let Some(p) = inf.top_p {
            body["top_p"] = json_f32(p);
        }
        body
    }

    pub(super) fn encode_response(response: &ChatResponse) -> Value {
        json!({
            "generation": response_text(response),
            "prompt_token_count": response.usage.input_tokens,
            "generation_token_count": response.usage.output_tokens,
            "stop_reason": simple_stop_reason(response.stop_reason),
        })
    }

    pub(super) fn decode_response(value: &Value) -> Result<ChatResponse, BackendError> {
        let text = value
            .get("generation")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a Llama response needs `generation`"))?
            .to_string();
        let usage = Usage {
            input_tokens: u32_of(value, "prompt_token_count").unwrap_or(0),
            output_tokens: u32_of(value, "generation_token_count")
                .unwrap_or_else(|| count_text_tokens(&text)),
        };
        Ok(text_response(
            text,
            from_simple_stop_reason(value.get("stop_reason").and_then(Value::as_str)),
            usage,
        ))
    }
}

/// Mistral text completion.
mod mistral {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Request {
        prompt: String,
        max_tokens: Option<u32>,
        temperature: Option<f32>,
        top_p: Option<f32>,
        #[serde(default)]
        #[allow(dead_code)]
        top_k: Option<u32>,
        #[serde(default)]
        stop: Vec<String>,
    }

    pub(super) fn decode_request(req: Request) -> Result<Decoded, BackendError> {
        let (system, messages) = parse_prompt(&req.prompt)?;
        let inference = InferenceConfig {
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: req.stop,
        };
        Ok((system, messages, inference, None))
    }

    /// Writes `[INST]` turns; system prompts go in a `<<SYS>>` block of the
    /// first turn.
    pub(super) fn encode_request(request: &ChatRequest) -> Value {
        let mut prompt = String::from("<s>");
        let mut system = if request.system.is_empty() {
            String::new()
        } else {
            format!("<<SYS>>\n{}\n<</SYS>>\n\n", request.system.join("\n"))
        };
        for m in &request.messages {
            let text = message_text(m);
            if m.role == Role::User {
                prompt.push_str(&format!(
                    "[INST] {}{text} [/INST]",
                    std::mem::take(&mut system)
                ));
            } else {
                prompt.push_str(&format!(" {text}</s>"));
            }
        }
        let inf = &request.inference;
        let mut body = json!({"prompt": prompt});
        if let Some(n) = inf.max_tokens {
            body["max_tokens"] = json!(n);
        }
        if let Some(t) = inf.temperature {
            body["temperature"] = json_f32(t);
        }
        if let Some(p) = inf.top_p {
            body["top_p"] = json_f32(p);
        }
        if !inf.stop_sequences.is_empty() {
            body["stop"] = json!(inf.stop_sequences);
        }
        body
    }

    pub(super) fn encode_response(response: &ChatResponse) -> Value {
        json!({"outputs": [{"text": response_text(response), "stop_reason": simple_stop_reason(response.stop_reason)}]})
    }

    pub(super) fn decode_response(value: &Value) -> Result<ChatResponse, BackendError> {
        let output = value
            .get("outputs")
            .and_then(Value::as_array)
            .and_then(|o| o.first())
            .ok_or_else(|| invalid("a Mistral response needs `outputs`"))?;
        let text = output
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let usage = Usage {
            input_tokens: 0,
            output_tokens: count_text_tokens(&text),
        };
        Ok(text_response(
            text,
            from_simple_stop_reason(output.get("stop_reason").and_then(Value::as_str)),
            usage,
        ))
    }
}

/// Splits a prompt written with a chat template into system prompts and
/// turns: Llama 3 headers, or `[INST] ... [/INST]` turns (Llama 2, Mistral)
/// with an optional `<<SYS>>` block. A prompt without either is one user
/// message, verbatim.
pub fn parse_prompt(prompt: &str) -> Result<(Vec<String>, Vec<Message>), BackendError> {
    if prompt.trim().is_empty() {
        return Err(invalid("prompt must not be empty"));
    }
    if prompt.contains("<|start_header_id|>") {
        Ok(parse_llama3(prompt))
    } else if prompt.contains("[INST]") {
        Ok(parse_inst(prompt))
    } else {
        Ok((Vec::new(), vec![user_text(prompt.to_string())]))
    }
}

fn parse_llama3(prompt: &str) -> (Vec<String>, Vec<Message>) {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    let mut parts = prompt.split("<|start_header_id|>");
    let before = parts
        .next()
        .unwrap_or_default()
        .replace("<|begin_of_text|>", "");
    if !before.trim().is_empty() {
        messages.push(user_text(before.trim().to_string()));
    }
    for part in parts {
        let (role, rest) = part
            .split_once("<|end_header_id|>")
            .unwrap_or(("user", part));
        let ended = rest.contains("<|eot_id|>");
        let text = rest
            .split("<|eot_id|>")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        match role.trim() {
            "system" => system.push(text),
            "assistant" if text.is_empty() && !ended => {} // the generation prompt
            "assistant" => messages.push(Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text(text)],
            }),
            _ => messages.push(user_text(text)),
        }
    }
    (system, messages)
}

fn parse_inst(prompt: &str) -> (Vec<String>, Vec<Message>) {
    let cleaned = prompt.replace("<s>", "").replace("</s>", "");
    let mut system = Vec::new();
    let mut messages = Vec::new();
    let mut parts = cleaned.split("[INST]");
    let before = parts.next().unwrap_or_default().trim();
    if !before.is_empty() {
        messages.push(user_text(before.to_string()));
    }
    for part in parts {
        let (user, assistant) = part.split_once("[/INST]").unwrap_or((part, ""));
        let mut user = user.trim();
        if let Some(rest) = user.strip_prefix("<<SYS>>")
            && let Some((sys, after)) = rest.split_once("<</SYS>>")
        {
            system.push(sys.trim().to_string());
            user = after.trim();
        }
        messages.push(user_text(user.to_string()));
        let assistant = assistant.trim();
        if !assistant.is_empty() {
            messages.push(Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text(assistant.to_string())],
            });
        }
    }
    (system, messages)
}

// ---------------------------------------------------------------------------
// Streaming.

/// Turns a backend's [`ChatEvent`]s into the chunks a provider streams
/// from InvokeModelWithResponseStream: each returned item is the JSON of
/// one chunk (the bytes the handler puts, base64-encoded, in a `chunk`
/// event). Call [`NativeStreamEncoder::finish`] at the end of the events,
/// whether or not a `Metadata` event came.
#[derive(Debug)]
pub struct NativeStreamEncoder {
    format: NativeFormat,
    model_id: String,
    input_tokens: u32,
    started: Instant,
    first_byte: Option<Duration>,
    output_estimate: u32,
    opened: BTreeSet<u32>,
    stop_reason: Option<StopReason>,
    sent_any: bool,
    finished: bool,
    /// `amazon-bedrock-trace` for the last chunk (guardrail trace enabled).
    trace: Option<Value>,
}

impl NativeStreamEncoder {
    /// An encoder for `format`; `input_tokens` (the backend's count of the
    /// request) goes in the first chunk, as the providers send it.
    pub fn new(format: NativeFormat, model_id: &str, input_tokens: u32) -> Self {
        NativeStreamEncoder {
            format,
            model_id: model_id.to_string(),
            input_tokens,
            started: Instant::now(),
            first_byte: None,
            output_estimate: 0,
            opened: BTreeSet::new(),
            stop_reason: None,
            sent_any: false,
            finished: false,
            trace: None,
        }
    }

    /// Puts `trace` in the last chunk as `amazon-bedrock-trace`, as Bedrock
    /// does for a guardrail with trace enabled. Set it before the closing
    /// `Metadata` event (or `finish`).
    pub fn set_trace(&mut self, trace: Value) {
        self.trace = Some(trace);
    }

    /// The chunks for `event`.
    pub fn push(&mut self, event: &ChatEvent) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        let anthropic = matches!(self.format, NativeFormat::Anthropic | NativeFormat::Sekisho);
        if anthropic {
            self.message_start(&mut out);
        }
        match event {
            // Anthropic's message_start is sent above, before any first chunk.
            ChatEvent::MessageStart { .. } => {}
            ChatEvent::ContentDelta { index, text } => {
                self.first_byte
                    .get_or_insert_with(|| self.started.elapsed());
                let tokens = count_text_tokens(text);
                self.output_estimate = self.output_estimate.saturating_add(tokens);
                let first = !self.sent_any;
                match self.format {
                    NativeFormat::Anthropic | NativeFormat::Sekisho => {
                        self.open_block(*index, &mut out);
                        self.emit(
                            &mut out,
                            json!({
                                "type": "content_block_delta",
                                "index": index,
                                "delta": {"type": "text_delta", "text": text},
                            }),
                        );
                    }
                    NativeFormat::TitanText => {
                        let input = if first {
                            json!(self.input_tokens)
                        } else {
                            Value::Null
                        };
                        self.emit(
                            &mut out,
                            json!({
                                "outputText": text,
                                "index": 0,
                                "totalOutputTextTokenCount": null,
                                "completionReason": null,
                                "inputTextTokenCount": input,
                            }),
                        );
                    }
                    NativeFormat::Llama => {
                        let input = if first {
                            json!(self.input_tokens)
                        } else {
                            Value::Null
                        };
                        self.emit(
                            &mut out,
                            json!({
                                "generation": text,
                                "prompt_token_count": input,
                                "generation_token_count": self.output_estimate,
                                "stop_reason": null,
                            }),
                        );
                    }
                    NativeFormat::Mistral => {
                        self.emit(
                            &mut out,
                            json!({"outputs": [{"text": text, "stop_reason": null}]}),
                        );
                    }
                }
            }
            ChatEvent::ContentStop { index } => {
                if anthropic {
                    self.open_block(*index, &mut out);
                    self.emit(
                        &mut out,
                        json!({"type": "content_block_stop", "index": index}),
                    );
                }
            }
            ChatEvent::MessageStop { stop_reason } => self.stop_reason = Some(*stop_reason),
            ChatEvent::Metadata { usage, latency } => self.close(*usage, *latency, &mut out),
        }
        out
    }

    /// The closing chunks, if `Metadata` has not produced them (usage then
    /// estimated).
    pub fn finish(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if !self.finished {
            if matches!(self.format, NativeFormat::Anthropic | NativeFormat::Sekisho) {
                self.message_start(&mut out);
            }
            let usage = Usage {
                input_tokens: self.input_tokens,
                output_tokens: self.output_estimate,
            };
            self.close(usage, self.started.elapsed(), &mut out);
        }
        out
    }

    /// Anthropic's `message_start`, once, before anything else.
    fn message_start(&mut self, out: &mut Vec<Vec<u8>>) {
        if self.sent_any {
            return;
        }
        let chunk = json!({
            "type": "message_start",
            "message": {
                "id": anthropic::message_id(),
                "type": "message",
                "role": "assistant",
                "model": self.model_id,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
            }
        });
        self.emit(out, chunk);
    }

    fn emit(&mut self, out: &mut Vec<Vec<u8>>, chunk: Value) {
        self.sent_any = true;
        out.push(chunk.to_string().into_bytes());
    }

    fn open_block(&mut self, index: u32, out: &mut Vec<Vec<u8>>) {
        if self.opened.insert(index) {
            self.emit(
                out,
                json!({
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                }),
            );
        }
    }

    fn close(&mut self, usage: Usage, latency: Duration, out: &mut Vec<Vec<u8>>) {
        self.finished = true;
        let reason = self.stop_reason.unwrap_or(StopReason::EndTurn);
        let metrics = json!({
            "inputTokenCount": usage.input_tokens,
            "outputTokenCount": usage.output_tokens,
            "invocationLatency": latency.as_millis() as u64,
            "firstByteLatency": self.first_byte.unwrap_or(latency).as_millis() as u64,
        });
        let last = match self.format {
            NativeFormat::Anthropic | NativeFormat::Sekisho => {
                self.emit(out, json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": anthropic::stop_reason_str(reason), "stop_sequence": null},
                    "usage": {"output_tokens": usage.output_tokens},
                }));
                json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})
            }
            NativeFormat::TitanText => json!({
                "outputText": "",
                "index": 0,
                "totalOutputTextTokenCount": usage.output_tokens,
                "completionReason": titan::completion_reason(reason),
                "inputTextTokenCount": if self.sent_any { Value::Null } else { json!(usage.input_tokens) },
                "amazon-bedrock-invocationMetrics": metrics,
            }),
            NativeFormat::Llama => json!({
                "generation": "",
                "prompt_token_count": if self.sent_any { Value::Null } else { json!(usage.input_tokens) },
                "generation_token_count": usage.output_tokens,
                "stop_reason": simple_stop_reason(reason),
                "amazon-bedrock-invocationMetrics": metrics,
            }),
            NativeFormat::Mistral => json!({
                "outputs": [{"text": "", "stop_reason": simple_stop_reason(reason)}],
                "amazon-bedrock-invocationMetrics": metrics,
            }),
        };
        let mut last = with_guardrail_action(last, reason);
        if let (Some(trace), Value::Object(obj)) = (self.trace.take(), &mut last) {
            obj.insert("amazon-bedrock-trace".into(), trace);
        }
        self.emit(out, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_model_ids() {
        assert_eq!(
            base_model_id("us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "anthropic.claude-3-5-sonnet-20240620-v1:0"
        );
        assert_eq!(
            base_model_id("apac.meta.llama3-2-1b-instruct-v1:0"),
            "meta.llama3-2-1b-instruct-v1:0"
        );
        assert_eq!(
            base_model_id("us-gov.anthropic.claude-3-haiku-20240307-v1:0"),
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(base_model_id("anthropic.claude-v2"), "anthropic.claude-v2");
        assert_eq!(base_model_id("sekisho.echo-v1"), "sekisho.echo-v1");
        assert_eq!(
            base_model_id(
                "arn:aws:bedrock:us-east-1::foundation-model/mistral.mistral-7b-instruct-v0:2"
            ),
            "mistral.mistral-7b-instruct-v0:2"
        );
        assert_eq!(
            base_model_id(
                "arn:aws:bedrock:us-east-1:111122223333:inference-profile/eu.amazon.titan-text-express-v1"
            ),
            "amazon.titan-text-express-v1"
        );
    }

    #[test]
    fn sanitize_hides_values() {
        let s =
            sanitize("invalid type: string \"my secret prompt\", expected u32 at line 1 column 30");
        assert_eq!(
            s,
            "invalid type: string \"…\", expected u32 at line 1 column 30"
        );
        assert_eq!(
            sanitize("unknown field `foo`, expected `prompt`"),
            "unknown field `foo`, expected `prompt`"
        );
        assert_eq!(
            sanitize("unknown variant `tell me a secret`, expected `user`"),
            "unknown variant `…`, expected `user`"
        );
    }
}
