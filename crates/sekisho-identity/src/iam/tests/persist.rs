use sekisho_store::{SqliteStore, Store, Write};

use super::*;

/// Applies a state's pending changes to a store, as the gateway does.
fn save(state: &mut IamState, store: &dyn Store) {
    let writes: Vec<Write> = state
        .take_changes()
        .expect("changes")
        .into_iter()
        .map(|c| Write::set(c.collection, c.key, c.value))
        .collect();
    store.write(&writes).expect("write");
}

fn load(store: &dyn Store) -> IamState {
    match IamState::load(ACCOUNT, |c, p| store.list(c, p)) {
        Ok(s) => s,
        Err(e) => panic!("load: {e}"),
    }
}

fn load_err(store: &dyn Store) -> String {
    match IamState::load(ACCOUNT, |c, p| store.list(c, p)) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

/// A state with one of everything.
fn populated() -> IamState {
    let mut s = state();
    let managed = policy(&mut s, "Managed");
    s.create_policy_version(&managed, DENY_IAM, true, now())
        .expect("v2");
    let boundary = policy(&mut s, "Boundary");
    s.create_user(
        CreateUserRequest {
            user_name: "Alice".into(),
            path: Some("/eng/".into()),
            permissions_boundary: Some(boundary.clone()),
            tags: vec![Tag::new("team", "ml"), Tag::new("部署", "研究")],
        },
        now(),
    )
    .expect("user");
    user(&mut s, "bob");
    s.put_user_policy("alice", "own", ALLOW_INVOKE)
        .expect("inline");
    s.attach_user_policy("alice", &managed).expect("attach");
    s.attach_user_policy("alice", ADMIN).expect("attach");
    s.create_access_key("alice", key_id(1), secret("secret-one"), now())
        .expect("key");
    s.create_access_key("bob", key_id(2), SealedSecret(vec![0, 255, 7]), now())
        .expect("key");
    s.update_access_key("bob", &key_id(2), AccessKeyStatus::Inactive)
        .expect("status");
    s.create_group("Devs", Some("/eng/"), now()).expect("group");
    s.put_group_policy("devs", "gp", DENY_IAM).expect("inline");
    s.attach_group_policy("devs", &managed).expect("attach");
    s.add_user_to_group("devs", "alice").expect("join");
    s.add_user_to_group("devs", "bob").expect("join");
    s.create_role(
        CreateRoleRequest {
            role_name: "Caller".into(),
            assume_role_policy_document: TRUST_ACCOUNT.into(),
            description: Some("caller".into()),
            max_session_duration: Some(7200),
            permissions_boundary: Some(boundary),
            tags: vec![Tag::new("env", "prod")],
            ..Default::default()
        },
        now(),
    )
    .expect("role");
    s.put_role_policy("caller", "rp", ALLOW_INVOKE)
        .expect("inline");
    s.attach_role_policy("caller", "arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
        .expect("attach");
    let serial = s
        .create_virtual_mfa_device(
            CreateVirtualMfaDeviceRequest {
                virtual_mfa_device_name: "alice-phone".into(),
                ..Default::default()
            },
            secret("JBSWY3DPEHPK3PXP"),
            now(),
        )
        .expect("mfa")
        .serial_number
        .clone();
    s.enable_mfa_device("alice", &serial, "123456", "654321", |_, _, _| true, now())
        .expect("enable");
    s.create_virtual_mfa_device(
        CreateVirtualMfaDeviceRequest {
            virtual_mfa_device_name: "spare".into(),
            path: Some("/spare/".into()),
            ..Default::default()
        },
        secret("SPARE"),
        now(),
    )
    .expect("mfa");
    s
}

fn snapshot(s: &IamState) -> serde_json::Value {
    serde_json::to_value(s).expect("serialize")
}

fn assert_same(a: &IamState, b: &IamState) {
    assert_eq!(snapshot(a), snapshot(b));
    assert_eq!(a.usage, b.usage);
    assert_eq!(a.members, b.members);
    assert_eq!(a.key_index, b.key_index);
    for name in [
        PrincipalName::User("alice"),
        PrincipalName::User("bob"),
        PrincipalName::Role("caller"),
    ] {
        let (Ok(pa), Ok(pb)) = (a.principal_policies(name), b.principal_policies(name)) else {
            assert_eq!(
                a.principal_policies(name).is_ok(),
                b.principal_policies(name).is_ok()
            );
            continue;
        };
        assert_eq!(pa.identity, pb.identity);
        assert_eq!(pa.boundary, pb.boundary);
        assert_eq!(pa.tags, pb.tags);
    }
}

#[test]
fn round_trip_through_sqlite() {
    let store = SqliteStore::open_in_memory().expect("store");
    let mut s = populated();
    save(&mut s, &store);
    assert!(!s.has_changes());
    let loaded = load(&store);
    assert_same(&s, &loaded);
    let (u, k) = loaded.find_access_key(&key_id(1)).expect("key");
    assert_eq!(u.name, "Alice");
    assert_eq!(k.secret, secret("secret-one"));
    let (_, k) = loaded.find_access_key(&key_id(2)).expect("key");
    assert_eq!(k.status, AccessKeyStatus::Inactive);
    assert_eq!(k.secret, SealedSecret(vec![0, 255, 7]));
    assert_eq!(
        loaded
            .get_policy(&policy_arn("Managed"))
            .expect("p")
            .attachment_count,
        2
    );
    assert_eq!(
        loaded
            .get_policy(&policy_arn("Boundary"))
            .expect("p")
            .permissions_boundary_usage_count,
        2
    );
    assert_eq!(loaded.get_group("devs").expect("g").1.len(), 2);
    assert_eq!(
        loaded.get_role("caller").expect("r").max_session_duration,
        7200
    );
    assert_eq!(loaded.list_mfa_devices("alice").expect("mfa").len(), 1);
    // Labels survive a reload.
    let p = loaded
        .principal_policies(PrincipalName::User("alice"))
        .expect("p");
    assert_eq!(p.identity[0].label(), "inline policy own of user Alice");
    assert_eq!(
        loaded
            .get_role("caller")
            .expect("r")
            .assume_role_policy
            .policy()
            .label(),
        "trust policy of role Caller"
    );
    // The documents are keyed by account and lower-cased name.
    let keys: Vec<String> = store
        .list("iam.users", "")
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["123456789012/alice", "123456789012/bob"]);
}

#[test]
fn file_store_persists_changes_and_deletions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sekisho.db");
    {
        let store = SqliteStore::open(&path).expect("store");
        let mut s = populated();
        save(&mut s, &store);
    }
    {
        let store = SqliteStore::open(&path).expect("reopen");
        let mut s = load(&store);
        // Every kind of change, each saved in its own batch.
        s.remove_user_from_group("devs", "bob").expect("leave");
        save(&mut s, &store);
        s.delete_access_key("bob", &key_id(2)).expect("delete key");
        s.delete_user("bob").expect("delete user");
        save(&mut s, &store);
        s.delete_virtual_mfa_device("arn:aws:iam::123456789012:mfa/spare/spare")
            .expect("delete mfa");
        s.detach_group_policy("devs", &policy_arn("Managed"))
            .expect("detach");
        s.delete_role_policy("caller", "rp").expect("delete inline");
        s.tag_role("caller", vec![Tag::new("env", "dev")])
            .expect("tag");
        s.set_default_policy_version(&policy_arn("Managed"), "v1", now())
            .expect("default");
        policy(&mut s, "Fresh");
        save(&mut s, &store);
        let reloaded = load(&store);
        assert_same(&s, &reloaded);
    }
    let store = SqliteStore::open(&path).expect("reopen");
    let s = load(&store);
    assert_eq!(kind(s.get_user("bob")), IamErrorKind::NoSuchEntity);
    assert!(s.find_access_key(&key_id(2)).is_none());
    assert!(
        s.find_mfa_device("arn:aws:iam::123456789012:mfa/spare/spare")
            .is_none()
    );
    assert_eq!(
        s.list_role_tags("caller").expect("tags"),
        &[Tag::new("env", "dev")]
    );
    assert_eq!(
        s.get_policy(&policy_arn("Managed"))
            .expect("p")
            .policy
            .default_version_id,
        "v1"
    );
    assert!(s.get_policy(&policy_arn("Fresh")).is_ok());
    assert!(
        store
            .get("iam.users", "123456789012/bob")
            .expect("get")
            .is_none()
    );
}

