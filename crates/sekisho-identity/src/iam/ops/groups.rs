//! Groups and membership.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::keys::UniqueIdKind;

use crate::iam::model::{Group, User};
use crate::iam::{Collection, IamError, IamState, key_of, new_unique_id, validate};

impl IamState {
    pub fn create_group(
        &mut self,
        group_name: &str,
        path: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<&Group, IamError> {
        validate::group_name(group_name)?;
        let path = path.unwrap_or("/");
        validate::path(path)?;
        let key = key_of(group_name);
        if self.groups.contains_key(&key) {
            return Err(IamError::exists(format!(
                "Group with name {group_name} already exists."
            )));
        }
        if self.groups.len() >= self.quotas.groups {
            return Err(IamError::quota("GroupsPerAccount", self.quotas.groups));
        }
        let group = Group {
            name: group_name.to_string(),
            path: path.to_string(),
            id: new_unique_id(UniqueIdKind::Group)?,
            arn: self.arn("group", path, group_name),
            create_date: now,
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
        };
        Arc::make_mut(&mut self.groups).insert(key.clone(), Arc::new(group));
        self.touch(Collection::Groups, &key);
        self.group_ref(&key).map(|g| &**g)
    }

    /// The group and its members, by name.
    pub fn get_group(&self, group_name: &str) -> Result<(&Group, Vec<&User>), IamError> {
        validate::group_name(group_name)?;
        let group = self.group_ref(group_name)?;
        let users = self
            .members
            .get(&key_of(group_name))
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| self.users.get(k).map(|u| &**u))
                    .collect()
            })
            .unwrap_or_default();
        Ok((group, users))
    }

    pub fn list_groups(&self, path_prefix: Option<&str>) -> Result<Vec<&Group>, IamError> {
        let prefix = path_prefix.unwrap_or("/");
        validate::path_prefix(prefix)?;
        let mut out: Vec<(&String, &Group)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.path.starts_with(prefix))
            .map(|(k, g)| (k, &**g))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        Ok(out.into_iter().map(|(_, g)| g).collect())
    }

    /// Deletes a group without members or policies.
    pub fn delete_group(&mut self, group_name: &str) -> Result<(), IamError> {
        validate::group_name(group_name)?;
        let group = self.group_ref(group_name)?;
        let key = key_of(&group.name);
        if self.members.get(&key).is_some_and(|m| !m.is_empty()) {
            return Err(IamError::conflict(
                "Cannot delete entity, must remove users from group first.",
            ));
        }
        if !group.inline_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !group.attached_policies.is_empty() {
            return Err(IamError::conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        Arc::make_mut(&mut self.groups).remove(&key);
        Arc::make_mut(&mut self.members).remove(&key);
        self.touch(Collection::Groups, &key);
        Ok(())
    }

    /// Adds a user to a group; adding a member again changes nothing.
    pub fn add_user_to_group(&mut self, group_name: &str, user_name: &str) -> Result<(), IamError> {
        validate::group_name(group_name)?;
        validate::user_name(user_name)?;
        let group = self.group_ref(group_name)?.name.clone();
        let user = self.user_ref(user_name)?;
        let (gk, uk) = (key_of(&group), key_of(&user.name));
        if user.groups.iter().any(|g| key_of(g) == gk) {
            return Ok(());
        }
        if user.groups.len() >= self.quotas.groups_per_user {
            return Err(IamError::quota(
                "GroupsPerUser",
                self.quotas.groups_per_user,
            ));
        }
        self.user_mut(&uk)?.groups.push(group);
        Arc::make_mut(&mut self.members)
            .entry(gk)
            .or_default()
            .insert(uk);
        Ok(())
    }

    pub fn remove_user_from_group(
        &mut self,
        group_name: &str,
        user_name: &str,
    ) -> Result<(), IamError> {
        validate::group_name(group_name)?;
        validate::user_name(user_name)?;
        self.group_ref(group_name)?;
        let user = self.user_ref(user_name)?;
        let (gk, uk) = (key_of(group_name), key_of(&user.name));
        if !user.groups.iter().any(|g| key_of(g) == gk) {
            return Err(IamError::user_not_found(user_name));
        }
        self.user_mut(&uk)?.groups.retain(|g| key_of(g) != gk);
        let members = Arc::make_mut(&mut self.members);
        if let Some(m) = members.get_mut(&gk) {
            m.remove(&uk);
            if m.is_empty() {
                members.remove(&gk);
            }
        }
        Ok(())
    }

    /// The user's groups, in the order it joined them.
    pub fn list_groups_for_user(&self, user_name: &str) -> Result<Vec<&Group>, IamError> {
        let user = self.get_user(user_name)?;
        user.groups
            .iter()
            .map(|g| {
                self.groups
                    .get(&key_of(g))
                    .map(|g| &**g)
                    .ok_or_else(|| IamError::internal(format!("group {g} is missing")))
            })
            .collect()
    }
}
