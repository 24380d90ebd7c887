//! Policy evaluation, as the AWS IAM User Guide's evaluation logic describes
//! it.
//!
//! 1. An explicit `Deny` in any policy that applies wins.
//! 2. Every organization level of SCPs (for the caller's account) and of RCPs
//!    (for the resource's account) must allow; so must a VPC endpoint policy
//!    when the request came through an endpoint.
//! 3. Then the caller's own permissions: identity policies, limited by the
//!    permissions boundary and the session policies; and the resource-based
//!    policy. In the same account either may grant (a grant naming the
//!    caller's user, session or federated-user ARN is not limited by the
//!    boundary or session policy; one naming the role is). Across accounts
//!    both sides must allow. Some resources (KMS keys, role trust) accept no
//!    grant from identity policies alone.
//!
//! Nothing is allowed unless a statement allows it.

use std::fmt;

use crate::arn::Arn;
use crate::condition::Condition;
use crate::context::Context;
use crate::policy::{ActionKey, Effect, Policy, Statement};
use crate::principal::{Principal, PrincipalMatch, match_block};

/// The policy layers of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Scp,
    Rcp,
    Identity,
    PermissionBoundary,
    Session,
    Resource,
    VpcEndpoint,
}

impl Layer {
    /// Short name, as in the conformance data's `blockedBy`.
    pub fn code(self) -> &'static str {
        match self {
            Layer::Scp => "scp",
            Layer::Rcp => "rcp",
            Layer::Identity => "identity",
            Layer::PermissionBoundary => "pb",
            Layer::Session => "session",
            Layer::Resource => "resource",
            Layer::VpcEndpoint => "vpce",
        }
    }

    /// Name for people.
    pub fn describe(self) -> &'static str {
        match self {
            Layer::Scp => "service control policy",
            Layer::Rcp => "resource control policy",
            Layer::Identity => "identity-based policy",
            Layer::PermissionBoundary => "permissions boundary",
            Layer::Session => "session policy",
            Layer::Resource => "resource-based policy",
            Layer::VpcEndpoint => "VPC endpoint policy",
        }
    }

    /// Reads a short name.
    pub fn from_code(code: &str) -> Option<Layer> {
        [
            Layer::Scp,
            Layer::Rcp,
            Layer::Identity,
            Layer::PermissionBoundary,
            Layer::Session,
            Layer::Resource,
            Layer::VpcEndpoint,
        ]
        .into_iter()
        .find(|l| l.code() == code)
    }
}

/// The policies that apply to one request, borrowed from wherever they are
/// kept compiled.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'p> {
    /// SCPs per organization level, root first, down to the caller's account.
    pub scps: Vec<Vec<&'p Policy>>,
    /// RCPs per organization level, root first, down to the resource's account.
    pub rcps: Vec<Vec<&'p Policy>>,
    pub identity: Vec<&'p Policy>,
    /// Empty when the principal has no permissions boundary.
    pub boundaries: Vec<&'p Policy>,
    /// Empty unless the caller is a session created with session policies.
    pub session: Vec<&'p Policy>,
    pub resource: Option<&'p Policy>,
    /// Empty unless the request came through a VPC endpoint.
    pub endpoint: Vec<&'p Policy>,
}

/// One request to decide.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// The IAM action, such as `bedrock:InvokeModel`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions that take no resource.
    pub resource: &'a str,
    /// The account that owns the resource; `None` means the caller's own.
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    ImplicitlyDenied,
    ExplicitlyDenied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "Allowed",
            Outcome::ImplicitlyDenied => "ImplicitlyDenied",
            Outcome::ExplicitlyDenied => "ExplicitlyDenied",
        }
    }

    pub fn is_allowed(self) -> bool {
        self == Outcome::Allowed
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'p> {
    pub layer: Layer,
    /// Organization level for SCPs and RCPs (0 = root).
    pub level: Option<usize>,
    pub policy: &'p Policy,
    pub statement: &'p Statement,
}

