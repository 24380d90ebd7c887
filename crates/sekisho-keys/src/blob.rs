//! The KMS ciphertext blob: opaque to clients but self-describing, so Decrypt
//! needs no KeyId.
//!
//! Layout (52 bytes + plaintext length):
//! `"SKK" 0x01 | key id (16-byte UUID) | material version (u32 BE) |
//! nonce (12) | AES-256-GCM ciphertext+tag`.
//! The AAD is the whole 36-byte header followed by the canonical encryption
//! context, so neither the key id, the version nor the context can be
//! changed without the tag failing.

use zeroize::Zeroizing;

use crate::aead::{self, NONCE_BYTES, TAG_BYTES, random_nonce};
use crate::context::{EncryptionContext, canonical_context};
use crate::error::KeyError;

const MAGIC: &[u8; 4] = b"SKK\x01";
/// Length of the header (magic, key id, version, nonce).
pub(crate) const HEADER_BYTES: usize = 4 + 16 + 4 + NONCE_BYTES;
/// Smallest possible blob (empty plaintext).
pub(crate) const MIN_BLOB_BYTES: usize = HEADER_BYTES + TAG_BYTES;

/// The parsed, still unauthenticated header of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlobHeader {
    pub key_uuid: [u8; 16],
    pub version: u32,
}

/// Encrypts under one key material version.
pub(crate) fn encrypt(
    material: &[u8; 32],
    key_uuid: [u8; 16],
    version: u32,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<u8>, KeyError> {
    let nonce = random_nonce()?;
    let mut out = Vec::with_capacity(MIN_BLOB_BYTES + plaintext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key_uuid);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    let aad = aad(&out, context);
    aead::seal_into(material, &nonce, &aad, plaintext, &mut out)?;
    Ok(out)
}

/// Reads the header; anything malformed is `InvalidCiphertext`.
pub(crate) fn parse_header(blob: &[u8]) -> Result<BlobHeader, KeyError> {
    let bad = KeyError::bad_ciphertext;
    if blob.len() < MIN_BLOB_BYTES {
        return Err(bad());
    }
    let rest = blob.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
    let (key_uuid, rest) = rest.split_first_chunk::<16>().ok_or_else(bad)?;
    let (version, _) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
    Ok(BlobHeader {
        key_uuid: *key_uuid,
        version: u32::from_be_bytes(*version),
    })
}

/// Decrypts a blob whose header was parsed and whose material was found.
pub(crate) fn decrypt(
    material: &[u8; 32],
    blob: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if blob.len() < MIN_BLOB_BYTES {
        return Err(KeyError::bad_ciphertext());
    }
    let (header, body) = blob.split_at(HEADER_BYTES);
    let nonce: [u8; NONCE_BYTES] = header[HEADER_BYTES - NONCE_BYTES..]
        .try_into()
        .map_err(|_| KeyError::bad_ciphertext())?;
    aead::open(material, &nonce, &aad(header, context), body)
}

fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut a = header.to_vec();
    a.extend_from_slice(&canonical_context(context));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let m = [3u8; 32];
        let ctx: EncryptionContext = [("a".to_string(), "b".to_string())].into();
        let b = encrypt(&m, [1; 16], 7, b"hi", &ctx).unwrap();
        assert_eq!(b.len(), MIN_BLOB_BYTES + 2);
        let h = parse_header(&b).unwrap();
        assert_eq!(
            h,
            BlobHeader {
                key_uuid: [1; 16],
                version: 7
            }
        );
        assert_eq!(decrypt(&m, &b, &ctx).unwrap().as_slice(), b"hi");
        assert!(decrypt(&m, &b, &EncryptionContext::new()).is_err());
        assert!(parse_header(&b[..MIN_BLOB_BYTES - 1]).is_err());
    }
}
