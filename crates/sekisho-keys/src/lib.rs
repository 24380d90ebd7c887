//! Key service: master key, customer keys, envelope encryption, key policies.
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