#[test]
fn changes_name_exactly_what_was_touched() {
    let mut s = populated();
    s.take_changes().expect("changes");
    assert!(!s.has_changes());

    s.add_user_to_group("devs", "bob")
        .expect("no-op: already a member");
    s.attach_user_policy("alice", ADMIN)
        .expect("no-op: attached");
    assert!(s.take_changes().expect("changes").is_empty());

    s.tag_user("bob", vec![Tag::new("a", "b")]).expect("tag");
    let changes = s.take_changes().expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].collection, "iam.users");
    assert_eq!(changes[0].key, "123456789012/bob");
    assert!(changes[0].value.is_some());

    s.create_policy_version(&policy_arn("Managed"), ALLOW_INVOKE, false, now())
        .expect("version");
    let changes = s.take_changes().expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].collection, "iam.policies");
    assert_eq!(changes[0].key, "123456789012/managed");

    s.remove_user_from_group("devs", "bob").expect("leave");
    s.delete_access_key("bob", &key_id(2)).expect("key");
    s.delete_user("bob").expect("delete");
    let changes = s.take_changes().expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].value, None, "a delete");

    // Failures leave nothing to write and nothing changed.
    let before = snapshot(&s);
    assert!(s.delete_user("alice").is_err());
    assert!(s.create_role(CreateRoleRequest::default(), now()).is_err());
    assert!(s.attach_user_policy("alice", &policy_arn("Nope")).is_err());
    assert!(s.put_group_policy("devs", "x", "{").is_err());
    assert!(!s.has_changes());
    assert_eq!(snapshot(&s), before);
}

