//! Key metadata, aliases, tags, policies, rotation and deletion.

use sekisho_keys::{
    CreateKeyRequest, EncryptionContext, KeyRing, KeyState, Tag, default_key_policy,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

fn ring_with_key() -> (KeyRing, String) {
    let mut ring = KeyRing::new(ACCOUNT);
    let id = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    (ring, id)
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        tag_key: k.into(),
        tag_value: v.into(),
    }
}

#[test]
fn key_metadata_has_the_kms_shape() {
    let mut ring = KeyRing::new(ACCOUNT);
    let req: CreateKeyRequest = serde_json::from_value(serde_json::json!({
        "Description": "app key",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "Tags": [{"TagKey": "team", "TagValue": "ai"}],
        "SomethingNew": 1
    }))
    .unwrap();
    let meta = ring.create_key(REGION, &req, NOW).unwrap();
    assert!(uuid::Uuid::parse_str(&meta.key_id).is_ok());
    let v = serde_json::to_value(&meta).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AWSAccountId",
            "KeyId",
            "Arn",
            "CreationDate",
            "Enabled",
            "Description",
            "KeyUsage",
            "KeyState",
            "Origin",
            "KeyManager",
            "CustomerMasterKeySpec",
            "KeySpec",
            "EncryptionAlgorithms",
            "MultiRegion",
            "CurrentKeyMaterialId"
        ]
    );
    assert_eq!(v["AWSAccountId"], ACCOUNT);
    assert_eq!(
        v["Arn"],
        format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{}", meta.key_id)
    );
    assert_eq!(
        v["CreationDate"].as_f64().unwrap(),
        NOW.unix_timestamp() as f64
    );
    assert_eq!(v["Enabled"], true);
    assert_eq!(v["KeyState"], "Enabled");
    assert_eq!(v["KeyUsage"], "ENCRYPT_DECRYPT");
    assert_eq!(v["Origin"], "AWS_KMS");
    assert_eq!(v["KeyManager"], "CUSTOMER");
    assert_eq!(
        v["EncryptionAlgorithms"],
        serde_json::json!(["SYMMETRIC_DEFAULT"])
    );
    assert_eq!(v["MultiRegion"], false);
    assert_eq!(
        ring.list_resource_tags(REGION, &meta.key_id).unwrap(),
        vec![tag("team", "ai")]
    );

    ring.schedule_key_deletion(REGION, &meta.key_id, Some(10), NOW)
        .unwrap();
    let v = serde_json::to_value(ring.describe_key(REGION, &meta.key_id).unwrap()).unwrap();
    assert_eq!(v["KeyState"], "PendingDeletion");
    assert_eq!(v["Enabled"], false);
    assert_eq!(v["PendingDeletionWindowInDays"], 10);
    assert_eq!(
        v["DeletionDate"].as_f64().unwrap(),
        (NOW + Duration::days(10)).unix_timestamp() as f64
    );
}

#[test]
fn only_symmetric_keys() {
    let mut ring = KeyRing::new(ACCOUNT);
    for (spec, usage) in [
        (Some("RSA_2048"), None),
        (Some("HMAC_256"), None),
        (None, Some("SIGN_VERIFY")),
    ] {
        let req = CreateKeyRequest {
            key_spec: spec.map(Into::into),
            key_usage: usage.map(Into::into),
            ..Default::default()
        };
        let err = ring.create_key(REGION, &req, NOW).unwrap_err();
        assert_eq!(err.code(), "UnsupportedOperationException");
        assert!(err.to_string().contains("symmetric"), "{err}");
    }
    assert!(ring.list_keys(REGION).is_empty());
}

#[test]
fn list_keys_is_per_region() {
    let (mut ring, id) = ring_with_key();
    ring.create_key("eu-west-1", &CreateKeyRequest::default(), NOW)
        .unwrap();
    let l = ring.list_keys(REGION);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].key_id, id);
    assert_eq!(ring.list_keys("eu-west-1").len(), 1);
    assert!(ring.list_keys("ap-northeast-1").is_empty());
}

