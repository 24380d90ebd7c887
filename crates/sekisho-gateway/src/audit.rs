//! What the gateway knows about one request, turned into a CloudTrail
//! record.
//!
//! Facts are gathered along the request's path (the operation once it is
//! decoded, the caller once authenticated, the error wherever the request
//! stops) and written as one record before the response leaves. Request
//! parameters keep CloudTrail's discretion: model bodies (prompts), key
//! plaintexts and ciphertexts, passwords and secrets are never recorded.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sekisho_audit::cipher::RecordCipher;
use sekisho_audit::journal::{Journal, JournalConfig, SystemClock};
use sekisho_audit::selector::{EventFacts, EventSelector, any_matches};
use sekisho_audit::signer::Signer;
use zeroize::Zeroizing;

use sekisho_identity::token::SessionKind;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::Dialect;
use crate::registry::{EventCategory, Input, Operation};

/// Request members never recorded: secrets, key material and content.
const REDACTED_MEMBERS: &[&str] = &[
    "plaintext",
    "ciphertextblob",
    "secretaccesskey",
    "password",
    "oldpassword",
    "newpassword",
    "sessiontoken",
    "authenticationcode1",
    "authenticationcode2",
    "tokencode",
    "body",
    "messages",
    "system",
    "prompt",
    "content",
    "text",
];

/// The facts of one request.
#[derive(Debug)]
pub struct AuditFacts {
    pub event_time: OffsetDateTime,
    pub request_id: String,
    /// The SigV4 signing name, when the request got that far.
    pub signing_name: Option<String>,
    pub region: Option<String>,
    pub op: Option<&'static Operation>,
    pub caller: Option<Caller>,
    /// The access key id of the signature (also for failed
    /// authentications; an id is not a secret).
    pub access_key_id: Option<String>,
    pub source_ip: IpAddr,
    pub user_agent: Option<String>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    /// The resource the call was authorized on.
    pub resource: Option<String>,
    pub error: Option<(String, String)>,
    pub vpc_endpoint_id: Option<String>,
    pub tls_version: &'static str,
    pub cipher_suite: String,
    pub host: Option<String>,
    /// Made by `sekisho keys` on the data directory, not over the API.
    pub local_operator: bool,
}

impl AuditFacts {
    /// A change made by the local operator with a command-line tool (who
    /// holds the data directory and its master key: the account's root).
    pub fn local_operator(
        op: Option<&'static Operation>,
        region: &str,
        resource: Option<String>,
    ) -> AuditFacts {
        AuditFacts {
            event_time: OffsetDateTime::now_utc(),
            request_id: uuid::Uuid::new_v4().to_string(),
            signing_name: op.map(|o| o.signing_name.to_string()),
            region: Some(region.to_string()),
            op,
            caller: None,
            access_key_id: None,
            source_ip: IpAddr::from([127, 0, 0, 1]),
            user_agent: Some(format!("sekisho-cli/{}", env!("CARGO_PKG_VERSION"))),
            request_parameters: None,
            response_elements: None,
            resource,
            error: None,
            vpc_endpoint_id: None,
            tls_version: "none",
            cipher_suite: String::new(),
            host: None,
            local_operator: true,
        }
    }

    /// Records an error answer.
    pub fn fail(&mut self, err: &ApiError, dialect: Dialect) {
        self.error = Some((err.code(dialect).to_string(), err.message.clone()));
    }

    /// Whether a trail's event selectors see this event as read-only.
    pub fn read_only(&self) -> bool {
        self.op.is_some_and(|o| o.read_only)
    }

    pub fn category(&self) -> EventCategory {
        self.op.map_or(EventCategory::Management, |o| o.category)
    }

    pub fn event_source(&self) -> String {
        match (self.op, &self.signing_name) {
            (Some(op), _) => op.event_source(),
            (None, Some(s)) => format!("{s}.amazonaws.com"),
            (None, None) => "sekisho.amazonaws.com".to_string(),
        }
    }

