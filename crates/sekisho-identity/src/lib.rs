//! Identities: principals, SigV4, STS credentials and tokens, OIDC/JWT (pure).
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
