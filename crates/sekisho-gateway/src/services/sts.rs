//! STS: AssumeRole, GetSessionToken, GetCallerIdentity.
//!
//! Temporary credentials are stateless: the session token is the session's
//! claims (with its secret) sealed under the gateway's token key, so any
//! gateway holding the key can verify them and nothing needs storing.

use std::sync::Arc;

use sekisho_identity::iam::{IamState, MfaDevice};
use sekisho_identity::keys::{AccessKeyKind, generate_access_key};
use sekisho_identity::token::{SessionClaims, SessionKind};
use sekisho_identity::totp;
use sekisho_policy::{Context, Policy};
use time::{Duration, OffsetDateTime};

use crate::auth::Caller;
use crate::authz;
use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::protocol::query::QueryParams;
use crate::protocol::xml::iso8601;
use crate::registry::{Input, Operation};
use crate::services::{Call, Reply};

fn params(input: &Input) -> Result<&QueryParams, ApiError> {
    match input {
        Input::Query(q) => Ok(q),
        _ => Err(ApiError::internal("STS expects Query input")),
    }
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    match call.op.name {
        "GetCallerIdentity" => {
            let (user_id, account, arn) = (
                call.caller.user_id.clone(),
                call.caller.account.clone(),
                call.caller.arn.clone(),
            );
            Ok(Reply::Xml(Box::new(move |w| {
                w.element("UserId", &user_id)
                    .element("Account", &account)
                    .element("Arn", &arn);
            })))
        }
        "GetSessionToken" => get_session_token(gateway, &call),
        "AssumeRole" => assume_role(gateway, &call),
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not an STS operation here"),
        )),
    }
}

/// Keys AssumeRole's trust policy may test.
pub fn condition_keys(
    gateway: &Gateway,
    iam: &IamState,
    caller: &Caller,
    op: &Operation,
    input: &Input,
    context: &mut Context,
) {
    if op.name != "AssumeRole" {
        return;
    }
    let Ok(q) = params(input) else { return };
    // A valid MFA code in the request counts as MFA for the trust policy;
    // an invalid one is refused by the handler.
    if q.get("TokenCode").is_some() {
        let now = OffsetDateTime::now_utc();
        if let Ok(Some(_)) = check_mfa(gateway, iam, caller, q, now, false) {
            context.insert("aws:MultiFactorAuthPresent", "true");
            context.insert("aws:MultiFactorAuthAge", "0");
        }
    }
    if let Some(v) = q.get("ExternalId") {
        context.insert("sts:ExternalId", v);
    }
    if let Some(v) = q.get("RoleSessionName") {
        context.insert("sts:RoleSessionName", v);
    }
    if let Some(v) = q.get("SourceIdentity") {
        context.insert("sts:SourceIdentity", v);
    }
    if let Ok(tags) = q.tags("Tags")
        && !tags.is_empty()
    {
        for (k, v) in &tags {
            context.insert(&format!("aws:RequestTag/{k}"), *v);
        }
        context.insert_multi(
            "aws:TagKeys",
            tags.iter().map(|(k, _)| k.to_string()).collect(),
        );
    }
    if let Ok(keys) = q.list("TransitiveTagKeys")
        && !keys.is_empty()
    {
        context.insert_multi(
            "sts:TransitiveTagKeys",
            keys.iter().map(|k| k.to_string()).collect(),
        );
    }
}

/// The trust policy of the role being assumed.
pub fn resource_policy(op: &Operation, resource: &str, iam: &IamState) -> Option<Arc<Policy>> {
    if op.name != "AssumeRole" {
        return None;
    }
    iam.find_role_by_arn(resource)
        .map(|role| Arc::clone(role.assume_role_policy.policy()))
}

/// Checks an MFA code against the caller's device; returns when MFA was
/// authenticated. With `consume`, the code's time step is recorded so the
/// same code cannot be used again.
fn check_mfa(
    gateway: &Gateway,
    iam: &IamState,
    caller: &Caller,
    q: &QueryParams,
    now: OffsetDateTime,
    consume: bool,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let serial = q.get("SerialNumber");
    let code = q.get("TokenCode");
    match (serial, code) {
        (None, None) => Ok(caller.session.as_ref().and_then(|s| s.mfa_authenticated_at)),
        (Some(_), None) | (None, Some(_)) => Err(ApiError::validation(
            "SerialNumber and TokenCode must be given together",
        )),
        (Some(serial), Some(code)) => {
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::validation(
                    "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must have length 6 and be numeric",
                ));
            }
            let failed = || {
                ApiError::access_denied(
                    "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                )
            };
            let device: &MfaDevice = iam.find_mfa_device(serial).ok_or_else(failed)?;
            if device.user.as_deref() != caller.user_name.as_deref() || device.user.is_none() {
                return Err(failed());
            }
            let seed_text = gateway.secrets.open(&device.seed).map_err(|_| {
                ApiError::new(
                    ErrorKind::ServiceUnavailable,
                    "The MFA store cannot be read",
                )
            })?;
            let seed = totp::base32_decode(seed_text.expose()).ok_or_else(failed)?;
            let step = totp::verify(&seed, code, now.unix_timestamp(), 1).ok_or_else(failed)?;
            // A code is good once: refuse a step at or before the last one
            // accepted for this device.
            let mut steps = gateway.mfa_steps.lock().unwrap_or_else(|p| p.into_inner());
            if steps.get(serial).is_some_and(|last| step <= *last) {
                return Err(failed());
            }
            if consume {
                steps.insert(serial.to_string(), step);
            }
            Ok(Some(now))
        }
    }
}

