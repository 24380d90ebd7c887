//! The state the key service keeps per key and alias.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// KMS `KeyState`, restricted to the states this service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    /// The KMS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

/// How a key material version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RotationType {
    Automatic,
    OnDemand,
}

/// A KMS tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub tag_key: String,
    pub tag_value: String,
}

/// One version of a key's material. The secret never leaves the crate.
pub(crate) struct Material {
    pub version: u32,
    pub secret: Zeroizing<[u8; 32]>,
    pub created: OffsetDateTime,
    /// `None` for the key's first material.
    pub rotation: Option<RotationType>,
    /// KMS `KeyMaterialId`: 64 random hex chars, unrelated to the secret.
    pub material_id: String,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("version", &self.version)
            .field("created", &self.created)
            .field("rotation", &self.rotation)
            .field("material_id", &self.material_id)
            .finish_non_exhaustive()
    }
}

/// Automatic rotation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub enabled: bool,
    pub period_days: u32,
    /// When the next automatic rotation is due (only while enabled).
    pub next: Option<OffsetDateTime>,
}

/// A customer managed key.
#[derive(Debug)]
pub struct Key {
    pub(crate) id: String,
    pub(crate) uuid: [u8; 16],
    pub(crate) region: String,
    pub(crate) arn: String,
    pub(crate) description: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) state: KeyState,
    pub(crate) deletion_date: Option<OffsetDateTime>,
    pub(crate) pending_window_days: Option<u32>,
    pub(crate) tags: Vec<Tag>,
    pub(crate) policy: String,
    pub(crate) rotation: Rotation,
    /// Ascending by version; never empty.
    pub(crate) materials: Vec<Material>,
}

impl Key {
    /// The key id (a UUID).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `arn:aws:kms:{region}:{account}:key/{id}`.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn state(&self) -> KeyState {
        self.state
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The key policy text (the gateway evaluates it).
    pub fn policy(&self) -> &str {
        &self.policy
    }
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }
    pub fn creation_date(&self) -> OffsetDateTime {
        self.created
    }
    pub fn deletion_date(&self) -> Option<OffsetDateTime> {
        self.deletion_date
    }
    /// Number of material versions (1 + rotations).
    pub fn material_versions(&self) -> usize {
        self.materials.len()
    }

    pub(crate) fn current(&self) -> Option<&Material> {
        self.materials.last()
    }

    pub(crate) fn material(&self, version: u32) -> Option<&Material> {
        self.materials.iter().find(|m| m.version == version)
    }

    pub(crate) fn on_demand_rotations(&self) -> usize {
        self.materials
            .iter()
            .filter(|m| m.rotation == Some(RotationType::OnDemand))
            .count()
    }
}

/// An alias: a per-region name for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) target_key_id: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
}

impl Alias {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn target_key_id(&self) -> &str {
        &self.target_key_id
    }
}
