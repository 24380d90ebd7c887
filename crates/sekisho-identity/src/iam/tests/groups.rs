use super::*;

#[test]
fn create_get_list_delete_groups() {
    let mut s = state();
    let g = s
        .create_group("Devs", Some("/eng/"), now())
        .expect("create");
    assert_eq!(g.arn, "arn:aws:iam::123456789012:group/eng/Devs");
    assert!(g.id.starts_with("AGPA") && g.id.len() == 21, "{}", g.id);
    s.create_group("ops", None, now()).expect("create");
    let e = err(s.create_group("DEVS", None, now()));
    assert_eq!(e.kind, IamErrorKind::EntityAlreadyExists);
    assert_eq!(e.message, "Group with name DEVS already exists.");

    let (group, members) = s.get_group("devs").expect("get");
    assert_eq!(group.name, "Devs");
    assert!(members.is_empty());
    let names: Vec<&str> = s
        .list_groups(None)
        .expect("list")
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["Devs", "ops"]);
    assert_eq!(s.list_groups(Some("/eng/")).expect("list").len(), 1);

    let e = err(s.get_group("nope"));
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity);
    assert_eq!(e.message, "The group with name nope cannot be found.");
    assert_eq!(kind(s.delete_group("nope")), IamErrorKind::NoSuchEntity);
    s.delete_group("ops").expect("delete");
    assert_eq!(kind(s.get_group("ops")), IamErrorKind::NoSuchEntity);
}

#[test]
fn group_name_validation() {
    let mut s = state();
    s.create_group(&"g".repeat(128), None, now())
        .expect("128 characters");
    let e = err(s.create_group(&"g".repeat(129), None, now()));
    assert_eq!(e.kind, IamErrorKind::ValidationError);
    assert!(e.message.contains("groupName"), "{}", e.message);
    assert_eq!(
        kind(s.create_group("bad name", None, now())),
        IamErrorKind::ValidationError
    );
    assert_eq!(
        kind(s.create_group("g", Some("bad"), now())),
        IamErrorKind::ValidationError
    );
}

#[test]
fn membership() {
    let mut s = state();
    user(&mut s, "alice");
    user(&mut s, "bob");
    s.create_group("devs", None, now()).expect("group");
    s.create_group("ops", None, now()).expect("group");
    s.add_user_to_group("devs", "alice").expect("join");
    s.add_user_to_group("DEVS", "ALICE")
        .expect("join again: no-op");
    s.add_user_to_group("devs", "bob").expect("join");
    s.add_user_to_group("ops", "alice").expect("join");

    let (_, members) = s.get_group("devs").expect("get");
    let names: Vec<&str> = members.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let groups: Vec<&str> = s
        .list_groups_for_user("alice")
        .expect("groups")
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(groups, ["devs", "ops"]);
    assert_eq!(s.get_user("alice").expect("user").groups, ["devs", "ops"]);

    assert_eq!(
        err(s.add_user_to_group("nope", "alice")).message,
        "The group with name nope cannot be found."
    );
    assert_eq!(
        err(s.add_user_to_group("devs", "nobody")).message,
        "The user with name nobody cannot be found."
    );
    assert_eq!(
        kind(s.list_groups_for_user("nobody")),
        IamErrorKind::NoSuchEntity
    );

    let e = err(s.delete_group("devs"));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert_eq!(
        e.message,
        "Cannot delete entity, must remove users from group first."
    );
    s.remove_user_from_group("devs", "alice").expect("leave");
    assert_eq!(
        kind(s.remove_user_from_group("devs", "alice")),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.remove_user_from_group("nope", "alice")),
        IamErrorKind::NoSuchEntity
    );
    s.remove_user_from_group("devs", "bob").expect("leave");
    assert!(s.get_group("devs").expect("get").1.is_empty());
    assert_eq!(
        s.list_groups_for_user("alice")
            .expect("groups")
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["ops"]
    );
}

#[test]
fn groups_per_user_quota() {
    let mut s = state();
    user(&mut s, "alice");
    for i in 0..11 {
        s.create_group(&format!("g{i}"), None, now())
            .expect("group");
    }
    for i in 0..10 {
        s.add_user_to_group(&format!("g{i}"), "alice")
            .expect("join");
    }
    let e = err(s.add_user_to_group("g10", "alice"));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for GroupsPerUser: 10");
    assert!(s.get_group("g10").expect("get").1.is_empty());
}

#[test]
fn delete_group_conflicts_on_policies() {
    let mut s = state();
    s.create_group("devs", None, now()).expect("group");
    s.put_group_policy("devs", "p", ALLOW_INVOKE)
        .expect("inline");
    s.attach_group_policy("devs", ADMIN).expect("attach");
    let e = err(s.delete_group("devs"));
    assert_eq!(e.kind, IamErrorKind::DeleteConflict);
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete policies first."
    );
    s.delete_group_policy("devs", "p").expect("delete inline");
    let e = err(s.delete_group("devs"));
    assert_eq!(
        e.message,
        "Cannot delete entity, must detach all policies first."
    );
    s.detach_group_policy("devs", ADMIN).expect("detach");
    s.delete_group("devs").expect("delete");
}

#[test]
fn group_quota() {
    let mut s = state();
    s.set_quotas(Quotas {
        groups: 1,
        ..Quotas::default()
    });
    s.create_group("a", None, now()).expect("group");
    let e = err(s.create_group("b", None, now()));
    assert_eq!(e.kind, IamErrorKind::LimitExceeded);
    assert_eq!(e.message, "Cannot exceed quota for GroupsPerAccount: 1");
}
