//! Journal benchmarks: append throughput (1 KB records, concurrent appenders)
//! and verify throughput (MB/s over ≥ 200 MB of logs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sekisho_audit::record::{IdentityType, UserIdentity};
use sekisho_audit::{Event, Journal, JournalConfig, Signer, SystemClock, verify};
use time::OffsetDateTime;

const RECORD_BYTES: usize = 1024;

fn record(n: usize) -> Vec<u8> {
    let mut id = UserIdentity::new(IdentityType::IAMUser);
    id.user_name = Some("bench".into());
    id.arn = Some("arn:aws:iam::123456789012:user/bench".into());
    id.access_key_id = Some("AKIAEXAMPLEEXAMPLE01".into());
    let mut e = Event::api_call(
        id,
        OffsetDateTime::now_utc(),
        "bedrock.amazonaws.com",
        "InvokeModel",
        "us-east-1",
    );
    e.request_parameters = serde_json::json!({ "modelId": "sekisho.echo-v1", "n": n });
    let base = e.to_json().len();
    e.additional_event_data =
        Some(serde_json::json!({ "pad": "x".repeat(RECORD_BYTES.saturating_sub(base + 20)) }));
    e.to_json()
}

fn journal(dir: &std::path::Path) -> Journal {
    let (signer, _) = Signer::generate().expect("key");
    Journal::open(
        JournalConfig::new(dir, "123456789012", "us-east-1"),
        signer,
        SystemClock,
    )
    .expect("open")
}

fn append(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let j = Arc::new(journal(tmp.path()));
    let rec = record(0);
    assert!(
        (RECORD_BYTES - 64..RECORD_BYTES + 64).contains(&rec.len()),
        "{}",
        rec.len()
    );
    let mut g = c.benchmark_group("append_1KB");
    g.throughput(Throughput::Elements(1));
    for threads in [2usize, 8] {
        g.bench_function(format!("{threads}_threads_blocking"), |b| {
            b.iter_custom(|iters| {
                let per = (iters as usize).div_ceil(threads);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let j = j.clone();
                        let rec = rec.clone();
                        s.spawn(move || {
                            for _ in 0..per {
                                j.append_blocking(rec.clone()).expect("append");
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    // Gateway-like: many requests in flight on a 2-worker async runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    for tasks in [2usize, 8, 64] {
        g.bench_function(format!("{tasks}_async_tasks_2_workers"), |b| {
            b.iter_custom(|iters| {
                let per = (iters as usize).div_ceil(tasks);
                let start = Instant::now();
                rt.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let j = j.clone();
                            let rec = rec.clone();
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    j.append(rec.clone()).await.expect("append");
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.expect("task");
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();
    drop(rt);
    if let Some(j) = Arc::into_inner(j) {
        j.close().expect("close");
    }
}

fn verify_throughput(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (signer, _) = Signer::generate().expect("key");
    let pk = signer.public_key();
    let j = Journal::open(
        JournalConfig::new(tmp.path(), "123456789012", "us-east-1"),
        signer,
        SystemClock,
    )
    .expect("open");
    let rec = record(0);
    let target: u64 = 210 << 20;
    let n = usize::try_from(target / rec.len() as u64).unwrap_or(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..n / 4 {
                    j.append_blocking(rec.clone()).expect("append");
                }
            });
        }
    });
    j.close().expect("close");
    let report = verify(tmp.path(), &pk, None).expect("verify");
    assert!(report.valid, "{report}");
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(report.bytes_checked));
    g.bench_function(format!("{}MB", report.bytes_checked >> 20), |b| {
        b.iter(|| {
            let r = verify(tmp.path(), &pk, None).expect("verify");
            assert!(r.valid);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = append, verify_throughput
}
criterion_main!(benches);
