//! The Sekisho gateway: listeners, AWS wire protocols, the operation
//! registry, authentication and authorization, the services and the model
//! backends.
//!
//! The path of one request is described in [`gateway`].

#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod authz;
pub mod backend;
pub mod config;
pub mod datadir;
pub mod error;
pub mod eventstream;
pub mod external_classifier;
pub mod gateway;
pub mod limits;
pub mod protocol;
pub mod registry;
pub mod secrets;
pub mod server;
pub mod services;
pub mod startup;
pub mod tls;
