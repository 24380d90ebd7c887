//! Document- and statement-level checks, and the order the others run in.

use std::collections::HashSet;

use super::doc::{Doc, Effect, Loc, PrincipalForm, PrincipalNode, Stmt, Text};
use super::resources::{account_ok, arn_problem};
use super::variables::{self, Vars};
use super::{PolicyType, Severity, Sink, actions, conditions, resources};
use crate::arn::Arn;
use crate::glob::Glob;

/// Actions a trust policy may name.
const TRUST_ACTIONS: &[&str] = &[
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
];

/// Condition keys that tie a service principal's request to the caller's
/// account or resource (the confused-deputy guard).
const SOURCE_KEYS: &[&str] = &[
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
];

/// The document as a whole.
fn root_loc(doc: &Doc<'_>, path: &str) -> Loc {
    Loc {
        path: path.to_string(),
        span: doc.root_span,
    }
}

/// Runs every check on the document.
pub(super) fn check(doc: &Doc<'_>, ty: PolicyType, src: &str, sink: &mut Sink<'_>) {
    let version = doc.version.as_ref().map(|v| v.text);
    let vars = Vars {
        // An unsupported Version is a grammar error; lint as if current.
        enabled: match version {
            Some("2012-10-17") => true,
            Some("2008-10-17") => false,
            Some(_) => true,
            None => doc.version_present,
        },
        version_missing: !doc.version_present,
    };
    if !doc.version_present {
        sink.at(
            "MISSING_VERSION",
            Severity::Warning,
            &root_loc(doc, "Version"),
            "The document has no Version, so it is read as Version 2008-10-17: policy variables such as ${aws:username} are not substituted and newer features are unavailable.",
            "Add \"Version\": \"2012-10-17\" as the first element of the document.",
        );
    }
    if let Some(loc) = &doc.statement_empty {
        sink.at(
            "EMPTY_STATEMENT",
            Severity::Error,
            loc,
            "The Statement list is empty: the policy grants and denies nothing, and AWS rejects it.",
            "Add at least one statement, or delete the policy.",
        );
    }
    size_quota(doc, ty, src, sink);

    let mut sids: HashSet<&str> = HashSet::new();
    for stmt in &doc.statements {
        if let Some(sid) = &stmt.sid {
            check_sid(sid, !sids.insert(sid.text), ty, sink);
        }
        statement(stmt, ty, vars, sink);
    }
}

fn size_quota(doc: &Doc<'_>, ty: PolicyType, src: &str, sink: &mut Sink<'_>) {
    let (limit, counts_space, what) = match ty {
        PolicyType::Identity => (
            6_144,
            false,
            "a managed policy (inline policies: 2,048 for a user, 5,120 for a group, 10,240 for a role)",
        ),
        PolicyType::Boundary => (
            6_144,
            false,
            "a managed policy used as a permissions boundary",
        ),
        PolicyType::Session => (
            2_048,
            false,
            "a session policy (its packed size counts too)",
        ),
        PolicyType::ServiceControl => (5_120, true, "a service control policy"),
        PolicyType::ResourceControl => (5_120, true, "a resource control policy"),
        PolicyType::Trust => (
            2_048,
            false,
            "a role trust policy (the default quota; it can be raised to 8,192)",
        ),
        PolicyType::Endpoint => (20_480, true, "a VPC endpoint policy"),
        PolicyType::Resource => return,
    };
    let size = if counts_space {
        src.chars().count()
    } else {
        src.chars().filter(|c| !c.is_whitespace()).count()
    };
    if size > limit {
        let how = if counts_space {
            "characters"
        } else {
            "characters, not counting white space"
        };
        sink.at(
            "POLICY_SIZE_QUOTA",
            Severity::Warning,
            &root_loc(doc, ""),
            format!(
                "The document is {size} {how}; AWS accepts at most {limit} for {what}."
            ),
            "Split it into several policies, merge statements that share Effect, Resource and Condition, or use wildcards where they do not widen access.",
        );
    }
}

