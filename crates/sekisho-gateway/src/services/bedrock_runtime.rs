//! Bedrock runtime: Converse, ConverseStream, InvokeModel,
//! InvokeModelWithResponseStream and CountTokens, served by the backend the
//! model catalogue names, in the regions where the model is available.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Map, Value, json};

use crate::backend::native::{NativeFormat, NativeStreamEncoder};
use crate::backend::{
    Backend, BackendError, ChatRequest, ChatResponse, ContentBlock, InferenceConfig, Message, Role,
};
use crate::error::{ApiError, ErrorKind};
use crate::eventstream::{self, StreamOperation};
use crate::gateway::Gateway;
use crate::registry::{Input, Operation, model_arn};
use crate::services::{Call, Reply};

/// The model id of a call: a model id, an inference-profile id, or the ARN
/// of either.
pub fn model_id_of(input: &Input) -> Result<String, ApiError> {
    let raw = input
        .get("modelId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| crate::protocol::missing("modelId"))?;
    if raw.len() > 2048 || raw.contains(['/', '\\']) && !raw.starts_with("arn:") {
        return Err(ApiError::validation(
            "The provided model identifier is invalid.",
        ));
    }
    if raw.starts_with("arn:") {
        let arn = sekisho_policy::arn::Arn::parse(raw)
            .filter(|a| a.service == "bedrock")
            .ok_or_else(|| ApiError::validation("The provided model identifier is invalid."))?;
        let id = arn
            .resource
            .strip_prefix("foundation-model/")
            .or_else(|| arn.resource.strip_prefix("inference-profile/"))
            .ok_or_else(|| ApiError::validation("The provided model identifier is invalid."))?;
        if id.is_empty() || id.contains('/') {
            return Err(ApiError::validation(
                "The provided model identifier is invalid.",
            ));
        }
        return Ok(id.to_string());
    }
    if raw == "." || raw == ".." || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::validation(
            "The provided model identifier is invalid.",
        ));
    }
    Ok(raw.to_string())
}

/// The guardrail a model call names: Converse's `guardrailConfig`, or
/// InvokeModel's `X-Amzn-Bedrock-Guardrail*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedGuardrail {
    pub identifier: String,
    pub version: Option<String>,
    /// `enabled`, `enabled_full` or `disabled` (any case).
    pub trace: Option<String>,
    /// ConverseStream's `streamProcessingMode` (`sync` or `async`).
    pub stream_processing_mode: Option<String>,
}

pub fn named_guardrail(
    op_name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Option<NamedGuardrail> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match op_name {
        "Converse" | "ConverseStream" => serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            let g = v.get("guardrailConfig")?;
            let text = |k: &str| g.get(k).and_then(Value::as_str).map(str::to_string);
            Some(NamedGuardrail {
                identifier: text("guardrailIdentifier")?,
                version: text("guardrailVersion"),
                trace: text("trace"),
                stream_processing_mode: text("streamProcessingMode"),
            })
        }),
        "InvokeModel" | "InvokeModelWithResponseStream" => Some(NamedGuardrail {
            identifier: header("x-amzn-bedrock-guardrailidentifier")?,
            version: header("x-amzn-bedrock-guardrailversion"),
            trace: header("x-amzn-bedrock-trace"),
            stream_processing_mode: None,
        }),
        _ => None,
    }
}

/// The guardrail ARN a model call must also be allowed
/// `bedrock:ApplyGuardrail` on, as Bedrock requires.
pub fn guardrail_resource(
    op: &Operation,
    headers: &http::HeaderMap,
    body: &[u8],
    account: &str,
    region: &str,
) -> Option<String> {
    if op.service != "bedrock-runtime" {
        return None;
    }
    named_guardrail(op.name, headers, body)
        .map(|g| crate::registry::guardrail_arn_of(account, region, &g.identifier))
}

/// Condition keys of model calls: `bedrock:GuardrailIdentifier` when the
/// call names a guardrail.
pub fn condition_keys(
    op: &Operation,
    headers: &http::HeaderMap,
    body: &[u8],
    account: &str,
    region: &str,
    context: &mut sekisho_policy::Context,
) {
    if let Some(NamedGuardrail {
        identifier: id,
        version,
        ..
    }) = named_guardrail(op.name, headers, body)
    {
        let arn = if id.starts_with("arn:") {
            id
        } else {
            format!("arn:aws:bedrock:{region}:{account}:guardrail/{id}")
        };
        let value = match version {
            Some(v) if !v.is_empty() && !arn.rsplit('/').next().unwrap_or("").contains(':') => {
                format!("{arn}:{v}")
            }
            _ => arn,
        };
        context.insert("bedrock:GuardrailIdentifier", value);
    }
}

/// The backend and upstream model name for a model in a region; a model
/// that is not available in the region is refused (data residency).
fn route(
    gateway: &Gateway,
    model_id: &str,
    region: &str,
) -> Result<(Arc<dyn Backend>, String), ApiError> {
    let Some(entry) = gateway.config.model(model_id, region) else {
        if gateway.config.model_known(model_id) {
            return Err(ApiError::validation(format!(
                "The model {model_id} is not available in region {region}; the request was refused to keep data in the regions configured for it"
            )));
        }
        return Err(ApiError::validation(
            "The provided model identifier is invalid.",
        ));
    };
    let backend = gateway
        .backends
        .get(&entry.backend)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::ServiceUnavailable,
                "The model's backend is not running",
            )
        })?;
    let upstream = entry
        .upstream_model
        .clone()
        .unwrap_or_else(|| model_id.to_string());
    Ok((backend, upstream))
}

/// A guardrail in force on one model call.
struct ActiveGuardrail {
    compiled: Arc<sekisho_guard::CompiledGuardrail>,
    id: String,
    version: String,
    trace: bool,
    /// ConverseStream in async mode: output released at once and the
    /// stream stopped after a hit (never for a guardrail that masks output,
    /// see [`masks_output`]).
    release_at_once: bool,
    /// How much of the input it guards: `None` for a named guardrail
    /// (`guardContent` tags decide), the enforced configuration's scope
    /// for an enforced one.
    scope: Option<Scope>,
    /// The account's enforced guardrails applied after it (a block by any
    /// blocks; their masks apply too). Not in the trace.
    extra: Vec<(Arc<sekisho_guard::CompiledGuardrail>, Scope)>,
}

/// An enforced guardrail's input scope: each part in full (COMPREHENSIVE)
/// or only its `guardContent` blocks when it has any (SELECTIVE).
#[derive(Debug, Clone, Copy)]
struct Scope {
    system_all: bool,
    messages_all: bool,
}

/// The guardrail a call names, compiled; one that does not exist is
/// `ResourceNotFoundException` (the call fails closed).
fn active_guardrail(gateway: &Gateway, call: &Call) -> Result<Option<ActiveGuardrail>, ApiError> {
    let Some(named) = named_guardrail(call.op.name, &call.headers, &call.body) else {
        // A guardrailConfig that names no guardrail must not run the call
        // unguarded.
        let has_config = matches!(call.op.name, "Converse" | "ConverseStream")
            && serde_json::from_slice::<Value>(&call.body)
                .ok()
                .is_some_and(|v| v.get("guardrailConfig").is_some_and(|g| !g.is_null()));
        if has_config {
            return Err(ApiError::validation(
                "guardrailConfig.guardrailIdentifier must be a guardrail id or ARN",
            ));
        }
        return Ok(None);
    };
    let id = crate::services::guardrails::parse_identifier(
        &named.identifier,
        &gateway.account,
        &call.region,
    )?;
    let version = named
        .version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| crate::protocol::missing("guardrailVersion"))?;
    crate::services::guardrails::check_version(&version, false)?;
    let compiled = gateway
        .guardrails
        .compiled(gateway, &call.region, &id, &version)?;
    // A guardrail under a customer key is used only by a caller allowed
    // to decrypt with it (the account's enforced guardrails are not the
    // caller's choice and need no such grant).
    if let Some(arn) = gateway.guardrails.key_arn(&call.region, &id)? {
        crate::services::guardrails::require_key_use(
            gateway,
            call,
            &arn,
            crate::services::guardrails::KEY_USE_TO_READ,
        )?;
    }
    let trace = named.trace.is_some_and(|t| {
        t.eq_ignore_ascii_case("enabled") || t.eq_ignore_ascii_case("enabled_full")
    });
    let stream_async = match named.stream_processing_mode.as_deref() {
        None | Some("sync") => false,
        Some("async") => true,
        Some(_) => {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'guardrailConfig.streamProcessingMode' \
                 failed to satisfy constraint: Member must satisfy enum value set: [sync, async]",
            ));
        }
    };
    let release_at_once =
        stream_async && call.op.name == "ConverseStream" && !masks_output(compiled.config());
    Ok(Some(ActiveGuardrail {
        compiled,
        id,
        version,
        trace,
        release_at_once,
        scope: None,
        extra: Vec::new(),
    }))
}

/// The guardrails in force once the account's enforced guardrails are
/// added to the one the call names (applied after it). An enforced
/// guardrail that no longer exists refuses the call
/// (`ResourceNotFoundException`) rather than run it unguarded.
fn with_enforced(
    gateway: &Gateway,
    call: &Call,
    model_id: &str,
    named: Option<ActiveGuardrail>,
) -> Result<Option<ActiveGuardrail>, ApiError> {
    let enforced = gateway.guardrails.enforced_for(&call.region, model_id)?;
    let mut guard = named;
    for e in enforced {
        let scope = Scope {
            system_all: e.comprehensive("system"),
            messages_all: e.comprehensive("messages"),
        };
        let (id, version) = (e.guardrail_id, e.guardrail_version);
        let compiled = gateway
            .guardrails
            .compiled(gateway, &call.region, &id, &version)?;
        match &mut guard {
            None => {
                guard = Some(ActiveGuardrail {
                    compiled,
                    id,
                    version,
                    trace: false,
                    // The account's guardrail is never relaxed by the caller.
                    release_at_once: false,
                    scope: Some(scope),
                    extra: Vec::new(),
                })
            }
            // Named and enforced: guarded once, and in the enforced scope
            // too (the named tags alone could leave text unchecked).
            Some(g) if g.id == id && g.version == version => g.extra.push((compiled, scope)),
            Some(g) => g.extra.push((compiled, scope)),
        }
    }
    Ok(guard)
}

