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

#![forbid(unsafe_code)]

pub mod iam;
pub mod keys;
pub mod sigv4;
pub mod token;
pub mod totp;

pub use keys::{AccessKeyKind, CryptoError, SecretString, UniqueIdKind};
pub use sigv4::{AuthError, CanonicalOptions, HttpParts, PayloadHash, SigV4Claim};
pub use token::{SessionClaims, SessionKind, TokenError, TokenKey, TokenKeyRing};
