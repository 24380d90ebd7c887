//! The operations of the IAM API, as methods of [`IamState`].

mod attach;
mod groups;
mod keys;
mod mfa;
mod policies;
mod roles;
mod users;

use std::sync::Arc;

use sekisho_policy::Policy;

use super::model::{ManagedPolicy, Tag};
use super::{IamError, IamState, key_of, managed, validate};

pub use attach::AttachedPolicy;
pub use mfa::{AssignmentStatus, CreateVirtualMfaDeviceRequest};
pub use policies::{CreatePolicyRequest, ListPoliciesRequest, PolicyInfo, PolicyScope};
pub use roles::CreateRoleRequest;
pub use users::CreateUserRequest;

/// A principal whose policies the authorizer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalName<'a> {
    User(&'a str),
    Role(&'a str),
}

/// What the authorizer needs of a user or role: its compiled identity
/// policies, its permissions boundary and its tags (`aws:PrincipalTag`).
#[derive(Debug, Clone)]
pub struct PrincipalPolicies {
    pub arn: String,
    /// `AIDA...` or `AROA...` (`aws:userid` is built from it).
    pub id: String,
    /// Inline and attached policies: of the user and of each of its groups,
    /// or of the role.
    pub identity: Vec<Arc<Policy>>,
    pub boundary: Option<Arc<Policy>>,
    pub tags: Vec<(String, String)>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// More items follow; pass `marker` to get them.
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// Cuts a listing (sorted by `key`) into a page as the API's `Marker` and
/// `MaxItems` (default 100, at most 1000) ask. The marker is the key of the
/// first item of the next page.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<Page<T>, IamError> {
    let max = match max_items {
        Some(n) => validate::max_items(n)?,
        None => 100,
    };
    let start = match marker {
        Some(m) => {
            if m.is_empty() || m.chars().count() > 320 {
                return Err(IamError::validation(
                    Some(m),
                    "marker",
                    "Member must have length between 1 and 320",
                ));
            }
            items
                .iter()
                .position(|i| key(i).as_str() >= m)
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = if rest.len() > max {
        let tail = rest.split_off(max);
        tail.first().map(&key)
    } else {
        None
    };
    Ok(Page {
        items: rest,
        is_truncated: next.is_some(),
        marker: next,
    })
}

/// The parts of a policy ARN: account (or `aws`), path and name.
pub(crate) struct PolicyArn<'a> {
    pub account: &'a str,
    pub path: &'a str,
    pub name: &'a str,
}

/// Checks a policy ARN's length and shape: `arn:aws:iam::ACCOUNT:policy/PATH/NAME`.
pub(crate) fn parse_policy_arn<'a>(field: &str, arn: &'a str) -> Result<PolicyArn<'a>, IamError> {
    validate::arn_length(field, arn)?;
    let invalid = || IamError::invalid(format!("ARN {arn} is not valid."));
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some("aws"), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    let rest = resource.strip_prefix("policy").ok_or_else(invalid)?;
    let slash = rest.rfind('/').ok_or_else(invalid)?;
    let (path, name) = (&rest[..=slash], &rest[slash + 1..]);
    if !rest.starts_with('/')
        || name.is_empty()
        || !(account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
    {
        return Err(invalid());
    }
    Ok(PolicyArn {
        account,
        path,
        name,
    })
}

impl IamState {
    /// A managed policy by ARN: an AWS-managed built-in or a policy of this
    /// account (names ignore case, paths do not).
    pub fn resolve_policy(&self, arn: &str) -> Option<&Arc<ManagedPolicy>> {
        if managed::is_aws_arn(arn) {
            return managed::by_arn(arn);
        }
        let parsed = parse_policy_arn("policyArn", arn).ok()?;
        if parsed.account != self.account {
            return None;
        }
        self.policies
            .get(&key_of(parsed.name))
            .filter(|p| p.path == parsed.path)
    }

    /// Validates a `PermissionsBoundary` ARN and returns the policy's ARN as
    /// stored.
    pub(crate) fn boundary_arn(&self, arn: &str) -> Result<String, IamError> {
        parse_policy_arn("permissionsBoundary", arn)?;
        self.resolve_policy(arn)
            .map(|p| p.arn.clone())
            .ok_or_else(|| {
                IamError::no_such(format!(
                    "Scope ARN: {arn} does not exist or is not attachable."
                ))
            })
    }

    fn default_policy(&self, arn: &str) -> Result<Arc<Policy>, IamError> {
        self.resolve_policy(arn)
            .and_then(|p| p.default_version())
            .map(|v| Arc::clone(v.document.policy()))
            .ok_or_else(|| IamError::internal(format!("attached policy {arn} is missing")))
    }

    /// The compiled policies, boundary and tags of a user or role, for the
    /// authorizer. A reference that does not resolve (impossible in a state
    /// built by this module) is an error, never a policy silently left out.
    pub fn principal_policies(
        &self,
        principal: PrincipalName<'_>,
    ) -> Result<PrincipalPolicies, IamError> {
        let mut identity = Vec::new();
        match principal {
            PrincipalName::User(name) => {
                let user = self.user_ref(name)?;
                identity.extend(
                    user.inline_policies
                        .values()
                        .map(|d| Arc::clone(d.policy())),
                );
                for arn in &user.attached_policies {
                    identity.push(self.default_policy(arn)?);
                }
                for g in &user.groups {
                    let group = self
                        .groups
                        .get(&key_of(g))
                        .ok_or_else(|| IamError::internal(format!("group {g} is missing")))?;
                    identity.extend(
                        group
                            .inline_policies
                            .values()
                            .map(|d| Arc::clone(d.policy())),
                    );
                    for arn in &group.attached_policies {
                        identity.push(self.default_policy(arn)?);
                    }
                }
                Ok(PrincipalPolicies {
                    arn: user.arn.clone(),
                    id: user.id.clone(),
                    identity,
                    boundary: user
                        .permissions_boundary
                        .as_deref()
                        .map(|b| self.default_policy(b))
                        .transpose()?,
                    tags: pairs(&user.tags),
                })
            }
            PrincipalName::Role(name) => {
                let role = self.role_ref(name)?;
                identity.extend(
                    role.inline_policies
                        .values()
                        .map(|d| Arc::clone(d.policy())),
                );
                for arn in &role.attached_policies {
                    identity.push(self.default_policy(arn)?);
                }
                Ok(PrincipalPolicies {
                    arn: role.arn.clone(),
                    id: role.id.clone(),
                    identity,
                    boundary: role
                        .permissions_boundary
                        .as_deref()
                        .map(|b| self.default_policy(b))
                        .transpose()?,
                    tags: pairs(&role.tags),
                })
            }
        }
    }
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Adds or replaces tags (keys ignore case), checking the total.
pub(crate) fn merge_tags(
    existing: &[Tag],
    new: Vec<Tag>,
    quota: &str,
) -> Result<Vec<Tag>, IamError> {
    validate::tags(&new)?;
    let mut merged = existing.to_vec();
    for tag in new {
        match merged
            .iter_mut()
            .find(|t| validate::same_tag_key(&t.key, &tag.key))
        {
            Some(t) => *t = tag,
            None => merged.push(tag),
        }
    }
    if merged.len() > validate::MAX_TAGS {
        return Err(IamError::quota(quota, validate::MAX_TAGS));
    }
    Ok(merged)
}

/// Removes tags by key (ignoring case); unknown keys are ignored.
pub(crate) fn remove_tags(existing: &[Tag], keys: &[String]) -> Result<Vec<Tag>, IamError> {
    validate::tag_keys(keys)?;
    Ok(existing
        .iter()
        .filter(|t| !keys.iter().any(|k| validate::same_tag_key(k, &t.key)))
        .cloned()
        .collect())
}