/// Does the guardrail mask anything in model output? Masked text cannot be
/// released before it is checked, so such a guardrail serves async mode as
/// sync (Bedrock does not mask in async mode; we do not release the PII).
fn masks_output(config: &sekisho_guard::GuardrailConfig) -> bool {
    use sekisho_guard::config::SensitiveAction;
    let Some(sensitive) = &config.sensitive_information_policy_config else {
        return false;
    };
    let masks =
        |action: SensitiveAction, output: Option<SensitiveAction>, enabled: Option<bool>| {
            enabled.unwrap_or(true) && output.unwrap_or(action) == SensitiveAction::Anonymize
        };
    let pii = sensitive.pii_entities_config.iter().flatten();
    let regexes = sensitive.regexes_config.iter().flatten();
    pii.into_iter()
        .any(|p| masks(p.action, p.output_action, p.output_enabled))
        || regexes
            .into_iter()
            .any(|r| masks(r.action, r.output_action, r.output_enabled))
}

/// What the guardrail decided on one side of a model call.
enum Verdict {
    Pass,
    /// Replace the guarded texts, in order, with these masked texts.
    Masked(Vec<String>),
    Blocked,
}

fn verdict(response: &sekisho_guard::ApplyGuardrailResponse) -> Verdict {
    use sekisho_guard::response::GuardrailAction;
    if response.action == GuardrailAction::None {
        return Verdict::Pass;
    }
    // The engine reports a masking-only intervention as "Guardrail masked."
    // with one output per guarded block; anything else it blocked.
    if response.action_reason.as_deref() == Some("Guardrail masked.") {
        return Verdict::Masked(
            response
                .outputs
                .iter()
                .map(|o| o.text.clone().unwrap_or_default())
                .collect(),
        );
    }
    Verdict::Blocked
}

/// Whether a block is guarded, as the engine decides it: with any
/// `guard_content` block only those, otherwise every block that is not a
/// grounding source or query.
fn is_guarded(block: &sekisho_guard::ContentBlock, any_guard_content: bool) -> bool {
    use sekisho_guard::response::Qualifier;
    let has = |q: Qualifier| {
        block
            .text
            .as_ref()
            .and_then(|t| t.qualifiers.as_ref())
            .is_some_and(|qs| qs.contains(&q))
    };
    if any_guard_content {
        has(Qualifier::GuardContent)
    } else {
        !has(Qualifier::GroundingSource) && !has(Qualifier::Query)
    }
}

/// A Converse body's text as guardrail content: `text` blocks of the
/// messages, and `guardContent` blocks of the messages and the system
/// prompt (with their qualifiers; none means `guard_content`). Each comes
/// with a pointer to its text in the body.
fn converse_guard_content(body: &Value) -> Vec<(String, sekisho_guard::ContentBlock)> {
    use sekisho_guard::response::{Qualifier, TextBlock};
    let mut out = Vec::new();
    let mut visit = |blocks: Option<&Value>, base: String, plain_text: bool| {
        let Some(list) = blocks.and_then(Value::as_array) else {
            return;
        };
        for (j, b) in list.iter().enumerate() {
            if plain_text && let Some(t) = b.get("text").and_then(Value::as_str) {
                out.push((
                    format!("{base}/{j}/text"),
                    sekisho_guard::ContentBlock::text(t),
                ));
            } else if let Some(g) = b.pointer("/guardContent/text")
                && let Some(t) = g.get("text").and_then(Value::as_str)
            {
                let mut qualifiers: Vec<Qualifier> = g
                    .get("qualifiers")
                    .and_then(|q| serde_json::from_value(q.clone()).ok())
                    .unwrap_or_default();
                if qualifiers.is_empty() {
                    qualifiers.push(Qualifier::GuardContent);
                }
                out.push((
                    format!("{base}/{j}/guardContent/text/text"),
                    sekisho_guard::ContentBlock {
                        text: Some(TextBlock {
                            text: t.to_string(),
                            qualifiers: Some(qualifiers),
                        }),
                        image: None,
                    },
                ));
            }
        }
    };
    visit(body.get("system"), "/system".into(), false);
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for (i, m) in messages.iter().enumerate() {
            visit(m.get("content"), format!("/messages/{i}/content"), true);
        }
    }
    out
}

/// A Converse body's text as an enforced guardrail sees it, untagged (so
/// every block listed is checked): a COMPREHENSIVE part in full (`text`
/// and `guardContent` blocks); a SELECTIVE part by its `guardContent`
/// blocks when it has any, else the messages' text in full (the system
/// prompt's plain text is not guarded then, as with a named guardrail).
fn enforced_guard_content(
    body: &Value,
    scope: Scope,
) -> Vec<(String, sekisho_guard::ContentBlock)> {
    let tagged = |list: Option<&Value>| {
        list.and_then(Value::as_array).is_some_and(|l| {
            l.iter()
                .any(|b| b.pointer("/guardContent/text/text").is_some())
        })
    };
    let messages: Vec<&Value> = body
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let messages_tagged = messages.iter().any(|m| tagged(m.get("content")));
    let mut out = Vec::new();
    let mut visit = |list: Option<&Value>, base: String, plain: bool| {
        let Some(list) = list.and_then(Value::as_array) else {
            return;
        };
        for (j, b) in list.iter().enumerate() {
            if let Some(t) = b.get("text").and_then(Value::as_str) {
                if plain {
                    out.push((
                        format!("{base}/{j}/text"),
                        sekisho_guard::ContentBlock::text(t),
                    ));
                }
            } else if let Some(t) = b.pointer("/guardContent/text/text").and_then(Value::as_str) {
                out.push((
                    format!("{base}/{j}/guardContent/text/text"),
                    sekisho_guard::ContentBlock::text(t),
                ));
            }
        }
    };
    visit(body.get("system"), "/system".into(), scope.system_all);
    for (i, m) in messages.iter().enumerate() {
        visit(
            m.get("content"),
            format!("/messages/{i}/content"),
            scope.messages_all || !messages_tagged,
        );
    }
    out
}

/// `guardContent` blocks become plain text for the model, as Bedrock
/// passes their text on.
fn unwrap_guard_content(body: &mut Value) {
    let fix = |list: Option<&mut Value>| {
        if let Some(list) = list.and_then(Value::as_array_mut) {
            for b in list.iter_mut() {
                if let Some(t) = b.pointer("/guardContent/text/text").cloned() {
                    *b = json!({ "text": t });
                }
            }
        }
    };
    fix(body.get_mut("system"));
    if let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) {
        for m in messages.iter_mut() {
            fix(m.get_mut("content"));
        }
    }
}

/// The model's answer through the output check: masked in place, or
/// replaced by the blocked messaging.
/// The model's answer through the named guardrail, then the enforced ones
/// (until one blocks): the named one's assessment, and whether any
/// intervened.
fn guard_output(
    guard: &ActiveGuardrail,
    response: &mut ChatResponse,
) -> (sekisho_guard::ApplyGuardrailResponse, bool) {
    use sekisho_guard::response::GuardrailAction;
    let first = output_with(&guard.compiled, response);
    let mut intervened = first.action == GuardrailAction::GuardrailIntervened;
    for (extra, _) in &guard.extra {
        if matches!(
            response.stop_reason,
            crate::backend::StopReason::GuardrailIntervened
        ) {
            break;
        }
        intervened |= output_with(extra, response).action == GuardrailAction::GuardrailIntervened;
    }
    (first, intervened)
}

fn output_with(
    compiled: &sekisho_guard::CompiledGuardrail,
    response: &mut ChatResponse,
) -> sekisho_guard::ApplyGuardrailResponse {
    let blocks: Vec<sekisho_guard::ContentBlock> = response
        .message
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text(t) => Some(sekisho_guard::ContentBlock::text(t.clone())),
            ContentBlock::Other(_) => None,
        })
        .collect();
    let assessed = compiled.apply(sekisho_guard::Source::Output, &blocks);
    match verdict(&assessed) {
        Verdict::Pass => {}
        Verdict::Masked(texts) => {
            let mut texts = texts.into_iter();
            for b in response.message.content.iter_mut() {
                if let ContentBlock::Text(t) = b
                    && let Some(masked) = texts.next()
                {
                    *t = masked;
                }
            }
        }
        Verdict::Blocked => {
            response.message.content = vec![ContentBlock::Text(
                compiled.config().blocked_outputs_messaging.clone(),
            )];
            response.stop_reason = crate::backend::StopReason::GuardrailIntervened;
        }
    }
    assessed
}

/// The answer given instead of calling the model when the input is blocked.
fn blocked_input_response(message: String) -> ChatResponse {
    ChatResponse {
        message: Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text(message)],
        },
        stop_reason: crate::backend::StopReason::GuardrailIntervened,
        usage: Default::default(),
        latency: std::time::Duration::ZERO,
    }
}

fn assessment_json(r: &sekisho_guard::ApplyGuardrailResponse) -> Value {
    r.assessments
        .first()
        .and_then(|a| serde_json::to_value(a).ok())
        .unwrap_or_else(|| json!({}))
}

/// The input check of a Converse(Stream) body: the assessment, and the
/// request for the model (masked where the guardrail anonymized), or
/// the blocked input messaging when the input is blocked and the model
/// must not be called. The named guardrail checks first, then the
/// enforced ones; the assessment is the named one's.
fn converse_input(
    guard: &ActiveGuardrail,
    raw: &[u8],
    upstream: &str,
) -> Result<
    (
        sekisho_guard::ApplyGuardrailResponse,
        Result<ChatRequest, String>,
    ),
    ApiError,
