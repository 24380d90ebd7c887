//! Where files live and what they are called.
//!
//! ```text
//! dir/public-key.pem                                   (written by the gateway)
//! dir/logs/YYYY/MM/DD/{account}_CloudTrail_{region}_{YYYYMMDDTHHMMSSZ}_{seq:06}.jsonl
//! dir/logs/YYYY/MM/DD/....jsonl.partial                (the file being written)
//! dir/digests/YYYY/MM/DD/{account}_CloudTrail-Digest_{region}_{YYYYMMDDTHHMMSSZ}_{seq:06}.json
//! dir/digests/YYYY/MM/DD/....json.sig                  (hex Ed25519 signature)
//! ```
//!
//! The time in a name is when the file was opened (log) or written (digest);
//! the writer never lets it go backwards, and `seq` only grows, so sorting by
//! (time, seq) is creation order.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::timefmt;

pub const LOGS: &str = "logs";
pub const DIGESTS: &str = "digests";
pub const LOG_EXT: &str = ".jsonl";
pub const PARTIAL_EXT: &str = ".partial";
pub const DIGEST_EXT: &str = ".json";
pub const SIG_EXT: &str = ".sig";
pub const TMP_EXT: &str = ".tmp";

/// Directory nesting under `logs/` and `digests/` (YYYY/MM/DD); listing
/// descends no deeper, which also bounds work on a hostile tree.
const DEPTH: usize = 3;

/// A log or digest file found on disk or named in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// Path relative to the journal directory, `/`-separated, with its final
    /// extension (a `.partial` file is reported under its final name too, see `partial`).
    pub rel: String,
    pub time: OffsetDateTime,
    pub seq: u64,
    /// The log file is still being written (`.partial` on disk).
    pub partial: bool,
}

impl FileRef {
    /// The path on disk (with `.partial` when partial).
    pub fn disk_path(&self, dir: &Path) -> PathBuf {
        let mut p = join_rel(dir, &self.rel);
        if self.partial {
            p.as_mut_os_string().push(PARTIAL_EXT);
        }
        p
    }

    pub fn sort_key(&self) -> (OffsetDateTime, u64, &str) {
        (self.time, self.seq, &self.rel)
    }
}

pub fn log_rel(account: &str, region: &str, t: OffsetDateTime, seq: u64) -> String {
    format!(
        "{LOGS}/{}/{account}_CloudTrail_{region}_{}_{seq:06}{LOG_EXT}",
        date_dirs(t),
        timefmt::compact(t)
    )
}

pub fn digest_rel(account: &str, region: &str, t: OffsetDateTime, seq: u64) -> String {
    format!(
        "{DIGESTS}/{}/{account}_CloudTrail-Digest_{region}_{}_{seq:06}{DIGEST_EXT}",
        date_dirs(t),
        timefmt::compact(t)
    )
}

fn date_dirs(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}/{:02}/{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Joins a `/`-separated relative path onto `dir`.
pub fn join_rel(dir: &Path, rel: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    p.extend(rel.split('/'));
    p
}

/// A relative path taken from a (possibly forged) digest is only used if it
/// stays inside the journal directory.
pub fn is_safe_rel(rel: &str, top: &str) -> bool {
    rel.len() < 1024
        && rel.split('/').next() == Some(top)
        && rel.split('/').all(|c| {
            !c.is_empty() && c != "." && c != ".." && !c.contains('\\') && !c.contains('\0')
        })
}

/// Time and sequence number from a file name ending `_{time}_{seq}{ext}`.
pub fn parse_name(name: &str, ext: &str) -> Option<(OffsetDateTime, u64)> {
    let stem = name.strip_suffix(ext)?;
    let mut parts = stem.rsplitn(3, '_');
    let seq = parts.next()?.parse().ok()?;
    let time = timefmt::parse_compact(parts.next()?)?;
    parts.next()?;
    Some((time, seq))
}

/// Log files under `dir/logs`, oldest first. Unreadable directories are
/// skipped (the caller sees the files as missing, which verify reports).
pub fn list_logs(dir: &Path) -> Vec<FileRef> {
    let mut out = Vec::new();
    walk(dir, LOGS, 0, &mut |rel, name| {
        if let Some(final_name) = name.strip_suffix(PARTIAL_EXT) {
            if let Some((time, seq)) = parse_name(final_name, LOG_EXT) {
                let rel = rel.strip_suffix(PARTIAL_EXT).unwrap_or(rel).to_owned();
                out.push(FileRef {
                    rel,
                    time,
                    seq,
                    partial: true,
                });
            }
        } else if let Some((time, seq)) = parse_name(name, LOG_EXT) {
            out.push(FileRef {
                rel: rel.to_owned(),
                time,
                seq,
                partial: false,
            });
        }
    });
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Digest documents under `dir/digests`, oldest first.
pub fn list_digests(dir: &Path) -> Vec<FileRef> {
    let mut out = Vec::new();
    walk(dir, DIGESTS, 0, &mut |rel, name| {
        if let Some((time, seq)) = parse_name(name, DIGEST_EXT) {
            out.push(FileRef {
                rel: rel.to_owned(),
                time,
                seq,
                partial: false,
            });
        }
    });
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Removes leftovers of interrupted atomic writes (`*.tmp`).
pub fn remove_tmp_files(dir: &Path) {
    for top in [LOGS, DIGESTS] {
        walk(dir, top, 0, &mut |rel, name| {
            if name.ends_with(TMP_EXT) {
                let _ = std::fs::remove_file(join_rel(dir, rel));
            }
        });
    }
}

fn walk(dir: &Path, rel: &str, depth: usize, f: &mut dyn FnMut(&str, &str)) {
    let Ok(entries) = std::fs::read_dir(join_rel(dir, rel)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let child = format!("{rel}/{name}");
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && depth < DEPTH {
            walk(dir, &child, depth + 1, f);
        } else if ft.is_file() {
            f(&child, &name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_parse_back() {
        let t = datetime!(2026-11-26 01:02:03 UTC);
        let rel = log_rel("123456789012", "us-east-1", t, 7);
        assert_eq!(
            rel,
            "logs/2026/11/26/123456789012_CloudTrail_us-east-1_20261126T010203Z_000007.jsonl"
        );
        let name = rel.rsplit('/').next().unwrap();
        assert_eq!(parse_name(name, LOG_EXT), Some((t, 7)));
        assert!(is_safe_rel(&rel, LOGS));
        assert!(!is_safe_rel("logs/../../etc/passwd", LOGS));
        assert!(!is_safe_rel("/etc/passwd", LOGS));
        assert!(!is_safe_rel("digests/x.json", LOGS));
        let d = digest_rel("123456789012", "us-east-1", t, 1);
        assert_eq!(
            parse_name(d.rsplit('/').next().unwrap(), DIGEST_EXT),
            Some((t, 1))
        );
    }
}
