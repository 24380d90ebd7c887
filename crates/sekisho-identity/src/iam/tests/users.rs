use super::*;

#[test]
fn create_get_and_list_users() {
    let mut s = state();
    let u = s
        .create_user(
            CreateUserRequest {
                user_name: "Alice".into(),
                path: Some("/engineering/".into()),
                tags: vec![Tag::new("team", "ml")],
                ..Default::default()
            },
            now(),
        )
        .expect("create");
    assert_eq!(u.name, "Alice");
    assert_eq!(u.path, "/engineering/");
    assert_eq!(u.arn, "arn:aws:iam::123456789012:user/engineering/Alice");
    assert!(u.id.starts_with("AIDA") && u.id.len() == 21, "{}", u.id);
    assert_eq!(u.create_date, now());
    assert_eq!(u.tags, vec![Tag::new("team", "ml")]);
    user(&mut s, "bob");
    user(&mut s, "carol");

    // Lookups ignore case and return the name as created.
    assert_eq!(s.get_user("alice").expect("get").name, "Alice");
    assert_eq!(s.get_user("ALICE").expect("get").name, "Alice");
    let names = |v: Vec<&User>| v.into_iter().map(|u| u.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(s.list_users(None).expect("list")),
        ["Alice", "bob", "carol"]
    );
    assert_eq!(
        names(s.list_users(Some("/engineering/")).expect("list")),
        ["Alice"]
    );
    assert_eq!(names(s.list_users(Some("/eng")).expect("list")), ["Alice"]);
    assert!(s.list_users(Some("/sales/")).expect("list").is_empty());
    assert_eq!(
        kind(s.list_users(Some("no-slash"))),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        s.find_user_by_arn("arn:aws:iam::123456789012:user/engineering/Alice")
            .map(|u| u.name.as_str()),
        Some("Alice")
    );
    assert!(
        s.find_user_by_arn("arn:aws:iam::123456789012:user/Alice")
            .is_none()
    );
}