impl fmt::Display for Hit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} '{}'",
            self.statement.label(),
            self.layer.describe(),
            self.policy.label()
        )?;
        if let Some(level) = self.level {
            write!(f, " (organization level {level})")?;
        }
        Ok(())
    }
}

/// A statement whose action and resource matched but a condition did not.
#[derive(Debug, Clone, Copy)]
pub struct NearMiss<'p> {
    pub hit: Hit<'p>,
    pub condition: &'p Condition,
}

/// A decision and why it was made.
#[derive(Debug, Clone)]
pub struct Decision<'p> {
    pub outcome: Outcome,
    /// Layers that denied (explicitly) or failed to allow (implicitly).
    pub blocked_by: Vec<Layer>,
    /// For a deny, the statements that denied; for an allow, those that
    /// allowed.
    pub statements: Vec<Hit<'p>>,
    /// Allow statements that failed only on a condition, to explain an
    /// implicit deny.
    pub near_misses: Vec<NearMiss<'p>>,
    /// Other facts that decided the outcome, in words.
    pub notes: Vec<String>,
}

impl Decision<'_> {
    /// One paragraph that tells a person why.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        match self.outcome {
            Outcome::Allowed => {
                out.push_str("allowed by ");
                out.push_str(&join_hits(&self.statements));
            }
            Outcome::ExplicitlyDenied => {
                out.push_str("explicitly denied by ");
                out.push_str(&join_hits(&self.statements));
            }
            Outcome::ImplicitlyDenied => {
                out.push_str("implicitly denied: ");
                if self.blocked_by.is_empty() {
                    out.push_str("no statement allows it");
                } else {
                    let names: Vec<_> = self.blocked_by.iter().map(|l| l.describe()).collect();
                    out.push_str(&format!(
                        "no statement allows it in the {}",
                        names.join(", ")
                    ));
                }
                for miss in self.near_misses.iter().take(3) {
                    out.push_str(&format!(
                        "; {} would allow it but its condition {} on '{}' is not met",
                        miss.hit,
                        miss.condition.operator.name(),
                        miss.condition.key
                    ));
                }
            }
        }
        for note in &self.notes {
            out.push_str("; ");
            out.push_str(note);
        }
        out
    }
}

fn join_hits(hits: &[Hit<'_>]) -> String {
    if hits.is_empty() {
        return "a rule of the service".to_string();
    }
    hits.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a layer treats a statement's Principal element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PrincipalMode {
    /// Identity policies, boundaries, session policies, SCPs.
    Ignored,
    /// Resource-based policies: a statement without one applies to no one.
    Required,
    /// RCPs and endpoint policies: checked when present.
    IfPresent,
}

/// What one layer says about the request. Its Deny statements go straight
/// to the evaluator's one list, so a decision allocates nothing unless
/// something denies or an explanation is asked for.
#[derive(Clone, Copy)]
struct LayerVerdict<'p> {
    /// Strongest principal match among allowing statements (`No` if none).
    allow: PrincipalMatch,
    /// The first allowing statement, kept only when explaining.
    first_allow: Option<Hit<'p>>,
}

impl LayerVerdict<'_> {
    fn allowed(&self) -> bool {
        self.allow != PrincipalMatch::No
    }
}

/// Longest action lower-cased on the stack; longer ones (no real IAM action
/// is) go to the heap.
const INLINE_ACTION: usize = 128;

struct Evaluator<'e, 'p> {
    request: &'e Request<'e>,
    action_lower: &'e str,
    action_key: ActionKey,
    /// The request's resource split into an ARN once, for every pattern.
    resource_arn: Option<Arn<'e>>,
    /// Every statement that denies, in evaluation order.
    denies: Vec<Hit<'p>>,
    near_misses: Vec<NearMiss<'p>>,
    explain: bool,
    has_boundary: bool,
}

