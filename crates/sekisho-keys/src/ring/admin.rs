//! Key creation, aliases, key policies, tags, enable/disable.

use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::model::{Alias, Key, KeyState, Material, Rotation, Tag};
use super::validate::{self, DEFAULT_ROTATION_PERIOD_DAYS, MAX_TAGS};
use super::{
    AliasListEntry, CreateKeyRequest, KeyMetadata, KeyRing, MAX_ALIASES_PER_KEY, check_not_pending,
    default_key_policy, persist,
};
use crate::aead::fill_random;
use crate::error::KeyError;

/// A fresh material version with a random `KeyMaterialId`.
pub(super) fn new_material(
    version: u32,
    now: OffsetDateTime,
    rotation: Option<super::RotationType>,
) -> Result<Material, KeyError> {
    let mut secret = Zeroizing::new([0u8; 32]);
    fill_random(secret.as_mut_slice())?;
    let mut id = [0u8; 32];
    fill_random(&mut id)?;
    Ok(Material {
        version,
        secret,
        created: now,
        rotation,
        material_id: hex::encode(id),
    })
}

impl KeyRing {
    /// KMS `CreateKey`: a symmetric encryption key, Enabled, rotation off,
    /// with the default key policy unless one is given.
    pub fn create_key(
        &mut self,
        region: &str,
        req: &CreateKeyRequest,
        now: OffsetDateTime,
    ) -> Result<KeyMetadata, KeyError> {
        validate::create_key(req)?;
        let description = req.description.clone().unwrap_or_default();
        validate::description(&description)?;
        let policy = match &req.policy {
            Some(p) => {
                validate::policy(p)?;
                p.clone()
            }
            None => default_key_policy(&self.account),
        };
        let mut tags = Vec::new();
        merge_tags(&mut tags, &req.tags)?;

        let mut uuid_bytes = [0u8; 16];
        fill_random(&mut uuid_bytes)?;
        let uuid = uuid::Builder::from_random_bytes(uuid_bytes).into_uuid();
        let id = uuid.hyphenated().to_string();
        let key = Key {
            arn: self.key_arn(region, &id),
            id: id.clone(),
            uuid: *uuid.as_bytes(),
            region: region.to_string(),
            description,
            created: now,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            tags,
            policy,
            rotation: Rotation {
                enabled: false,
                period_days: DEFAULT_ROTATION_PERIOD_DAYS,
                next: None,
            },
            materials: vec![new_material(1, now, None)?],
        };
        let meta = self.metadata(&key);
        self.dirty.insert(persist::key_record(&id));
        self.keys.insert(id, key);
        Ok(meta)
    }

    /// KMS `UpdateKeyDescription`.
    pub fn update_key_description(
        &mut self,
        region: &str,
        key_ref: &str,
        description: &str,
    ) -> Result<(), KeyError> {
        validate::description(description)?;
        check_not_pending(self.resolve_key_only(region, key_ref)?)?;
        self.key_mut(region, key_ref)?.description = description.to_string();
        Ok(())
    }

    /// KMS `EnableKey`.
    pub fn enable_key(&mut self, region: &str, key_ref: &str) -> Result<(), KeyError> {
        self.set_enabled(region, key_ref, KeyState::Enabled)
    }

    /// KMS `DisableKey`.
    pub fn disable_key(&mut self, region: &str, key_ref: &str) -> Result<(), KeyError> {
        self.set_enabled(region, key_ref, KeyState::Disabled)
    }

    fn set_enabled(&mut self, region: &str, key_ref: &str, to: KeyState) -> Result<(), KeyError> {
        check_not_pending(self.resolve_key_only(region, key_ref)?)?;
        self.key_mut(region, key_ref)?.state = to;
        Ok(())
    }