#[test]
fn user_names_are_unique_ignoring_case() {
    let mut s = state();
    user(&mut s, "alice");
    let e = err(s.create_user(
        CreateUserRequest {
            user_name: "ALICE".into(),
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(e.message, "User with name ALICE already exists.");
}

#[test]
fn missing_user_is_no_such_entity() {
    let mut s = state();
    let e = err(s.get_user("alice"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(e.message, "The user with name alice cannot be found.");
    assert_eq!(kind(s.delete_user("alice")), IamErrorKind::NoSuchEntity);
    assert_eq!(
        kind(s.tag_user("alice", vec![])),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(kind(s.untag_user("alice", &[])), IamErrorKind::NoSuchEntity);
    assert_eq!(kind(s.list_user_tags("alice")), IamErrorKind::NoSuchEntity);
    assert_eq!(
        kind(s.put_user_permissions_boundary("alice", ADMIN)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.delete_user_permissions_boundary("alice")),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn user_name_and_path_validation() {
    let mut s = state();
    let create = |s: &mut IamState, name: &str, path: Option<&str>| {
        s.create_user(
            CreateUserRequest {
                user_name: name.into(),
                path: path.map(String::from),
                ..Default::default()
            },
            now(),
        )
        .map(|_| ())
    };
    for bad in [
        "",
        "with space",
        "slash/",
        "ユーザー",
        "colon:",
        "star*",
        &"a".repeat(65),
    ] {
        let e = err(create(&mut s, bad, None));
        assert_eq!(e.kind, IamErrorKind::ValidationError, "{bad:?}");
        assert!(
            e.message.starts_with("1 validation error detected"),
            "{}",
            e.message
        );
        assert!(e.message.contains("userName"), "{}", e.message);
    }
    let e = err(create(&mut s, &"a".repeat(65), None));
    assert!(
        e.message.contains("length less than or equal to 64"),
        "{}",
        e.message
    );
    let e = err(create(&mut s, "a b", None));
    assert!(e.message.contains(r"[\w+=,.@-]+"), "{}", e.message);
    create(&mut s, &"a".repeat(64), None).expect("64 characters");
    create(&mut s, "a+b=c,d.e@f_g-h", None).expect("every allowed character");

    for bad in [
        "",
        "a",
        "/a",
        "a/",
        "//",
        "/a b/",
        "/tab\t/",
        "/é/",
        &format!("/{}/", "p".repeat(511)),
    ] {
        let e = err(create(&mut s, "pathuser", Some(bad)));
        assert_eq!(e.kind, IamErrorKind::ValidationError, "{bad:?}");
        assert!(e.message.contains("'path'"), "{}", e.message);
    }
    create(&mut s, "p1", Some("/")).expect("root path");
    create(&mut s, "p2", Some("/a/b/c/")).expect("nested path");
    create(&mut s, "p3", Some(&format!("/{}/", "p".repeat(510)))).expect("512 characters");
    // Nothing was left behind by the failures.
    assert!(s.get_user("pathuser").is_err());
}

#[test]
fn delete_user_conflicts_until_everything_is_removed() {
    let mut s = state();
    user(&mut s, "alice");
    s.create_group("devs", None, now()).expect("group");
    s.add_user_to_group("devs", "alice").expect("join");
    s.put_user_policy("alice", "inline", ALLOW_INVOKE)
        .expect("inline");
    s.attach_user_policy("alice", ADMIN).expect("attach");
    s.create_access_key("alice", key_id(1), secret("s"), now())
        .expect("key");
    let serial = s
        .create_virtual_mfa_device(
            CreateVirtualMfaDeviceRequest {
                virtual_mfa_device_name: "alice-phone".into(),
                ..Default::default()
            },
            secret("seed"),
            now(),
        )
        .expect("mfa")
        .serial_number
        .clone();
    s.enable_mfa_device("alice", &serial, "123456", "654321", |_, _, _| true, now())
        .expect("enable");
    s.take_changes().expect("changes");

    type Fix = Box<dyn Fn(&mut IamState)>;
    let steps: Vec<(&str, Fix)> = vec![
        (
            "Cannot delete entity, must delete access keys first.",
            Box::new(|s| {
                s.delete_access_key("alice", &key_id(1))
                    .expect("delete key")
            }),
        ),
        (
            "Cannot delete entity, must delete MFA device first.",
            Box::new(|s| {
                let serial = "arn:aws:iam::123456789012:mfa/alice-phone";
                s.deactivate_mfa_device("alice", serial)
                    .expect("deactivate")
            }),
        ),
        (
            "Cannot delete entity, must delete policies first.",
            Box::new(|s| {
                s.delete_user_policy("alice", "inline")
                    .expect("delete inline")
            }),
        ),
        (
            "Cannot delete entity, must detach all policies first.",
            Box::new(|s| s.detach_user_policy("alice", ADMIN).expect("detach")),
        ),
        (
            "Cannot delete entity, must remove user from all groups first.",
            Box::new(|s| s.remove_user_from_group("devs", "alice").expect("leave")),
        ),
    ];
    for (message, fix) in steps {
        let e = err(s.delete_user("alice"));
        assert_eq!(e.kind, IamErrorKind::DeleteConflict);
        assert_eq!(e.message, message);
        assert!(!s.has_changes(), "a refused delete changed something");
        fix(&mut s);
        s.take_changes().expect("changes");
    }
    s.delete_user("alice").expect("delete");
    assert_eq!(kind(s.get_user("alice")), IamErrorKind::NoSuchEntity);
    assert!(s.find_access_key(&key_id(1)).is_none());
    // The name can be used again.
    user(&mut s, "alice");
}

#[test]
fn user_tags() {
    let mut s = state();
    user(&mut s, "alice");
    s.tag_user(
        "alice",
        vec![
            Tag::new("Department", "finance"),
            Tag::new("部署", "経理 チーム"),
        ],
    )
    .expect("tag");
    // Keys ignore case: this replaces Department.
    s.tag_user("alice", vec![Tag::new("department", "hr")])
        .expect("retag");
    assert_eq!(
        s.list_user_tags("alice").expect("list"),
        &[
            Tag::new("department", "hr"),
            Tag::new("部署", "経理 チーム")
        ]
    );
    s.untag_user("alice", &["DEPARTMENT".into(), "absent".into()])
        .expect("untag");
    assert_eq!(
        s.list_user_tags("alice").expect("list"),
        &[Tag::new("部署", "経理 チーム")]
    );

    let e = err(s.tag_user("alice", vec![Tag::new("a", "1"), Tag::new("A", "2")]));
    assert_eq!(e.kind, IamErrorKind::InvalidInput);
    assert_eq!(
        e.message,
        "Duplicate tag keys found. Please note that Tag keys are case insensitive."
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("aws:reserved", "x")])),
        IamErrorKind::InvalidInput
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("", "x")])),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("k".repeat(129), "x")])),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("k", "v".repeat(257))])),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("bad*key", "x")])),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.tag_user("alice", vec![Tag::new("k", "bad\u{0}value")])),
        IamErrorKind::ValidationError
    );
    s.tag_user("alice", vec![Tag::new("k".repeat(128), "v".repeat(256))])
        .expect("longest key and value");
    s.tag_user("alice", vec![Tag::new("empty-value", "")])
        .expect("empty value");
    assert_eq!(
        kind(s.untag_user("alice", &["bad*".into()])),
        IamErrorKind::ValidationError
    );

    // 51 in one request: the API's constraint.
    let many: Vec<Tag> = (0..51).map(|i| Tag::new(format!("k{i}"), "v")).collect();
    assert_eq!(
        kind(s.tag_user("alice", many)),
        IamErrorKind::ValidationError
    );
    // 50 in all is the quota.
    let fill: Vec<Tag> = (0..47).map(|i| Tag::new(format!("k{i}"), "v")).collect();
    s.tag_user("alice", fill).expect("fill to 50");
    assert_eq!(s.list_user_tags("alice").expect("list").len(), 50);
    let e = err(s.tag_user("alice", vec![Tag::new("one-more", "v")]));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for TagsPerUser: 50");
    // Replacing an existing key at the limit is fine.
    s.tag_user("alice", vec![Tag::new("K0", "new")])
        .expect("replace at limit");
}

