//! Audit trail: records, signed hash-chained log files, verification and queries.
//!
//! The CloudTrail security model, self-hosted:
//!
//! - [`record`]: [`Event`], a CloudTrail record (eventVersion 1.11, camelCase,
//!   optional fields omitted), serialised with [`Event::to_json`].
//! - [`journal`]: [`Journal::open`] (recovers the directory, see
//!   [`RecoveryReport`]), [`Journal::append`] / [`Journal::append_blocking`] /
//!   [`Journal::append_event`] (resolve once the record's bytes were written to
//!   the OS; a failed write fails the append: fail closed),
//!   [`Journal::seal_now`], [`Journal::close`], [`Journal::health`].
//!   Configured by [`JournalConfig`]; time from a [`Clock`]; records
//!   optionally sealed by a [`RecordCipher`].
//! - [`signer`]: [`Signer`], the Ed25519 digest-signing key (PKCS#8), its
//!   public key as raw bytes or SPKI PEM ([`signer::public_key_from_pem`] reads it back).
//! - [`verify()`] / [`verify_with_progress`]: `validate-logs`, returning a
//!   [`VerifyReport`] of [`Finding`]s.
//! - [`query`]: [`query::lookup`] (LookupEvents: one [`query::LookupAttribute`],
//!   a time window, newest first, opaque next token) and
//!   [`query::read_events_since`] / [`query::tail_end`] for `tail`.
//! - [`selector`]: CloudTrail event selectors: [`selector::parse`],
//!   [`selector::validate`], [`selector::EventSelector::matches`].
//!
//! # On disk
//!
//! ```text
//! dir/public-key.pem           written at first open if absent
//! dir/.journal.lock            one journal per directory (flock)
//! dir/logs/YYYY/MM/DD/{account}_CloudTrail_{region}_{YYYYMMDDTHHMMSSZ}_{seq:06}.jsonl
//! dir/digests/YYYY/MM/DD/{account}_CloudTrail-Digest_{region}_{YYYYMMDDTHHMMSSZ}_{seq:06}.json
//! dir/digests/.../....json.sig
//! ```
//!
//! A log file holds one record per line: the JSON, or `base64(seal(json))`
//! with a cipher. While written it is `.jsonl.partial`; it is sealed (synced,
//! renamed) at `rotate_every`, before passing `max_file_bytes`, at
//! [`Journal::seal_now`], at close and at recovery.
//!
//! A digest is written every `digest_every`, at close and, when sealed files
//! are not yet covered, at recovery. Its `.json` file is the exact signed
//! bytes of the document (`awsAccountId`, `digestStartTime`,
//! `digestEndTime`, `logFiles[{file, hashValue, hashAlgorithm, size,
//! oldestEventTime, newestEventTime, records}]`, `previousDigestFile`,
//! `previousDigestHashValue`, `previousDigestHashAlgorithm`,
//! `previousDigestSignature`, `digestPublicKeyFingerprint`,
//! `digestSignatureAlgorithm`); the `.sig` file next to it holds the hex
//! Ed25519 signature of those bytes. Each digest covers the files sealed since
//! the previous one (possibly none) and its period starts where the previous
//! one ended.
//!
//! # Choices
//!
//! - Dropping a [`Journal`] without `close` is treated like a crash: the open
//!   file stays `.partial` and the next open seals it (cut back to its last
//!   complete line) and digests it.
//! - A chain that cannot be resumed at open (newest digest unreadable, badly
//!   signed, or signed by another key) is reported in
//!   [`RecoveryReport::chain_problem`] and logged; writing continues in a new
//!   chain segment, which [`verify()`] reports as a broken chain. Damage stays
//!   visible; recording never stops for it.
//! - Files sealed after the newest digest are "not yet covered" (a notice,
//!   not a failure); files among covered ones that no digest lists are
//!   "inserted".
#![forbid(unsafe_code)]

pub mod cipher;
pub mod digest;
mod error;
mod fsutil;
pub mod journal;
pub mod layout;
pub mod query;
pub mod record;
mod scan;
pub mod selector;
pub mod signer;
pub mod timefmt;
pub mod verify;

pub use cipher::RecordCipher;
pub use error::AuditError;
pub use journal::{Clock, Health, Journal, JournalConfig, RecoveryReport, SystemClock};
pub use record::Event;
pub use signer::Signer;
pub use verify::{Finding, FindingKind, VerifyReport, verify, verify_with_progress};