#[test]
fn alias_rules() {
    let (mut ring, id) = ring_with_key();
    let other = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    ring.create_alias(REGION, "alias/app", &id, NOW).unwrap();
    assert_eq!(
        ring.create_alias(REGION, "alias/app", &other, NOW)
            .unwrap_err()
            .code(),
        "AlreadyExistsException"
    );
    for bad in [
        "alias/aws/s3",
        "alias/bad name",
        "app",
        "alias/",
        "alias/a.b",
    ] {
        assert_eq!(
            ring.create_alias(REGION, bad, &id, NOW).unwrap_err().code(),
            "InvalidAliasNameException",
            "{bad}"
        );
    }
    assert_eq!(
        ring.create_alias(
            REGION,
            "alias/x",
            "00000000-0000-4000-8000-000000000000",
            NOW
        )
        .unwrap_err()
        .code(),
        "NotFoundException"
    );
    // Same name in another region is a different alias; but the key must be there.
    assert_eq!(
        ring.create_alias("eu-west-1", "alias/app", &id, NOW)
            .unwrap_err()
            .code(),
        "NotFoundException"
    );
    let eu = ring
        .create_key("eu-west-1", &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    ring.create_alias("eu-west-1", "alias/app", &eu, NOW)
        .unwrap();

    let later = NOW + Duration::hours(1);
    ring.update_alias(REGION, "alias/app", &other, later)
        .unwrap();
    assert_eq!(ring.resolve(REGION, "alias/app").unwrap().id(), other);
    let l = ring.list_aliases(REGION, None).unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(
        l[0].alias_arn,
        format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/app")
    );
    assert_eq!(l[0].target_key_id, other);
    assert_eq!(l[0].last_updated_date, later);
    assert!(ring.list_aliases(REGION, Some(&id)).unwrap().is_empty());
    assert_eq!(ring.list_aliases(REGION, Some(&other)).unwrap().len(), 1);
    assert_eq!(
        ring.update_alias(REGION, "alias/nope", &id, NOW)
            .unwrap_err()
            .code(),
        "NotFoundException"
    );

    ring.delete_alias(REGION, "alias/app").unwrap();
    assert_eq!(
        ring.delete_alias(REGION, "alias/app").unwrap_err().code(),
        "NotFoundException"
    );
    assert_eq!(ring.list_aliases("eu-west-1", None).unwrap().len(), 1);
    let j = serde_json::to_value(&ring.list_aliases("eu-west-1", None).unwrap()[0]).unwrap();
    for k in [
        "AliasName",
        "AliasArn",
        "TargetKeyId",
        "CreationDate",
        "LastUpdatedDate",
    ] {
        assert!(j.get(k).is_some(), "{k}");
    }
}

#[test]
fn tags_limits_and_edits() {
    let (mut ring, id) = ring_with_key();
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    ring.tag_resource(REGION, &id, &fifty).unwrap();
    ring.tag_resource(REGION, &id, &[tag("k0", "changed")])
        .unwrap();
    let tags = ring.list_resource_tags(REGION, &id).unwrap();
    assert_eq!(tags.len(), 50);
    assert_eq!(tags[0], tag("k0", "changed"));
    assert_eq!(
        ring.tag_resource(REGION, &id, &[tag("k50", "v")])
            .unwrap_err()
            .code(),
        "LimitExceededException"
    );
    for bad in [
        tag("aws:x", "v"),
        tag("", "v"),
        tag(&"k".repeat(129), "v"),
        tag("k", &"v".repeat(257)),
    ] {
        assert_eq!(
            ring.tag_resource(REGION, &id, &[bad]).unwrap_err().code(),
            "TagException"
        );
    }
    ring.untag_resource(REGION, &id, &["k1".into(), "absent".into()])
        .unwrap();
    assert_eq!(ring.list_resource_tags(REGION, &id).unwrap().len(), 49);
    let too_many = CreateKeyRequest {
        tags: (0..51).map(|i| tag(&format!("k{i}"), "v")).collect(),
        ..Default::default()
    };
    assert_eq!(
        ring.create_key(REGION, &too_many, NOW).unwrap_err().code(),
        "LimitExceededException"
    );
}

#[test]
fn key_policy_default_get_put() {
    let (mut ring, id) = ring_with_key();
    let p = ring.get_key_policy(REGION, &id, None).unwrap();
    assert_eq!(p, default_key_policy(ACCOUNT));
    let v: serde_json::Value = serde_json::from_str(p).unwrap();
    assert_eq!(v["Statement"][0]["Sid"], "Enable IAM User Permissions");
    assert_eq!(
        v["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    assert_eq!(v["Statement"][0]["Action"], "kms:*");
    assert_eq!(v["Statement"][0]["Resource"], "*");
    let mine = r#"{"Version":"2012-10-17","Statement":[]}"#;
    ring.put_key_policy(REGION, &id, Some("default"), mine)
        .unwrap();
    assert_eq!(
        ring.get_key_policy(REGION, &id, Some("default")).unwrap(),
        mine
    );
    assert_eq!(
        ring.get_key_policy(REGION, &id, Some("other"))
            .unwrap_err()
            .code(),
        "NotFoundException"
    );
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(33 * 1024));
    assert_eq!(
        ring.put_key_policy(REGION, &id, None, &big)
            .unwrap_err()
            .code(),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(
        ring.put_key_policy(REGION, &id, None, "not json")
            .unwrap_err()
            .code(),
        "MalformedPolicyDocumentException"
    );
}

#[test]
fn automatic_rotation_schedule() {
    let (mut ring, id) = ring_with_key();
    let st = ring.get_key_rotation_status(REGION, &id).unwrap();
    assert!(!st.key_rotation_enabled && st.rotation_period_in_days.is_none());
    assert_eq!(
        ring.enable_key_rotation(REGION, &id, Some(89), NOW)
            .unwrap_err()
            .code(),
        "ValidationException"
    );
    assert_eq!(
        ring.enable_key_rotation(REGION, &id, Some(2561), NOW)
            .unwrap_err()
            .code(),
        "ValidationException"
    );
    ring.enable_key_rotation(REGION, &id, None, NOW).unwrap();
    let st = ring.get_key_rotation_status(REGION, &id).unwrap();
    assert_eq!(st.rotation_period_in_days, Some(365));
    assert_eq!(st.next_rotation_date, Some(NOW + Duration::days(365)));
    let j = serde_json::to_value(&st).unwrap();
    assert_eq!(j["KeyRotationEnabled"], true);
    assert!(j["NextRotationDate"].is_f64());

    let c = EncryptionContext::new();
    let old = ring
        .encrypt(REGION, &id, b"before", &c)
        .unwrap()
        .ciphertext_blob;
    assert!(
        ring.rotate_due(NOW + Duration::days(364))
            .unwrap()
            .is_empty()
    );
    let t = NOW + Duration::days(365);
    assert_eq!(ring.rotate_due(t).unwrap(), vec![id.clone()]);
    assert!(ring.rotate_due(t).unwrap().is_empty());
    assert_eq!(
        ring.get_key_rotation_status(REGION, &id)
            .unwrap()
            .next_rotation_date,
        Some(t + Duration::days(365))
    );
    assert_eq!(
        ring.decrypt(REGION, &old, &c, None)
            .unwrap()
            .plaintext
            .as_slice(),
        b"before"
    );
    let rot = ring.list_key_rotations(REGION, &id, false).unwrap();
    assert_eq!(rot.len(), 1);
    assert_eq!(rot[0].key_material_state, "CURRENT");
    assert_eq!(rot[0].rotation_date, Some(t));
    assert_eq!(
        serde_json::to_value(&rot[0]).unwrap()["RotationType"],
        "AUTOMATIC"
    );
    assert_eq!(ring.list_key_rotations(REGION, &id, true).unwrap().len(), 2);

    // Disabled keys are not rotated automatically, and their rotation
    // settings cannot change.
    ring.disable_key(REGION, &id).unwrap();
    assert!(ring.rotate_due(t + Duration::days(400)).unwrap().is_empty());
    assert_eq!(
        ring.disable_key_rotation(REGION, &id).unwrap_err().code(),
        "DisabledException"
    );
    assert_eq!(
        ring.rotate_key_on_demand(REGION, &id, t)
            .unwrap_err()
            .code(),
        "DisabledException"
    );
    ring.enable_key(REGION, &id).unwrap();
    assert_eq!(ring.rotate_due(t + Duration::days(400)).unwrap().len(), 1);
    ring.disable_key_rotation(REGION, &id).unwrap();
    assert!(
        !ring
            .get_key_rotation_status(REGION, &id)
            .unwrap()
            .key_rotation_enabled
    );
    assert!(
        ring.rotate_due(t + Duration::days(5000))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn on_demand_rotation_limit() {
    let (mut ring, id) = ring_with_key();
    for _ in 0..sekisho_keys::MAX_ON_DEMAND_ROTATIONS {
        ring.rotate_key_on_demand(REGION, &id, NOW).unwrap();
    }
    assert_eq!(
        ring.rotate_key_on_demand(REGION, &id, NOW)
            .unwrap_err()
            .code(),
        "LimitExceededException"
    );
    let rot = ring.list_key_rotations(REGION, &id, false).unwrap();
    assert_eq!(rot.len(), sekisho_keys::MAX_ON_DEMAND_ROTATIONS);
    assert_eq!(
        serde_json::to_value(&rot[0]).unwrap()["RotationType"],
        "ON_DEMAND"
    );
    assert_eq!(
        rot.iter()
            .filter(|r| r.key_material_state == "CURRENT")
            .count(),
        1
    );
}

#[test]
fn deletion_window_cancel_and_purge() {
    let (mut ring, id) = ring_with_key();
    for bad in [0, 6, 31, 365] {
        assert_eq!(
            ring.schedule_key_deletion(REGION, &id, Some(bad), NOW)
                .unwrap_err()
                .code(),
            "ValidationException"
        );
    }
    let s = ring.schedule_key_deletion(REGION, &id, None, NOW).unwrap();
    assert_eq!(s.pending_window_in_days, 30);
    assert_eq!(s.deletion_date, NOW + Duration::days(30));
    assert_eq!(s.key_state, KeyState::PendingDeletion);
    assert_eq!(
        ring.schedule_key_deletion(REGION, &id, None, NOW)
            .unwrap_err()
            .code(),
        "KMSInvalidStateException"
    );
    for code in [
        ring.enable_key(REGION, &id).unwrap_err().code(),
        ring.disable_key(REGION, &id).unwrap_err().code(),
        ring.enable_key_rotation(REGION, &id, None, NOW)
            .unwrap_err()
            .code(),
        ring.tag_resource(REGION, &id, &[tag("a", "b")])
            .unwrap_err()
            .code(),
        ring.create_alias(REGION, "alias/x", &id, NOW)
            .unwrap_err()
            .code(),
    ] {
        assert_eq!(code, "KMSInvalidStateException");
    }
    // Still describable; policy still readable.
    assert!(ring.describe_key(REGION, &id).is_ok());
    assert!(ring.get_key_policy(REGION, &id, None).is_ok());

    ring.cancel_key_deletion(REGION, &id).unwrap();
    let m = ring.describe_key(REGION, &id).unwrap();
    assert_eq!(m.key_state, KeyState::Disabled);
    assert!(m.deletion_date.is_none() && m.pending_deletion_window_in_days.is_none());
    assert_eq!(
        ring.cancel_key_deletion(REGION, &id).unwrap_err().code(),
        "KMSInvalidStateException"
    );

    ring.enable_key(REGION, &id).unwrap();
    let c = EncryptionContext::new();
    let blob = ring
        .encrypt(REGION, &id, b"gone soon", &c)
        .unwrap()
        .ciphertext_blob;
    ring.create_alias(REGION, "alias/doomed", &id, NOW).unwrap();
    let keep = ring
        .create_key(REGION, &CreateKeyRequest::default(), NOW)
        .unwrap()
        .key_id;
    ring.schedule_key_deletion(REGION, &id, Some(7), NOW)
        .unwrap();
    assert!(
        ring.purge_expired(NOW + Duration::days(7) - Duration::seconds(1))
            .is_empty()
    );
    assert_eq!(
        ring.purge_expired(NOW + Duration::days(7)),
        vec![id.clone()]
    );
    assert_eq!(
        ring.describe_key(REGION, &id).unwrap_err().code(),
        "NotFoundException"
    );
    assert!(ring.list_aliases(REGION, None).unwrap().is_empty());
    assert_eq!(
        ring.decrypt(REGION, &blob, &c, None).unwrap_err().code(),
        "InvalidCiphertextException"
    );
    assert!(ring.describe_key(REGION, &keep).is_ok());
}

#[test]
fn changing_the_period_keeps_the_schedule_start() {
    let (mut ring, id) = ring_with_key();
    ring.enable_key_rotation(REGION, &id, Some(365), NOW)
        .unwrap();
    ring.enable_key_rotation(REGION, &id, Some(180), NOW + Duration::days(100))
        .unwrap();
    let st = ring.get_key_rotation_status(REGION, &id).unwrap();
    assert_eq!(st.next_rotation_date, Some(NOW + Duration::days(180)));
    // After an automatic rotation the schedule starts from it.
    let t = NOW + Duration::days(180);
    assert_eq!(ring.rotate_due(t).unwrap().len(), 1);
    ring.enable_key_rotation(REGION, &id, Some(90), t + Duration::days(10))
        .unwrap();
    let st = ring.get_key_rotation_status(REGION, &id).unwrap();
    assert_eq!(st.next_rotation_date, Some(t + Duration::days(90)));
}