fn check_sid(sid: &Text<'_>, repeated: bool, ty: PolicyType, sink: &mut Sink<'_>) {
    if variables::not_allowed(sid.text, &sid.loc, "Sid", sink) {
        return;
    }
    if !sid.text.is_empty() && repeated {
        sink.at(
            "DUPLICATE_SID",
            Severity::Error,
            &sid.loc,
            format!(
                "Another statement already has the Sid '{}'; Sids must be unique within a policy.",
                sid.text
            ),
            format!("Rename one of them, for example '{}2'.", sid.text),
        );
    }
    let alnum_only = !matches!(ty, PolicyType::Resource | PolicyType::Endpoint);
    if alnum_only && !sid.text.chars().all(|c| c.is_ascii_alphanumeric()) {
        let cleaned: String = sid
            .text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut cs = w.chars();
                cs.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                    .unwrap_or_default()
            })
            .collect();
        sink.at(
            "UNSUPPORTED_SID",
            Severity::Error,
            &sid.loc,
            format!(
                "The Sid '{}' holds characters other than A-Z, a-z and 0-9, which {} does not accept (resource policies such as bucket and key policies do).",
                sid.text,
                ty.describe()
            ),
            if cleaned.is_empty() {
                "Use only letters and digits in the Sid.".to_string()
            } else {
                format!("Write \"Sid\": \"{cleaned}\".")
            },
        );
    }
}

fn statement(stmt: &Stmt<'_>, ty: PolicyType, vars: Vars, sink: &mut Sink<'_>) {
    principal_rules(stmt, ty, sink);

    let acts = match &stmt.action {
        Some(block) => actions::check(block, sink),
        None => actions::Actions::default(),
    };
    if let Some(block) = &stmt.resource {
        resources::check(block, &acts, vars, sink);
    }
    if let Some(cond) = &stmt.condition {
        conditions::check(cond, stmt.effect, &acts, vars, sink);
    }

    if ty == PolicyType::Trust {
        trust_rules(stmt, sink);
    } else if stmt.resource.is_none() && stmt.action.is_some() {
        sink.at(
            "MISSING_RESOURCE",
            Severity::Error,
            &stmt.loc,
            format!(
                "The statement has no Resource (or NotResource), which {} requires; AWS rejects it.",
                ty.describe()
            ),
            "Add \"Resource\" with the ARNs the actions apply to, or \"Resource\": \"*\".",
        );
    }
    if stmt.effect == Some(Effect::Allow) {
        allow_risks(stmt, ty, sink);
    }
}

fn principal_rules(stmt: &Stmt<'_>, ty: PolicyType, sink: &mut Sink<'_>) {
    let Some(p) = &stmt.principal else {
        if ty.names_principals() {
            let example = match ty {
                PolicyType::Trust => {
                    "\"Principal\": {\"Service\": \"bedrock.amazonaws.com\"} (or {\"AWS\": \"arn:aws:iam::123456789012:root\"})"
                }
                PolicyType::ResourceControl | PolicyType::Endpoint => {
                    "\"Principal\": \"*\" (narrowed with conditions)"
                }
                _ => "\"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:role/NAME\"}",
            };
            sink.at(
                "MISSING_PRINCIPAL",
                Severity::Error,
                &stmt.loc,
                format!(
                    "The statement has no Principal, which every statement of {} needs: it says who the statement applies to.",
                    ty.describe()
                ),
                format!("Add {example}."),
            );
        }
        return;
    };
    let element = if p.negated {
        "NotPrincipal"
    } else {
        "Principal"
    };
    if !ty.names_principals() {
        sink.at(
            "UNSUPPORTED_PRINCIPAL",
            Severity::Error,
            &p.key,
            format!(
                "{element} is not allowed in {}: it applies to the principals it is attached to (or, for an SCP, to the accounts under it).",
                ty.describe()
            ),
            format!(
                "Remove {element}; to limit who is affected, use a condition such as aws:PrincipalArn, or move the statement to a resource policy."
            ),
        );
        return;
    }
    if ty == PolicyType::ResourceControl && (p.negated || !matches!(p.form, PrincipalForm::Star)) {
        sink.at(
            "UNSUPPORTED_PRINCIPAL",
            Severity::Error,
            &p.key,
            format!("A resource control policy takes only \"Principal\": \"*\", not {element} with specific principals."),
            "Write \"Principal\": \"*\" and select principals with conditions such as aws:PrincipalOrgID or aws:PrincipalArn.",
        );
        return;
    }
    principal_values(p, sink);
    match stmt.effect {
        Some(Effect::Allow) if p.negated => sink.at(
            "ALLOW_WITH_NOT_PRINCIPAL",
            Severity::SecurityWarning,
            &p.key,
            "Allow with NotPrincipal grants access to every principal not listed, anonymous callers included.",
            "Use Principal with the principals to allow instead.",
        ),
        Some(Effect::Deny) if p.negated => sink.at(
            "DENY_WITH_NOT_PRINCIPAL",
            Severity::Warning,
            &p.key,
            "Deny with NotPrincipal is fragile: a role session is a different principal from its role, so the role, its sessions and its account must all be listed, or they are denied too.",
            "Use \"Principal\": \"*\" with a condition such as \"ArnNotEquals\": {\"aws:PrincipalArn\": [...]} instead.",
        ),
        Some(Effect::Allow) => {
            let unconditioned = stmt.condition.as_ref().is_none_or(|c| c.entries().next().is_none());
            if p.form.is_public()
                && unconditioned
                && matches!(ty, PolicyType::Resource | PolicyType::Trust)
            {
                sink.at(
                    "PUBLIC_ACCESS",
                    Severity::SecurityWarning,
                    &p.key,
                    format!(
                        "Principal \"*\" without a condition allows anyone{} — every AWS account and anonymous callers.",
                        if ty == PolicyType::Trust { " to assume the role" } else { "" }
                    ),
                    "Name the principals (accounts, roles, services), or add a condition such as aws:PrincipalOrgID or aws:SourceVpce.",
                );
            }
            if matches!(ty, PolicyType::Resource | PolicyType::Trust) {
                confused_deputy(stmt, p, ty, sink);
            }
        }
        _ => {}
    }
}