> {
    let mut body = Value::Object(object(raw)?);
    let input = converse_input_with(&guard.compiled, guard.scope, &mut body);
    if matches!(verdict(&input), Verdict::Blocked) {
        return Ok((input, Err(blocked_input_text(&guard.compiled))));
    }
    for (extra, scope) in &guard.extra {
        let r = converse_input_with(extra, Some(*scope), &mut body);
        if matches!(verdict(&r), Verdict::Blocked) {
            return Ok((input, Err(blocked_input_text(extra))));
        }
    }
    unwrap_guard_content(&mut body);
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    let request = converse_request(&bytes, upstream)?;
    Ok((input, Ok(request)))
}

fn blocked_input_text(compiled: &sekisho_guard::CompiledGuardrail) -> String {
    compiled.config().blocked_input_messaging.clone()
}

/// One guardrail's input check of a Converse body, masking it in place.
fn converse_input_with(
    compiled: &sekisho_guard::CompiledGuardrail,
    scope: Option<Scope>,
    body: &mut Value,
) -> sekisho_guard::ApplyGuardrailResponse {
    let content = match scope {
        None => converse_guard_content(body),
        Some(scope) => enforced_guard_content(body, scope),
    };
    let blocks: Vec<sekisho_guard::ContentBlock> = content.iter().map(|(_, b)| b.clone()).collect();
    let input = compiled.apply(sekisho_guard::Source::Input, &blocks);
    match verdict(&input) {
        Verdict::Blocked => {}
        Verdict::Masked(texts) => {
            let any_gc = blocks.iter().any(|b| {
                b.text
                    .as_ref()
                    .and_then(|t| t.qualifiers.as_ref())
                    .is_some_and(|q| q.contains(&sekisho_guard::response::Qualifier::GuardContent))
            });
            let guarded = content.iter().filter(|(_, b)| is_guarded(b, any_gc));
            for ((pointer, _), masked) in guarded.zip(texts) {
                if let Some(slot) = body.pointer_mut(pointer) {
                    *slot = Value::String(masked);
                }
            }
        }
        Verdict::Pass => {}
    }
    input
}

/// The output check of a stream in sync mode: each content block's text
/// goes through the engine's `StreamScanner`, which holds back only the
/// tail that could still be the start of a match, so what is released is
/// final (masked where needed). When the guardrail has model-based output
/// filters (content filters, denied topics), released text is further held
/// in windows of [`WINDOW_CHARS`] and the whole guardrail is applied to
/// each before it leaves. A block ends the answer: the blocked
/// messaging is sent in place of the rest and the stop reason is
/// `guardrail_intervened`; nothing the guardrail has not seen is released.
///
/// In async mode ([`OutputGuard::releasing_at_once`]) text is released as it
/// comes and checked alongside; after a hit the blocked messaging follows
/// and the stream stops.
pub struct OutputGuard<'g> {
    guard: &'g sekisho_guard::CompiledGuardrail,
    scanners: std::collections::BTreeMap<u32, sekisho_guard::StreamScanner<'g>>,
    blocked: bool,
    release_at_once: bool,
    /// Per content block, output waiting for the model-based filters
    /// (`None`: the guardrail has none on output).
    windows: Option<std::collections::BTreeMap<u32, ModelWindow>>,
}

impl<'g> OutputGuard<'g> {
    pub fn new(guard: &'g sekisho_guard::CompiledGuardrail) -> Self {
        Self {
            guard,
            scanners: Default::default(),
            blocked: false,
            release_at_once: false,
            windows: has_model_output_filters(guard.config()).then(Default::default),
        }
    }

    /// Async mode: for guardrails that do not mask output ([`masks_output`]).
    pub fn releasing_at_once(guard: &'g sekisho_guard::CompiledGuardrail) -> Self {
        Self {
            release_at_once: true,
            ..Self::new(guard)
        }
    }

    fn blocked_events(&mut self, index: u32) -> Vec<crate::backend::ChatEvent> {
        use crate::backend::ChatEvent;
        self.blocked = true;
        vec![
            ChatEvent::ContentDelta {
                index,
                text: self.guard.config().blocked_outputs_messaging.clone(),
            },
            ChatEvent::ContentStop { index },
            ChatEvent::MessageStop {
                stop_reason: crate::backend::StopReason::GuardrailIntervened,
            },
        ]
    }

    /// The events to send for one event of the model.
    pub fn on_event(&mut self, event: crate::backend::ChatEvent) -> Vec<crate::backend::ChatEvent> {
        use crate::backend::ChatEvent;
        match event {
            ChatEvent::ContentDelta { index, text } => {
                if self.blocked {
                    return Vec::new();
                }
                let guard = self.guard;
                let out = self
                    .scanners
                    .entry(index)
                    .or_insert_with(|| {
                        sekisho_guard::StreamScanner::new(guard, sekisho_guard::Source::Output)
                    })
                    .push(&text);
                if self.release_at_once {
                    let mut events = vec![ChatEvent::ContentDelta {
                        index,
                        text: text.clone(),
                    }];
                    let model_blocked = self.windows.is_some() && {
                        let w = self.window(index);
                        w.pending.push_str(&text);
                        w.is_full() && self.window_blocks(index)
                    };
                    if out.blocked || model_blocked {
                        events.extend(self.blocked_events(index));
                    }
                    return events;
                }
                if out.blocked {
                    return self.blocked_events(index);
                }
                if self.windows.is_some() {
                    self.window(index).pending.push_str(&out.text);
                    return self.release_window(index, false);
                }
                if out.text.is_empty() {
                    Vec::new()
                } else {
                    vec![ChatEvent::ContentDelta {
                        index,
                        text: out.text,
                    }]
                }
            }
            ChatEvent::ContentStop { index } => {
                if self.blocked {
                    return Vec::new();
                }
                let out = self
                    .scanners
                    .remove(&index)
                    .map(|mut s| s.finish())
                    .unwrap_or_default();
                if out.blocked {
                    return self.blocked_events(index);
                }
                let mut events = Vec::new();
                if self.windows.is_some() {
                    if !self.release_at_once {
                        self.window(index).pending.push_str(&out.text);
                    }
                    events = self.release_window(index, true);
                    if self.blocked {
                        return events;
                    }
                } else if !out.text.is_empty() && !self.release_at_once {
                    events.push(ChatEvent::ContentDelta {
                        index,
                        text: out.text,
                    });
                }
                events.push(ChatEvent::ContentStop { index });
                events
            }
            // After a block the stop was already sent; usage still follows.
            ChatEvent::MessageStop { .. } if self.blocked => Vec::new(),
            other => vec![other],
        }
    }

    fn window(&mut self, index: u32) -> &mut ModelWindow {
        self.windows
            .get_or_insert_with(Default::default)
            .entry(index)
            .or_default()
    }

    /// Applies the whole guardrail to the pending window (after the
    /// previous window's tail); true when it blocks. The window then moves
    /// on.
    fn window_blocks(&mut self, index: u32) -> bool {
        let guard = self.guard;
        let w = self.window(index);
        if w.pending.is_empty() {
            return false;
        }
        let text = format!("{}{}", w.context, w.pending);
        let response = guard.apply(
            sekisho_guard::Source::Output,
            &[sekisho_guard::ContentBlock::text(text.clone())],
        );
        w.context = tail_chars(&text, WINDOW_CONTEXT_CHARS).to_string();
        w.pending.clear();
        matches!(verdict(&response), Verdict::Blocked)
    }

    /// Sync mode: releases the pending window once it is full (or `last`),
    /// if the model-based filters pass it.
    fn release_window(&mut self, index: u32, last: bool) -> Vec<crate::backend::ChatEvent> {
        use crate::backend::ChatEvent;
        let w = self.window(index);
        if !(last || w.is_full()) || w.pending.is_empty() {
            return Vec::new();
        }
        let text = w.pending.clone();
        if self.window_blocks(index) {
            return self.blocked_events(index);
        }
        if self.release_at_once {
            // Already released as it came.
            return Vec::new();
        }
        vec![ChatEvent::ContentDelta { index, text }]
    }
}

/// Characters of output held for one run of the model-based filters in a
/// stream (Bedrock evaluates streamed output in text units, too).
const WINDOW_CHARS: usize = 512;
/// Characters of the previous window the next one is judged with, so text
/// straddling two windows is seen whole.
const WINDOW_CONTEXT_CHARS: usize = 256;

/// Output waiting for the model-based filters.
#[derive(Debug, Default)]
struct ModelWindow {
    pending: String,
    context: String,
}

impl ModelWindow {
    fn is_full(&self) -> bool {
        // Bytes bound chars from above; count chars only when it may matter.
        self.pending.len() >= WINDOW_CHARS && self.pending.chars().count() >= WINDOW_CHARS
    }
}

fn tail_chars(text: &str, n: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &text[start..]
}

/// Does the guardrail check model output with classifiers (content
/// filters, prompt attack, denied topics)? Such output is streamed in
/// windows ([`WINDOW_CHARS`]) so the classifiers see whole passages.
fn has_model_output_filters(config: &sekisho_guard::GuardrailConfig) -> bool {
    use sekisho_guard::config::FilterStrength;
    let content = config.content_policy_config.iter().any(|c| {
        c.filters_config
            .iter()
            .any(|f| f.output_strength != FilterStrength::None && f.output_enabled != Some(false))
    });
    let topics = config.topic_policy_config.iter().any(|t| {
        t.topics_config
            .iter()
            .any(|t| t.output_enabled != Some(false))
    });
    content || topics
}

