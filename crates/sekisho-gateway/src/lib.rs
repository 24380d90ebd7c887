//! The HTTP gateway: protocols, operation registry, services, backends.
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
