//! The writer thread: group write, acknowledgement, group fsync, rotation
//! and digests. It alone touches the open log file, so no locks guard it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{Context, SHA256};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use time::OffsetDateTime;

use super::chain::Chain;
use super::{Clock, Shared};
use crate::digest::{HASH_ALGORITHM, LogFileEntry};
use crate::scan::TimeSpan;
use crate::signer::Signer;
use crate::{AuditError, fsutil, layout, timefmt};

/// Most bytes gathered into one write call.
const MAX_BATCH_BYTES: usize = 8 << 20;
/// Longest idle wait, so time-based rotation and digests happen on time.
const TICK: Duration = Duration::from_secs(1);

pub(super) enum Msg {
    Append(Pending),
    /// Seal the open file and write a digest.
    Seal(SyncSender<Result<(), AuditError>>),
    /// Like `Seal`, then stop.
    Close(SyncSender<Result<(), AuditError>>),
}

/// A record ready to store: its line (with newline) and its event time.
pub(super) struct Pending {
    pub line: Vec<u8>,
    pub time: Option<OffsetDateTime>,
    pub ack: Ack,
}

pub(super) enum Ack {
    Async(tokio::sync::oneshot::Sender<Result<(), AuditError>>),
    Blocking(SyncSender<Result<(), AuditError>>),
}

impl Ack {
    fn send(self, r: Result<(), AuditError>) {
        // A caller that stopped waiting is not an error for the journal.
        match self {
            Ack::Async(tx) => {
                let _ = tx.send(r);
            }
            Ack::Blocking(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

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
    buf: Vec<u8>,
    seg_acks: Vec<Ack>,
    seg_span: TimeSpan,
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
            buf: Vec::with_capacity(1 << 20),
            seg_acks: Vec::new(),
            seg_span: TimeSpan::default(),
        }
    }

    pub fn run(mut self, rx: Receiver<Msg>) {
        let mut held: Option<Msg> = None;
        let mut batch: Vec<Pending> = Vec::new();
        loop {
            let msg = match held.take() {
                Some(m) => Ok(m),
                None => rx.recv_timeout(self.wait_time()),
            };
            match msg {
                Ok(Msg::Append(p)) => {
                    let mut bytes = p.line.len();
                    batch.push(p);
                    // Drain whatever queued meanwhile: one write for all of it.
                    while bytes < MAX_BATCH_BYTES {
                        match rx.try_recv() {
                            Ok(Msg::Append(p)) => {
                                bytes += p.line.len();
                                batch.push(p);
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.write_batch(&mut batch);
                }
                Ok(Msg::Seal(ack)) => {
                    let _ = ack.send(self.seal_and_digest());
                }
                Ok(Msg::Close(ack)) => {
                    let _ = ack.send(self.seal_and_digest());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Dropped without close: like a crash, the `.partial` stays
                // for the next open to recover; make what was written durable.
                Err(RecvTimeoutError::Disconnected) => {
                    self.sync();
                    return;
                }
            }
            self.housekeeping();
        }
    }

    fn wait_time(&self) -> Duration {
        let s = &self.settings;
        match &self.open {
            Some(o) if o.dirty => s.flush_interval.saturating_sub(o.last_sync.elapsed()),
            _ => TICK.min(s.rotate_every).min(s.digest_every),
        }
    }

    fn housekeeping(&mut self) {
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.dirty && o.last_sync.elapsed() >= self.settings.flush_interval)
        {
            self.sync();
        }
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
    }

    fn write_batch(&mut self, batch: &mut Vec<Pending>) {
        for p in batch.drain(..) {
            let used = self.open.as_ref().map_or(0, |o| o.len) + self.buf.len() as u64;
            if used > 0 && used + p.line.len() as u64 > self.settings.max_file_bytes {
                self.flush_segment();
                let _ = self.seal_open();
            }
            if self.open.is_none()
                && let Err(e) = self.open_new()
            {
                self.shared.failed(&e.to_string());
                p.ack.send(Err(AuditError::WriteFailed(e.to_string())));
                continue;
            }
            self.buf.extend_from_slice(&p.line);
            self.seg_span.add(p.time);
            self.seg_acks.push(p.ack);
        }
        self.flush_segment();
    }

    /// Writes the gathered segment with one write call, then acknowledges it.
    fn flush_segment(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let span = std::mem::take(&mut self.seg_span);
        let acks = std::mem::take(&mut self.seg_acks);
        let result = match self.open.as_mut() {
            None => Err("no open log file".to_owned()),
            Some(o) => match o.file.write_all(&self.buf) {
                Ok(()) => {
                    o.hasher.update(&self.buf);
                    o.len += self.buf.len() as u64;
                    merge(&mut o.span, &span);
                    o.dirty = true;
                    Ok(())
                }
                Err(e) => {
                    // Cut off whatever part of the batch reached the file, so
                    // the next batch does not glue onto a torn line. If even
                    // that fails, abandon the file: recovery will repair it.
                    let msg = format!("write {}: {e}", o.partial.display());
                    if o.file.set_len(o.len).is_err() {
                        self.open = None;
                    }
                    Err(msg)
                }
            },
        };
        self.buf.clear();
        match result {
            Ok(()) => {
                self.shared.written(acks.len() as u64);
                for a in acks {
                    a.send(Ok(()));
                }
            }
            Err(msg) => {
                self.shared.failed(&msg);
                for a in acks {
                    a.send(Err(AuditError::WriteFailed(msg.clone())));
                }
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

    /// fdatasync of the open file (group commit: one per flush interval).
    fn sync(&mut self) {
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

    fn seal_and_digest(&mut self) -> Result<(), AuditError> {
        self.flush_segment();
        let sealed = self.seal_open();
        let digest = self.write_digest(self.clock.now());
        sealed.and(digest)
    }
}

fn merge(into: &mut TimeSpan, from: &TimeSpan) {
    into.records += from.records;
    for t in [from.oldest, from.newest].into_iter().flatten() {
        into.oldest = Some(into.oldest.map_or(t, |o| o.min(t)));
        into.newest = Some(into.newest.map_or(t, |n| n.max(t)));
    }
}
