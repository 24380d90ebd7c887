//! Key service: master key, customer managed keys (a KMS-compatible state
//! machine), envelope encryption. Pure logic: no clock reads, no network;
//! files are touched only by [`load_master_key`].
//!
//! # Modules and API
//!
//! - [`master`]: [`MasterKey`] (`from_bytes`, `generate`, `ct_eq`,
//!   `fingerprint`, `wrap`, `unwrap`) and [`load_master_key`]
//!   (`SEKISHO_MASTER_KEY` value > `--master-key-file` > default file >
//!   generate the default file with mode 0600).
//! - [`envelope`]: [`seal`]/[`open`] (AES-256-GCM, version byte, random
//!   nonce), [`DataKey`], [`Envelope`], [`seal_envelope_with_master`] /
//!   [`open_envelope_with_master`].
//! - [`ring`]: [`KeyRing`], the customer managed keys of one account across
//!   regions. KMS operations as methods (`create_key`, `describe_key`,
//!   `list_keys`, `create_alias`, `update_alias`, `delete_alias`,
//!   `list_aliases`, `encrypt`, `decrypt`, `re_encrypt`, `generate_data_key`,
//!   `generate_data_key_without_plaintext`, `get_key_policy`,
//!   `put_key_policy`, `enable_key`, `disable_key`, `enable_key_rotation`,
//!   `disable_key_rotation`, `get_key_rotation_status`,
//!   `rotate_key_on_demand`, `list_key_rotations`, `schedule_key_deletion`,
//!   `cancel_key_deletion`, `tag_resource`, `untag_resource`,
//!   `list_resource_tags`, `update_key_description`), housekeeping
//!   (`rotate_due`, `purge_expired`), persistence (`load`, `take_changes`,
//!   `all_records`) and envelopes under a customer key (`seal_with`,
//!   `open_sealed`).
//! - [`KeyError`]: every failure; `code()` is the KMS exception name.
//!
//! # Formats
//!
//! - KMS ciphertext blob: `"SKK" 1 | key id (16) | material version (u32) |
//!   nonce (12) | ciphertext+tag`; AAD = header + canonical context
//!   ([`canonical_context`]).
//! - Sealed: `1 | nonce | ciphertext+tag`; AAD = `1 | aad`.
//! - Envelope: `"SKE" 1 | wrapping | len (u16) | wrapped data key | nonce |
//!   ciphertext+tag`; AAD = header + canonical context.
//!
//! # Rules kept throughout
//!
//! No `unsafe`, no panics on input, secrets in `Zeroizing` buffers, no key
//! material or plaintext in `Debug` output or error messages, constant-time
//! comparison of secrets.

#![forbid(unsafe_code)]

mod aead;
mod blob;
mod context;
mod dates;
mod error;

pub mod envelope;
pub mod master;
pub mod ring;

pub use context::{EncryptionContext, canonical_context};
pub use dates::epoch_seconds;
pub use envelope::{
    DataKey, Envelope, Wrapping, open, open_envelope_with_master, seal, seal_envelope_with_master,
};
pub use error::KeyError;
pub use master::{
    LoadedMasterKey, MASTER_KEY_ENV, MasterKey, MasterKeyOptions, MasterKeyOrigin, load_master_key,
};
pub use ring::{
    AliasListEntry, COLLECTION, Change, CreateKeyRequest, DataKeyOutput, DataKeySize,
    DecryptOutput, EncryptOutput, Key, KeyListEntry, KeyMetadata, KeyRing, KeyState,
    MAX_ALIASES_PER_KEY, MAX_ON_DEMAND_ROTATIONS, ReEncryptOutput, RotationStatus, RotationType,
    RotationsListEntry, ScheduledDeletion, Tag, default_key_policy,
};
