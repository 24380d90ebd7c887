//! Customer-managed policies and their versions.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::keys::UniqueIdKind;

use super::parse_policy_arn;
use crate::iam::model::{ManagedPolicy, PolicyDocument, PolicyVersion, Tag};
use crate::iam::validate::{self, DocumentKind};
use crate::iam::{Collection, IamError, IamErrorKind, IamState, key_of, managed, new_unique_id};

/// `CreatePolicy`.
#[derive(Debug, Clone, Default)]
pub struct CreatePolicyRequest {
    pub policy_name: String,
    /// Default `/`.
    pub path: Option<String>,
    pub policy_document: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

/// `Scope` of `ListPolicies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyScope {
    #[default]
    All,
    /// AWS-managed only.
    Aws,
    /// Customer-managed only.
    Local,
}

impl PolicyScope {
    /// Reads the API's `Scope` parameter.
    pub fn parse(text: &str) -> Result<PolicyScope, IamError> {
        match text {
            "All" => Ok(PolicyScope::All),
            "AWS" => Ok(PolicyScope::Aws),
            "Local" => Ok(PolicyScope::Local),
            other => Err(IamError::validation(
                Some(other),
                "scope",
                "Member must satisfy enum value set: [All, AWS, Local]",
            )),
        }
    }
}

/// `ListPolicies`.
#[derive(Debug, Clone, Default)]
pub struct ListPoliciesRequest {
    pub scope: PolicyScope,
    pub only_attached: bool,
    pub path_prefix: Option<String>,
}

/// A managed policy with its usage in the account (what `GetPolicy` and
/// `ListPolicies` return).
#[derive(Debug, Clone, Copy)]
pub struct PolicyInfo<'a> {
    pub policy: &'a ManagedPolicy,
    pub attachment_count: u32,
    pub permissions_boundary_usage_count: u32,
}

fn unmodifiable(arn: &str) -> IamError {
    IamError::new(
        IamErrorKind::UnmodifiableEntity,
        format!("Policy {arn} is an AWS managed policy and cannot be modified."),
    )
}

fn version_not_found(arn: &str, version_id: &str) -> IamError {
    IamError::no_such(format!(
        "Policy {arn} version {version_id} does not exist or is not attachable."
    ))
}

/// Checks and compiles a managed policy document, quota included.
fn managed_document(text: &str, arn: &str) -> Result<PolicyDocument, IamError> {
    let policy = validate::document(text, DocumentKind::Managed, |size| {
        if size > validate::MANAGED_POLICY_SIZE {
            return Err(IamError::quota("PolicySize", validate::MANAGED_POLICY_SIZE));
        }
        Ok(())
    })?;
    let mut doc = PolicyDocument::new(text.to_string(), policy);
    doc.label(arn.to_string());
    Ok(doc)
}

