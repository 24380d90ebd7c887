//! Bedrock guardrails: the control plane (Create, Get, List, Update,
//! Delete, CreateGuardrailVersion) and the runtime's ApplyGuardrail.
//!
//! A guardrail is a DRAFT plus immutable numbered versions. The summary of
//! each guardrail (names, times, version list) lives in memory and in the
//! store; each version's configuration is stored sealed under the
//! guardrail's KMS key (or the master key), because words, regexes and
//! topic definitions can reveal what an organization protects. Configs are
//! validated by the engine at Create/Update, and compiled guardrails are
//! cached per (region, id, version) so a model call does not recompile.
//! Filters whose classifiers are absent compile as "unavailable" and the
//! engine blocks at apply time (fail closed).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sekisho_guard::response::ApplyGuardrailRequest;
use sekisho_guard::{CompiledGuardrail, GuardrailConfig, OutputScope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::services::{Call, Reply};

const GUARDRAILS: &str = "bedrock.guardrails";
const VERSIONS: &str = "bedrock.guardrail-versions";
/// The account's enforced guardrail configurations, by (region, configId).
const ENFORCED: &str = "bedrock.enforced-guardrails";
const SEP: char = '\u{1f}';
const DRAFT: &str = "DRAFT";
/// Bedrock's quota of numbered versions per guardrail is far lower; this
/// only bounds the summary document.
const MAX_VERSIONS: usize = 1000;

/// One version's summary (the configuration itself is sealed apart).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct VersionMeta {
    version: String,
    name: String,
    description: Option<String>,
    created_at: String,
    updated_at: String,
    /// The `clientRequestToken` that created it: a retry gets this version.
    #[serde(default)]
    client_token: Option<String>,
    /// Bumped by each UpdateGuardrail (of DRAFT): a compiled guardrail is
    /// only reused while its revision is current, so a compile that raced
    /// an update is never served after it.
    #[serde(default)]
    revision: u64,
}

/// A guardrail's summary, stored in plaintext (no configuration content).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct GuardrailMeta {
    id: String,
    region: String,
    kms_key_id: Option<String>,
    kms_key_arn: Option<String>,
    created_at: String,
    /// DRAFT first, then the numbered versions in order.
    versions: Vec<VersionMeta>,
    next_version: u32,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// The `clientRequestToken` of its CreateGuardrail: a retry gets it.
    #[serde(default)]
    client_token: Option<String>,
}

impl GuardrailMeta {
    fn arn(&self, account: &str) -> String {
        guardrail_arn(&self.region, account, &self.id)
    }
    fn version(&self, v: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|m| m.version == v)
    }
}

pub fn guardrail_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:bedrock:{region}:{account}:guardrail/{id}")
}

/// Which models an enforced guardrail covers (`ModelEnforcement`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelEnforcement {
    pub included_models: Vec<String>,
    pub excluded_models: Vec<String>,
}

impl ModelEnforcement {
    /// `ALL` or the model id itself is included, and it is not excluded.
    pub fn covers(&self, model_id: &str) -> bool {
        self.included_models
            .iter()
            .any(|m| m == "ALL" || m == model_id)
            && !self.excluded_models.iter().any(|m| m == model_id)
    }
}

/// An account-level enforced guardrail of one region (no content: the
/// guardrail's configuration stays sealed with the guardrail).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnforcedConfig {
    pub config_id: String,
    pub region: String,
    pub guardrail_id: String,
    pub guardrail_version: String,
    #[serde(default)]
    pub selective_content_guarding: Option<BTreeMap<String, String>>,
    /// None: every model.
    #[serde(default)]
    pub model_enforcement: Option<ModelEnforcement>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl EnforcedConfig {
    /// Whether a part (`system` or `messages`) is guarded in full, tags or
    /// not: COMPREHENSIVE unless SELECTIVE was asked for, so a caller
    /// cannot steer the account's guardrail away with `guardContent`.
    pub fn comprehensive(&self, part: &str) -> bool {
        self.selective_content_guarding
            .as_ref()
            .and_then(|s| s.get(part))
            .is_none_or(|m| m != "SELECTIVE")
    }

    pub fn covers(&self, model_id: &str) -> bool {
        self.model_enforcement
            .as_ref()
            .is_none_or(|m| m.covers(model_id))
    }
}

/// (region, id, version).
type VersionKey = (String, String, String);

/// The guardrails of the account, by (region, id).
#[derive(Default)]
pub struct Guardrails {
    meta: std::sync::RwLock<BTreeMap<(String, String), GuardrailMeta>>,
    /// By (region, id, version), with the revision it was compiled from.
    compiled: std::sync::Mutex<HashMap<VersionKey, (u64, Arc<CompiledGuardrail>)>>,
    /// Serializes the control plane's read-modify-write of a summary, so
    /// two CreateGuardrailVersion calls never take the same number.
    writes: std::sync::Mutex<()>,
    /// Enforced guardrail configurations by (region, configId).
    enforced: std::sync::RwLock<BTreeMap<(String, String), EnforcedConfig>>,
    /// The classifiers guardrails compile with: the embedded ones, with the
    /// configured external classifiers in place of the filters they answer
    /// (`None`: the embedded ones only).
    classifiers: Option<Arc<sekisho_guard::Classifiers>>,
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("the guardrail store cannot be used: {e}"),
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The guardrail {id} was not found."))
        .with_code("ResourceNotFoundException")
}

fn version_not_found(id: &str, version: &str) -> ApiError {
    ApiError::not_found(format!("The guardrail {id} has no version {version}."))
        .with_code("ResourceNotFoundException")
}