    /// The CloudTrail resource type of the authorized resource.
    pub fn resource_type(&self) -> Option<&'static str> {
        self.resource.as_deref().and_then(resource_type)
    }

    /// The record, in CloudTrail's format.
    pub fn to_record(&self, account: &str) -> Value {
        let mut r = Map::new();
        r.insert("eventVersion".into(), json!("1.11"));
        r.insert("userIdentity".into(), self.user_identity(account));
        r.insert("eventTime".into(), json!(time_text(self.event_time)));
        r.insert("eventSource".into(), json!(self.event_source()));
        let name = self.op.map_or("Unknown", |o| o.name);
        r.insert("eventName".into(), json!(name));
        if let Some(region) = &self.region {
            r.insert("awsRegion".into(), json!(region));
        }
        r.insert(
            "sourceIPAddress".into(),
            json!(crate::config::canonical_ip(self.source_ip).to_string()),
        );
        if let Some(ua) = &self.user_agent {
            let ua: String = ua.chars().take(1024).collect();
            r.insert("userAgent".into(), json!(ua));
        }
        if let Some((code, message)) = &self.error {
            r.insert("errorCode".into(), json!(code));
            let message: String = message.chars().take(1024).collect();
            r.insert("errorMessage".into(), json!(message));
        }
        r.insert(
            "requestParameters".into(),
            self.request_parameters.clone().unwrap_or(Value::Null),
        );
        r.insert(
            "responseElements".into(),
            self.response_elements.clone().unwrap_or(Value::Null),
        );
        r.insert("requestID".into(), json!(self.request_id));
        r.insert("eventID".into(), json!(uuid::Uuid::new_v4().to_string()));
        r.insert("readOnly".into(), json!(self.read_only()));
        if let (Some(arn), Some(kind)) = (&self.resource, self.resource_type()) {
            let owner = sekisho_policy::arn::Arn::parse(arn)
                .map(|a| a.account.to_string())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| account.to_string());
            r.insert(
                "resources".into(),
                json!([{ "ARN": arn, "accountId": owner, "type": kind }]),
            );
        }
        r.insert("eventType".into(), json!("AwsApiCall"));
        let management = self.category() == EventCategory::Management;
        r.insert("managementEvent".into(), json!(management));
        r.insert("recipientAccountId".into(), json!(account));
        if let Some(vpce) = &self.vpc_endpoint_id {
            r.insert("vpcEndpointId".into(), json!(vpce));
        }
        r.insert(
            "eventCategory".into(),
            json!(if management { "Management" } else { "Data" }),
        );
        let mut tls = Map::new();
        tls.insert("tlsVersion".into(), json!(self.tls_version));
        tls.insert("cipherSuite".into(), json!(self.cipher_suite));
        if let Some(host) = &self.host {
            tls.insert("clientProvidedHostHeader".into(), json!(host));
        }
        r.insert("tlsDetails".into(), Value::Object(tls));
        Value::Object(r)
    }

    fn user_identity(&self, account: &str) -> Value {
        if self.local_operator {
            return json!({
                "type": "Root",
                "principalId": account,
                "arn": format!("arn:aws:iam::{account}:root"),
                "accountId": account,
                "invokedBy": "sekisho-cli",
            });
        }
        let Some(caller) = &self.caller else {
            // Authentication failed or was never tried: CloudTrail keeps
            // the key id that was presented.
            let mut u = Map::new();
            u.insert("type".into(), json!("Unknown"));
            if let Some(key) = &self.access_key_id {
                u.insert("accessKeyId".into(), json!(key));
            }
            u.insert("accountId".into(), json!(account));
            return Value::Object(u);
        };
        let mut u = Map::new();
        let kind = match caller.principal_type() {
            "Account" => "Root",
            "User" => "IAMUser",
            "AssumedRole" => "AssumedRole",
            "FederatedUser" => "FederatedUser",
            _ => "Unknown",
        };
        u.insert("type".into(), json!(kind));
        u.insert("principalId".into(), json!(caller.user_id));
        u.insert("arn".into(), json!(caller.arn));
        u.insert("accountId".into(), json!(caller.account));
        u.insert("accessKeyId".into(), json!(caller.access_key_id));
        if let Some(name) = &caller.user_name {
            u.insert("userName".into(), json!(name));
        }
        if let Some(session) = &caller.session {
            let mut ctx = Map::new();
            if let SessionKind::AssumedRole {
                role_arn, role_id, ..
            } = &session.kind
            {
                ctx.insert(
                    "sessionIssuer".into(),
                    json!({
                        "type": "Role",
                        "principalId": role_id,
                        "arn": role_arn,
                        "accountId": caller.account,
                        "userName": caller.role_name.clone().unwrap_or_default(),
                    }),
                );
            }
            ctx.insert(
                "attributes".into(),
                json!({
                    "creationDate": time_text(session.issued_at),
                    "mfaAuthenticated": if session.mfa_authenticated_at.is_some() { "true" } else { "false" },
                }),
            );
            if let Some(source) = &session.source_identity {
                ctx.insert("sourceIdentity".into(), json!(source));
            }
            u.insert("sessionContext".into(), Value::Object(ctx));
        }
        Value::Object(u)
    }
}

