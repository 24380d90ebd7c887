//! Cedar policy stores in the Verified Permissions model (pure).
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
