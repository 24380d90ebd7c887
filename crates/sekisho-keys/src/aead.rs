//! AES-256-GCM and randomness from aws-lc-rs, in the two shapes the crate
//! needs. Every other module goes through here, so there is one place where
//! nonces are drawn and plaintext buffers are zeroized.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// Length of a GCM nonce (96 bits).
pub(crate) const NONCE_BYTES: usize = NONCE_LEN;
/// Length of a GCM tag.
pub(crate) const TAG_BYTES: usize = 16;

/// Fills `buf` from the aws-lc-rs system random generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), KeyError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| KeyError::internal("random generator"))
}

/// A fresh random nonce. Random 96-bit nonces are safe for well under 2^32
/// messages per key; rotation keeps each material far below that.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_BYTES], KeyError> {
    let mut n = [0u8; NONCE_BYTES];
    fill_random(&mut n)?;
    Ok(n)
}

fn gcm_key(key: &[u8; 32]) -> Result<LessSafeKey, KeyError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| KeyError::internal("AES key setup"))
}

/// Encrypts `plaintext` and appends ciphertext+tag to `out`.
pub(crate) fn seal_into(
    key: &[u8; 32],
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), KeyError> {
    let k = gcm_key(key)?;
    // Seal in a separate buffer so no plaintext copy lingers in `out`'s
    // spare capacity.
    let mut tail = Vec::with_capacity(plaintext.len() + TAG_BYTES);
    tail.extend_from_slice(plaintext);
    let sealed = k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*nonce),
        Aad::from(aad),
        &mut tail,
    );
    if sealed.is_err() {
        // `tail` may still hold plaintext: wipe it before reporting.
        zeroize::Zeroize::zeroize(&mut tail);
        return Err(KeyError::internal("AES-GCM seal"));
    }
    out.extend_from_slice(&tail);
    Ok(())
}

/// Decrypts ciphertext+tag; any authentication failure is reported as
/// `InvalidCiphertext`. The plaintext comes back in a zeroizing buffer.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if ciphertext_and_tag.len() < TAG_BYTES {
        return Err(KeyError::bad_ciphertext());
    }
    let k = gcm_key(key)?;
    let mut buf = Zeroizing::new(ciphertext_and_tag.to_vec());
    let n = k
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            buf.as_mut_slice(),
        )
        .map_err(|_| KeyError::bad_ciphertext())?
        .len();
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = [7u8; 32];
        let nonce = random_nonce().unwrap();
        let mut out = b"hdr".to_vec();
        seal_into(&key, &nonce, b"aad", b"hello", &mut out).unwrap();
        assert_eq!(&out[..3], b"hdr");
        assert_eq!(out.len(), 3 + 5 + TAG_BYTES);
        let pt = open(&key, &nonce, b"aad", &out[3..]).unwrap();
        assert_eq!(pt.as_slice(), b"hello");
        assert!(open(&key, &nonce, b"aae", &out[3..]).is_err());
        assert!(open(&key, &nonce, b"aad", &out[3..10]).is_err());
        assert!(open(&key, &nonce, b"aad", &[]).is_err());
    }
}
