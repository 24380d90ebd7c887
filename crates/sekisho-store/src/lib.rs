//! Persistence behind a trait: SQLite (embedded default) and PostgreSQL.
//!
//! Not built yet: this crate is a placeholder that its own issue fills in.

#![forbid(unsafe_code)]
