//! Bringing a directory back to a consistent state at open.
//!
//! 1. `*.tmp` leftovers of interrupted digest writes are removed.
//! 2. Each `.partial` log file (left by a killed process) is cut back to its
//!    last newline (a torn line was never acknowledged), synced and renamed to
//!    its final name; an empty one is removed.
//! 3. The chain resumes from the newest digest if its signature checks with
//!    our key and it parses. Otherwise the problem is reported and a new chain
//!    segment starts (its first digest has no previous-digest link, which
//!    `verify` reports as a broken chain): a damaged trail must stay visible,
//!    but must not stop the gateway from recording what happens next.
//! 4. Sealed files newer than the newest file any digest lists are covered by
//!    a recovery digest written now.

use std::path::Path;

use time::OffsetDateTime;

use super::JournalConfig;
use super::chain::Chain;
use crate::digest::{self, ChainHead, HASH_ALGORITHM, LogFileEntry};
use crate::layout::{self, FileRef, LOG_EXT};
use crate::signer::Signer;
use crate::{AuditError, fsutil, scan, timefmt};

/// What open found and repaired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryReport {
    /// `.partial` files sealed (relative paths, final names).
    pub partial_files_sealed: Vec<String>,
    /// `.partial` files removed because they held no complete line.
    pub empty_partials_removed: Vec<String>,
    /// Bytes of torn last lines cut off.
    pub torn_bytes_dropped: u64,
    /// Sealed files that no digest listed, covered by the recovery digest.
    pub files_digested: Vec<String>,
    /// The recovery digest written, if any.
    pub recovery_digest: Option<String>,
    /// Why the chain could not be resumed (a new segment started), if so.
    pub chain_problem: Option<String>,
}

pub(super) struct Recovered {
    pub chain: Chain,
    pub next_log_seq: u64,
    pub last_log_time: OffsetDateTime,
    pub report: RecoveryReport,
}

pub(super) fn recover(
    cfg: &JournalConfig,
    signer: &Signer,
    now: OffsetDateTime,
) -> Result<Recovered, AuditError> {
    let dir = cfg.dir.as_path();
    let mut report = RecoveryReport::default();
    layout::remove_tmp_files(dir);

    for f in layout::list_logs(dir).into_iter().filter(|f| f.partial) {
        seal_partial(dir, &f, &mut report)?;
    }
    let logs = layout::list_logs(dir);
    let digests = layout::list_digests(dir);

    let head = match digests.last() {
        None => None,
        Some(newest) => match resume_from(dir, newest, &signer.public_key()) {
            Ok(head) => Some(head),
            Err(why) => {
                let msg = format!(
                    "newest digest {}: {why}; a new chain segment starts",
                    newest.rel
                );
                tracing::warn!(target: "sekisho_audit", "{msg}");
                report.chain_problem = Some(msg);
                None
            }
        },
    };

    let covered = newest_covered(dir, &digests);
    let uncovered: Vec<&FileRef> = logs
        .iter()
        .filter(|f| !f.partial)
        .filter(|f| covered.as_ref().is_none_or(|c| (f.time, f.seq) > *c))
        .collect();

    let period_start = match &head {
        Some(h) => h.end_time,
        None => uncovered.first().map_or(now, |f| f.time.min(now)).min(now),
    };
    let mut chain = Chain {
        dir: cfg.dir.clone(),
        account: cfg.account_id.clone(),
        region: cfg.region.clone(),
        head,
        period_start: timefmt::whole_seconds(period_start),
        next_seq: digests.iter().map(|d| d.seq).max().map_or(1, |s| s + 1),
    };

    if !uncovered.is_empty() {
        let mut entries = Vec::with_capacity(uncovered.len());
        for f in &uncovered {
            let path = f.disk_path(dir);
            let s = scan::summarize(&path, cfg.cipher.as_deref())
                .map_err(|e| AuditError::io("read log file", &path, e))?;
            entries.push(LogFileEntry {
                file: f.rel.clone(),
                hash_value: s.hash,
                hash_algorithm: HASH_ALGORITHM.to_owned(),
                size: s.size,
                oldest_event_time: s.oldest,
                newest_event_time: s.newest,
                records: s.records,
            });
            report.files_digested.push(f.rel.clone());
        }
        report.recovery_digest = Some(chain.write(signer, &entries, now)?);
    }

    let last_log_time = logs.iter().map(|f| f.time).max().unwrap_or(now);
    Ok(Recovered {
        chain,
        next_log_seq: logs.iter().map(|f| f.seq).max().map_or(1, |s| s + 1),
        last_log_time,
        report,
    })
}

fn seal_partial(dir: &Path, f: &FileRef, report: &mut RecoveryReport) -> Result<(), AuditError> {
    let partial = f.disk_path(dir);
    let (len, dropped) = scan::cut_torn_tail(&partial)
        .map_err(|e| AuditError::io("repair log file", &partial, e))?;
    report.torn_bytes_dropped += dropped;
    if len == 0 {
        std::fs::remove_file(&partial)
            .map_err(|e| AuditError::io("remove empty log file", &partial, e))?;
        report.empty_partials_removed.push(f.rel.clone());
        return Ok(());
    }
    let sealed = layout::join_rel(dir, &f.rel);
    std::fs::File::open(&partial)
        .and_then(|file| file.sync_all())
        .and_then(|()| std::fs::rename(&partial, &sealed))
        .map_err(|e| AuditError::io("seal log file", &sealed, e))?;
    if let Some(parent) = sealed.parent() {
        fsutil::sync_dir(parent)?;
    }
    report.partial_files_sealed.push(f.rel.clone());
    Ok(())
}

fn resume_from(dir: &Path, newest: &FileRef, public_key: &[u8]) -> Result<ChainHead, String> {
    let stored = digest::read(dir, &newest.rel).map_err(|e| format!("unreadable ({e})"))?;
    if !stored.signature_ok(public_key) {
        return Err("signature missing or not valid for this key".into());
    }
    let doc = stored.parse().map_err(|e| format!("malformed ({e})"))?;
    Ok(ChainHead {
        rel: newest.rel.clone(),
        hash: stored.hash(),
        signature: stored.signature_hex(),
        end_time: doc.digest_end_time,
    })
}

/// (time, seq) of the newest log file any digest lists, found by walking
/// back from the newest digest to the first one that lists files.
fn newest_covered(dir: &Path, digests: &[FileRef]) -> Option<(OffsetDateTime, u64)> {
    for d in digests.iter().rev() {
        let Ok(doc) =
            digest::read(dir, &d.rel).and_then(|s| s.parse().map_err(std::io::Error::other))
        else {
            continue;
        };
        let newest = doc
            .log_files
            .iter()
            .filter_map(|e| layout::parse_name(e.file.rsplit('/').next()?, LOG_EXT))
            .max();
        if newest.is_some() {
            return newest;
        }
    }
    None
}
