//! The gateway: its state, and the path of one request.
//!
//! ```text
//! listener (TLS, CIDR allow rules, endpoint id)       server.rs
//!   -> read the body within the size limit
//!   -> SigV4 claim: signing service and region          auth.rs
//!   -> protocol decode, operation lookup                registry.rs, protocol/
//!   -> authenticate -> caller                           auth.rs
//!   -> rate and concurrency limits per principal        limits.rs
//!   -> authorize (SCPs, RCPs, identity, boundary,       authz.rs
//!      session, resource, endpoint policies)
//!   -> handler                                          services/
//!   -> response in the protocol's shape
//! ```
//!
//! Every failure along the way is answered in the protocol of the service
//! the client was talking to, with the code its SDK expects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use sekisho_identity::iam::IamState;
use sekisho_identity::sigv4::{self, HttpParts};
use sekisho_identity::token::TokenKeyRing;
use sekisho_policy::Policy;
use sekisho_store::Store;
use time::OffsetDateTime;

use crate::audit::{self, AuditFacts};
use crate::auth::{self, AuthStats};
use crate::authz::{self, Organization, RequestFacts};
use crate::backend::Backend;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};
use crate::limits::{Limiter, Refusal};
use crate::protocol::json::{JsonLimits, JsonVersion};
use crate::protocol::query::{QueryLimits, QueryParams};
use crate::protocol::{self, Protocol};
use crate::registry::{IamPaths, Input, Operation, Registry, Scope};
use crate::secrets::SecretBox;
use crate::server::{Body, ConnInfo, Service, full};
use crate::services::{self, Call, Reply};

/// Everything a running gateway holds.
pub struct Gateway {
    pub config: Config,
    pub account: String,
    /// The account's IAM state; replaced whole after each durable change.
    pub iam: ArcSwap<IamState>,
    /// Serializes IAM writes (reads never wait).
    pub iam_write: tokio::sync::Mutex<()>,
    pub store: Arc<dyn Store>,
    pub tokens: TokenKeyRing,
    pub secrets: SecretBox,
    pub organization: Organization,
    /// The endpoint policy of each listener, by listener index.
    pub endpoint_policies: Vec<Option<Policy>>,
    pub backends: HashMap<String, Arc<dyn Backend>>,
    pub limiter: Arc<Limiter>,
    pub auth_stats: AuthStats,
    /// The last TOTP time step accepted per MFA device, so a code is used
    /// once.
    pub mfa_steps: std::sync::Mutex<HashMap<String, i64>>,
    /// Customer managed keys and sealing at rest.
    pub kms: Arc<crate::services::kms::Kms>,
    /// CloudWatch Logs groups (invocation logs).
    pub logs: crate::services::logs::Logs,
    /// Model invocation logging configurations.
    pub invocation_logging: crate::services::invocation_log::InvocationLogging,
    /// Bedrock guardrails (summaries in memory, configurations sealed in the store).
    pub guardrails: crate::services::guardrails::Guardrails,
    /// The event history and the trails: every request is recorded here.
    pub audit: crate::audit::AuditSink,
    /// CloudTrail trail configurations.
    pub trail_configs: crate::services::cloudtrail::TrailConfigs,
}

/// A request refused before its handler ran, with the protocol to answer
/// in.
struct Refused {
    protocol: Protocol,
    service: String,
    err: ApiError,
}

struct Paths<'a>(&'a IamState);

impl IamPaths for Paths<'_> {
    fn user_path(&self, name: &str) -> Option<String> {
        self.0.get_user(name).ok().map(|u| u.path.clone())
    }
    fn group_path(&self, name: &str) -> Option<String> {
        self.0.get_group(name).ok().map(|(g, _)| g.path.clone())
    }
    fn role_path(&self, name: &str) -> Option<String> {
        self.0.get_role(name).ok().map(|r| r.path.clone())
    }
}

/// The XML namespace of a Query service's responses.
pub fn xml_namespace(service: &str) -> &'static str {
    match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        _ => "https://sts.amazonaws.com/doc/2011-06-15/",
    }
}