impl<'e, 'p> Evaluator<'e, 'p> {
    fn layer(
        &mut self,
        layer: Layer,
        level: Option<usize>,
        policies: &[&'p Policy],
        mode: PrincipalMode,
    ) -> LayerVerdict<'p> {
        let mut verdict = LayerVerdict {
            allow: PrincipalMatch::No,
            first_allow: None,
        };
        for &policy in policies {
            // Only the statements whose action pre-filters let the action
            // through: most statements name other actions, and are never
            // touched.
            for (pre, statement) in policy.statements.candidates(self.action_key) {
                // Without an explanation to give, an Allow that cannot
                // change the outcome or the blocking layers is skipped: once
                // the layer allows as strongly as it can, or once anything
                // has denied (then only whether the SCP and RCP levels allow
                // still matters).
                if pre.allow
                    && !self.explain
                    && (verdict.allow == PrincipalMatch::Direct
                        || (!self.denies.is_empty() && !matches!(layer, Layer::Scp | Layer::Rcp)))
                {
                    continue;
                }
                if !statement
                    .action
                    .covers_prefiltered(self.action_lower, self.action_key)
                {
                    continue;
                }
                let hit = Hit {
                    layer,
                    level,
                    policy,
                    statement,
                };
                let mut m = self.statement_applies(hit, mode, pre.any_resource);
                // AWS: a resource-policy Deny with NotPrincipal always
                // applies to a caller that has a permissions boundary,
                // whatever the NotPrincipal lists.
                if m == PrincipalMatch::No
                    && layer == Layer::Resource
                    && self.has_boundary
                    && statement.effect == Effect::Deny
                    && statement.principal.as_ref().is_some_and(|p| p.negated)
                {
                    m = self.statement_applies(hit, PrincipalMode::Ignored, pre.any_resource);
                }
                if m == PrincipalMatch::No {
                    continue;
                }
                match statement.effect {
                    Effect::Deny => self.denies.push(hit),
                    Effect::Allow => {
                        if m > verdict.allow {
                            verdict.allow = m;
                        }
                        if self.explain && verdict.first_allow.is_none() {
                            verdict.first_allow = Some(hit);
                        }
                    }
                }
            }
        }
        verdict
    }

    /// Does the statement apply, and how does it name the caller? The
    /// action was checked by the caller, and the resource need not be when
    /// the statement applies to any.
    fn statement_applies(
        &mut self,
        hit: Hit<'p>,
        mode: PrincipalMode,
        any_resource: bool,
    ) -> PrincipalMatch {
        let s = hit.statement;
        let r = self.request;
        if !any_resource
            && let Some(resource) = &s.resource
            && !resource.covers_arn(r.resource, self.resource_arn.as_ref(), r.context)
        {
            return PrincipalMatch::No;
        }
        let m = match (mode, &s.principal) {
            (PrincipalMode::Ignored, _) | (PrincipalMode::IfPresent, None) => {
                PrincipalMatch::Direct
            }
            (PrincipalMode::Required, None) => PrincipalMatch::No,
            (_, Some(block)) => match_block(block, r.principal),
        };
        if m == PrincipalMatch::No {
            return m;
        }
        for condition in &s.conditions {
            if !condition.evaluate(r.context) {
                if self.explain && s.effect == Effect::Allow {
                    self.near_misses.push(NearMiss { hit, condition });
                }
                return PrincipalMatch::No;
            }
        }
        m
    }