fn meta_key(region: &str, id: &str) -> String {
    format!("{region}{SEP}{id}")
}

fn version_key(region: &str, id: &str, version: &str) -> String {
    format!("{region}{SEP}{id}{SEP}{version}")
}

/// The guardrail id an identifier names: an id, or a guardrail ARN of this
/// account and region (one elsewhere does not exist here).
pub fn parse_identifier(raw: &str, account: &str, region: &str) -> Result<String, ApiError> {
    let id = if raw.starts_with("arn:") {
        let arn = sekisho_policy::arn::Arn::parse(raw)
            .filter(|a| a.service == "bedrock")
            .ok_or_else(bad_identifier)?;
        let id = arn
            .resource
            .strip_prefix("guardrail/")
            .ok_or_else(bad_identifier)?;
        if arn.region != region || arn.account != account {
            return Err(not_found(id));
        }
        id.to_string()
    } else {
        raw.to_string()
    };
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(bad_identifier());
    }
    Ok(id)
}

fn bad_identifier() -> ApiError {
    ApiError::validation(
        "1 validation error detected: Value at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))",
    )
}

/// `DRAFT` or a number 1..=99999999 without leading zeros.
pub fn check_version(v: &str, numeric_only: bool) -> Result<(), ApiError> {
    let numeric = !v.is_empty()
        && v.len() <= 8
        && v.bytes().all(|b| b.is_ascii_digit())
        && !v.starts_with('0');
    if numeric || (!numeric_only && v == DRAFT) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "1 validation error detected: Value at 'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: {}",
        if numeric_only {
            "[1-9][0-9]{0,7}"
        } else {
            "(([1-9][0-9]{0,7})|(DRAFT))"
        }
    )))
}

/// A new id: 12 lower-case alphanumerics from the system's random source.
fn new_id() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| unavailable("no random source"))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn now_text() -> String {
    crate::audit::time_text(OffsetDateTime::now_utc())
}

/// The configuration of a Create/Update body, validated by compiling it.
/// A `ConfigError` names the field; serde errors name the member too.
fn parse_config(body: &[u8]) -> Result<(GuardrailConfig, CompiledGuardrail), ApiError> {
    let mut config: GuardrailConfig = serde_json::from_slice(body).map_err(|e| {
        ApiError::validation(format!(
            "1 validation error detected: the guardrail configuration is malformed: {e}"
        ))
    })?;
    // Neither belongs to a version's configuration.
    config.tags = None;
    config.client_request_token = None;
    let compiled =
        CompiledGuardrail::compile_with(&config, embedded_classifiers()).map_err(|e| {
            ApiError::validation(format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: {}",
                e.field, e.message
            ))
        })?;
    Ok((config, compiled))
}

/// The classifiers embedded in the binary (`sekisho-classify`). A filter
/// without one is reported unavailable by the engine, which then blocks
/// what it cannot check.
pub(crate) fn embedded_classifiers() -> &'static sekisho_guard::Classifiers {
    static EMBEDDED: std::sync::OnceLock<sekisho_guard::Classifiers> = std::sync::OnceLock::new();
    EMBEDDED.get_or_init(sekisho_classify::embedded)
}

fn context<'a>(arn: &'a str, version: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("aws:bedrock:guardrail-arn", arn),
        ("sekisho:version", version),
    ]
}

impl Guardrails {
    pub fn load(store: &dyn sekisho_store::Store) -> Result<Guardrails, String> {
        let mut map = BTreeMap::new();
        for (_, bytes) in store.list(GUARDRAILS, "").map_err(|e| e.to_string())? {
            let m: GuardrailMeta = serde_json::from_slice(&bytes)
                .map_err(|e| format!("a stored guardrail is damaged: {e}"))?;
            map.insert((m.region.clone(), m.id.clone()), m);
        }
        let mut enforced = BTreeMap::new();
        for (_, bytes) in store.list(ENFORCED, "").map_err(|e| e.to_string())? {
            let e: EnforcedConfig = serde_json::from_slice(&bytes)
                .map_err(|e| format!("a stored enforced guardrail is damaged: {e}"))?;
            enforced.insert((e.region.clone(), e.config_id.clone()), e);
        }
        Ok(Guardrails {
            meta: std::sync::RwLock::new(map),
            compiled: Default::default(),
            writes: Default::default(),
            enforced: std::sync::RwLock::new(enforced),
            classifiers: None,
        })
    }

    /// Compile guardrails with `classifiers` (see
    /// [`crate::external_classifier::with_external`]).
    pub fn with_classifiers(mut self, classifiers: sekisho_guard::Classifiers) -> Self {
        self.classifiers = Some(Arc::new(classifiers));
        self
    }

    fn classifiers(&self) -> &sekisho_guard::Classifiers {
        self.classifiers
            .as_deref()
            .unwrap_or_else(|| embedded_classifiers())
    }

    /// The enforced configurations covering a model call of this region.
    /// A poisoned lock refuses the call rather than run it unguarded.
    pub fn enforced_for(
        &self,
        region: &str,
        model_id: &str,
    ) -> Result<Vec<EnforcedConfig>, ApiError> {
        Ok(self
            .enforced
            .read()
            .map_err(|_| unavailable("lock"))?
            .values()
            .filter(|e| e.region == region && e.covers(model_id))
            .cloned()
            .collect())
    }

    /// The ARN of the customer key a guardrail is encrypted under, if any.
    pub fn key_arn(&self, region: &str, id: &str) -> Result<Option<String>, ApiError> {
        Ok(self.get_meta(region, id)?.kms_key_arn)
    }

