//! Request and response shapes of the KMS JSON API. Types without blobs
//! derive serde with botocore's member names (PascalCase, dates as epoch
//! seconds), so the gateway can return them as they are; outputs holding
//! blobs or plaintext are plain structs the gateway base64-encodes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::model::{KeyState, RotationType, Tag};
use crate::dates::{epoch, epoch_opt};

/// The one encryption algorithm of symmetric keys.
pub const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// KMS `KeyMetadata` (botocore kms 2014-11-01), for symmetric customer keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    #[serde(with = "epoch")]
    pub creation_date: OffsetDateTime,
    pub enabled: bool,
    pub description: String,
    pub key_usage: &'static str,
    pub key_state: KeyState,
    #[serde(with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<OffsetDateTime>,
    pub origin: &'static str,
    pub key_manager: &'static str,
    pub customer_master_key_spec: &'static str,
    pub key_spec: &'static str,
    pub encryption_algorithms: Vec<&'static str>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    pub current_key_material_id: String,
}

/// KMS `CreateKey` request members. Deserializes straight from the request
/// JSON; unknown members are ignored, absent ones take KMS defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateKeyRequest {
    pub policy: Option<String>,
    pub description: Option<String>,
    pub key_usage: Option<String>,
    pub customer_master_key_spec: Option<String>,
    pub key_spec: Option<String>,
    pub origin: Option<String>,
    pub custom_key_store_id: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub tags: Vec<Tag>,
    pub multi_region: Option<bool>,
    pub xks_key_id: Option<String>,
}

/// KMS `KeyListEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

/// KMS `AliasListEntry`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    #[serde(with = "epoch")]
    pub creation_date: OffsetDateTime,
    #[serde(with = "epoch")]
    pub last_updated_date: OffsetDateTime,
}

/// KMS `GetKeyRotationStatus` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationStatus {
    pub key_rotation_enabled: bool,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<OffsetDateTime>,
}

/// KMS `RotationsListEntry`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    pub key_id: String,
    pub key_material_id: String,
    /// `CURRENT` or `NON_CURRENT`.
    pub key_material_state: &'static str,
    #[serde(with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<RotationType>,
}

/// KMS `ScheduleKeyDeletion` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduledDeletion {
    pub key_id: String,
    #[serde(with = "epoch")]
    pub deletion_date: OffsetDateTime,
    pub key_state: KeyState,
    pub pending_window_in_days: u32,
}

/// Size of a data key: KMS `KeySpec` (AES_256 / AES_128) or `NumberOfBytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataKeySize(usize);

impl DataKeySize {
    /// From the two request members; exactly one must be given.
    pub fn from_request(
        key_spec: Option<&str>,
        number_of_bytes: Option<i64>,
    ) -> Result<DataKeySize, crate::KeyError> {
        use crate::KeyError::Validation;
        match (key_spec, number_of_bytes) {
            (Some(_), Some(_)) => Err(Validation(
                "Specify either KeySpec or NumberOfBytes, not both.".into(),
            )),
            (None, None) => Err(Validation(
                "Specify either KeySpec or NumberOfBytes.".into(),
            )),
            (Some("AES_256"), None) => Ok(DataKeySize(32)),
            (Some("AES_128"), None) => Ok(DataKeySize(16)),
            (Some(other), None) => Err(Validation(format!(
                "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy \
                 constraint: Member must satisfy enum value set: [AES_256, AES_128]"
            ))),
            (None, Some(n)) => match usize::try_from(n) {
                Ok(n @ 1..=1024) => Ok(DataKeySize(n)),
                _ => Err(Validation(format!(
                    "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to \
                     satisfy constraint: Member must have value between 1 and 1024"
                ))),
            },
        }
    }

    /// Number of bytes.
    pub fn bytes(self) -> usize {
        self.0
    }
}

/// Encrypt result. `key_id` is the key ARN, as KMS returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptOutput {
    pub ciphertext_blob: Vec<u8>,
    pub key_id: String,
    pub key_material_id: String,
}

/// Decrypt result; the plaintext is zeroized on drop and not printed.
pub struct DecryptOutput {
    pub key_id: String,
    pub plaintext: Zeroizing<Vec<u8>>,
    pub key_material_id: String,
}

/// ReEncrypt result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncryptOutput {
    pub ciphertext_blob: Vec<u8>,
    pub source_key_id: String,
    pub key_id: String,
    pub source_key_material_id: String,
    pub destination_key_material_id: String,
}

/// GenerateDataKey result; the plaintext is zeroized on drop and not printed.
pub struct DataKeyOutput {
    pub ciphertext_blob: Vec<u8>,
    pub plaintext: Zeroizing<Vec<u8>>,
    pub key_id: String,
    pub key_material_id: String,
}

impl std::fmt::Debug for DecryptOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptOutput")
            .field("key_id", &self.key_id)
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("key_material_id", &self.key_material_id)
            .finish()
    }
}

impl std::fmt::Debug for DataKeyOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeyOutput")
            .field(
                "ciphertext_blob",
                &format_args!("<{} bytes>", self.ciphertext_blob.len()),
            )
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("key_id", &self.key_id)
            .field("key_material_id", &self.key_material_id)
            .finish()
    }
}