/// Where records go: the event history (always, every request) and the
/// trails whose selectors take the event.
pub struct AuditSink {
    account: String,
    /// `None` only for gateways built in unit tests without a data dir.
    history: Option<Journal>,
    history_dir: Option<PathBuf>,
    pub trails: Trails,
    /// The journal signing key (PKCS#8), for trails opened later.
    signing_key: Zeroizing<Vec<u8>>,
}

/// A trail's runtime: its selectors, whether it logs, and its journal.
pub struct TrailRuntime {
    pub arn: String,
    pub selectors: RwLock<Vec<EventSelector>>,
    pub logging: AtomicBool,
    pub journal: Journal,
    pub delivered: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

/// The running trails, by ARN.
#[derive(Default)]
pub struct Trails {
    pub running: RwLock<BTreeMap<String, Arc<TrailRuntime>>>,
}

impl AuditSink {
    /// The event history in `dir`, signed with `signing_key` (PKCS#8).
    pub fn open(
        dir: PathBuf,
        account: &str,
        region: &str,
        signing_key: Zeroizing<Vec<u8>>,
        timing: &crate::config::AuditConfig,
    ) -> Result<AuditSink, String> {
        let signer = Signer::from_pkcs8(&signing_key)
            .map_err(|e| format!("the audit signing key cannot be used: {e}"))?;
        let mut config = JournalConfig::new(dir.clone(), account, region);
        config.flush_interval = Duration::from_millis(timing.flush_interval_ms);
        config.rotate_every = Duration::from_secs(timing.rotate_every_secs);
        config.digest_every = Duration::from_secs(timing.digest_every_secs);
        let journal = Journal::open(config, signer, SystemClock)
            .map_err(|e| format!("the audit trail in {} cannot be opened: {e}", dir.display()))?;
        let recovery = journal.recovery();
        tracing::info!(
            target: "sekisho::audit",
            dir = %dir.display(),
            recovery = ?recovery,
            "audit trail open"
        );
        Ok(AuditSink {
            account: account.to_string(),
            history: Some(journal),
            history_dir: Some(dir),
            trails: Trails::default(),
            signing_key,
        })
    }

    /// A sink that records nothing: for handler tests that build a gateway
    /// by hand. Never used by `serve`.
    pub fn disabled(account: &str) -> AuditSink {
        AuditSink {
            account: account.to_string(),
            history: None,
            history_dir: None,
            trails: Trails::default(),
            signing_key: Zeroizing::new(Vec::new()),
        }
    }