    fn get_meta(&self, region: &str, id: &str) -> Result<GuardrailMeta, ApiError> {
        self.meta
            .read()
            .map_err(|_| unavailable("lock"))?
            .get(&(region.to_string(), id.to_string()))
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    /// The compiled guardrail of (region, id, version); a missing guardrail
    /// or version is `ResourceNotFoundException`.
    pub fn compiled(
        &self,
        gateway: &Gateway,
        region: &str,
        id: &str,
        version: &str,
    ) -> Result<Arc<CompiledGuardrail>, ApiError> {
        let meta = self.get_meta(region, id)?;
        let revision = meta
            .version(version)
            .ok_or_else(|| version_not_found(id, version))?
            .revision;
        let key = (region.to_string(), id.to_string(), version.to_string());
        if let Some((r, c)) = self
            .compiled
            .lock()
            .map_err(|_| unavailable("lock"))?
            .get(&key)
            && *r == revision
        {
            return Ok(c.clone());
        }
        let config = self.open_config(gateway, &meta, version)?;
        // A stored config compiled when it was written; failing now means
        // the engine changed under it: refuse rather than run without it.
        let compiled = Arc::new(
            CompiledGuardrail::compile_with(&config, self.classifiers()).map_err(|e| {
                unavailable(format!(
                    "the stored guardrail no longer compiles ({})",
                    e.field
                ))
            })?,
        );
        let mut cache = self.compiled.lock().map_err(|_| unavailable("lock"))?;
        // Never replace a newer revision compiled meanwhile.
        if cache.get(&key).is_none_or(|(r, _)| *r <= revision) {
            cache.insert(key, (revision, compiled.clone()));
        }
        Ok(compiled)
    }

    fn open_config(
        &self,
        gateway: &Gateway,
        meta: &GuardrailMeta,
        version: &str,
    ) -> Result<GuardrailConfig, ApiError> {
        let sealed = gateway
            .store
            .get(VERSIONS, &version_key(&meta.region, &meta.id, version))
            .map_err(unavailable)?
            .ok_or_else(|| version_not_found(&meta.id, version))?;
        let arn = meta.arn(&gateway.account);
        let plain = gateway
            .kms
            .open_at_rest(&meta.region, &sealed, &context(&arn, version))?;
        serde_json::from_slice(&plain).map_err(|_| unavailable("a stored guardrail is damaged"))
    }

    fn seal_config(
        &self,
        gateway: &Gateway,
        meta: &GuardrailMeta,
        version: &str,
        config: &GuardrailConfig,
    ) -> Result<Vec<u8>, ApiError> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(config).map_err(unavailable)?);
        let arn = meta.arn(&gateway.account);
        gateway.kms.seal_at_rest(
            &meta.region,
            meta.kms_key_id.as_deref(),
            &context(&arn, version),
            &plain,
        )
    }

    /// Writes the summary (and sealed versions) durably, then in memory.
    fn commit(
        &self,
        gateway: &Gateway,
        meta: GuardrailMeta,
        mut writes: Vec<sekisho_store::Write>,
    ) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(&meta).map_err(unavailable)?;
        writes.push(sekisho_store::Write::put(
            GUARDRAILS,
            meta_key(&meta.region, &meta.id),
            bytes,
        ));
        let mut map = self.meta.write().map_err(|_| unavailable("lock"))?;
        gateway.store.write(&writes).map_err(unavailable)?;
        map.insert((meta.region.clone(), meta.id.clone()), meta);
        Ok(())
    }

    fn forget_compiled(&self, region: &str, id: &str, version: Option<&str>) {
        if let Ok(mut c) = self.compiled.lock() {
            c.retain(|(r, i, v), _| !(r == region && i == id && version.is_none_or(|x| x == v)));
        }
    }
}

fn body_object(call: &Call) -> Result<Map<String, Value>, ApiError> {
    let content_type = call
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    crate::protocol::restjson::parse_json_body(
        content_type,
        &call.body,
        &crate::protocol::json::JsonLimits::default(),
    )
}

fn identifier(call: &Call, gateway: &Gateway) -> Result<String, ApiError> {
    let raw = call
        .input
        .get("guardrailIdentifier")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| crate::protocol::missing("guardrailIdentifier"))?;
    parse_identifier(raw, &gateway.account, &call.region)
}

/// The `...Config` members of a stored config renamed to the `Get` shape
/// (`topicPolicyConfig.topicsConfig` → `topicPolicy.topics`, ...).
fn policies_json(config: &GuardrailConfig) -> Map<String, Value> {
    const TOP: &[(&str, &str)] = &[
        ("topicPolicyConfig", "topicPolicy"),
        ("contentPolicyConfig", "contentPolicy"),
        ("wordPolicyConfig", "wordPolicy"),
        (
            "sensitiveInformationPolicyConfig",
            "sensitiveInformationPolicy",
        ),
        (
            "contextualGroundingPolicyConfig",
            "contextualGroundingPolicy",
        ),
        ("automatedReasoningPolicyConfig", "automatedReasoningPolicy"),
    ];
    const INNER: &[(&str, &str)] = &[
        ("topicsConfig", "topics"),
        ("filtersConfig", "filters"),
        ("tierConfig", "tier"),
        ("wordsConfig", "words"),
        ("managedWordListsConfig", "managedWordLists"),
        ("piiEntitiesConfig", "piiEntities"),
        ("regexesConfig", "regexes"),
    ];
    let mut out = Map::new();
    let Ok(Value::Object(all)) = serde_json::to_value(config) else {
        return out;
    };
    for (from, to) in TOP {
        if let Some(Value::Object(inner)) = all.get(*from) {
            let renamed: Map<String, Value> = inner
                .iter()
                .map(|(k, v)| {
                    let name = INNER
                        .iter()
                        .find(|(f, _)| f == k)
                        .map_or(k.as_str(), |(_, t)| t);
                    (name.to_string(), v.clone())
                })
                .collect();
            out.insert((*to).to_string(), Value::Object(renamed));
        }
    }
    if let Some(c) = &config.cross_region_config {
        out.insert(
            "crossRegionDetails".into(),
            json!({ "guardrailProfileId": c.guardrail_profile_identifier }),
        );
    }
    out
}