fn confused_deputy(stmt: &Stmt<'_>, p: &PrincipalNode<'_>, ty: PolicyType, sink: &mut Sink<'_>) {
    let Some(service) = p.form.services().next() else {
        return;
    };
    let guarded = stmt.condition.as_ref().is_some_and(|c| {
        c.has_key(|k| {
            let k = k.to_ascii_lowercase();
            SOURCE_KEYS.contains(&k.as_str()) || k.starts_with("kms:encryptioncontext:")
        })
    });
    if guarded {
        return;
    }
    let severity = if ty == PolicyType::Trust {
        // Not every service sets the source keys when it assumes a role.
        Severity::Suggestion
    } else {
        Severity::Warning
    };
    sink.at(
        "MISSING_SOURCE_CONDITION",
        severity,
        &service.loc,
        format!(
            "The service principal '{}' is allowed without aws:SourceAccount or aws:SourceArn, so the service can be made to act here on behalf of any account that uses it (the confused deputy problem).",
            service.text
        ),
        "Add \"Condition\": {\"StringEquals\": {\"aws:SourceAccount\": \"<your account ID>\"}, \"ArnLike\": {\"aws:SourceArn\": \"<ARN of the resource that uses this>\"}} (where the service supports these keys).",
    );
}

fn principal_values(p: &PrincipalNode<'_>, sink: &mut Sink<'_>) {
    let element = if p.negated {
        "NotPrincipal"
    } else {
        "Principal"
    };
    let entries = match &p.form {
        PrincipalForm::Plain(t) => {
            if variables::not_allowed(t.text, &t.loc, element, sink) {
                return;
            }
            sink.at(
                "INVALID_PRINCIPAL_FORMAT",
                Severity::Error,
                &t.loc,
                format!(
                    "A principal given as a plain string must be \"*\"; '{}' has to say what kind of principal it is.",
                    t.text
                ),
                format!(
                    "Write \"{element}\": {{\"{}\": \"{}\"}}.",
                    if t.text.ends_with(".amazonaws.com") {
                        "Service"
                    } else {
                        "AWS"
                    },
                    t.text
                ),
            );
            return;
        }
        PrincipalForm::Map(entries) => entries,
        PrincipalForm::Star | PrincipalForm::Other => return,
    };
    for (kind, values) in entries {
        for v in values {
            if variables::not_allowed(v.text, &v.loc, element, sink) {
                continue;
            }
            principal_value(kind.text, v, sink);
        }
    }
}

