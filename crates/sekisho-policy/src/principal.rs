//! The caller of a request, and how resource-policy principals name it.

use crate::arn::Arn;
use crate::policy::{PrincipalBlock, PrincipalKind, Principals};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An unsigned request.
    Anonymous,
    /// An AWS service acting itself, such as `lambda.amazonaws.com`.
    Service(String),
    /// A web-identity or SAML provider's user before a role is assumed; the
    /// value is the provider (`cognito-identity.amazonaws.com`, an OIDC
    /// provider ARN).
    Federated(String),
    /// An IAM identity: user, role, role session, federated user or root.
    Aws(AwsPrincipal),
}

/// What kind of IAM identity an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsPrincipalKind {
    Root,
    User,
    Role,
    AssumedRole,
    FederatedUser,
}

/// An IAM identity, with the role behind a role session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPrincipal {
    pub arn: String,
    pub account: String,
    pub kind: AwsPrincipalKind,
    /// For roles and role sessions: the role's ARN. A session ARN does not
    /// carry the role's path, so callers that know it set it here.
    pub role_arn: Option<String>,
}

impl Principal {
    /// Reads a principal: an IAM ARN, a service principal name, or
    /// `anonymous`.
    pub fn parse(text: &str) -> Result<Principal, String> {
        if text.eq_ignore_ascii_case("anonymous") || text == "*" {
            return Ok(Principal::Anonymous);
        }
        if !text.starts_with("arn:") {
            if text.ends_with(".amazonaws.com") || text.ends_with(".amazonaws.com.cn") {
                return Ok(Principal::Service(text.to_string()));
            }
            return Err(format!(
                "'{text}' is not a principal: expected an IAM ARN (user, role, assumed-role, federated-user, root), a service such as bedrock.amazonaws.com, or 'anonymous'"
            ));
        }
        let arn = Arn::parse(text).ok_or_else(|| format!("'{text}' is not a valid ARN"))?;
        let bad = || {
            format!(
                "'{text}' is not an IAM principal ARN (expected :user/, :role/, :root, sts :assumed-role/ or :federated-user/)"
            )
        };
        if arn.account.is_empty() || !arn.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (kind, role_arn) = match (arn.service, arn.resource) {
            ("iam", "root") => (AwsPrincipalKind::Root, None),
            ("iam", r) if r.starts_with("user/") => (AwsPrincipalKind::User, None),
            ("iam", r) if r.starts_with("role/") => {
                (AwsPrincipalKind::Role, Some(text.to_string()))
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut parts = r["assumed-role/".len()..].splitn(2, '/');
                let role = parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
                parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
                let role_arn = format!("arn:{}:iam::{}:role/{role}", arn.partition, arn.account);
                (AwsPrincipalKind::AssumedRole, Some(role_arn))
            }
            ("sts", r) if r.starts_with("federated-user/") => {
                (AwsPrincipalKind::FederatedUser, None)
            }
            _ => return Err(bad()),
        };
        Ok(Principal::Aws(AwsPrincipal {
            arn: text.to_string(),
            account: arn.account.to_string(),
            kind,
            role_arn,
        }))
    }

    /// The account the caller belongs to, if any.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws(p) => Some(&p.account),
            _ => None,
        }
    }

    /// The caller's ARN, if it has one.
    pub fn arn(&self) -> Option<&str> {
        match self {
            Principal::Aws(p) => Some(&p.arn),
            _ => None,
        }
    }

    /// A service-linked role (or a session of one): exempt from SCPs and
    /// RCPs, as in AWS.
    pub fn is_service_linked_role(&self) -> bool {
        match self {
            Principal::Aws(p) => p
                .role_arn
                .as_deref()
                .is_some_and(|r| r.contains(":role/aws-service-role/")),
            _ => false,
        }
    }
}

/// How a resource-policy statement's principal names the caller. The order
/// matters: a stronger match wins when several entries name the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    No,
    /// The caller's account (`123456789012` or `arn:aws:iam::123456789012:root`):
    /// the account delegates to its own identity policies.
    Account,
    /// The role behind a session, or the role itself: like an identity
    /// grant, limited by the boundary and session policies.
    Role,
    /// The caller itself (its user, session or federated-user ARN), `*`, a
    /// service or a federated provider, or everyone outside a NotPrincipal.
    Direct,
}

/// Matches a statement's Principal / NotPrincipal block against the caller.
pub fn match_block(block: &PrincipalBlock, principal: &Principal) -> PrincipalMatch {
    if !block.negated {
        return match_principals(&block.principals, principal);
    }
    // NotPrincipal: the statement applies to everyone not listed. A role
    // ARN does not exclude its sessions (AWS asks for the session ARN).
    let excluded = match &block.principals {
        Principals::Any => true,
        Principals::Listed(items) => items.iter().any(|(kind, value)| {
            let named_exactly =
                *kind == PrincipalKind::Aws && principal.arn() == Some(value.as_str());
            named_exactly
                || matches!(
                    match_entry(*kind, value, principal),
                    PrincipalMatch::Direct | PrincipalMatch::Account
                )
        }),
    };
    if excluded {
        PrincipalMatch::No
    } else {
        PrincipalMatch::Direct
    }
}

fn match_principals(principals: &Principals, principal: &Principal) -> PrincipalMatch {
    match principals {
        Principals::Any => PrincipalMatch::Direct,
        Principals::Listed(items) => items
            .iter()
            .map(|(kind, value)| match_entry(*kind, value, principal))
            .max()
            .unwrap_or(PrincipalMatch::No),
    }
}

fn match_entry(kind: PrincipalKind, value: &str, principal: &Principal) -> PrincipalMatch {
    match (kind, principal) {
        (PrincipalKind::Aws, _) if value == "*" => PrincipalMatch::Direct,
        (PrincipalKind::Aws, Principal::Aws(p)) => {
            // The role itself, or the role behind a session, before the
            // exact ARN: a role is limited by its boundary either way.
            if p.role_arn.as_deref() == Some(value) {
                return PrincipalMatch::Role;
            }
            if value == p.arn {
                return PrincipalMatch::Direct;
            }
            if account_of(value) == Some(p.account.as_str()) {
                return PrincipalMatch::Account;
            }
            PrincipalMatch::No
        }
        (PrincipalKind::Service, Principal::Service(s)) if s == value => PrincipalMatch::Direct,
        (PrincipalKind::Federated, Principal::Federated(f)) if f == value => PrincipalMatch::Direct,
        _ => PrincipalMatch::No,
    }
}

/// The account an account-level principal names: a 12-digit id or the
/// account's root ARN.
fn account_of(value: &str) -> Option<&str> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value);
    }
    let arn = Arn::parse(value)?;
    (arn.service == "iam" && arn.resource == "root").then_some(arn.account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_principals() {
        let Principal::Aws(p) =
            Principal::parse("arn:aws:sts::123456789012:assumed-role/r/s").unwrap()
        else {
            panic!()
        };
        assert_eq!(p.kind, AwsPrincipalKind::AssumedRole);
        assert_eq!(
            p.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(
            Principal::parse("lambda.amazonaws.com").unwrap(),
            Principal::Service("lambda.amazonaws.com".into())
        );
        assert!(Principal::parse("arn:aws:s3:::bucket").is_err());
        assert!(Principal::parse("bob").is_err());
    }
}
