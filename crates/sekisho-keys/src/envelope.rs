//! Sealing bytes for Sekisho's own storage.
//!
//! Two formats:
//! - **sealed** (`seal`/`open`, `MasterKey::wrap`/`unwrap`), for small secrets:
//!   `0x01 | nonce(12) | AES-256-GCM(ciphertext+tag)`, AAD = `0x01 | aad`.
//! - **envelope** (`Envelope`), for payloads of any size: a fresh [`DataKey`]
//!   seals the payload; the data key travels wrapped in the header, either by
//!   the master key or as a KMS ciphertext blob of a customer key (see
//!   `KeyRing::seal_with`). Layout:
//!   `"SKE" 0x01 | wrapping(1) | wrapped-key length(u16 BE) | wrapped key |
//!   nonce(12) | ciphertext+tag`, and the payload's AAD is every header byte
//!   before the ciphertext followed by the canonical encryption context.

use zeroize::Zeroizing;

use crate::aead::{self, NONCE_BYTES, TAG_BYTES, fill_random, random_nonce};
use crate::context::{EncryptionContext, canonical_context};
use crate::error::KeyError;
use crate::master::MasterKey;

const SEALED_VERSION: u8 = 0x01;
const ENVELOPE_MAGIC: &[u8; 4] = b"SKE\x01";
/// AAD label of a data key wrapped by the master key, so a wrapped data key
/// cannot be passed off as any other master-wrapped secret.
const DEK_LABEL: &[u8] = b"sekisho/envelope-data-key/v1";

/// Encrypts `plaintext` under `key` with a random nonce, binding `aad`.
pub fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
    let nonce = random_nonce()?;
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + plaintext.len() + TAG_BYTES);
    out.push(SEALED_VERSION);
    out.extend_from_slice(&nonce);
    aead::seal_into(key, &nonce, &sealed_aad(aad), plaintext, &mut out)?;
    Ok(out)
}

/// Reverses [`seal`]. A wrong key, a different `aad` or any modified byte
/// gives `InvalidCiphertext`.
pub fn open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (&version, rest) = sealed.split_first().ok_or_else(KeyError::bad_ciphertext)?;
    if version != SEALED_VERSION || rest.len() < NONCE_BYTES + TAG_BYTES {
        return Err(KeyError::bad_ciphertext());
    }
    let (nonce, body) = rest.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| KeyError::bad_ciphertext())?;
    aead::open(key, &nonce, &sealed_aad(aad), body)
}

fn sealed_aad(aad: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(1 + aad.len());
    a.push(SEALED_VERSION);
    a.extend_from_slice(aad);
    a
}

impl MasterKey {
    /// [`seal`] under the master key.
    pub fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        seal(self.bytes(), plaintext, aad)
    }

    /// [`open`] under the master key.
    pub fn unwrap(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        open(self.bytes(), sealed, aad)
    }
}

/// A 256-bit data key, fresh per envelope, zeroized on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Result<DataKey, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        fill_random(k.as_mut_slice())?;
        Ok(DataKey(k))
    }

    /// Rebuilds a data key from unwrapped bytes; anything but 32 bytes is a
    /// bad ciphertext (the bytes came out of one).
    pub fn from_slice(bytes: &[u8]) -> Result<DataKey, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(KeyError::bad_ciphertext());
        }
        k.copy_from_slice(bytes);
        Ok(DataKey(k))
    }

    /// The secret bytes; handle with care (keep them in zeroizing buffers).
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// What wrapped the data key of an [`Envelope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// `MasterKey::wrap` with the context bound.
    Master = 1,
    /// A KMS ciphertext blob of a customer key (encrypted with the context).
    CustomerKey = 2,
}

