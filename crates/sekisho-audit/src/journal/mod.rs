//! The append-only, hash-chained, signed journal of log files.
//!
//! Appenders hand a serialised record to [`Journal::append`]; the record is
//! checked, sealed by the cipher if any (on the caller's thread, so that work
//! spreads over cores), and queued to one writer thread. The writer drains
//! everything queued, writes it with one `write` call, acknowledges each
//! record (the append resolves: its bytes are in the OS), and calls
//! `fdatasync` at most once per `flush_interval` (group commit). A failed
//! write fails every append of that batch: the gateway then refuses the
//! request (fail closed) and [`Journal::health`] reports it.
//!
//! Dropping a `Journal` without [`Journal::close`] behaves like a crash: the
//! open file stays `.partial` and the next [`Journal::open`] recovers it.

mod chain;
mod recovery;
mod writer;

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use crossbeam_channel::Sender;
use time::OffsetDateTime;

pub use recovery::RecoveryReport;
use writer::{Ack, Msg, Pending, Settings, Writer};

use crate::cipher::RecordCipher;
use crate::record::{Event, sniff_event_time};
use crate::signer::Signer;
use crate::{AuditError, fsutil};

/// The largest record accepted (CloudTrail's own limit is 256 KB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Wall-clock time for file names, rotation and digests (tests pass a fake).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

impl<F: Fn() -> OffsetDateTime + Send + Sync + 'static> Clock for F {
    fn now(&self) -> OffsetDateTime {
        self()
    }
}

/// Where and how the journal writes.
#[derive(Clone)]
pub struct JournalConfig {
    pub dir: PathBuf,
    /// Goes into file names and digests; letters, digits and `-` only.
    pub account_id: String,
    pub region: String,
    /// Seal the open log file after this long (default 300 s).
    pub rotate_every: Duration,
    /// Seal the open log file before it would pass this size (default 64 MiB).
    pub max_file_bytes: u64,
    /// Write a digest this often (default 3600 s), and at close and recovery.
    pub digest_every: Duration,
    /// Longest time between a write and its fdatasync (default 100 ms).
    pub flush_interval: Duration,
    /// When set, each stored line is `base64(seal(json))`.
    pub cipher: Option<Arc<dyn RecordCipher>>,
}

impl JournalConfig {
    pub fn new(
        dir: impl Into<PathBuf>,
        account_id: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        JournalConfig {
            dir: dir.into(),
            account_id: account_id.into(),
            region: region.into(),
            rotate_every: Duration::from_secs(300),
            max_file_bytes: 64 << 20,
            digest_every: Duration::from_secs(3600),
            flush_interval: Duration::from_millis(100),
            cipher: None,
        }
    }

    fn validate(&self) -> Result<(), AuditError> {
        for (what, v) in [("account_id", &self.account_id), ("region", &self.region)] {
            let ok = !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(AuditError::InvalidParameter(format!(
                    "{what} {v:?}: use letters, digits and '-'"
                )));
            }
        }
        if self.max_file_bytes == 0 || self.rotate_every.is_zero() || self.digest_every.is_zero() {
            return Err(AuditError::InvalidParameter(
                "rotate_every, digest_every and max_file_bytes must be positive".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for JournalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalConfig")
            .field("dir", &self.dir)
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .field("rotate_every", &self.rotate_every)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("digest_every", &self.digest_every)
            .field("flush_interval", &self.flush_interval)
            .field("cipher", &self.cipher.is_some())
            .finish()
    }
}

/// State shared between appenders, the writer and `health()`.
#[derive(Default)]
pub(crate) struct Shared {
    healthy: AtomicBool,
    records_written: AtomicU64,
    write_failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn written(&self, n: u64) {
        self.records_written.fetch_add(n, Ordering::Relaxed);
        self.healthy.store(true, Ordering::Release);
    }

    fn failed(&self, msg: &str) {
        tracing::error!(target: "sekisho_audit", "audit journal: {msg}");
        self.write_failures.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Release);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg.to_owned());
    }
}

/// What [`Journal::health`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// False after a failed write, sync, seal or digest, until a later write succeeds.
    pub healthy: bool,
    pub records_written: u64,
    pub write_failures: u64,
    pub last_error: Option<String>,
}

