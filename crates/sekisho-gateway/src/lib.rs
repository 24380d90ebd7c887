//! The Sekisho gateway: listeners, AWS wire protocols, the operation
//! registry, authentication and authorization, the services and the model
//! backends.
//!
//! The path of one request (see `docs/gateway.md`):
//! listener (TLS, CIDR allow rules, endpoint id) → protocol decode →
//! operation lookup → authenticate → authorize → handler → response.

#![forbid(unsafe_code)]

pub mod backend;
pub mod error;
pub mod eventstream;
pub mod protocol;
