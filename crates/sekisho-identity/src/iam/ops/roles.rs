//! Roles: trust policy, session duration, description, boundary, tags.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::keys::UniqueIdKind;

use super::{merge_tags, remove_tags};
use crate::iam::model::{PolicyDocument, Role, Tag};
use crate::iam::persist::trust_label;
use crate::iam::validate::{self, DocumentKind};
use crate::iam::{Collection, IamError, IamState, key_of, new_unique_id};

/// `CreateRole`.
#[derive(Debug, Clone, Default)]
pub struct CreateRoleRequest {
    pub role_name: String,
    /// Default `/`.
    pub path: Option<String>,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    /// Seconds, 3600 (the default) to 43200.
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

/// Checks and compiles a trust policy, quota included.
fn trust_policy(text: &str, role_name: &str) -> Result<PolicyDocument, IamError> {
    let policy = validate::document(text, DocumentKind::Trust, |size| {
        if size > validate::TRUST_POLICY_SIZE {
            return Err(IamError::quota(
                "ACLSizePerRole",
                validate::TRUST_POLICY_SIZE,
            ));
        }
        Ok(())
    })?;
    let mut doc = PolicyDocument::new(text.to_string(), policy);
    doc.label(trust_label(role_name));
    Ok(doc)
}

impl IamState {
    pub fn create_role(
        &mut self,
        req: CreateRoleRequest,
        now: OffsetDateTime,
    ) -> Result<&Role, IamError> {
        validate::role_name(&req.role_name)?;
        let path = req.path.unwrap_or_else(|| "/".to_string());
        validate::path(&path)?;
        if let Some(d) = &req.description {
            validate::description(d)?;
        }
        let max_session_duration = match req.max_session_duration {
            Some(d) => validate::max_session_duration(d)?,
            None => validate::DEFAULT_SESSION_DURATION,
        };
        validate::tags(&req.tags)?;
        let trust = trust_policy(&req.assume_role_policy_document, &req.role_name)?;
        let boundary = req
            .permissions_boundary
            .as_deref()
            .map(|b| self.boundary_arn(b))
            .transpose()?;
        let key = key_of(&req.role_name);
        if self.roles.contains_key(&key) {
            return Err(IamError::exists(format!(
                "Role with name {} already exists.",
                req.role_name
            )));
        }
        if self.roles.len() >= self.quotas.roles {
            return Err(IamError::quota("RolesPerAccount", self.quotas.roles));
        }
        let role = Role {
            arn: self.arn("role", &path, &req.role_name),
            id: new_unique_id(UniqueIdKind::Role)?,
            name: req.role_name,
            path,
            create_date: now,
            assume_role_policy: trust,
            description: req.description,
            max_session_duration,
            permissions_boundary: boundary.clone(),
            tags: req.tags,
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
        };
        if let Some(b) = &boundary {
            self.usage_mut(b).boundaries += 1;
        }
        Arc::make_mut(&mut self.roles).insert(key.clone(), Arc::new(role));
        self.touch(Collection::Roles, &key);
        self.role_ref(&key).map(|r| &**r)
    }

    pub fn get_role(&self, role_name: &str) -> Result<&Role, IamError> {
        validate::role_name(role_name)?;
        self.role_ref(role_name).map(|r| &**r)
    }

    /// A role by ARN (for STS `AssumeRole`): the ARN must match exactly.
    pub fn find_role_by_arn(&self, arn: &str) -> Option<&Role> {
        let name = arn.rsplit('/').next()?;
        self.roles
            .get(&key_of(name))
            .filter(|r| r.arn == arn)
            .map(|r| &**r)
    }

    pub fn list_roles(&self, path_prefix: Option<&str>) -> Result<Vec<&Role>, IamError> {
        let prefix = path_prefix.unwrap_or("/");
        validate::path_prefix(prefix)?;
        let mut out: Vec<(&String, &Role)> = self
            .roles
            .iter()
            .filter(|(_, r)| r.path.starts_with(prefix))
            .map(|(k, r)| (k, &**r))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Deletes a role without inline or attached policies.
    pub fn delete_role(&mut self, role_name: &str) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let key = key_of(&role.name);
        if !role.inline_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !role.attached_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        if let Some(b) = role.permissions_boundary.clone() {
            self.release(&b, true);
        }
        Arc::make_mut(&mut self.roles).remove(&key);
        self.touch(Collection::Roles, &key);
        Ok(())
    }

    /// `UpdateRole`: the description and/or the maximum session duration.
    pub fn update_role(
        &mut self,
        role_name: &str,
        description: Option<String>,
        max_session_duration: Option<i64>,
    ) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let key = key_of(&role.name);
        if let Some(d) = &description {
            validate::description(d)?;
        }
        let duration = max_session_duration
            .map(validate::max_session_duration)
            .transpose()?;
        if description.is_none() && duration.is_none() {
            return Ok(());
        }
        let role = self.role_mut(&key)?;
        if let Some(d) = description {
            role.description = Some(d);
        }
        if let Some(d) = duration {
            role.max_session_duration = d;
        }
        Ok(())
    }

    pub fn update_assume_role_policy(
        &mut self,
        role_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let key = key_of(&role.name);
        let trust = trust_policy(policy_document, &role.name)?;
        self.role_mut(&key)?.assume_role_policy = trust;
        Ok(())
    }

    pub fn tag_role(&mut self, role_name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let merged = merge_tags(&role.tags, tags, "TagsPerRole")?;
        let key = key_of(&role.name);
        self.role_mut(&key)?.tags = merged;
        Ok(())
    }

    pub fn untag_role(&mut self, role_name: &str, tag_keys: &[String]) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let kept = remove_tags(&role.tags, tag_keys)?;
        if kept.len() != role.tags.len() {
            let key = key_of(&role.name);
            self.role_mut(&key)?.tags = kept;
        }
        Ok(())
    }

    pub fn list_role_tags(&self, role_name: &str) -> Result<&[Tag], IamError> {
        Ok(&self.get_role(role_name)?.tags)
    }

    pub fn put_role_permissions_boundary(
        &mut self,
        role_name: &str,
        permissions_boundary: &str,
    ) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let key = key_of(&role.name);
        let old = role.permissions_boundary.clone();
        let arn = self.boundary_arn(permissions_boundary)?;
        if old.as_deref() == Some(arn.as_str()) {
            return Ok(());
        }
        if let Some(old) = old {
            self.release(&old, true);
        }
        self.usage_mut(&arn).boundaries += 1;
        self.role_mut(&key)?.permissions_boundary = Some(arn);
        Ok(())
    }

    /// Removes the boundary; a role without one is left as it is.
    pub fn delete_role_permissions_boundary(&mut self, role_name: &str) -> Result<(), IamError> {
        let role = self.get_role(role_name)?;
        let key = key_of(&role.name);
        if let Some(old) = role.permissions_boundary.clone() {
            self.release(&old, true);
            self.role_mut(&key)?.permissions_boundary = None;
        }
        Ok(())
    }
}