/// Guesses a request's protocol when it is not signed (for the error).
fn protocol_hint(headers: &http::HeaderMap) -> (Protocol, &'static str) {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if headers.contains_key("x-amz-target") {
        (Protocol::AwsJson11, "")
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        (Protocol::Query, "sts")
    } else {
        (Protocol::RestJson, "")
    }
}

impl Gateway {
    /// A gateway with no listener, backend or audit sink, over `store`: for
    /// tests that call handlers directly. Keys are fixed test keys.
    pub fn detached(account: &str, iam: IamState, store: Arc<dyn Store>) -> Gateway {
        Gateway {
            config: Config::default(),
            account: account.to_string(),
            iam: ArcSwap::from_pointee(iam),
            iam_write: tokio::sync::Mutex::new(()),
            store: store.clone(),
            tokens: TokenKeyRing::new(sekisho_identity::token::TokenKey::from_bytes([1; 32]), []),
            secrets: SecretBox::new(&[2; 32]),
            organization: Organization::default(),
            endpoint_policies: vec![None],
            backends: HashMap::new(),
            limiter: Limiter::new(1000.0, 1000, 100),
            auth_stats: AuthStats::default(),
            mfa_steps: std::sync::Mutex::new(HashMap::new()),
            kms: Arc::new(crate::services::kms::Kms::ephemeral(account, store)),
            logs: Default::default(),
            invocation_logging: Default::default(),
            guardrails: Default::default(),
            audit: crate::audit::AuditSink::disabled(account),
            trail_configs: Default::default(),
        }
    }

    /// Resolves resources named indirectly (KMS aliases) for resource rules.
    pub fn resolver(&self) -> &dyn crate::registry::Resolver {
        self.kms.as_ref()
    }

    fn error_response(
        &self,
        protocol: Protocol,
        service: &str,
        err: &ApiError,
        request_id: &str,
    ) -> http::Response<Body> {
        let response =
            protocol::error_response_ns(protocol, xml_namespace(service), err, request_id);
        response.map(full)
    }

