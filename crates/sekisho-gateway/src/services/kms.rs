//! KMS: customer managed keys over the awsJson 1.1 `TrentService` API, and
//! the envelope encryption every Sekisho store uses.
//!
//! The key ring (`sekisho-keys`) is the state; this module decodes requests,
//! keeps each key's policy parsed for the policy engine, persists every
//! change before answering, and seals data at rest for the other services
//! (under a customer key when one is named, else under the master key).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use sekisho_keys::ring::{CreateKeyRequest, KeyRing, Tag};
use sekisho_keys::{KeyError, MasterKey};
use sekisho_policy::Policy;
use sekisho_policy::lint::{PolicyType, Severity};
use sekisho_store::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::registry::{Operation, Resolver};
use crate::services::args::Args;
use crate::services::{Call, Reply};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Sealed-at-rest formats (first byte).
const SEALED_BY_MASTER: u8 = 1;
const SEALED_BY_KMS_KEY: u8 = 2;

/// The key service of the account.
pub struct Kms {
    account: String,
    master: Arc<MasterKey>,
    ring: RwLock<KeyRing>,
    /// Each key's policy, parsed, by key ARN.
    policies: RwLock<HashMap<String, Arc<Policy>>>,
    store: Arc<dyn Store>,
}

fn key_error(e: KeyError) -> ApiError {
    let kind = match &e {
        KeyError::NotFound(_) => ErrorKind::NotFound,
        KeyError::AlreadyExists(_) => ErrorKind::EntityAlreadyExists,
        KeyError::LimitExceeded(_) => ErrorKind::LimitExceeded,
        KeyError::Disabled(_) | KeyError::InvalidState(_) => ErrorKind::Conflict,
        KeyError::Internal(_) | KeyError::MasterKey(_) => ErrorKind::Internal,
        _ => ErrorKind::Validation,
    };
    let code = e.code();
    ApiError::new(kind, e.to_string()).with_code(code)
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("the key store cannot be used: {e}"),
    )
    .with_code("KMSInternalException")
}

fn parse_policy(arn: &str, text: &str) -> Option<Arc<Policy>> {
    Policy::parse(text.as_bytes())
        .ok()
        .map(|p| Arc::new(p.named(format!("key policy of {arn}"))))
}

/// A key policy must pass the linter without errors (the same gate as IAM
/// documents), as KMS refuses malformed policies.
fn lint_key_policy(text: &str) -> Result<(), ApiError> {
    let findings = sekisho_policy::lint::validate(text.as_bytes(), PolicyType::Resource);
    match findings.iter().find(|f| f.severity == Severity::Error) {
        None => Ok(()),
        Some(f) => Err(ApiError::new(
            ErrorKind::MalformedPolicyDocument,
            format!(
                "{}{}(line {}, column {}): {}",
                f.path,
                if f.path.is_empty() { "" } else { " " },
                f.line,
                f.column,
                f.message
            ),
        )
        .with_code("MalformedPolicyDocumentException")),
    }
}

