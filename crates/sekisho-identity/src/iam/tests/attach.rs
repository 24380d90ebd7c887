use super::*;

#[test]
fn attach_detach_list_for_every_owner() {
    let mut s = state();
    let p = policy(&mut s, "p");
    let scoped = s
        .create_policy(
            CreatePolicyRequest {
                policy_name: "scoped".into(),
                path: Some("/team/".into()),
                policy_document: ALLOW_INVOKE.into(),
                ..Default::default()
            },
            now(),
        )
        .expect("create")
        .policy
        .arn
        .clone();
    user(&mut s, "alice");
    s.create_group("devs", None, now()).expect("group");
    role(&mut s, "r");

    s.attach_user_policy("alice", &p).expect("user");
    s.attach_user_policy("alice", &p).expect("again: no-op");
    s.attach_user_policy("alice", &scoped).expect("user");
    s.attach_group_policy("devs", &p).expect("group");
    s.attach_role_policy("r", &p).expect("role");
    s.attach_role_policy("r", ADMIN).expect("role");
    assert_eq!(s.get_policy(&p).expect("get").attachment_count, 3);

    let listed = s.list_attached_user_policies("alice", None).expect("list");
    assert_eq!(
        listed,
        [
            AttachedPolicy {
                policy_name: "p".into(),
                policy_arn: p.clone()
            },
            AttachedPolicy {
                policy_name: "scoped".into(),
                policy_arn: scoped.clone()
            }
        ]
    );
    assert_eq!(
        s.list_attached_user_policies("alice", Some("/team/"))
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        s.list_attached_group_policies("devs", None)
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        s.list_attached_role_policies("r", None)
            .expect("list")
            .len(),
        2
    );
    assert_eq!(
        kind(s.list_attached_role_policies("r", Some("bad"))),
        IamErrorKind::ValidationError
    );

    s.detach_user_policy("alice", &p).expect("detach");
    s.detach_group_policy("devs", &p).expect("detach");
    s.detach_role_policy("r", &p).expect("detach");
    assert_eq!(s.get_policy(&p).expect("get").attachment_count, 0);
    let e = err(s.detach_role_policy("r", &p));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(e.message, format!("Policy {p} was not found."));
    assert_eq!(
        kind(s.detach_user_policy("alice", &policy_arn("nope"))),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn attach_errors() {
    let mut s = state();
    user(&mut s, "alice");
    let e = err(s.attach_user_policy("alice", &policy_arn("Missing")));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        e.message,
        "Policy arn:aws:iam::123456789012:policy/Missing does not exist or is not attachable."
    );
    assert_eq!(
        kind(s.attach_user_policy("alice", "arn:aws:iam::aws:policy/NoSuchThing")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.attach_user_policy("alice", "arn:aws:iam::123456789012:user/alice")),
        IamErrorKind::InvalidInput
    );
    assert_eq!(
        kind(s.attach_user_policy("nobody", ADMIN)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.attach_group_policy("nogroup", ADMIN)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.attach_role_policy("norole", ADMIN)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.attach_role_policy("bad name", ADMIN)),
        IamErrorKind::ValidationError
    );
    assert!(!s.has_changes() || s.take_changes().is_ok());
}

#[test]
fn ten_managed_policies_per_entity() {
    let mut s = state();
    user(&mut s, "alice");
    s.create_group("devs", None, now()).expect("group");
    role(&mut s, "r");
    let arns: Vec<String> = (0..11).map(|i| policy(&mut s, &format!("p{i}"))).collect();
    for arn in &arns[..10] {
        s.attach_user_policy("alice", arn).expect("user");
        s.attach_group_policy("devs", arn).expect("group");
        s.attach_role_policy("r", arn).expect("role");
    }
    for (r, quota) in [
        (
            s.clone().attach_user_policy("alice", &arns[10]),
            "PoliciesPerUser",
        ),
        (
            s.clone().attach_group_policy("devs", &arns[10]),
            "PoliciesPerGroup",
        ),
        (
            s.clone().attach_role_policy("r", &arns[10]),
            "PoliciesPerRole",
        ),
    ] {
        let e = err(r);
        assert_eq!(e.kind, IamErrorKind::LimitExceeded);
        assert_eq!(e.message, format!("Cannot exceed quota for {quota}: 10"));
    }
    // Re-attaching an attached policy at the limit is fine.
    s.attach_user_policy("alice", &arns[0]).expect("no-op");
    assert_eq!(s.get_policy(&arns[10]).expect("get").attachment_count, 0);
}

#[test]
fn inline_policies_for_every_owner() {
    let mut s = state();
    user(&mut s, "alice");
    s.create_group("devs", None, now()).expect("group");
    role(&mut s, "r");

    s.put_user_policy("alice", "b", ALLOW_INVOKE).expect("put");
    s.put_user_policy("alice", "a", DENY_IAM).expect("put");
    assert_eq!(s.list_user_policies("alice").expect("list"), ["a", "b"]);
    assert_eq!(
        s.get_user_policy("alice", "a").expect("get").text(),
        DENY_IAM
    );
    s.put_user_policy("alice", "a", ALLOW_INVOKE)
        .expect("replace");
    assert_eq!(
        s.get_user_policy("alice", "a").expect("get").text(),
        ALLOW_INVOKE
    );
    let e = err(s.get_user_policy("alice", "zzz"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(e.message, "The user policy with name zzz cannot be found.");
    s.delete_user_policy("alice", "a").expect("delete");
    assert_eq!(s.list_user_policies("alice").expect("list"), ["b"]);
    assert_eq!(
        kind(s.delete_user_policy("alice", "a")),
        IamErrorKind::NoSuchEntity
    );

    s.put_group_policy("devs", "g", ALLOW_INVOKE).expect("put");
    assert_eq!(s.list_group_policies("devs").expect("list"), ["g"]);
    assert_eq!(
        s.get_group_policy("devs", "g").expect("get").text(),
        ALLOW_INVOKE
    );
    assert_eq!(
        err(s.get_group_policy("devs", "x")).message,
        "The group policy with name x cannot be found."
    );
    s.delete_group_policy("devs", "g").expect("delete");
    assert_eq!(
        kind(s.delete_group_policy("devs", "g")),
        IamErrorKind::NoSuchEntity
    );

    s.put_role_policy("r", "rp", ALLOW_INVOKE).expect("put");
    assert_eq!(s.list_role_policies("r").expect("list"), ["rp"]);
    assert_eq!(
        s.get_role_policy("r", "rp").expect("get").text(),
        ALLOW_INVOKE
    );
    assert_eq!(
        err(s.get_role_policy("r", "x")).message,
        "The role policy with name x cannot be found."
    );
    s.delete_role_policy("r", "rp").expect("delete");
    assert!(s.list_role_policies("r").expect("list").is_empty());

    assert_eq!(
        kind(s.list_user_policies("nobody")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.list_group_policies("nobody")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.list_role_policies("nobody")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.put_user_policy("nobody", "p", ALLOW_INVOKE)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.put_user_policy("alice", "bad name", ALLOW_INVOKE)),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.put_user_policy("alice", &"p".repeat(129), ALLOW_INVOKE)),
        IamErrorKind::ValidationError
    );
    let e = err(s.put_role_policy("r", "p", "{\"Statement\": [}"));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("line 1, column"), "{}", e.message);
    assert_eq!(
        kind(s.put_role_policy("r", "p", TRUST_ACCOUNT)),
        IamErrorKind::MalformedPolicyDocument
    );
}

#[test]
fn inline_size_quotas_are_per_owner_and_aggregate() {
    for (owner, limit) in [("user", 2048usize), ("group", 5120), ("role", 10240)] {
        let mut s = state();
        user(&mut s, "o");
        s.create_group("o", None, now()).expect("group");
        role(&mut s, "o");
        let put = |s: &mut IamState, name: &str, doc: &str| match owner {
            "user" => s.put_user_policy("o", name, doc),
            "group" => s.put_group_policy("o", name, doc),
            _ => s.put_role_policy("o", name, doc),
        };
        put(&mut s, "full", &sized_document(limit)).expect("exactly the limit");
        let e = err(put(&mut s, "more", &sized_document(200)));
        assert_eq!(e.kind, IamErrorKind::LimitExceeded, "{owner}");
        assert_eq!(
            e.message,
            format!("Maximum policy size of {limit} bytes exceeded for {owner} o.")
        );
        // Replacing a policy counts its new size, not both.
        put(&mut s, "full", &sized_document(limit - 300)).expect("replace smaller");
        put(&mut s, "more", &sized_document(300)).expect("fits now");
        let e = err(put(&mut s, "big", &sized_document(limit + 1)));
        assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    }
}

#[test]
fn linter_errors_are_malformed_documents() {
    let mut s = state();
    user(&mut s, "alice");
    // The grammar accepts this; the linter finds two statements sharing a Sid.
    let doc = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Same", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    {"Sid": "Same", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
  ]
}"#;
    assert!(sekisho_policy::Policy::parse(doc.as_bytes()).is_ok());
    let e = err(s.put_user_policy("alice", "dup", doc));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("Statement[1]"), "{}", e.message);
    assert!(e.message.contains("line 5"), "{}", e.message);
    assert!(s.list_user_policies("alice").expect("list").is_empty());
}
