//! Encrypt/Decrypt/ReEncrypt/GenerateDataKey and customer-key envelopes.

use sekisho_keys::{CreateKeyRequest, DataKeySize, EncryptionContext, KeyRing};
use time::OffsetDateTime;
use time::macros::datetime;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ring_with_key() -> (KeyRing, String) {
    let mut ring = KeyRing::new(ACCOUNT);
    let id = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    (ring, id)
}

#[test]
fn encrypt_decrypt_round_trip_without_key_id() {
    let (ring, id) = ring_with_key();
    let c = ctx(&[("purpose", "test"), ("tenant", "a")]);
    let out = ring.encrypt(REGION, &id, b"hello world", &c).unwrap();
    assert_eq!(
        out.key_id,
        format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
    );
    assert_eq!(out.key_material_id.len(), 64);
    let back = ring
        .decrypt(REGION, &out.ciphertext_blob, &c, None)
        .unwrap();
    assert_eq!(back.plaintext.as_slice(), b"hello world");
    assert_eq!(back.key_id, out.key_id);
    assert!(!format!("{back:?}").contains("hello"));
}

#[test]
fn plaintext_size_bounds() {
    let (ring, id) = ring_with_key();
    let e = EncryptionContext::new();
    assert_eq!(
        ring.encrypt(REGION, &id, b"", &e).unwrap_err().code(),
        "ValidationException"
    );
    assert!(ring.encrypt(REGION, &id, &[1; 4096], &e).is_ok());
    assert_eq!(
        ring.encrypt(REGION, &id, &[1; 4097], &e)
            .unwrap_err()
            .code(),
        "ValidationException"
    );
}

