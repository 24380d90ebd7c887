//! The IAM policy language: parse, lint, evaluate and explain.
//!
//! Pure logic, no I/O. A policy document is parsed once ([`Policy::parse`])
//! into a typed model; a set of policies in their layers (SCPs, RCPs,
//! identity, boundary, session, resource, endpoint) is evaluated against a
//! [`Request`] exactly as AWS documents it, and the [`Decision`] carries the
//! statements that made it so a person can be told why.

#![forbid(unsafe_code)]

pub mod arn;
pub mod catalog;
pub mod condition;
pub mod context;
pub mod glob;
pub mod json;
pub mod lint;
pub mod policy;
pub mod variables;

pub use context::{Context, ContextValue};
pub use policy::{Effect, ParseError, Policy, Statement, Version};
pub mod cases;
pub mod eval;
pub mod principal;

pub use eval::{Decision, Layer, Outcome, PolicySet, Request, evaluate};
pub use principal::Principal;