impl Kms {
    /// Loads the ring from the store; its key materials are unwrapped with
    /// the master key.
    pub fn load(
        account: &str,
        master: Arc<MasterKey>,
        store: Arc<dyn Store>,
    ) -> Result<Kms, String> {
        let records = store
            .list(sekisho_keys::ring::COLLECTION, "")
            .map_err(|e| format!("the key store cannot be read: {e}"))?;
        let mut values = Vec::with_capacity(records.len());
        for (key, bytes) in records {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("a stored key record ({key}) is damaged: {e}"))?;
            values.push((key, v));
        }
        let ring = KeyRing::load(account, &master, values.into_iter())
            .map_err(|e| format!("the customer keys cannot be loaded: {e}"))?;
        let kms = Kms {
            account: account.to_string(),
            master,
            ring: RwLock::new(ring),
            policies: RwLock::new(HashMap::new()),
            store,
        };
        kms.refresh_policies();
        Ok(kms)
    }

    /// A key service with no stored state (tests and tools).
    pub fn ephemeral(account: &str, store: Arc<dyn Store>) -> Kms {
        Kms {
            account: account.to_string(),
            master: Arc::new(MasterKey::from_bytes([9u8; 32])),
            ring: RwLock::new(KeyRing::new(account)),
            policies: RwLock::new(HashMap::new()),
            store,
        }
    }

    fn refresh_policies(&self) {
        let Ok(ring) = self.ring.read() else { return };
        let parsed: HashMap<String, Arc<Policy>> = ring
            .keys()
            .filter_map(|k| parse_policy(k.arn(), k.policy()).map(|p| (k.arn().to_string(), p)))
            .collect();
        if let Ok(mut policies) = self.policies.write() {
            *policies = parsed;
        }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The key policy that governs a call on `resource` (a key ARN).
    pub fn key_policy(&self, resource: &str) -> Option<Arc<Policy>> {
        self.policies.read().ok()?.get(resource).cloned()
    }

    /// Runs a change on the ring and persists what it touched; a store
    /// failure reloads the ring from the store so memory never runs ahead
    /// of what is durable.
    fn change<T>(
        &self,
        f: impl FnOnce(&mut KeyRing) -> Result<T, KeyError>,
    ) -> Result<T, ApiError> {
        let mut ring = self
            .ring
            .write()
            .map_err(|_| unavailable("lock poisoned"))?;
        let out = f(&mut ring).map_err(key_error);
        let changes = ring.take_changes(&self.master).map_err(key_error)?;
        if !changes.is_empty() {
            let writes: Vec<sekisho_store::Write> = changes
                .into_iter()
                .map(|c| {
                    sekisho_store::Write::set(
                        sekisho_keys::ring::COLLECTION,
                        c.key,
                        c.value.map(|v| serde_json::to_vec(&v).unwrap_or_default()),
                    )
                })
                .collect();
            if let Err(e) = self.store.write(&writes) {
                drop(ring);
                if let Ok(fresh) = Kms::load(&self.account, self.master.clone(), self.store.clone())
                    && let (Ok(mut ring), Ok(fresh_ring)) =
                        (self.ring.write(), fresh.ring.into_inner())
                {
                    *ring = fresh_ring;
                }
                self.refresh_policies();
                return Err(unavailable(e));
            }
        }
        drop(ring);
        self.refresh_policies();
        out
    }

    fn read<T>(&self, f: impl FnOnce(&KeyRing) -> Result<T, KeyError>) -> Result<T, ApiError> {
        let ring = self.ring.read().map_err(|_| unavailable("lock poisoned"))?;
        f(&ring).map_err(key_error)
    }

    /// Whether a key exists and can encrypt now (CloudWatch Logs checks
    /// this when a group names a key).
    pub fn check_usable(&self, region: &str, key_ref: &str) -> Result<(), ApiError> {
        self.read(|r| {
            let meta = r.describe_key(region, key_ref)?;
            if meta.enabled {
                Ok(())
            } else {
                Err(KeyError::Disabled(format!("{} is not enabled", meta.arn)))
            }
        })
    }

    /// Seals data at rest: under the customer key `key_ref` when given
    /// (an envelope whose data key that key encrypts), else under the
    /// master key. `context` is bound as authenticated data.
    pub fn seal_at_rest(
        &self,
        region: &str,
        key_ref: Option<&str>,
        context: &[(&str, &str)],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let ctx: BTreeMap<String, String> = context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match key_ref {
            Some(key) => {
                let sealed = self.read(|r| r.seal_with(region, key, plaintext, &ctx))?;
                let mut out = Vec::with_capacity(1 + sealed.len());
                out.push(SEALED_BY_KMS_KEY);
                out.extend_from_slice(&sealed);
                Ok(out)
            }
            None => {
                let sealed = sekisho_keys::envelope::seal_envelope_with_master(
                    &self.master,
                    plaintext,
                    &ctx,
                )
                .map_err(key_error)?;
                let mut out = Vec::with_capacity(1 + sealed.len());
                out.push(SEALED_BY_MASTER);
                out.extend_from_slice(&sealed);
                Ok(out)
            }
        }
    }

    /// Opens what [`Kms::seal_at_rest`] sealed.
    pub fn open_at_rest(
        &self,
        region: &str,
        sealed: &[u8],
        context: &[(&str, &str)],
    ) -> Result<Zeroizing<Vec<u8>>, ApiError> {
        let ctx: BTreeMap<String, String> = context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match sealed.split_first() {
            Some((&SEALED_BY_KMS_KEY, rest)) => self.read(|r| r.open_sealed(region, rest, &ctx)),
            Some((&SEALED_BY_MASTER, rest)) => {
                sekisho_keys::envelope::open_envelope_with_master(&self.master, rest, &ctx)
                    .map_err(key_error)
            }
            _ => Err(unavailable("a sealed record has an unknown format")),
        }
    }

    /// Periodic housekeeping: automatic rotations that are due, and keys
    /// whose deletion window has passed.
    pub fn housekeeping(&self, now: OffsetDateTime) -> Result<(usize, usize), ApiError> {
        self.change(|r| {
            let rotated = r.rotate_due(now)?.len();
            let purged = r.purge_expired(now).len();
            Ok((rotated, purged))
        })
    }

    /// Key summaries for the CLI: (ARN, state, description, aliases).
    pub fn summaries(&self) -> Vec<Value> {
        let Ok(ring) = self.ring.read() else {
            return Vec::new();
        };
        ring.keys()
            .map(|k| {
                let aliases: Vec<String> = ring
                    .list_aliases(k.region(), Some(k.id()))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.alias_name)
                    .collect();
                json!({
                    "KeyId": k.id(),
                    "Arn": k.arn(),
                    "Region": k.region(),
                    "KeyState": k.state().as_str(),
                    "Description": k.description(),
                    "Aliases": aliases,
                    "MaterialVersions": k.material_versions(),
                })
            })
            .collect()
    }
}

