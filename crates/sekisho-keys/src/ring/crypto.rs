//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey, and envelopes sealed under
//! a customer key. All take `&self`: cryptography never changes the ring.

use zeroize::Zeroizing;

use super::model::Key;
use super::{
    DataKeyOutput, DataKeySize, DecryptOutput, EncryptOutput, KeyRing, ReEncryptOutput,
    check_usable, validate,
};
use crate::aead::fill_random;
use crate::blob;
use crate::context::EncryptionContext;
use crate::envelope::{DataKey, Envelope, Wrapping};
use crate::error::KeyError;

impl KeyRing {
    /// KMS `Encrypt` (plaintext 1..=4096 bytes) with the newest material.
    pub fn encrypt(
        &self,
        region: &str,
        key_ref: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<EncryptOutput, KeyError> {
        validate::plaintext(plaintext)?;
        let k = self.resolve(region, key_ref)?;
        check_usable(k)?;
        encrypt_with(k, plaintext, context)
    }

    /// KMS `Decrypt`. The blob names its key and material version; if the
    /// caller also names a key (any of the four forms) and it is a different
    /// key, the answer is `IncorrectKey`.
    pub fn decrypt(
        &self,
        region: &str,
        ciphertext_blob: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&str>,
    ) -> Result<DecryptOutput, KeyError> {
        let header = blob::parse_header(ciphertext_blob)?;
        let id = uuid::Uuid::from_bytes(header.key_uuid)
            .hyphenated()
            .to_string();
        if let Some(r) = key_ref {
            let named = self.resolve(region, r)?;
            if named.id != id {
                return Err(KeyError::IncorrectKey(format!(
                    "The key ID in the request does not identify a key that can decrypt the \
                     ciphertext ({} was named).",
                    named.arn
                )));
            }
        }
        // An unknown key id means a damaged or foreign blob, not a missing
        // resource the caller asked for.
        let k = self
            .keys
            .get(&id)
            .filter(|k| k.region == region)
            .ok_or_else(KeyError::bad_ciphertext)?;
        check_usable(k)?;
        let m = k
            .material(header.version)
            .ok_or_else(KeyError::bad_ciphertext)?;
        let plaintext = blob::decrypt(&m.secret, ciphertext_blob, context)?;
        Ok(DecryptOutput {
            key_id: k.arn.clone(),
            plaintext,
            key_material_id: m.material_id.clone(),
        })
    }

    /// KMS `ReEncrypt`: decrypt under the source, encrypt under the
    /// destination; the plaintext never leaves this call.
    pub fn re_encrypt(
        &self,
        region: &str,
        ciphertext_blob: &[u8],
        source_context: &EncryptionContext,
        source_key_ref: Option<&str>,
        destination_key_ref: &str,
        destination_context: &EncryptionContext,
    ) -> Result<ReEncryptOutput, KeyError> {
        let dest = self.resolve(region, destination_key_ref)?;
        check_usable(dest)?;
        let src = self.decrypt(region, ciphertext_blob, source_context, source_key_ref)?;
        let out = encrypt_with(dest, &src.plaintext, destination_context)?;
        Ok(ReEncryptOutput {
            ciphertext_blob: out.ciphertext_blob,
            source_key_id: src.key_id.clone(),
            key_id: out.key_id,
            source_key_material_id: src.key_material_id.clone(),
            destination_key_material_id: out.key_material_id,
        })
    }

    /// KMS `GenerateDataKey`: random bytes, returned in plaintext and
    /// encrypted under the key.
    pub fn generate_data_key(
        &self,
        region: &str,
        key_ref: &str,
        size: DataKeySize,
        context: &EncryptionContext,
    ) -> Result<DataKeyOutput, KeyError> {
        let k = self.resolve(region, key_ref)?;
        check_usable(k)?;
        let mut plaintext = Zeroizing::new(vec![0u8; size.bytes()]);
        fill_random(&mut plaintext)?;
        let out = encrypt_with(k, &plaintext, context)?;
        Ok(DataKeyOutput {
            ciphertext_blob: out.ciphertext_blob,
            plaintext,
            key_id: out.key_id,
            key_material_id: out.key_material_id,
        })
    }

    /// KMS `GenerateDataKeyWithoutPlaintext`: as above, the plaintext dropped
    /// (and zeroized) here.
    pub fn generate_data_key_without_plaintext(
        &self,
        region: &str,
        key_ref: &str,
        size: DataKeySize,
        context: &EncryptionContext,
    ) -> Result<EncryptOutput, KeyError> {
        let out = self.generate_data_key(region, key_ref, size, context)?;
        Ok(EncryptOutput {
            ciphertext_blob: out.ciphertext_blob,
            key_id: out.key_id,
            key_material_id: out.key_material_id,
        })
    }

    /// Seals `plaintext` of any size for Sekisho's own stores: a fresh data
    /// key, encrypted under the customer key as a KMS blob (with `context`),
    /// seals the payload; the result is one self-contained [`Envelope`].
    pub fn seal_with(
        &self,
        region: &str,
        key_ref: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KeyError> {
        let k = self.resolve(region, key_ref)?;
        check_usable(k)?;
        let dk = DataKey::generate()?;
        let wrapped = encrypt_with(k, dk.expose_secret(), context)?.ciphertext_blob;
        Ok(Envelope::seal(&dk, Wrapping::CustomerKey, wrapped, plaintext, context)?.to_bytes())
    }

    /// Opens [`KeyRing::seal_with`] output. Needs the key to be usable, so
    /// disabling or deleting a key locks its data away.
    pub fn open_sealed(
        &self,
        region: &str,
        sealed: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let env = Envelope::parse(sealed)?;
        if env.wrapping != Wrapping::CustomerKey {
            return Err(KeyError::bad_ciphertext());
        }
        let dk = self.decrypt(region, &env.wrapped_key, context, None)?;
        env.open(&DataKey::from_slice(&dk.plaintext)?, context)
    }
}

fn encrypt_with(
    k: &Key,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<EncryptOutput, KeyError> {
    let m = k
        .current()
        .ok_or_else(|| KeyError::Internal(format!("{} has no key material", k.arn)))?;
    Ok(EncryptOutput {
        ciphertext_blob: blob::encrypt(&m.secret, k.uuid, m.version, plaintext, context)?,
        key_id: k.arn.clone(),
        key_material_id: m.material_id.clone(),
    })
}
