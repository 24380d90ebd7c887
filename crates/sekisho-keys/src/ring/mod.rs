//! The customer managed key service of one account: a pure state machine
//! like a KMS account. Every time-dependent operation takes `now`; no clock
//! is read here. Randomness comes from aws-lc-rs.
//!
//! Operations that name a key accept the forms KMS accepts for them:
//! `describe_key`, `encrypt`, `decrypt`, `re_encrypt`, `generate_data_key*`
//! and `seal_with` take a key id, key ARN, alias name or alias ARN; the
//! management operations (enable/disable, rotation, deletion, policy, tags,
//! alias targets) take a key id or key ARN only, as in KMS.

mod admin;
mod api;
mod crypto;
mod keyref;
mod lifecycle;
mod model;
mod persist;
pub(crate) mod validate;

pub use api::{
    AliasListEntry, CreateKeyRequest, DataKeyOutput, DataKeySize, DecryptOutput, EncryptOutput,
    KeyListEntry, KeyMetadata, ReEncryptOutput, RotationStatus, RotationsListEntry,
    SYMMETRIC_DEFAULT, ScheduledDeletion,
};
pub use model::{Alias, Key, KeyState, RotationType, Tag};
pub use persist::{COLLECTION, Change};

use std::collections::{BTreeMap, BTreeSet};

use keyref::KeyRef;

use crate::error::KeyError;

/// Most on-demand rotations per key. (The brief fixed 10; AWS's current
/// documentation says 25.)
pub const MAX_ON_DEMAND_ROTATIONS: usize = 10;
/// Most aliases per key (the KMS quota).
pub const MAX_ALIASES_PER_KEY: usize = 50;

/// All keys and aliases of one account, across regions.
#[derive(Debug)]
pub struct KeyRing {
    account: String,
    keys: BTreeMap<String, Key>,
    /// By (region, alias name).
    aliases: BTreeMap<(String, String), Alias>,
    /// Record keys (see `persist`) changed since the last `take_changes`.
    dirty: BTreeSet<String>,
}

