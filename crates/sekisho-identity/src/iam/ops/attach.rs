//! Managed-policy attachments and inline policies of users, groups and
//! roles.

use std::collections::BTreeMap;

use super::parse_policy_arn;
use crate::iam::model::PolicyDocument;
use crate::iam::persist::inline_label;
use crate::iam::validate::{self, DocumentKind};
use crate::iam::{IamError, IamState, key_of};

/// An entry of `ListAttached*Policies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    User,
    Group,
    Role,
}

impl Owner {
    fn word(self) -> &'static str {
        match self {
            Owner::User => "user",
            Owner::Group => "group",
            Owner::Role => "role",
        }
    }

    fn document_kind(self) -> DocumentKind {
        match self {
            Owner::User => DocumentKind::UserInline,
            Owner::Group => DocumentKind::GroupInline,
            Owner::Role => DocumentKind::RoleInline,
        }
    }

    fn inline_limit(self) -> usize {
        match self {
            Owner::User => validate::USER_INLINE_SIZE,
            Owner::Group => validate::GROUP_INLINE_SIZE,
            Owner::Role => validate::ROLE_INLINE_SIZE,
        }
    }
}

impl IamState {
    /// Validates the owner's name, finds it and returns (key, name as
    /// stored).
    fn owner(&self, owner: Owner, name: &str) -> Result<(String, String), IamError> {
        let stored = match owner {
            Owner::User => {
                validate::user_name(name)?;
                &self.user_ref(name)?.name
            }
            Owner::Group => {
                validate::group_name(name)?;
                &self.group_ref(name)?.name
            }
            Owner::Role => {
                validate::role_name(name)?;
                &self.role_ref(name)?.name
            }
        };
        Ok((key_of(stored), stored.clone()))
    }

    fn attached(&self, owner: Owner, key: &str) -> &[String] {
        let list = match owner {
            Owner::User => self.users.get(key).map(|u| &u.attached_policies),
            Owner::Group => self.groups.get(key).map(|g| &g.attached_policies),
            Owner::Role => self.roles.get(key).map(|r| &r.attached_policies),
        };
        list.map_or(&[], |l| l.as_slice())
    }

    fn attached_mut(&mut self, owner: Owner, key: &str) -> Result<&mut Vec<String>, IamError> {
        Ok(match owner {
            Owner::User => &mut self.user_mut(key)?.attached_policies,
            Owner::Group => &mut self.group_mut(key)?.attached_policies,
            Owner::Role => &mut self.role_mut(key)?.attached_policies,
        })
    }

    fn inline(&self, owner: Owner, key: &str) -> Option<&BTreeMap<String, PolicyDocument>> {
        match owner {
            Owner::User => self.users.get(key).map(|u| &u.inline_policies),
            Owner::Group => self.groups.get(key).map(|g| &g.inline_policies),
            Owner::Role => self.roles.get(key).map(|r| &r.inline_policies),
        }
    }

    fn inline_mut(
        &mut self,
        owner: Owner,
        key: &str,
    ) -> Result<&mut BTreeMap<String, PolicyDocument>, IamError> {
        Ok(match owner {
            Owner::User => &mut self.user_mut(key)?.inline_policies,
            Owner::Group => &mut self.group_mut(key)?.inline_policies,
            Owner::Role => &mut self.role_mut(key)?.inline_policies,
        })
    }

    fn attach(&mut self, owner: Owner, name: &str, policy_arn: &str) -> Result<(), IamError> {
        let (key, _) = self.owner(owner, name)?;
        parse_policy_arn("policyArn", policy_arn)?;
        let arn = self
            .resolve_policy(policy_arn)
            .map(|p| p.arn.clone())
            .ok_or_else(|| IamError::policy_not_found(policy_arn))?;
        let list = self.attached(owner, &key);
        if list.contains(&arn) {
            return Ok(());
        }
        let (quota, limit) = match owner {
            Owner::User => ("PoliciesPerUser", self.quotas.managed_policies_per_user),
            Owner::Group => ("PoliciesPerGroup", self.quotas.managed_policies_per_group),
            Owner::Role => ("PoliciesPerRole", self.quotas.managed_policies_per_role),
        };
        if list.len() >= limit {
            return Err(IamError::quota(quota, limit));
        }
        self.attached_mut(owner, &key)?.push(arn.clone());
        self.usage_mut(&arn).attachments += 1;
        Ok(())
    }

    fn detach(&mut self, owner: Owner, name: &str, policy_arn: &str) -> Result<(), IamError> {
        let (key, _) = self.owner(owner, name)?;
        parse_policy_arn("policyArn", policy_arn)?;
        let arn = self
            .resolve_policy(policy_arn)
            .map(|p| p.arn.clone())
            .filter(|a| self.attached(owner, &key).contains(a))
            .ok_or_else(|| IamError::no_such(format!("Policy {policy_arn} was not found.")))?;
        self.attached_mut(owner, &key)?.retain(|a| *a != arn);
        self.release(&arn, false);
        Ok(())
    }