/// What a caller must be allowed on a guardrail's customer key, as Bedrock
/// requires: to write a configuration under it, and to read or apply one.
const KEY_USE_TO_WRITE: &[&str] = &["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"];
pub(crate) const KEY_USE_TO_READ: &[&str] = &["kms:Decrypt"];

/// Authorizes the caller's use of a guardrail's key (identity policies and
/// the key policy, as for a KMS call): AccessDeniedException naming the
/// KMS action otherwise.
pub(crate) fn require_key_use(
    gateway: &Gateway,
    call: &Call,
    key_arn: &str,
    actions: &[&str],
) -> Result<(), ApiError> {
    for action in actions {
        crate::services::kms::authorize_also(gateway, call, action, key_arn)?;
    }
    Ok(())
}

/// The ARN of the key a Create/UpdateGuardrail names, once the caller may
/// write under it; a key that does not exist is a ValidationException.
fn writable_key_arn(gateway: &Gateway, call: &Call, key: &str) -> Result<String, ApiError> {
    let region = &call.region;
    let arn = gateway.kms.key_arn_of(region, key).ok_or_else(|| {
        ApiError::validation(format!("The KMS key {key} does not exist in {region}."))
    })?;
    require_key_use(gateway, call, &arn, KEY_USE_TO_WRITE)?;
    Ok(arn)
}