    pub fn history_dir(&self) -> Option<&std::path::Path> {
        self.history_dir.as_deref()
    }

    /// A handler runs only when its record can be written.
    pub fn ensure_healthy(&self) -> Result<(), ApiError> {
        match &self.history {
            Some(j) if !j.health().healthy => Err(ApiError::new(
                crate::error::ErrorKind::ServiceUnavailable,
                "The audit trail cannot record requests now, so none is carried out",
            )),
            _ => Ok(()),
        }
    }

    /// Writes the record of a request to the history and to every logging
    /// trail whose selectors take it; resolves once the bytes are with the
    /// operating system.
    pub async fn record(&self, facts: &AuditFacts) -> Result<(), String> {
        let Some(history) = &self.history else {
            return Ok(());
        };
        let record = facts.to_record(&self.account);
        let bytes = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
        let trails: Vec<Arc<TrailRuntime>> = self
            .trails
            .running
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        if trails.is_empty() {
            return history.append(bytes).await.map_err(|e| e.to_string());
        }
        let category = match facts.category() {
            EventCategory::Management => sekisho_audit::record::EventCategory::Management,
            EventCategory::Data => sekisho_audit::record::EventCategory::Data,
        };
        let source = facts.event_source();
        let resource_pairs: Vec<(&str, &str)> = match (facts.resource_type(), &facts.resource) {
            (Some(t), Some(arn)) => vec![(t, arn.as_str())],
            _ => Vec::new(),
        };
        let event_facts = EventFacts {
            category,
            read_only: facts.read_only(),
            event_source: &source,
            resources: &resource_pairs,
        };
        let history_write = history.append(bytes.clone());
        let mut trail_writes = Vec::new();
        for t in &trails {
            if !t.logging.load(Ordering::Acquire) {
                continue;
            }
            let take = t
                .selectors
                .read()
                .map(|s| any_matches(&s, &event_facts))
                .unwrap_or(true);
            if take {
                trail_writes.push((t.clone(), t.journal.append(bytes.clone())));
            }
        }
        history_write.await.map_err(|e| e.to_string())?;
        for (t, write) in trail_writes {
            // A trail that cannot deliver is reported on the trail
            // (GetTrailStatus); the event history still has the record.
            match write.await {
                Ok(()) => {
                    t.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    if let Ok(mut last) = t.last_error.lock() {
                        *last = Some(e.to_string());
                    }
                }
            }
        }
        Ok(())
    }

    /// Opens the journal of a trail that delivers to `dir`.
    pub fn open_trail_journal(
        &self,
        dir: PathBuf,
        region: &str,
        cipher: Option<Arc<dyn RecordCipher>>,
    ) -> Result<Journal, String> {
        let signer = Signer::from_pkcs8(&self.signing_key)
            .map_err(|e| format!("the audit signing key cannot be used: {e}"))?;
        let mut config = JournalConfig::new(dir, &self.account, region);
        config.cipher = cipher;
        Journal::open(config, signer, SystemClock).map_err(|e| e.to_string())
    }

