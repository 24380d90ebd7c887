//! The master key: the one key that wraps every other key Sekisho keeps at
//! rest (customer key materials, data keys of its own stores).

mod load;

pub use load::{
    LoadedMasterKey, MASTER_KEY_ENV, MasterKeyOptions, MasterKeyOrigin, load_master_key,
};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aead::fill_random;
use crate::error::KeyError;

/// A 256-bit master key. The bytes are zeroized on drop and never printed:
/// `Debug` shows `MasterKey(..)`.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// Wraps existing key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// A fresh random key from the aws-lc-rs generator.
    pub fn generate() -> Result<MasterKey, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        fill_random(k.as_mut_slice())?;
        Ok(MasterKey(k))
    }

    /// Constant-time equality, for checks such as "the reloaded key is the
    /// one we wrote".
    pub fn ct_eq(&self, other: &MasterKey) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }

    /// A short, non-secret identifier of the key (16 hex chars of a
    /// domain-separated SHA-256), so operators can tell keys apart in logs
    /// without exposing them.
    pub fn fingerprint(&self) -> String {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(b"sekisho/master-key-fingerprint/v1");
        ctx.update(self.0.as_slice());
        let d = ctx.finish();
        hex::encode(&d.as_ref()[..8])
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_bytes_and_eq_is_by_value() {
        let a = MasterKey::from_bytes([0xAB; 32]);
        assert_eq!(format!("{a:?}"), "MasterKey(..)");
        assert!(a.ct_eq(&MasterKey::from_bytes([0xAB; 32])));
        assert!(!a.ct_eq(&MasterKey::generate().unwrap()));
        assert_eq!(a.fingerprint().len(), 16);
        assert!(!a.fingerprint().contains("abab"));
    }
}
