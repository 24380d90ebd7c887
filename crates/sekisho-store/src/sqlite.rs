//! The embedded SQLite backend.
//!
//! One table, `documents (collection, key, value)`, keyed by
//! `(collection, key)` and stored `WITHOUT ROWID`, so a prefix listing is a
//! range scan of the primary key. The file is marked with
//! `PRAGMA application_id` ([`APPLICATION_ID`], "SKSH") and
//! `PRAGMA user_version` ([`SCHEMA_VERSION`]); both are checked on every
//! open before anything is written, so a foreign or newer file is never
//! touched. The journal is in WAL mode with `synchronous=FULL`: a batch
//! acknowledged by [`Store::write`] has been synced to disk. A busy timeout
//! lets several handles (threads or processes) share one file.
//!
//! The connection sits behind a mutex: the store's users (IAM, keys, audit
//! indexes) write rarely and read mostly from their own in-memory state.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::{Store, StoreError, Write};

/// `PRAGMA application_id` of a Sekisho database: "SKSH".
pub const APPLICATION_ID: i32 = 0x534B_5348;
/// `PRAGMA user_version` this build writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
const MEMORY: &str = ":memory:";

const SCHEMA: &str = "CREATE TABLE documents (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;";

/// A [`Store`] in one SQLite file (or in memory, for tests).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The file, for error messages; `None` in memory.
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location())
            .finish()
    }
}

impl SqliteStore {
    /// Opens the Sekisho database at `path`, creating it (mode 0600 on Unix)
    /// when the file does not exist. An existing file that is not a Sekisho
    /// database, or is damaged, or has a newer schema, is refused with an
    /// error naming the path; it is not modified.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(StoreError::NotSekisho {
                    path: path.to_path_buf(),
                    reason: "it is a directory".into(),
                });
            }
            Ok(meta) if meta.len() > 0 => check_header(path)?,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private(path).map_err(io)?
            }
            Err(e) => return Err(io(e)),
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| open_error(path, "opening the database", e))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path: Some(path.to_path_buf()),
        };
        store.prepare()?;
        Ok(store)
    }

    /// A fresh database in memory (not shared, gone when dropped).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| StoreError::Backend {
            location: MEMORY.into(),
            operation: "opening the database",
            message: e.to_string(),
        })?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path: None,
        };
        store.prepare()?;
        Ok(store)
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn location(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => MEMORY.into(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held unwound through the transaction's
        // drop, which rolled it back: the connection is consistent.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn backend(&self, operation: &'static str, e: rusqlite::Error) -> StoreError {
        StoreError::Backend {
            location: self.location(),
            operation,
            message: e.to_string(),
        }
    }

    /// Checks identity and version, initialises a new file, sets the
    /// connection's pragmas and checks the file's integrity.
    fn prepare(&self) -> Result<(), StoreError> {
        let display_path = self.path.clone().unwrap_or_else(|| PathBuf::from(MEMORY));
        let fail = |what: &'static str, e: rusqlite::Error| open_error(&display_path, what, e);
        let mut conn = self.lock();
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail("setting the busy timeout", e))?;

        let mut first = identify(&conn).map_err(|e| fail("reading the database header", e))?;
        if matches!(first, Identity::Foreign(_)) && self.path.is_some() {
            // Another handle may be initialising this new file right now,
            // and a read without the write lock can see its table before
            // its header: look again while holding the write lock (which
            // waits for that initialiser) before refusing the file.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| fail("reading the database header", e))?;
            first = identify(&tx).map_err(|e| fail("reading the database header", e))?;
            tx.commit()
                .map_err(|e| fail("reading the database header", e))?;
        }
        let fresh = match first {
            Identity::Empty => true,
            Identity::Sekisho(version) => {
                check_version(&display_path, version)?;
                false
            }
            Identity::Foreign(reason) => {
                return Err(StoreError::NotSekisho {
                    path: display_path,
                    reason,
                });
            }
        };

        if self.path.is_some() {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(|e| fail("switching to WAL mode", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Backend {
                    location: self.location(),
                    operation: "switching to WAL mode",
                    message: format!("the journal mode stayed {mode}"),
                });
            }
        }
        conn.execute_batch("PRAGMA synchronous = FULL;")
            .map_err(|e| fail("setting synchronous=FULL", e))?;

        if fresh {
            // Another process may initialise the same file at the same
            // moment: decide again under the write lock.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| fail("initialising the database", e))?;
            match identify(&tx).map_err(|e| fail("initialising the database", e))? {
                Identity::Empty => {
                    tx.execute_batch(&format!(
                        "{SCHEMA}
                         PRAGMA application_id = {APPLICATION_ID};
                         PRAGMA user_version = {SCHEMA_VERSION};"
                    ))
                    .map_err(|e| fail("initialising the database", e))?;
                }
                Identity::Sekisho(version) => check_version(&display_path, version)?,
                Identity::Foreign(reason) => {
                    return Err(StoreError::NotSekisho {
                        path: display_path,
                        reason,
                    });
                }
            }
            tx.commit()
                .map_err(|e| fail("initialising the database", e))?;
        }

        // The whole file is read once: damage is reported now, with the
        // path, rather than as a strange error on some later request.
        let mut problems = Vec::new();
        {
            let mut stmt = conn
                .prepare("PRAGMA quick_check")
                .map_err(|e| fail("checking the database", e))?;
            let mut rows = stmt
                .query([])
                .map_err(|e| fail("checking the database", e))?;
            while let Some(row) = rows.next().map_err(|e| fail("checking the database", e))? {
                let line: String = row.get(0).map_err(|e| fail("checking the database", e))?;
                if line != "ok" {
                    problems.push(line);
                }
                if problems.len() >= 5 {
                    break;
                }
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Corrupt {
                path: display_path,
                reason: format!("integrity check: {}", problems.join("; ")),
            });
        }
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'documents'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| fail("checking the schema", e))?;
        if tables != 1 {
            return Err(StoreError::Corrupt {
                path: display_path,
                reason: "the documents table is missing".into(),
            });
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT value FROM documents WHERE collection = ?1 AND key = ?2")
            .map_err(|e| self.backend("reading a document", e))?;
        stmt.query_row((collection, key), |r| r.get(0))
            .optional()
            .map_err(|e| self.backend("reading a document", e))
    }

    fn list(
        &self,
        collection: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, value FROM documents
                 WHERE collection = ?1 AND key >= ?2 ORDER BY key",
            )
            .map_err(|e| self.backend("listing documents", e))?;
        let mut rows = stmt
            .query((collection, key_prefix))
            .map_err(|e| self.backend("listing documents", e))?;
        let mut out = Vec::new();
        // Keys with the prefix form one run in byte order, starting at the
        // prefix itself.
        while let Some(row) = rows
            .next()
            .map_err(|e| self.backend("listing documents", e))?
        {
            let key: String = row
                .get(0)
                .map_err(|e| self.backend("listing documents", e))?;
            if !key.starts_with(key_prefix) {
                break;
            }
            let value: Vec<u8> = row
                .get(1)
                .map_err(|e| self.backend("listing documents", e))?;
            out.push((key, value));
        }
        Ok(out)
    }

    fn write(&self, batch: &[Write]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.backend("starting a write", e))?;
        for write in batch {
            // Checked inside the transaction: a bad write late in the batch
            // rolls back the ones before it (dropping `tx` rolls back).
            write.check()?;
            match write {
                Write::Put {
                    collection,
                    key,
                    value,
                } => {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT INTO documents (collection, key, value) VALUES (?1, ?2, ?3)
                             ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value",
                        )
                        .map_err(|e| self.backend("writing a document", e))?;
                    stmt.execute((collection, key, value))
                        .map_err(|e| self.backend("writing a document", e))?;
                }
                Write::Delete { collection, key } => {
                    let mut stmt = tx
                        .prepare_cached("DELETE FROM documents WHERE collection = ?1 AND key = ?2")
                        .map_err(|e| self.backend("deleting a document", e))?;
                    stmt.execute((collection, key))
                        .map_err(|e| self.backend("deleting a document", e))?;
                }
            }
        }
        tx.commit()
            .map_err(|e| self.backend("committing a write", e))
    }
}

