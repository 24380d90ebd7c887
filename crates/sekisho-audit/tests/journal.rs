//! Journal behaviour: round trips, recovery, concurrency, encryption, failures.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use common::*;
use sekisho_audit::query::{self, LookupAttribute, LookupFilter};
use sekisho_audit::{AuditError, Journal, RecordCipher, Signer, verify};

fn all_events(
    dir: &std::path::Path,
    cipher: Option<&dyn RecordCipher>,
) -> Vec<sekisho_audit::Event> {
    query::read_events_since(dir, cipher, None, usize::MAX)
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[test]
fn append_and_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    let events: Vec<_> = (0..25).map(|n| event(n, clock.now())).collect();
    for e in &events {
        j.append_blocking(e.to_json()).unwrap();
    }
    // Visible before sealing (the open `.partial`).
    assert_eq!(all_events(tmp.path(), None), events);
    assert_eq!(j.health().records_written, 25);
    j.close().unwrap();
    assert_eq!(all_events(tmp.path(), None), events);
    assert!(tmp.path().join("public-key.pem").exists());
    let r = verify(tmp.path(), &s.public_key(), None).unwrap();
    assert!(r.valid, "{r}");
    assert_eq!((r.files_checked, r.digests_checked), (1, 1));
}

#[test]
fn refuses_bad_records() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, pkcs8) = signer();
    let j = open(tmp.path(), &pkcs8, &ManualClock::new());
    assert!(matches!(
        j.append_blocking(b"{\"a\":\n1}".to_vec()),
        Err(AuditError::InvalidRecord(_))
    ));
    assert!(matches!(
        j.append_blocking(Vec::new()),
        Err(AuditError::InvalidRecord(_))
    ));
    assert!(matches!(
        j.append_blocking(vec![b'x'; sekisho_audit::journal::MAX_RECORD_BYTES + 1]),
        Err(AuditError::InvalidRecord(_))
    ));
    // A second journal on the same directory is refused.
    let second = Journal::open(config(tmp.path()), signer().0, ManualClock::new().as_fn());
    assert!(matches!(second, Err(AuditError::InUse(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_append() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = Arc::new(open(tmp.path(), &pkcs8, &clock));
    let mut tasks = Vec::new();
    for t in 0..4 {
        let j = j.clone();
        let now = clock.now();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                j.append_event(&event(t * 100 + i, now)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let j = Arc::into_inner(j).unwrap();
    j.close().unwrap();
    assert_eq!(all_events(tmp.path(), None).len(), 400);
    assert!(verify(tmp.path(), &s.public_key(), None).unwrap().valid);
}

#[test]
fn recovers_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let mut acked = Vec::new();
    {
        let j = open(tmp.path(), &pkcs8, &clock);
        for n in 0..30 {
            let e = event(n, clock.now());
            j.append_blocking(e.to_json()).unwrap();
            acked.push(e);
            if n == 9 {
                j.seal_now().unwrap();
            }
            if n == 19 {
                // Sealed but never digested: the kill comes first.
                clock.advance(400);
                j.append_blocking(event(1000, clock.now()).to_json())
                    .unwrap();
                acked.push(event(1000, clock.now()));
            }
        }
        // Dropped without close, as a killed process would leave it.
    }
    acked.truncate(20); // the record appended after rotation is checked by count below
    let partial = sekisho_audit::layout::list_logs(tmp.path())
        .into_iter()
        .find(|f| f.partial)
        .expect("a .partial file is left");
    // The kill tore the line being written.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(partial.disk_path(tmp.path()))
        .unwrap();
    let torn = b"{\"eventVersion\":\"1.11\",\"userIdent";
    f.write_all(torn).unwrap();
    drop(f);

    clock.advance(10);
    let j = open(tmp.path(), &pkcs8, &clock);
    let rec = j.recovery().clone();
    assert_eq!(rec.partial_files_sealed, vec![partial.rel.clone()]);
    assert_eq!(rec.torn_bytes_dropped, torn.len() as u64);
    assert!(rec.recovery_digest.is_some());
    assert!(rec.chain_problem.is_none());
    assert_eq!(rec.files_digested.len(), 2, "{rec:?}");
    // Writing goes on after recovery.
    j.append_blocking(event(2000, clock.now()).to_json())
        .unwrap();
    j.close().unwrap();

    let events = all_events(tmp.path(), None);
    assert_eq!(events.len(), 32);
    let ids: HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    for e in &acked {
        assert!(ids.contains(&e.event_id));
    }
    let r = verify(tmp.path(), &s.public_key(), None).unwrap();
    assert!(r.valid, "{r}");
    assert_eq!(r.files_checked, 4);
}

#[test]
fn damaged_chain_starts_a_new_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    j.append_blocking(event(1, clock.now()).to_json()).unwrap();
    j.close().unwrap();
    let d = digests(tmp.path());
    std::fs::write(path(tmp.path(), &d[0]), b"broken").unwrap();
    clock.advance(5);
    let j = open(tmp.path(), &pkcs8, &clock);
    assert!(j.recovery().chain_problem.is_some());
    j.append_blocking(event(2, clock.now()).to_json()).unwrap();
    j.close().unwrap();
    let r = verify(tmp.path(), &s.public_key(), None).unwrap();
    assert!(!r.valid);
    assert!(r.has(sekisho_audit::FindingKind::DigestMalformed, &d[0]));
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == sekisho_audit::FindingKind::ChainBroken)
    );
    assert_eq!(all_events(tmp.path(), None).len(), 2);
}

#[test]
fn concurrent_appenders() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = Arc::new(open(tmp.path(), &pkcs8, &clock));
    let now = clock.now();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let j = j.clone();
            scope.spawn(move || {
                for i in 0..10_000 {
                    j.append_blocking(event(t * 10_000 + i, now).to_json())
                        .unwrap();
                }
            });
        }
    });
    let j = Arc::into_inner(j).unwrap();
    j.close().unwrap();
    let events = all_events(tmp.path(), None);
    assert_eq!(events.len(), 80_000);
    let ids: HashSet<_> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 80_000);
    let r = verify(tmp.path(), &s.public_key(), None).unwrap();
    assert!(r.valid, "{r}");
}

