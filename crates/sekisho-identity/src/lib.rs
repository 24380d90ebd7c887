//! Identities for Sekisho: AWS Signature Version 4 verification, IAM
//! identifiers and secrets, stateless session tokens for temporary
//! credentials, and TOTP for virtual MFA devices.
//!
//! The crate is pure: no I/O, no network, no clock (the caller passes
//! `now`). Randomness comes from the operating system through aws-lc-rs.
//!
//! * [`sigv4`]: [`sigv4::parse`] a request's signature claim (no secret
//!   needed, so the caller can look up the key), then [`sigv4::verify`] it —
//!   header or presigned, canonicalized exactly as AWS, ±5 minutes of clock
//!   skew, constant-time comparison.
//! * [`keys`]: `AKIA`/`ASIA` access key ids, secret access keys, `AIDA`/
//!   `AROA`/`AGPA`/`ANPA` unique ids, and [`SecretString`].
//! * [`token`]: [`SessionClaims`] sealed with AES-256-GCM under a
//!   [`TokenKey`] into the session token of temporary credentials, bound to
//!   their access key id; [`TokenKeyRing`] for key rotation.
//! * [`totp`]: RFC 6238 codes (HMAC-SHA1, 30 s, 6 digits).
//!
//! Secrets never appear in error messages or `Debug` output: errors name
//! fields, not values, and every type holding a secret or a token redacts it.
//!
//! # Authenticating a request
//!
//! ```no_run
//! use sekisho_identity::keys::{self, AccessKeyKind};
//! use sekisho_identity::{sigv4, HttpParts, PayloadHash, SecretString, SigV4Claim, TokenKeyRing};
//! use time::OffsetDateTime;
//!
//! enum Denied { Signature(sigv4::AuthError), Token(sekisho_identity::TokenError), UnknownKey }
//!
//! fn authenticate(
//!     parts: &HttpParts<'_>,
//!     body: &[u8],
//!     ring: &TokenKeyRing,
//!     user_secret: impl Fn(&str) -> Option<SecretString>,
//!     now: OffsetDateTime,
//! ) -> Result<SigV4Claim, Denied> {
//!     let claim = sigv4::parse(parts).map_err(Denied::Signature)?;
//!     let secret = match keys::access_key_kind(&claim.access_key_id) {
//!         Some(AccessKeyKind::LongTerm) => {
//!             user_secret(&claim.access_key_id).ok_or(Denied::UnknownKey)?
//!         }
//!         Some(AccessKeyKind::Temporary) => {
//!             let token = claim.session_token.as_deref().ok_or(Denied::UnknownKey)?;
//!             let session = ring
//!                 .open(token, &claim.access_key_id, now)
//!                 .map_err(Denied::Token)?;
//!             session.secret_access_key
//!         }
//!         None => return Err(Denied::UnknownKey),
//!     };
//!     let payload = PayloadHash::of_body(body);
//!     sigv4::verify(parts, &claim, &payload, secret.expose(), now).map_err(Denied::Signature)?;
//!     Ok(claim)
//! }
//! ```

#![forbid(unsafe_code)]

pub mod iam;
pub mod keys;
pub mod sigv4;
pub mod token;
pub mod totp;

pub use keys::{AccessKeyKind, CryptoError, SecretString, UniqueIdKind};
pub use sigv4::{AuthError, CanonicalOptions, HttpParts, PayloadHash, SigV4Claim, SigningKey};
pub use token::{SessionClaims, SessionKind, TokenError, TokenKey, TokenKeyRing};