#[test]
fn clones_are_independent() {
    let mut a = populated();
    a.take_changes().expect("changes");
    let mut b = a.clone();
    b.tag_user("alice", vec![Tag::new("x", "y")]).expect("tag");
    b.delete_access_key("bob", &key_id(2)).expect("delete");
    assert!(!a.has_changes());
    assert!(a.find_access_key(&key_id(2)).is_some());
    assert!(b.find_access_key(&key_id(2)).is_none());
    assert_eq!(a.list_user_tags("alice").expect("tags").len(), 2);
    assert_eq!(b.list_user_tags("alice").expect("tags").len(), 3);
}

#[test]
fn serde_snapshot_round_trip() {
    let s = populated();
    let text = serde_json::to_string(&s).expect("serialize");
    assert!(
        !text.contains("secret-one"),
        "secrets are base64, not plain"
    );
    let back: IamState = serde_json::from_str(&text).expect("deserialize");
    assert_same(&s, &back);
    assert_eq!(back.account(), ACCOUNT);
    let mut broken: serde_json::Value = serde_json::from_str(&text).expect("json");
    broken["v"] = serde_json::json!(2);
    assert!(serde_json::from_value::<IamState>(broken).is_err());
}

#[test]
fn all_documents_matches_incremental_changes() {
    let mut s = populated();
    let all = s.all_documents().expect("all");
    let mut changes = s.take_changes().expect("changes");
    changes.sort_by(|a, b| (a.collection, &a.key).cmp(&(b.collection, &b.key)));
    let mut all_sorted = all.clone();
    all_sorted.sort_by(|a, b| (a.collection, &a.key).cmp(&(b.collection, &b.key)));
    assert_eq!(all_sorted, changes);
    assert!(
        COLLECTIONS
            .iter()
            .all(|c| all.iter().any(|d| d.collection == *c))
    );
}

fn stored(s: &mut IamState) -> SqliteStore {
    let store = SqliteStore::open_in_memory().expect("store");
    save(s, &store);
    store
}

#[test]
fn corrupt_documents_are_refused() {
    let mut s = populated();
    let store = stored(&mut s);
    store
        .write(&[Write::put(
            "iam.users",
            "123456789012/bob",
            b"{not json".to_vec(),
        )])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("iam.users 123456789012/bob"), "{e}");
    assert!(e.contains("not an IAM document"), "{e}");

    let store = stored(&mut populated());
    let doc = store
        .get("iam.users", "123456789012/bob")
        .expect("get")
        .expect("doc");
    let mut value: serde_json::Value = serde_json::from_slice(&doc).expect("json");
    value["v"] = serde_json::json!(7);
    store
        .write(&[Write::put(
            "iam.users",
            "123456789012/bob",
            serde_json::to_vec(&value).expect("json"),
        )])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("document format version 7"), "{e}");

    // A document filed under another name.
    let store = stored(&mut populated());
    store
        .write(&[Write::put("iam.users", "123456789012/mallory", doc.clone())])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("belongs under 123456789012/bob"), "{e}");

    // A stored policy document that no longer parses.
    let store = stored(&mut populated());
    let doc = store
        .get("iam.roles", "123456789012/caller")
        .expect("get")
        .expect("doc");
    let mut value: serde_json::Value = serde_json::from_slice(&doc).expect("json");
    value["doc"]["assume_role_policy"] = serde_json::json!("{\"Statement\": 5}");
    store
        .write(&[Write::put(
            "iam.roles",
            "123456789012/caller",
            serde_json::to_vec(&value).expect("json"),
        )])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("iam.roles 123456789012/caller"), "{e}");
}

