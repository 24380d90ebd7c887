//! IAM identifiers and secrets.
//!
//! Access key ids, secret access keys and the unique ids AWS gives users,
//! roles, groups and managed policies, generated from the operating system's
//! cryptographic random generator through aws-lc-rs; and [`SecretString`], the
//! one type this crate uses to hold a secret in memory.
//!
//! Formats follow AWS:
//!
//! | what | prefix | length | alphabet |
//! |---|---|---|---|
//! | long-term access key id | `AKIA` | 20 | `A-Z2-7` (base32) |
//! | temporary access key id | `ASIA` | 20 | `A-Z2-7` |
//! | secret access key | — | 40 | `A-Za-z0-9+/` |
//! | user id | `AIDA` | 21 | `A-Z2-7` |
//! | role id | `AROA` | 21 | `A-Z2-7` |
//! | group id | `AGPA` | 21 | `A-Z2-7` |
//! | managed policy id | `ANPA` | 21 | `A-Z2-7` |
//!
//! Every random character takes a whole random byte reduced modulo a power of
//! two (32 or 64), so the characters are uniformly distributed: 80 bits of
//! entropy after the prefix of an access key id, 85 for a unique id and 240
//! for a secret access key.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// The system's random generator or a cipher failed. This never carries
/// secret material; the only sensible reaction is to refuse the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cryptographic random generator or cipher failed")]
pub struct CryptoError;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of an access key id (`AKIA...` / `ASIA...`).
pub const ACCESS_KEY_ID_LEN: usize = 20;
/// Length of a secret access key.
pub const SECRET_ACCESS_KEY_LEN: usize = 40;
/// Length of a unique id (`AIDA...`, `AROA...`, `AGPA...`, `ANPA...`).
pub const UNIQUE_ID_LEN: usize = 21;

/// Fills `buf` from the system's cryptographic random generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| CryptoError)
}

/// Whether an access key is long-term (an IAM user's) or temporary (STS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKeyKind {
    /// `AKIA...`: an IAM user's access key.
    LongTerm,
    /// `ASIA...`: temporary credentials issued by STS; needs a session token.
    Temporary,
}

impl AccessKeyKind {
    /// The four-letter prefix AWS uses for this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            AccessKeyKind::LongTerm => "AKIA",
            AccessKeyKind::Temporary => "ASIA",
        }
    }
}

/// The kinds of IAM entity that carry a unique id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UniqueIdKind {
    /// `AIDA...`
    User,
    /// `AROA...`
    Role,
    /// `AGPA...`
    Group,
    /// `ANPA...`
    ManagedPolicy,
}

impl UniqueIdKind {
    /// The four-letter prefix AWS uses for this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            UniqueIdKind::User => "AIDA",
            UniqueIdKind::Role => "AROA",
            UniqueIdKind::Group => "AGPA",
            UniqueIdKind::ManagedPolicy => "ANPA",
        }
    }
}

fn random_string(prefix: &str, len: usize, alphabet: &[u8]) -> Result<String, CryptoError> {
    debug_assert!(alphabet.len().is_power_of_two() && alphabet.len() <= 256);
    let n = len.saturating_sub(prefix.len());
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    fill_random(&mut bytes)?;
    let mask = alphabet.len() - 1;
    let mut out = String::with_capacity(len);
    out.push_str(prefix);
    for b in bytes.iter() {
        // `alphabet` is ASCII, so every pushed char is one byte.
        out.push(char::from(alphabet[usize::from(*b) & mask]));
    }
    Ok(out)
}

/// A new access key id of the given kind: 20 characters, `AKIA`/`ASIA`
/// followed by 16 base32 characters.
pub fn generate_access_key_id(kind: AccessKeyKind) -> Result<String, CryptoError> {
    random_string(kind.prefix(), ACCESS_KEY_ID_LEN, BASE32)
}

/// A new secret access key: 40 characters of `A-Za-z0-9+/`.
pub fn generate_secret_access_key() -> Result<SecretString, CryptoError> {
    random_string("", SECRET_ACCESS_KEY_LEN, BASE64).map(SecretString::new)
}

/// A new access key id and its secret.
pub fn generate_access_key(kind: AccessKeyKind) -> Result<(String, SecretString), CryptoError> {
    Ok((generate_access_key_id(kind)?, generate_secret_access_key()?))
}

/// A new unique id (`AIDA...`, `AROA...`, `AGPA...`, `ANPA...`), 21 characters.
pub fn generate_unique_id(kind: UniqueIdKind) -> Result<String, CryptoError> {
    random_string(kind.prefix(), UNIQUE_ID_LEN, BASE32)
}

