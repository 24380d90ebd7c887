//! Authorization: the request context and the policy layers of a call, and
//! the decision of the policy engine.

use std::net::IpAddr;
use std::sync::Arc;

use sekisho_identity::iam::{IamState, PrincipalName};
use sekisho_policy::eval::{Decision, PolicySet, Request, evaluate_with};
use sekisho_policy::{Context, Policy};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorKind};

/// Organization policies, compiled once at start.
#[derive(Debug, Default)]
pub struct Organization {
    pub id: Option<String>,
    /// SCPs per level, root first.
    pub scps: Vec<Vec<Policy>>,
    /// RCPs per level, root first.
    pub rcps: Vec<Vec<Policy>>,
}

/// Facts about the connection and request that become condition keys.
pub struct RequestFacts<'a> {
    pub source_ip: IpAddr,
    pub region: &'a str,
    pub endpoint_id: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: OffsetDateTime,
}

/// The global condition keys of a call.
pub fn base_context(caller: &Caller, facts: &RequestFacts<'_>, iam: &IamState) -> Context {
    let mut ctx = Context::new();
    let now = facts.now;
    ctx.insert(
        "aws:CurrentTime",
        now.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    );
    ctx.insert("aws:EpochTime", now.unix_timestamp().to_string());
    ctx.insert("aws:SecureTransport", "true");
    ctx.insert(
        "aws:SourceIp",
        crate::config::canonical_ip(facts.source_ip).to_string(),
    );
    ctx.insert("aws:RequestedRegion", facts.region);
    ctx.insert("aws:PrincipalArn", caller.principal_arn());
    ctx.insert("aws:PrincipalAccount", caller.account.clone());
    ctx.insert("aws:PrincipalType", caller.principal_type());
    ctx.insert("aws:userid", caller.user_id.clone());
    ctx.insert("aws:ViaAWSService", "false");
    ctx.insert("aws:PrincipalIsAWSService", "false");
    if let Some(name) = &caller.user_name {
        ctx.insert("aws:username", name.clone());
    }
    if let Some(id) = facts.endpoint_id {
        ctx.insert("aws:SourceVpce", id);
    }
    if let Some(ua) = facts.user_agent {
        ctx.insert("aws:UserAgent", ua);
    }
    // Principal tags: the user's or role's, then the session's over them.
    let mut tags: Vec<(String, String)> = Vec::new();
    if let Some(name) = &caller.user_name {
        if let Ok(t) = iam.list_user_tags(name) {
            tags.extend(t.iter().map(|t| (t.key.clone(), t.value.clone())));
        }
    } else if let Some(role) = &caller.role_name
        && let Ok(t) = iam.list_role_tags(role)
    {
        tags.extend(t.iter().map(|t| (t.key.clone(), t.value.clone())));
    }
    let mut mfa_present = false;
    if let Some(session) = &caller.session {
        for (k, v) in &session.tags {
            tags.retain(|(key, _)| !key.eq_ignore_ascii_case(k));
            tags.push((k.clone(), v.clone()));
        }
        ctx.insert(
            "aws:TokenIssueTime",
            session
                .issued_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        );
        if let Some(si) = &session.source_identity {
            ctx.insert("aws:SourceIdentity", si.clone());
        }
        if let Some(at) = session.mfa_authenticated_at {
            mfa_present = true;
            ctx.insert(
                "aws:MultiFactorAuthAge",
                (now - at).whole_seconds().max(0).to_string(),
            );
        }
    }
    // AWS sets MultiFactorAuthPresent only for temporary credentials; for
    // long-term keys the key is absent (so `BoolIfExists` patterns work).
    if caller.session.is_some() {
        ctx.insert(
            "aws:MultiFactorAuthPresent",
            if mfa_present { "true" } else { "false" },
        );
    }
    for (k, v) in tags {
        ctx.insert(&format!("aws:PrincipalTag/{k}"), v);
    }
    ctx
}

/// The identity side of a caller: identity policies, boundary, session
/// policies.
pub struct CallerPolicies {
    pub identity: Vec<Arc<Policy>>,
    pub boundary: Option<Arc<Policy>>,
    pub session: Vec<Arc<Policy>>,
}

/// Collects a caller's policies from the IAM state and its session.
pub fn caller_policies(caller: &Caller, iam: &IamState) -> Result<CallerPolicies, ApiError> {
    let name = if let Some(role) = &caller.role_name {
        PrincipalName::Role(role)
    } else if let Some(user) = &caller.user_name {
        PrincipalName::User(user)
    } else {
        return Err(ApiError::access_denied("The caller has no IAM identity"));
    };
    let p = iam.principal_policies(name).map_err(|e| {
        ApiError::new(
            ErrorKind::ServiceUnavailable,
            format!("identity policies cannot be read: {}", e.message),
        )
    })?;
    let mut session = Vec::new();
    if let Some(claims) = &caller.session {
        if let Some(text) = &claims.session_policy {
            // Validated when the session was created; a token we sealed
            // cannot hold anything else, but fail closed if it does.
            let policy = Policy::parse(text.as_bytes()).map_err(|_| {
                ApiError::new(
                    ErrorKind::InvalidToken,
                    "The session policy of this token is invalid",
                )
            })?;
            session.push(Arc::new(policy.named("session policy")));
        }
        for arn in &claims.policy_arns {
            let policy = iam
                .resolve_policy(arn)
                .and_then(|p| p.default_version())
                .map(|v| Arc::clone(v.document.policy()))
                .ok_or_else(|| {
                    ApiError::access_denied(format!("The session policy {arn} no longer exists"))
                })?;
            session.push(policy);
        }
        // A session made with session policies is limited to them; one
        // made without is not limited (an empty list means "no layer").
    }
    Ok(CallerPolicies {
        identity: p.identity,
        boundary: p.boundary,
        session,
    })
}

/// Evaluates a call and turns a deny into `AccessDenied` with AWS's wording
/// and the reason.
#[allow(clippy::too_many_arguments)]
pub fn authorize<'p>(
    caller: &Caller,
    action: &str,
    resource: &str,
    context: &Context,
    policies: &'p CallerPolicies,
    resource_policy: Option<&'p Policy>,
    org: &'p Organization,
    endpoint_policy: Option<&'p Policy>,
) -> Result<(), ApiError> {
    let set = PolicySet {
        scps: org.scps.iter().map(|l| l.iter().collect()).collect(),
        rcps: org.rcps.iter().map(|l| l.iter().collect()).collect(),
        identity: policies.identity.iter().map(Arc::as_ref).collect(),
        boundaries: policies.boundary.iter().map(Arc::as_ref).collect(),
        session: policies.session.iter().map(Arc::as_ref).collect(),
        resource: resource_policy,
        endpoint: endpoint_policy.into_iter().collect(),
    };
    let request = Request {
        principal: &caller.principal,
        action,
        resource,
        resource_account: None,
        context,
    };
    let decision: Decision<'_> = evaluate_with(&request, &set, true);
    if decision.outcome.is_allowed() {
        return Ok(());
    }
    let how = match decision.outcome {
        sekisho_policy::Outcome::ExplicitlyDenied => "with an explicit deny",
        _ => "because no policy allows it",
    };
    let layers: Vec<&str> = decision.blocked_by.iter().map(|l| l.describe()).collect();
    let in_layers = if layers.is_empty() {
        String::new()
    } else {
        format!(" in a {}", layers.join(", "))
    };
    Err(ApiError::access_denied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} {how}{in_layers}",
        caller.arn
    )))
}