enum Identity {
    /// No application id, no version, no schema objects: a new file.
    Empty,
    /// Ours, with this schema version.
    Sekisho(i64),
    /// Someone else's; the reason says how we know.
    Foreign(String),
}

fn identify(conn: &Connection) -> rusqlite::Result<Identity> {
    let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if app_id == APPLICATION_ID {
        return Ok(Identity::Sekisho(version));
    }
    if app_id != 0 {
        return Ok(Identity::Foreign(format!(
            "it is a SQLite database of another application (application_id {:#010x}, Sekisho's is {APPLICATION_ID:#010x})",
            app_id as u32
        )));
    }
    let first: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match first {
        None if version == 0 => Ok(Identity::Empty),
        None => Ok(Identity::Foreign(format!(
            "it is a SQLite database without Sekisho's application id but with user_version {version}"
        ))),
        Some(name) => Ok(Identity::Foreign(format!(
            "it is a SQLite database without Sekisho's application id, holding other data (such as '{name}')"
        ))),
    }
}

fn check_version(path: &Path, version: i64) -> Result<(), StoreError> {
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("schema version {version} is not one Sekisho ever wrote"),
        });
    }
    // Version 1 is the first; migrations from older versions go here.
    Ok(())
}

/// Refuses a non-empty file that does not start with the SQLite header
/// before SQLite sees it.
fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(StoreError::NotSekisho {
            path: path.to_path_buf(),
            reason: "it is not a SQLite database (the file does not start with the SQLite header)"
                .into(),
        });
    }
    Ok(())
}

/// Creates an empty file readable by its owner only: the database holds
/// sealed secrets.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Someone else created it in between: open that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Maps SQLite's "not a database" and "corrupt" codes to the errors that
/// name the problem; anything else is a backend failure.
fn open_error(path: &Path, operation: &'static str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotSekisho {
            path: path.to_path_buf(),
            reason: format!("it is not a SQLite database ({e})"),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        _ => StoreError::Backend {
            location: path.display().to_string(),
            operation,
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
