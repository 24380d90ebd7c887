//! The Ed25519 key that signs digests, and SHA-256 helpers.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;

use crate::AuditError;

/// The signature algorithm name written in digests.
pub const SIGNATURE_ALGORITHM: &str = "Ed25519";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the SPKI of a
/// 32-byte key is this prefix followed by the key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Signs digest documents. Debug shows only the public key's fingerprint.
pub struct Signer {
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A key pair from PKCS#8 v1 or v2 bytes.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Signer, AuditError> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
            .map_err(|e| AuditError::Key(format!("Ed25519 PKCS#8: {e}")))?;
        Ok(Signer { key })
    }

    /// A new key pair and its PKCS#8 bytes, for the caller to store sealed.
    pub fn generate() -> Result<(Signer, Vec<u8>), AuditError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| AuditError::Key(format!("generate Ed25519: {e}")))?;
        let pkcs8 = doc.as_ref().to_vec();
        Ok((Signer::from_pkcs8(&pkcs8)?, pkcs8))
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// The public key as a SubjectPublicKeyInfo PEM, for `dir/public-key.pem`.
    pub fn public_key_pem(&self) -> String {
        public_key_pem(&self.public_key())
    }

    /// Hex SHA-256 of the raw public key (`digestPublicKeyFingerprint`).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key())
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(msg).as_ref().to_vec()
    }
}

/// SPKI PEM of a raw Ed25519 public key.
pub fn public_key_pem(raw: &[u8]) -> String {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// The raw public key from an SPKI PEM (or DER, or the raw 32 bytes), so the
/// CLI can pass `public-key.pem` as read from disk.
pub fn public_key_from_pem(input: &[u8]) -> Result<Vec<u8>, AuditError> {
    if input.len() == 32 {
        return Ok(input.to_vec());
    }
    let der = if input.starts_with(b"-----BEGIN") {
        let text =
            std::str::from_utf8(input).map_err(|_| AuditError::Key("PEM is not UTF-8".into()))?;
        let b64: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| AuditError::Key(format!("PEM base64: {e}")))?
    } else {
        input.to_vec()
    };
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(raw) if raw.len() == 32 => Ok(raw.to_vec()),
        _ => Err(AuditError::Key(
            "not an Ed25519 SubjectPublicKeyInfo".into(),
        )),
    }
}

pub fn fingerprint(raw_public_key: &[u8]) -> String {
    sha256_hex(raw_public_key)
}

pub(crate) fn verify_signature(raw_public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, raw_public_key)
        .verify(msg, sig)
        .is_ok()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_pem() {
        let (s, pkcs8) = Signer::generate().unwrap();
        let s2 = Signer::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(s.public_key(), s2.public_key());
        let sig = s.sign(b"hello");
        assert!(verify_signature(&s.public_key(), b"hello", &sig));
        assert!(!verify_signature(&s.public_key(), b"hellO", &sig));
        let pem = s.public_key_pem();
        assert_eq!(public_key_from_pem(pem.as_bytes()).unwrap(), s.public_key());
        assert!(!format!("{s:?}").contains(&hex::encode(&pkcs8)));
        assert!(Signer::from_pkcs8(b"junk").is_err());
    }
}
