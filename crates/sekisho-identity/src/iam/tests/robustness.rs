//! Arbitrary input never panics: every operation answers Ok or an IamError.

use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "[a-zA-Z0-9+=,.@_/:-]{0,70}",
        "/[ -~]{0,20}/?",
        Just(String::new()),
        Just("arn:aws:iam::123456789012:policy/x".to_string()),
        Just("arn:aws:iam::aws:policy/AdministratorAccess".to_string()),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        Just(ALLOW_INVOKE.to_string()),
        Just(TRUST_ACCOUNT.to_string()),
        "\\{\"Statement\":\\[\\{\"Effect\":\"(Allow|Deny|x)\",\"(Not)?Action\":\"[a-z:*]{0,12}\",\"(Not)?Resource\":\"[a-z:*/]{0,12}\"\\}\\]\\}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn operations_never_panic(
        name in text(),
        other in text(),
        doc in document(),
        key in ".{0,40}",
        value in ".{0,40}",
        duration in any::<i64>(),
    ) {
        let mut s = state();
        user(&mut s, "alice");
        role(&mut s, "r");
        s.create_group("g", None, now()).expect("group");
        let _ = s.create_user(CreateUserRequest { user_name: name.clone(), path: Some(other.clone()), permissions_boundary: Some(other.clone()), tags: vec![Tag::new(key.clone(), value.clone())] }, now());
        let _ = s.create_role(CreateRoleRequest { role_name: name.clone(), assume_role_policy_document: doc.clone(), max_session_duration: Some(duration), description: Some(value.clone()), ..Default::default() }, now());
        let _ = s.create_policy(CreatePolicyRequest { policy_name: name.clone(), path: Some(other.clone()), policy_document: doc.clone(), ..Default::default() }, now());
        let _ = s.create_group(&name, Some(&other), now());
        let _ = s.put_user_policy("alice", &name, &doc);
        let _ = s.put_role_policy("r", &name, &doc);
        let _ = s.put_group_policy("g", &name, &doc);
        let _ = s.update_assume_role_policy("r", &doc);
        let _ = s.attach_user_policy("alice", &other);
        let _ = s.attach_role_policy(&name, &other);
        let _ = s.put_user_permissions_boundary("alice", &other);
        let _ = s.tag_user("alice", vec![Tag::new(key.clone(), value.clone())]);
        let _ = s.untag_role("r", std::slice::from_ref(&key));
        let _ = s.get_policy(&other);
        let _ = s.get_policy_version(&other, &name);
        let _ = s.create_policy_version(&other, &doc, true, now());
        let _ = s.delete_policy(&other);
        let _ = s.create_access_key("alice", name.clone(), secret("s"), now());
        let _ = s.update_access_key("alice", &name, AccessKeyStatus::Inactive);
        let _ = s.create_virtual_mfa_device(CreateVirtualMfaDeviceRequest { virtual_mfa_device_name: name.clone(), path: Some(other.clone()), tags: vec![] }, secret("x"), now());
        let _ = s.enable_mfa_device("alice", &other, &key, &value, |_, _, _| true, now());
        let _ = s.delete_virtual_mfa_device(&other);
        let _ = s.list_users(Some(&other));
        let _ = s.list_policies(&ListPoliciesRequest { path_prefix: Some(other.clone()), ..Default::default() });
        let _ = paginate(vec![1, 2, 3], |i| i.to_string(), Some(&key), Some(duration));
        let _ = s.delete_user(&name);
        let _ = s.delete_role(&name);
        // Whatever happened, the state still saves and loads.
        let docs = s.all_documents().expect("documents");
        let store = sekisho_store::SqliteStore::open_in_memory().expect("store");
        let writes: Vec<sekisho_store::Write> = docs.into_iter().map(|c| sekisho_store::Write::set(c.collection, c.key, c.value)).collect();
        sekisho_store::Store::write(&store, &writes).expect("write");
        let loaded = IamState::load(ACCOUNT, |c, p| sekisho_store::Store::list(&store, c, p));
        prop_assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
    }
}
