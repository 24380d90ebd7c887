//! The append-only, hash-chained, signed journal of log files.
//!
//! Appenders hand a serialised record to [`Journal::append`]; the record is
//! checked and sealed by the cipher if any (on the caller's thread, so that
//! work spreads over cores), then written to the open log file with one
//! `write` call under the journal's lock: when `append` returns, the
//! record's bytes are in the OS. A ticker thread calls `fdatasync` at most
//! once per `flush_interval` (group commit, outside the lock), and seals
//! files and writes digests on time. A failed write fails that append: the
//! gateway then refuses the request (fail closed) and [`Journal::health`]
//! reports it.
//!
//! The write happens on the caller's thread because a hand-off to a writer
//! thread costs two cross-thread wake-ups per record, which is most of the
//! latency an audited request pays; a page-cache write is a few
//! microseconds.
//!
//! Dropping a `Journal` without [`Journal::close`] behaves like a crash: the
//! open file stays `.partial` and the next [`Journal::open`] recovers it.

mod chain;
mod recovery;
mod writer;

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use time::OffsetDateTime;

pub use recovery::RecoveryReport;
use writer::{Settings, Writer};

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
    writer: Arc<Mutex<Writer>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
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
        let writer = Arc::new(Mutex::new(writer));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (writer, stop, shared) = (writer.clone(), stop.clone(), shared.clone());
            std::thread::Builder::new()
                .name("sekisho-audit-ticker".into())
                .spawn(move || tick_loop(&writer, &stop, &shared))
                .map_err(|e| AuditError::io("start ticker thread", &config.dir, e))?
        };
        Ok(Journal {
            writer,
            stop,
            ticker: Some(ticker),
            shared,
            cipher: config.cipher,
            recovery: rec.report,
            _lock: lock,
        })
    }

    /// Stores one serialised record (compact JSON, no newline). The write
    /// happens now, on the caller's thread; the returned future is ready
    /// with its outcome (kept async for callers that may await a slower
    /// sink).
    pub fn append(
        &self,
        record: Vec<u8>,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'static {
        std::future::ready(self.append_blocking(record))
    }

    /// Stores one record; returns once its bytes were written to the OS.
    pub fn append_blocking(&self, record: Vec<u8>) -> Result<(), AuditError> {
        let (line, time) = self.prepare(record)?;
        self.lock()?.write_line(&line, time)
    }

    /// Serialises and stores an [`Event`].
    pub fn append_event(
        &self,
        event: &Event,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'static {
        self.append(event.to_json())
    }

    /// Checks a record and turns it into its stored line.
    fn prepare(
        &self,
        mut record: Vec<u8>,
    ) -> Result<(Vec<u8>, Option<OffsetDateTime>), AuditError> {
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
        Ok((line, time))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Writer>, AuditError> {
        if self.ticker.is_none() {
            return Err(AuditError::Closed);
        }
        // A panic while holding the lock cannot leave a torn line behind
        // (the write is one call), so the writer stays usable.
        Ok(self.writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Seals the open file and writes a digest now (blocking).
    pub fn seal_now(&self) -> Result<(), AuditError> {
        self.lock()?.seal_and_digest()
    }

    /// Seals the open file, writes a final digest and stops the ticker
    /// (blocking).
    pub fn close(mut self) -> Result<(), AuditError> {
        let result = self.lock()?.seal_and_digest();
        self.stop_ticker();
        result
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
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
        // Like a crash (the open file stays `.partial` for recovery), but
        // what was written is made durable first.
        if self.ticker.is_some() {
            self.stop_ticker();
            self.writer.lock().unwrap_or_else(|p| p.into_inner()).sync();
        }
    }
}

/// The ticker: group commit (an `fdatasync` per flush interval, outside
/// the lock, so appenders never wait for the disk) and on-time rotation
/// and digests.
fn tick_loop(writer: &Mutex<Writer>, stop: &AtomicBool, shared: &Shared) {
    while !stop.load(Ordering::Acquire) {
        let wait = writer.lock().unwrap_or_else(|p| p.into_inner()).wait_time();
        std::thread::park_timeout(wait.max(Duration::from_millis(1)));
        if stop.load(Ordering::Acquire) {
            return;
        }
        let to_sync = writer.lock().unwrap_or_else(|p| p.into_inner()).tick();
        if let Some(file) = to_sync
            && let Err(e) = file.sync_data()
        {
            shared.failed(&format!("sync of the open log file: {e}"));
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
