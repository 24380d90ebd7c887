//! The IAM entities, as held in memory and (through serde) on disk.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use sekisho_policy::Policy;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroize;

/// A secret (an access key's secret, an MFA seed) in the form the caller
/// produced: today as given, later sealed by the key service. This module
/// never looks inside; it stores, returns and forgets. Debug output shows
/// the length only and the bytes are zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl SealedSecret {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

impl Drop for SealedSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for SealedSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SealedSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(SealedSecret)
            .map_err(|e| serde::de::Error::custom(format!("sealed secret: {e}")))
    }
}

/// A tag on a user, role, managed policy or MFA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A policy document: the text as the caller wrote it (what Get* returns)
/// and its compiled form, parsed once.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyDocument {
    text: String,
    compiled: Arc<Policy>,
}

impl PolicyDocument {
    pub(crate) fn new(text: String, compiled: Policy) -> PolicyDocument {
        PolicyDocument {
            text,
            compiled: Arc::new(compiled),
        }
    }

    /// The document as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The compiled policy, shared.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.compiled
    }

    /// Sets the name explanations use; only on a fresh (unshared) document.
    pub(crate) fn label(&mut self, name: String) {
        if let Some(p) = Arc::get_mut(&mut self.compiled) {
            p.name = Some(name);
        } else {
            let p = (*self.compiled).clone().named(name);
            self.compiled = Arc::new(p);
        }
    }
}

impl fmt::Debug for PolicyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyDocument")
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PolicyDocument {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl TryFrom<String> for PolicyDocument {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        // Stored documents passed every check when written; a parse failure
        // here means the store or the parser changed, which load reports.
        let compiled = super::validate::parse_policy(&text).map_err(|e| e.to_string())?;
        Ok(PolicyDocument::new(text, compiled))
    }
}

impl From<PolicyDocument> for String {
    fn from(d: PolicyDocument) -> String {
        d.text
    }
}

/// `Active` or `Inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    Active,
    Inactive,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyStatus::Active => "Active",
            AccessKeyStatus::Inactive => "Inactive",
        }
    }

    /// Reads the API's `Status` parameter.
    pub fn parse(text: &str) -> Result<AccessKeyStatus, super::IamError> {
        match text {
            "Active" => Ok(AccessKeyStatus::Active),
            "Inactive" => Ok(AccessKeyStatus::Inactive),
            other => Err(super::IamError::validation(
                Some(other),
                "status",
                "Member must satisfy enum value set: [Active, Inactive]",
            )),
        }
    }
}

/// A long-term access key of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub status: AccessKeyStatus,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    pub secret: SealedSecret,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub path: String,
    /// `AIDA...`
    pub id: String,
    pub arn: String,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// ARNs of attached managed policies, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the groups the user is in, in joining order.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
}

/// An IAM group. Its members are the users whose `groups` name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub path: String,
    /// `AGPA...`
    pub id: String,
    pub arn: String,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub path: String,
    /// `AROA...`
    pub id: String,
    pub arn: String,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    /// The trust policy.
    pub assume_role_policy: PolicyDocument,
    #[serde(default)]
    pub description: Option<String>,
    /// Seconds, 3600 to 43200.
    pub max_session_duration: u32,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub version_id: String,
    pub document: PolicyDocument,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
}

/// A managed policy: customer-managed (in the account) or AWS-managed (the
/// built-ins, shared by every account and never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    /// `ANPA...`
    pub id: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    #[serde(with = "timestamp")]
    pub update_date: OffsetDateTime,
    pub default_version_id: String,
    /// Oldest first.
    pub versions: Vec<PolicyVersion>,
    /// The number the next version gets (numbers are never reused).
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(skip)]
    pub aws_managed: bool,
}

impl ManagedPolicy {
    /// The default version (always present in a consistent state).
    pub fn default_version(&self) -> Option<&PolicyVersion> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version_id)
    }

    /// A version by id.
    pub fn version(&self, version_id: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }
}

/// A virtual MFA device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaDevice {
    /// `arn:aws:iam::ACCOUNT:mfa/PATH/NAME`
    pub serial_number: String,
    pub name: String,
    pub path: String,
    /// The base32 TOTP seed, sealed by the caller.
    pub seed: SealedSecret,
    #[serde(with = "timestamp")]
    pub create_date: OffsetDateTime,
    /// The user it is enabled for.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default, with = "timestamp::option")]
    pub enable_date: Option<OffsetDateTime>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// RFC 3339 timestamps in documents.
pub(crate) mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