    /// KMS `GetKeyPolicy` (name `default` or absent).
    pub fn get_key_policy(
        &self,
        region: &str,
        key_ref: &str,
        policy_name: Option<&str>,
    ) -> Result<&str, KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        validate::policy_name(policy_name)?;
        Ok(&k.policy)
    }

    /// KMS `PutKeyPolicy`. The gateway checks the policy's meaning (and the
    /// lockout safety check) before calling this.
    pub fn put_key_policy(
        &mut self,
        region: &str,
        key_ref: &str,
        policy_name: Option<&str>,
        policy: &str,
    ) -> Result<(), KeyError> {
        self.resolve_key_only(region, key_ref)?;
        validate::policy_name(policy_name)?;
        validate::policy(policy)?;
        self.key_mut(region, key_ref)?.policy = policy.to_string();
        Ok(())
    }

    /// KMS `TagResource`: adds tags, replacing the value of existing keys.
    pub fn tag_resource(
        &mut self,
        region: &str,
        key_ref: &str,
        tags: &[Tag],
    ) -> Result<(), KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        check_not_pending(k)?;
        let mut merged = k.tags.clone();
        merge_tags(&mut merged, tags)?;
        self.key_mut(region, key_ref)?.tags = merged;
        Ok(())
    }

    /// KMS `UntagResource`; unknown tag keys are ignored.
    pub fn untag_resource(
        &mut self,
        region: &str,
        key_ref: &str,
        tag_keys: &[String],
    ) -> Result<(), KeyError> {
        check_not_pending(self.resolve_key_only(region, key_ref)?)?;
        self.key_mut(region, key_ref)?
            .tags
            .retain(|t| !tag_keys.contains(&t.tag_key));
        Ok(())
    }

    /// KMS `ListResourceTags`.
    pub fn list_resource_tags(&self, region: &str, key_ref: &str) -> Result<Vec<Tag>, KeyError> {
        Ok(self.resolve_key_only(region, key_ref)?.tags.clone())
    }

    /// KMS `CreateAlias`. The target is a key id or key ARN in `region`.
    pub fn create_alias(
        &mut self,
        region: &str,
        alias_name: &str,
        target_key_ref: &str,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        validate::alias_name(alias_name)?;
        let target = self.resolve_key_only(region, target_key_ref)?;
        check_not_pending(target)?;
        let target_id = target.id.clone();
        let slot = (region.to_string(), alias_name.to_string());
        if self.aliases.contains_key(&slot) {
            return Err(KeyError::AlreadyExists(format!(
                "An alias with the name {} already exists",
                self.alias_arn(region, alias_name)
            )));
        }
        self.check_alias_quota(&target_id)?;
        self.dirty.insert(persist::alias_record(region, alias_name));
        self.aliases.insert(
            slot,
            Alias {
                name: alias_name.to_string(),
                region: region.to_string(),
                target_key_id: target_id,
                created: now,
                updated: now,
            },
        );
        Ok(())
    }

    /// KMS `UpdateAlias`: points an existing alias at another key.
    pub fn update_alias(
        &mut self,
        region: &str,
        alias_name: &str,
        target_key_ref: &str,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        let slot = (region.to_string(), alias_name.to_string());
        if !self.aliases.contains_key(&slot) {
            return Err(KeyError::NotFound(format!(
                "Alias {} is not found.",
                self.alias_arn(region, alias_name)
            )));
        }
        let target = self.resolve_key_only(region, target_key_ref)?;
        check_not_pending(target)?;
        let target_id = target.id.clone();
        if self
            .aliases
            .get(&slot)
            .is_some_and(|a| a.target_key_id != target_id)
        {
            self.check_alias_quota(&target_id)?;
        }
        self.dirty.insert(persist::alias_record(region, alias_name));
        if let Some(a) = self.aliases.get_mut(&slot) {
            a.target_key_id = target_id;
            a.updated = now;
        }
        Ok(())
    }

    /// KMS `DeleteAlias`.
    pub fn delete_alias(&mut self, region: &str, alias_name: &str) -> Result<(), KeyError> {
        let slot = (region.to_string(), alias_name.to_string());
        if self.aliases.remove(&slot).is_none() {
            return Err(KeyError::NotFound(format!(
                "Alias {} is not found.",
                self.alias_arn(region, alias_name)
            )));
        }
        self.dirty.insert(persist::alias_record(region, alias_name));
        Ok(())
    }

    /// KMS `ListAliases` for a region, optionally only those of one key
    /// (key id or key ARN), ordered by name.
    pub fn list_aliases(
        &self,
        region: &str,
        key_ref: Option<&str>,
    ) -> Result<Vec<AliasListEntry>, KeyError> {
        let only = match key_ref {
            Some(r) => Some(self.resolve_key_only(region, r)?.id.clone()),
            None => None,
        };
        Ok(self
            .aliases
            .values()
            .filter(|a| a.region == region)
            .filter(|a| only.as_ref().is_none_or(|id| &a.target_key_id == id))
            .map(|a| AliasListEntry {
                alias_name: a.name.clone(),
                alias_arn: self.alias_arn(region, &a.name),
                target_key_id: a.target_key_id.clone(),
                creation_date: a.created,
                last_updated_date: a.updated,
            })
            .collect())
    }

    fn check_alias_quota(&self, key_id: &str) -> Result<(), KeyError> {
        let n = self
            .aliases
            .values()
            .filter(|a| a.target_key_id == key_id)
            .count();
        if n >= MAX_ALIASES_PER_KEY {
            return Err(KeyError::LimitExceeded(format!(
                "Key {key_id} already has {MAX_ALIASES_PER_KEY} aliases"
            )));
        }
        Ok(())
    }
}

/// Validates and merges `new` into `tags` (same key → value replaced),
/// enforcing the 50-tag quota on the result.
fn merge_tags(tags: &mut Vec<Tag>, new: &[Tag]) -> Result<(), KeyError> {
    for t in new {
        validate::tag(t)?;
        match tags.iter_mut().find(|e| e.tag_key == t.tag_key) {
            Some(e) => e.tag_value = t.tag_value.clone(),
            None => tags.push(t.clone()),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(KeyError::LimitExceeded(format!(
            "A key can have at most {MAX_TAGS} tags (this request would make {})",
            tags.len()
        )));
    }
    Ok(())
}
