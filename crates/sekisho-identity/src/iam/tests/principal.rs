use std::sync::Arc;

use super::*;

fn names(p: &PrincipalPolicies) -> Vec<String> {
    p.identity.iter().map(|p| p.label().to_string()).collect()
}

#[test]
fn user_policies_include_groups_and_boundary() {
    let mut s = state();
    let managed = policy(&mut s, "Managed");
    let boundary = policy(&mut s, "Boundary");
    s.create_user(
        CreateUserRequest {
            user_name: "alice".into(),
            permissions_boundary: Some(boundary.clone()),
            tags: vec![Tag::new("team", "ml")],
            ..Default::default()
        },
        now(),
    )
    .expect("user");
    s.put_user_policy("alice", "own", ALLOW_INVOKE)
        .expect("inline");
    s.attach_user_policy("alice", &managed).expect("attach");
    s.create_group("devs", None, now()).expect("group");
    s.put_group_policy("devs", "group-inline", DENY_IAM)
        .expect("inline");
    s.attach_group_policy("devs", ADMIN).expect("attach");
    s.add_user_to_group("devs", "alice").expect("join");

    let p = s
        .principal_policies(PrincipalName::User("alice"))
        .expect("policies");
    assert_eq!(p.arn, "arn:aws:iam::123456789012:user/alice");
    assert!(p.id.starts_with("AIDA"));
    assert_eq!(
        names(&p),
        [
            "inline policy own of user alice".to_string(),
            managed.clone(),
            "inline policy group-inline of group devs".to_string(),
            ADMIN.to_string(),
        ]
    );
    assert_eq!(
        p.boundary.as_ref().map(|b| b.label().to_string()),
        Some(boundary.clone())
    );
    assert_eq!(p.tags, [("team".to_string(), "ml".to_string())]);

    // Compiled once: the same Arc every time, no parsing per request.
    let again = s
        .principal_policies(PrincipalName::User("ALICE"))
        .expect("policies");
    for (a, b) in p.identity.iter().zip(&again.identity) {
        assert!(Arc::ptr_eq(a, b));
    }
    // A clone of the state shares them too.
    let copy = s.clone();
    let from_copy = copy
        .principal_policies(PrincipalName::User("alice"))
        .expect("policies");
    assert!(Arc::ptr_eq(&p.identity[0], &from_copy.identity[0]));

    // A new default version is what the authorizer sees next.
    s.create_policy_version(&managed, DENY_IAM, true, now())
        .expect("v2");
    let p2 = s
        .principal_policies(PrincipalName::User("alice"))
        .expect("policies");
    assert!(!Arc::ptr_eq(&p.identity[1], &p2.identity[1]));
    assert_eq!(
        p2.identity[1].statements[0].effect,
        sekisho_policy::Effect::Deny
    );
}

#[test]
fn role_policies() {
    let mut s = state();
    role(&mut s, "r");
    s.put_role_policy("r", "inline", ALLOW_INVOKE)
        .expect("inline");
    s.attach_role_policy("r", "arn:aws:iam::aws:policy/AmazonBedrockReadOnly")
        .expect("attach");
    s.tag_role("r", vec![Tag::new("env", "prod")]).expect("tag");
    let p = s
        .principal_policies(PrincipalName::Role("R"))
        .expect("policies");
    assert_eq!(p.arn, "arn:aws:iam::123456789012:role/r");
    assert!(p.id.starts_with("AROA"));
    assert_eq!(p.identity.len(), 2);
    assert!(p.boundary.is_none());
    assert_eq!(p.tags, [("env".to_string(), "prod".to_string())]);

    assert_eq!(
        kind(s.principal_policies(PrincipalName::Role("nope"))),
        IamErrorKind::NoSuchEntity
    );
    assert_eq!(
        kind(s.principal_policies(PrincipalName::User("nope"))),
        IamErrorKind::NoSuchEntity
    );
}

#[test]
fn policies_evaluate() {
    use sekisho_policy::{Context, Outcome, PolicySet, Principal, Request, evaluate};
    let mut s = state();
    user(&mut s, "alice");
    s.put_user_policy("alice", "invoke", ALLOW_INVOKE)
        .expect("inline");
    s.put_user_permissions_boundary("alice", ADMIN)
        .expect("boundary");
    let p = s
        .principal_policies(PrincipalName::User("alice"))
        .expect("policies");
    let principal = Principal::parse(&p.arn).expect("principal");
    let context = Context::new();
    let set = PolicySet {
        identity: p.identity.iter().map(|a| &**a).collect(),
        boundaries: p.boundary.iter().map(|a| &**a).collect(),
        ..PolicySet::default()
    };
    let decide = |action: &str| {
        evaluate(
            &Request {
                principal: &principal,
                action,
                resource: "*",
                resource_account: None,
                context: &context,
            },
            &set,
        )
        .outcome
    };
    assert_eq!(decide("bedrock:InvokeModel"), Outcome::Allowed);
    assert_eq!(decide("iam:CreateUser"), Outcome::ImplicitlyDenied);
}