/// `aws:RequestTag/*` and `aws:TagKeys` of a CreateGuardrail call, so a
/// policy can require or forbid tags on new guardrails. A body that does
/// not parse adds nothing (the handler then refuses it).
pub fn condition_keys(
    op: &crate::registry::Operation,
    body: &[u8],
    context: &mut sekisho_policy::Context,
) {
    if op.name != "CreateGuardrail" {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(tags) = v.get("tags").and_then(Value::as_array) else {
        return;
    };
    let mut keys = Vec::new();
    for t in tags {
        if let (Some(k), Some(val)) = (
            t.get("key").and_then(Value::as_str),
            t.get("value").and_then(Value::as_str),
        ) {
            context.insert(&format!("aws:RequestTag/{k}"), val);
            keys.push(k.to_string());
        }
    }
    if !keys.is_empty() {
        context.insert_multi("aws:TagKeys", keys);
    }
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let g = &gateway.guardrails;
    let region = call.region.clone();
    let account = gateway.account.clone();
    // Reads do not wait; writes (no await inside) take their turn.
    let _write = if call.op.read_only {
        None
    } else {
        Some(g.writes.lock().map_err(|_| unavailable("lock"))?)
    };
    match call.op.name {
        "CreateGuardrail" => {
            let body = body_object(&call)?;
            let token = crate::services::args::Args(&body)
                .bounded("clientRequestToken", 256)?
                .map(str::to_string);
            let (config, _) = parse_config(&call.body)?;
            // boto3 fills the token in; a retried create returns the first.
            if let Some(t) = &token {
                let map = g.meta.read().map_err(|_| unavailable("lock"))?;
                if let Some(m) = map
                    .values()
                    .find(|m| m.region == region && m.client_token.as_ref() == Some(t))
                {
                    return Ok(Reply::Json(json!({
                        "guardrailId": m.id,
                        "guardrailArn": m.arn(&account),
                        "version": DRAFT,
                        "createdAt": m.created_at,
                    })));
                }
            }
            let kms_key_id = config.kms_key_id.clone();
            let kms_key_arn = match &kms_key_id {
                Some(k) => Some(writable_key_arn(gateway, &call, k)?),
                None => None,
            };
            let tags = crate::services::args::Args(&body)
                .objects("tags")?
                .iter()
                .filter_map(|t| {
                    Some((
                        t.str("key").ok()??.to_string(),
                        t.str("value").ok()??.to_string(),
                    ))
                })
                .collect();
            let now = now_text();
            let id = new_id()?;
            let meta = GuardrailMeta {
                id: id.clone(),
                region: region.clone(),
                kms_key_id,
                kms_key_arn,
                created_at: now.clone(),
                versions: vec![VersionMeta {
                    version: DRAFT.into(),
                    name: config.name.clone(),
                    description: config.description.clone(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    client_token: None,
                    revision: 0,
                }],
                next_version: 1,
                tags,
                client_token: token,
            };
            let sealed = g.seal_config(gateway, &meta, DRAFT, &config)?;
            let arn = meta.arn(&account);
            g.commit(
                gateway,
                meta,
                vec![sekisho_store::Write::put(
                    VERSIONS,
                    version_key(&region, &id, DRAFT),
                    sealed,
                )],
            )?;
            Ok(Reply::Json(json!({
                "guardrailId": id,
                "guardrailArn": arn,
                "version": DRAFT,
                "createdAt": now,
            })))
        }
        "GetGuardrail" => {
            let id = identifier(&call, gateway)?;
            let version = call.input.get("guardrailVersion").unwrap_or(DRAFT);
            check_version(version, false)?;
            let meta = g.get_meta(&region, &id)?;
            let vm = meta
                .version(version)
                .ok_or_else(|| version_not_found(&id, version))?;
            if let Some(arn) = &meta.kms_key_arn {
                require_key_use(gateway, &call, arn, KEY_USE_TO_READ)?;
            }
            let config = g.open_config(gateway, &meta, version)?;
            let mut out = policies_json(&config);
            out.insert("name".into(), json!(vm.name));
            if let Some(d) = &vm.description {
                out.insert("description".into(), json!(d));
            }
            out.insert("guardrailId".into(), json!(meta.id));
            out.insert("guardrailArn".into(), json!(meta.arn(&account)));
            out.insert("version".into(), json!(version));
            out.insert("status".into(), json!("READY"));
            out.insert("createdAt".into(), json!(vm.created_at));
            out.insert("updatedAt".into(), json!(vm.updated_at));
            out.insert(
                "blockedInputMessaging".into(),
                json!(config.blocked_input_messaging),
            );
            out.insert(
                "blockedOutputsMessaging".into(),
                json!(config.blocked_outputs_messaging),
            );
            if let Some(k) = &meta.kms_key_arn {
                out.insert("kmsKeyArn".into(), json!(k));
            }
            Ok(Reply::Json(Value::Object(out)))
        }
        "ListGuardrails" => {
            let max = match call.input.get("maxResults") {
                Some(m) => m
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        ApiError::validation(
                            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must be between 1 and 1000",
                        )
                    })?,
                None => 20,
            };
            let start = match call.input.get("nextToken") {
                Some(t) => t
                    .parse::<usize>()
                    .map_err(|_| ApiError::validation("The nextToken is not valid."))?,
                None => 0,
            };
            let summary = |m: &GuardrailMeta, v: &VersionMeta| {
                let mut s = json!({
                    "id": m.id,
                    "arn": m.arn(&account),
                    "status": "READY",
                    "name": v.name,
                    "version": v.version,
                    "createdAt": v.created_at,
                    "updatedAt": v.updated_at,
                });
                if let Some(d) = &v.description {
                    s["description"] = json!(d);
                }
                s
            };
            let all: Vec<Value> = match call.input.get("guardrailIdentifier") {
                // The versions of one guardrail.
                Some(raw) if !raw.is_empty() => {
                    let id = parse_identifier(raw, &account, &region)?;
                    let m = g.get_meta(&region, &id)?;
                    m.versions.iter().map(|v| summary(&m, v)).collect()
                }
                // Every guardrail, each by its DRAFT.
                _ => g
                    .meta
                    .read()
                    .map_err(|_| unavailable("lock"))?
                    .values()
                    .filter(|m| m.region == region)
                    .filter_map(|m| m.version(DRAFT).map(|v| summary(m, v)))
                    .collect(),
            };
            let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
            let mut out = json!({ "guardrails": page });
            if start + max < all.len() {
                out["nextToken"] = json!((start + max).to_string());
            }
            Ok(Reply::Json(out))
        }
        "UpdateGuardrail" => {
            let id = identifier(&call, gateway)?;
            let (config, _) = parse_config(&call.body)?;
            let mut meta = g.get_meta(&region, &id)?;
            // A key change applies to the DRAFT written now.
            if let Some(k) = &config.kms_key_id {
                let arn = writable_key_arn(gateway, &call, k)?;
                meta.kms_key_id = Some(k.clone());
                meta.kms_key_arn = Some(arn);
            }
            let now = now_text();
            if let Some(d) = meta.versions.iter_mut().find(|v| v.version == DRAFT) {
                d.name = config.name.clone();
                d.description = config.description.clone();
                d.updated_at = now.clone();
                d.revision += 1;
            }
            let sealed = g.seal_config(gateway, &meta, DRAFT, &config)?;
            let arn = meta.arn(&account);
            g.commit(
                gateway,
                meta,
                vec![sekisho_store::Write::put(
                    VERSIONS,
                    version_key(&region, &id, DRAFT),
                    sealed,
                )],
            )?;
            g.forget_compiled(&region, &id, Some(DRAFT));
            Ok(Reply::Json(json!({
                "guardrailId": id,
                "guardrailArn": arn,
                "version": DRAFT,
                "updatedAt": now,
            })))
        }
        "CreateGuardrailVersion" => {
            let id = identifier(&call, gateway)?;
            let body = body_object(&call)?;
            let args = crate::services::args::Args(&body);
            let description = args.bounded("description", 200)?.map(str::to_string);
            let token = args.bounded("clientRequestToken", 256)?.map(str::to_string);
            let mut meta = g.get_meta(&region, &id)?;
            if let Some(v) = token.as_ref().and_then(|t| {
                meta.versions
                    .iter()
                    .find(|v| v.client_token.as_ref() == Some(t))
            }) {
                return Ok(Reply::Json(
                    json!({ "guardrailId": id, "version": v.version }),
                ));
            }
            if meta.versions.len() > MAX_VERSIONS {
                return Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    "The guardrail has too many versions.",
                )
                .with_code("ServiceQuotaExceededException"));
            }
            // The snapshot is the DRAFT as stored now, re-sealed under the
            // version's own encryption context.
            let config = g.open_config(gateway, &meta, DRAFT)?;
            let version = meta.next_version.to_string();
            let sealed = g.seal_config(gateway, &meta, &version, &config)?;
            let now = now_text();
            meta.versions.push(VersionMeta {
                version: version.clone(),
                name: config.name.clone(),
                description: description.or_else(|| config.description.clone()),
                created_at: now.clone(),
                updated_at: now,
                client_token: token,
                revision: 0,
            });
            meta.next_version += 1;
            g.commit(
                gateway,
                meta,
                vec![sekisho_store::Write::put(
                    VERSIONS,
                    version_key(&region, &id, &version),
                    sealed,
                )],
            )?;
            Ok(Reply::Json(
                json!({ "guardrailId": id, "version": version }),
            ))
        }
        "DeleteGuardrail" => {
            let id = identifier(&call, gateway)?;
            let mut meta = g.get_meta(&region, &id)?;
            match call.input.get("guardrailVersion") {
                Some(v) if !v.is_empty() => {
                    check_version(v, true)?;
                    if meta.version(v).is_none() {
                        return Err(version_not_found(&id, v));
                    }
                    meta.versions.retain(|m| m.version != v);
                    g.commit(
                        gateway,
                        meta,
                        vec![sekisho_store::Write::delete(
                            VERSIONS,
                            version_key(&region, &id, v),
                        )],
                    )?;
                    g.forget_compiled(&region, &id, Some(v));
                }
                _ => {
                    let mut writes: Vec<sekisho_store::Write> = meta
                        .versions
                        .iter()
                        .map(|v| {
                            sekisho_store::Write::delete(
                                VERSIONS,
                                version_key(&region, &id, &v.version),
                            )
                        })
                        .collect();
                    writes.push(sekisho_store::Write::delete(
                        GUARDRAILS,
                        meta_key(&region, &id),
                    ));
                    let mut map = g.meta.write().map_err(|_| unavailable("lock"))?;
                    gateway.store.write(&writes).map_err(unavailable)?;
                    map.remove(&(region.clone(), id.clone()));
                    drop(map);
                    g.forget_compiled(&region, &id, None);
                }
            }
            Ok(Reply::Json(json!({})))
        }
        "PutEnforcedGuardrailConfiguration" => {
            let body = body_object(&call)?;
            let config_id = match body.get("configId") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if is_config_id(s) => Some(s.clone()),
                Some(_) => return Err(bad_config_id()),
            };
            let inference = match body.get("guardrailInferenceConfig") {
                Some(Value::Object(o)) => o,
                Some(_) => {
                    return Err(ApiError::validation(
                        "1 validation error detected: Value at 'guardrailInferenceConfig' must be a structure",
                    ));
                }
                None => return Err(crate::protocol::missing("guardrailInferenceConfig")),
            };
            let text = |k: &str| -> Result<String, ApiError> {
                match inference.get(k) {
                    Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                    _ => Err(crate::protocol::missing(&format!(
                        "guardrailInferenceConfig.{k}"
                    ))),
                }
            };
            let id = parse_identifier(&text("guardrailIdentifier")?, &account, &region)?;
            let version = text("guardrailVersion")?;
            check_version(&version, true)?;
            let selective = parse_selective(inference.get("selectiveContentGuarding"))?;
            let models = parse_model_enforcement(inference.get("modelEnforcement"))?;
            // The guardrail and version must exist now; one deleted later
            // makes the covered calls fail closed.
            let meta = g.get_meta(&region, &id)?;
            if meta.version(&version).is_none() {
                return Err(version_not_found(&id, &version));
            }
            let now = now_text();
            let by = call.caller.arn.clone();
            let mut map = g.enforced.write().map_err(|_| unavailable("lock"))?;
            let (config_id, created_at, created_by) = match config_id {
                Some(c) => {
                    let old = map.get(&(region.clone(), c.clone())).ok_or_else(|| {
                        ApiError::not_found(format!(
                            "The enforced guardrail configuration {c} was not found."
                        ))
                        .with_code("ResourceNotFoundException")
                    })?;
                    (c, old.created_at.clone(), old.created_by.clone())
                }
                None => {
                    if let Some(((_, c), _)) = map.iter().find(|((r, _), _)| *r == region) {
                        return Err(ApiError::new(
                            ErrorKind::Conflict,
                            format!(
                                "This account already has an enforced guardrail configuration in {region} ({c}); name its configId to change it."
                            ),
                        )
                        .with_code("ConflictException"));
                    }
                    (new_id()?, now.clone(), by.clone())
                }
            };
            let entry = EnforcedConfig {
                config_id: config_id.clone(),
                region: region.clone(),
                guardrail_id: id,
                guardrail_version: version,
                selective_content_guarding: selective,
                model_enforcement: models,
                created_at,
                created_by,
                updated_at: now.clone(),
                updated_by: by.clone(),
            };
            let bytes = serde_json::to_vec(&entry).map_err(unavailable)?;
            gateway
                .store
                .write(&[sekisho_store::Write::put(
                    ENFORCED,
                    meta_key(&region, &config_id),
                    bytes,
                )])
                .map_err(unavailable)?;
            map.insert((region.clone(), config_id.clone()), entry);
            Ok(Reply::Json(json!({
                "configId": config_id,
                "updatedAt": now,
                "updatedBy": by,
            })))
        }
        "ListEnforcedGuardrailsConfiguration" => {
            let list: Vec<Value> = g
                .enforced
                .read()
                .map_err(|_| unavailable("lock"))?
                .values()
                .filter(|e| e.region == region)
                .map(|e| enforced_json(e, &account))
                .collect();
            Ok(Reply::Json(json!({ "guardrailsConfig": list })))
        }
        "DeleteEnforcedGuardrailConfiguration" => {
            let config_id = call
                .input
                .get("configId")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| crate::protocol::missing("configId"))?;
            if !is_config_id(config_id) {
                return Err(bad_config_id());
            }
            let key = (region.clone(), config_id.to_string());
            let mut map = g.enforced.write().map_err(|_| unavailable("lock"))?;
            if !map.contains_key(&key) {
                return Err(ApiError::not_found(format!(
                    "The enforced guardrail configuration {config_id} was not found."
                ))
                .with_code("ResourceNotFoundException"));
            }
            gateway
                .store
                .write(&[sekisho_store::Write::delete(
                    ENFORCED,
                    meta_key(&region, config_id),
                )])
                .map_err(unavailable)?;
            map.remove(&key);
            Ok(Reply::Json(json!({})))
        }
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not a guardrail operation here"),
        )),
    }
}