    /// The path of one request: answered, then recorded before the answer
    /// leaves. A record that cannot be written turns the answer into a
    /// refusal (fail closed).
    async fn handle(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        request: http::Request<Incoming>,
    ) -> http::Response<Body> {
        let listener = self.config.listeners.get(conn.listener);
        let headers = request.headers();
        let mut facts = AuditFacts {
            event_time: OffsetDateTime::now_utc(),
            request_id: protocol::new_request_id(),
            signing_name: None,
            region: None,
            op: None,
            caller: None,
            access_key_id: None,
            source_ip: client_ip(conn.peer.ip(), headers, &self.config.trusted_proxies),
            user_agent: headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            request_parameters: None,
            response_elements: None,
            resource: None,
            error: None,
            vpc_endpoint_id: listener.and_then(|l| l.endpoint_id.clone()),
            tls_version: conn.tls_version,
            cipher_suite: conn.cipher_suite.clone(),
            host: headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| conn.server_name.clone()),
            local_operator: false,
        };
        let peer = conn.peer;
        let response = match self.clone().answer(conn, request, &mut facts).await {
            Ok(response) => response,
            Err(Refused {
                protocol,
                service,
                err,
            }) => {
                // The message is safe to log by contract: no secret, token
                // or prompt is ever put in an ApiError.
                tracing::info!(
                    target: "sekisho::access",
                    request_id = %facts.request_id,
                    peer = %peer,
                    service = %service,
                    code = err.code(protocol.dialect()),
                    message = %err.message,
                    "request refused"
                );
                facts.fail(&err, protocol.dialect());
                self.error_response(protocol, &service, &err, &facts.request_id)
            }
        };
        match self.audit.record(&facts).await {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(
                    target: "sekisho::audit",
                    request_id = %facts.request_id,
                    error = %e,
                    "the audit record cannot be written; the answer is withheld"
                );
                let protocol = facts
                    .signing_name
                    .as_deref()
                    .and_then(Registry::protocol_of)
                    .unwrap_or(Protocol::RestJson);
                let service = facts.signing_name.clone().unwrap_or_default();
                let err = ApiError::new(
                    ErrorKind::ServiceUnavailable,
                    "The audit trail cannot record this request, so it is refused",
                );
                self.error_response(protocol, &service, &err, &facts.request_id)
            }
        }
    }

    /// Everything up to the answer; a refusal says in which protocol to
    /// answer it.
    async fn answer(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        request: http::Request<Incoming>,
        facts: &mut AuditFacts,
    ) -> Result<http::Response<Body>, Refused> {
        let request_id = facts.request_id.clone();
        let (parts, body) = request.into_parts();
        let (hint, hint_service) = protocol_hint(&parts.headers);
        let refuse_hint = |err: ApiError| Refused {
            protocol: hint,
            service: hint_service.to_string(),
            err,
        };

        // Headers as (lower-case name, value); a value that is not visible
        // ASCII cannot have been signed by an SDK.
        let mut headers: Vec<(String, String)> = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            match value.to_str() {
                Ok(v) => headers.push((name.as_str().to_string(), v.to_string())),
                Err(_) => {
                    return Err(refuse_hint(ApiError::validation(format!(
                        "The value of header {name} is not valid text"
                    ))));
                }
            }
        }
        // HTTP/2 carries the host in the :authority pseudo-header; SigV4
        // signs it as `host`.
        if !headers.iter().any(|(n, _)| n == "host")
            && let Some(authority) = parts.uri.authority()
        {
            headers.push(("host".to_string(), authority.as_str().to_string()));
        }
        let http_parts = HttpParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
        };
        let claim = sigv4::parse(&http_parts)
            .map_err(|e| refuse_hint(auth::auth_error(&e, &self.auth_stats)))?;
        facts.access_key_id = Some(claim.access_key_id.clone());
        facts.signing_name = Some(claim.service.clone());
        facts.region = Some(claim.region.clone());
        let service = claim.service.clone();
        let Some(protocol) = Registry::protocol_of(&service) else {
            return Err(refuse_hint(ApiError::new(
                ErrorKind::UnknownOperation,
                format!("The service '{service}' is not served by this gateway"),
            )));
        };
        let refuse = |err: ApiError| Refused {
            protocol,
            service: service.clone(),
            err,
        };
        if !self.config.regions.iter().any(|r| r == &claim.region) {
            let err = ApiError::new(
                ErrorKind::InvalidSignature,
                format!(
                    "Credential should be scoped to a valid region; '{}' is not served here",
                    claim.region
                ),
            )
            .with_code(if protocol == Protocol::Query {
                "SignatureDoesNotMatch"
            } else {
                "InvalidSignatureException"
            });
            return Err(refuse(err));
        }

        // The body, within the limit.
        let limit = self.config.limits.max_body_bytes;
        let body: Bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                let err = if e
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    ApiError::new(
                        ErrorKind::PayloadTooLarge,
                        format!("The request body is larger than {limit} bytes"),
                    )
                } else {
                    ApiError::validation("The request body could not be read")
                };
                return Err(refuse(err));
            }
        };

        let owned = http_parts_owned(&http_parts);
        let timeout = Duration::from_secs(self.config.limits.request_timeout_secs);
        let outcome = tokio::time::timeout(
            timeout,
            self.clone()
                .process(conn, parts, owned, claim, body, &request_id, facts),
        )
        .await;
        match outcome {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(refuse(err)),
            Err(_) => Err(refuse(ApiError::new(
                ErrorKind::ModelTimeout,
                format!("The request did not complete within {timeout:?}"),
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn process(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        parts: http::request::Parts,
        owned: OwnedParts,
        claim: sigv4::SigV4Claim,
        body: Bytes,
        request_id: &str,
        facts: &mut AuditFacts,
    ) -> Result<http::Response<Body>, ApiError> {
        let registry = Registry::get();
        let service = claim.service.as_str();
        let protocol = Registry::protocol_of(service).unwrap_or(Protocol::RestJson);

        // Decode enough to know the operation.
        let (op, input): (&'static Operation, Input) = match protocol {
            Protocol::Query => {
                let content_type = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let params = QueryParams::from_request(
                    &parts.method,
                    parts.uri.query(),
                    content_type,
                    &body,
                    &QueryLimits::default(),
                )?;
                let op = registry
                    .query(service, params.action())
                    .ok_or_else(|| params.unknown_action_error())?;
                (op, Input::Query(params))
            }
            Protocol::RestJson => {
                let routes = registry.rest(service).ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::UnknownOperation,
                        "No operation is served at this path",
                    )
                })?;
                let m = routes.route(&parts.method, parts.uri.path(), parts.uri.query())?;
                let op: &'static Operation = m.value;
                (
                    op,
                    Input::Rest {
                        labels: m.labels,
                        query: m.query,
                    },
                )
            }
            Protocol::AwsJson10 | Protocol::AwsJson11 => {
                let version = if protocol == Protocol::AwsJson10 {
                    JsonVersion::V1_0
                } else {
                    JsonVersion::V1_1
                };
                let request = protocol::json::parse_request(
                    version,
                    &parts.headers,
                    &body,
                    &JsonLimits::default(),
                )?;
                let target = format!("{}.{}", request.target_prefix, request.operation);
                let op = registry.target(service, &target).ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::UnknownOperation,
                        format!(
                            "The operation '{}' is not served by this gateway",
                            request.operation
                        ),
                    )
                })?;
                (op, Input::Json(request.body))
            }
        };

        facts.op = Some(op);
        facts.request_parameters = Some(audit::request_parameters(&input));

        // Authenticate.
        let now = OffsetDateTime::now_utc();
        let iam = self.iam.load_full();
        let http_parts = owned.borrow();
        let authenticator = auth::Authenticator {
            iam: &iam,
            tokens: &self.tokens,
            secrets: &self.secrets,
            stats: &self.auth_stats,
        };
        let caller = auth::authenticate(&authenticator, &http_parts, &claim, &body, now)?;
        facts.caller = Some(caller.clone());

        // Limits per principal.
        let _permit = self.limiter.acquire(&caller.arn).map_err(|r| {
            ApiError::new(
                ErrorKind::Throttling,
                match r {
                    Refusal::Rate => "Rate exceeded",
                    Refusal::Concurrency => "Too many concurrent requests",
                },
            )
        })?;

        // Authorize.
        let scope = Scope {
            account: &self.account,
            region: &claim.region,
            input: &input,
            iam: &Paths(&iam),
            resolver: self.resolver(),
            caller_arn: &caller.arn,
        };
        let resource = (op.resource)(&scope)?;
        facts.resource = Some(resource.clone());
        let listener = self.config.listeners.get(conn.listener);
        let facts = RequestFacts {
            source_ip: client_ip(conn.peer.ip(), &parts.headers, &self.config.trusted_proxies),
            region: &claim.region,
            endpoint_id: listener.and_then(|l| l.endpoint_id.as_deref()),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
            now,
        };
        let mut context = authz::base_context(&caller, &facts, &iam);
        services::add_condition_keys(
            &self,
            &iam,
            &caller,
            op,
            &input,
            &parts.headers,
            &body,
            &claim.region,
            &mut context,
        );
        let policies = authz::caller_policies(&caller, &iam)?;
        let resource_policy = services::resource_policy(&self, op, &resource, &iam);
        let endpoint_policy = self
            .endpoint_policies
            .get(conn.listener)
            .and_then(Option::as_ref);
        authz::authorize(
            &caller,
            op.action,
            &resource,
            &context,
            &policies,
            resource_policy.as_deref(),
            &self.organization,
            endpoint_policy,
        )?;
        // A model call that names a guardrail must also be allowed to apply
        // it, as Bedrock requires.
        if let Some(guardrail) = services::bedrock_runtime::guardrail_resource(
            op,
            &parts.headers,
            &body,
            &self.account,
            &claim.region,
        ) {
            authz::authorize(
                &caller,
                "bedrock:ApplyGuardrail",
                &guardrail,
                &context,
                &policies,
                None,
                &self.organization,
                endpoint_policy,
            )?;
        }
        drop(iam);
        // A call is only carried out when it can be recorded.
        self.audit.ensure_healthy()?;

        let call = Call {
            op,
            input,
            headers: parts.headers,
            body,
            caller,
            region: claim.region.clone(),
            request_id: request_id.to_string(),
            conn,
            resource,
            context,
        };
        let reply = services::dispatch(&self, call).await?;
        Ok(self.render(protocol, op, reply, request_id))
    }

    fn render(
        &self,
        protocol: Protocol,
        op: &Operation,
        reply: Reply,
        request_id: &str,
    ) -> http::Response<Body> {
        match reply {
            Reply::Xml(write) => {
                let ns = xml_namespace(op.service);
                let body = protocol::xml::query_response_body(op.name, ns, request_id, write);
                response(200, "text/xml", request_id, &[], full(body))
            }
            Reply::Json(value) => {
                let bytes = serde_json::to_vec(&value).unwrap_or_default();
                response(200, protocol.content_type(), request_id, &[], full(bytes))
            }
            Reply::Raw {
                content_type,
                headers,
                body,
            } => {
                let extra: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                response(200, &content_type, request_id, &extra, full(body))
            }
            Reply::Stream { content_type, body } => {
                response(200, content_type, request_id, &[], body)
            }
        }
    }
}

