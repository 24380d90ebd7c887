//! Audit trail: records, signed hash-chained log files, verification and queries.
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