fn is_config_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn bad_config_id() -> ApiError {
    ApiError::validation(
        "1 validation error detected: Value at 'configId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]+",
    )
}

/// `selectiveContentGuarding`: `system` and `messages`, each SELECTIVE or
/// COMPREHENSIVE.
fn parse_selective(v: Option<&Value>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let bad = |m: &str| {
        ApiError::validation(format!(
            "1 validation error detected: Value at 'guardrailInferenceConfig.selectiveContentGuarding{m}' failed to satisfy constraint: Member must satisfy enum value set: [SELECTIVE, COMPREHENSIVE]"
        ))
    };
    let o = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(bad("")),
    };
    let mut out = BTreeMap::new();
    for (k, v) in o {
        if k != "system" && k != "messages" {
            return Err(bad(&format!(".{k}")));
        }
        match v.as_str() {
            Some(m @ ("SELECTIVE" | "COMPREHENSIVE")) => {
                out.insert(k.clone(), m.to_string());
            }
            _ => return Err(bad(&format!(".{k}"))),
        }
    }
    Ok(Some(out))
}

/// `modelEnforcement`: `includedModels` (at least one, `ALL` or model ids)
/// and `excludedModels` (model ids), both required.
fn parse_model_enforcement(v: Option<&Value>) -> Result<Option<ModelEnforcement>, ApiError> {
    const BASE: &str = "guardrailInferenceConfig.modelEnforcement";
    let o = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at '{BASE}' must be a structure"
            )));
        }
    };
    let list = |k: &str, min: usize, all: bool| -> Result<Vec<String>, ApiError> {
        let bad = || {
            ApiError::validation(format!(
                "1 validation error detected: Value at '{BASE}.{k}' failed to satisfy constraint: Member must be a list of at least {min} model ids{}",
                if all { " or ALL" } else { "" }
            ))
        };
        let items = match o.get(k) {
            Some(Value::Array(a)) => a,
            None => return Err(crate::protocol::missing(&format!("{BASE}.{k}"))),
            Some(_) => return Err(bad()),
        };
        if items.len() < min {
            return Err(bad());
        }
        items
            .iter()
            .map(|i| match i.as_str() {
                Some("ALL") if all => Ok("ALL".to_string()),
                Some(m) if is_model_pattern(m) => Ok(m.to_string()),
                _ => Err(bad()),
            })
            .collect()
    };
    Ok(Some(ModelEnforcement {
        included_models: list("includedModels", 1, true)?,
        excluded_models: list("excludedModels", 0, false)?,
    }))
}

