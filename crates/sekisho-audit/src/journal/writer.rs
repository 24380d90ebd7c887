//! The writer: the open log file, rotation and digests, behind the
//! journal's mutex. Appenders write their line directly (one `write` call,
//! no thread hop: the answer to a request waits only for that syscall); a
//! ticker thread makes writes durable by group commit (one `fdatasync` per
//! flush interval, outside the lock) and seals files and writes digests on
//! time.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{Context, SHA256};
use time::OffsetDateTime;

use super::chain::Chain;
use super::{Clock, Shared};
use crate::digest::{HASH_ALGORITHM, LogFileEntry};
use crate::scan::TimeSpan;
use crate::signer::Signer;
use crate::{AuditError, fsutil, layout, timefmt};

/// Longest idle wait of the ticker, so time-based rotation and digests
/// happen on time.
pub(super) const TICK: Duration = Duration::from_secs(1);

struct OpenFile {
    file: File,
    rel: String,
    partial: PathBuf,
    opened_at: OffsetDateTime,
    len: u64,
    hasher: Context,
    span: TimeSpan,
    dirty: bool,
    last_sync: Instant,
}

pub(super) struct Settings {
    pub dir: PathBuf,
    pub account: String,
    pub region: String,
    pub rotate_every: Duration,
    pub max_file_bytes: u64,
    pub digest_every: Duration,
    pub flush_interval: Duration,
}

pub(super) struct Writer {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub signer: Signer,
    pub chain: Chain,
    pub shared: Arc<Shared>,
    pub next_log_seq: u64,
    pub last_log_time: OffsetDateTime,
    pub last_digest_at: OffsetDateTime,
    open: Option<OpenFile>,
    /// Files sealed since the last digest.
    sealed: Vec<LogFileEntry>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        clock: Arc<dyn Clock>,
        signer: Signer,
        chain: Chain,
        shared: Arc<Shared>,
        next_log_seq: u64,
        last_log_time: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Writer {
        Writer {
            settings,
            clock,
            signer,
            chain,
            shared,
            next_log_seq,
            last_log_time,
            last_digest_at: now,
            open: None,
            sealed: Vec::new(),
        }
    }

    /// How long the ticker may sleep before its next duty.
    pub fn wait_time(&self) -> Duration {
        let s = &self.settings;
        match &self.open {
            Some(o) if o.dirty => s.flush_interval.saturating_sub(o.last_sync.elapsed()),
            _ => TICK.min(s.rotate_every).min(s.digest_every),
        }
    }

    /// The ticker's duties: time-based rotation and digests, done here;
    /// and, when the flush interval passed since the last sync, a handle
    /// to the open file for the caller to `fdatasync` outside the lock.
    pub fn tick(&mut self) -> Option<File> {
        let now = self.clock.now();
        if self
            .open
            .as_ref()
            .is_some_and(|o| now - o.opened_at >= self.settings.rotate_every)
        {
            let _ = self.seal_open();
        }
        if now - self.last_digest_at >= self.settings.digest_every {
            let _ = self.write_digest(now);
        }
        let interval = self.settings.flush_interval;
        let o = self.open.as_mut()?;
        if !(o.dirty && o.last_sync.elapsed() >= interval) {
            return None;
        }
        match o.file.try_clone() {
            Ok(f) => {
                o.dirty = false;
                o.last_sync = Instant::now();
                Some(f)
            }
            Err(e) => {
                let msg = format!("sync {}: {e}", o.partial.display());
                self.shared.failed(&msg);
                None
            }
        }
    }

    /// Stores one line (with its newline): one `write` call. Rotates first
    /// when the open file is too old or would grow past its size limit.
    pub fn write_line(
        &mut self,
        line: &[u8],
        time: Option<OffsetDateTime>,
    ) -> Result<(), AuditError> {
        let now = self.clock.now();
        let too_big = self
            .open
            .as_ref()
            .is_some_and(|o| o.len > 0 && o.len + line.len() as u64 > self.settings.max_file_bytes);
        let too_old = self
            .open
            .as_ref()
            .is_some_and(|o| now - o.opened_at >= self.settings.rotate_every);
        if too_big || too_old {
            // A failed seal leaves the file `.partial` for recovery; a new
            // file is opened either way.
            if self.seal_open().is_err() {
                self.open = None;
            }
        }
        if self.open.is_none()
            && let Err(e) = self.open_new()
        {
            self.shared.failed(&e.to_string());
            return Err(AuditError::WriteFailed(e.to_string()));
        }
        let Some(o) = self.open.as_mut() else {
            return Err(AuditError::WriteFailed("no open log file".into()));
        };
        match o.file.write_all(line) {
            Ok(()) => {
                o.hasher.update(line);
                o.len += line.len() as u64;
                o.span.add(time);
                o.dirty = true;
                self.shared.written(1);
                Ok(())
            }
            Err(e) => {
                // Cut off whatever part reached the file, so the next line
                // does not glue onto a torn one. If even that fails, abandon
                // the file: recovery will repair it.
                let msg = format!("write {}: {e}", o.partial.display());
                if o.file.set_len(o.len).is_err() {
                    self.open = None;
                }
                self.shared.failed(&msg);
                Err(AuditError::WriteFailed(msg))
            }
        }
    }