/// The trace's output assessment of a stream: the guardrail applied to the
/// model's own text, per content block, as it came (before any masking).
fn raw_output_assessment(
    compiled: &sekisho_guard::CompiledGuardrail,
    raw: &std::collections::BTreeMap<u32, String>,
) -> sekisho_guard::ApplyGuardrailResponse {
    let blocks: Vec<sekisho_guard::ContentBlock> = raw
        .values()
        .map(|t| sekisho_guard::ContentBlock::text(t.clone()))
        .collect();
    compiled.apply(sekisho_guard::Source::Output, &blocks)
}

/// Events through each output guard in turn (the named guardrail's, then
/// the enforced ones'): what one releases, the next checks.
fn through(
    guards: &mut [OutputGuard<'_>],
    event: crate::backend::ChatEvent,
) -> Vec<crate::backend::ChatEvent> {
    let mut events = vec![event];
    for g in guards.iter_mut() {
        events = events.into_iter().flat_map(|e| g.on_event(e)).collect();
    }
    events
}

/// The stream that answers a blocked input: the guardrail's blocked
/// messaging as the whole answer, the model never called.
fn blocked_stream(message: String) -> [crate::backend::ChatEvent; 5] {
    use crate::backend::ChatEvent;
    [
        ChatEvent::MessageStart {
            role: Role::Assistant,
        },
        ChatEvent::ContentDelta {
            index: 0,
            text: message,
        },
        ChatEvent::ContentStop { index: 0 },
        ChatEvent::MessageStop {
            stop_reason: crate::backend::StopReason::GuardrailIntervened,
        },
        ChatEvent::Metadata {
            usage: Default::default(),
            latency: std::time::Duration::ZERO,
        },
    ]
}

/// The model's text per content block, as it came (before any guard).
type RawOutput = std::collections::BTreeMap<u32, String>;

/// Where a guarded stream's frames go: the response channel, the operation
/// (for the error frame's shape) and the invocation log.
struct StreamOut<'a> {
    tx: &'a tokio::sync::mpsc::Sender<Bytes>,
    operation: StreamOperation,
    log: Option<StreamLog>,
}

/// Runs a model stream through the output guards, hands every released event
/// to `encode` (with the model's own text so far when `keep_raw`, for a
/// trace) and sends the frames. When the stream runs to its end, the
/// invocation log is finished and the model's text returned; `None` when the
/// backend failed (an error frame for `operation` is sent) or the client
/// went away.
async fn pump_guarded(
    mut stream: crate::backend::ChatStream,
    guards: &mut [OutputGuard<'_>],
    out: StreamOut<'_>,
    keep_raw: bool,
    mut encode: impl FnMut(&crate::backend::ChatEvent, &RawOutput) -> Bytes,
) -> Option<RawOutput> {
    let mut raw = RawOutput::new();
    let mut log = out.log;
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(event) => event,
            Err(e) => {
                let _ = out
                    .tx
                    .send(eventstream::encode_backend_error(out.operation, &e))
                    .await;
                return None;
            }
        };
        if keep_raw && let crate::backend::ChatEvent::ContentDelta { index, text } = &event {
            raw.entry(*index).or_default().push_str(text);
        }
        let mut frames = Vec::new();
        for e in through(guards, event) {
            if let Some(l) = log.as_mut() {
                l.observe(&e);
            }
            frames.extend_from_slice(&encode(&e, &raw));
        }
        if !frames.is_empty() && out.tx.send(Bytes::from(frames)).await.is_err() {
            return None;
        }
    }
    if let Some(l) = log {
        l.finish();
    }
    Some(raw)
}

/// A Converse call with a guardrail: input checked before the model is
/// called (blocked → the blocked messaging, the model not called; masked →
/// the model sees the masked text), output checked after.
async fn converse_guarded(
    gateway: &Gateway,
    call: &Call,
    guard: &ActiveGuardrail,
    backend: &Arc<dyn Backend>,
    upstream: &str,
    model_id: &str,
) -> Result<Reply, ApiError> {
    let (input, request) = converse_input(guard, &call.body, upstream)?;
    let mut output_assessment = None;
    let response = match request {
        Err(message) => blocked_input_response(message),
        Ok(request) => {
            let mut response = backend
                .converse(request)
                .await
                .map_err(|e| backend_error(&e))?;
            output_assessment = Some(guard_output(guard, &mut response).0);
            response
        }
    };
    let mut out = converse_response(&response);
    if guard.trace {
        let mut g = json!({
            "inputAssessment": { guard.id.clone(): assessment_json(&input) },
        });
        if let Some(o) = &output_assessment {
            g["outputAssessments"] = json!({ guard.id.clone(): [assessment_json(o)] });
        }
        out["trace"] = json!({ "guardrail": g });
    }
    log_invocation(gateway, call, model_id, out.clone(), response.usage)?;
    Ok(Reply::Json(out))
}

/// A ConverseStream call with a guardrail: the input is checked before the
/// model is called; the output goes through [`OutputGuard`]: in sync mode
/// nothing is released before it is checked; in async mode (asked by the
/// caller, for a guardrail that does not mask output) text is released at
/// once and the stream is stopped after a hit.
async fn converse_stream_guarded(
    gateway: &Arc<Gateway>,
    call: &Call,
    guard: &ActiveGuardrail,
    backend: &Arc<dyn Backend>,
    upstream: &str,
    model_id: &str,
) -> Result<Reply, ApiError> {
    use crate::backend::ChatEvent;
    let (input, request) = converse_input(guard, &call.body, upstream)?;
    let trace = guard
        .trace
        .then(|| (guard.id.clone(), assessment_json(&input)));
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            let events = blocked_stream(message);
            let mut log = StreamLog::new(gateway, call, model_id);
            let frames: Vec<Result<hyper::body::Frame<Bytes>, std::io::Error>> = events
            .iter()
            .map(|e| {
                if let Some(l) = log.as_mut() {
                    l.observe(e);
                }
                Ok(hyper::body::Frame::data(match (e, &trace) {
                    (ChatEvent::Metadata { usage, latency }, Some((id, input))) => {
                        eventstream::encode_converse_metadata_with_trace(
                            usage,
                            *latency,
                            &json!({ "guardrail": { "inputAssessment": { id.clone(): input } } }),
                        )
                    }
                    _ => eventstream::encode_converse_event(e),
                }))
            })
            .collect();
            if let Some(l) = log.take() {
                l.finish();
            }
            return Ok(Reply::Stream {
                content_type: "application/vnd.amazon.eventstream",
                body: BodyExt::boxed_unsync(StreamBody::new(futures::stream::iter(frames))),
            });
        }
    };
    let stream = backend
        .converse_stream(request)
        .await
        .map_err(|e| backend_error(&e))?;
    let log = StreamLog::new(gateway, call, model_id);
    let compiled = guard.compiled.clone();
    let extra: Vec<Arc<sekisho_guard::CompiledGuardrail>> =
        guard.extra.iter().map(|(c, _)| c.clone()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    // The scanner borrows the compiled guardrail, so the loop runs in a
    // task that owns both; a client that goes away closes the channel and
    // the task drops the backend stream.
    let release_at_once = guard.release_at_once;
    tokio::spawn(async move {
        // The named guardrail may release at once (async mode); the
        // enforced ones after it always check before release.
        let named = if release_at_once {
            OutputGuard::releasing_at_once(&compiled)
        } else {
            OutputGuard::new(&compiled)
        };
        let mut out_guards: Vec<OutputGuard<'_>> = std::iter::once(named)
            .chain(extra.iter().map(|c| OutputGuard::new(c)))
            .collect();
        let encode = |e: &ChatEvent, raw: &RawOutput| match (e, &trace) {
            (ChatEvent::Metadata { usage, latency }, Some((id, input))) => {
                let output = raw_output_assessment(&compiled, raw);
                eventstream::encode_converse_metadata_with_trace(
                    usage,
                    *latency,
                    &json!({ "guardrail": {
                        "inputAssessment": { id.clone(): input },
                        "outputAssessments": { id.clone(): [assessment_json(&output)] },
                    } }),
                )
            }
            _ => eventstream::encode_converse_event(e),
        };
        let out = StreamOut {
            tx: &tx,
            operation: StreamOperation::ConverseStream,
            log,
        };
        pump_guarded(stream, &mut out_guards, out, trace.is_some(), encode).await;
    });
    let frames = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|o| o.map(|b| Ok::<_, std::io::Error>(hyper::body::Frame::data(b))))
    });
    Ok(Reply::Stream {
        content_type: "application/vnd.amazon.eventstream",
        body: BodyExt::boxed_unsync(StreamBody::new(frames)),
    })
}

/// The input check of a native InvokeModel request: its message texts are
/// the guarded content (masked in place when the guardrail anonymized).
/// The named guardrail checks first, then the enforced ones: the named
/// one's assessment, whether any intervened, and the blocked input
/// messaging when the input is blocked and the model must not be called.
fn invoke_input(
    guard: &ActiveGuardrail,
    request: &mut ChatRequest,
) -> (sekisho_guard::ApplyGuardrailResponse, bool, Option<String>) {
    use sekisho_guard::response::GuardrailAction;
    let (input, pass) = invoke_input_with(&guard.compiled, guard.scope, request);
    let mut intervened = input.action == GuardrailAction::GuardrailIntervened;
    if !pass {
        return (input, true, Some(blocked_input_text(&guard.compiled)));
    }
    for (extra, scope) in &guard.extra {
        let (r, pass) = invoke_input_with(extra, Some(*scope), request);
        intervened |= r.action == GuardrailAction::GuardrailIntervened;
        if !pass {
            return (input, true, Some(blocked_input_text(extra)));
        }
    }
    (input, intervened, None)
}

