//! Guardrails: normalization, detectors, classifiers and assessments (pure).
//!
//! A guardrail in the Bedrock `CreateGuardrail` model ([`config`]) is
//! compiled once ([`CompiledGuardrail::compile`]) into matchers: the PII
//! detector ([`pii`], one multi-pattern automaton over a normalized view),
//! custom regexes, and one Aho-Corasick word automaton. Applying it returns
//! the `ApplyGuardrail` response model ([`response`]). Every search is a
//! finite-automaton scan, so the work is linear in the input; nothing here
//! does I/O or panics on input. Model-based filters plug in through
//! [`classify::Classifier`].

#![forbid(unsafe_code)]

pub mod assess;
pub mod classify;
pub mod compile;
pub mod config;
pub mod error;
mod mask;
pub mod normalize;
pub mod pii;
mod regexes;
pub mod response;
pub mod stream;
mod words;

pub use assess::{Applied, Finding, FindingAction, FindingKind};
pub use classify::{Classifier, ClassifierTask, ClassifierVerdict, Classifiers, UnavailableFilter};
pub use compile::CompiledGuardrail;
pub use config::GuardrailConfig;
pub use error::ConfigError;
pub use normalize::Normalized;
pub use pii::entities::EntityType;
pub use response::{ApplyGuardrailResponse, ContentBlock, OutputScope, Source};
pub use stream::{StreamOutput, StreamScanner};