#[test]
fn create_user_tag_errors() {
    let mut s = state();
    let e = err(s.create_user(
        CreateUserRequest {
            user_name: "alice".into(),
            tags: vec![Tag::new("x", "1"), Tag::new("X", "2")],
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::InvalidInput);
    assert!(s.get_user("alice").is_err());
    assert!(!s.has_changes());
}

#[test]
fn user_permissions_boundary() {
    let mut s = state();
    let boundary = policy(&mut s, "Boundary");
    s.create_user(
        CreateUserRequest {
            user_name: "alice".into(),
            permissions_boundary: Some(boundary.clone()),
            ..Default::default()
        },
        now(),
    )
    .expect("create with boundary");
    assert_eq!(
        s.get_user("alice")
            .expect("get")
            .permissions_boundary
            .as_deref(),
        Some(boundary.as_str())
    );
    assert_eq!(
        s.get_policy(&boundary)
            .expect("policy")
            .permissions_boundary_usage_count,
        1
    );
    assert_eq!(s.get_policy(&boundary).expect("policy").attachment_count, 0);

    s.put_user_permissions_boundary("alice", ADMIN)
        .expect("replace");
    assert_eq!(
        s.get_policy(&boundary)
            .expect("policy")
            .permissions_boundary_usage_count,
        0
    );
    assert_eq!(
        s.get_policy(ADMIN)
            .expect("policy")
            .permissions_boundary_usage_count,
        1
    );
    let e = err(s.put_user_permissions_boundary("alice", &policy_arn("Missing")));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        e.message,
        "Scope ARN: arn:aws:iam::123456789012:policy/Missing does not exist or is not attachable."
    );
    assert_eq!(
        kind(s.put_user_permissions_boundary("alice", "arn:aws:s3:::my-bucket/policy")),
        IamErrorKind::InvalidInput
    );
    assert_eq!(
        kind(s.put_user_permissions_boundary("alice", "short")),
        IamErrorKind::ValidationError
    );
    s.delete_user_permissions_boundary("alice").expect("delete");
    assert!(
        s.get_user("alice")
            .expect("get")
            .permissions_boundary
            .is_none()
    );
    assert_eq!(
        s.get_policy(ADMIN)
            .expect("policy")
            .permissions_boundary_usage_count,
        0
    );
    s.delete_user_permissions_boundary("alice")
        .expect("no boundary: nothing to do");

    let e = err(s.create_user(
        CreateUserRequest {
            user_name: "bob".into(),
            permissions_boundary: Some(policy_arn("Missing")),
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
}

#[test]
fn user_quota() {
    let mut s = state();
    s.set_quotas(Quotas {
        users: 2,
        ..Quotas::default()
    });
    user(&mut s, "a");
    user(&mut s, "b");
    let e = err(s.create_user(
        CreateUserRequest {
            user_name: "c".into(),
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for UsersPerAccount: 2");
}