#[test]
fn dangling_references_are_refused() {
    // A policy attached to a user is missing.
    let store = stored(&mut populated());
    store
        .write(&[Write::delete("iam.policies", "123456789012/managed")])
        .expect("write");
    let e = load_err(&store);
    assert!(
        e.contains("refers to policy arn:aws:iam::123456789012:policy/Managed"),
        "{e}"
    );

    // A group a user is in is missing.
    let store = stored(&mut populated());
    store
        .write(&[Write::delete("iam.groups", "123456789012/devs")])
        .expect("write");
    let e = load_err(&store);
    assert!(
        e.contains("member of group Devs, which does not exist"),
        "{e}"
    );

    // An MFA device enabled for a missing user.
    let store = stored(&mut populated());
    store
        .write(&[Write::delete("iam.users", "123456789012/alice")])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("iam.mfa"), "{e}");

    // An access key claimed by two users.
    let store = stored(&mut populated());
    let alice = store
        .get("iam.users", "123456789012/alice")
        .expect("get")
        .expect("doc");
    let mut value: serde_json::Value = serde_json::from_slice(&alice).expect("json");
    let bob = store
        .get("iam.users", "123456789012/bob")
        .expect("get")
        .expect("doc");
    let bob: serde_json::Value = serde_json::from_slice(&bob).expect("json");
    value["doc"]["access_keys"] = bob["doc"]["access_keys"].clone();
    store
        .write(&[Write::put(
            "iam.users",
            "123456789012/alice",
            serde_json::to_vec(&value).expect("json"),
        )])
        .expect("write");
    let e = load_err(&store);
    assert!(e.contains("belongs to two users"), "{e}");

    // An ARN that does not match the account.
    let store = stored(&mut populated());
    let doc = store
        .get("iam.groups", "123456789012/devs")
        .expect("get")
        .expect("doc");
    let mut value: serde_json::Value = serde_json::from_slice(&doc).expect("json");
    value["doc"]["arn"] = serde_json::json!("arn:aws:iam::210987654321:group/eng/Devs");
    store
        .write(&[Write::put(
            "iam.groups",
            "123456789012/devs",
            serde_json::to_vec(&value).expect("json"),
        )])
        .expect("write");
    let e = load_err(&store);
    assert!(
        e.contains("is not arn:aws:iam::123456789012:group/eng/Devs"),
        "{e}"
    );
}

#[test]
fn accounts_are_separate_and_source_errors_propagate() {
    let store = SqliteStore::open_in_memory().expect("store");
    let mut a = populated();
    save(&mut a, &store);
    let mut other = IamState::new("210987654321").expect("account");
    user(&mut other, "alice");
    save(&mut other, &store);
    let loaded = load(&store);
    assert_same(&a, &loaded);
    let b = IamState::load("210987654321", |c, p| store.list(c, p)).expect("load other");
    assert_eq!(b.list_users(None).expect("users").len(), 1);
    assert_eq!(
        b.get_user("alice").expect("alice").arn,
        "arn:aws:iam::210987654321:user/alice"
    );
    let empty = IamState::load("999999999999", |c, p| store.list(c, p)).expect("empty");
    assert!(empty.list_users(None).expect("users").is_empty());

    let e = IamState::load(ACCOUNT, |c, _| {
        Err::<Vec<(String, Vec<u8>)>, String>(format!("disk on fire while reading {c}"))
    })
    .expect_err("source fails");
    assert!(matches!(
        e,
        LoadError::Source {
            collection: "iam.users",
            ..
        }
    ));
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert!(matches!(
        IamState::load("12345", |_, _| Ok::<_, String>(Vec::new())),
        Err(LoadError::Corrupt(_))
    ));
}