fn principal_value(kind: &str, v: &Text<'_>, sink: &mut Sink<'_>) {
    let text = v.text;
    let invalid = |sink: &mut Sink<'_>, why: String, fix: &str| {
        sink.at("INVALID_PRINCIPAL", Severity::Error, &v.loc, why, fix);
    };
    if text != "*" && text.contains(['*', '?']) {
        sink.at(
            "UNSUPPORTED_WILDCARD_IN_PRINCIPAL",
            Severity::Error,
            &v.loc,
            format!(
                "'{text}' holds a wildcard; principals take no wildcards except \"*\" on its own."
            ),
            "Name the principals exactly, or use \"*\" with a condition such as \"ArnLike\": {\"aws:PrincipalArn\": \"arn:aws:iam::123456789012:role/app-*\"}.",
        );
        return;
    }
    match kind {
        "AWS" => {
            if text == "*" || is_account_id(text) || is_unique_id(text) {
                return;
            }
            if let Some(problem) = arn_problem(text) {
                let code = if text.starts_with("arn:") {
                    "INVALID_ARN"
                } else {
                    "INVALID_PRINCIPAL"
                };
                sink.at(
                    code,
                    Severity::Error,
                    &v.loc,
                    format!(
                        "{problem}; an AWS principal is \"*\", a 12-digit account ID, or the ARN of an account, user, role, role session or federated user."
                    ),
                    "Write an ARN such as \"arn:aws:iam::123456789012:role/NAME\" or an account ID such as \"123456789012\".",
                );
                return;
            }
            let Some(arn) = Arn::parse(text) else {
                return;
            };
            let ok = match arn.service {
                "iam" => {
                    arn.resource == "root"
                        || ["user/", "role/", "assumed-role/", "federated-user/"]
                            .iter()
                            .any(|p| arn.resource.starts_with(p))
                }
                "sts" => ["assumed-role/", "federated-user/"]
                    .iter()
                    .any(|p| arn.resource.starts_with(p)),
                _ => false,
            };
            if !ok {
                invalid(
                    sink,
                    format!(
                        "'{text}' is not the ARN of an IAM principal (an account root, user, role, role session or federated user)."
                    ),
                    "Write \"arn:aws:iam::ACCOUNT:root\", \"arn:aws:iam::ACCOUNT:role/NAME\", \"arn:aws:iam::ACCOUNT:user/NAME\" or \"arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION\".",
                );
            } else if !is_account_id(arn.account) {
                sink.at(
                    "INVALID_ARN_ACCOUNT",
                    Severity::Error,
                    &v.loc,
                    format!(
                        "The account '{}' in the principal is not a 12-digit account ID, so AWS rejects the principal.",
                        arn.account
                    ),
                    format!("Put the 12-digit account ID in place of '{}'.", arn.account),
                );
            }
        }
        "Service" => {
            let ok = !text.is_empty()
                && text.contains('.')
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
            if !ok {
                invalid(
                    sink,
                    format!(
                        "'{text}' is not a service principal; service principals are lowercase host names such as bedrock.amazonaws.com."
                    ),
                    "Write the service principal, such as \"bedrock.amazonaws.com\" or \"lambda.amazonaws.com\".",
                );
            }
        }
        "Federated" => {
            let ok = if text.starts_with("arn:") {
                Arn::parse(text).is_some_and(|a| {
                    a.service == "iam"
                        && account_ok(a.account)
                        && (a.resource.starts_with("saml-provider/")
                            || a.resource.starts_with("oidc-provider/"))
                })
            } else {
                text.contains('.') && !text.contains(char::is_whitespace) && !text.contains('/')
            };
            if !ok {
                invalid(
                    sink,
                    format!(
                        "'{text}' is not a federated principal: the ARN of a SAML or OIDC provider, or a provider such as cognito-identity.amazonaws.com."
                    ),
                    "Write \"arn:aws:iam::ACCOUNT:saml-provider/NAME\", \"arn:aws:iam::ACCOUNT:oidc-provider/HOST\" or the provider's host name.",
                );
            }
        }
        "CanonicalUser" if !(text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())) => {
            invalid(
                sink,
                format!("'{text}' is not a canonical user ID (64 hexadecimal digits)."),
                "Use the canonical user ID shown by S3 (64 hexadecimal digits), or name the account with \"AWS\".",
            );
        }
        _ => {}
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// IAM unique IDs, which a policy shows when the user or role it named was
/// deleted (AIDA..., AROA...).
fn is_unique_id(s: &str) -> bool {
    s.len() >= 16
        && ["AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ASIA", "AGPA"]
            .iter()
            .any(|p| s.starts_with(p))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn trust_rules(stmt: &Stmt<'_>, sink: &mut Sink<'_>) {
    if let Some(res) = &stmt.resource {
        let element = if res.negated {
            "NotResource"
        } else {
            "Resource"
        };
        sink.at(
            "TRUST_POLICY_RESOURCE",
            Severity::Error,
            &res.key,
            format!(
                "A trust policy takes no {element}: the resource is the role itself, and IAM rejects the document."
            ),
            format!("Remove {element}."),
        );
    }
    let Some(block) = &stmt.action else {
        return;
    };
    if block.negated {
        return;
    }
    for item in &block.items {
        let glob = Glob::new(&item.text.to_lowercase());
        if !TRUST_ACTIONS.iter().any(|a| glob.matches(a)) {
            sink.at(
                "TRUST_POLICY_ACTION",
                Severity::Error,
                &item.loc,
                format!(
                    "'{}' cannot be granted by a trust policy, which only decides who may assume the role.",
                    item.text
                ),
                "Use sts:AssumeRole (sts:AssumeRoleWithSAML, sts:AssumeRoleWithWebIdentity for federation; sts:TagSession, sts:SetSourceIdentity, sts:SetContext beside them), and grant other actions in the role's permissions policy.",
            );
        }
    }
}

fn allow_risks(stmt: &Stmt<'_>, ty: PolicyType, sink: &mut Sink<'_>) {
    let grants = matches!(
        ty,
        PolicyType::Identity | PolicyType::Resource | PolicyType::Endpoint
    );
    if let Some(a) = stmt.action.as_ref().filter(|a| a.negated) {
        sink.at(
            "ALLOW_WITH_NOT_ACTION",
            Severity::SecurityWarning,
            &a.key,
            "Allow with NotAction allows every action not listed, of every service, including ones AWS adds later.",
            "List the actions to allow in Action instead; to carve out exceptions, add a Deny statement.",
        );
    }
    if let Some(r) = stmt.resource.as_ref().filter(|r| r.negated) {
        sink.at(
            "ALLOW_WITH_NOT_RESOURCE",
            Severity::SecurityWarning,
            &r.key,
            "Allow with NotResource allows the actions on every resource not listed, in every account and service.",
            "List the resources to allow in Resource instead; to carve out exceptions, add a Deny statement.",
        );
    }
    let Some(action) = &stmt.action else {
        return;
    };
    let every_resource = stmt
        .resource
        .as_ref()
        .is_some_and(|r| r.negated || r.has_star());
    if !every_resource {
        return;
    }
    if grants
        && !action.negated
        && let Some(star) = action.items.iter().find(|i| i.text == "*")
    {
        let (severity, message) = if ty == PolicyType::Endpoint {
            (
                Severity::Warning,
                "Action \"*\" on Resource \"*\" lets every request through the endpoint: the endpoint policy restricts nothing.",
            )
        } else {
            (
                Severity::SecurityWarning,
                "Action \"*\" on Resource \"*\" allows every action on every resource: full administrator access.",
            )
        };
        sink.at(
            "FULL_ADMIN",
            severity,
            &star.loc,
            message,
            "Allow only the actions and resources needed (least privilege), for example \"Action\": [\"bedrock:InvokeModel\"] on the model ARNs.",
        );
    }
    if matches!(ty, PolicyType::Identity | PolicyType::Resource)
        && actions::block_covers(action, "iam:passrole")
    {
        let loc = action
            .items
            .iter()
            .find(|i| !action.negated && Glob::new(&i.text.to_lowercase()).matches("iam:passrole"))
            .map_or(&action.key, |i| &i.loc);
        let how = stmt
            .resource
            .as_ref()
            .filter(|r| r.negated)
            .map_or("Resource \"*\"", |_| "NotResource");
        sink.at(
            "PASS_ROLE_WITH_STAR",
            Severity::SecurityWarning,
            loc,
            format!(
                "iam:PassRole is allowed on {how}: the principal can hand any role, including administrator roles, to a service and act with its permissions."
            ),
            "Allow iam:PassRole in a statement of its own on the ARNs of the roles to pass (\"arn:aws:iam::123456789012:role/NAME\"), with a condition on iam:PassedToService.",
        );
    }
}