    /// Seals the open log files and writes final digests (clean shutdown).
    pub fn close(self) -> Result<(), String> {
        let trails = self
            .trails
            .running
            .into_inner()
            .map_err(|_| "lock poisoned".to_string())?;
        for (_, t) in trails {
            if let Ok(t) = Arc::try_unwrap(t) {
                t.journal.close().map_err(|e| e.to_string())?;
            }
        }
        if let Some(h) = self.history {
            h.close().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Seals the open log files of the history and every trail now, each
    /// followed by a digest (at shutdown, and so `audit verify` covers
    /// everything).
    pub fn seal_all(&self) -> Result<(), String> {
        if let Ok(trails) = self.trails.running.read() {
            for t in trails.values() {
                t.journal.seal_now().map_err(|e| e.to_string())?;
            }
        }
        if let Some(h) = &self.history {
            h.seal_now().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// ISO 8601 to the second, as CloudTrail writes times.
pub fn time_text(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The CloudTrail resource type of an ARN (`AWS::KMS::Key`, ...).
pub fn resource_type(arn: &str) -> Option<&'static str> {
    let a = sekisho_policy::arn::Arn::parse(arn)?;
    let kind = a.resource.split(['/', ':']).next().unwrap_or("");
    Some(match (a.service, kind) {
        ("bedrock", "foundation-model") | ("bedrock", "inference-profile") => "AWS::Bedrock::Model",
        ("bedrock", "guardrail") => "AWS::Bedrock::Guardrail",
        ("bedrock", "knowledge-base") => "AWS::Bedrock::KnowledgeBase",
        ("bedrock", "agent-alias") => "AWS::Bedrock::AgentAlias",
        ("bedrock", "agent") => "AWS::Bedrock::Agent",
        ("kms", "key") => "AWS::KMS::Key",
        ("kms", "alias") => "AWS::KMS::Alias",
        ("iam", "user") => "AWS::IAM::User",
        ("iam", "role") => "AWS::IAM::Role",
        ("iam", "group") => "AWS::IAM::Group",
        ("iam", "policy") => "AWS::IAM::Policy",
        ("iam", "mfa") => "AWS::IAM::MFADevice",
        ("cloudtrail", "trail") => "AWS::CloudTrail::Trail",
        ("logs", "log-group") => "AWS::Logs::LogGroup",
        ("sts", "assumed-role") => "AWS::STS::AssumedRole",
        _ => return None,
    })
}

/// The request parameters CloudTrail would record for a call: every
/// member but secrets, key material and content (prompts and bodies).
pub fn request_parameters(input: &Input) -> Value {
    let keep = |name: &str| {
        let lower = name.to_ascii_lowercase();
        !REDACTED_MEMBERS.contains(&lower.as_str())
    };
    match input {
        Input::Json(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if keep(k) {
                    out.insert(lower_first(k), redact_value(v));
                }
            }
            Value::Object(out)
        }
        Input::Query(params) => {
            let mut out = Map::new();
            for (k, v) in params.iter() {
                if k == "Action" || k == "Version" {
                    continue;
                }
                let leaf = k.rsplit('.').next().unwrap_or(k);
                if keep(k) && keep(leaf) {
                    out.insert(lower_first(k), json!(v));
                }
            }
            Value::Object(out)
        }
        Input::Rest { labels, query } => {
            let mut out = Map::new();
            for (k, v) in labels {
                out.insert(k.clone(), json!(v));
            }
            for (k, v) in query.pairs() {
                if keep(k) {
                    out.insert(k.clone(), json!(v));
                }
            }
            Value::Object(out)
        }
    }
}

/// Nested members are redacted by the same names.
fn redact_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !REDACTED_MEMBERS.contains(&k.to_ascii_lowercase().as_str()))
                .map(|(k, v)| (k.clone(), redact_value(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        other => other.clone(),
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_content_are_left_out() {
        let mut m = serde_json::Map::new();
        m.insert("KeyId".into(), json!("alias/app"));
        m.insert("Plaintext".into(), json!("c2VjcmV0"));
        m.insert("EncryptionContext".into(), json!({"purpose": "test"}));
        let v = request_parameters(&Input::Json(m));
        assert_eq!(v["keyId"], "alias/app");
        assert!(v.get("plaintext").is_none());
        assert_eq!(v["encryptionContext"]["purpose"], "test");
    }

    #[test]
    fn resource_types() {
        assert_eq!(
            resource_type("arn:aws:bedrock:us-east-1::foundation-model/x"),
            Some("AWS::Bedrock::Model")
        );
        assert_eq!(
            resource_type("arn:aws:kms:us-east-1:123456789012:key/abc"),
            Some("AWS::KMS::Key")
        );
        assert_eq!(resource_type("*"), None);
    }
}