fn issue(
    gateway: &Gateway,
    mut claims: SessionClaims,
) -> Result<(SessionClaims, String), ApiError> {
    let unavailable = || {
        ApiError::new(
            ErrorKind::ServiceUnavailable,
            "Credentials cannot be issued right now",
        )
    };
    let (id, secret) = generate_access_key(AccessKeyKind::Temporary).map_err(|_| unavailable())?;
    claims.access_key_id = id;
    claims.secret_access_key = secret;
    let token = gateway.tokens.seal(&claims).map_err(|_| unavailable())?;
    Ok((claims, token))
}

fn write_credentials(w: &mut crate::protocol::xml::XmlWriter, claims: &SessionClaims, token: &str) {
    w.nested("Credentials", |w| {
        w.element("AccessKeyId", &claims.access_key_id)
            .element("SecretAccessKey", claims.secret_access_key.expose())
            .element("SessionToken", token)
            .element("Expiration", &iso8601(claims.expires_at));
    });
}

fn get_session_token(gateway: &Gateway, call: &Call) -> Result<Reply, ApiError> {
    let q = params(&call.input)?;
    let caller = &call.caller;
    if caller.session.is_some() || caller.user_name.is_none() {
        return Err(ApiError::access_denied(
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let duration = q.int_in("DurationSeconds", 900, 129_600)?.unwrap_or(43_200);
    let now = OffsetDateTime::now_utc();
    let iam = gateway.iam.load_full();
    let mfa = check_mfa(gateway, &iam, caller, q, now, true)?;
    let user = iam
        .get_user(caller.user_name.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::access_denied("The user no longer exists"))?;
    let claims = SessionClaims {
        access_key_id: String::new(),
        secret_access_key: sekisho_identity::keys::SecretString::new(String::new()),
        account: gateway.account.clone(),
        kind: SessionKind::SessionToken {
            user_arn: user.arn.clone(),
            user_id: user.id.clone(),
        },
        source_identity: None,
        issued_at: now,
        expires_at: now + Duration::seconds(duration),
        session_policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        mfa_authenticated_at: mfa,
    };
    let (claims, token) = issue(gateway, claims)?;
    Ok(Reply::Xml(Box::new(move |w| {
        write_credentials(w, &claims, &token)
    })))
}

fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

fn assume_role(gateway: &Gateway, call: &Call) -> Result<Reply, ApiError> {
    let q = params(&call.input)?;
    let caller = &call.caller;
    let now = OffsetDateTime::now_utc();
    let iam = gateway.iam.load_full();

    let session_name = q.required("RoleSessionName")?;
    if !valid_session_name(session_name) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    if let Some(external) = q.get("ExternalId")
        && !(2..=1224).contains(&external.len())
    {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224",
        ));
    }
    let source_identity = q.get("SourceIdentity").map(str::to_string);
    if let Some(si) = &source_identity {
        if !valid_session_name(si) || si.starts_with("aws:") {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*",
            ));
        }
        // Once set, a source identity cannot be changed by role chaining.
        if let Some(prev) = caller
            .session
            .as_ref()
            .and_then(|s| s.source_identity.as_deref())
            && prev != si
        {
            return Err(ApiError::access_denied(
                "The source identity of a session cannot be changed",
            ));
        }
    }
    let role = iam.find_role_by_arn(&call.resource).ok_or_else(|| {
        ApiError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            caller.arn, call.resource
        ))
    })?;

    // Role chaining is limited to one hour, as in AWS.
    let chained = caller.role_name.is_some();
    let max = if chained {
        3600
    } else {
        i64::from(role.max_session_duration)
    };
    let duration = match q.int("DurationSeconds")? {
        None => 3600.min(max),
        Some(d) if (900..=max).contains(&d) => d,
        Some(d) => {
            return Err(ApiError::validation(format!(
                "The requested DurationSeconds {d} exceeds the MaxSessionDuration set for this role ({max}{}) or is below 900",
                if chained {
                    ", role chaining limits sessions to 3600"
                } else {
                    ""
                }
            )));
        }
    };

    // Session policies.
    let session_policy = match q.get("Policy") {
        None => None,
        Some(text) => {
            let packed: usize = text.chars().filter(|c| !c.is_whitespace()).count();
            if packed > 2048 {
                return Err(ApiError::validation(
                    "Packed policy consumes more than 100 percent of the allotted size",
                )
                .with_code("PackedPolicyTooLarge"));
            }
            Policy::parse(text.as_bytes()).map_err(|e| {
                ApiError::new(
                    ErrorKind::MalformedPolicyDocument,
                    format!("The session policy is not valid: {e}"),
                )
                .with_code("MalformedPolicyDocument")
            })?;
            Some(text.to_string())
        }
    };
    let mut policy_arns = Vec::new();
    for item in q.struct_list("PolicyArns")? {
        let arn = item.required("arn")?;
        if iam.resolve_policy(arn).is_none() {
            return Err(ApiError::validation(format!(
                "The session policy {arn} does not exist"
            )));
        }
        policy_arns.push(arn.to_string());
    }
    if policy_arns.len() > 10 {
        return Err(ApiError::validation(
            "At most 10 managed session policies may be passed",
        ));
    }

    // Session tags: transitive tags of the calling session come first and
    // cannot be overridden.
    let requested: Vec<(String, String)> = q
        .tags("Tags")?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if requested.len() > 50 {
        return Err(ApiError::validation(
            "At most 50 session tags may be passed",
        ));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut transitive: Vec<String> = Vec::new();
    if let Some(parent) = &caller.session {
        for key in &parent.transitive_tag_keys {
            if let Some((k, v)) = parent
                .tags
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                if requested.iter().any(|(rk, _)| rk.eq_ignore_ascii_case(k)) {
                    return Err(ApiError::validation(format!(
                        "The transitive session tag {k} cannot be overridden"
                    )));
                }
                tags.push((k.clone(), v.clone()));
                transitive.push(k.clone());
            }
        }
    }
    tags.extend(requested.iter().cloned());
    for key in q.list("TransitiveTagKeys")? {
        if !requested.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(ApiError::validation(format!(
                "The transitive tag key {key} is not among the session tags"
            )));
        }
        transitive.push(key.to_string());
    }

    // Tagging a session and setting a source identity need their own
    // permissions, in the identity policy and in the trust policy.
    let policies = authz::caller_policies(caller, &iam)?;
    let trust = Arc::clone(role.assume_role_policy.policy());
    let endpoint = gateway
        .endpoint_policies
        .get(call.conn.listener)
        .and_then(Option::as_ref);
    if !requested.is_empty() {
        authz::authorize(
            caller,
            "sts:TagSession",
            &role.arn,
            &call.context,
            &policies,
            Some(&trust),
            &gateway.organization,
            endpoint,
        )?;
    }
    if source_identity.is_some() {
        authz::authorize(
            caller,
            "sts:SetSourceIdentity",
            &role.arn,
            &call.context,
            &policies,
            Some(&trust),
            &gateway.organization,
            endpoint,
        )?;
    }

    let mfa = check_mfa(gateway, &iam, caller, q, now, true)?;
    let claims = SessionClaims {
        access_key_id: String::new(),
        secret_access_key: sekisho_identity::keys::SecretString::new(String::new()),
        account: gateway.account.clone(),
        kind: SessionKind::AssumedRole {
            role_arn: role.arn.clone(),
            role_id: role.id.clone(),
            session_name: session_name.to_string(),
        },
        source_identity: source_identity.or_else(|| {
            caller
                .session
                .as_ref()
                .and_then(|s| s.source_identity.clone())
        }),
        issued_at: now,
        expires_at: now + Duration::seconds(duration),
        session_policy,
        policy_arns,
        tags,
        transitive_tag_keys: transitive,
        mfa_authenticated_at: mfa,
    };
    let packed = claims.session_policy.as_ref().map(|p| {
        let n = p.chars().filter(|c| !c.is_whitespace()).count();
        (n * 100 / 2048) as i64
    });
    let (claims, token) = issue(gateway, claims)?;
    let assumed_id = format!("{}:{session_name}", role.id);
    let assumed_arn = format!(
        "arn:aws:sts::{}:assumed-role/{}/{session_name}",
        gateway.account, role.name
    );
    Ok(Reply::Xml(Box::new(move |w| {
        write_credentials(w, &claims, &token);
        w.nested("AssumedRoleUser", |w| {
            w.element("AssumedRoleId", &assumed_id)
                .element("Arn", &assumed_arn);
        });
        if let Some(p) = packed {
            w.int_element("PackedPolicySize", p);
        }
        if let Some(si) = &claims.source_identity {
            w.element("SourceIdentity", si);
        }
    })))
}