/// One guardrail's input check of a native request, masking it in place;
/// `false` when it blocks.
fn invoke_input_with(
    compiled: &sekisho_guard::CompiledGuardrail,
    scope: Option<Scope>,
    request: &mut ChatRequest,
) -> (sekisho_guard::ApplyGuardrailResponse, bool) {
    // An enforced guardrail in COMPREHENSIVE system mode checks the system
    // prompt too, before the messages.
    let system = scope.is_some_and(|s| s.system_all);
    let system_texts: &[String] = if system { &request.system } else { &[] };
    let blocks: Vec<sekisho_guard::ContentBlock> = system_texts
        .iter()
        .map(|t| sekisho_guard::ContentBlock::text(t.clone()))
        .chain(
            request
                .messages
                .iter()
                .flat_map(|m| m.content.iter())
                .filter_map(|b| match b {
                    ContentBlock::Text(t) => Some(sekisho_guard::ContentBlock::text(t.clone())),
                    ContentBlock::Other(_) => None,
                }),
        )
        .collect();
    let input = compiled.apply(sekisho_guard::Source::Input, &blocks);
    match verdict(&input) {
        Verdict::Blocked => return (input, false),
        Verdict::Masked(texts) => {
            let mut texts = texts.into_iter();
            if system {
                for t in request.system.iter_mut() {
                    if let Some(masked) = texts.next() {
                        *t = masked;
                    }
                }
            }
            for b in request
                .messages
                .iter_mut()
                .flat_map(|m| m.content.iter_mut())
            {
                if let ContentBlock::Text(t) = b
                    && let Some(masked) = texts.next()
                {
                    *t = masked;
                }
            }
        }
        Verdict::Pass => {}
    }
    (input, true)
}

/// InvokeModelWithResponseStream with a guardrail: the input is checked
/// before the model is called; the output goes through [`OutputGuard`]
/// before the native encoder, so every chunk released is final.
async fn invoke_stream_guarded(
    gateway: &Arc<Gateway>,
    call: &Call,
    guard: &ActiveGuardrail,
    backend: &Arc<dyn Backend>,
    upstream: &str,
    model_id: &str,
) -> Result<Reply, ApiError> {
    use crate::backend::ChatEvent;
    let format = NativeFormat::for_model(model_id).map_err(|e| backend_error(&e))?;
    let mut request = format
        .decode_request(&call.body, upstream)
        .map_err(|e| backend_error(&e))?;
    let (input, _, blocked) = invoke_input(guard, &mut request);
    let input_tokens = backend.count_tokens(&request);
    let mut encoder = NativeStreamEncoder::new(format, model_id, input_tokens);
    // The trace (when enabled) goes in the last chunk: the input
    // assessment, and the output's once the whole answer is known.
    let trace = guard
        .trace
        .then(|| (guard.id.clone(), assessment_json(&input)));
    let mut log = StreamLog::new(gateway, call, model_id);
    if let Some(message) = blocked {
        if let Some((id, input)) = &trace {
            encoder.set_trace(json!({ "guardrail": { "input": { id.clone(): input } } }));
        }
        let events = blocked_stream(message);
        let mut out = Vec::new();
        for e in &events {
            if let Some(l) = log.as_mut() {
                l.observe(e);
            }
            out.extend_from_slice(&chunks(&mut encoder.push(e)));
        }
        out.extend_from_slice(&chunks(&mut encoder.finish()));
        if let Some(l) = log.take() {
            l.finish();
        }
        let frame = Ok::<_, std::io::Error>(hyper::body::Frame::data(Bytes::from(out)));
        return Ok(Reply::Stream {
            content_type: "application/vnd.amazon.eventstream",
            body: BodyExt::boxed_unsync(StreamBody::new(futures::stream::iter([frame]))),
        });
    }
    let stream = backend
        .converse_stream(request)
        .await
        .map_err(|e| backend_error(&e))?;
    let compiled = guard.compiled.clone();
    let extra: Vec<Arc<sekisho_guard::CompiledGuardrail>> =
        guard.extra.iter().map(|(c, _)| c.clone()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    // As in ConverseStream: the task owns the guardrail the scanner borrows.
    tokio::spawn(async move {
        let mut out_guards: Vec<OutputGuard<'_>> = std::iter::once(&compiled)
            .chain(extra.iter())
            .map(|c| OutputGuard::new(c))
            .collect();
        let mut closed = false;
        let set_trace = |encoder: &mut NativeStreamEncoder, raw: &RawOutput| {
            if let Some((id, input)) = &trace {
                let output = raw_output_assessment(&compiled, raw);
                encoder.set_trace(json!({ "guardrail": {
                    "input": { id.clone(): input },
                    "outputs": [{ id.clone(): assessment_json(&output) }],
                } }));
            }
        };
        let encode = |e: &ChatEvent, raw: &RawOutput| {
            if matches!(e, ChatEvent::Metadata { .. }) && !closed {
                set_trace(&mut encoder, raw);
                closed = true;
            }
            chunks(&mut encoder.push(e))
        };
        let out = StreamOut {
            tx: &tx,
            operation: StreamOperation::InvokeModelWithResponseStream,
            log,
        };
        let keep_raw = trace.is_some();
        let Some(raw) = pump_guarded(stream, &mut out_guards, out, keep_raw, encode).await else {
            return;
        };
        if !closed {
            set_trace(&mut encoder, &raw);
        }
        let _ = tx.send(chunks(&mut encoder.finish())).await;
    });
    let frames = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|o| o.map(|b| Ok::<_, std::io::Error>(hyper::body::Frame::data(b))))
    });
    Ok(Reply::Stream {
        content_type: "application/vnd.amazon.eventstream",
        body: BodyExt::boxed_unsync(StreamBody::new(frames)),
    })
}

/// An InvokeModel call with a guardrail, in the model's own body format
/// plus Bedrock's `amazon-bedrock-guardrailAction` (and `-trace`) members.
async fn invoke_guarded(
    gateway: &Gateway,
    call: &Call,
    guard: &ActiveGuardrail,
    backend: &Arc<dyn Backend>,
    upstream: &str,
    model_id: &str,
) -> Result<Reply, ApiError> {
    let format = NativeFormat::for_model(model_id).map_err(|e| backend_error(&e))?;
    let mut request = format
        .decode_request(&call.body, upstream)
        .map_err(|e| backend_error(&e))?;
    let (input, input_intervened, blocked) = invoke_input(guard, &mut request);
    let started = Instant::now();
    let mut output_assessment = None;
    let mut output_intervened = false;
    let response = match blocked {
        Some(message) => blocked_input_response(message),
        None => {
            let mut response = backend
                .converse(request)
                .await
                .map_err(|e| backend_error(&e))?;
            let (o, i) = guard_output(guard, &mut response);
            output_assessment = Some(o);
            output_intervened = i;
            response
        }
    };
    let intervened = input_intervened || output_intervened;
    let body = format.encode_response(model_id, &response);
    let mut output: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut output {
        map.insert(
            "amazon-bedrock-guardrailAction".into(),
            json!(if intervened { "INTERVENED" } else { "NONE" }),
        );
        if guard.trace {
            let mut g = json!({ "input": { guard.id.clone(): assessment_json(&input) } });
            if let Some(o) = &output_assessment {
                g["outputs"] = json!([{ guard.id.clone(): assessment_json(o) }]);
            }
            map.insert("amazon-bedrock-trace".into(), json!({ "guardrail": g }));
        }
    }
    log_invocation(gateway, call, model_id, output.clone(), response.usage)?;
    let bytes = serde_json::to_vec(&output).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Reply::Raw {
        content_type: "application/json".into(),
        headers: vec![
            (
                "x-amzn-bedrock-input-token-count",
                response.usage.input_tokens.to_string(),
            ),
            (
                "x-amzn-bedrock-output-token-count",
                response.usage.output_tokens.to_string(),
            ),
            (
                "x-amzn-bedrock-invocation-latency",
                started.elapsed().as_millis().to_string(),
            ),
        ],
        body: Bytes::from(bytes),
    })
}

pub fn backend_error(e: &BackendError) -> ApiError {
    match e {
        BackendError::Timeout(_) => ApiError::new(ErrorKind::ModelTimeout, e.to_string()),
        BackendError::Throttled => ApiError::new(ErrorKind::Throttling, e.to_string()),
        BackendError::Invalid(_) => ApiError::validation(e.to_string()),
        BackendError::Failed(_) => ApiError::new(ErrorKind::ModelError, e.to_string()),
        BackendError::Unavailable(_) => ApiError::new(ErrorKind::ServiceUnavailable, e.to_string()),
    }
}

/// What a streamed call's invocation record needs once the stream ends.
struct StreamLog {
    gateway: Arc<Gateway>,
    operation: &'static str,
    model_id: String,
    request_id: String,
    caller_arn: String,
    region: String,
    input_body: Bytes,
    text: String,
    stop_reason: Option<&'static str>,
    usage: Option<crate::backend::Usage>,
}

impl StreamLog {
    fn new(gateway: &Arc<Gateway>, call: &Call, model_id: &str) -> Option<StreamLog> {
        gateway
            .invocation_logging
            .enabled(&call.region)
            .then(|| StreamLog {
                gateway: gateway.clone(),
                operation: call.op.name,
                model_id: model_id.to_string(),
                request_id: call.request_id.clone(),
                caller_arn: call.caller.arn.clone(),
                region: call.region.clone(),
                input_body: call.body.clone(),
                text: String::new(),
                stop_reason: None,
                usage: None,
            })
    }

    fn observe(&mut self, event: &crate::backend::ChatEvent) {
        use crate::backend::ChatEvent;
        match event {
            ChatEvent::ContentDelta { text, .. } => self.text.push_str(text),
            ChatEvent::MessageStop { stop_reason } => {
                self.stop_reason = Some(eventstream::stop_reason_name(*stop_reason));
            }
            ChatEvent::Metadata { usage, .. } => self.usage = Some(*usage),
            _ => {}
        }
    }

