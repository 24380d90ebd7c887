//! Guardrails: normalization, detectors, classifiers and assessments (pure).
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
