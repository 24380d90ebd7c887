use super::*;

fn create(s: &mut IamState, req: CreateRoleRequest) -> Result<(), IamError> {
    s.create_role(req, now()).map(|_| ())
}

fn req(name: &str) -> CreateRoleRequest {
    CreateRoleRequest {
        role_name: name.into(),
        assume_role_policy_document: TRUST_ACCOUNT.into(),
        ..Default::default()
    }
}

#[test]
fn create_get_list_delete_roles() {
    let mut s = state();
    let r = s
        .create_role(
            CreateRoleRequest {
                path: Some("/service/".into()),
                description: Some("Invokes models".into()),
                max_session_duration: Some(7200),
                tags: vec![Tag::new("project", "sekisho")],
                ..req("BedrockCaller")
            },
            now(),
        )
        .expect("create");
    assert_eq!(
        r.arn,
        "arn:aws:iam::123456789012:role/service/BedrockCaller"
    );
    assert!(r.id.starts_with("AROA") && r.id.len() == 21, "{}", r.id);
    assert_eq!(r.max_session_duration, 7200);
    assert_eq!(r.description.as_deref(), Some("Invokes models"));
    assert_eq!(r.assume_role_policy.text(), TRUST_ACCOUNT);
    assert_eq!(
        r.assume_role_policy.policy().name.as_deref(),
        Some("trust policy of role BedrockCaller")
    );
    role(&mut s, "other");
    assert_eq!(
        s.get_role("other").expect("get").max_session_duration,
        3600,
        "default"
    );
    assert_eq!(
        s.get_role("bedrockcaller").expect("get").name,
        "BedrockCaller"
    );
    let names: Vec<&str> = s
        .list_roles(None)
        .expect("list")
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["BedrockCaller", "other"]);
    assert_eq!(s.list_roles(Some("/service/")).expect("list").len(), 1);
    assert!(
        s.find_role_by_arn("arn:aws:iam::123456789012:role/service/BedrockCaller")
            .is_some()
    );
    assert!(
        s.find_role_by_arn("arn:aws:iam::123456789012:role/BedrockCaller")
            .is_none()
    );

    let e = err(create(&mut s, req("OTHER")));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(e.message, "Role with name OTHER already exists.");
    let e = err(s.get_role("nope"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(e.message, "The role with name nope cannot be found.");
    s.delete_role("other").expect("delete");
    assert_eq!(kind(s.delete_role("other")), IamErrorKind::NoSuchEntity);
}

#[test]
fn role_input_validation() {
    let mut s = state();
    for (d, ok) in [
        (3599, false),
        (3600, true),
        (43200, true),
        (43201, false),
        (-1, false),
    ] {
        let r = create(
            &mut s,
            CreateRoleRequest {
                max_session_duration: Some(d),
                ..req(&format!("r{}", d.unsigned_abs()))
            },
        );
        assert_eq!(r.is_ok(), ok, "{d}: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.kind, IamErrorKind::ValidationError);
            assert!(e.message.contains("maxSessionDuration"), "{}", e.message);
        }
    }
    assert_eq!(
        kind(create(&mut s, req(&"r".repeat(65)))),
        IamErrorKind::ValidationError
    );
    create(&mut s, req(&"r".repeat(64))).expect("64 characters");
    assert_eq!(
        kind(create(
            &mut s,
            CreateRoleRequest {
                description: Some("x".repeat(1001)),
                ..req("d1")
            }
        )),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(create(
            &mut s,
            CreateRoleRequest {
                description: Some("日本語".into()),
                ..req("d2")
            }
        )),
        IamErrorKind::ValidationError
    );
    create(
        &mut s,
        CreateRoleRequest {
            description: Some("Café déjà vu\n".into()),
            ..req("d3")
        },
    )
    .expect("Latin-1 description");
}

#[test]
fn trust_policy_checks() {
    let mut s = state();
    let e = err(create(
        &mut s,
        CreateRoleRequest {
            assume_role_policy_document:
                "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}".into(),
            ..req("r")
        },
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("line 3"), "{}", e.message);
    assert!(e.message.contains("column"), "{}", e.message);

    let e = err(create(
        &mut s,
        CreateRoleRequest {
            assume_role_policy_document: ALLOW_INVOKE.into(),
            ..req("r")
        },
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("Principal"), "{}", e.message);

    let with_resource = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    let e = err(create(
        &mut s,
        CreateRoleRequest {
            assume_role_policy_document: with_resource.into(),
            ..req("r")
        },
    ));
    assert_eq!(e.kind, IamErrorKind::MalformedPolicyDocument);
    assert!(e.message.contains("Resource"), "{}", e.message);

    // The trust policy quota: 2048 characters, white space not counted.
    let principals: Vec<String> = (0..60)
        .map(|i| format!("\"arn:aws:iam::{:012}:root\"", i))
        .collect();
    let big = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":[{}]}},"Action":"sts:AssumeRole"}}]}}"#,
        principals.join(",")
    );
    assert!(policy_size(&big) > 2048);
    let e = err(create(
        &mut s,
        CreateRoleRequest {
            assume_role_policy_document: big,
            ..req("r")
        },
    ));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for ACLSizePerRole: 2048");

    let padded = TRUST_ACCOUNT.replace(' ', &" ".repeat(200));
    assert!(padded.len() > 2048 && policy_size(&padded) < 2048);
    create(
        &mut s,
        CreateRoleRequest {
            assume_role_policy_document: padded,
            ..req("r")
        },
    )
    .expect("white space is not counted");

    assert_eq!(
        kind(create(
            &mut s,
            CreateRoleRequest {
                assume_role_policy_document: String::new(),
                ..req("r2")
            }
        )),
        IamErrorKind::ValidationError
    );
    assert!(s.get_role("r2").is_err());
}

#[test]
fn update_role_and_trust_policy() {
    let mut s = state();
    role(&mut s, "r");
    s.update_role("r", Some("new description".into()), Some(43200))
        .expect("update");
    let r = s.get_role("r").expect("get");
    assert_eq!(r.description.as_deref(), Some("new description"));
    assert_eq!(r.max_session_duration, 43200);
    s.update_role("r", None, Some(3600)).expect("duration only");
    assert_eq!(
        s.get_role("r").expect("get").description.as_deref(),
        Some("new description")
    );
    assert_eq!(
        kind(s.update_role("r", None, Some(100))),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.update_role("nope", None, Some(3600))),
        IamErrorKind::NoSuchEntity
    );

    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"bedrock.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#;
    s.update_assume_role_policy("r", trust)
        .expect("update trust");
    assert_eq!(
        s.get_role("r").expect("get").assume_role_policy.text(),
        trust
    );
    assert_eq!(
        kind(s.update_assume_role_policy("r", "{")),
        IamErrorKind::MalformedPolicyDocument
    );
    assert_eq!(
        kind(s.update_assume_role_policy("nope", trust)),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        s.get_role("r").expect("get").assume_role_policy.text(),
        trust
    );
}

#[test]
fn role_tags_and_boundary() {
    let mut s = state();
    role(&mut s, "r");
    s.tag_role("r", vec![Tag::new("Env", "prod"), Tag::new("team", "ml")])
        .expect("tag");
    s.tag_role("r", vec![Tag::new("env", "dev")])
        .expect("retag");
    assert_eq!(
        s.list_role_tags("r").expect("list"),
        &[Tag::new("env", "dev"), Tag::new("team", "ml")]
    );
    s.untag_role("r", &["ENV".into()]).expect("untag");
    assert_eq!(
        s.list_role_tags("r").expect("list"),
        &[Tag::new("team", "ml")]
    );
    let fill: Vec<Tag> = (0..49).map(|i| Tag::new(format!("k{i}"), "v")).collect();
    s.tag_role("r", fill).expect("fill");
    let e = err(s.tag_role("r", vec![Tag::new("x", "y")]));
    assert_eq!(e.message, "Cannot exceed quota for TagsPerRole: 50");
    assert_eq!(kind(s.tag_role("nope", vec![])), IamErrorKind::NoSuchEntity);
    assert_eq!(kind(s.untag_role("nope", &[])), IamErrorKind::NoSuchEntity);
    assert_eq!(kind(s.list_role_tags("nope")), IamErrorKind::NoSuchEntity);

    s.put_role_permissions_boundary("r", ADMIN)
        .expect("boundary");
    assert_eq!(
        s.get_role("r")
            .expect("get")
            .permissions_boundary
            .as_deref(),
        Some(ADMIN)
    );
    assert_eq!(
        kind(s.put_role_permissions_boundary("r", &policy_arn("Nope"))),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.put_role_permissions_boundary("nope", ADMIN)),
        IamErrorKind::NoSuchEntity
    );
    s.delete_role_permissions_boundary("r").expect("delete");
    assert!(s.get_role("r").expect("get").permissions_boundary.is_none());
    assert_eq!(
        kind(s.delete_role_permissions_boundary("nope")),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn delete_role_conflicts() {
    let mut s = state();
    role(&mut s, "r");
    s.put_role_permissions_boundary("r", ADMIN)
        .expect("boundary");
    s.put_role_policy("r", "p", ALLOW_INVOKE).expect("inline");
    s.attach_role_policy("r", ADMIN).expect("attach");
    let e = err(s.delete_role("r"));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete policies first."
    );
    s.delete_role_policy("r", "p").expect("delete inline");
    let e = err(s.delete_role("r"));
    assert_eq!(
        e.message,
        "Cannot delete entity, must detach all policies first."
    );
    s.detach_role_policy("r", ADMIN).expect("detach");
    // A boundary does not block deletion; its usage is released.
    s.delete_role("r").expect("delete");
    let admin = s.get_policy(ADMIN).expect("policy");
    assert_eq!(admin.permissions_boundary_usage_count, 0);
    assert_eq!(admin.attachment_count, 0);
}

#[test]
fn role_quota() {
    let mut s = state();
    s.set_quotas(Quotas {
        roles: 1,
        ..Quotas::default()
    });
    role(&mut s, "a");
    let e = err(create(&mut s, req("b")));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for RolesPerAccount: 1");
}
