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
    let compiled = CompiledGuardrail::compile_with(&config, classifiers()).map_err(|e| {
        ApiError::validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: {}",
            e.field, e.message
        ))
    })?;
    Ok((config, compiled))
}

/// The classifiers embedded in the binary (`sekisho-classify`): prompt
/// attack and denied topics. Filters without one (HATE, INSULTS, SEXUAL,
/// VIOLENCE, MISCONDUCT, contextual grounding) are reported unavailable by
/// the engine, which then blocks what it cannot check.
fn classifiers() -> &'static sekisho_guard::Classifiers {
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
        Ok(Guardrails {
            meta: std::sync::RwLock::new(map),
            compiled: Default::default(),
            writes: Default::default(),
        })
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
            CompiledGuardrail::compile_with(&config, classifiers()).map_err(|e| {
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
                Some(k) => Some(gateway.kms.key_arn_of(&region, k).ok_or_else(|| {
                    ApiError::validation(format!("The KMS key {k} does not exist in {region}."))
                })?),
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
                let arn = gateway.kms.key_arn_of(&region, k).ok_or_else(|| {
                    ApiError::validation(format!("The KMS key {k} does not exist in {region}."))
                })?;
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
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not a guardrail operation here"),
        )),
    }
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
