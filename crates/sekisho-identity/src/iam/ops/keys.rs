//! Access keys of users.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::iam::model::{AccessKey, AccessKeyStatus, SealedSecret, User};
use crate::iam::{IamError, IamState, key_of, validate};

fn key_not_found(id: &str) -> IamError {
    IamError::no_such(format!("The Access Key with id {id} cannot be found."))
}

impl IamState {
    /// Records a new active access key for the user: the caller generated
    /// the id and the secret and sealed the secret.
    pub fn create_access_key(
        &mut self,
        user_name: &str,
        access_key_id: String,
        secret: SealedSecret,
        now: OffsetDateTime,
    ) -> Result<&AccessKey, IamError> {
        let user = self.get_user(user_name)?;
        validate::access_key_id(&access_key_id)?;
        if user.access_keys.len() >= self.quotas.access_keys_per_user {
            return Err(IamError::quota(
                "AccessKeysPerUser",
                self.quotas.access_keys_per_user,
            ));
        }
        if self.key_index.contains_key(&access_key_id) {
            return Err(IamError::exists(format!(
                "Access key {access_key_id} already exists."
            )));
        }
        let key = key_of(&user.name);
        let user = self.user_mut(&key)?;
        user.access_keys.push(AccessKey {
            id: access_key_id.clone(),
            status: AccessKeyStatus::Active,
            create_date: now,
            secret,
        });
        Arc::make_mut(&mut self.key_index).insert(access_key_id.clone(), key.clone());
        self.user_ref(&key)?
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .ok_or_else(|| IamError::internal("the new access key vanished"))
    }

    pub fn list_access_keys(&self, user_name: &str) -> Result<&[AccessKey], IamError> {
        Ok(&self.get_user(user_name)?.access_keys)
    }

    pub fn update_access_key(
        &mut self,
        user_name: &str,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        validate::access_key_id(access_key_id)?;
        let key = key_of(&user.name);
        let current = user
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .ok_or_else(|| key_not_found(access_key_id))?;
        if current.status == status {
            return Ok(());
        }
        let user = self.user_mut(&key)?;
        if let Some(k) = user.access_keys.iter_mut().find(|k| k.id == access_key_id) {
            k.status = status;
        }
        Ok(())
    }

    pub fn delete_access_key(
        &mut self,
        user_name: &str,
        access_key_id: &str,
    ) -> Result<(), IamError> {
        let user = self.get_user(user_name)?;
        validate::access_key_id(access_key_id)?;
        let key = key_of(&user.name);
        if !user.access_keys.iter().any(|k| k.id == access_key_id) {
            return Err(key_not_found(access_key_id));
        }
        self.user_mut(&key)?
            .access_keys
            .retain(|k| k.id != access_key_id);
        Arc::make_mut(&mut self.key_index).remove(access_key_id);
        Ok(())
    }

    /// The user and key of an access key id, in O(1); inactive keys are
    /// returned too (the caller checks `status`).
    pub fn find_access_key(&self, access_key_id: &str) -> Option<(&User, &AccessKey)> {
        let user = self.users.get(self.key_index.get(access_key_id)?)?;
        let key = user.access_keys.iter().find(|k| k.id == access_key_id)?;
        Some((user, key))
    }
}
