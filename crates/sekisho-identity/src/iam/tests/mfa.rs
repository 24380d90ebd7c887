use super::*;

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice-phone";

fn device(s: &mut IamState, name: &str) -> String {
    s.create_virtual_mfa_device(
        CreateVirtualMfaDeviceRequest {
            virtual_mfa_device_name: name.into(),
            ..Default::default()
        },
        secret("JBSWY3DPEHPK3PXP"),
        now(),
    )
    .expect("create device")
    .serial_number
    .clone()
}

#[test]
fn create_and_list_virtual_devices() {
    let mut s = state();
    assert_eq!(device(&mut s, "alice-phone"), SERIAL);
    let d = s
        .create_virtual_mfa_device(
            CreateVirtualMfaDeviceRequest {
                virtual_mfa_device_name: "token".into(),
                path: Some("/hw/".into()),
                tags: vec![Tag::new("owner", "ops")],
            },
            secret("SEED"),
            now(),
        )
        .expect("create");
    assert_eq!(d.serial_number, "arn:aws:iam::123456789012:mfa/hw/token");
    assert_eq!(d.tags, vec![Tag::new("owner", "ops")]);
    assert!(d.user.is_none() && d.enable_date.is_none());

    let e = err(s.create_virtual_mfa_device(
        CreateVirtualMfaDeviceRequest {
            virtual_mfa_device_name: "alice-phone".into(),
            ..Default::default()
        },
        secret("x"),
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(
        e.message,
        "MFADevice entity at the same path and name already exists."
    );
    assert_eq!(
        kind(s.create_virtual_mfa_device(
            CreateVirtualMfaDeviceRequest {
                virtual_mfa_device_name: "bad name".into(),
                ..Default::default()
            },
            secret("x"),
            now(),
        )),
        IamErrorKind::ValidationError
    );
    assert_eq!(s.list_virtual_mfa_devices(AssignmentStatus::Any).len(), 2);
    assert_eq!(
        s.list_virtual_mfa_devices(AssignmentStatus::Unassigned)
            .len(),
        2
    );
    assert!(
        s.list_virtual_mfa_devices(AssignmentStatus::Assigned)
            .is_empty()
    );
    assert_eq!(
        AssignmentStatus::parse("Assigned").expect("parse"),
        AssignmentStatus::Assigned
    );
    assert_eq!(
        kind(AssignmentStatus::parse("assigned")),
        IamErrorKind::ValidationError
    );
}

#[test]
fn enable_deactivate_delete() {
    let mut s = state();
    user(&mut s, "alice");
    user(&mut s, "bob");
    device(&mut s, "alice-phone");

    // The verifier sees the sealed seed and both codes.
    let mut seen = None;
    let e = err(s.enable_mfa_device(
        "alice",
        SERIAL,
        "123456",
        "234567",
        |seed, c1, c2| {
            seen = Some((seed.clone(), c1.to_string(), c2.to_string()));
            false
        },
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::InvalidAuthenticationCode);
    assert_eq!(e.message, "Authentication code for device is not valid.");
    assert_eq!(
        seen,
        Some((secret("JBSWY3DPEHPK3PXP"), "123456".into(), "234567".into()))
    );
    assert!(s.find_mfa_device(SERIAL).expect("device").user.is_none());

    for (c1, c2) in [
        ("12345", "123456"),
        ("123456", "1234567"),
        ("12345a", "123456"),
    ] {
        assert_eq!(
            kind(s.enable_mfa_device("alice", SERIAL, c1, c2, |_, _, _| true, now())),
            IamErrorKind::ValidationError
        );
    }
    assert_eq!(
        kind(s.enable_mfa_device("alice", "short", "123456", "123456", |_, _, _| true, now())),
        IamErrorKind::ValidationError
    );
    let e = err(s.enable_mfa_device(
        "alice",
        "arn:aws:iam::123456789012:mfa/nope",
        "123456",
        "234567",
        |_, _, _| true,
        now(),
    ));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(
        e.message,
        "VirtualMFADevice with serial number arn:aws:iam::123456789012:mfa/nope doesn't exist."
    );
    assert_eq!(
        kind(s.enable_mfa_device("nobody", SERIAL, "123456", "234567", |_, _, _| true, now())),
        IamErrorKind::NoSuchEntity
    );

    s.enable_mfa_device("alice", SERIAL, "123456", "234567", |_, _, _| true, now())
        .expect("enable");
    let d = s.find_mfa_device(SERIAL).expect("device");
    assert_eq!(d.user.as_deref(), Some("alice"));
    assert_eq!(d.enable_date, Some(now()));
    let listed: Vec<&str> = s
        .list_mfa_devices("ALICE")
        .expect("list")
        .iter()
        .map(|d| d.serial_number.as_str())
        .collect();
    assert_eq!(listed, [SERIAL]);
    assert!(s.list_mfa_devices("bob").expect("list").is_empty());
    assert_eq!(
        kind(s.list_mfa_devices("nobody")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        s.list_virtual_mfa_devices(AssignmentStatus::Assigned).len(),
        1
    );

    let e = err(s.enable_mfa_device("bob", SERIAL, "123456", "234567", |_, _, _| true, now()));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(e.message, "MFA Device is already in use.");

    let e = err(s.delete_virtual_mfa_device(SERIAL));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);

    assert_eq!(
        kind(s.deactivate_mfa_device("bob", SERIAL)),
        IamErrorKind::NoSuchEntity
    );
    s.deactivate_mfa_device("alice", SERIAL)
        .expect("deactivate");
    assert!(s.find_mfa_device(SERIAL).expect("device").user.is_none());
    assert_eq!(
        kind(s.deactivate_mfa_device("alice", SERIAL)),
        IamErrorKind::NoSuchEntity
    );
    s.delete_virtual_mfa_device(SERIAL).expect("delete");
    assert!(s.find_mfa_device(SERIAL).is_none());
    assert_eq!(
        kind(s.delete_virtual_mfa_device(SERIAL)),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn mfa_devices_per_user_quota() {
    let mut s = state();
    s.set_quotas(Quotas {
        mfa_devices_per_user: 1,
        ..Quotas::default()
    });
    user(&mut s, "alice");
    let a = device(&mut s, "a");
    let b = device(&mut s, "b");
    s.enable_mfa_device("alice", &a, "123456", "234567", |_, _, _| true, now())
        .expect("enable");
    let e = err(s.enable_mfa_device("alice", &b, "123456", "234567", |_, _, _| true, now()));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for MFADevicesPerUser: 1");
}