#[test]
fn context_must_match_exactly() {
    let (ring, id) = ring_with_key();
    let c = ctx(&[("a", "bc")]);
    let blob = ring.encrypt(REGION, &id, b"x", &c).unwrap().ciphertext_blob;
    for wrong in [
        ctx(&[]),
        ctx(&[("ab", "c")]),
        ctx(&[("a", "bC")]),
        ctx(&[("a", "bc"), ("extra", "1")]),
    ] {
        let err = ring.decrypt(REGION, &blob, &wrong, None).unwrap_err();
        assert_eq!(err.code(), "InvalidCiphertextException", "{wrong:?}");
    }
    let plain = ring
        .encrypt(REGION, &id, b"x", &ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    assert_eq!(
        ring.decrypt(REGION, &plain, &c, None).unwrap_err().code(),
        "InvalidCiphertextException"
    );
}

#[test]
fn every_flipped_byte_and_every_truncation_is_invalid_ciphertext() {
    let (ring, id) = ring_with_key();
    let c = ctx(&[("k", "v")]);
    let blob = ring
        .encrypt(REGION, &id, b"some secret data", &c)
        .unwrap()
        .ciphertext_blob;
    for i in 0..blob.len() {
        for bit in [0x01, 0x80] {
            let mut t = blob.clone();
            t[i] ^= bit;
            let err = ring.decrypt(REGION, &t, &c, None).unwrap_err();
            assert_eq!(err.code(), "InvalidCiphertextException", "byte {i}");
        }
    }
    for n in 0..blob.len() {
        let err = ring.decrypt(REGION, &blob[..n], &c, None).unwrap_err();
        assert_eq!(err.code(), "InvalidCiphertextException", "length {n}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(ring.decrypt(REGION, &longer, &c, None).is_err());
    assert!(ring.decrypt(REGION, &[], &c, None).is_err());
}

#[test]
fn key_refs_in_all_four_forms() {
    let (mut ring, id) = ring_with_key();
    ring.create_alias(REGION, "alias/app/db", &id, NOW).unwrap();
    let arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}");
    let alias_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/app/db");
    for r in [id.as_str(), &arn, "alias/app/db", &alias_arn] {
        assert_eq!(ring.resolve(REGION, r).unwrap().id(), id, "{r}");
        let blob = ring
            .encrypt(REGION, r, b"x", &ctx(&[]))
            .unwrap()
            .ciphertext_blob;
        assert!(ring.decrypt(REGION, &blob, &ctx(&[]), Some(r)).is_ok());
    }
    for bad in [
        format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{id}"),
        format!("arn:aws:kms:{REGION}:999999999999:key/{id}"),
        format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app/db"),
        format!("arn:aws:kms:{REGION}:999999999999:alias/app/db"),
        "alias/missing".to_string(),
        "00000000-0000-4000-8000-000000000000".to_string(),
    ] {
        assert_eq!(
            ring.resolve(REGION, &bad).unwrap_err().code(),
            "NotFoundException",
            "{bad}"
        );
    }
    // The bare id and the alias do not exist in another region either.
    assert!(ring.resolve("eu-west-1", &id).is_err());
    assert!(ring.resolve("eu-west-1", "alias/app/db").is_err());
    // Management operations take key ids and ARNs, not aliases.
    assert_eq!(
        ring.disable_key(REGION, "alias/app/db").unwrap_err().code(),
        "NotFoundException"
    );
}

#[test]
fn blob_of_one_region_is_not_decryptable_in_another() {
    let (ring, id) = ring_with_key();
    let blob = ring
        .encrypt(REGION, &id, b"x", &ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    assert_eq!(
        ring.decrypt("eu-west-1", &blob, &ctx(&[]), None)
            .unwrap_err()
            .code(),
        "InvalidCiphertextException"
    );
}

#[test]
fn naming_another_key_is_incorrect_key() {
    let (mut ring, a) = ring_with_key();
    let b = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    let blob = ring
        .encrypt(REGION, &a, b"x", &ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let err = ring
        .decrypt(REGION, &blob, &ctx(&[]), Some(&b))
        .unwrap_err();
    assert_eq!(err.code(), "IncorrectKeyException");
    let err = ring
        .decrypt(REGION, &blob, &ctx(&[]), Some("alias/nope"))
        .unwrap_err();
    assert_eq!(err.code(), "NotFoundException");
}

#[test]
fn rotation_keeps_old_ciphertexts_readable_and_encrypts_with_newest() {
    let (mut ring, id) = ring_with_key();
    let c = ctx(&[("v", "1")]);
    let old = ring.encrypt(REGION, &id, b"old", &c).unwrap();
    ring.rotate_key_on_demand(REGION, &id, NOW).unwrap();
    let new = ring.encrypt(REGION, &id, b"new", &c).unwrap();
    assert_ne!(old.key_material_id, new.key_material_id);
    let back = ring
        .decrypt(REGION, &old.ciphertext_blob, &c, None)
        .unwrap();
    assert_eq!(back.plaintext.as_slice(), b"old");
    assert_eq!(back.key_material_id, old.key_material_id);
    let back = ring
        .decrypt(REGION, &new.ciphertext_blob, &c, None)
        .unwrap();
    assert_eq!(back.key_material_id, new.key_material_id);
    assert_eq!(
        ring.describe_key(REGION, &id)
            .unwrap()
            .current_key_material_id,
        new.key_material_id
    );
}

#[test]
fn disabled_and_pending_deletion_keys_refuse_crypto() {
    let (mut ring, id) = ring_with_key();
    let c = ctx(&[]);
    let blob = ring.encrypt(REGION, &id, b"x", &c).unwrap().ciphertext_blob;
    let aes = DataKeySize::from_request(Some("AES_256"), None).unwrap();
    ring.disable_key(REGION, &id).unwrap();
    assert_eq!(
        ring.encrypt(REGION, &id, b"x", &c).unwrap_err().code(),
        "DisabledException"
    );
    assert_eq!(
        ring.decrypt(REGION, &blob, &c, None).unwrap_err().code(),
        "DisabledException"
    );
    assert_eq!(
        ring.generate_data_key(REGION, &id, aes, &c)
            .unwrap_err()
            .code(),
        "DisabledException"
    );
    ring.enable_key(REGION, &id).unwrap();
    assert!(ring.decrypt(REGION, &blob, &c, None).is_ok());
    ring.schedule_key_deletion(REGION, &id, Some(7), NOW)
        .unwrap();
    for code in [
        ring.encrypt(REGION, &id, b"x", &c).unwrap_err().code(),
        ring.decrypt(REGION, &blob, &c, None).unwrap_err().code(),
        ring.generate_data_key(REGION, &id, aes, &c)
            .unwrap_err()
            .code(),
        ring.seal_with(REGION, &id, b"x", &c).unwrap_err().code(),
    ] {
        assert_eq!(code, "KMSInvalidStateException");
    }
}

#[test]
fn re_encrypt_moves_between_keys_and_contexts() {
    let (mut ring, a) = ring_with_key();
    let b = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    let ca = ctx(&[("from", "a")]);
    let cb = ctx(&[("to", "b")]);
    let blob = ring
        .encrypt(REGION, &a, b"move me", &ca)
        .unwrap()
        .ciphertext_blob;
    let out = ring.re_encrypt(REGION, &blob, &ca, None, &b, &cb).unwrap();
    assert!(out.source_key_id.ends_with(&a) && out.key_id.ends_with(&b));
    let back = ring
        .decrypt(REGION, &out.ciphertext_blob, &cb, Some(&b))
        .unwrap();
    assert_eq!(back.plaintext.as_slice(), b"move me");
    assert_eq!(
        ring.re_encrypt(REGION, &blob, &cb, None, &b, &cb)
            .unwrap_err()
            .code(),
        "InvalidCiphertextException"
    );
    assert_eq!(
        ring.re_encrypt(REGION, &blob, &ca, Some(&b), &b, &cb)
            .unwrap_err()
            .code(),
        "IncorrectKeyException"
    );
}

#[test]
fn generate_data_key_sizes() {
    let (ring, id) = ring_with_key();
    let c = ctx(&[("x", "y")]);
    for (spec, n, len) in [
        (Some("AES_256"), None, 32),
        (Some("AES_128"), None, 16),
        (None, Some(1), 1),
        (None, Some(1024), 1024),
    ] {
        let size = DataKeySize::from_request(spec, n).unwrap();
        let out = ring.generate_data_key(REGION, &id, size, &c).unwrap();
        assert_eq!(out.plaintext.len(), len);
        let back = ring
            .decrypt(REGION, &out.ciphertext_blob, &c, None)
            .unwrap();
        assert_eq!(back.plaintext.as_slice(), out.plaintext.as_slice());
        assert!(!format!("{out:?}").contains(&format!("{:?}", out.plaintext.as_slice())));
        let wo = ring
            .generate_data_key_without_plaintext(REGION, &id, size, &c)
            .unwrap();
        assert_eq!(
            ring.decrypt(REGION, &wo.ciphertext_blob, &c, None)
                .unwrap()
                .plaintext
                .len(),
            len
        );
    }
    for (spec, n) in [
        (None, None),
        (Some("AES_256"), Some(32)),
        (Some("AES_512"), None),
        (None, Some(0)),
        (None, Some(1025)),
        (None, Some(-1)),
    ] {
        assert_eq!(
            DataKeySize::from_request(spec, n).unwrap_err().code(),
            "ValidationException"
        );
    }
    let a = ring
        .generate_data_key(
            REGION,
            &id,
            DataKeySize::from_request(Some("AES_256"), None).unwrap(),
            &c,
        )
        .unwrap();
    let b = ring
        .generate_data_key(
            REGION,
            &id,
            DataKeySize::from_request(Some("AES_256"), None).unwrap(),
            &c,
        )
        .unwrap();
    assert_ne!(a.plaintext.as_slice(), b.plaintext.as_slice());
}

#[test]
fn seal_with_customer_key() {
    let (mut ring, id) = ring_with_key();
    ring.create_alias(REGION, "alias/store", &id, NOW).unwrap();
    let c = ctx(&[("store", "audit"), ("object", "1")]);
    let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
    let sealed = ring.seal_with(REGION, "alias/store", &big, &c).unwrap();
    assert_eq!(
        ring.open_sealed(REGION, &sealed, &c).unwrap().as_slice(),
        &big[..]
    );
    assert!(
        ring.open_sealed(REGION, &sealed, &ctx(&[("store", "audit")]))
            .is_err()
    );
    assert!(ring.open_sealed("eu-west-1", &sealed, &c).is_err());
    let small = ring.seal_with(REGION, &id, b"tiny", &c).unwrap();
    for i in 0..small.len() {
        let mut t = small.clone();
        t[i] ^= 0x40;
        assert!(ring.open_sealed(REGION, &t, &c).is_err(), "byte {i}");
    }
    for n in 0..small.len() {
        assert!(ring.open_sealed(REGION, &small[..n], &c).is_err());
    }
    // Still readable after rotation; locked away while disabled.
    ring.rotate_key_on_demand(REGION, &id, NOW).unwrap();
    assert!(ring.open_sealed(REGION, &small, &c).is_ok());
    ring.disable_key(REGION, &id).unwrap();
    assert_eq!(
        ring.open_sealed(REGION, &small, &c).unwrap_err().code(),
        "DisabledException"
    );
    // A master-key envelope is not a customer-key envelope.
    let master = sekisho_keys::MasterKey::generate().unwrap();
    let m = sekisho_keys::seal_envelope_with_master(&master, b"x", &c).unwrap();
    assert!(ring.open_sealed(REGION, &m, &c).is_err());
}