    /// The stream has ended: the record is written now. The answer has
    /// gone out, so a delivery failure can only be reported.
    fn finish(self) {
        let usage = self.usage.unwrap_or_default();
        let output = json!({
            "output": { "message": { "role": "assistant", "content": [{ "text": self.text }] } },
            "stopReason": self.stop_reason,
            "usage": eventstream::usage_json(&usage),
        });
        let inv = crate::services::invocation_log::Invocation {
            operation: self.operation,
            model_id: &self.model_id,
            request_id: &self.request_id,
            caller_arn: &self.caller_arn,
            region: &self.region,
            input_body: &self.input_body,
            output_body: output,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
        };
        if let Err(e) = self.gateway.invocation_logging.deliver(&self.gateway, &inv) {
            tracing::error!(
                target: "sekisho::invocation_log",
                request_id = %self.request_id,
                error = %e.message,
                "the invocation record of a streamed call could not be delivered"
            );
        }
    }
}

/// Writes the invocation record of a whole (non-streamed) call; a record
/// that cannot be delivered withholds the answer (fail closed).
fn log_invocation(
    gateway: &Gateway,
    call: &Call,
    model_id: &str,
    output: Value,
    usage: crate::backend::Usage,
) -> Result<(), ApiError> {
    gateway.invocation_logging.deliver(
        gateway,
        &crate::services::invocation_log::Invocation {
            operation: call.op.name,
            model_id,
            request_id: &call.request_id,
            caller_arn: &call.caller.arn,
            region: &call.region,
            input_body: &call.body,
            output_body: output,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
        },
    )
}

pub async fn handle(gateway: &Arc<Gateway>, call: Call) -> Result<Reply, ApiError> {
    let model_id = model_id_of(&call.input)?;
    let (backend, upstream) = route(gateway, &model_id, &call.region)?;
    if let Some(guard) =
        with_enforced(gateway, &call, &model_id, active_guardrail(gateway, &call)?)?
    {
        return match call.op.name {
            "Converse" => {
                converse_guarded(gateway, &call, &guard, &backend, &upstream, &model_id).await
            }
            "InvokeModel" => {
                check_json_content_type(&call.headers)?;
                invoke_guarded(gateway, &call, &guard, &backend, &upstream, &model_id).await
            }
            "ConverseStream" => {
                converse_stream_guarded(gateway, &call, &guard, &backend, &upstream, &model_id)
                    .await
            }
            "InvokeModelWithResponseStream" => {
                check_json_content_type(&call.headers)?;
                invoke_stream_guarded(gateway, &call, &guard, &backend, &upstream, &model_id).await
            }
            other => Err(ApiError::new(
                ErrorKind::UnknownOperation,
                format!("{other} does not take a guardrail"),
            )),
        };
    }
    match call.op.name {
        "Converse" => {
            let request = converse_request(&call.body, &upstream)?;
            let response = backend
                .converse(request)
                .await
                .map_err(|e| backend_error(&e))?;
            let body = converse_response(&response);
            log_invocation(gateway, &call, &model_id, body.clone(), response.usage)?;
            Ok(Reply::Json(body))
        }
        "ConverseStream" => {
            let request = converse_request(&call.body, &upstream)?;
            let stream = backend
                .converse_stream(request)
                .await
                .map_err(|e| backend_error(&e))?;
            let mut log = StreamLog::new(gateway, &call, &model_id);
            let mut stream = stream;
            let frames = futures::stream::poll_fn(move |cx| {
                let item = std::task::ready!(stream.poll_next_unpin(cx));
                match &item {
                    Some(Ok(event)) => {
                        if let Some(l) = log.as_mut() {
                            l.observe(event);
                        }
                    }
                    Some(Err(_)) => {}
                    None => {
                        if let Some(l) = log.take() {
                            l.finish();
                        }
                    }
                }
                std::task::Poll::Ready(item.map(|item| {
                    Ok::<_, std::io::Error>(hyper::body::Frame::data(match item {
                        Ok(event) => eventstream::encode_converse_event(&event),
                        Err(e) => {
                            eventstream::encode_backend_error(StreamOperation::ConverseStream, &e)
                        }
                    }))
                }))
            });
            Ok(Reply::Stream {
                content_type: "application/vnd.amazon.eventstream",
                body: BodyExt::boxed_unsync(StreamBody::new(frames)),
            })
        }
        "InvokeModel" => {
            check_json_content_type(&call.headers)?;
            let format = NativeFormat::for_model(&model_id).map_err(|e| backend_error(&e))?;
            let request = format
                .decode_request(&call.body, &upstream)
                .map_err(|e| backend_error(&e))?;
            let started = Instant::now();
            let response = backend
                .converse(request)
                .await
                .map_err(|e| backend_error(&e))?;
            let body = format.encode_response(&model_id, &response);
            let output: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            log_invocation(gateway, &call, &model_id, output, response.usage)?;
            Ok(Reply::Raw {
                content_type: "application/json".into(),
                headers: vec![
                    (
                        "x-amzn-bedrock-input-token-count",
                        response.usage.input_tokens.to_string(),
                    ),
                    (
                        "x-amzn-bedrock-output-token-count",
                        response.usage.output_tokens.to_string(),
                    ),
                    (
                        "x-amzn-bedrock-invocation-latency",
                        started.elapsed().as_millis().to_string(),
                    ),
                ],
                body: Bytes::from(body),
            })
        }
        "InvokeModelWithResponseStream" => {
            check_json_content_type(&call.headers)?;
            let format = NativeFormat::for_model(&model_id).map_err(|e| backend_error(&e))?;
            let request = format
                .decode_request(&call.body, &upstream)
                .map_err(|e| backend_error(&e))?;
            let input_tokens = backend.count_tokens(&request);
            let stream = backend
                .converse_stream(request)
                .await
                .map_err(|e| backend_error(&e))?;
            struct State {
                stream: crate::backend::ChatStream,
                encoder: NativeStreamEncoder,
                done: bool,
                log: Option<StreamLog>,
            }
            let state = State {
                stream,
                encoder: NativeStreamEncoder::new(format, &model_id, input_tokens),
                done: false,
                log: StreamLog::new(gateway, &call, &model_id),
            };
            // Each backend event becomes zero or more provider chunks; the
            // encoder's closing chunks follow the last event.
            let frames = futures::stream::unfold(state, |mut st| async move {
                if st.done {
                    return None;
                }
                let out = match st.stream.next().await {
                    Some(Ok(event)) => {
                        if let Some(l) = st.log.as_mut() {
                            l.observe(&event);
                        }
                        chunks(&mut st.encoder.push(&event))
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        eventstream::encode_backend_error(
                            StreamOperation::InvokeModelWithResponseStream,
                            &e,
                        )
                    }
                    None => {
                        st.done = true;
                        if let Some(l) = st.log.take() {
                            l.finish();
                        }
                        chunks(&mut st.encoder.finish())
                    }
                };
                Some((Ok::<_, std::io::Error>(hyper::body::Frame::data(out)), st))
            });
            Ok(Reply::Stream {
                content_type: "application/vnd.amazon.eventstream",
                body: BodyExt::boxed_unsync(StreamBody::new(frames)),
            })
        }
        "CountTokens" => {
            let request = count_tokens_request(&call.body, &model_id, &upstream)?;
            Ok(Reply::Json(
                json!({ "inputTokens": backend.count_tokens(&request) }),
            ))
        }
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not a Bedrock runtime operation here"),
        )),
    }
}

fn chunks(list: &mut Vec<Vec<u8>>) -> Bytes {
    let mut out = Vec::new();
    for chunk in list.drain(..) {
        match eventstream::encode_chunk(&chunk) {
            Ok(frame) => out.extend_from_slice(&frame),
            Err(e) => out.extend_from_slice(&eventstream::encode_api_error(
                StreamOperation::InvokeModelWithResponseStream,
                &e,
            )),
        }
    }
    Bytes::from(out)
}

fn check_json_content_type(headers: &http::HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if crate::protocol::media_type(ct) != "application/json" {
        return Err(ApiError::validation(format!(
            "The content type {ct} is not supported; send application/json"
        )));
    }
    Ok(())
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::validation(
            "The request body is empty; a JSON object is expected",
        ));
    }
    let limits = crate::protocol::json::JsonLimits::default();
    crate::protocol::json::parse_object(body, &limits).map_err(|e| e.into_rest_json_error())
}

fn text_blocks(value: &Value, path: &str) -> Result<Vec<ContentBlock>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::validation(format!("{path} must be a list of content blocks")))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj = item.as_object().ok_or_else(|| {
            ApiError::validation(format!("{path}.{i} must be a content block object"))
        })?;
        if obj.len() != 1 {
            return Err(ApiError::validation(format!(
                "{path}.{i} must set exactly one member"
            )));
        }
        match obj.get("text") {
            Some(Value::String(t)) => out.push(ContentBlock::Text(t.clone())),
            Some(_) => {
                return Err(ApiError::validation(format!(
                    "{path}.{i}.text must be a string"
                )));
            }
            None => out.push(ContentBlock::Other(item.clone())),
        }
    }
    Ok(out)
}