/// The journal. `append` may be called from any number of threads or tasks.
pub struct Journal {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    cipher: Option<Arc<dyn RecordCipher>>,
    recovery: RecoveryReport,
    /// Held for the journal's lifetime: one writer per directory.
    _lock: File,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (creating, 0700) the directory, recovers it (see
    /// [`RecoveryReport`]) and starts the writer thread.
    pub fn open(
        config: JournalConfig,
        signer: Signer,
        clock: impl Clock,
    ) -> Result<Journal, AuditError> {
        config.validate()?;
        fsutil::create_dir_all(&config.dir)?;
        let lock = lock_dir(&config.dir)?;
        let pem_path = config.dir.join("public-key.pem");
        if !pem_path.exists() {
            std::fs::write(&pem_path, signer.public_key_pem())
                .map_err(|e| AuditError::io("write public key", &pem_path, e))?;
        }
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let now = clock.now();
        let rec = recovery::recover(&config, &signer, now)?;
        let shared = Arc::new(Shared {
            healthy: AtomicBool::new(true),
            ..Shared::default()
        });
        let settings = Settings {
            dir: config.dir.clone(),
            account: config.account_id.clone(),
            region: config.region.clone(),
            rotate_every: config.rotate_every,
            max_file_bytes: config.max_file_bytes,
            digest_every: config.digest_every,
            flush_interval: config.flush_interval,
        };
        let writer = Writer::new(
            settings,
            clock,
            signer,
            rec.chain,
            shared.clone(),
            rec.next_log_seq,
            rec.last_log_time,
            now,
        );
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("sekisho-audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::io("start writer thread", &config.dir, e))?;
        Ok(Journal {
            tx: Some(tx),
            thread: Some(thread),
            shared,
            cipher: config.cipher,
            recovery: rec.report,
            _lock: lock,
        })
    }

    /// Stores one serialised record (compact JSON, no newline). The record is
    /// queued when this is called; the future resolves once its bytes were
    /// written to the OS, or with the error that kept them from it.
    pub fn append(
        &self,
        record: Vec<u8>,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.enqueue(record, Ack::Async(tx));
        async move {
            queued?;
            rx.await.map_err(|_| AuditError::Closed)?
        }
    }

    /// [`Journal::append`] for threads outside an async runtime.
    pub fn append_blocking(&self, record: Vec<u8>) -> Result<(), AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.enqueue(record, Ack::Blocking(tx))?;
        rx.recv().map_err(|_| AuditError::Closed)?
    }

    /// Serialises and stores an [`Event`].
    pub fn append_event(
        &self,
        event: &Event,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'static {
        self.append(event.to_json())
    }

    fn enqueue(&self, mut record: Vec<u8>, ack: Ack) -> Result<(), AuditError> {
        if record.is_empty() || record.len() > MAX_RECORD_BYTES {
            return Err(AuditError::InvalidRecord(format!(
                "{} bytes (allowed 1..={MAX_RECORD_BYTES})",
                record.len()
            )));
        }
        // One record per line: a newline inside would split it in two.
        if record.iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(AuditError::InvalidRecord("contains a line break".into()));
        }
        let time = sniff_event_time(&record);
        let line = match &self.cipher {
            None => {
                record.push(b'\n');
                record
            }
            Some(c) => {
                let sealed = c.seal(&record).map_err(AuditError::Cipher)?;
                let mut line = base64::engine::general_purpose::STANDARD
                    .encode(sealed)
                    .into_bytes();
                line.push(b'\n');
                line
            }
        };
        let tx = self.tx.as_ref().ok_or(AuditError::Closed)?;
        tx.send(Msg::Append(Pending { line, time, ack }))
            .map_err(|_| AuditError::Closed)
    }

    /// Seals the open file and writes a digest now (blocking).
    pub fn seal_now(&self) -> Result<(), AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let sender = self.tx.as_ref().ok_or(AuditError::Closed)?;
        sender.send(Msg::Seal(tx)).map_err(|_| AuditError::Closed)?;
        rx.recv().map_err(|_| AuditError::Closed)?
    }

    /// Seals the open file, writes a final digest and stops the writer (blocking).
    pub fn close(mut self) -> Result<(), AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let sender = self.tx.take().ok_or(AuditError::Closed)?;
        sender
            .send(Msg::Close(tx))
            .map_err(|_| AuditError::Closed)?;
        drop(sender);
        let result = rx.recv().map_err(|_| AuditError::Closed)?;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        result
    }

    pub fn health(&self) -> Health {
        let s = &self.shared;
        Health {
            healthy: s.healthy.load(Ordering::Acquire),
            records_written: s.records_written.load(Ordering::Relaxed),
            write_failures: s.write_failures.load(Ordering::Relaxed),
            last_error: s
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// What open found and repaired.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Disconnect, then wait: the writer finishes queued work and syncs,
        // so a reopen right after sees everything acknowledged.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock_dir(dir: &std::path::Path) -> Result<File, AuditError> {
    let path = dir.join(".journal.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AuditError::io("open lock file", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::InUse(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(AuditError::io("lock", &path, e)),
    }
}
