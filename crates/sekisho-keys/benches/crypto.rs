//! Cost of the key service's hot paths: Encrypt/Decrypt of 1 KiB with a
//! 3-entry context, GenerateDataKey (AES_256), and seal_with/open_sealed of
//! 64 KiB.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sekisho_keys::{CreateKeyRequest, DataKeySize, EncryptionContext, KeyRing};
use time::macros::datetime;

const REGION: &str = "us-east-1";

fn setup() -> (KeyRing, String, EncryptionContext) {
    let mut ring = KeyRing::new("111122223333");
    let now = datetime!(2025-01-01 0:00 UTC);
    let key = ring
        .create_key(REGION, &CreateKeyRequest::default(), now)
        .expect("create key")
        .key_id;
    let ctx: EncryptionContext = [
        ("tenant", "acme"),
        ("store", "knowledge-base"),
        ("object", "doc-000123"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    (ring, key, ctx)
}

fn bench(c: &mut Criterion) {
    let (ring, key, ctx) = setup();
    let kib = vec![0x5Au8; 1024];
    let blob = ring
        .encrypt(REGION, &key, &kib, &ctx)
        .expect("encrypt")
        .ciphertext_blob;

    let mut g = c.benchmark_group("kms");
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("encrypt_1KiB", |b| {
        b.iter(|| {
            ring.encrypt(REGION, &key, black_box(&kib), &ctx)
                .expect("encrypt")
        })
    });
    g.bench_function("decrypt_1KiB", |b| {
        b.iter(|| {
            ring.decrypt(REGION, black_box(&blob), &ctx, None)
                .expect("decrypt")
        })
    });
    g.finish();

    let aes256 = DataKeySize::from_request(Some("AES_256"), None).expect("size");
    c.bench_function("kms/generate_data_key_AES_256", |b| {
        b.iter(|| {
            ring.generate_data_key(REGION, &key, aes256, &ctx)
                .expect("gdk")
        })
    });

    let big = vec![0xA5u8; 64 * 1024];
    let sealed = ring.seal_with(REGION, &key, &big, &ctx).expect("seal");
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("seal_with_64KiB", |b| {
        b.iter(|| {
            ring.seal_with(REGION, &key, black_box(&big), &ctx)
                .expect("seal")
        })
    });
    g.bench_function("open_sealed_64KiB", |b| {
        b.iter(|| {
            ring.open_sealed(REGION, black_box(&sealed), &ctx)
                .expect("open")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