fn is_base32_upper(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// The kind of a well-formed access key id as this crate generates them
/// (20 characters, `AKIA` or `ASIA`, then base32), or `None`.
pub fn access_key_kind(access_key_id: &str) -> Option<AccessKeyKind> {
    if access_key_id.len() != ACCESS_KEY_ID_LEN || !is_base32_upper(access_key_id) {
        return None;
    }
    match access_key_id.get(..4)? {
        "AKIA" => Some(AccessKeyKind::LongTerm),
        "ASIA" => Some(AccessKeyKind::Temporary),
        _ => None,
    }
}

/// The kind of a well-formed unique id (21 characters, known prefix, base32),
/// or `None`.
pub fn unique_id_kind(unique_id: &str) -> Option<UniqueIdKind> {
    if unique_id.len() != UNIQUE_ID_LEN || !is_base32_upper(unique_id) {
        return None;
    }
    match unique_id.get(..4)? {
        "AIDA" => Some(UniqueIdKind::User),
        "AROA" => Some(UniqueIdKind::Role),
        "AGPA" => Some(UniqueIdKind::Group),
        "ANPA" => Some(UniqueIdKind::ManagedPolicy),
        _ => None,
    }
}

/// A secret held in memory: zeroized when dropped, redacted in `Debug`,
/// compared in constant time, and never `Display`ed or serialized.
///
/// Use [`SecretString::expose`] at the one place that needs the text (signing
/// key derivation, writing the credentials file).
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `secret`.
    pub fn new(secret: String) -> Self {
        SecretString(secret)
    }

    /// The secret text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        SecretString(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        SecretString(secret.to_owned())
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// Constant time in the contents; the lengths are not secret.
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

/// Deserializing is allowed (reading a sealed token, a store row); there is
/// deliberately no `Serialize`, so a secret cannot end up in JSON by accident.
impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn access_key_ids_have_aws_shape() {
        for kind in [AccessKeyKind::LongTerm, AccessKeyKind::Temporary] {
            let id = generate_access_key_id(kind).unwrap();
            assert_eq!(id.len(), 20);
            assert!(id.starts_with(kind.prefix()));
            assert_eq!(access_key_kind(&id), Some(kind));
        }
        assert_eq!(
            access_key_kind("AKIAIOSFODNN7EXAMPLE"),
            Some(AccessKeyKind::LongTerm)
        );
        assert_eq!(access_key_kind("AKIAIOSFODNN7EXAMPL"), None);
        assert_eq!(access_key_kind("AKIAIOSFODNN7EXAMPL1"), None);
        assert_eq!(access_key_kind("AIDAIOSFODNN7EXAMPLE"), None);
        assert_eq!(access_key_kind("akiaiosfodnn7example"), None);
        assert_eq!(access_key_kind("AKIAIOSFODNN7EXAMPLÉ"), None);
    }

    #[test]
    fn unique_ids_have_aws_shape() {
        for kind in [
            UniqueIdKind::User,
            UniqueIdKind::Role,
            UniqueIdKind::Group,
            UniqueIdKind::ManagedPolicy,
        ] {
            let id = generate_unique_id(kind).unwrap();
            assert_eq!(id.len(), 21, "{id}");
            assert!(id.starts_with(kind.prefix()));
            assert_eq!(unique_id_kind(&id), Some(kind));
        }
        assert_eq!(
            unique_id_kind("AIDACKCEVSQ6C2EXAMPLE"),
            Some(UniqueIdKind::User)
        );
        assert_eq!(
            unique_id_kind("AROADBQP57FF2AEXAMPLE"),
            Some(UniqueIdKind::Role)
        );
        assert_eq!(unique_id_kind("AKIACKCEVSQ6C2EXAMPLE"), None);
    }

    #[test]
    fn secrets_have_aws_shape_and_differ() {
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let s = generate_secret_access_key().unwrap();
            assert_eq!(s.len(), 40);
            assert!(s.expose().bytes().all(|b| BASE64.contains(&b)));
            assert!(seen.insert(s.expose().to_owned()));
            let id = generate_access_key_id(AccessKeyKind::LongTerm).unwrap();
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn characters_are_spread_over_the_alphabet() {
        let mut counts = [0usize; 32];
        for _ in 0..500 {
            let id = generate_access_key_id(AccessKeyKind::Temporary).unwrap();
            for b in id.bytes().skip(4) {
                let i = BASE32.iter().position(|c| *c == b).unwrap();
                counts[i] += 1;
            }
        }
        // 8000 draws, 250 expected per symbol; a broken mapping would leave zeros.
        assert!(counts.iter().all(|c| *c > 150), "{counts:?}");
    }

    #[test]
    fn secret_string_redacts_and_compares() {
        let a = SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let b = SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned());
        let c = SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, SecretString::from("short"));
        let dbg = format!("{a:?} {:?}", Some(&a));
        assert!(!dbg.contains("wJalr"), "{dbg}");
        assert!(dbg.contains("redacted"));
        let de: SecretString = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(de.expose(), "abc");
    }
}
