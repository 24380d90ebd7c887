use super::*;

#[test]
fn account_ids() {
    assert!(IamState::new("123456789012").is_ok());
    for bad in ["", "12345678901", "1234567890123", "12345678901a"] {
        assert_eq!(
            kind(IamState::new(bad)),
            IamErrorKind::InvalidInput,
            "{bad}"
        );
    }
}

#[test]
fn policy_size_ignores_white_space_outside_strings() {
    assert_eq!(policy_size("{ \"a\" : \"b c\" }"), 11);
    assert_eq!(policy_size("{\n\t\"a\":\r\n\"b\"\n}"), 9);
    assert_eq!(policy_size(r#"{"a":"q\"  x"}"#), 14);
    assert_eq!(policy_size(""), 0);
}

#[test]
fn error_kinds_have_wire_codes_and_statuses() {
    let all = [
        (IamErrorKind::NoSuchEntity, "NoSuchEntity", 404),
        (
            IamErrorKind::EntityAlreadyExists,
            "EntityAlreadyExists",
            409,
        ),
        (IamErrorKind::LimitExceeded, "LimitExceeded", 409),
        (IamErrorKind::DeleteConflict, "DeleteConflict", 409),
        (IamErrorKind::InvalidInput, "InvalidInput", 400),
        (
            IamErrorKind::MalformedPolicyDocument,
            "MalformedPolicyDocument",
            400,
        ),
        (IamErrorKind::ValidationError, "ValidationError", 400),
        (IamErrorKind::UnmodifiableEntity, "UnmodifiableEntity", 400),
        (
            IamErrorKind::InvalidAuthenticationCode,
            "InvalidAuthenticationCode",
            403,
        ),
        (IamErrorKind::ServiceFailure, "ServiceFailure", 500),
    ];
    for (kind, code, status) in all {
        assert_eq!(kind.code(), code);
        assert_eq!(kind.to_string(), code);
        assert_eq!(kind.http_status(), status);
    }
    assert_eq!(IamErrorKind::ServiceFailure.fault(), "Receiver");
    assert_eq!(IamErrorKind::NoSuchEntity.fault(), "Sender");
    let e = IamError::new(IamErrorKind::NoSuchEntity, "gone");
    assert_eq!(e.to_string(), "NoSuchEntity: gone");
}

#[test]
fn validation_messages_are_aws_shaped_and_bounded() {
    let mut s = state();
    let long = format!("{}\u{7}", "x".repeat(400));
    let e = err(s.create_group(&long, None, now()));
    assert_eq!(e.kind, IamErrorKind::ValidationError);
    assert!(
        e.message
            .starts_with("1 validation error detected: Value 'xxx")
    );
    assert!(e.message.contains("...' at 'groupName'"), "{}", e.message);
    assert!(!e.message.contains('\u{7}'));
    assert!(e.message.len() < 400, "{}", e.message.len());
}

#[test]
fn pagination() {
    let items: Vec<String> = (0..250).map(|i| format!("k{i:03}")).collect();
    let page = paginate(items.clone(), |s| s.clone(), None, None).expect("page");
    assert_eq!(page.items.len(), 100);
    assert!(page.is_truncated);
    assert_eq!(page.marker.as_deref(), Some("k100"));
    let page2 = paginate(
        items.clone(),
        |s| s.clone(),
        page.marker.as_deref(),
        Some(200),
    )
    .expect("page");
    assert_eq!(page2.items.len(), 150);
    assert_eq!(page2.items[0], "k100");
    assert!(!page2.is_truncated);
    assert!(page2.marker.is_none());
    let exact = paginate(items.clone(), |s| s.clone(), None, Some(250)).expect("page");
    assert!(!exact.is_truncated);
    let past = paginate(items.clone(), |s| s.clone(), Some("zzz"), None).expect("page");
    assert!(past.items.is_empty() && !past.is_truncated);
    for bad in [0, -1, 1001] {
        assert_eq!(
            kind(paginate(items.clone(), |s| s.clone(), None, Some(bad))),
            IamErrorKind::ValidationError
        );
    }
    assert_eq!(
        kind(paginate(items, |s| s.clone(), Some(""), None)),
        IamErrorKind::ValidationError
    );
}
