//! Audit trail: records, signed hash-chained log files, verification and queries.
//!
//! TODO docs
#![forbid(unsafe_code)]

pub mod cipher;
pub mod digest;
mod error;
mod fsutil;
pub mod journal;
pub mod layout;
pub mod query;
pub mod record;
mod scan;
pub mod selector;
pub mod signer;
pub mod timefmt;
pub mod verify;

pub use cipher::RecordCipher;
pub use error::AuditError;
pub use journal::{Clock, Health, Journal, JournalConfig, RecoveryReport, SystemClock};
pub use record::Event;
pub use signer::Signer;
pub use verify::{Finding, FindingKind, VerifyReport, verify, verify_with_progress};