fn response(
    status: u16,
    content_type: &str,
    request_id: &str,
    extra: &[(&str, &str)],
    body: Body,
) -> http::Response<Body> {
    let mut builder = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(protocol::REQUEST_ID_HEADER, request_id);
    for (k, v) in extra {
        builder = builder.header(*k, *v);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut r = http::Response::new(full(Bytes::new()));
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// The request line and headers, owned, so verification can run after the
/// body was read.
struct OwnedParts {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
}

impl OwnedParts {
    fn borrow(&self) -> HttpParts<'_> {
        HttpParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
        }
    }
}

fn http_parts_owned(p: &HttpParts<'_>) -> OwnedParts {
    OwnedParts {
        method: p.method.to_string(),
        path: p.path.to_string(),
        query: p.query.to_string(),
        headers: p.headers.to_vec(),
    }
}

impl Service for Gateway {
    fn call(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        request: http::Request<Incoming>,
    ) -> impl std::future::Future<Output = http::Response<Body>> + Send {
        let started = Instant::now();
        async move {
            let response = self.handle(conn, request).await;
            tracing::debug!(
                status = response.status().as_u16(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "request"
            );
            response
        }
    }
}

impl Gateway {
    /// Applies an IAM change durably: runs `change` on a copy of the state,
    /// writes what it touched to the store in one batch, and only then
    /// publishes the new state. Validation errors and store failures leave
    /// everything as it was.
    pub async fn update_iam<T>(
        &self,
        change: impl FnOnce(&mut IamState) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let _guard = self.iam_write.lock().await;
        let mut next: IamState = (*self.iam.load_full()).clone();
        let out = change(&mut next)?;
        persist_iam(self.store.as_ref(), &mut next)?;
        self.iam.store(Arc::new(next));
        Ok(out)
    }
}

/// Writes an IAM state's pending changes in one batch.
pub fn persist_iam(store: &dyn Store, state: &mut IamState) -> Result<(), ApiError> {
    let unavailable = |m: String| ApiError::new(ErrorKind::ServiceUnavailable, m);
    let changes = state
        .take_changes()
        .map_err(|e| unavailable(format!("the IAM change cannot be encoded: {e}")))?;
    if changes.is_empty() {
        return Ok(());
    }
    let writes: Vec<sekisho_store::Write> = changes
        .into_iter()
        .map(|c| sekisho_store::Write::set(c.collection, c.key, c.value))
        .collect();
    store
        .write(&writes)
        .map_err(|e| unavailable(format!("the IAM store cannot be written: {e}")))
}

/// The client's address for `aws:SourceIp`: the peer, or, when the peer is
/// a trusted proxy, the nearest address in `X-Forwarded-For` that is not a
/// trusted proxy itself. Entries added by the client are never believed
/// beyond the first untrusted hop.
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| {
        let ip = crate::config::canonical_ip(*ip);
        trusted.iter().any(|n| n.contains(&ip))
    };
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse() {
                Ok(ip) => hops.push(ip),
                // A malformed chain cannot be trusted: use the proxy itself.
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.1.1.1".parse().unwrap(),
        );
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "198.51.100.7");
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        h.insert("x-forwarded-for", "not-an-ip".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
        assert_eq!(client_ip(proxy, &http::HeaderMap::new(), &trusted), proxy);
    }
}
