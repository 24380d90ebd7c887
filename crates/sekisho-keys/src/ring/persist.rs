//! The ring as records of the gateway's key-value store.
//!
//! Record keys: `key/{key id}` and `alias/{region}/{alias name}`. Values are
//! JSON. Each key material version is stored wrapped by the master key with
//! AAD = label | account | key id | version, so a wrapped material cannot be
//! moved to another key, version or account. Nothing stored is plaintext
//! key material.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::KeyRing;
use super::model::{Alias, Key, KeyState, Material, Rotation, RotationType, Tag};
use crate::context::push_len;
use crate::dates::{rfc3339, rfc3339_opt};
use crate::error::KeyError;
use crate::master::MasterKey;

/// The store collection the gateway should use for these records.
pub const COLLECTION: &str = "kms";
const FORMAT: u32 = 1;
const MATERIAL_LABEL: &[u8] = b"sekisho/kms-key-material/v1";

/// One record to write (`Some`) or delete (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: String,
    pub value: Option<Value>,
}

pub(crate) fn key_record(id: &str) -> String {
    format!("key/{id}")
}

pub(crate) fn alias_record(region: &str, name: &str) -> String {
    format!("alias/{region}/{name}")
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredKey {
    format: u32,
    key_id: String,
    region: String,
    description: String,
    #[serde(with = "rfc3339")]
    creation_date: OffsetDateTime,
    key_state: KeyState,
    #[serde(with = "rfc3339_opt", default)]
    deletion_date: Option<OffsetDateTime>,
    #[serde(default)]
    pending_window_in_days: Option<u32>,
    policy: String,
    tags: Vec<Tag>,
    rotation_enabled: bool,
    rotation_period_in_days: u32,
    #[serde(with = "rfc3339_opt", default)]
    next_rotation_date: Option<OffsetDateTime>,
    materials: Vec<StoredMaterial>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredMaterial {
    version: u32,
    #[serde(with = "rfc3339")]
    creation_date: OffsetDateTime,
    #[serde(default)]
    rotation_type: Option<RotationType>,
    key_material_id: String,
    /// base64 of `MasterKey::wrap(material, material_aad(..))`.
    wrapped: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredAlias {
    alias_name: String,
    region: String,
    target_key_id: String,
    #[serde(with = "rfc3339")]
    creation_date: OffsetDateTime,
    #[serde(with = "rfc3339")]
    last_updated_date: OffsetDateTime,
}

fn material_aad(account: &str, key_id: &str, version: u32) -> Vec<u8> {
    let mut a = MATERIAL_LABEL.to_vec();
    push_len(&mut a, account.len());
    a.extend_from_slice(account.as_bytes());
    push_len(&mut a, key_id.len());
    a.extend_from_slice(key_id.as_bytes());
    a.extend_from_slice(&version.to_be_bytes());
    a
}

fn corrupt(record: &str, why: impl std::fmt::Display) -> KeyError {
    KeyError::Internal(format!("key store record {record:?} is corrupt: {why}"))
}

impl KeyRing {
    /// Rebuilds a ring from its records. A key record that fails to parse or
    /// unwrap is an error (a wrong master key says so); an alias whose key is
    /// missing (a write interrupted between the two) is dropped and its
    /// deletion queued for the next `take_changes`.
    pub fn load(
        account: impl Into<String>,
        master: &MasterKey,
        records: impl Iterator<Item = (String, Value)>,
    ) -> Result<KeyRing, KeyError> {
        let mut ring = KeyRing::new(account);
        let mut aliases = Vec::new();
        for (record, value) in records {
            if record.starts_with("key/") {
                let k = ring.key_from_record(&record, value, master)?;
                ring.keys.insert(k.id.clone(), k);
            } else if record.starts_with("alias/") {
                let a: StoredAlias =
                    serde_json::from_value(value).map_err(|e| corrupt(&record, e))?;
                if record != alias_record(&a.region, &a.alias_name) {
                    return Err(corrupt(&record, "record key does not match its alias"));
                }
                aliases.push(a);
            } else {
                return Err(corrupt(&record, "unknown record kind"));
            }
        }
        for a in aliases {
            if !ring.keys.contains_key(&a.target_key_id) {
                ring.dirty.insert(alias_record(&a.region, &a.alias_name));
                continue;
            }
            ring.aliases.insert(
                (a.region.clone(), a.alias_name.clone()),
                Alias {
                    name: a.alias_name,
                    region: a.region,
                    target_key_id: a.target_key_id,
                    created: a.creation_date,
                    updated: a.last_updated_date,
                },
            );
        }
        Ok(ring)
    }

    fn key_from_record(
        &self,
        record: &str,
        value: Value,
        master: &MasterKey,
    ) -> Result<Key, KeyError> {
        let s: StoredKey = serde_json::from_value(value).map_err(|e| corrupt(record, e))?;
        if s.format != FORMAT {
            return Err(corrupt(record, format!("unknown format {}", s.format)));
        }
        if record != key_record(&s.key_id) {
            return Err(corrupt(record, "record key does not match its key id"));
        }
        let uuid = uuid::Uuid::parse_str(&s.key_id).map_err(|_| corrupt(record, "bad key id"))?;
        if s.materials.is_empty() || !s.materials.windows(2).all(|w| w[0].version < w[1].version) {
            return Err(corrupt(record, "material versions missing or out of order"));
        }
        let mut materials = Vec::with_capacity(s.materials.len());
        for m in s.materials {
            let wrapped = B64
                .decode(&m.wrapped)
                .map_err(|_| corrupt(record, "bad base64"))?;
            let aad = material_aad(&self.account, &s.key_id, m.version);
            let secret = master.unwrap(&wrapped, &aad).map_err(|_| {
                KeyError::MasterKey(format!(
                    "cannot unwrap the material of key {} (version {}): the master key is not \
                     the one these keys were stored with, or the record was altered",
                    s.key_id, m.version
                ))
            })?;
            let mut arr = Zeroizing::new([0u8; 32]);
            if secret.len() != 32 {
                return Err(corrupt(record, "material has the wrong length"));
            }
            arr.copy_from_slice(&secret);
            materials.push(Material {
                version: m.version,
                secret: arr,
                created: m.creation_date,
                rotation: m.rotation_type,
                material_id: m.key_material_id,
            });
        }
        Ok(Key {
            arn: self.key_arn(&s.region, &s.key_id),
            uuid: *uuid.as_bytes(),
            id: s.key_id,
            region: s.region,
            description: s.description,
            created: s.creation_date,
            state: s.key_state,
            deletion_date: s.deletion_date,
            pending_window_days: s.pending_window_in_days,
            tags: s.tags,
            policy: s.policy,
            rotation: Rotation {
                enabled: s.rotation_enabled,
                period_days: s.rotation_period_in_days,
                next: s.next_rotation_date,
            },
            materials,
        })
    }

    /// Every key and alias changed since the last call, as records to write
    /// or delete: key writes, then alias writes, then alias deletions, then
    /// key deletions, so an interrupted batch leaves no alias without its key
    /// that `load` cannot tidy. The dirty set is cleared only on success.
    pub fn take_changes(&mut self, master: &MasterKey) -> Result<Vec<Change>, KeyError> {
        let mut writes_k = Vec::new();
        let mut writes_a = Vec::new();
        let mut dels_a = Vec::new();
        let mut dels_k = Vec::new();
        for record in &self.dirty {
            let value = self.record_value(record, master)?;
            let is_key = record.starts_with("key/");
            let change = Change {
                key: record.clone(),
                value,
            };
            match (is_key, change.value.is_some()) {
                (true, true) => writes_k.push(change),
                (false, true) => writes_a.push(change),
                (false, false) => dels_a.push(change),
                (true, false) => dels_k.push(change),
            }
        }
        self.dirty.clear();
        Ok([writes_k, writes_a, dels_a, dels_k].concat())
    }

    /// Every record of the ring (a full export, e.g. for a new store).
    pub fn all_records(&self, master: &MasterKey) -> Result<Vec<Change>, KeyError> {
        let mut out = Vec::new();
        for k in self.keys.values() {
            out.push(Change {
                key: key_record(&k.id),
                value: Some(self.key_value(k, master)?),
            });
        }
        for a in self.aliases.values() {
            out.push(Change {
                key: alias_record(&a.region, &a.name),
                value: Some(alias_value(a)?),
            });
        }
        Ok(out)
    }

    fn record_value(&self, record: &str, master: &MasterKey) -> Result<Option<Value>, KeyError> {
        if let Some(id) = record.strip_prefix("key/") {
            return self
                .keys
                .get(id)
                .map(|k| self.key_value(k, master))
                .transpose();
        }
        // `alias/{region}/{name}`: regions contain no '/'.
        let slot = record
            .strip_prefix("alias/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(region, name)| (region.to_string(), name.to_string()));
        slot.and_then(|slot| self.aliases.get(&slot))
            .map(alias_value)
            .transpose()
    }

    fn key_value(&self, k: &Key, master: &MasterKey) -> Result<Value, KeyError> {
        let mut materials = Vec::with_capacity(k.materials.len());
        for m in &k.materials {
            let aad = material_aad(&self.account, &k.id, m.version);
            materials.push(StoredMaterial {
                version: m.version,
                creation_date: m.created,
                rotation_type: m.rotation,
                key_material_id: m.material_id.clone(),
                wrapped: B64.encode(master.wrap(m.secret.as_slice(), &aad)?),
            });
        }
        let s = StoredKey {
            format: FORMAT,
            key_id: k.id.clone(),
            region: k.region.clone(),
            description: k.description.clone(),
            creation_date: k.created,
            key_state: k.state,
            deletion_date: k.deletion_date,
            pending_window_in_days: k.pending_window_days,
            policy: k.policy.clone(),
            tags: k.tags.clone(),
            rotation_enabled: k.rotation.enabled,
            rotation_period_in_days: k.rotation.period_days,
            next_rotation_date: k.rotation.next,
            materials,
        };
        serde_json::to_value(s).map_err(|e| KeyError::Internal(format!("cannot encode key: {e}")))
    }
}

fn alias_value(a: &Alias) -> Result<Value, KeyError> {
    serde_json::to_value(StoredAlias {
        alias_name: a.name.clone(),
        region: a.region.clone(),
        target_key_id: a.target_key_id.clone(),
        creation_date: a.created,
        last_updated_date: a.updated,
    })
    .map_err(|e| KeyError::Internal(format!("cannot encode alias: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::CreateKeyRequest;
    use time::macros::datetime;

    #[test]
    fn persisted_json_holds_no_plaintext_material() {
        let now = datetime!(2025-01-01 0:00 UTC);
        let master = MasterKey::generate().unwrap();
        let mut ring = KeyRing::new("111122223333");
        let meta = ring
            .create_key("us-east-1", &CreateKeyRequest::default(), now)
            .unwrap();
        ring.rotate_key_on_demand("us-east-1", &meta.key_id, now)
            .unwrap();
        ring.create_alias("us-east-1", "alias/app", &meta.key_id, now)
            .unwrap();
        let changes = ring.take_changes(&master).unwrap();
        assert_eq!(changes.len(), 2);
        let text =
            serde_json::to_string(&changes.iter().map(|c| &c.value).collect::<Vec<_>>()).unwrap();
        let key = &ring.keys[&meta.key_id];
        assert_eq!(key.materials.len(), 2);
        for m in &key.materials {
            let raw = m.secret.as_slice();
            for needle in [
                hex::encode(raw),
                hex::encode_upper(raw),
                B64.encode(raw),
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
            ] {
                assert!(!text.contains(&needle));
            }
            // Nor any 16-byte window of it.
            assert!(!text.contains(&hex::encode(&raw[8..24])));
        }
        assert!(ring.take_changes(&master).unwrap().is_empty());
    }

    #[test]
    fn material_cannot_move_between_keys() {
        let now = datetime!(2025-01-01 0:00 UTC);
        let master = MasterKey::generate().unwrap();
        let mut ring = KeyRing::new("111122223333");
        let a = ring
            .create_key("r", &CreateKeyRequest::default(), now)
            .unwrap()
            .key_id;
        let b = ring
            .create_key("r", &CreateKeyRequest::default(), now)
            .unwrap()
            .key_id;
        let mut recs: Vec<(String, Value)> = ring
            .take_changes(&master)
            .unwrap()
            .into_iter()
            .map(|c| (c.key, c.value.unwrap()))
            .collect();
        let wrapped_a =
            recs.iter().find(|r| r.0.ends_with(&a)).unwrap().1["Materials"][0]["Wrapped"].clone();
        let rb = recs.iter_mut().find(|r| r.0.ends_with(&b)).unwrap();
        rb.1["Materials"][0]["Wrapped"] = wrapped_a;
        let err = KeyRing::load("111122223333", &master, recs.clone().into_iter()).unwrap_err();
        assert!(err.to_string().contains("cannot unwrap"));
        // Another account cannot load them either.
        assert!(KeyRing::load("999", &master, recs.into_iter()).is_err());
    }
}