/// Operations for the offline command line (`sekisho keys`).
impl Kms {
    pub fn create_key_local(
        &self,
        region: &str,
        description: &str,
        alias: Option<&str>,
    ) -> Result<Value, ApiError> {
        let now = OffsetDateTime::now_utc();
        let req = CreateKeyRequest {
            description: Some(description.to_string()),
            ..CreateKeyRequest::default()
        };
        let meta = self.change(|r| {
            let meta = r.create_key(region, &req, now)?;
            if let Some(alias) = alias {
                r.create_alias(region, alias, &meta.key_id, now)?;
            }
            Ok(meta)
        })?;
        Ok(serde_json::to_value(meta).unwrap_or(Value::Null))
    }

    pub fn rotate_local(&self, region: &str, key_ref: &str) -> Result<String, ApiError> {
        let now = OffsetDateTime::now_utc();
        let id = self.key_arn_of(region, key_ref).ok_or_else(|| {
            key_error(KeyError::NotFound(format!(
                "Key '{key_ref}' does not exist"
            )))
        })?;
        self.change(|r| r.rotate_key_on_demand(region, &id, now))
    }

    pub fn key_arn_of(&self, region: &str, key_ref: &str) -> Option<String> {
        self.kms_key_arn(region, key_ref)
    }
}

impl Resolver for Kms {
    fn kms_key_arn(&self, region: &str, key_ref: &str) -> Option<String> {
        let ring = self.ring.read().ok()?;
        ring.resolve(region, key_ref)
            .ok()
            .map(|k| k.arn().to_string())
    }

    fn kms_ciphertext_key_arn(&self, region: &str, blob_base64: &str) -> Option<String> {
        let blob = B64.decode(blob_base64).ok()?;
        let id = sekisho_keys::ring::ciphertext_key_id(&blob)?;
        let ring = self.ring.read().ok()?;
        ring.resolve(region, &id).ok().map(|k| k.arn().to_string())
    }
}

/// `kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`,
/// `kms:CallerAccount` and the request's key spec / usage for CreateKey.
pub fn condition_keys(
    gateway: &Gateway,
    caller: &crate::auth::Caller,
    op: &Operation,
    input: &crate::registry::Input,
    context: &mut sekisho_policy::Context,
) {
    let _ = gateway;
    let a = Args::of(input);
    context.insert("kms:CallerAccount", caller.account.clone());
    let member = match op.name {
        "ReEncrypt" => "DestinationEncryptionContext",
        _ => "EncryptionContext",
    };
    if let Ok(ctx) = a.string_map(member)
        && !ctx.is_empty()
    {
        let keys: Vec<String> = ctx.keys().cloned().collect();
        for (k, v) in ctx {
            context.insert(&format!("kms:EncryptionContext:{k}"), v);
        }
        context.insert_multi("kms:EncryptionContextKeys", keys);
    }
    if op.name == "CreateKey" {
        if let Ok(Some(spec)) = a.str("KeySpec") {
            context.insert("kms:KeySpec", spec.to_string());
        }
        if let Ok(Some(usage)) = a.str("KeyUsage") {
            context.insert("kms:KeyUsage", usage.to_string());
        }
    }
    if let Ok(Some(spec)) = a.str("KeySpec")
        && op.name.starts_with("GenerateDataKey")
    {
        context.insert("kms:DataKeyPairSpec", spec.to_string());
    }
}

