use super::*;

#[test]
fn create_get_list_policies() {
    let mut s = state();
    let info = s
        .create_policy(
            CreatePolicyRequest {
                policy_name: "AllowClaudeOnly".into(),
                path: Some("/bedrock/".into()),
                policy_document: ALLOW_INVOKE.into(),
                description: Some("One model family".into()),
                tags: vec![Tag::new("team", "ml")],
            },
            now(),
        )
        .expect("create");
    assert_eq!(
        info.policy.arn,
        "arn:aws:iam::123456789012:policy/bedrock/AllowClaudeOnly"
    );
    assert!(info.policy.id.starts_with("ANPA") && info.policy.id.len() == 21);
    assert_eq!(info.policy.default_version_id, "v1");
    assert_eq!(info.attachment_count, 0);
    assert!(!info.policy.aws_managed);
    let arn = info.policy.arn.clone();
    policy(&mut s, "zeta");

    let got = s.get_policy(&arn).expect("get");
    assert_eq!(got.policy.description.as_deref(), Some("One model family"));
    assert_eq!(
        got.policy.default_version().expect("v1").document.text(),
        ALLOW_INVOKE
    );
    // The name ignores case, the path does not.
    assert!(
        s.get_policy("arn:aws:iam::123456789012:policy/bedrock/allowclaudeonly")
            .is_ok()
    );
    let e = err(s.get_policy("arn:aws:iam::123456789012:policy/AllowClaudeOnly"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        e.message,
        "Policy arn:aws:iam::123456789012:policy/AllowClaudeOnly does not exist or is not attachable."
    );

    let e = err(s.create_policy(
        CreatePolicyRequest {
            policy_name: "allowclaudeonly".into(),
            policy_document: ALLOW_INVOKE.into(),
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(
        e.message,
        "A policy called allowclaudeonly already exists. Duplicate names are not allowed."
    );

    let names =
        |v: Vec<PolicyInfo<'_>>| v.iter().map(|i| i.policy.name.clone()).collect::<Vec<_>>();
    let local = names(
        s.list_policies(&ListPoliciesRequest {
            scope: PolicyScope::Local,
            ..Default::default()
        })
        .expect("list"),
    );
    assert_eq!(local, ["AllowClaudeOnly", "zeta"]);
    let aws = names(
        s.list_policies(&ListPoliciesRequest {
            scope: PolicyScope::Aws,
            ..Default::default()
        })
        .expect("list"),
    );
    assert_eq!(
        aws,
        [
            "AdministratorAccess",
            "AmazonBedrockFullAccess",
            "AmazonBedrockReadOnly",
            "PowerUserAccess",
            "ReadOnlyAccess"
        ]
    );
    let all = s
        .list_policies(&ListPoliciesRequest::default())
        .expect("list");
    assert_eq!(all.len(), 7);
    let bedrock = names(
        s.list_policies(&ListPoliciesRequest {
            path_prefix: Some("/bedrock/".into()),
            ..Default::default()
        })
        .expect("list"),
    );
    assert_eq!(bedrock, ["AllowClaudeOnly"]);
    assert!(
        s.list_policies(&ListPoliciesRequest {
            only_attached: true,
            ..Default::default()
        })
        .expect("list")
        .is_empty()
    );
    user(&mut s, "alice");
    s.attach_user_policy("alice", &arn).expect("attach");
    s.attach_user_policy("alice", ADMIN).expect("attach");
    let attached = names(
        s.list_policies(&ListPoliciesRequest {
            only_attached: true,
            ..Default::default()
        })
        .expect("list"),
    );
    assert_eq!(attached, ["AdministratorAccess", "AllowClaudeOnly"]);
    assert_eq!(
        kind(s.list_policies(&ListPoliciesRequest {
            path_prefix: Some("x".into()),
            ..Default::default()
        })),
        IamErrorKind::ValidationError
    );
    assert_eq!(PolicyScope::parse("AWS").expect("scope"), PolicyScope::Aws);
    assert_eq!(
        PolicyScope::parse("Local").expect("scope"),
        PolicyScope::Local
    );
    assert_eq!(PolicyScope::parse("All").expect("scope"), PolicyScope::All);
    assert_eq!(
        kind(PolicyScope::parse("aws")),
        IamErrorKind::ValidationError
    );
}

#[test]
fn policy_arn_errors() {
    let s = state();
    for bad in [
        "arn:aws:s3:::bucket/policy/x",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:iam::12345:policy/x",
        "arn:aws:iam::123456789012:policy/",
        "arn:aws:iam:us-east-1:123456789012:policy/x",
        "not-an-arn-at-all-but-long",
    ] {
        let e = err(s.get_policy(bad));
        assert_eq!(e.kind, IamErrorKind::InvalidInput, "{bad}");
        assert_eq!(e.message, format!("ARN {bad} is not valid."));
    }
    assert_eq!(kind(s.get_policy("arn:aws")), IamErrorKind::ValidationError);
    // Another account's policy is not visible.
    assert_eq!(
        kind(s.get_policy("arn:aws:iam::210987654321:policy/x")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.get_policy("arn:aws:iam::aws:policy/NotBuiltIn")),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn policy_document_and_size_checks() {
    let mut s = state();
    let create = |s: &mut IamState, name: &str, doc: &str| {
        s.create_policy(
            CreatePolicyRequest {
                policy_name: name.into(),
                policy_document: doc.into(),
                ..Default::default()
            },
            now(),
        )
        .map(|_| ())
    };
    let e = err(create(
        &mut s,
        "p",
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}"#,
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    let e = err(create(
        &mut s,
        "p",
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#,
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("principal"), "{}", e.message);
    let e = err(create(
        &mut s,
        "p",
        r#"{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}"#,
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("Statement[0].Effect"), "{}", e.message);
    assert!(e.message.contains("line 1"), "{}", e.message);

    create(&mut s, "max", &sized_document(6144)).expect("6144 characters");
    let e = err(create(&mut s, "over", &sized_document(6145)));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for PolicySize: 6144");
    let roomy = sized_document(6000).replace(',', &format!(",\n{}", " ".repeat(100)));
    assert!(roomy.len() > 6144);
    create(&mut s, "roomy", &roomy).expect("white space is not counted");

    let e = err(create(
        &mut s,
        "p",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\"日本\"}]}",
    ));
    assert_eq!(e.kind, IamErrorKind::ValidationError, "{}", e.message);
    assert_eq!(kind(create(&mut s, "p", "")), IamErrorKind::ValidationError);
    assert_eq!(
        kind(create(&mut s, &"p".repeat(129), ALLOW_INVOKE)),
        IamErrorKind::ValidationError
    );
    create(&mut s, &"p".repeat(128), ALLOW_INVOKE).expect("128 characters");
    assert_eq!(
        kind(s.create_policy(
            CreatePolicyRequest {
                policy_name: "d".into(),
                policy_document: ALLOW_INVOKE.into(),
                description: Some("x".repeat(1001)),
                ..Default::default()
            },
            now()
        )),
        IamErrorKind::ValidationError
    );
    assert!(s.get_policy(&policy_arn("p")).is_err());
}

#[test]
fn versions() {
    let mut s = state();
    let arn = policy(&mut s, "p");
    let later = now() + time::Duration::hours(1);
    let v2 = s
        .create_policy_version(&arn, DENY_IAM, false, later)
        .expect("v2");
    assert_eq!(v2.version_id, "v2");
    assert_eq!(v2.create_date, later);
    let p = s.get_policy(&arn).expect("get").policy;
    assert_eq!(p.default_version_id, "v1");
    assert_eq!(p.update_date, later);
    s.create_policy_version(&arn, DENY_IAM, true, now())
        .expect("v3");
    assert_eq!(
        s.get_policy(&arn).expect("get").policy.default_version_id,
        "v3"
    );
    s.create_policy_version(&arn, ALLOW_INVOKE, false, now())
        .expect("v4");
    s.create_policy_version(&arn, ALLOW_INVOKE, false, now())
        .expect("v5");
    let e = err(s.create_policy_version(&arn, ALLOW_INVOKE, false, now()));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(
        e.message,
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
    );
    let ids: Vec<&str> = s
        .list_policy_versions(&arn)
        .expect("list")
        .iter()
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(ids, ["v5", "v4", "v3", "v2", "v1"]);
    assert_eq!(
        s.get_policy_version(&arn, "v2")
            .expect("get")
            .document
            .text(),
        DENY_IAM
    );

    let e = err(s.delete_policy_version(&arn, "v3"));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert_eq!(e.message, "Cannot delete the default version of a policy.");
    s.delete_policy_version(&arn, "v2").expect("delete");
    let e = err(s.get_policy_version(&arn, "v2"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        kind(s.delete_policy_version(&arn, "v2")),
        IamErrorKind::NoSuchEntity
    );
    // Numbers are not reused.
    assert_eq!(
        s.create_policy_version(&arn, ALLOW_INVOKE, false, now())
            .expect("v6")
            .version_id,
        "v6"
    );

    s.set_default_policy_version(&arn, "v1", later)
        .expect("set default");
    assert_eq!(
        s.get_policy(&arn).expect("get").policy.default_version_id,
        "v1"
    );
    assert_eq!(
        kind(s.set_default_policy_version(&arn, "v2", now())),
        IamErrorKind::NoSuchEntity
    );
    for bad in ["1", "v0", "version1", "v1.a b", "v"] {
        assert_eq!(
            kind(s.get_policy_version(&arn, bad)),
            IamErrorKind::ValidationError,
            "{bad}"
        );
    }
    assert_eq!(
        kind(s.create_policy_version(&arn, "{", false, now())),
        IamErrorKind::MalformedPolicyDocument
    );
    assert_eq!(
        kind(s.create_policy_version(&policy_arn("nope"), ALLOW_INVOKE, false, now())),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.list_policy_versions(&policy_arn("nope"))),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn delete_policy_conflicts() {
    let mut s = state();
    let arn = policy(&mut s, "p");
    user(&mut s, "alice");
    role(&mut s, "r");
    s.attach_user_policy("alice", &arn).expect("attach");
    let e = err(s.delete_policy(&arn));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert_eq!(e.message, "Cannot delete a policy attached to entities.");
    s.detach_user_policy("alice", &arn).expect("detach");
    s.put_role_permissions_boundary("r", &arn)
        .expect("boundary");
    assert_eq!(kind(s.delete_policy(&arn)), IamErrorKind::DeleteConflict);
    s.delete_role_permissions_boundary("r")
        .expect("no boundary");

    s.create_policy_version(&arn, DENY_IAM, true, now())
        .expect("v2");
    let e = err(s.delete_policy(&arn));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert!(
        e.message
            .starts_with("This policy has more than one version."),
        "{}",
        e.message
    );
    s.delete_policy_version(&arn, "v1").expect("delete v1");
    s.delete_policy(&arn).expect("delete");
    assert_eq!(kind(s.get_policy(&arn)), IamErrorKind::NoSuchEntity);
    assert_eq!(kind(s.delete_policy(&arn)), IamErrorKind::NoSuchEntity);
}

#[test]
fn aws_managed_policies_are_attachable_not_modifiable() {
    let mut s = state();
    let admin = s.get_policy(ADMIN).expect("built in");
    assert!(admin.policy.aws_managed);
    assert_eq!(admin.policy.path, "/");
    assert_eq!(
        s.get_policy_version(ADMIN, "v1")
            .expect("version")
            .document
            .policy()
            .statements
            .len(),
        1
    );
    assert_eq!(
        s.list_policy_versions("arn:aws:iam::aws:policy/PowerUserAccess")
            .expect("versions")
            .len(),
        1
    );
    for name in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "PowerUserAccess",
        "AmazonBedrockFullAccess",
        "AmazonBedrockReadOnly",
    ] {
        let arn = format!("arn:aws:iam::aws:policy/{name}");
        assert!(s.get_policy(&arn).is_ok(), "{name}");
        assert_eq!(
            kind(s.create_policy_version(&arn, ALLOW_INVOKE, true, now())),
            IamErrorKind::UnmodifiableEntity
        );
        assert_eq!(
            kind(s.delete_policy(&arn)),
            IamErrorKind::UnmodifiableEntity
        );
        assert_eq!(
            kind(s.set_default_policy_version(&arn, "v1", now())),
            IamErrorKind::UnmodifiableEntity
        );
        assert_eq!(
            kind(s.delete_policy_version(&arn, "v1")),
            IamErrorKind::UnmodifiableEntity
        );
    }
    role(&mut s, "r");
    s.attach_role_policy("r", "arn:aws:iam::aws:policy/AmazonBedrockReadOnly")
        .expect("attach");
    assert_eq!(
        s.get_policy("arn:aws:iam::aws:policy/AmazonBedrockReadOnly")
            .expect("get")
            .attachment_count,
        1
    );
    assert!(
        !s.has_changes()
            || s.take_changes()
                .expect("changes")
                .iter()
                .all(|c| c.collection != "iam.policies")
    );
}

#[test]
fn policy_quota() {
    let mut s = state();
    s.set_quotas(Quotas {
        policies: 1,
        ..Quotas::default()
    });
    policy(&mut s, "a");
    let e = err(s.create_policy(
        CreatePolicyRequest {
            policy_name: "b".into(),
            policy_document: ALLOW_INVOKE.into(),
            ..Default::default()
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
}
