//! Each kind of tampering is named precisely by `verify`.

mod common;

use std::path::Path;

use common::*;
use sekisho_audit::{FindingKind, VerifyReport, verify};

/// Four log files of 10 records, each sealed with a digest (one per minute
/// of a manual clock), plus the empty closing digest.
fn trail() -> (tempfile::TempDir, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    for f in 0..4 {
        clock.advance(60);
        for i in 0..10 {
            j.append_blocking(event(f * 10 + i, clock.now()).to_json())
                .unwrap();
        }
        j.seal_now().unwrap();
    }
    clock.advance(60);
    j.close().unwrap();
    (tmp, s.public_key())
}

fn check(dir: &Path, pk: &[u8]) -> VerifyReport {
    let r = verify(dir, pk, None).unwrap();
    println!("{r}");
    r
}

#[test]
fn untouched_trail_is_valid() {
    let (tmp, pk) = trail();
    let r = check(tmp.path(), &pk);
    assert!(r.valid);
    assert!(r.findings.is_empty());
    assert_eq!(r.digests_checked, 5);
    assert_eq!(r.files_checked, 4);
    assert_eq!(sealed_logs(tmp.path()).len(), 4);
    // Another key does not verify it.
    let (other, _) = signer();
    let r = check(tmp.path(), &other.public_key());
    assert!(!r.valid);
    assert_eq!(r.findings.len(), 5);
    assert!(
        r.findings
            .iter()
            .all(|f| f.kind == FindingKind::DigestSignatureInvalid)
    );
}

#[test]
fn flipped_byte_is_modified() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    let p = path(tmp.path(), &logs[1]);
    let mut data = std::fs::read(&p).unwrap();
    data[100] ^= 0x01;
    std::fs::write(&p, data).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(!r.valid);
    assert!(r.has(FindingKind::LogFileModified, &logs[1]));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn deleted_log_file() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    std::fs::remove_file(path(tmp.path(), &logs[2])).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::LogFileDeleted, &logs[2]));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn forged_log_file_is_inserted() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    // Named between the first and second real files.
    let forged = logs[0].replace("_000001.jsonl", "_000099.jsonl");
    assert_ne!(forged, logs[0]);
    std::fs::copy(path(tmp.path(), &logs[0]), path(tmp.path(), &forged)).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(!r.valid);
    assert!(r.has(FindingKind::LogFileInserted, &forged));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn file_after_newest_digest_is_only_noted() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    let later = logs[3].replace("_000004.jsonl", "_000005.jsonl");
    std::fs::copy(path(tmp.path(), &logs[3]), path(tmp.path(), &later)).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::LogFileNotYetCovered, &later));
    assert!(r.valid);
}

#[test]
fn swapped_files_are_reordered() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    let (a, b) = (path(tmp.path(), &logs[0]), path(tmp.path(), &logs[1]));
    let (da, db) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::write(&a, db).unwrap();
    std::fs::write(&b, da).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::LogFileReordered, &logs[0]));
    assert!(r.has(FindingKind::LogFileReordered, &logs[1]));
    let f = r.findings.iter().find(|f| f.path == logs[0]).unwrap();
    assert!(f.detail.contains(&logs[1]), "{}", f.detail);
    assert_eq!(r.findings.len(), 2);
}

#[test]
fn truncated_newest_file() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    let p = path(tmp.path(), &logs[3]);
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::LogFileTruncated, &logs[3]));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn deleted_digest() {
    let (tmp, pk) = trail();
    let ds = digests(tmp.path());
    std::fs::remove_file(path(tmp.path(), &ds[1])).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(!r.valid);
    assert!(r.has(FindingKind::DigestDeleted, &ds[1]));
    // The file it listed is no longer covered by any digest.
    let logs = sealed_logs(tmp.path());
    assert!(r.has(FindingKind::LogFileInserted, &logs[1]));
}

#[test]
fn modified_digest() {
    let (tmp, pk) = trail();
    let ds = digests(tmp.path());
    let p = path(tmp.path(), &ds[1]);
    let text = std::fs::read_to_string(&p).unwrap();
    let edited = text.replacen("\"records\": 10", "\"records\": 11", 1);
    assert_ne!(text, edited);
    std::fs::write(&p, edited).unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::DigestSignatureInvalid, &ds[1]));
    assert!(r.has(FindingKind::DigestModified, &ds[1]));
    assert_eq!(r.findings.len(), 2);
}

#[test]
fn garbage_digest_is_a_finding_not_a_crash() {
    let (tmp, pk) = trail();
    let ds = digests(tmp.path());
    std::fs::write(path(tmp.path(), &ds[2]), b"\xff\x00not json").unwrap();
    let r = check(tmp.path(), &pk);
    assert!(r.has(FindingKind::DigestMalformed, &ds[2]));
    assert!(r.has(FindingKind::DigestModified, &ds[2]));
    assert!(!r.valid);
}

#[test]
fn range_limits_the_check() {
    let (tmp, pk) = trail();
    let logs = sealed_logs(tmp.path());
    std::fs::remove_file(path(tmp.path(), &logs[0])).unwrap();
    let clock = ManualClock::new();
    let from = clock.now() + time::Duration::seconds(150);
    let to = clock.now() + time::Duration::seconds(1000);
    let r = verify(tmp.path(), &pk, Some((from, to))).unwrap();
    assert!(r.valid, "{r}");
    assert!(r.files_checked < 4);
}