fn tags_of(a: &Args<'_>, member: &str) -> Result<Vec<Tag>, ApiError> {
    a.objects(member)?
        .into_iter()
        .map(|t| {
            Ok(Tag {
                tag_key: t.required("TagKey")?.to_string(),
                tag_value: t.str("TagValue")?.unwrap_or("").to_string(),
            })
        })
        .collect()
}

fn page<T: serde::Serialize>(
    items: Vec<T>,
    a: &Args<'_>,
    list_member: &str,
) -> Result<Value, ApiError> {
    let limit = a.int_in("Limit", 1, 1000)?.unwrap_or(100) as usize;
    let start = match a.str("Marker")? {
        None => 0,
        Some(m) => m.parse::<usize>().map_err(|_| {
            ApiError::validation("The Marker is not valid").with_code("InvalidMarkerException")
        })?,
    };
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
        .collect();
    let truncated = start + limit < total;
    let mut out = json!({ list_member: page, "Truncated": truncated });
    if truncated {
        out["NextMarker"] = json!((start + limit).to_string());
    }
    Ok(out)
}

/// PutKeyPolicy's lockout check: the new policy must still let the caller
/// change the policy, unless the caller bypasses the check.
fn lockout_check(
    gateway: &Gateway,
    call: &Call,
    key_arn: &str,
    policy: &Policy,
) -> Result<(), ApiError> {
    let iam = gateway.iam.load_full();
    let policies = crate::authz::caller_policies(&call.caller, &iam)?;
    crate::authz::authorize(
        &call.caller,
        "kms:PutKeyPolicy",
        key_arn,
        &call.context,
        &policies,
        Some(policy),
        &gateway.organization,
        None,
    )
    .map_err(|_| {
        ApiError::new(
            ErrorKind::MalformedPolicyDocument,
            "The new key policy will not allow you to update the key policy in the future.",
        )
        .with_code("MalformedPolicyDocumentException")
    })
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let a = Args::of(&call.input);
    let kms = &gateway.kms;
    let region = call.region.as_str();
    let now = OffsetDateTime::now_utc();
    let reply = match call.op.name {
        "CreateKey" => {
            let req: CreateKeyRequest = serde_json::from_value(Value::Object(a.0.clone()))
                .map_err(|e| {
                    ApiError::validation(format!("The CreateKey request is not valid: {e}"))
                })?;
            if let Some(p) = &req.policy {
                lint_key_policy(p)?;
                let parsed = Policy::parse(p.as_bytes()).map_err(|e| {
                    ApiError::new(ErrorKind::MalformedPolicyDocument, e.to_string())
                        .with_code("MalformedPolicyDocumentException")
                })?;
                if !req.bypass_policy_lockout_safety_check.unwrap_or(false) {
                    // The key does not exist yet: check against a stand-in
                    // ARN in the right account and region.
                    let arn = format!("arn:aws:kms:{region}:{}:key/new", gateway.account);
                    lockout_check(gateway, &call, &arn, &parsed)?;
                }
            }
            let meta = kms.change(|r| r.create_key(region, &req, now))?;
            json!({ "KeyMetadata": meta })
        }
        "DescribeKey" => {
            let key = a.required("KeyId")?;
            let meta = kms.read(|r| r.describe_key(region, key))?;
            json!({ "KeyMetadata": meta })
        }
        "ListKeys" => {
            let keys = kms.read(|r| Ok(r.list_keys(region)))?;
            page(keys, &a, "Keys")?
        }
        "CreateAlias" | "UpdateAlias" => {
            let alias = a.required("AliasName")?;
            let target = a.required("TargetKeyId")?;
            if call.op.name == "CreateAlias" {
                kms.change(|r| r.create_alias(region, alias, target, now))?;
            } else {
                kms.change(|r| r.update_alias(region, alias, target, now))?;
            }
            json!({})
        }
        "DeleteAlias" => {
            let alias = a.required("AliasName")?;
            kms.change(|r| r.delete_alias(region, alias))?;
            json!({})
        }
        "ListAliases" => {
            let key = a.str("KeyId")?;
            let aliases = kms.read(|r| r.list_aliases(region, key))?;
            page(aliases, &a, "Aliases")?
        }
        "Encrypt" => {
            let key = a.required("KeyId")?;
            let plaintext = Zeroizing::new(
                a.blob("Plaintext")?
                    .ok_or_else(|| crate::protocol::missing("Plaintext"))?,
            );
            check_algorithm(&a)?;
            let ctx = a.string_map("EncryptionContext")?;
            let out = kms.read(|r| r.encrypt(region, key, &plaintext, &ctx))?;
            json!({
                "CiphertextBlob": B64.encode(&out.ciphertext_blob),
                "KeyId": out.key_id,
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            })
        }
        "Decrypt" => {
            let blob = a
                .blob("CiphertextBlob")?
                .ok_or_else(|| crate::protocol::missing("CiphertextBlob"))?;
            check_algorithm(&a)?;
            let ctx = a.string_map("EncryptionContext")?;
            let key = a.str("KeyId")?;
            let out = kms.read(|r| r.decrypt(region, &blob, &ctx, key))?;
            json!({
                "KeyId": out.key_id,
                "Plaintext": B64.encode(&*out.plaintext),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "KeyMaterialId": out.key_material_id,
            })
        }
        "ReEncrypt" => {
            let blob = a
                .blob("CiphertextBlob")?
                .ok_or_else(|| crate::protocol::missing("CiphertextBlob"))?;
            let source_ctx = a.string_map("SourceEncryptionContext")?;
            let dest_ctx = a.string_map("DestinationEncryptionContext")?;
            let source_key = a.str("SourceKeyId")?;
            let dest_key = a.required("DestinationKeyId")?;
            // ReEncrypt needs kms:ReEncryptFrom on the source key as well
            // (the registry authorized kms:ReEncryptTo on the destination).
            let source_arn = match source_key {
                Some(k) => kms.kms_key_arn(region, k),
                None => kms.kms_ciphertext_key_arn(region, &B64.encode(&blob)),
            }
            .ok_or_else(|| {
                key_error(KeyError::InvalidCiphertext(
                    "The ciphertext refers to a key that does not exist in this region".into(),
                ))
            })?;
            authorize_also(gateway, &call, "kms:ReEncryptFrom", &source_arn)?;
            let out = kms.read(|r| {
                r.re_encrypt(region, &blob, &source_ctx, source_key, dest_key, &dest_ctx)
            })?;
            json!({
                "CiphertextBlob": B64.encode(&out.ciphertext_blob),
                "SourceKeyId": out.source_key_id,
                "KeyId": out.key_id,
                "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            })
        }
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            let key = a.required("KeyId")?;
            let size = sekisho_keys::ring::DataKeySize::from_request(
                a.str("KeySpec")?,
                a.int("NumberOfBytes")?,
            )
            .map_err(key_error)?;
            let ctx = a.string_map("EncryptionContext")?;
            if call.op.name == "GenerateDataKey" {
                let out = kms.read(|r| r.generate_data_key(region, key, size, &ctx))?;
                json!({
                    "CiphertextBlob": B64.encode(&out.ciphertext_blob),
                    "Plaintext": B64.encode(&*out.plaintext),
                    "KeyId": out.key_id,
                    "KeyMaterialId": out.key_material_id,
                })
            } else {
                let out =
                    kms.read(|r| r.generate_data_key_without_plaintext(region, key, size, &ctx))?;
                json!({
                    "CiphertextBlob": B64.encode(&out.ciphertext_blob),
                    "KeyId": out.key_id,
                    "KeyMaterialId": out.key_material_id,
                })
            }
        }
        "GetKeyPolicy" => {
            let key = a.required("KeyId")?;
            let name = a.str("PolicyName")?;
            let policy = kms.read(|r| r.get_key_policy(region, key, name).map(str::to_string))?;
            json!({ "Policy": policy, "PolicyName": "default" })
        }
        "PutKeyPolicy" => {
            let key = a.required("KeyId")?;
            let name = a.str("PolicyName")?;
            let text = a.required("Policy")?;
            lint_key_policy(text)?;
            let parsed = Policy::parse(text.as_bytes()).map_err(|e| {
                ApiError::new(ErrorKind::MalformedPolicyDocument, e.to_string())
                    .with_code("MalformedPolicyDocumentException")
            })?;
            if !a.bool("BypassPolicyLockoutSafetyCheck")?.unwrap_or(false) {
                lockout_check(gateway, &call, &call.resource, &parsed)?;
            }
            kms.change(|r| r.put_key_policy(region, key, name, text))?;
            json!({})
        }
        "EnableKeyRotation" => {
            let key = a.required("KeyId")?;
            let period = a.int("RotationPeriodInDays")?;
            kms.change(|r| r.enable_key_rotation(region, key, period, now))?;
            json!({})
        }
        "DisableKeyRotation" => {
            let key = a.required("KeyId")?;
            kms.change(|r| r.disable_key_rotation(region, key))?;
            json!({})
        }
        "GetKeyRotationStatus" => {
            let key = a.required("KeyId")?;
            let status = kms.read(|r| r.get_key_rotation_status(region, key))?;
            serde_json::to_value(status).unwrap_or(Value::Null)
        }
        "RotateKeyOnDemand" => {
            let key = a.required("KeyId")?;
            let id = kms.change(|r| r.rotate_key_on_demand(region, key, now))?;
            json!({ "KeyId": id })
        }
        "ListKeyRotations" => {
            let key = a.required("KeyId")?;
            let all = a.str("IncludeKeyMaterial")? == Some("ALL_KEY_MATERIAL");
            let rotations = kms.read(|r| r.list_key_rotations(region, key, all))?;
            page(rotations, &a, "Rotations")?
        }
        "EnableKey" => {
            let key = a.required("KeyId")?;
            kms.change(|r| r.enable_key(region, key))?;
            json!({})
        }
        "DisableKey" => {
            let key = a.required("KeyId")?;
            kms.change(|r| r.disable_key(region, key))?;
            json!({})
        }
        "ScheduleKeyDeletion" => {
            let key = a.required("KeyId")?;
            let window = a.int("PendingWindowInDays")?;
            let out = kms.change(|r| r.schedule_key_deletion(region, key, window, now))?;
            serde_json::to_value(out).unwrap_or(Value::Null)
        }
        "CancelKeyDeletion" => {
            let key = a.required("KeyId")?;
            let id = kms.change(|r| r.cancel_key_deletion(region, key))?;
            json!({ "KeyId": id })
        }
        "TagResource" => {
            let key = a.required("KeyId")?;
            let tags = tags_of(&a, "Tags")?;
            kms.change(|r| r.tag_resource(region, key, &tags))?;
            json!({})
        }
        "UntagResource" => {
            let key = a.required("KeyId")?;
            let keys = a.string_list("TagKeys")?;
            kms.change(|r| r.untag_resource(region, key, &keys))?;
            json!({})
        }
        "ListResourceTags" => {
            let key = a.required("KeyId")?;
            let tags = kms.read(|r| r.list_resource_tags(region, key))?;
            page(tags, &a, "Tags")?
        }
        _ => unreachable_op(call.op.name)?,
    };
    Ok(Reply::Json(reply))
}

/// Only the symmetric algorithm exists here.
fn check_algorithm(a: &Args<'_>) -> Result<(), ApiError> {
    match a.str("EncryptionAlgorithm")? {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(other) => Err(ApiError::validation(format!(
            "The encryption algorithm {other} is not valid for a symmetric key; use SYMMETRIC_DEFAULT"
        ))
        .with_code("InvalidKeyUsageException")),
    }
}

/// Authorizes a second action of the same call (ReEncrypt's source key).
/// Authorizes `action` on a key for the caller of `call` as well, key
/// policy included (ReEncrypt's source key, a guardrail's key).
pub(crate) fn authorize_also(
    gateway: &Gateway,
    call: &Call,
    action: &str,
    resource: &str,
) -> Result<(), ApiError> {
    let iam = gateway.iam.load_full();
    let policies = crate::authz::caller_policies(&call.caller, &iam)?;
    let key_policy = gateway.kms.key_policy(resource);
    let endpoint = gateway
        .endpoint_policies
        .get(call.conn.listener)
        .and_then(Option::as_ref);
    crate::authz::authorize(
        &call.caller,
        action,
        resource,
        &call.context,
        &policies,
        key_policy.as_deref(),
        &gateway.organization,
        endpoint,
    )
}

fn unreachable_op(name: &str) -> Result<Value, ApiError> {
    Err(ApiError::new(
        ErrorKind::UnknownOperation,
        format!("{name} is not a KMS operation here"),
    ))
}