impl IamState {
    fn info<'a>(&self, policy: &'a ManagedPolicy) -> PolicyInfo<'a> {
        let usage = self.usage_of(&policy.arn);
        PolicyInfo {
            policy,
            attachment_count: usage.attachments,
            permissions_boundary_usage_count: usage.boundaries,
        }
    }

    /// A policy by ARN, or NoSuchEntity.
    fn policy_by_arn(&self, arn: &str) -> Result<&Arc<ManagedPolicy>, IamError> {
        parse_policy_arn("policyArn", arn)?;
        self.resolve_policy(arn)
            .ok_or_else(|| IamError::policy_not_found(arn))
    }

    /// A customer-managed policy by ARN, for changing: its map key.
    fn local_policy_key(&self, arn: &str) -> Result<String, IamError> {
        let policy = self.policy_by_arn(arn)?;
        if policy.aws_managed {
            return Err(unmodifiable(arn));
        }
        Ok(key_of(&policy.name))
    }

    pub fn create_policy(
        &mut self,
        req: CreatePolicyRequest,
        now: OffsetDateTime,
    ) -> Result<PolicyInfo<'_>, IamError> {
        validate::policy_name(&req.policy_name)?;
        let path = req.path.unwrap_or_else(|| "/".to_string());
        validate::path(&path)?;
        if let Some(d) = &req.description {
            validate::description(d)?;
        }
        validate::tags(&req.tags)?;
        let arn = self.arn("policy", &path, &req.policy_name);
        let document = managed_document(&req.policy_document, &arn)?;
        let key = key_of(&req.policy_name);
        if self.policies.contains_key(&key) {
            return Err(IamError::exists(format!(
                "A policy called {} already exists. Duplicate names are not allowed.",
                req.policy_name
            )));
        }
        if self.policies.len() >= self.quotas.policies {
            return Err(IamError::quota(
                "CustomerManagedPoliciesPerAccount",
                self.quotas.policies,
            ));
        }
        let policy = ManagedPolicy {
            name: req.policy_name,
            path,
            id: new_unique_id(UniqueIdKind::ManagedPolicy)?,
            arn,
            description: req.description,
            create_date: now,
            update_date: now,
            default_version_id: "v1".to_string(),
            versions: vec![PolicyVersion {
                version_id: "v1".to_string(),
                document,
                create_date: now,
            }],
            next_version: 2,
            tags: req.tags,
            aws_managed: false,
        };
        Arc::make_mut(&mut self.policies).insert(key.clone(), Arc::new(policy));
        self.touch(Collection::Policies, &key);
        let policy = self
            .policies
            .get(&key)
            .ok_or_else(|| IamError::internal("the new policy vanished"))?;
        Ok(self.info(policy))
    }

    pub fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo<'_>, IamError> {
        let policy = self.policy_by_arn(policy_arn)?;
        Ok(self.info(policy))
    }

    /// Managed policies by name, filtered as `ListPolicies` asks.
    pub fn list_policies(
        &self,
        req: &ListPoliciesRequest,
    ) -> Result<Vec<PolicyInfo<'_>>, IamError> {
        let prefix = req.path_prefix.as_deref().unwrap_or("/");
        validate::path_prefix(prefix)?;
        let mut out: Vec<PolicyInfo<'_>> = Vec::new();
        if req.scope != PolicyScope::Local {
            out.extend(managed::all().iter().map(|p| self.info(p)));
        }
        if req.scope != PolicyScope::Aws {
            out.extend(self.policies.values().map(|p| self.info(p)));
        }
        out.retain(|i| {
            i.policy.path.starts_with(prefix) && (!req.only_attached || i.attachment_count > 0)
        });
        out.sort_by(|a, b| {
            key_of(&a.policy.name)
                .cmp(&key_of(&b.policy.name))
                .then_with(|| a.policy.arn.cmp(&b.policy.arn))
        });
        Ok(out)
    }

    /// Deletes a customer-managed policy that is not attached, not used as
    /// a boundary and has no versions besides the default.
    pub fn delete_policy(&mut self, policy_arn: &str) -> Result<(), IamError> {
        let key = self.local_policy_key(policy_arn)?;
        let policy = self
            .policies
            .get(&key)
            .ok_or_else(|| IamError::policy_not_found(policy_arn))?;
        let usage = self.usage_of(&policy.arn);
        if usage.attachments > 0 || usage.boundaries > 0 {
            return Err(IamError::conflict(
                "Cannot delete a policy attached to entities.",
            ));
        }
        if policy.versions.len() > 1 {
            return Err(IamError::conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        Arc::make_mut(&mut self.policies).remove(&key);
        self.touch(Collection::Policies, &key);
        Ok(())
    }

    pub fn create_policy_version(
        &mut self,
        policy_arn: &str,
        policy_document: &str,
        set_as_default: bool,
        now: OffsetDateTime,
    ) -> Result<&PolicyVersion, IamError> {
        let key = self.local_policy_key(policy_arn)?;
        let policy = self
            .policies
            .get(&key)
            .ok_or_else(|| IamError::policy_not_found(policy_arn))?;
        let document = managed_document(policy_document, &policy.arn)?;
        if policy.versions.len() >= self.quotas.versions_per_policy {
            return Err(IamError::limit(format!(
                "A managed policy can have up to {} versions. Before you create a new version, you must delete an existing version.",
                self.quotas.versions_per_policy
            )));
        }
        let policy = self.policy_mut(&key)?;
        let version_id = format!("v{}", policy.next_version);
        policy.next_version = policy.next_version.saturating_add(1);
        policy.versions.push(PolicyVersion {
            version_id: version_id.clone(),
            document,
            create_date: now,
        });
        if set_as_default {
            policy.default_version_id = version_id.clone();
        }
        policy.update_date = now;
        let policy: &ManagedPolicy = policy;
        policy
            .version(&version_id)
            .ok_or_else(|| IamError::internal("the new version vanished"))
    }

    pub fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<&PolicyVersion, IamError> {
        validate::version_id(version_id)?;
        let policy = self.policy_by_arn(policy_arn)?;
        policy
            .version(version_id)
            .ok_or_else(|| version_not_found(policy_arn, version_id))
    }

    /// The versions, newest first.
    pub fn list_policy_versions(&self, policy_arn: &str) -> Result<Vec<&PolicyVersion>, IamError> {
        let policy = self.policy_by_arn(policy_arn)?;
        Ok(policy.versions.iter().rev().collect())
    }

    pub fn delete_policy_version(
        &mut self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), IamError> {
        validate::version_id(version_id)?;
        let key = self.local_policy_key(policy_arn)?;
        let policy = self
            .policies
            .get(&key)
            .ok_or_else(|| IamError::policy_not_found(policy_arn))?;
        if policy.version(version_id).is_none() {
            return Err(version_not_found(policy_arn, version_id));
        }
        if policy.default_version_id == version_id {
            return Err(IamError::conflict(
                "Cannot delete the default version of a policy.",
            ));
        }
        self.policy_mut(&key)?
            .versions
            .retain(|v| v.version_id != version_id);
        Ok(())
    }

    pub fn set_default_policy_version(
        &mut self,
        policy_arn: &str,
        version_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), IamError> {
        validate::version_id(version_id)?;
        let key = self.local_policy_key(policy_arn)?;
        let policy = self
            .policies
            .get(&key)
            .ok_or_else(|| IamError::policy_not_found(policy_arn))?;
        if policy.version(version_id).is_none() {
            return Err(version_not_found(policy_arn, version_id));
        }
        if policy.default_version_id == version_id {
            return Ok(());
        }
        let policy = self.policy_mut(&key)?;
        policy.default_version_id = version_id.to_string();
        policy.update_date = now;
        Ok(())
    }
}
