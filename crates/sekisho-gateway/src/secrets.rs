//! Secrets at rest: access-key secrets and MFA seeds are stored sealed with
//! AES-256-GCM under a key of the data directory, never in plaintext.
//!
//! The key service (customer-managed keys, envelope encryption under a
//! master key) replaces this key's source; the sealed format carries a
//! version byte so that change can read what was written before.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sekisho_identity::iam::SealedSecret;
use sekisho_identity::keys::SecretString;

const VERSION: u8 = 1;
const AAD: &[u8] = b"sekisho-secret-v1";

/// A secret could not be sealed (no randomness) or opened (not sealed by
/// this key, or changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed secret cannot be used")]
pub struct SealError;

/// Seals and opens secrets.
pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> SecretBox {
        let unbound =
            UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key is valid for AES-256-GCM");
        SecretBox {
            key: LessSafeKey::new(unbound),
        }
    }

    /// Seals `plaintext` with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError)?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut buffer,
            )
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        Ok(SealedSecret(out))
    }

    /// Opens a sealed secret; `Err` when it was not sealed by this key or
    /// was changed.
    pub fn open(&self, sealed: &SealedSecret) -> Result<SecretString, SealError> {
        let bytes = sealed.as_bytes();
        if bytes.len() < 1 + NONCE_LEN || bytes[0] != VERSION {
            return Err(SealError);
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&bytes[1..1 + NONCE_LEN]).map_err(|_| SealError)?;
        let mut buffer = bytes[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut buffer)
            .map_err(|_| SealError)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SealError)?;
        Ok(SecretString::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let b = SecretBox::new(&[7u8; 32]);
        let sealed = b.seal(b"wJalrXUtnFEMI/K7MDENG").unwrap();
        assert!(!sealed.as_bytes().windows(5).any(|w| w == b"wJalr"));
        assert_eq!(b.open(&sealed).unwrap().expose(), "wJalrXUtnFEMI/K7MDENG");
        let mut bad = sealed.clone();
        let last = bad.0.len() - 1;
        bad.0[last] ^= 1;
        assert!(b.open(&bad).is_err());
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed).is_err());
    }
}