/// A loose check of the model id pattern: `provider.model` with optional
/// `:` parts and an optional `/` suffix, lower-case.
fn is_model_pattern(m: &str) -> bool {
    let head = m.split(['/', ':']).next().unwrap_or("");
    m.len() <= 300
        && head.contains('.')
        && m.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':' | b'/')
        })
}

fn enforced_json(e: &EnforcedConfig, account: &str) -> Value {
    let mut out = json!({
        "configId": e.config_id,
        "guardrailArn": guardrail_arn(&e.region, account, &e.guardrail_id),
        "guardrailId": e.guardrail_id,
        "guardrailVersion": e.guardrail_version,
        "createdAt": e.created_at,
        "createdBy": e.created_by,
        "updatedAt": e.updated_at,
        "updatedBy": e.updated_by,
        "owner": "ACCOUNT",
    });
    if let Some(s) = &e.selective_content_guarding {
        out["selectiveContentGuarding"] = json!(s);
    }
    if let Some(m) = &e.model_enforcement {
        out["modelEnforcement"] = json!({
            "includedModels": m.included_models,
            "excludedModels": m.excluded_models,
        });
    }
    out
}

/// bedrock-runtime `ApplyGuardrail`.
pub fn apply(gateway: &Gateway, call: &Call) -> Result<Reply, ApiError> {
    let id = identifier(call, gateway)?;
    let version = call
        .input
        .get("guardrailVersion")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| crate::protocol::missing("guardrailVersion"))?;
    check_version(version, false)?;
    // serde's message can quote a value of the body, which is content:
    // only the position is given back.
    let request: ApplyGuardrailRequest = serde_json::from_slice(&call.body).map_err(|e| {
        ApiError::validation(format!(
            "1 validation error detected: the ApplyGuardrail request is malformed at line {}, column {}: expected source (INPUT or OUTPUT) and content (a list of text or image blocks)",
            e.line(),
            e.column()
        ))
    })?;
    if request.content.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'content' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let compiled = gateway
        .guardrails
        .compiled(gateway, &call.region, &id, version)?;
    if let Some(arn) = gateway.guardrails.key_arn(&call.region, &id)? {
        require_key_use(gateway, call, &arn, KEY_USE_TO_READ)?;
    }
    let applied = compiled.apply_detailed(
        request.source,
        &request.content,
        request.output_scope.unwrap_or(OutputScope::Interventions),
    );
    let body = serde_json::to_value(&applied.response).map_err(unavailable)?;
    Ok(Reply::Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_ids_or_arns_of_this_account_and_region() {
        assert_eq!(
            parse_identifier("abc123def456", "111122223333", "us-east-1").unwrap(),
            "abc123def456"
        );
        assert_eq!(
            parse_identifier(
                "arn:aws:bedrock:us-east-1:111122223333:guardrail/abc123def456",
                "111122223333",
                "us-east-1"
            )
            .unwrap(),
            "abc123def456"
        );
        let elsewhere = parse_identifier(
            "arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123def456",
            "111122223333",
            "us-east-1",
        )
        .unwrap_err();
        assert_eq!(elsewhere.kind, ErrorKind::NotFound);
        for bad in ["ABC", "a/b", "", "a..b", "arn:aws:iam::1:user/x"] {
            assert_eq!(
                parse_identifier(bad, "1", "us-east-1").unwrap_err().kind,
                ErrorKind::Validation,
                "{bad}"
            );
        }
    }

    #[test]
    fn model_enforcement_includes_then_excludes() {
        let m = parse_model_enforcement(Some(&json!({
            "includedModels": ["ALL"],
            "excludedModels": ["sekisho.echo-v1"],
        })))
        .unwrap()
        .unwrap();
        assert!(m.covers("anthropic.claude-3-haiku-20240307-v1:0"));
        assert!(!m.covers("sekisho.echo-v1"));
        let m = parse_model_enforcement(Some(&json!({
            "includedModels": ["sekisho.echo-v1"], "excludedModels": [],
        })))
        .unwrap()
        .unwrap();
        assert!(m.covers("sekisho.echo-v1"));
        assert!(!m.covers("other.model"));
        for bad in [
            json!({ "includedModels": [], "excludedModels": [] }),
            json!({ "includedModels": ["ALL"] }),
            json!({ "includedModels": ["ALL"], "excludedModels": ["ALL"] }),
            json!({ "includedModels": ["NoDot"], "excludedModels": [] }),
        ] {
            let e = parse_model_enforcement(Some(&bad)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Validation, "{bad}");
            assert!(e.message.contains("modelEnforcement"), "{}", e.message);
        }
        let none = EnforcedConfig {
            config_id: "c".into(),
            region: "us-east-1".into(),
            guardrail_id: "g".into(),
            guardrail_version: "1".into(),
            selective_content_guarding: None,
            model_enforcement: None,
            created_at: String::new(),
            created_by: String::new(),
            updated_at: String::new(),
            updated_by: String::new(),
        };
        assert!(none.covers("anything.at-all"));
        assert!(none.comprehensive("system") && none.comprehensive("messages"));
        let selective = EnforcedConfig {
            selective_content_guarding: Some(BTreeMap::from([(
                "messages".to_string(),
                "SELECTIVE".to_string(),
            )])),
            ..none
        };
        assert!(selective.comprehensive("system") && !selective.comprehensive("messages"));
    }

    #[test]
    fn selective_guarding_and_config_ids_are_checked() {
        let s = parse_selective(Some(&json!({ "system": "SELECTIVE" })))
            .unwrap()
            .unwrap();
        assert_eq!(s["system"], "SELECTIVE");
        let e = parse_selective(Some(&json!({ "messages": "SOME" }))).unwrap_err();
        assert!(e.message.contains("selectiveContentGuarding.messages"));
        assert!(is_config_id("abc123"));
        assert!(!is_config_id("ABC") && !is_config_id("") && !is_config_id("a-b"));
        assert!(bad_config_id().message.contains("'configId'"));
    }

    #[test]
    fn versions_are_draft_or_numbers() {
        assert!(check_version("DRAFT", false).is_ok());
        assert!(check_version("1", true).is_ok());
        assert!(check_version("99999999", true).is_ok());
        assert!(check_version("DRAFT", true).is_err());
        assert!(check_version("0", false).is_err());
        assert!(check_version("01", false).is_err());
        assert!(check_version("123456789", false).is_err());
    }

    #[test]
    fn new_ids_are_twelve_lowercase_alphanumerics() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 12);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }

    #[test]
    fn config_errors_name_the_field() {
        let body = br#"{"name":"g","blockedInputMessaging":"no","blockedOutputsMessaging":"no",
            "sensitiveInformationPolicyConfig":{"regexesConfig":[{"name":"r","pattern":"(","action":"BLOCK"}]}}"#;
        let e = parse_config(body).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert!(
            e.message
                .contains("sensitiveInformationPolicyConfig.regexesConfig[0].pattern"),
            "{}",
            e.message
        );
        let body = br#"{"name":"g","blockedInputMessaging":"no","blockedOutputsMessaging":"no",
            "sensitiveInformationPolicyConfig":{"piiEntitiesConfig":[{"type":"NOPE","action":"BLOCK"}]}}"#;
        let e = parse_config(body).err().unwrap();
        assert!(
            e.message
                .contains("sensitiveInformationPolicyConfig.piiEntitiesConfig[0].type"),
            "{}",
            e.message
        );
    }

    #[test]
    fn get_shape_renames_the_config_members() {
        let config: GuardrailConfig = serde_json::from_str(
            r#"{"name":"g","blockedInputMessaging":"i","blockedOutputsMessaging":"o",
            "wordPolicyConfig":{"wordsConfig":[{"text":"secret"}]},
            "sensitiveInformationPolicyConfig":{"piiEntitiesConfig":[{"type":"EMAIL","action":"ANONYMIZE"}]}}"#,
        )
        .unwrap();
        let out = policies_json(&config);
        assert_eq!(out["wordPolicy"]["words"][0]["text"], "secret");
        assert_eq!(
            out["sensitiveInformationPolicy"]["piiEntities"][0]["type"],
            "EMAIL"
        );
        assert!(out.get("wordPolicyConfig").is_none());
    }
}