/// AWS's default key policy: the account root may do `kms:*` on the key,
/// which hands access control to IAM policies.
pub fn default_key_policy(account: &str) -> String {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

impl KeyRing {
    /// An empty ring for `account`.
    pub fn new(account: impl Into<String>) -> KeyRing {
        KeyRing {
            account: account.into(),
            keys: BTreeMap::new(),
            aliases: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// Finds a key by id, key ARN, alias name or alias ARN in `region`.
    /// Another region's or account's ARN is `NotFound`.
    pub fn resolve(&self, region: &str, key_ref: &str) -> Result<&Key, KeyError> {
        self.resolve_ref(region, KeyRef::parse(key_ref)?, key_ref)
    }

    /// Like `resolve` but refuses aliases (management operations).
    fn resolve_key_only(&self, region: &str, key_ref: &str) -> Result<&Key, KeyError> {
        let r = KeyRef::parse(key_ref)?;
        if r.is_alias() {
            return Err(KeyError::NotFound(format!(
                "Invalid keyId {key_ref}: this operation takes a key ID or key ARN, not an alias"
            )));
        }
        self.resolve_ref(region, r, key_ref)
    }

    fn resolve_ref(&self, region: &str, r: KeyRef<'_>, text: &str) -> Result<&Key, KeyError> {
        let key_in_region = |id: &str| {
            self.keys
                .get(id)
                .filter(|k| k.region == region)
                .ok_or_else(|| {
                    KeyError::NotFound(format!("Key '{}' does not exist", self.key_arn(region, id)))
                })
        };
        match r {
            KeyRef::Id(id) => key_in_region(id),
            KeyRef::KeyArn {
                region: r,
                account,
                id,
            } => {
                if r != region || account != self.account {
                    return Err(KeyError::NotFound(format!("Key '{text}' does not exist")));
                }
                key_in_region(id)
            }
            KeyRef::AliasName(name) => self.alias_target(region, name, text),
            KeyRef::AliasArn {
                region: r,
                account,
                name,
            } => {
                if r != region || account != self.account {
                    return Err(KeyError::NotFound(format!("Alias {text} is not found.")));
                }
                self.alias_target(region, name, text)
            }
        }
    }

    fn alias_target(&self, region: &str, name: &str, text: &str) -> Result<&Key, KeyError> {
        let alias = self
            .aliases
            .get(&(region.to_string(), name.to_string()))
            .ok_or_else(|| {
                KeyError::NotFound(format!(
                    "Alias {} is not found.",
                    self.alias_arn(region, name)
                ))
            })?;
        self.keys
            .get(&alias.target_key_id)
            .filter(|k| k.region == region)
            .ok_or_else(|| KeyError::NotFound(format!("Alias {text} is not found.")))
    }

    /// Mutable access after a key-only resolve; marks the key dirty.
    fn key_mut(&mut self, region: &str, key_ref: &str) -> Result<&mut Key, KeyError> {
        let id = self.resolve_key_only(region, key_ref)?.id.clone();
        self.dirty.insert(persist::key_record(&id));
        self.keys
            .get_mut(&id)
            .ok_or_else(|| KeyError::Internal("key vanished".into()))
    }

    pub(crate) fn key_arn(&self, region: &str, id: &str) -> String {
        format!("arn:aws:kms:{region}:{}:key/{id}", self.account)
    }

    pub(crate) fn alias_arn(&self, region: &str, name: &str) -> String {
        format!("arn:aws:kms:{region}:{}:{name}", self.account)
    }

    /// KMS `DescribeKey`.
    pub fn describe_key(&self, region: &str, key_ref: &str) -> Result<KeyMetadata, KeyError> {
        self.resolve(region, key_ref).map(|k| self.metadata(k))
    }

    /// KMS `ListKeys` for a region, ordered by key id.
    pub fn list_keys(&self, region: &str) -> Vec<KeyListEntry> {
        self.keys
            .values()
            .filter(|k| k.region == region)
            .map(|k| KeyListEntry {
                key_id: k.id.clone(),
                key_arn: k.arn.clone(),
            })
            .collect()
    }

    /// Every key of every region (for the CLI and housekeeping).
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.values()
    }

    pub(crate) fn metadata(&self, k: &Key) -> KeyMetadata {
        KeyMetadata {
            aws_account_id: self.account.clone(),
            key_id: k.id.clone(),
            arn: k.arn.clone(),
            creation_date: k.created,
            enabled: k.state == KeyState::Enabled,
            description: k.description.clone(),
            key_usage: "ENCRYPT_DECRYPT",
            key_state: k.state,
            deletion_date: k.deletion_date,
            origin: "AWS_KMS",
            key_manager: "CUSTOMER",
            customer_master_key_spec: SYMMETRIC_DEFAULT,
            key_spec: SYMMETRIC_DEFAULT,
            encryption_algorithms: vec![SYMMETRIC_DEFAULT],
            multi_region: false,
            pending_deletion_window_in_days: k.pending_window_days,
            current_key_material_id: k
                .current()
                .map(|m| m.material_id.clone())
                .unwrap_or_default(),
        }
    }
}

/// Encrypt/Decrypt/GenerateDataKey/ReEncrypt need an Enabled key.
fn check_usable(k: &Key) -> Result<(), KeyError> {
    match k.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KeyError::Disabled(format!("{} is disabled.", k.arn))),
        KeyState::PendingDeletion => Err(pending(k)),
    }
}

/// Management operations refuse keys pending deletion.
fn check_not_pending(k: &Key) -> Result<(), KeyError> {
    if k.state == KeyState::PendingDeletion {
        return Err(pending(k));
    }
    Ok(())
}

fn pending(k: &Key) -> KeyError {
    KeyError::InvalidState(format!("{} is pending deletion.", k.arn))
}

/// The id of the key a ciphertext blob names, when the blob has this key
/// service's header (the gateway authorizes Decrypt on that key before
/// decrypting). Nothing is verified here: `decrypt` does that.
pub fn ciphertext_key_id(blob: &[u8]) -> Option<String> {
    crate::blob::parse_header(blob)
        .ok()
        .map(|h| uuid::Uuid::from_bytes(h.key_uuid).hyphenated().to_string())
}