    /// Evaluates the organization levels of one layer (SCPs or RCPs). Says
    /// whether every level allows, and, when explaining, the first allowing
    /// statement of each level.
    fn levels(
        &mut self,
        layer: Layer,
        levels: &[Vec<&'p Policy>],
        mode: PrincipalMode,
        allow_hits: &mut Vec<Hit<'p>>,
    ) -> bool {
        let mut all_allow = true;
        for (i, level) in levels.iter().enumerate() {
            let v = self.layer(layer, Some(i), level, mode);
            all_allow &= v.allowed();
            allow_hits.extend(v.first_allow);
        }
        all_allow
    }
}

/// Decides a request, with the statements that decided it.
pub fn evaluate<'p>(request: &Request<'_>, policies: &PolicySet<'p>) -> Decision<'p> {
    evaluate_with(request, policies, true)
}

/// Decides a request; with `explain` false, only the outcome and the blocking
/// layers are computed (the fast path for the gateway's allow decisions).
pub fn evaluate_with<'p>(
    request: &Request<'_>,
    policies: &PolicySet<'p>,
    explain: bool,
) -> Decision<'p> {
    // Lower-case the action on the stack: this runs once per request, and
    // an allocation here would be a noticeable share of a decision.
    let mut inline = [0u8; INLINE_ACTION];
    let heap;
    let action_lower: &str = match inline.get_mut(..request.action.len()) {
        Some(buf) => {
            buf.copy_from_slice(request.action.as_bytes());
            buf.make_ascii_lowercase();
            // ASCII lower-casing of UTF-8 is UTF-8.
            std::str::from_utf8(buf).unwrap_or_default()
        }
        None => {
            heap = request.action.to_ascii_lowercase();
            &heap
        }
    };
    let mut ev = Evaluator {
        request,
        action_lower,
        action_key: ActionKey::new(action_lower),
        resource_arn: Arn::parse(request.resource),
        denies: Vec::new(),
        near_misses: Vec::new(),
        explain,
        has_boundary: !policies.boundaries.is_empty(),
    };
    let mut decision = Decision {
        outcome: Outcome::ImplicitlyDenied,
        blocked_by: Vec::new(),
        statements: Vec::new(),
        near_misses: Vec::new(),
        notes: Vec::new(),
    };

    // sts:GetCallerIdentity needs no permission and cannot be denied.
    if action_lower == "sts:getcalleridentity" && !matches!(request.principal, Principal::Anonymous)
    {
        decision.outcome = Outcome::Allowed;
        decision
            .notes
            .push("sts:GetCallerIdentity is always allowed for a signed caller".into());
        return decision;
    }

    let principal = request.principal;
    let is_iam_principal = matches!(principal, Principal::Aws(_));
    let service_linked = principal.is_service_linked_role();
    let org_exempt = !is_iam_principal || service_linked;
    let service = action_lower.split(':').next().unwrap_or("");

    // Evaluate every layer that applies. Guardrail layers that allow are
    // explained by their first allowing statement, per level.
    let mut guardrail_hits: Vec<Hit<'p>> = Vec::new();
    let scps_allow = org_exempt
        || ev.levels(
            Layer::Scp,
            &policies.scps,
            PrincipalMode::Ignored,
            &mut guardrail_hits,
        );
    let rcp_applies = !matches!(principal, Principal::Service(_))
        && !service_linked
        && RCP_SERVICES.contains(&service);
    let rcps_allow = !rcp_applies
        || ev.levels(
            Layer::Rcp,
            &policies.rcps,
            PrincipalMode::IfPresent,
            &mut guardrail_hits,
        );
    // Identity-based layers apply to IAM principals only.
    let identity_policies: &[&'p Policy] = if is_iam_principal {
        &policies.identity
    } else {
        &[]
    };
    let identity = ev.layer(
        Layer::Identity,
        None,
        identity_policies,
        PrincipalMode::Ignored,
    );
    let boundary = (is_iam_principal && !policies.boundaries.is_empty()).then(|| {
        ev.layer(
            Layer::PermissionBoundary,
            None,
            &policies.boundaries,
            PrincipalMode::Ignored,
        )
    });
    let session = (is_iam_principal && !policies.session.is_empty()).then(|| {
        ev.layer(
            Layer::Session,
            None,
            &policies.session,
            PrincipalMode::Ignored,
        )
    });
    let resource = policies.resource.map(|p| {
        ev.layer(
            Layer::Resource,
            None,
            std::slice::from_ref(&p),
            PrincipalMode::Required,
        )
    });
    let endpoint = (!policies.endpoint.is_empty()).then(|| {
        ev.layer(
            Layer::VpcEndpoint,
            None,
            &policies.endpoint,
            PrincipalMode::IfPresent,
        )
    });

    // 1. Explicit deny anywhere wins.
    if !ev.denies.is_empty() {
        decision.outcome = Outcome::ExplicitlyDenied;
        let mut layers: Vec<Layer> = ev.denies.iter().map(|h| h.layer).collect();
        // Guardrails that also failed to allow are blockers too.
        if !scps_allow {
            layers.push(Layer::Scp);
        }
        if !rcps_allow {
            layers.push(Layer::Rcp);
        }
        layers.sort();
        layers.dedup();
        decision.blocked_by = layers;
        decision.statements = ev.denies;
        return decision;
    }

    // 2. Rules of the service itself.
    if let Some(note) = service_rule(action_lower, request.resource) {
        decision.notes.push(note);
        return decision;
    }

    // 3. Guardrails: every organization level, and the endpoint, must allow.
    let mut blocked: Vec<Layer> = Vec::new();
    if !scps_allow {
        blocked.push(Layer::Scp);
    }
    if !rcps_allow {
        blocked.push(Layer::Rcp);
    }
    if endpoint.as_ref().is_some_and(|v| !v.allowed()) {
        blocked.push(Layer::VpcEndpoint);
    }

    // 4. The caller's own permissions.
    let boundary_ok = boundary.as_ref().is_none_or(LayerVerdict::allowed);
    let session_ok = session.as_ref().is_none_or(LayerVerdict::allowed);
    let identity_path = identity.allowed() && boundary_ok && session_ok;
    let grant = resource.as_ref().map_or(PrincipalMatch::No, |v| v.allow);
    let same_account = match (principal.account(), request.resource_account) {
        (Some(caller), Some(owner)) => caller == owner,
        (Some(_), None) => true,
        (None, _) => true,
    };
    let needs_resource_grant = requires_resource_policy(action_lower, request.resource);

    let (allowed, used_resource, used_identity) = if !is_iam_principal {
        (grant == PrincipalMatch::Direct, true, false)
    } else if same_account {
        let direct = grant == PrincipalMatch::Direct;
        let via_role = grant == PrincipalMatch::Role && boundary_ok && session_ok;
        let via_identity = identity_path && (!needs_resource_grant || grant != PrincipalMatch::No);
        (
            direct || via_role || via_identity,
            direct || via_role,
            via_identity,
        )
    } else {
        let both = identity_path && grant != PrincipalMatch::No;
        (both, both, both)
    };

    if !allowed {
        // Say which of the caller's layers failed to allow.
        if is_iam_principal {
            let resource_grants = same_account && grant >= PrincipalMatch::Role;
            if !(identity.allowed() || resource_grants) {
                blocked.push(Layer::Identity);
            }
            if !boundary_ok {
                blocked.push(Layer::PermissionBoundary);
            }
            if !session_ok {
                blocked.push(Layer::Session);
            }
        }
        if (!same_account || needs_resource_grant || !is_iam_principal)
            && grant == PrincipalMatch::No
        {
            blocked.push(Layer::Resource);
        }
    }

    if !blocked.is_empty() || !allowed {
        blocked.sort();
        blocked.dedup();
        // Only the guardrail layers are reported as blockers when the
        // caller's own permissions would have allowed.
        if allowed {
            blocked.retain(|l| matches!(l, Layer::Scp | Layer::Rcp | Layer::VpcEndpoint));
        }
        decision.blocked_by = blocked;
        decision.near_misses = ev.near_misses;
        if needs_resource_grant && is_iam_principal && identity_path && grant == PrincipalMatch::No
        {
            decision.notes.push(format!(
                "{} requires the resource's own policy to allow the caller or its account",
                request.resource
            ));
        }
        return decision;
    }

    decision.outcome = Outcome::Allowed;
    if explain {
        let mut hits = guardrail_hits;
        if used_identity {
            hits.extend(identity.first_allow);
            for v in boundary.iter().chain(session.iter()) {
                hits.extend(v.first_allow);
            }
        }
        if used_resource && let Some(v) = &resource {
            hits.extend(v.first_allow);
        }
        if let Some(v) = &endpoint {
            hits.extend(v.first_allow);
        }
        decision.statements = hits;
    }
    decision
}

