//! Persistence behind a trait: SQLite (embedded default) and, later,
//! PostgreSQL.
//!
//! The model is a small transactional document store: a document is an
//! opaque byte string filed under a *collection* and a *key*. Readers get one
//! document ([`Store::get`]) or every document of a collection whose key
//! starts with a prefix, sorted by key ([`Store::list`]); writers hand over a
//! batch of puts and deletes that is applied atomically ([`Store::write`]):
//! all of it is durable when the call returns `Ok`, none of it otherwise.
//!
//! Keys are compared as byte strings (UTF-8 order), which is the order
//! [`Store::list`] returns and the order a PostgreSQL backend gets with
//! `COLLATE "C"`.
//!
//! [`SqliteStore`] is the embedded backend. It refuses, with an error that
//! names the path and the problem, to open a file that is not a Sekisho
//! database (another application's SQLite file, garbage, a truncated or
//! damaged file, a schema newer than this build): data is never reset
//! silently.

#![forbid(unsafe_code)]

mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

pub use sqlite::{APPLICATION_ID, SCHEMA_VERSION, SqliteStore};

/// Longest accepted collection name, in bytes.
pub const MAX_COLLECTION_LEN: usize = 128;
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Largest accepted document, in bytes.
pub const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;

/// A document store with atomic batches.
pub trait Store: Send + Sync {
    /// The document filed under `collection` / `key`, if any.
    fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every document of `collection` whose key starts with `key_prefix`,
    /// sorted by key (byte order).
    fn list(
        &self,
        collection: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Applies `batch` in order, atomically: when this returns `Ok` every
    /// write is durable; when it returns `Err` none of them took effect.
    fn write(&self, batch: &[Write]) -> Result<(), StoreError>;
}

impl<T: Store + ?Sized> Store for Arc<T> {
    fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(collection, key)
    }

    fn list(
        &self,
        collection: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).list(collection, key_prefix)
    }

    fn write(&self, batch: &[Write]) -> Result<(), StoreError> {
        (**self).write(batch)
    }
}

impl<T: Store + ?Sized> Store for &T {
    fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(collection, key)
    }

    fn list(
        &self,
        collection: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).list(collection, key_prefix)
    }

    fn write(&self, batch: &[Write]) -> Result<(), StoreError> {
        (**self).write(batch)
    }
}

/// One change of a batch.
#[derive(Clone, PartialEq, Eq)]
pub enum Write {
    /// Creates or replaces the document.
    Put {
        collection: String,
        key: String,
        value: Vec<u8>,
    },
    /// Removes the document; removing a missing document is not an error.
    Delete { collection: String, key: String },
}

impl Write {
    /// A put.
    pub fn put(collection: impl Into<String>, key: impl Into<String>, value: Vec<u8>) -> Write {
        Write::Put {
            collection: collection.into(),
            key: key.into(),
            value,
        }
    }

    /// A delete.
    pub fn delete(collection: impl Into<String>, key: impl Into<String>) -> Write {
        Write::Delete {
            collection: collection.into(),
            key: key.into(),
        }
    }

    /// A put when `value` is `Some`, a delete when it is `None`: the shape in
    /// which pure crates (which do not depend on this one) describe their
    /// changes.
    pub fn set(
        collection: impl Into<String>,
        key: impl Into<String>,
        value: Option<Vec<u8>>,
    ) -> Write {
        match value {
            Some(value) => Write::put(collection, key, value),
            None => Write::delete(collection, key),
        }
    }

    /// The collection written to.
    pub fn collection(&self) -> &str {
        match self {
            Write::Put { collection, .. } | Write::Delete { collection, .. } => collection,
        }
    }

    /// The key written to.
    pub fn key(&self) -> &str {
        match self {
            Write::Put { key, .. } | Write::Delete { key, .. } => key,
        }
    }

    /// Checks the names and sizes every backend accepts.
    pub fn check(&self) -> Result<(), StoreError> {
        let collection = self.collection();
        if collection.is_empty() || collection.len() > MAX_COLLECTION_LEN {
            return Err(StoreError::InvalidWrite(format!(
                "collection name must be 1 to {MAX_COLLECTION_LEN} bytes, got {}",
                collection.len()
            )));
        }
        if collection.chars().any(|c| c.is_control()) {
            return Err(StoreError::InvalidWrite(
                "collection name contains a control character".into(),
            ));
        }
        let key = self.key();
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::InvalidWrite(format!(
                "key in collection {collection} is {} bytes, more than {MAX_KEY_LEN}",
                key.len()
            )));
        }
        if let Write::Put { value, .. } = self
            && value.len() > MAX_VALUE_LEN
        {
            return Err(StoreError::InvalidWrite(format!(
                "document {collection}/{key} is {} bytes, more than {MAX_VALUE_LEN}",
                value.len()
            )));
        }
        Ok(())
    }
}

// Values may hold sealed secrets: show sizes, never bytes.
impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Write::Put {
                collection,
                key,
                value,
            } => f
                .debug_struct("Put")
                .field("collection", collection)
                .field("key", key)
                .field("value_len", &value.len())
                .finish(),
            Write::Delete { collection, key } => f
                .debug_struct("Delete")
                .field("collection", collection)
                .field("key", key)
                .finish(),
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a Sekisho database (another application's
    /// SQLite file, or not SQLite at all).
    #[error("{}: not a Sekisho database: {reason}", path.display())]
    NotSekisho { path: PathBuf, reason: String },
    /// The file is a Sekisho database that cannot be read.
    #[error("{}: the Sekisho database is damaged: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// The database was written by a newer Sekisho.
    #[error(
        "{}: the Sekisho database has schema version {found}, newer than the {supported} this build understands; use a newer sekisho",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A file-system error.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write that no backend accepts (empty collection, oversized key...).
    #[error("invalid write: {0}")]
    InvalidWrite(String),
    /// The backend failed (disk full, locked for too long, I/O error...).
    #[error("{location}: {operation} failed: {message}")]
    Backend {
        /// The database path, or `:memory:`.
        location: String,
        operation: &'static str,
        message: String,
    },
}
