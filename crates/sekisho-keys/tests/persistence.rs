//! The ring survives a restart through its records, and nothing stored is
//! plaintext key material.

use std::collections::BTreeMap;

use sekisho_keys::{Change, CreateKeyRequest, EncryptionContext, KeyRing, MasterKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "ap-northeast-1";
const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

/// A stand-in for the gateway's key-value store.
fn apply(store: &mut BTreeMap<String, serde_json::Value>, changes: Vec<Change>) {
    for c in changes {
        match c.value {
            Some(v) => store.insert(c.key, v),
            None => store.remove(&c.key),
        };
    }
}

fn reload(store: &BTreeMap<String, serde_json::Value>, master: &MasterKey) -> KeyRing {
    KeyRing::load(ACCOUNT, master, store.clone().into_iter()).unwrap()
}

#[test]
fn round_trip_keeps_keys_aliases_and_old_ciphertexts() {
    let master = MasterKey::generate().unwrap();
    let mut store = BTreeMap::new();
    let mut ring = KeyRing::new(ACCOUNT);
    let req = CreateKeyRequest {
        description: Some("persisted".into()),
        tags: vec![sekisho_keys::Tag {
            tag_key: "a".into(),
            tag_value: "b".into(),
        }],
        ..Default::default()
    };
    let id = ring.create_key(REGION, &req, NOW).unwrap().key_id;
    ring.create_alias(REGION, "alias/p", &id, NOW).unwrap();
    ring.enable_key_rotation(REGION, &id, Some(180), NOW)
        .unwrap();
    let c: EncryptionContext = [("k".to_string(), "v".to_string())].into();
    let old = ring
        .encrypt(REGION, &id, b"from before", &c)
        .unwrap()
        .ciphertext_blob;
    ring.rotate_key_on_demand(REGION, &id, NOW + Duration::days(1))
        .unwrap();
    let newer = ring
        .encrypt(REGION, "alias/p", b"after rotation", &c)
        .unwrap()
        .ciphertext_blob;
    apply(&mut store, ring.take_changes(&master).unwrap());
    assert_eq!(store.len(), 2);
    assert!(store.contains_key(&format!("key/{id}")));
    assert!(store.contains_key(&format!("alias/{REGION}/alias/p")));
    let text = serde_json::to_string(&store).unwrap();
    assert!(!text.contains("from before"));

    let ring2 = reload(&store, &master);
    assert_eq!(
        ring2.describe_key(REGION, &id).unwrap(),
        ring.describe_key(REGION, &id).unwrap()
    );
    assert_eq!(
        ring2.list_aliases(REGION, None).unwrap(),
        ring.list_aliases(REGION, None).unwrap()
    );
    assert_eq!(
        ring2.get_key_rotation_status(REGION, &id).unwrap(),
        ring.get_key_rotation_status(REGION, &id).unwrap()
    );
    assert_eq!(ring2.list_resource_tags(REGION, &id).unwrap().len(), 1);
    assert_eq!(
        ring2
            .decrypt(REGION, &old, &c, None)
            .unwrap()
            .plaintext
            .as_slice(),
        b"from before"
    );
    assert_eq!(
        ring2
            .decrypt(REGION, &newer, &c, None)
            .unwrap()
            .plaintext
            .as_slice(),
        b"after rotation"
    );

    // The wrong master key cannot load, and says why.
    let other = MasterKey::generate().unwrap();
    let err = KeyRing::load(ACCOUNT, &other, store.clone().into_iter()).unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
}

#[test]
fn changes_track_updates_and_deletions() {
    let master = MasterKey::generate().unwrap();
    let mut store = BTreeMap::new();
    let mut ring = KeyRing::new(ACCOUNT);
    let id = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    ring.create_alias(REGION, "alias/x", &id, NOW).unwrap();
    apply(&mut store, ring.take_changes(&master).unwrap());
    assert!(ring.take_changes(&master).unwrap().is_empty());

    // Reads do not dirty anything.
    ring.describe_key(REGION, &id).unwrap();
    ring.encrypt(REGION, &id, b"x", &EncryptionContext::new())
        .unwrap();
    assert!(ring.take_changes(&master).unwrap().is_empty());

    ring.disable_key(REGION, &id).unwrap();
    let ch = ring.take_changes(&master).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].value.as_ref().unwrap()["KeyState"], "Disabled");
    apply(&mut store, ch);

    ring.delete_alias(REGION, "alias/x").unwrap();
    let ch = ring.take_changes(&master).unwrap();
    assert_eq!(
        ch,
        vec![Change {
            key: format!("alias/{REGION}/alias/x"),
            value: None
        }]
    );
    apply(&mut store, ch);

    ring.create_alias(REGION, "alias/y", &id, NOW).unwrap();
    ring.schedule_key_deletion(REGION, &id, Some(7), NOW)
        .unwrap();
    ring.purge_expired(NOW + Duration::days(8));
    let ch = ring.take_changes(&master).unwrap();
    // The alias was created and removed before it was ever written: a delete
    // of a record that may not exist is harmless.
    assert!(ch.iter().all(|c| c.value.is_none()));
    apply(&mut store, ch);
    assert!(store.is_empty());
    assert!(reload(&store, &master).list_keys(REGION).is_empty());
}

#[test]
fn dangling_alias_is_dropped_on_load() {
    let master = MasterKey::generate().unwrap();
    let mut store = BTreeMap::new();
    let mut ring = KeyRing::new(ACCOUNT);
    let id = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    ring.create_alias(REGION, "alias/x", &id, NOW).unwrap();
    apply(&mut store, ring.take_changes(&master).unwrap());
    store.remove(&format!("key/{id}"));
    let mut ring2 = reload(&store, &master);
    assert!(ring2.list_aliases(REGION, None).unwrap().is_empty());
    let ch = ring2.take_changes(&master).unwrap();
    assert_eq!(
        ch,
        vec![Change {
            key: format!("alias/{REGION}/alias/x"),
            value: None
        }]
    );
}

#[test]
fn corrupt_records_are_errors_not_panics() {
    let master = MasterKey::generate().unwrap();
    for (k, v) in [
        ("key/abc", serde_json::json!({})),
        ("key/abc", serde_json::json!("text")),
        ("alias/r/alias/a", serde_json::json!([1, 2])),
        ("other", serde_json::json!({})),
    ] {
        let r = KeyRing::load(ACCOUNT, &master, [(k.to_string(), v)].into_iter());
        assert_eq!(r.unwrap_err().code(), "KMSInternalException");
    }
    // A valid record stored under another record key is refused.
    let mut ring = KeyRing::new(ACCOUNT);
    ring.create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap();
    let rec = ring.all_records(&master).unwrap().remove(0);
    let moved = (
        "key/00000000-0000-4000-8000-000000000000".to_string(),
        rec.value.unwrap(),
    );
    assert!(KeyRing::load(ACCOUNT, &master, [moved].into_iter()).is_err());
}
