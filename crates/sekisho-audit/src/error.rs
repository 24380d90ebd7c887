//! The one error type of the crate.

use std::path::PathBuf;

/// What went wrong. Damage found in stored files is not an error: `verify`
/// reports it as findings, and queries skip damaged lines.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The record was refused before it was queued (too large, has a newline...).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The record cipher failed to seal or open a record.
    #[error("record cipher: {0}")]
    Cipher(String),
    /// A key could not be parsed or used.
    #[error("key: {0}")]
    Key(String),
    /// The journal's writer stopped (closed, or its thread ended).
    #[error("journal closed")]
    Closed,
    /// The write of the batch holding this record failed; the record is not stored.
    #[error("journal write failed: {0}")]
    WriteFailed(String),
    /// A caller-supplied parameter is out of range or malformed.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A lookup's next token is malformed or belongs to another filter.
    #[error("invalid next token")]
    InvalidNextToken,
    /// Another journal (in this or another process) holds the directory.
    #[error("journal directory {} is in use", .0.display())]
    InUse(PathBuf),
    /// A selector set breaks CloudTrail's rules.
    #[error("invalid event selectors: {0}")]
    InvalidSelectors(String),
}

impl AuditError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