#[test]
fn rotates_by_size_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let mut cfg = config(tmp.path());
    cfg.max_file_bytes = 4000;
    cfg.rotate_every = std::time::Duration::from_secs(60);
    let j = Journal::open(cfg, Signer::from_pkcs8(&pkcs8).unwrap(), clock.as_fn()).unwrap();
    for n in 0..20 {
        j.append_blocking(record_of_size(n, 1000)).unwrap();
    }
    let by_size = sealed_logs(tmp.path()).len();
    assert!(by_size >= 4, "{by_size}");
    clock.advance(61);
    // The writer notices the elapsed rotation period within its 1 s tick.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(sealed_logs(tmp.path()).len(), by_size + 1);
    j.close().unwrap();
    for f in sealed_logs(tmp.path()) {
        assert!(std::fs::metadata(path(tmp.path(), &f)).unwrap().len() <= 4000);
    }
    assert!(verify(tmp.path(), &s.public_key(), None).unwrap().valid);
    assert_eq!(all_events(tmp.path(), None).len(), 20);
}

#[test]
fn write_failure_fails_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    j.append_blocking(event(1, clock.now()).to_json()).unwrap();
    j.seal_now().unwrap();
    // The log directory is replaced by a file: no new log file can be created.
    let logs = tmp.path().join("logs");
    let moved = tmp.path().join("logs-moved");
    std::fs::rename(&logs, &moved).unwrap();
    std::fs::write(&logs, b"in the way").unwrap();
    let err = j
        .append_blocking(event(2, clock.now()).to_json())
        .unwrap_err();
    assert!(matches!(err, AuditError::WriteFailed(_)), "{err}");
    let h = j.health();
    assert!(!h.healthy);
    assert!(h.last_error.is_some());
    std::fs::remove_file(&logs).unwrap();
    std::fs::rename(&moved, &logs).unwrap();
    j.append_blocking(event(3, clock.now()).to_json()).unwrap();
    assert!(j.health().healthy);
    j.close().unwrap();
}

/// AES-256-GCM with a random nonce per record: nonce || ciphertext || tag.
struct AesGcm(aws_lc_rs::aead::LessSafeKey);

impl AesGcm {
    fn new() -> Self {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).unwrap();
        let k = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &key).unwrap();
        AesGcm(aws_lc_rs::aead::LessSafeKey::new(k))
    }
}

impl RecordCipher for AesGcm {
    fn seal(&self, record: &[u8]) -> Result<Vec<u8>, String> {
        use aws_lc_rs::aead::{Aad, Nonce};
        let mut nonce = [0u8; 12];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|e| e.to_string())?;
        let mut buf = record.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|e| e.to_string())?;
        let mut out = nonce.to_vec();
        out.extend(buf);
        Ok(out)
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        use aws_lc_rs::aead::{Aad, Nonce};
        if sealed.len() < 12 {
            return Err("short".into());
        }
        let (n, c) = sealed.split_at(12);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|e| e.to_string())?;
        let mut buf = c.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|e| e.to_string())?;
        Ok(plain.to_vec())
    }
}