/// A Converse request body → the internal request.
pub fn converse_request(body: &[u8], upstream: &str) -> Result<ChatRequest, ApiError> {
    let obj = object(body)?;
    let messages_value = obj
        .get("messages")
        .ok_or_else(|| crate::protocol::missing("messages"))?;
    let list = messages_value
        .as_array()
        .ok_or_else(|| ApiError::validation("messages must be a list"))?;
    if list.is_empty() {
        return Err(ApiError::validation(
            "messages must hold at least one message",
        ));
    }
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => {
                return Err(ApiError::validation(format!(
                    "messages.{i}.role must be 'user' or 'assistant'"
                )));
            }
        };
        let content = text_blocks(
            m.get("content")
                .ok_or_else(|| crate::protocol::missing(&format!("messages.{i}.content")))?,
            &format!("messages.{i}.content"),
        )?;
        if content.is_empty() {
            return Err(ApiError::validation(format!(
                "messages.{i}.content must not be empty"
            )));
        }
        messages.push(Message { role, content });
    }
    if messages[0].role != Role::User {
        return Err(ApiError::validation(
            "A conversation must start with a user message.",
        ));
    }
    let mut system = Vec::new();
    if let Some(sys) = obj.get("system") {
        for block in text_blocks(sys, "system")? {
            if let ContentBlock::Text(t) = block {
                system.push(t);
            }
        }
    }
    let mut inference = InferenceConfig::default();
    if let Some(cfg) = obj.get("inferenceConfig") {
        let cfg = cfg
            .as_object()
            .ok_or_else(|| ApiError::validation("inferenceConfig must be an object"))?;
        if let Some(v) = cfg.get("maxTokens") {
            let n = v
                .as_u64()
                .filter(|n| *n >= 1 && *n <= 1_000_000)
                .ok_or_else(|| {
                    ApiError::validation("inferenceConfig.maxTokens must be a positive integer")
                })?;
            inference.max_tokens = Some(n as u32);
        }
        for (name, slot) in [
            ("temperature", &mut inference.temperature),
            ("topP", &mut inference.top_p),
        ] {
            if let Some(v) = cfg.get(name) {
                let f = v
                    .as_f64()
                    .filter(|f| (0.0..=1.0).contains(f))
                    .ok_or_else(|| {
                        ApiError::validation(format!(
                            "inferenceConfig.{name} must be between 0 and 1"
                        ))
                    })?;
                *slot = Some(f as f32);
            }
        }
        if let Some(v) = cfg.get("stopSequences") {
            let list = v.as_array().filter(|l| l.len() <= 2500).ok_or_else(|| {
                ApiError::validation("inferenceConfig.stopSequences must be a list of strings")
            })?;
            for s in list {
                inference.stop_sequences.push(
                    s.as_str()
                        .ok_or_else(|| {
                            ApiError::validation(
                                "inferenceConfig.stopSequences must be a list of strings",
                            )
                        })?
                        .to_string(),
                );
            }
        }
    }
    Ok(ChatRequest {
        upstream_model: upstream.to_string(),
        system,
        messages,
        inference,
        tool_config: obj.get("toolConfig").cloned(),
    })
}

/// The internal response → a Converse response body.
pub fn converse_response(response: &ChatResponse) -> Value {
    let content: Vec<Value> = response
        .message
        .content
        .iter()
        .map(|b| match b {
            ContentBlock::Text(t) => json!({ "text": t }),
            ContentBlock::Other(v) => v.clone(),
        })
        .collect();
    json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": eventstream::stop_reason_name(response.stop_reason),
        "usage": eventstream::usage_json(&response.usage),
        "metrics": { "latencyMs": response.latency.as_millis() as u64 },
    })
}

fn count_tokens_request(
    body: &[u8],
    model_id: &str,
    upstream: &str,
) -> Result<ChatRequest, ApiError> {
    let obj = object(body)?;
    let input = obj
        .get("input")
        .and_then(Value::as_object)
        .ok_or_else(|| crate::protocol::missing("input"))?;
    if let Some(converse) = input.get("converse") {
        let bytes = serde_json::to_vec(converse).unwrap_or_default();
        return converse_request(&bytes, upstream);
    }
    if let Some(invoke) = input.get("invokeModel") {
        // A blob member: base64 in the JSON document.
        let encoded = invoke
            .get("body")
            .and_then(Value::as_str)
            .ok_or_else(|| crate::protocol::missing("input.invokeModel.body"))?;
        let body = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
            .map_err(|_| ApiError::validation("input.invokeModel.body must be base64-encoded"))?;
        let format = NativeFormat::for_model(model_id).map_err(|e| backend_error(&e))?;
        return format
            .decode_request(&body, upstream)
            .map_err(|e| backend_error(&e));
    }
    Err(ApiError::validation(
        "input must set 'converse' or 'invokeModel'",
    ))
}

