//! Digest documents: the signed, chained statements of which log files exist.
//!
//! On disk a digest is two files: `X.json`, the exact bytes of the JSON
//! document that were signed, and `X.json.sig`, the hex Ed25519 signature of
//! those bytes. Checking never re-serialises anything. A digest links to its
//! predecessor by path, SHA-256 of its document bytes and its signature, so
//! deleting, editing or reordering any digest breaks the chain.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AuditError;
use crate::layout::{self, SIG_EXT, TMP_EXT};
use crate::signer::{self, Signer};
use crate::timefmt::{serde_iso, serde_iso_opt};

pub const HASH_ALGORITHM: &str = "SHA-256";
/// The largest digest document read (one lists ~300 bytes per log file).
pub const MAX_DIGEST_BYTES: u64 = 64 << 20;
const MAX_SIG_BYTES: u64 = 1024;

/// The digest document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestDoc {
    pub aws_account_id: String,
    #[serde(with = "serde_iso")]
    pub digest_start_time: OffsetDateTime,
    #[serde(with = "serde_iso")]
    pub digest_end_time: OffsetDateTime,
    pub log_files: Vec<LogFileEntry>,
    pub previous_digest_file: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
}

/// One log file a digest vouches for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    /// Path relative to the journal directory.
    pub file: String,
    pub hash_value: String,
    pub hash_algorithm: String,
    pub size: u64,
    #[serde(default, with = "serde_iso_opt")]
    pub oldest_event_time: Option<OffsetDateTime>,
    #[serde(default, with = "serde_iso_opt")]
    pub newest_event_time: Option<OffsetDateTime>,
    pub records: u64,
}

/// What the next digest links back to.
#[derive(Debug, Clone)]
pub struct ChainHead {
    pub rel: String,
    pub hash: String,
    pub signature: String,
    pub end_time: OffsetDateTime,
}

/// A digest as stored: its bytes and signature, both unverified.
pub struct StoredDigest {
    pub bytes: Vec<u8>,
    pub signature: Option<Vec<u8>>,
}

/// Reads `rel` and its `.sig`. A missing or oversized `.sig` gives `signature: None`.
pub fn read(dir: &Path, rel: &str) -> std::io::Result<StoredDigest> {
    let path = layout::join_rel(dir, rel);
    let bytes = read_limited(&path, MAX_DIGEST_BYTES)?;
    let mut sig_path = path.into_os_string();
    sig_path.push(SIG_EXT);
    let signature = read_limited(Path::new(&sig_path), MAX_SIG_BYTES)
        .ok()
        .and_then(|s| hex::decode(String::from_utf8_lossy(&s).trim()).ok());
    Ok(StoredDigest { bytes, signature })
}

fn read_limited(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    if f.metadata()?.len() > max {
        return Err(std::io::Error::other("file over the size limit"));
    }
    let mut out = Vec::new();
    f.take(max).read_to_end(&mut out)?;
    Ok(out)
}

impl StoredDigest {
    /// True when the signature is present and valid for `public_key`.
    pub fn signature_ok(&self, public_key: &[u8]) -> bool {
        self.signature
            .as_deref()
            .is_some_and(|s| signer::verify_signature(public_key, &self.bytes, s))
    }

    pub fn parse(&self) -> Result<DigestDoc, String> {
        serde_json::from_slice(&self.bytes).map_err(|e| e.to_string())
    }

    pub fn hash(&self) -> String {
        signer::sha256_hex(&self.bytes)
    }

    pub fn signature_hex(&self) -> String {
        self.signature
            .as_deref()
            .map(hex::encode)
            .unwrap_or_default()
    }
}

/// Signs and stores a digest document; returns the new chain head.
/// The `.sig` goes first, so a digest document never exists without one; each
/// file is written to a `.tmp`, synced and renamed, and the directory synced.
pub fn write(
    dir: &Path,
    rel: &str,
    doc: &DigestDoc,
    signer: &Signer,
) -> Result<ChainHead, AuditError> {
    let bytes = serde_json::to_vec_pretty(doc)
        .map_err(|e| AuditError::InvalidRecord(format!("digest serialisation: {e}")))?;
    let sig = signer.sign(&bytes);
    let sig_hex = hex::encode(&sig);
    let path = layout::join_rel(dir, rel);
    let parent = path.parent().unwrap_or(dir).to_path_buf();
    crate::fsutil::create_dir_all(&parent)?;
    let mut sig_path = path.clone().into_os_string();
    sig_path.push(SIG_EXT);
    write_atomic(Path::new(&sig_path), sig_hex.as_bytes())?;
    write_atomic(&path, &bytes)?;
    crate::fsutil::sync_dir(&parent)?;
    Ok(ChainHead {
        rel: rel.to_owned(),
        hash: signer::sha256_hex(&bytes),
        signature: sig_hex,
        end_time: doc.digest_end_time,
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_EXT);
    let tmp = std::path::PathBuf::from(tmp);
    let result = (|| {
        // A leftover from an earlier failed attempt would block create_new.
        let _ = std::fs::remove_file(&tmp);
        let mut f = crate::fsutil::create_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| AuditError::io("write digest", path, e))
}

/// Builds the document for the files sealed in `[start, end]`.
pub fn document(
    account: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    log_files: Vec<LogFileEntry>,
    previous: Option<&ChainHead>,
    fingerprint: String,
) -> DigestDoc {
    DigestDoc {
        aws_account_id: account.to_owned(),
        digest_start_time: start,
        digest_end_time: end,
        log_files,
        previous_digest_file: previous.map(|p| p.rel.clone()),
        previous_digest_hash_value: previous.map(|p| p.hash.clone()),
        previous_digest_hash_algorithm: previous.map(|_| HASH_ALGORITHM.to_owned()),
        previous_digest_signature: previous.map(|p| p.signature.clone()),
        digest_public_key_fingerprint: fingerprint,
        digest_signature_algorithm: signer::SIGNATURE_ALGORITHM.to_owned(),
    }
}