#[test]
fn encrypted_records() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, pkcs8) = signer();
    let clock = ManualClock::new();
    let cipher = Arc::new(AesGcm::new());
    let mut cfg = config(tmp.path());
    cfg.cipher = Some(cipher.clone());
    let j = Journal::open(
        cfg.clone(),
        Signer::from_pkcs8(&pkcs8).unwrap(),
        clock.as_fn(),
    )
    .unwrap();
    let events: Vec<_> = (0..10).map(|n| event(n, clock.now())).collect();
    for e in &events {
        j.append_blocking(e.to_json()).unwrap();
    }
    j.close().unwrap();
    let raw = std::fs::read(path(tmp.path(), &sealed_logs(tmp.path())[0])).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("bedrock.amazonaws.com"));
    assert_eq!(all_events(tmp.path(), Some(cipher.as_ref())), events);
    let page = query::lookup(tmp.path(), None, &LookupFilter::default(), 50, None).unwrap();
    assert!(page.events.is_empty(), "unreadable without the key");
    assert!(verify(tmp.path(), &s.public_key(), None).unwrap().valid);
    // Recovery of an encrypted trail reads event times through the cipher.
    let j = Journal::open(cfg, Signer::from_pkcs8(&pkcs8).unwrap(), clock.as_fn()).unwrap();
    j.append_blocking(event(99, clock.now()).to_json()).unwrap();
    drop(j);
    let j = Journal::open(
        {
            let mut c = config(tmp.path());
            c.cipher = Some(cipher.clone());
            c
        },
        Signer::from_pkcs8(&pkcs8).unwrap(),
        clock.as_fn(),
    )
    .unwrap();
    j.close().unwrap();
    let d = digests(tmp.path());
    // The recovery digest, before the closing one.
    let text = std::fs::read_to_string(path(tmp.path(), &d[d.len() - 2])).unwrap();
    assert!(text.contains("\"oldestEventTime\": \"20"), "{text}");
}

#[test]
fn lookup_pages_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    let mut all = Vec::new();
    for n in 0..12 {
        clock.advance(30);
        let e = event(n, clock.now());
        j.append_blocking(e.to_json()).unwrap();
        all.push(e);
        if n % 5 == 4 {
            j.seal_now().unwrap();
        }
    }
    // The last two are still in the open `.partial`.
    let filter = LookupFilter::default();
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = query::lookup(tmp.path(), None, &filter, 5, token.as_deref()).unwrap();
        seen.extend(page.events.into_iter().map(|e| e.event.event_id));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let expected: Vec<_> = all.iter().rev().map(|e| e.event_id.clone()).collect();
    assert_eq!(seen, expected);

    let by_name = LookupFilter {
        attribute: Some(LookupAttribute::from_key_value("EventName", "Converse").unwrap()),
        ..LookupFilter::default()
    };
    let page = query::lookup(tmp.path(), None, &by_name, 50, None).unwrap();
    assert_eq!(page.events.len(), 6);
    let one = LookupFilter {
        attribute: Some(LookupAttribute::EventId(all[3].event_id.clone())),
        ..LookupFilter::default()
    };
    assert_eq!(
        query::lookup(tmp.path(), None, &one, 50, None)
            .unwrap()
            .events[0]
            .event,
        all[3]
    );
    let user = LookupFilter {
        attribute: Some(LookupAttribute::Username("user1".into())),
        ..LookupFilter::default()
    };
    assert_eq!(
        query::lookup(tmp.path(), None, &user, 50, None)
            .unwrap()
            .events
            .len(),
        4
    );
    let window = LookupFilter {
        start_time: Some(all[2].event_time),
        end_time: Some(all[5].event_time),
        ..LookupFilter::default()
    };
    assert_eq!(
        query::lookup(tmp.path(), None, &window, 50, None)
            .unwrap()
            .events
            .len(),
        4
    );

    // Tokens are bound to their filter and must be well formed.
    let page = query::lookup(tmp.path(), None, &filter, 5, None).unwrap();
    let t = page.next_token.unwrap();
    assert!(matches!(
        query::lookup(tmp.path(), None, &by_name, 5, Some(&t)),
        Err(AuditError::InvalidNextToken)
    ));
    assert!(matches!(
        query::lookup(tmp.path(), None, &filter, 5, Some("!!!")),
        Err(AuditError::InvalidNextToken)
    ));
    assert!(query::lookup(tmp.path(), None, &filter, 0, None).is_err());
    assert!(LookupAttribute::from_key_value("Nope", "x").is_err());
    j.close().unwrap();
}

#[test]
fn tail_follows_new_records() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, pkcs8) = signer();
    let clock = ManualClock::new();
    let j = open(tmp.path(), &pkcs8, &clock);
    j.append_blocking(event(0, clock.now()).to_json()).unwrap();
    let pos = query::tail_end(tmp.path()).unwrap();
    for n in 1..4 {
        j.append_blocking(event(n, clock.now()).to_json()).unwrap();
    }
    let b = query::read_events_since(tmp.path(), None, Some(&pos), 2).unwrap();
    assert_eq!(b.events.len(), 2);
    j.seal_now().unwrap();
    j.append_blocking(event(4, clock.now()).to_json()).unwrap();
    let b2 = query::read_events_since(tmp.path(), None, b.position.as_ref(), 100).unwrap();
    let names: Vec<_> = b2
        .events
        .iter()
        .map(|e| e.event.request_parameters["n"].as_u64().unwrap())
        .collect();
    assert_eq!(names, vec![3, 4]);
    let b3 = query::read_events_since(tmp.path(), None, b2.position.as_ref(), 100).unwrap();
    assert!(b3.events.is_empty());
    assert_eq!(b3.position, b2.position);
    j.close().unwrap();
}