    fn list_attached(
        &self,
        owner: Owner,
        name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<AttachedPolicy>, IamError> {
        let (key, _) = self.owner(owner, name)?;
        let prefix = path_prefix.unwrap_or("/");
        validate::path_prefix(prefix)?;
        self.attached(owner, &key)
            .iter()
            .map(|arn| {
                self.resolve_policy(arn)
                    .ok_or_else(|| IamError::internal(format!("attached policy {arn} is missing")))
            })
            .filter(|p| p.as_ref().map_or(true, |p| p.path.starts_with(prefix)))
            .map(|p| {
                p.map(|p| AttachedPolicy {
                    policy_name: p.name.clone(),
                    policy_arn: p.arn.clone(),
                })
            })
            .collect()
    }

    fn put_inline(
        &mut self,
        owner: Owner,
        name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        let (key, stored) = self.owner(owner, name)?;
        validate::policy_name(policy_name)?;
        // The quota is on all of the owner's inline policies together.
        let others: usize = self
            .inline(owner, &key)
            .map(|m| {
                m.iter()
                    .filter(|(n, _)| n.as_str() != policy_name)
                    .map(|(_, d)| validate::policy_size(d.text()))
                    .sum()
            })
            .unwrap_or(0);
        let limit = owner.inline_limit();
        let policy = validate::document(policy_document, owner.document_kind(), |size| {
            if others + size > limit {
                return Err(IamError::limit(format!(
                    "Maximum policy size of {limit} bytes exceeded for {} {stored}.",
                    owner.word()
                )));
            }
            Ok(())
        })?;
        let mut doc = PolicyDocument::new(policy_document.to_string(), policy);
        doc.label(inline_label(owner.word(), &stored, policy_name));
        self.inline_mut(owner, &key)?
            .insert(policy_name.to_string(), doc);
        Ok(())
    }

    fn inline_not_found(owner: Owner, policy_name: &str) -> IamError {
        IamError::no_such(format!(
            "The {} policy with name {policy_name} cannot be found.",
            owner.word()
        ))
    }

    fn get_inline(
        &self,
        owner: Owner,
        name: &str,
        policy_name: &str,
    ) -> Result<&PolicyDocument, IamError> {
        let (key, _) = self.owner(owner, name)?;
        validate::policy_name(policy_name)?;
        self.inline(owner, &key)
            .and_then(|m| m.get(policy_name))
            .ok_or_else(|| Self::inline_not_found(owner, policy_name))
    }

    fn delete_inline(
        &mut self,
        owner: Owner,
        name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        let (key, _) = self.owner(owner, name)?;
        validate::policy_name(policy_name)?;
        if !self
            .inline(owner, &key)
            .is_some_and(|m| m.contains_key(policy_name))
        {
            return Err(Self::inline_not_found(owner, policy_name));
        }
        self.inline_mut(owner, &key)?.remove(policy_name);
        Ok(())
    }

    fn list_inline(&self, owner: Owner, name: &str) -> Result<Vec<&str>, IamError> {
        let (key, _) = self.owner(owner, name)?;
        Ok(self
            .inline(owner, &key)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default())
    }

    // The API's operations.

    pub fn attach_user_policy(
        &mut self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.attach(Owner::User, user_name, policy_arn)
    }

    pub fn detach_user_policy(
        &mut self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.detach(Owner::User, user_name, policy_arn)
    }

    pub fn list_attached_user_policies(
        &self,
        user_name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<AttachedPolicy>, IamError> {
        self.list_attached(Owner::User, user_name, path_prefix)
    }

    pub fn attach_group_policy(
        &mut self,
        group_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.attach(Owner::Group, group_name, policy_arn)
    }

    pub fn detach_group_policy(
        &mut self,
        group_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.detach(Owner::Group, group_name, policy_arn)
    }

    pub fn list_attached_group_policies(
        &self,
        group_name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<AttachedPolicy>, IamError> {
        self.list_attached(Owner::Group, group_name, path_prefix)
    }

    pub fn attach_role_policy(
        &mut self,
        role_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.attach(Owner::Role, role_name, policy_arn)
    }

    pub fn detach_role_policy(
        &mut self,
        role_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.detach(Owner::Role, role_name, policy_arn)
    }

    pub fn list_attached_role_policies(
        &self,
        role_name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<AttachedPolicy>, IamError> {
        self.list_attached(Owner::Role, role_name, path_prefix)
    }

    pub fn put_user_policy(
        &mut self,
        user_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        self.put_inline(Owner::User, user_name, policy_name, policy_document)
    }

    pub fn get_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
    ) -> Result<&PolicyDocument, IamError> {
        self.get_inline(Owner::User, user_name, policy_name)
    }

    pub fn delete_user_policy(
        &mut self,
        user_name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        self.delete_inline(Owner::User, user_name, policy_name)
    }

    pub fn list_user_policies(&self, user_name: &str) -> Result<Vec<&str>, IamError> {
        self.list_inline(Owner::User, user_name)
    }

    pub fn put_group_policy(
        &mut self,
        group_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        self.put_inline(Owner::Group, group_name, policy_name, policy_document)
    }

    pub fn get_group_policy(
        &self,
        group_name: &str,
        policy_name: &str,
    ) -> Result<&PolicyDocument, IamError> {
        self.get_inline(Owner::Group, group_name, policy_name)
    }

    pub fn delete_group_policy(
        &mut self,
        group_name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        self.delete_inline(Owner::Group, group_name, policy_name)
    }

    pub fn list_group_policies(&self, group_name: &str) -> Result<Vec<&str>, IamError> {
        self.list_inline(Owner::Group, group_name)
    }

    pub fn put_role_policy(
        &mut self,
        role_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        self.put_inline(Owner::Role, role_name, policy_name, policy_document)
    }

    pub fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<&PolicyDocument, IamError> {
        self.get_inline(Owner::Role, role_name, policy_name)
    }

    pub fn delete_role_policy(
        &mut self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        self.delete_inline(Owner::Role, role_name, policy_name)
    }

    pub fn list_role_policies(&self, role_name: &str) -> Result<Vec<&str>, IamError> {
        self.list_inline(Owner::Role, role_name)
    }
}
