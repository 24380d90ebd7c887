use super::*;

#[test]
fn access_key_lifecycle() {
    let mut s = state();
    user(&mut s, "alice");
    user(&mut s, "bob");
    let k = s
        .create_access_key("Alice", key_id(1), secret("secret-1"), now())
        .expect("create");
    assert_eq!(k.id, key_id(1));
    assert_eq!(k.status, AccessKeyStatus::Active);
    assert_eq!(k.create_date, now());
    assert_eq!(k.secret, secret("secret-1"));
    s.create_access_key("alice", key_id(2), secret("secret-2"), now())
        .expect("second");

    let e = err(s.create_access_key("alice", key_id(3), secret("s"), now()));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for AccessKeysPerUser: 2");

    let listed: Vec<&str> = s
        .list_access_keys("alice")
        .expect("list")
        .iter()
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(listed, [key_id(1), key_id(2)]);

    let (u, k) = s.find_access_key(&key_id(2)).expect("found");
    assert_eq!(u.name, "alice");
    assert_eq!(k.secret, secret("secret-2"));
    assert!(s.find_access_key(&key_id(9)).is_none());

    s.update_access_key("alice", &key_id(1), AccessKeyStatus::Inactive)
        .expect("deactivate");
    let (_, k) = s.find_access_key(&key_id(1)).expect("found");
    assert_eq!(k.status, AccessKeyStatus::Inactive);
    s.update_access_key("alice", &key_id(1), AccessKeyStatus::Inactive)
        .expect("same status");

    // Another user's key is not found under this user.
    let e = err(s.update_access_key("bob", &key_id(1), AccessKeyStatus::Active));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        e.message,
        format!("The Access Key with id {} cannot be found.", key_id(1))
    );
    assert_eq!(
        kind(s.delete_access_key("bob", &key_id(1))),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.update_access_key("nobody", &key_id(1), AccessKeyStatus::Active)),
        IamErrorKind::NoSuchEntity
    );

    s.delete_access_key("alice", &key_id(1)).expect("delete");
    assert!(s.find_access_key(&key_id(1)).is_none());
    assert_eq!(
        kind(s.delete_access_key("alice", &key_id(1))),
        IamErrorKind::NoSuchEntity
    );
    s.create_access_key("alice", key_id(3), secret("s"), now())
        .expect("room again");
}

#[test]
fn access_key_input_errors() {
    let mut s = state();
    user(&mut s, "alice");
    user(&mut s, "bob");
    assert_eq!(
        kind(s.create_access_key("nobody", key_id(1), secret("s"), now())),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.create_access_key("alice", "SHORT".into(), secret("s"), now())),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.create_access_key("alice", "AKIA-WITH-DASHES-XYZ".into(), secret("s"), now())),
        IamErrorKind::ValidationError
    );
    s.create_access_key("alice", key_id(1), secret("s"), now())
        .expect("create");
    let e = err(s.create_access_key("bob", key_id(1), secret("s"), now()));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert!(s.list_access_keys("bob").expect("list").is_empty());
    assert_eq!(
        kind(s.update_access_key("alice", "bad id!", AccessKeyStatus::Active)),
        IamErrorKind::ValidationError
    );
}

#[test]
fn status_parse_and_secret_redaction() {
    assert_eq!(
        AccessKeyStatus::parse("Active").expect("parse"),
        AccessKeyStatus::Active
    );
    assert_eq!(
        AccessKeyStatus::parse("Inactive").expect("parse"),
        AccessKeyStatus::Inactive
    );
    assert_eq!(
        kind(AccessKeyStatus::parse("active")),
        IamErrorKind::ValidationError
    );
    assert_eq!(AccessKeyStatus::Inactive.as_str(), "Inactive");

    let mut s = state();
    user(&mut s, "alice");
    s.create_access_key(
        "alice",
        key_id(1),
        secret("wJalrXUtnFEMI-very-secret"),
        now(),
    )
    .expect("create");
    let debug = format!("{s:?}");
    assert!(!debug.contains("very-secret"), "secret in Debug output");
    assert!(debug.contains("SealedSecret(25 bytes)"), "{debug}");
    let changes = s.take_changes().expect("changes");
    assert!(!format!("{changes:?}").contains("very-secret"));
}

#[test]
fn lookup_is_by_index() {
    // Many users: find_access_key goes through the id index.
    let mut s = state();
    for i in 0..500 {
        let name = format!("user{i}");
        user(&mut s, &name);
        s.create_access_key(&name, key_id(i), secret("s"), now())
            .expect("key");
    }
    assert_eq!(s.key_index.len(), 500);
    let (u, _) = s.find_access_key(&key_id(377)).expect("found");
    assert_eq!(u.name, "user377");
}