/// A parsed envelope. `wrapped_key` and `ciphertext` are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub wrapping: Wrapping,
    pub wrapped_key: Vec<u8>,
    nonce: [u8; NONCE_BYTES],
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Seals `plaintext` with `data_key`; the caller supplies the data key
    /// already wrapped.
    pub fn seal(
        data_key: &DataKey,
        wrapping: Wrapping,
        wrapped_key: Vec<u8>,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Envelope, KeyError> {
        if wrapped_key.len() > usize::from(u16::MAX) {
            return Err(KeyError::Validation("wrapped data key is too long".into()));
        }
        let mut env = Envelope {
            wrapping,
            wrapped_key,
            nonce: random_nonce()?,
            ciphertext: Vec::new(),
        };
        let aad = env.aad(context);
        let mut ct = Vec::with_capacity(plaintext.len() + TAG_BYTES);
        aead::seal_into(
            data_key.expose_secret(),
            &env.nonce,
            &aad,
            plaintext,
            &mut ct,
        )?;
        env.ciphertext = ct;
        Ok(env)
    }

    /// Opens the payload with the (already unwrapped) data key.
    pub fn open(
        &self,
        data_key: &DataKey,
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        aead::open(
            data_key.expose_secret(),
            &self.nonce,
            &self.aad(context),
            &self.ciphertext,
        )
    }

    /// The byte string to store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`Envelope::to_bytes`]; malformed input is `InvalidCiphertext`.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, KeyError> {
        let bad = KeyError::bad_ciphertext;
        let rest = bytes
            .strip_prefix(ENVELOPE_MAGIC.as_slice())
            .ok_or_else(bad)?;
        let (&w, rest) = rest.split_first().ok_or_else(bad)?;
        let wrapping = match w {
            1 => Wrapping::Master,
            2 => Wrapping::CustomerKey,
            _ => return Err(bad()),
        };
        let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len + NONCE_BYTES + TAG_BYTES {
            return Err(bad());
        }
        let (wrapped, rest) = rest.split_at(len);
        let (nonce, ct) = rest.split_first_chunk::<NONCE_BYTES>().ok_or_else(bad)?;
        Ok(Envelope {
            wrapping,
            wrapped_key: wrapped.to_vec(),
            nonce: *nonce,
            ciphertext: ct.to_vec(),
        })
    }

    fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(4 + 1 + 2 + self.wrapped_key.len() + NONCE_BYTES);
        h.extend_from_slice(ENVELOPE_MAGIC);
        h.push(self.wrapping as u8);
        let len = u16::try_from(self.wrapped_key.len()).unwrap_or(u16::MAX);
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&self.wrapped_key);
        h.extend_from_slice(&self.nonce);
        h
    }

    fn aad(&self, context: &EncryptionContext) -> Vec<u8> {
        let mut a = self.header();
        a.extend_from_slice(&canonical_context(context));
        a
    }
}

/// Seals `plaintext` in an envelope whose data key is wrapped by the master
/// key (context bound to both the data key and the payload).
pub fn seal_envelope_with_master(
    master: &MasterKey,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<u8>, KeyError> {
    let dk = DataKey::generate()?;
    let wrapped = master.wrap(dk.expose_secret(), &dek_aad(context))?;
    Ok(Envelope::seal(&dk, Wrapping::Master, wrapped, plaintext, context)?.to_bytes())
}

/// Opens [`seal_envelope_with_master`] output.
pub fn open_envelope_with_master(
    master: &MasterKey,
    bytes: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let env = Envelope::parse(bytes)?;
    if env.wrapping != Wrapping::Master {
        return Err(KeyError::bad_ciphertext());
    }
    let dk = DataKey::from_slice(&master.unwrap(&env.wrapped_key, &dek_aad(context))?)?;
    env.open(&dk, context)
}

fn dek_aad(context: &EncryptionContext) -> Vec<u8> {
    let mut a = DEK_LABEL.to_vec();
    a.extend_from_slice(&canonical_context(context));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> EncryptionContext {
        [("store".to_string(), "audit".to_string())].into()
    }

    #[test]
    fn seal_open_and_tamper() {
        let k = [9u8; 32];
        let s = seal(&k, b"secret", b"aad").unwrap();
        assert_eq!(open(&k, &s, b"aad").unwrap().as_slice(), b"secret");
        assert!(open(&k, &s, b"other").is_err());
        assert!(open(&[8u8; 32], &s, b"aad").is_err());
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 1;
            assert_eq!(
                open(&k, &t, b"aad").unwrap_err().code(),
                "InvalidCiphertextException"
            );
        }
        for n in 0..s.len() {
            assert!(open(&k, &s[..n], b"aad").is_err());
        }
        // Random nonces: two seals differ.
        assert_ne!(s, seal(&k, b"secret", b"aad").unwrap());
    }

    #[test]
    fn master_wrap() {
        let m = MasterKey::generate().unwrap();
        let w = m.wrap(b"x", b"id").unwrap();
        assert_eq!(m.unwrap(&w, b"id").unwrap().as_slice(), b"x");
        assert!(m.unwrap(&w, b"id2").is_err());
    }

    #[test]
    fn master_envelope() {
        let m = MasterKey::generate().unwrap();
        let data = vec![42u8; 100_000];
        let e = seal_envelope_with_master(&m, &data, &ctx()).unwrap();
        assert_eq!(
            open_envelope_with_master(&m, &e, &ctx())
                .unwrap()
                .as_slice(),
            &data[..]
        );
        assert!(open_envelope_with_master(&m, &e, &EncryptionContext::new()).is_err());
        let other = MasterKey::generate().unwrap();
        assert!(open_envelope_with_master(&other, &e, &ctx()).is_err());
        let small = seal_envelope_with_master(&m, b"abc", &ctx()).unwrap();
        for i in 0..small.len() {
            let mut t = small.clone();
            t[i] ^= 0x80;
            assert!(
                open_envelope_with_master(&m, &t, &ctx()).is_err(),
                "byte {i}"
            );
        }
        for n in 0..small.len() {
            assert!(open_envelope_with_master(&m, &small[..n], &ctx()).is_err());
        }
        assert_eq!(format!("{:?}", DataKey::generate().unwrap()), "DataKey(..)");
    }
}
