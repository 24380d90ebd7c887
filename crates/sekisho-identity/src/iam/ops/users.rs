//! Users: CreateUser, GetUser, ListUsers, DeleteUser, tags and the
//! permissions boundary.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::keys::UniqueIdKind;

use super::{merge_tags, remove_tags};
use crate::iam::model::{Tag, User};
use crate::iam::{Collection, IamError, IamState, key_of, new_unique_id, validate};

/// `CreateUser`.
#[derive(Debug, Clone, Default)]
pub struct CreateUserRequest {
    pub user_name: String,
    /// Default `/`.
    pub path: Option<String>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

impl IamState {
    pub fn create_user(
        &mut self,
        req: CreateUserRequest,
        now: OffsetDateTime,
    ) -> Result<&User, IamError> {
        validate::user_name(&req.user_name)?;
        let path = req.path.unwrap_or_else(|| "/".to_string());
        validate::path(&path)?;
        validate::tags(&req.tags)?;
        let boundary = req
            .permissions_boundary
            .as_deref()
            .map(|b| self.boundary_arn(b))
            .transpose()?;
        let key = key_of(&req.user_name);
        if self.users.contains_key(&key) {
            return Err(IamError::exists(format!(
                "User with name {} already exists.",
                req.user_name
            )));
        }
        if self.users.len() >= self.quotas.users {
            return Err(IamError::quota("UsersPerAccount", self.quotas.users));
        }
        let user = User {
            arn: self.arn("user", &path, &req.user_name),
            id: new_unique_id(UniqueIdKind::User)?,
            name: req.user_name,
            path,
            create_date: now,
            tags: req.tags,
            permissions_boundary: boundary.clone(),
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
            groups: Vec::new(),
            access_keys: Vec::new(),
        };
        if let Some(b) = &boundary {
            self.usage_mut(b).boundaries += 1;
        }
        Arc::make_mut(&mut self.users).insert(key.clone(), Arc::new(user));
        self.touch(Collection::Users, &key);
        self.user_ref(&key).map(|u| &**u)
    }

    pub fn get_user(&self, user_name: &str) -> Result<&User, IamError> {
        validate::user_name(user_name)?;
        self.user_ref(user_name).map(|u| &**u)
    }

    /// Users whose path starts with `path_prefix` (default `/`), by name.
    pub fn list_users(&self, path_prefix: Option<&str>) -> Result<Vec<&User>, IamError> {
        let prefix = path_prefix.unwrap_or("/");
        validate::path_prefix(prefix)?;
        let mut out: Vec<(&String, &User)> = self
            .users
            .iter()
            .filter(|(_, u)| u.path.starts_with(prefix))
            .map(|(k, u)| (k, &**u))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        Ok(out.into_iter().map(|(_, u)| u).collect())
    }

    /// Deletes a user that has no access keys, MFA devices, policies or
    /// group memberships left.
    pub fn delete_user(&mut self, user_name: &str) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        let key = key_of(&user.name);
        if !user.access_keys.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must delete access keys first.",
            ));
        }
        if self
            .mfa
            .values()
            .any(|m| m.user.as_deref().is_some_and(|u| key_of(u) == key))
        {
            return Err(IamError::conflict(
                "Cannot delete entity, must delete MFA device first.",
            ));
        }
        if !user.inline_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !user.attached_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        if !user.groups.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must remove user from all groups first.",
            ));
        }
        let boundary = user.permissions_boundary.clone();
        if let Some(b) = boundary {
            self.release(&b, true);
        }
        Arc::make_mut(&mut self.users).remove(&key);
        self.touch(Collection::Users, &key);
        Ok(())
    }

    pub fn tag_user(&mut self, user_name: &str, tags: Vec<Tag>) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        let merged = merge_tags(&user.tags, tags, "TagsPerUser")?;
        let key = key_of(&user.name);
        self.user_mut(&key)?.tags = merged;
        Ok(())
    }

    pub fn untag_user(&mut self, user_name: &str, tag_keys: &[String]) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        let kept = remove_tags(&user.tags, tag_keys)?;
        if kept.len() != user.tags.len() {
            let key = key_of(&user.name);
            self.user_mut(&key)?.tags = kept;
        }
        Ok(())
    }

    pub fn list_user_tags(&self, user_name: &str) -> Result<&[Tag], IamError> {
        Ok(&self.get_user(user_name)?.tags)
    }

    pub fn put_user_permissions_boundary(
        &mut self,
        user_name: &str,
        permissions_boundary: &str,
    ) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        let key = key_of(&user.name);
        let old = user.permissions_boundary.clone();
        let arn = self.boundary_arn(permissions_boundary)?;
        if old.as_deref() == Some(arn.as_str()) {
            return Ok(());
        }
        if let Some(old) = old {
            self.release(&old, true);
        }
        self.usage_mut(&arn).boundaries += 1;
        self.user_mut(&key)?.permissions_boundary = Some(arn);
        Ok(())
    }

    /// Removes the boundary; a user without one is left as it is.
    pub fn delete_user_permissions_boundary(&mut self, user_name: &str) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        let key = key_of(&user.name);
        if let Some(old) = user.permissions_boundary.clone() {
            self.release(&old, true);
            self.user_mut(&key)?.permissions_boundary = None;
        }
        Ok(())
    }

    /// A user by ARN (for the authorizer and STS).
    pub fn find_user_by_arn(&self, arn: &str) -> Option<&User> {
        let name = arn.rsplit('/').next()?;
        self.users
            .get(&key_of(name))
            .filter(|u| u.arn == arn)
            .map(|u| &**u)
    }
}