/// The resource ARN of a model call (for tests and audit).
pub fn resource_of(account: &str, region: &str, model_id: &str) -> String {
    model_arn(account, region, model_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{ChatEvent, StopReason};

    fn guardrail() -> sekisho_guard::CompiledGuardrail {
        let config: sekisho_guard::GuardrailConfig = serde_json::from_value(json!({
            "name": "g",
            "blockedInputMessaging": "in blocked",
            "blockedOutputsMessaging": "out blocked",
            "sensitiveInformationPolicyConfig": { "piiEntitiesConfig": [
                { "type": "EMAIL", "action": "ANONYMIZE" },
                { "type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCK" }
            ] }
        }))
        .unwrap();
        sekisho_guard::CompiledGuardrail::compile(&config).unwrap()
    }

    fn run(g: &sekisho_guard::CompiledGuardrail, chunks: &[&str]) -> (String, Vec<ChatEvent>) {
        let mut og = OutputGuard::new(g);
        let start = og.on_event(ChatEvent::MessageStart {
            role: Role::Assistant,
        });
        let chunks: Vec<String> = chunks.iter().map(|c| c.to_string()).collect();
        let (text, events) = stream(&mut og, &chunks);
        (text, start.into_iter().chain(events).collect())
    }

    #[test]
    fn async_mode_releases_at_once_and_stops_after_a_hit() {
        let g = word_guardrail();
        assert!(!masks_output(g.config()));
        let mut og = OutputGuard::releasing_at_once(&g);
        // Released as it comes, nothing held back.
        let first = og.on_event(ChatEvent::ContentDelta {
            index: 0,
            text: "hello blue".into(),
        });
        assert_eq!(
            first,
            [ChatEvent::ContentDelta {
                index: 0,
                text: "hello blue".into()
            }]
        );
        // The word completes across chunks: the text is out, and the hit
        // (found at the latest when the block ends) brings the blocked
        // messaging and the stop.
        let mut events = og.on_event(ChatEvent::ContentDelta {
            index: 0,
            text: "bird and more".into(),
        });
        assert_eq!(
            events[0],
            ChatEvent::ContentDelta {
                index: 0,
                text: "bird and more".into()
            }
        );
        events.extend(og.on_event(ChatEvent::ContentStop { index: 0 }));
        events.extend(og.on_event(ChatEvent::MessageStop {
            stop_reason: StopReason::EndTurn,
        }));
        assert_eq!(
            &events[events.len() - 3..],
            [
                ChatEvent::ContentDelta {
                    index: 0,
                    text: "account out blocked".into()
                },
                ChatEvent::ContentStop { index: 0 },
                ChatEvent::MessageStop {
                    stop_reason: StopReason::GuardrailIntervened
                }
            ]
        );
        // Nothing more after the stop.
        assert!(
            og.on_event(ChatEvent::ContentDelta {
                index: 0,
                text: "tail".into()
            })
            .is_empty()
        );
        // A clean answer ends normally, the held-back tail not sent twice.
        let mut og = OutputGuard::releasing_at_once(&g);
        let mut events = og.on_event(ChatEvent::ContentDelta {
            index: 0,
            text: "all good".into(),
        });
        events.extend(og.on_event(ChatEvent::ContentStop { index: 0 }));
        assert_eq!(
            events,
            [
                ChatEvent::ContentDelta {
                    index: 0,
                    text: "all good".into()
                },
                ChatEvent::ContentStop { index: 0 }
            ]
        );
    }

    /// A stand-in classifier: HATE with HIGH confidence when the text says
    /// "vermin".
    #[derive(Debug)]
    struct SaysVermin;

    impl sekisho_guard::Classifier for SaysVermin {
        fn classify(
            &self,
            task: &sekisho_guard::ClassifierTask<'_>,
        ) -> Result<sekisho_guard::ClassifierVerdict, sekisho_guard::classify::ClassifierError>
        {
            let sekisho_guard::ClassifierTask::Content { text, .. } = task else {
                return Err(sekisho_guard::classify::ClassifierError(
                    "content only".into(),
                ));
            };
            Ok(sekisho_guard::ClassifierVerdict::Confidence(
                if text.contains("vermin") {
                    sekisho_guard::config::FilterStrength::High
                } else {
                    sekisho_guard::config::FilterStrength::None
                },
            ))
        }
    }

    fn hate_guardrail() -> sekisho_guard::CompiledGuardrail {
        let config: sekisho_guard::GuardrailConfig = serde_json::from_value(json!({
            "name": "hate",
            "blockedInputMessaging": "in blocked",
            "blockedOutputsMessaging": "out blocked",
            "contentPolicyConfig": { "filtersConfig": [
                { "type": "HATE", "inputStrength": "NONE", "outputStrength": "HIGH" }
            ] }
        }))
        .unwrap();
        let mut classifiers = sekisho_guard::Classifiers::default();
        classifiers.content.insert(
            sekisho_guard::config::ContentFilterType::Hate,
            Arc::new(SaysVermin),
        );
        sekisho_guard::CompiledGuardrail::compile_with(&config, &classifiers).unwrap()
    }

    fn stream(og: &mut OutputGuard<'_>, chunks: &[String]) -> (String, Vec<ChatEvent>) {
        let mut events = Vec::new();
        for c in chunks {
            events.extend(og.on_event(ChatEvent::ContentDelta {
                index: 0,
                text: c.clone(),
            }));
        }
        events.extend(og.on_event(ChatEvent::ContentStop { index: 0 }));
        events.extend(og.on_event(ChatEvent::MessageStop {
            stop_reason: StopReason::EndTurn,
        }));
        let text = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::ContentDelta { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        (text, events)
    }

    #[test]
    fn content_filters_see_streamed_output_in_windows() {
        let g = hate_guardrail();
        assert!(has_model_output_filters(g.config()));
        assert!(!has_model_output_filters(word_guardrail().config()));
        let clean: Vec<String> = (0..200).map(|i| format!("word{i} ")).collect();
        // Sync, clean: everything arrives, in order, in windows.
        let (text, events) = stream(&mut OutputGuard::new(&g), &clean);
        assert_eq!(text, clean.concat());
        let deltas = events
            .iter()
            .filter(|e| matches!(e, ChatEvent::ContentDelta { .. }))
            .count();
        assert!((2..clean.len()).contains(&deltas), "{deltas} deltas");
        // Sync, a hit in the second window: the first window is out, the
        // hit is not.
        let mut hateful = clean.clone();
        hateful.insert(150, "they are vermin ".into());
        let (text, events) = stream(&mut OutputGuard::new(&g), &hateful);
        assert!(!text.contains("vermin"), "{text}");
        assert!(
            text.starts_with("word0 ") && text.ends_with("out blocked"),
            "{text}"
        );
        assert!(events.contains(&ChatEvent::MessageStop {
            stop_reason: StopReason::GuardrailIntervened
        }));
        // A short hateful answer never leaves: checked at the block's end.
        let (text, _) = stream(
            &mut OutputGuard::new(&g),
            &["they are ".into(), "vermin".into()],
        );
        assert_eq!(text, "out blocked");
        // Async: released as it comes, stopped after the hit.
        let (text, events) = stream(&mut OutputGuard::releasing_at_once(&g), &hateful);
        assert!(
            text.contains("vermin") && text.ends_with("out blocked"),
            "{text}"
        );
        assert!(events.contains(&ChatEvent::MessageStop {
            stop_reason: StopReason::GuardrailIntervened
        }));
    }

    #[test]
    fn a_masking_guardrail_is_never_released_at_once() {
        assert!(masks_output(guardrail().config()));
        let input_only: sekisho_guard::GuardrailConfig = serde_json::from_value(json!({
            "name": "g",
            "blockedInputMessaging": "b",
            "blockedOutputsMessaging": "b",
            "sensitiveInformationPolicyConfig": { "piiEntitiesConfig": [
                { "type": "EMAIL", "action": "ANONYMIZE", "outputEnabled": false },
                { "type": "PHONE", "action": "ANONYMIZE", "outputAction": "NONE" }
            ] }
        }))
        .unwrap();
        assert!(!masks_output(&input_only));
    }

    fn word_guardrail() -> sekisho_guard::CompiledGuardrail {
        let config: sekisho_guard::GuardrailConfig = serde_json::from_value(json!({
            "name": "enforced",
            "blockedInputMessaging": "account in blocked",
            "blockedOutputsMessaging": "account out blocked",
            "wordPolicyConfig": { "wordsConfig": [{ "text": "bluebird" }] }
        }))
        .unwrap();
        sekisho_guard::CompiledGuardrail::compile(&config).unwrap()
    }

    fn run_through(
        guards: &[&sekisho_guard::CompiledGuardrail],
        chunks: &[&str],
    ) -> (String, Vec<ChatEvent>) {
        let mut ogs: Vec<OutputGuard<'_>> = guards.iter().map(|g| OutputGuard::new(g)).collect();
        let mut events = Vec::new();
        for c in chunks {
            events.extend(through(
                &mut ogs,
                ChatEvent::ContentDelta {
                    index: 0,
                    text: c.to_string(),
                },
            ));
        }
        events.extend(through(&mut ogs, ChatEvent::ContentStop { index: 0 }));
        events.extend(through(
            &mut ogs,
            ChatEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
            },
        ));
        let text = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::ContentDelta { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        (text, events)
    }

    #[test]
    fn stacked_output_guards_mask_with_one_and_block_with_the_other() {
        let (named, enforced) = (guardrail(), word_guardrail());
        let (text, _) = run_through(&[&named, &enforced], &["mail ta", "ro@example.com now"]);
        assert_eq!(text, "mail {EMAIL} now");
        let (text, events) = run_through(&[&named, &enforced], &["about blue", "bird and x@y.com"]);
        assert_eq!(text, "account out blocked");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, ChatEvent::MessageStop { .. }))
                .count(),
            1
        );
        assert!(events.contains(&ChatEvent::MessageStop {
            stop_reason: StopReason::GuardrailIntervened
        }));
        // The named guardrail blocks first: its messaging, once.
        let (text, _) = run_through(&[&named, &enforced], &["card 4111 1111 1111 1111"]);
        assert_eq!(text, "out blocked");
    }

    #[test]
    fn stacked_input_checks_block_with_the_blocking_guardrail() {
        let guard = ActiveGuardrail {
            compiled: Arc::new(guardrail()),
            id: "named".into(),
            version: "1".into(),
            trace: false,
            release_at_once: false,
            scope: None,
            extra: vec![(
                Arc::new(word_guardrail()),
                Scope {
                    system_all: true,
                    messages_all: true,
                },
            )],
        };
        let body = json!({ "messages": [{ "role": "user", "content": [
            { "text": "mail taro@example.com about bluebird" }
        ] }] });
        let (input, request) =
            converse_input(&guard, &serde_json::to_vec(&body).unwrap(), "m").unwrap();
        assert_eq!(request.unwrap_err(), "account in blocked");
        // The named guardrail's own assessment (it masked) is what is traced.
        assert!(matches!(verdict(&input), Verdict::Masked(_)));
        let body = json!({ "messages": [{ "role": "user", "content": [
            { "text": "mail taro@example.com" }
        ] }] });
        let (_, request) =
            converse_input(&guard, &serde_json::to_vec(&body).unwrap(), "m").unwrap();
        let sent = format!("{:?}", request.unwrap());
        assert!(
            sent.contains("{EMAIL}") && !sent.contains("taro@"),
            "{sent}"
        );
    }

    #[test]
    fn enforced_scope_comprehensive_ignores_tags_selective_follows_them() {
        let body = json!({
            "system": [{ "text": "sys plain" }, { "guardContent": { "text": { "text": "sys tagged" } } }],
            "messages": [{ "role": "user", "content": [
                { "text": "msg plain" },
                { "guardContent": { "text": { "text": "msg tagged", "qualifiers": ["query"] } } }
            ] }]
        });
        let texts = |scope| -> Vec<String> {
            enforced_guard_content(&body, scope)
                .into_iter()
                .map(|(_, b)| {
                    assert!(b.text.as_ref().unwrap().qualifiers.is_none());
                    b.text.unwrap().text
                })
                .collect()
        };
        let all = Scope {
            system_all: true,
            messages_all: true,
        };
        assert_eq!(
            texts(all),
            ["sys plain", "sys tagged", "msg plain", "msg tagged"]
        );
        let selective = Scope {
            system_all: false,
            messages_all: false,
        };
        assert_eq!(texts(selective), ["sys tagged", "msg tagged"]);
        // Selective messages without any tag: the messages in full.
        let untagged = json!({ "messages": [{ "role": "user", "content": [{ "text": "only" }] }] });
        assert_eq!(enforced_guard_content(&untagged, selective).len(), 1);
        // A tagged harmless block does not hide the plain text from a
        // comprehensive enforced guardrail.
        let guard = ActiveGuardrail {
            compiled: Arc::new(word_guardrail()),
            id: "enforced".into(),
            version: "1".into(),
            trace: false,
            release_at_once: false,
            scope: Some(all),
            extra: Vec::new(),
        };
        let evasive = json!({ "messages": [{ "role": "user", "content": [
            { "text": "about bluebird" },
            { "guardContent": { "text": { "text": "hello" } } }
        ] }] });
        let (_, request) =
            converse_input(&guard, &serde_json::to_vec(&evasive).unwrap(), "m").unwrap();
        assert_eq!(request.unwrap_err(), "account in blocked");
    }

    #[test]
    fn a_stream_is_masked_across_chunks() {
        let g = guardrail();
        let (text, events) = run(&g, &["write to ta", "ro@exam", "ple.com today"]);
        assert_eq!(text, "write to {EMAIL} today");
        assert!(events.contains(&ChatEvent::MessageStop {
            stop_reason: StopReason::EndTurn
        }));
    }

    #[test]
    fn a_card_split_across_chunks_blocks_the_stream() {
        let g = guardrail();
        let (text, events) = run(&g, &["card 4111 11", "11 1111 ", "1111 thanks"]);
        assert_eq!(text, "out blocked");
        assert!(!text.contains("4111"));
        let stops: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, ChatEvent::MessageStop { .. }))
            .collect();
        assert_eq!(
            stops,
            [&ChatEvent::MessageStop {
                stop_reason: StopReason::GuardrailIntervened
            }]
        );
    }

    #[test]
    fn guard_content_blocks_and_qualifiers_are_read_from_converse() {
        let body = json!({
            "system": [{ "text": "sys" }, { "guardContent": { "text": { "text": "rule" } } }],
            "messages": [{ "role": "user", "content": [
                { "text": "plain" },
                { "guardContent": { "text": { "text": "src", "qualifiers": ["grounding_source"] } } }
            ] }]
        });
        let blocks = converse_guard_content(&body);
        let pointers: Vec<&str> = blocks.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/system/1/guardContent/text/text",
                "/messages/0/content/0/text",
                "/messages/0/content/1/guardContent/text/text"
            ]
        );
        let any_gc = true;
        assert!(is_guarded(&blocks[0].1, any_gc));
        assert!(!is_guarded(&blocks[1].1, any_gc));
        assert!(!is_guarded(&blocks[2].1, any_gc));
        let mut body = body;
        unwrap_guard_content(&mut body);
        assert_eq!(body["messages"][0]["content"][1], json!({ "text": "src" }));
    }

    #[test]
    fn the_engine_verdicts_are_read_as_pass_mask_or_block() {
        let g = guardrail();
        let apply = |t: &str| {
            g.apply(
                sekisho_guard::Source::Input,
                &[sekisho_guard::ContentBlock::text(t)],
            )
        };
        assert!(matches!(verdict(&apply("hello")), Verdict::Pass));
        match verdict(&apply("mail taro@example.com now")) {
            Verdict::Masked(t) => assert_eq!(t, ["mail {EMAIL} now"]),
            _ => panic!("expected a masked verdict"),
        }
        assert!(matches!(
            verdict(&apply("card 4111 1111 1111 1111 and taro@example.com")),
            Verdict::Blocked
        ));
    }
}