/// Services whose resources RCPs govern (AWS Organizations documentation).
const RCP_SERVICES: &[&str] = &[
    "s3",
    "sts",
    "sqs",
    "secretsmanager",
    "kms",
    "ecr",
    "aoss",
    "cognito-identity",
    "dynamodb",
    "logs",
    "bedrock",
];

/// Resources whose own policy must allow (identity policies alone cannot
/// grant): KMS keys (key policies) and role trust (`sts:AssumeRole*`).
fn requires_resource_policy(action_lower: &str, resource: &str) -> bool {
    // Role trust: assuming a role, and tagging or naming the source
    // identity of the session it starts, must be allowed by the trust
    // policy.
    if action_lower.starts_with("sts:assumerole")
        || action_lower == "sts:tagsession"
        || action_lower == "sts:setsourceidentity"
    {
        return resource != "*";
    }
    if action_lower.starts_with("kms:") {
        return resource.contains(":key/");
    }
    false
}

/// Implicit denies that AWS applies whatever the policies say: AWS-managed
/// IAM policies and roles reserved for AWS cannot be changed, and KMS aliases
/// under `alias/aws/` belong to AWS.
fn service_rule(action_lower: &str, resource: &str) -> Option<String> {
    let iam_action = action_lower.strip_prefix("iam:");
    if let Some(action) = iam_action {
        if resource.starts_with("arn:aws:iam::aws:policy/")
            && !AWS_MANAGED_POLICY_READS.contains(&action)
        {
            return Some(format!(
                "{resource} is an AWS-managed policy, which no caller may change (iam:{action})"
            ));
        }
        if is_reserved_role(resource) && !RESERVED_ROLE_READS.contains(&action) {
            return Some(format!(
                "{resource} is a role reserved for AWS, which no caller may change or pass (iam:{action})"
            ));
        }
    }
    if let Some(action) = action_lower.strip_prefix("kms:")
        && matches!(action, "createalias" | "updatealias" | "deletealias")
        && resource.contains(":alias/aws/")
    {
        return Some(format!(
            "{resource} is an AWS-managed alias, which no caller may change"
        ));
    }
    None
}

fn is_reserved_role(resource: &str) -> bool {
    crate::arn::Arn::parse(resource)
        .is_some_and(|a| a.service == "iam" && a.resource.starts_with("role/aws-reserved/"))
}

const AWS_MANAGED_POLICY_READS: &[&str] = &[
    "getpolicy",
    "getpolicyversion",
    "listentitiesforpolicy",
    "listpolicytags",
    "listpolicyversions",
    "generateservicelastaccesseddetails",
    "attachuserpolicy",
    "attachgrouppolicy",
    "attachrolepolicy",
    "detachuserpolicy",
    "detachgrouppolicy",
    "detachrolepolicy",
];

const RESERVED_ROLE_READS: &[&str] = &[
    "generateservicelastaccesseddetails",
    "getcontextkeysforprincipalpolicy",
    "getrole",
    "getrolepolicy",
    "getservicelinkedroledeletionstatus",
    "listattachedrolepolicies",
    "listinstanceprofilesforrole",
    "listpoliciesgrantingserviceaccess",
    "listrolepolicies",
    "listroletags",
    "simulateprincipalpolicy",
];
