//! Checking a journal directory, like `aws cloudtrail validate-logs`.
//!
//! The digest chain is walked oldest to newest: each digest's signature, its
//! link (path, SHA-256, signature) to the digest actually before it, and that
//! its period starts where the previous one ended. Every listed log file is
//! then hashed (streamed, 1 MiB reads) and compared with its entry. Files on
//! disk that no digest lists are reported as inserted when they sit among
//! covered files, and as not yet covered (informational: a running journal
//! digests them later) when they are newer than every listed file.
//!
//! Limits, as with CloudTrail: a deleted newest digest, or files appended
//! after it, cannot be told from ones not digested yet.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use time::OffsetDateTime;

use crate::digest::{self, DigestDoc, LogFileEntry};
use crate::layout::{self, FileRef, LOG_EXT, LOGS};
use crate::{AuditError, scan, signer, timefmt};

/// What kind of damage (or notice) a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// The digest's signature is missing or does not verify with the key:
    /// the digest was modified, or signed by another key.
    DigestSignatureInvalid,
    /// The digest is unreadable or not a digest document.
    DigestMalformed,
    /// A digest that the next one links to is gone.
    DigestDeleted,
    /// A digest's bytes or signature differ from what its successor recorded.
    DigestModified,
    /// A digest does not link to the digest before it (restart, insertion).
    ChainBroken,
    /// A digest's period does not start where the previous one ended.
    Gap,
    LogFileDeleted,
    LogFileModified,
    /// Shorter than listed: records were cut off the end.
    LogFileTruncated,
    /// The file holds exactly the content listed for another file.
    LogFileReordered,
    /// A file among covered files that no digest lists.
    LogFileInserted,
    /// A file newer than every listed file (or an unsealed `.partial`): not
    /// digested yet. Does not make the report invalid.
    LogFileNotYetCovered,
    /// A listed file could not be read.
    LogFileUnreadable,
}

impl FindingKind {
    /// False only for notices that a healthy, running journal also produces.
    pub fn is_problem(self) -> bool {
        self != FindingKind::LogFileNotYetCovered
    }

    pub fn label(self) -> &'static str {
        match self {
            FindingKind::DigestSignatureInvalid => "DIGEST SIGNATURE INVALID",
            FindingKind::DigestMalformed => "DIGEST MALFORMED",
            FindingKind::DigestDeleted => "DIGEST DELETED",
            FindingKind::DigestModified => "DIGEST MODIFIED",
            FindingKind::ChainBroken => "CHAIN BROKEN",
            FindingKind::Gap => "GAP",
            FindingKind::LogFileDeleted => "DELETED",
            FindingKind::LogFileModified => "MODIFIED",
            FindingKind::LogFileTruncated => "TRUNCATED",
            FindingKind::LogFileReordered => "REORDERED",
            FindingKind::LogFileInserted => "INSERTED",
            FindingKind::LogFileNotYetCovered => "NOT YET COVERED",
            FindingKind::LogFileUnreadable => "UNREADABLE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The file concerned, relative to the journal directory.
    pub path: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub digests_checked: u64,
    pub files_checked: u64,
    pub bytes_checked: u64,
    pub findings: Vec<Finding>,
    /// No finding is a problem (see [`FindingKind::is_problem`]).
    pub valid: bool,
}

impl VerifyReport {
    pub fn has(&self, kind: FindingKind, path: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.kind == kind && f.path == path)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} digest(s), {} log file(s), {} byte(s) checked",
            if self.valid { "VALID" } else { "INVALID" },
            self.digests_checked,
            self.files_checked,
            self.bytes_checked
        )?;
        for x in &self.findings {
            writeln!(f, "  {:<24} {}: {}", x.kind.label(), x.path, x.detail)?;
        }
        Ok(())
    }
}