    fn open_new(&mut self) -> Result<(), AuditError> {
        let now = self.clock.now();
        // Names never go back in time, so name order stays creation order.
        let t = timefmt::whole_seconds(now).max(self.last_log_time);
        let rel = layout::log_rel(
            &self.settings.account,
            &self.settings.region,
            t,
            self.next_log_seq,
        );
        let final_path = layout::join_rel(&self.settings.dir, &rel);
        let parent = final_path
            .parent()
            .unwrap_or(&self.settings.dir)
            .to_path_buf();
        let mut partial = final_path.into_os_string();
        partial.push(layout::PARTIAL_EXT);
        let partial = PathBuf::from(partial);
        fsutil::create_dir_all(&parent)?;
        let mut o = OpenOptions::new();
        o.append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o
            .open(&partial)
            .map_err(|e| AuditError::io("create log file", &partial, e))?;
        fsutil::sync_dir(&parent)?;
        self.next_log_seq += 1;
        self.last_log_time = t;
        self.open = Some(OpenFile {
            file,
            rel,
            partial,
            opened_at: now,
            len: 0,
            hasher: Context::new(&SHA256),
            span: TimeSpan::default(),
            dirty: false,
            last_sync: Instant::now(),
        });
        Ok(())
    }

    /// fdatasync of the open file now (at drop: make what was written
    /// durable).
    pub fn sync(&mut self) {
        if let Some(o) = self.open.as_mut()
            && o.dirty
        {
            match o.file.sync_data() {
                Ok(()) => o.dirty = false,
                Err(e) => self
                    .shared
                    .failed(&format!("sync {}: {e}", o.partial.display())),
            }
            o.last_sync = Instant::now();
        }
    }

    /// Syncs, renames `.partial` to the final name and queues the file for
    /// the next digest. A file with no records is removed instead.
    fn seal_open(&mut self) -> Result<(), AuditError> {
        let Some(o) = self.open.take() else {
            return Ok(());
        };
        let final_path = layout::join_rel(&self.settings.dir, &o.rel);
        if o.len == 0 {
            let _ = std::fs::remove_file(&o.partial);
            return Ok(());
        }
        let result = o
            .file
            .sync_data()
            .and_then(|()| std::fs::rename(&o.partial, &final_path))
            .map_err(|e| AuditError::io("seal log file", &final_path, e))
            .and_then(|()| fsutil::sync_dir(final_path.parent().unwrap_or(&self.settings.dir)));
        if let Err(e) = &result {
            // The file stays `.partial`; the next open recovers and digests it.
            self.shared.failed(&e.to_string());
            return result;
        }
        self.sealed.push(LogFileEntry {
            file: o.rel,
            hash_value: hex::encode(o.hasher.finish().as_ref()),
            hash_algorithm: HASH_ALGORITHM.to_owned(),
            size: o.len,
            oldest_event_time: o.span.oldest,
            newest_event_time: o.span.newest,
            records: o.span.records,
        });
        Ok(())
    }

    fn write_digest(&mut self, now: OffsetDateTime) -> Result<(), AuditError> {
        self.last_digest_at = now;
        match self.chain.write(&self.signer, &self.sealed, now) {
            Ok(_) => {
                self.sealed.clear();
                Ok(())
            }
            Err(e) => {
                // Keep the entries: the next digest lists them.
                self.shared.failed(&e.to_string());
                Err(e)
            }
        }
    }

    pub fn seal_and_digest(&mut self) -> Result<(), AuditError> {
        let sealed = self.seal_open();
        let digest = self.write_digest(self.clock.now());
        sealed.and(digest)
    }
}