/// Verifies the journal in `dir` with the raw Ed25519 public key (see
/// [`crate::signer::public_key_from_pem`]). `range` limits the check to
/// digests whose period overlaps it and to unlisted files named within it.
pub fn verify(
    dir: &Path,
    public_key: &[u8],
    range: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Result<VerifyReport, AuditError> {
    verify_with_progress(dir, public_key, range, &mut |_, _| {})
}

/// [`verify`], reporting (bytes hashed, bytes to hash) as it goes.
pub fn verify_with_progress(
    dir: &Path,
    public_key: &[u8],
    range: Option<(OffsetDateTime, OffsetDateTime)>,
    on_bytes: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, AuditError> {
    if !dir.is_dir() {
        return Err(AuditError::io(
            "open journal",
            dir,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let mut v = Verifier {
        dir,
        public_key,
        fingerprint: signer::fingerprint(public_key),
        findings: Vec::new(),
        report: VerifyReport::default(),
    };
    let listed = v.walk_chain(range);
    v.check_files(&listed, on_bytes);
    v.check_unlisted(&listed, range);
    let mut report = v.report;
    report.findings = v.findings;
    report.valid = report.findings.iter().all(|f| !f.kind.is_problem());
    Ok(report)
}

/// A digest as far as it could be read.
struct Loaded {
    rel: String,
    hash: String,
    signature: String,
    doc: Option<DigestDoc>,
}

/// Log file entries of all digests; `checked` marks those in range.
struct Listed {
    entries: Vec<(LogFileEntry, String, bool)>,
}

struct Verifier<'a> {
    dir: &'a Path,
    public_key: &'a [u8],
    fingerprint: String,
    findings: Vec<Finding>,
    report: VerifyReport,
}

impl Verifier<'_> {
    fn find(&mut self, kind: FindingKind, path: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            path: path.to_owned(),
            detail: detail.into(),
        });
    }

    fn walk_chain(&mut self, range: Option<(OffsetDateTime, OffsetDateTime)>) -> Listed {
        let refs = layout::list_digests(self.dir);
        let names: HashSet<&str> = refs.iter().map(|r| r.rel.as_str()).collect();
        let mut listed = Listed {
            entries: Vec::new(),
        };
        let mut prev: Option<Loaded> = None;
        for r in &refs {
            let cur = self.load(r);
            let in_range = match (&cur.doc, range) {
                (Some(d), Some((from, to))) => {
                    d.digest_end_time >= from && d.digest_start_time <= to
                }
                _ => true,
            };
            if in_range {
                self.report.digests_checked += 1;
                self.check_signature(r, &cur);
                self.check_link(&cur, prev.as_ref(), &names);
            }
            if let Some(doc) = &cur.doc {
                for e in &doc.log_files {
                    listed.entries.push((e.clone(), cur.rel.clone(), in_range));
                }
            }
            prev = Some(cur);
        }
        listed
    }

    fn load(&mut self, r: &FileRef) -> Loaded {
        let mut loaded = Loaded {
            rel: r.rel.clone(),
            hash: String::new(),
            signature: String::new(),
            doc: None,
        };
        match digest::read(self.dir, &r.rel) {
            Err(e) => self.find(
                FindingKind::DigestMalformed,
                &r.rel,
                format!("unreadable: {e}"),
            ),
            Ok(stored) => {
                loaded.hash = stored.hash();
                loaded.signature = stored.signature_hex();
                match stored.parse() {
                    Ok(doc) => loaded.doc = Some(doc),
                    Err(e) => self.find(
                        FindingKind::DigestMalformed,
                        &r.rel,
                        format!("not a digest document: {e}"),
                    ),
                }
                if !stored.signature_ok(self.public_key) {
                    // Recorded here, reported in check_signature (range-aware).
                    loaded.signature = format!("!{}", loaded.signature);
                }
            }
        }
        loaded
    }

    fn check_signature(&mut self, r: &FileRef, cur: &Loaded) {
        if cur.hash.is_empty() || !cur.signature.starts_with('!') {
            return;
        }
        let detail = match &cur.doc {
            _ if cur.signature == "!" => "signature file missing or unreadable".to_owned(),
            Some(d) if d.digest_public_key_fingerprint != self.fingerprint => format!(
                "signature does not verify; the digest names key {} but the given key is {}",
                d.digest_public_key_fingerprint, self.fingerprint
            ),
            _ => "signature does not verify: the digest was modified after signing".to_owned(),
        };
        self.find(FindingKind::DigestSignatureInvalid, &r.rel, detail);
    }

    fn check_link(&mut self, cur: &Loaded, prev: Option<&Loaded>, names: &HashSet<&str>) {
        let Some(doc) = &cur.doc else { return };
        match (&doc.previous_digest_file, prev) {
            (None, None) => {}
            (None, Some(p)) => self.find(
                FindingKind::ChainBroken,
                &cur.rel,
                format!(
                    "starts a new chain segment: not linked to the digest before it ({})",
                    p.rel
                ),
            ),
            (Some(linked), prev) if prev.is_none_or(|p| &p.rel != linked) => {
                if names.contains(linked.as_str()) {
                    self.find(
                        FindingKind::ChainBroken,
                        &cur.rel,
                        format!(
                            "links to {linked}, but the digest before it is {}",
                            prev.map_or("none", |p| p.rel.as_str())
                        ),
                    );
                } else {
                    self.find(
                        FindingKind::DigestDeleted,
                        linked,
                        format!("missing; {} links to it", cur.rel),
                    );
                }
            }
            (Some(linked), Some(p)) => {
                if p.hash.is_empty() {
                    return; // unreadable: already reported
                }
                if doc.previous_digest_hash_value.as_deref() != Some(p.hash.as_str()) {
                    self.find(
                        FindingKind::DigestModified,
                        linked,
                        format!("SHA-256 differs from the one recorded in {}", cur.rel),
                    );
                } else if doc.previous_digest_signature.as_deref()
                    != Some(p.signature.trim_start_matches('!'))
                {
                    self.find(
                        FindingKind::DigestModified,
                        linked,
                        format!("signature differs from the one recorded in {}", cur.rel),
                    );
                } else if let Some(pd) = &p.doc
                    && pd.digest_end_time != doc.digest_start_time
                {
                    self.find(
                        FindingKind::Gap,
                        &cur.rel,
                        format!(
                            "period starts {} but the previous digest ended {}",
                            timefmt::iso(doc.digest_start_time),
                            timefmt::iso(pd.digest_end_time)
                        ),
                    );
                }
            }
            (Some(_), None) => {} // covered by the guard above
        }
    }

    fn check_files(&mut self, listed: &Listed, on_bytes: &mut dyn FnMut(u64, u64)) {
        let mut by_hash: HashMap<&str, Vec<&str>> = HashMap::new();
        for (e, _, _) in &listed.entries {
            by_hash
                .entry(e.hash_value.as_str())
                .or_default()
                .push(e.file.as_str());
        }
        let mut seen = HashSet::new();
        let todo: Vec<&(LogFileEntry, String, bool)> = listed
            .entries
            .iter()
            .filter(|(e, _, checked)| *checked && seen.insert(e.file.as_str()))
            .collect();
        let total: u64 = todo
            .iter()
            .filter(|(e, _, _)| layout::is_safe_rel(&e.file, LOGS))
            .filter_map(|(e, _, _)| std::fs::metadata(layout::join_rel(self.dir, &e.file)).ok())
            .map(|m| m.len())
            .sum();
        let mut done = 0u64;
        on_bytes(0, total);
        for (e, digest_rel, _) in todo {
            self.report.files_checked += 1;
            if !layout::is_safe_rel(&e.file, LOGS) {
                self.find(
                    FindingKind::DigestMalformed,
                    digest_rel,
                    format!("lists a path outside logs/: {:?}", e.file),
                );
                continue;
            }
            let path = layout::join_rel(self.dir, &e.file);
            if !path.is_file() {
                self.find(
                    FindingKind::LogFileDeleted,
                    &e.file,
                    format!("listed in {digest_rel}, not found"),
                );
                continue;
            }
            let hashed = scan::hash_file(&path, &mut |n| {
                done += n;
                on_bytes(done, total);
            });
            let (hash, size) = match hashed {
                Ok(x) => x,
                Err(err) => {
                    self.find(FindingKind::LogFileUnreadable, &e.file, err.to_string());
                    continue;
                }
            };
            self.report.bytes_checked += size;
            if hash == e.hash_value && size == e.size {
                continue;
            }
            let other = by_hash
                .get(hash.as_str())
                .and_then(|v| v.iter().find(|f| **f != e.file));
            if let Some(other) = other {
                self.find(
                    FindingKind::LogFileReordered,
                    &e.file,
                    format!("holds the content listed for {other}"),
                );
            } else if size < e.size {
                self.find(
                    FindingKind::LogFileTruncated,
                    &e.file,
                    format!("{size} bytes, {digest_rel} lists {}", e.size),
                );
            } else {
                self.find(
                    FindingKind::LogFileModified,
                    &e.file,
                    format!(
                        "SHA-256 or size differs from {digest_rel} ({size} bytes, listed {})",
                        e.size
                    ),
                );
            }
        }
    }

    fn check_unlisted(&mut self, listed: &Listed, range: Option<(OffsetDateTime, OffsetDateTime)>) {
        let names: HashSet<&str> = listed
            .entries
            .iter()
            .map(|(e, _, _)| e.file.as_str())
            .collect();
        let newest_listed = listed
            .entries
            .iter()
            .filter_map(|(e, _, _)| layout::parse_name(e.file.rsplit('/').next()?, LOG_EXT))
            .max();
        let logs = layout::list_logs(self.dir);
        let current = logs.iter().rev().find(|f| f.partial).map(|f| f.rel.clone());
        for f in &logs {
            if names.contains(f.rel.as_str()) {
                continue;
            }
            if range.is_some_and(|(from, to)| f.time < from || f.time > to) {
                continue;
            }
            if f.partial {
                if Some(&f.rel) != current.as_ref() || logs.last().is_some_and(|l| l.rel != f.rel) {
                    self.find(
                        FindingKind::LogFileNotYetCovered,
                        &format!("{}{}", f.rel, layout::PARTIAL_EXT),
                        "unsealed file left by an earlier run; the next open seals and digests it",
                    );
                }
                continue;
            }
            if newest_listed.is_none_or(|n| (f.time, f.seq) > n) {
                self.find(
                    FindingKind::LogFileNotYetCovered,
                    &f.rel,
                    "sealed after the newest digest",
                );
            } else {
                self.find(
                    FindingKind::LogFileInserted,
                    &f.rel,
                    "not listed by any digest",
                );
            }
        }
    }
}
