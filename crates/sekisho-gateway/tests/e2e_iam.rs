//! End to end: the IAM service over the wire (Query protocol, XML answers),
//! called by the generated admin, and the authorization of IAM itself.
//!
//! Every change is checked by reading it back and, where it grants or takes
//! away a permission, by a call made with the affected credentials.

mod common;

use common::*;
use serde_json::json;

const NS_IAM: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn converse_allowed() -> String {
    allow(&["bedrock:InvokeModel"], &["*"])
}

/// Creates a user with an access key through IAM; returns its credentials.
async fn user_with_key(s: &Server, name: &str) -> Creds {
    s.iam(&s.admin, "CreateUser", &[("UserName", name)])
        .await
        .expect_ok();
    let r = s
        .iam(&s.admin, "CreateAccessKey", &[("UserName", name)])
        .await;
    r.expect_ok();
    Creds::long_term(&r.xml_req("AccessKeyId"), &r.xml_req("SecretAccessKey"))
}

#[tokio::test]
async fn users() {
    let s = start().await;
    let a = &s.admin;
    let r = s
        .iam(
            a,
            "CreateUser",
            &[
                ("UserName", "alice"),
                ("Path", "/engineering/"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ai"),
            ],
        )
        .await;
    r.expect_ok();
    assert!(
        r.text().contains("<CreateUserResponse") && r.text().contains(NS_IAM),
        "{r:?}"
    );
    assert_eq!(r.xml_req("UserName"), "alice");
    assert_eq!(
        r.xml_req("Arn"),
        format!("arn:aws:iam::{ACCOUNT}:user/engineering/alice")
    );
    assert_eq!(r.xml_req("Path"), "/engineering/");
    let id = r.xml_req("UserId");
    assert!(id.starts_with("AIDA"), "{r:?}");
    assert!(r.xml("CreateDate").is_some(), "{r:?}");

    let got = s.iam(a, "GetUser", &[("UserName", "alice")]).await;
    got.expect_ok();
    assert_eq!(got.xml_req("UserId"), id);
    // Without UserName: the caller.
    let me = s.iam(a, "GetUser", &[]).await;
    me.expect_ok();
    assert_eq!(me.xml_req("UserName"), "admin");

    let list = s.iam(a, "ListUsers", &[]).await;
    list.expect_ok();
    let names = list.xml_all("UserName");
    assert!(
        names.contains(&"alice".to_string()) && names.contains(&"admin".to_string()),
        "{list:?}"
    );
    assert_eq!(list.xml("IsTruncated").as_deref(), Some("false"));
    let filtered = s
        .iam(a, "ListUsers", &[("PathPrefix", "/engineering/")])
        .await;
    assert_eq!(
        filtered.xml_all("UserName"),
        vec!["alice".to_string()],
        "{filtered:?}"
    );

    // Names are unique ignoring case.
    s.iam(a, "CreateUser", &[("UserName", "ALICE")])
        .await
        .expect_err(409, "EntityAlreadyExists");
    s.iam(a, "CreateUser", &[("UserName", "bad name")])
        .await
        .expect_err(400, "ValidationError");
    s.iam(a, "CreateUser", &[])
        .await
        .expect_err(400, "ValidationError");
    s.iam(a, "GetUser", &[("UserName", "nobody")])
        .await
        .expect_err(404, "NoSuchEntity");

    // Tags.
    s.iam(
        a,
        "TagUser",
        &[
            ("UserName", "alice"),
            ("Tags.member.1.Key", "cost"),
            ("Tags.member.1.Value", "42"),
        ],
    )
    .await
    .expect_ok();
    let tags = s.iam(a, "ListUserTags", &[("UserName", "alice")]).await;
    tags.expect_ok();
    let keys = tags.xml_all("Key");
    assert!(
        keys.contains(&"team".to_string()) && keys.contains(&"cost".to_string()),
        "{tags:?}"
    );
    s.iam(
        a,
        "UntagUser",
        &[("UserName", "alice"), ("TagKeys.member.1", "cost")],
    )
    .await
    .expect_ok();
    let tags = s.iam(a, "ListUserTags", &[("UserName", "alice")]).await;
    assert_eq!(tags.xml_all("Key"), vec!["team".to_string()], "{tags:?}");

    // Deleting.
    s.iam(a, "DeleteUser", &[("UserName", "alice")])
        .await
        .expect_ok();
    s.iam(a, "GetUser", &[("UserName", "alice")])
        .await
        .expect_err(404, "NoSuchEntity");
    s.iam(a, "DeleteUser", &[("UserName", "alice")])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn deleting_a_user_with_subordinates_conflicts() {
    let s = start().await;
    let a = &s.admin;
    let bob = user_with_key(&s, "bob").await;
    s.iam(a, "DeleteUser", &[("UserName", "bob")])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DeleteAccessKey",
        &[("UserName", "bob"), ("AccessKeyId", &bob.access_key_id)],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "bob"),
            ("PolicyName", "p"),
            ("PolicyDocument", &converse_allowed()),
        ],
    )
    .await
    .expect_ok();
    s.iam(a, "DeleteUser", &[("UserName", "bob")])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DeleteUserPolicy",
        &[("UserName", "bob"), ("PolicyName", "p")],
    )
    .await
    .expect_ok();
    s.iam(a, "DeleteUser", &[("UserName", "bob")])
        .await
        .expect_ok();
}

#[tokio::test]
async fn access_keys_and_the_two_key_limit() {
    let s = start().await;
    let a = &s.admin;
    s.iam(a, "CreateUser", &[("UserName", "kim")])
        .await
        .expect_ok();
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "kim"),
            ("PolicyName", "p"),
            ("PolicyDocument", &converse_allowed()),
        ],
    )
    .await
    .expect_ok();
    let r1 = s.iam(a, "CreateAccessKey", &[("UserName", "kim")]).await;
    r1.expect_ok();
    assert_eq!(r1.xml_req("Status"), "Active");
    assert_eq!(r1.xml_req("UserName"), "kim");
    let k1 = Creds::long_term(&r1.xml_req("AccessKeyId"), &r1.xml_req("SecretAccessKey"));
    assert!(
        k1.access_key_id.starts_with("AKIA") && k1.access_key_id.len() == 20,
        "{r1:?}"
    );
    assert_eq!(k1.secret_access_key.len(), 40, "{r1:?}");
    let r2 = s.iam(a, "CreateAccessKey", &[("UserName", "kim")]).await;
    r2.expect_ok();
    let k2 = Creds::long_term(&r2.xml_req("AccessKeyId"), &r2.xml_req("SecretAccessKey"));
    s.iam(a, "CreateAccessKey", &[("UserName", "kim")])
        .await
        .expect_err(409, "LimitExceeded");

    // Both work.
    for k in [&k1, &k2] {
        let who = s.sts(k, "GetCallerIdentity", &[]).await;
        who.expect_ok();
        assert_eq!(who.xml_req("Arn"), user_arn("kim"));
        s.converse(k, ECHO, "hi").await.expect_ok();
    }
    let list = s.iam(a, "ListAccessKeys", &[("UserName", "kim")]).await;
    list.expect_ok();
    let ids = list.xml_all("AccessKeyId");
    assert_eq!(ids.len(), 2, "{list:?}");
    assert!(ids.contains(&k1.access_key_id) && ids.contains(&k2.access_key_id));
    assert!(
        !list.text().contains(&k1.secret_access_key),
        "a listing never shows a secret"
    );

    // Inactive keys are refused; active again, accepted.
    s.iam(
        a,
        "UpdateAccessKey",
        &[
            ("UserName", "kim"),
            ("AccessKeyId", &k1.access_key_id),
            ("Status", "Inactive"),
        ],
    )
    .await
    .expect_ok();
    s.sts(&k1, "GetCallerIdentity", &[])
        .await
        .expect_err(403, "InvalidClientTokenId");
    s.converse(&k1, ECHO, "hi")
        .await
        .expect_err(403, "UnrecognizedClientException");
    s.iam(
        a,
        "UpdateAccessKey",
        &[
            ("UserName", "kim"),
            ("AccessKeyId", &k1.access_key_id),
            ("Status", "Active"),
        ],
    )
    .await
    .expect_ok();
    s.sts(&k1, "GetCallerIdentity", &[]).await.expect_ok();
    s.iam(
        a,
        "UpdateAccessKey",
        &[
            ("UserName", "kim"),
            ("AccessKeyId", &k1.access_key_id),
            ("Status", "Maybe"),
        ],
    )
    .await
    .expect_err(400, "ValidationError");

    // Deleted keys are refused, and free a slot.
    s.iam(
        a,
        "DeleteAccessKey",
        &[("UserName", "kim"), ("AccessKeyId", &k1.access_key_id)],
    )
    .await
    .expect_ok();
    s.sts(&k1, "GetCallerIdentity", &[])
        .await
        .expect_err(403, "InvalidClientTokenId");
    s.iam(
        a,
        "DeleteAccessKey",
        &[("UserName", "kim"), ("AccessKeyId", &k1.access_key_id)],
    )
    .await
    .expect_err(404, "NoSuchEntity");
    s.iam(a, "CreateAccessKey", &[("UserName", "kim")])
        .await
        .expect_ok();
}

#[tokio::test]
async fn groups_and_what_they_grant() {
    let s = start().await;
    let a = &s.admin;
    let gus = user_with_key(&s, "gus").await;
    s.converse(&gus, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");

    let r = s.iam(a, "CreateGroup", &[("GroupName", "modelers")]).await;
    r.expect_ok();
    assert_eq!(
        r.xml_req("Arn"),
        format!("arn:aws:iam::{ACCOUNT}:group/modelers")
    );
    assert!(r.xml_req("GroupId").starts_with("AGPA"), "{r:?}");
    s.iam(a, "CreateGroup", &[("GroupName", "Modelers")])
        .await
        .expect_err(409, "EntityAlreadyExists");
    s.iam(
        a,
        "PutGroupPolicy",
        &[
            ("GroupName", "modelers"),
            ("PolicyName", "invoke"),
            ("PolicyDocument", &converse_allowed()),
        ],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "AddUserToGroup",
        &[("GroupName", "modelers"), ("UserName", "gus")],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "AddUserToGroup",
        &[("GroupName", "modelers"), ("UserName", "nobody")],
    )
    .await
    .expect_err(404, "NoSuchEntity");

    let g = s.iam(a, "GetGroup", &[("GroupName", "modelers")]).await;
    g.expect_ok();
    assert_eq!(g.xml_req("GroupName"), "modelers");
    assert!(g.xml_all("UserName").contains(&"gus".to_string()), "{g:?}");
    let groups = s.iam(a, "ListGroupsForUser", &[("UserName", "gus")]).await;
    groups.expect_ok();
    assert_eq!(
        groups.xml_all("GroupName"),
        vec!["modelers".to_string()],
        "{groups:?}"
    );
    let all = s.iam(a, "ListGroups", &[]).await;
    all.expect_ok();
    assert!(
        all.xml_all("GroupName").contains(&"modelers".to_string()),
        "{all:?}"
    );
    let names = s
        .iam(a, "ListGroupPolicies", &[("GroupName", "modelers")])
        .await;
    names.expect_ok();
    assert_eq!(
        names.xml_all("member"),
        vec!["invoke".to_string()],
        "{names:?}"
    );
    let doc = s
        .iam(
            a,
            "GetGroupPolicy",
            &[("GroupName", "modelers"), ("PolicyName", "invoke")],
        )
        .await;
    doc.expect_ok();
    let parsed: serde_json::Value =
        serde_json::from_str(&url_decode(&doc.xml_req("PolicyDocument"))).unwrap();
    assert_eq!(parsed["Statement"][0]["Action"][0], "bedrock:InvokeModel");

    // Membership grants the group's permissions.
    s.converse(&gus, ECHO, "hi").await.expect_ok();

    // A group cannot be deleted while it has members or policies.
    s.iam(a, "DeleteGroup", &[("GroupName", "modelers")])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "RemoveUserFromGroup",
        &[("GroupName", "modelers"), ("UserName", "gus")],
    )
    .await
    .expect_ok();
    s.converse(&gus, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(
        a,
        "DeleteGroupPolicy",
        &[("GroupName", "modelers"), ("PolicyName", "invoke")],
    )
    .await
    .expect_ok();
    s.iam(a, "DeleteGroup", &[("GroupName", "modelers")])
        .await
        .expect_ok();
    s.iam(a, "GetGroup", &[("GroupName", "modelers")])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn roles() {
    let s = start().await;
    let a = &s.admin;
    let trust_doc = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    let r = s
        .iam(
            a,
            "CreateRole",
            &[
                ("RoleName", "BedrockRole"),
                ("AssumeRolePolicyDocument", &trust_doc),
                ("MaxSessionDuration", "7200"),
                ("Description", "calls models"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ai"),
            ],
        )
        .await;
    r.expect_ok();
    assert_eq!(r.xml_req("Arn"), role_arn("BedrockRole"));
    assert!(r.xml_req("RoleId").starts_with("AROA"), "{r:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&url_decode(&r.xml_req("AssumeRolePolicyDocument"))).unwrap();
    assert_eq!(doc["Statement"][0]["Principal"]["AWS"], user_arn("admin"));

    let got = s.iam(a, "GetRole", &[("RoleName", "BedrockRole")]).await;
    got.expect_ok();
    assert_eq!(got.xml_req("MaxSessionDuration"), "7200");
    assert_eq!(got.xml_req("Description"), "calls models");
    let list = s.iam(a, "ListRoles", &[]).await;
    list.expect_ok();
    assert!(
        list.xml_all("RoleName")
            .contains(&"BedrockRole".to_string()),
        "{list:?}"
    );

    // The role works with STS, for up to its MaxSessionDuration.
    s.assume_role(
        a,
        &role_arn("BedrockRole"),
        "s-1",
        &[("DurationSeconds", "7200")],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "UpdateRole",
        &[("RoleName", "BedrockRole"), ("MaxSessionDuration", "3600")],
    )
    .await
    .expect_ok();
    s.assume_role(
        a,
        &role_arn("BedrockRole"),
        "s-1",
        &[("DurationSeconds", "7200")],
    )
    .await
    .expect_err(400, "ValidationError");
    s.iam(
        a,
        "UpdateRole",
        &[("RoleName", "BedrockRole"), ("MaxSessionDuration", "100")],
    )
    .await
    .expect_err(400, "ValidationError");

    // A new trust policy takes effect at once.
    let nobody = trust(&user_arn("nobody-else"), &["sts:AssumeRole"], None);
    s.iam(
        a,
        "UpdateAssumeRolePolicy",
        &[("RoleName", "BedrockRole"), ("PolicyDocument", &nobody)],
    )
    .await
    .expect_ok();
    s.assume_role(a, &role_arn("BedrockRole"), "s-1", &[])
        .await
        .expect_err(403, "AccessDenied");

    // Tags.
    s.iam(
        a,
        "TagRole",
        &[
            ("RoleName", "BedrockRole"),
            ("Tags.member.1.Key", "env"),
            ("Tags.member.1.Value", "dev"),
        ],
    )
    .await
    .expect_ok();
    let tags = s
        .iam(a, "ListRoleTags", &[("RoleName", "BedrockRole")])
        .await;
    tags.expect_ok();
    let keys = tags.xml_all("Key");
    assert!(
        keys.contains(&"team".to_string()) && keys.contains(&"env".to_string()),
        "{tags:?}"
    );
    s.iam(
        a,
        "UntagRole",
        &[("RoleName", "BedrockRole"), ("TagKeys.member.1", "env")],
    )
    .await
    .expect_ok();

    // Bad input.
    s.iam(
        a,
        "CreateRole",
        &[
            ("RoleName", "BedrockRole"),
            ("AssumeRolePolicyDocument", &trust_doc),
        ],
    )
    .await
    .expect_err(409, "EntityAlreadyExists");
    s.iam(
        a,
        "CreateRole",
        &[
            ("RoleName", "TooLong"),
            ("AssumeRolePolicyDocument", &trust_doc),
            ("MaxSessionDuration", "50000"),
        ],
    )
    .await
    .expect_err(400, "ValidationError");
    s.iam(a, "CreateRole", &[("RoleName", "NoTrust")])
        .await
        .expect_err(400, "ValidationError");
    s.iam(a, "GetRole", &[("RoleName", "nope")])
        .await
        .expect_err(404, "NoSuchEntity");

    // Deleting: not while it has policies.
    s.iam(
        a,
        "PutRolePolicy",
        &[
            ("RoleName", "BedrockRole"),
            ("PolicyName", "p"),
            ("PolicyDocument", &converse_allowed()),
        ],
    )
    .await
    .expect_ok();
    s.iam(a, "DeleteRole", &[("RoleName", "BedrockRole")])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DeleteRolePolicy",
        &[("RoleName", "BedrockRole"), ("PolicyName", "p")],
    )
    .await
    .expect_ok();
    s.iam(a, "DeleteRole", &[("RoleName", "BedrockRole")])
        .await
        .expect_ok();
    s.iam(a, "GetRole", &[("RoleName", "BedrockRole")])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn deleting_a_role_ends_its_sessions() {
    let s = start().await;
    let a = &s.admin;
    let trust_doc = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    s.iam(
        a,
        "CreateRole",
        &[
            ("RoleName", "short-lived"),
            ("AssumeRolePolicyDocument", &trust_doc),
        ],
    )
    .await
    .expect_ok();
    let session = s
        .assume_role(a, &role_arn("short-lived"), "s-1", &[])
        .await
        .credentials();
    s.sts(&session, "GetCallerIdentity", &[]).await.expect_ok();
    s.iam(a, "DeleteRole", &[("RoleName", "short-lived")])
        .await
        .expect_ok();
    s.sts(&session, "GetCallerIdentity", &[])
        .await
        .expect_err(403, "InvalidClientTokenId");
}

#[tokio::test]
async fn managed_policies_with_versions() {
    let s = start().await;
    let a = &s.admin;
    let v1 = allow(&["bedrock:CountTokens"], &["*"]);
    let r = s
        .iam(
            a,
            "CreatePolicy",
            &[
                ("PolicyName", "models"),
                ("PolicyDocument", &v1),
                ("Description", "model access"),
            ],
        )
        .await;
    r.expect_ok();
    let arn = r.xml_req("Arn");
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:policy/models"));
    assert_eq!(r.xml_req("DefaultVersionId"), "v1");
    assert!(r.xml_req("PolicyId").starts_with("ANPA"), "{r:?}");
    s.iam(
        a,
        "CreatePolicy",
        &[("PolicyName", "models"), ("PolicyDocument", &v1)],
    )
    .await
    .expect_err(409, "EntityAlreadyExists");

    let got = s.iam(a, "GetPolicy", &[("PolicyArn", &arn)]).await;
    got.expect_ok();
    assert_eq!(got.xml_req("PolicyName"), "models");
    let local = s.iam(a, "ListPolicies", &[("Scope", "Local")]).await;
    local.expect_ok();
    assert_eq!(
        local.xml_all("PolicyName"),
        vec!["models".to_string()],
        "{local:?}"
    );
    let aws = s.iam(a, "ListPolicies", &[("Scope", "AWS")]).await;
    aws.expect_ok();
    assert!(
        aws.xml_all("PolicyName")
            .contains(&"AdministratorAccess".to_string()),
        "{aws:?}"
    );

    // A user with the policy attached.
    let pat = user_with_key(&s, "pat").await;
    s.iam(
        a,
        "AttachUserPolicy",
        &[("UserName", "pat"), ("PolicyArn", &arn)],
    )
    .await
    .expect_ok();
    let count = json!({ "input": { "converse": converse_body("x") } });
    s.bedrock(&pat, REGION, ECHO, "count-tokens", &count)
        .await
        .expect_ok();
    s.converse(&pat, ECHO, "x")
        .await
        .expect_err(403, "AccessDeniedException");

    // A new default version changes what the user may do.
    let v2 = allow(&["bedrock:InvokeModel"], &["*"]);
    let r = s
        .iam(
            a,
            "CreatePolicyVersion",
            &[
                ("PolicyArn", &arn),
                ("PolicyDocument", &v2),
                ("SetAsDefault", "true"),
            ],
        )
        .await;
    r.expect_ok();
    assert_eq!(r.xml_req("VersionId"), "v2");
    assert_eq!(r.xml_req("IsDefaultVersion"), "true");
    s.converse(&pat, ECHO, "x").await.expect_ok();
    s.bedrock(&pat, REGION, ECHO, "count-tokens", &count)
        .await
        .expect_err(403, "AccessDeniedException");

    let pv = s
        .iam(
            a,
            "GetPolicyVersion",
            &[("PolicyArn", &arn), ("VersionId", "v2")],
        )
        .await;
    pv.expect_ok();
    let doc: serde_json::Value =
        serde_json::from_str(&url_decode(&pv.xml_req("Document"))).unwrap();
    assert_eq!(doc["Statement"][0]["Action"][0], "bedrock:InvokeModel");
    let versions = s.iam(a, "ListPolicyVersions", &[("PolicyArn", &arn)]).await;
    versions.expect_ok();
    let mut ids = versions.xml_all("VersionId");
    ids.sort();
    assert_eq!(
        ids,
        vec!["v1".to_string(), "v2".to_string()],
        "{versions:?}"
    );

    // The default version cannot be deleted; another can.
    s.iam(
        a,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .await
    .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "SetDefaultPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v1")],
    )
    .await
    .expect_ok();
    s.converse(&pat, ECHO, "x")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(
        a,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .await
    .expect_err(404, "NoSuchEntity");

    // At most five versions.
    for _ in 0..4 {
        s.iam(
            a,
            "CreatePolicyVersion",
            &[("PolicyArn", &arn), ("PolicyDocument", &v1)],
        )
        .await
        .expect_ok();
    }
    s.iam(
        a,
        "CreatePolicyVersion",
        &[("PolicyArn", &arn), ("PolicyDocument", &v1)],
    )
    .await
    .expect_err(409, "LimitExceeded");

    // An attached policy cannot be deleted.
    s.iam(a, "DeletePolicy", &[("PolicyArn", &arn)])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DetachUserPolicy",
        &[("UserName", "pat"), ("PolicyArn", &arn)],
    )
    .await
    .expect_ok();
    s.bedrock(&pat, REGION, ECHO, "count-tokens", &count)
        .await
        .expect_err(403, "AccessDeniedException");
    let r = s.iam(a, "DeletePolicy", &[("PolicyArn", &arn)]).await;
    // AWS requires deleting the non-default versions first.
    if r.status != 200 {
        r.expect_err(409, "DeleteConflict");
        for v in ["v3", "v4", "v5", "v6"] {
            s.iam(
                a,
                "DeletePolicyVersion",
                &[("PolicyArn", &arn), ("VersionId", v)],
            )
            .await
            .expect_ok();
        }
        s.iam(a, "DeletePolicy", &[("PolicyArn", &arn)])
            .await
            .expect_ok();
    }
    s.iam(a, "GetPolicy", &[("PolicyArn", &arn)])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn attach_and_detach_to_users_groups_and_roles() {
    let s = start().await;
    let a = &s.admin;
    let bedrock_full = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess";

    // User.
    let uma = user_with_key(&s, "uma").await;
    s.iam(
        a,
        "AttachUserPolicy",
        &[("UserName", "uma"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    let att = s
        .iam(a, "ListAttachedUserPolicies", &[("UserName", "uma")])
        .await;
    att.expect_ok();
    assert_eq!(
        att.xml_all("PolicyArn"),
        vec![bedrock_full.to_string()],
        "{att:?}"
    );
    assert_eq!(
        att.xml_all("PolicyName"),
        vec!["AmazonBedrockFullAccess".to_string()]
    );
    s.converse(&uma, ECHO, "hi").await.expect_ok();
    s.iam(
        a,
        "DetachUserPolicy",
        &[("UserName", "uma"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    s.converse(&uma, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(
        a,
        "DetachUserPolicy",
        &[("UserName", "uma"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_err(404, "NoSuchEntity");
    s.iam(
        a,
        "AttachUserPolicy",
        &[
            ("UserName", "uma"),
            ("PolicyArn", "arn:aws:iam::aws:policy/NoSuchPolicy"),
        ],
    )
    .await
    .expect_err(404, "NoSuchEntity");
    s.iam(
        a,
        "AttachUserPolicy",
        &[
            ("UserName", "uma"),
            ("PolicyArn", "not-an-arn-but-long-enough"),
        ],
    )
    .await
    .expect_err(400, "InvalidInput");

    // Group.
    s.iam(a, "CreateGroup", &[("GroupName", "g")])
        .await
        .expect_ok();
    s.iam(
        a,
        "AddUserToGroup",
        &[("GroupName", "g"), ("UserName", "uma")],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "AttachGroupPolicy",
        &[("GroupName", "g"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    let att = s
        .iam(a, "ListAttachedGroupPolicies", &[("GroupName", "g")])
        .await;
    assert_eq!(
        att.xml_all("PolicyArn"),
        vec![bedrock_full.to_string()],
        "{att:?}"
    );
    s.converse(&uma, ECHO, "hi").await.expect_ok();
    s.iam(
        a,
        "DetachGroupPolicy",
        &[("GroupName", "g"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    s.converse(&uma, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");

    // Role.
    let trust_doc = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    s.iam(
        a,
        "CreateRole",
        &[("RoleName", "r"), ("AssumeRolePolicyDocument", &trust_doc)],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "AttachRolePolicy",
        &[("RoleName", "r"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    let att = s
        .iam(a, "ListAttachedRolePolicies", &[("RoleName", "r")])
        .await;
    assert_eq!(
        att.xml_all("PolicyArn"),
        vec![bedrock_full.to_string()],
        "{att:?}"
    );
    let session = s
        .assume_role(a, &role_arn("r"), "s-1", &[])
        .await
        .credentials();
    s.converse(&session, ECHO, "hi").await.expect_ok();
    s.iam(
        a,
        "DetachRolePolicy",
        &[("RoleName", "r"), ("PolicyArn", bedrock_full)],
    )
    .await
    .expect_ok();
    s.converse(&session, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(a, "DeleteRole", &[("RoleName", "r")])
        .await
        .expect_ok();
}

#[tokio::test]
async fn inline_policies() {
    let s = start().await;
    let a = &s.admin;
    let ivy = user_with_key(&s, "ivy").await;
    let doc = converse_allowed();
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "ivy"),
            ("PolicyName", "invoke"),
            ("PolicyDocument", &doc),
        ],
    )
    .await
    .expect_ok();
    let got = s
        .iam(
            a,
            "GetUserPolicy",
            &[("UserName", "ivy"), ("PolicyName", "invoke")],
        )
        .await;
    got.expect_ok();
    assert_eq!(got.xml_req("UserName"), "ivy");
    assert_eq!(got.xml_req("PolicyName"), "invoke");
    let back: serde_json::Value =
        serde_json::from_str(&url_decode(&got.xml_req("PolicyDocument"))).unwrap();
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(&doc).unwrap()
    );
    let names = s.iam(a, "ListUserPolicies", &[("UserName", "ivy")]).await;
    names.expect_ok();
    assert_eq!(
        names.xml_all("member"),
        vec!["invoke".to_string()],
        "{names:?}"
    );
    s.converse(&ivy, ECHO, "hi").await.expect_ok();

    // Replacing keeps one policy of that name.
    let narrower = allow(&["bedrock:CountTokens"], &["*"]);
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "ivy"),
            ("PolicyName", "invoke"),
            ("PolicyDocument", &narrower),
        ],
    )
    .await
    .expect_ok();
    s.converse(&ivy, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(
        a,
        "DeleteUserPolicy",
        &[("UserName", "ivy"), ("PolicyName", "invoke")],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "GetUserPolicy",
        &[("UserName", "ivy"), ("PolicyName", "invoke")],
    )
    .await
    .expect_err(404, "NoSuchEntity");
    s.iam(
        a,
        "DeleteUserPolicy",
        &[("UserName", "ivy"), ("PolicyName", "invoke")],
    )
    .await
    .expect_err(404, "NoSuchEntity");

    // Roles.
    let trust_doc = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    s.iam(
        a,
        "CreateRole",
        &[("RoleName", "r"), ("AssumeRolePolicyDocument", &trust_doc)],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "PutRolePolicy",
        &[
            ("RoleName", "r"),
            ("PolicyName", "invoke"),
            ("PolicyDocument", &doc),
        ],
    )
    .await
    .expect_ok();
    let got = s
        .iam(
            a,
            "GetRolePolicy",
            &[("RoleName", "r"), ("PolicyName", "invoke")],
        )
        .await;
    got.expect_ok();
    assert_eq!(got.xml_req("RoleName"), "r");
    let names = s.iam(a, "ListRolePolicies", &[("RoleName", "r")]).await;
    assert_eq!(
        names.xml_all("member"),
        vec!["invoke".to_string()],
        "{names:?}"
    );
    let session = s
        .assume_role(a, &role_arn("r"), "s-1", &[])
        .await
        .credentials();
    s.converse(&session, ECHO, "hi").await.expect_ok();
    s.iam(
        a,
        "DeleteRolePolicy",
        &[("RoleName", "r"), ("PolicyName", "invoke")],
    )
    .await
    .expect_ok();
    s.converse(&session, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn permissions_boundaries() {
    let s = start().await;
    let a = &s.admin;
    let bo = user_with_key(&s, "bo").await;
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "bo"),
            ("PolicyName", "all"),
            ("PolicyDocument", &allow(&["bedrock:*"], &["*"])),
        ],
    )
    .await
    .expect_ok();
    let boundary = s
        .iam(
            a,
            "CreatePolicy",
            &[
                ("PolicyName", "count-only"),
                ("PolicyDocument", &allow(&["bedrock:CountTokens"], &["*"])),
            ],
        )
        .await;
    boundary.expect_ok();
    let arn = boundary.xml_req("Arn");
    s.iam(
        a,
        "PutUserPermissionsBoundary",
        &[("UserName", "bo"), ("PermissionsBoundary", &arn)],
    )
    .await
    .expect_ok();
    let got = s.iam(a, "GetUser", &[("UserName", "bo")]).await;
    assert_eq!(
        got.xml("PermissionsBoundaryArn").as_deref(),
        Some(arn.as_str()),
        "{got:?}"
    );
    let count = json!({ "input": { "converse": converse_body("x") } });
    s.bedrock(&bo, REGION, ECHO, "count-tokens", &count)
        .await
        .expect_ok();
    s.converse(&bo, ECHO, "x")
        .await
        .expect_err(403, "AccessDeniedException");
    s.iam(a, "DeleteUserPermissionsBoundary", &[("UserName", "bo")])
        .await
        .expect_ok();
    s.converse(&bo, ECHO, "x").await.expect_ok();

    // The same on a role, for its sessions.
    let trust_doc = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    s.iam(
        a,
        "CreateRole",
        &[
            ("RoleName", "bounded"),
            ("AssumeRolePolicyDocument", &trust_doc),
        ],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "PutRolePolicy",
        &[
            ("RoleName", "bounded"),
            ("PolicyName", "all"),
            ("PolicyDocument", &allow(&["bedrock:*"], &["*"])),
        ],
    )
    .await
    .expect_ok();
    s.iam(
        a,
        "PutRolePermissionsBoundary",
        &[("RoleName", "bounded"), ("PermissionsBoundary", &arn)],
    )
    .await
    .expect_ok();
    let got = s.iam(a, "GetRole", &[("RoleName", "bounded")]).await;
    assert_eq!(
        got.xml("PermissionsBoundaryArn").as_deref(),
        Some(arn.as_str()),
        "{got:?}"
    );
    let session = s
        .assume_role(a, &role_arn("bounded"), "s-b", &[])
        .await
        .credentials();
    s.bedrock(&session, REGION, ECHO, "count-tokens", &count)
        .await
        .expect_ok();
    s.converse(&session, ECHO, "x")
        .await
        .expect_err(403, "AccessDeniedException");
    // A boundary in use cannot be deleted.
    s.iam(a, "DeletePolicy", &[("PolicyArn", &arn)])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DeleteRolePermissionsBoundary",
        &[("RoleName", "bounded")],
    )
    .await
    .expect_ok();
    s.converse(&session, ECHO, "x").await.expect_ok();
    // Not a policy.
    s.iam(
        a,
        "PutRolePermissionsBoundary",
        &[
            ("RoleName", "bounded"),
            (
                "PermissionsBoundary",
                &format!("arn:aws:iam::{ACCOUNT}:policy/nope"),
            ),
        ],
    )
    .await
    .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn virtual_mfa_devices() {
    use sekisho_identity::totp;
    let s = start().await;
    let a = &s.admin;
    user_with_key(&s, "mo").await;
    let dev = s
        .iam(
            a,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "mo-phone")],
        )
        .await;
    dev.expect_ok();
    let serial = dev.xml_req("SerialNumber");
    let seed =
        totp::base32_decode(&String::from_utf8(b64(&dev.xml_req("Base32StringSeed"))).unwrap())
            .unwrap();
    assert_eq!(seed.len(), 20);
    s.iam(
        a,
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", "mo-phone")],
    )
    .await
    .expect_err(409, "EntityAlreadyExists");

    let unassigned = s
        .iam(
            a,
            "ListVirtualMFADevices",
            &[("AssignmentStatus", "Unassigned")],
        )
        .await;
    unassigned.expect_ok();
    assert!(
        unassigned.xml_all("SerialNumber").contains(&serial),
        "{unassigned:?}"
    );
    assert!(
        !unassigned.text().contains("Base32StringSeed"),
        "a listing never shows the seed"
    );

    // Wrong codes.
    s.iam(
        a,
        "EnableMFADevice",
        &[
            ("UserName", "mo"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", "123456"),
            ("AuthenticationCode2", "654321"),
        ],
    )
    .await
    .expect_err(403, "InvalidAuthenticationCode");
    s.iam(
        a,
        "EnableMFADevice",
        &[
            ("UserName", "mo"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", "12"),
            ("AuthenticationCode2", "654321"),
        ],
    )
    .await
    .expect_err(400, "ValidationError");

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (c1, c2) = (totp::code_at(&seed, now - 30), totp::code_at(&seed, now));
    s.iam(
        a,
        "EnableMFADevice",
        &[
            ("UserName", "mo"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &c1),
            ("AuthenticationCode2", &c2),
        ],
    )
    .await
    .expect_ok();
    let mine = s.iam(a, "ListMFADevices", &[("UserName", "mo")]).await;
    mine.expect_ok();
    assert_eq!(
        mine.xml_all("SerialNumber"),
        vec![serial.clone()],
        "{mine:?}"
    );
    assert!(mine.xml("EnableDate").is_some(), "{mine:?}");
    let assigned = s
        .iam(
            a,
            "ListVirtualMFADevices",
            &[("AssignmentStatus", "Assigned")],
        )
        .await;
    assert!(
        assigned.xml_all("SerialNumber").contains(&serial),
        "{assigned:?}"
    );

    // An assigned device cannot be deleted; deactivated, it can.
    s.iam(a, "DeleteVirtualMFADevice", &[("SerialNumber", &serial)])
        .await
        .expect_err(409, "DeleteConflict");
    s.iam(
        a,
        "DeactivateMFADevice",
        &[("UserName", "mo"), ("SerialNumber", &serial)],
    )
    .await
    .expect_ok();
    let mine = s.iam(a, "ListMFADevices", &[("UserName", "mo")]).await;
    assert!(mine.xml_all("SerialNumber").is_empty(), "{mine:?}");
    s.iam(a, "DeleteVirtualMFADevice", &[("SerialNumber", &serial)])
        .await
        .expect_ok();
    s.iam(a, "DeleteVirtualMFADevice", &[("SerialNumber", &serial)])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn iam_calls_are_authorized() {
    let s = start().await;
    let a = &s.admin;
    // No policy at all.
    let nia = user_with_key(&s, "nia").await;
    let r = s.iam(&nia, "CreateUser", &[("UserName", "eve")]).await;
    r.expect_err(403, "AccessDenied");
    assert!(r.message().contains("iam:CreateUser"), "{r:?}");
    s.iam(&nia, "ListUsers", &[])
        .await
        .expect_err(403, "AccessDenied");
    s.iam(&nia, "GetUser", &[])
        .await
        .expect_err(403, "AccessDenied");
    s.iam(&nia, "CreateAccessKey", &[])
        .await
        .expect_err(403, "AccessDenied");
    s.iam(
        &nia,
        "AttachUserPolicy",
        &[
            ("UserName", "nia"),
            ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ],
    )
    .await
    .expect_err(403, "AccessDenied");

    // iam:GetUser on its own ARN only, through ${aws:username}.
    let self_only = allow(
        &["iam:GetUser"],
        &[&format!("arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")],
    );
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "nia"),
            ("PolicyName", "self"),
            ("PolicyDocument", &self_only),
        ],
    )
    .await
    .expect_ok();
    let me = s.iam(&nia, "GetUser", &[("UserName", "nia")]).await;
    me.expect_ok();
    assert_eq!(me.xml_req("UserName"), "nia");
    s.iam(&nia, "GetUser", &[("UserName", "admin")])
        .await
        .expect_err(403, "AccessDenied");
    s.iam(&nia, "ListUsers", &[])
        .await
        .expect_err(403, "AccessDenied");

    // ReadOnlyAccess reads but does not write.
    s.iam(
        a,
        "AttachUserPolicy",
        &[
            ("UserName", "nia"),
            ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ],
    )
    .await
    .expect_ok();
    s.iam(&nia, "ListUsers", &[]).await.expect_ok();
    s.iam(&nia, "GetUser", &[("UserName", "admin")])
        .await
        .expect_ok();
    s.iam(&nia, "CreateUser", &[("UserName", "eve")])
        .await
        .expect_err(403, "AccessDenied");

    // AWS-managed policies cannot be changed, not even by the admin.
    s.iam(
        a,
        "CreatePolicyVersion",
        &[
            ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
            ("PolicyDocument", &allow(&["*"], &["*"])),
        ],
    )
    .await
    .expect_err(403, "AccessDenied");
}

/// Without `UserName`, GetUser and the access-key calls act on the caller,
/// and AWS authorizes them on the caller's own ARN, so the usual
/// "manage your own credentials" policy (`user/${aws:username}`) works for
/// `aws iam get-user` and `aws iam list-access-keys` without arguments.
#[tokio::test]
async fn self_service_without_user_name() {
    let s = start().await;
    let a = &s.admin;
    let sam = user_with_key(&s, "sam").await;
    let own = allow(
        &["iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey"],
        &[&format!("arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")],
    );
    s.iam(
        a,
        "PutUserPolicy",
        &[
            ("UserName", "sam"),
            ("PolicyName", "own"),
            ("PolicyDocument", &own),
        ],
    )
    .await
    .expect_ok();
    let me = s.iam(&sam, "GetUser", &[]).await;
    me.expect_ok();
    assert_eq!(me.xml_req("UserName"), "sam");
    let keys = s.iam(&sam, "ListAccessKeys", &[]).await;
    keys.expect_ok();
    assert_eq!(
        keys.xml_all("AccessKeyId"),
        vec![sam.access_key_id.clone()],
        "{keys:?}"
    );
    let new_key = s.iam(&sam, "CreateAccessKey", &[]).await;
    new_key.expect_ok();
    assert_eq!(new_key.xml_req("UserName"), "sam");
    // Still not someone else's.
    s.iam(&sam, "ListAccessKeys", &[("UserName", "admin")])
        .await
        .expect_err(403, "AccessDenied");
}

#[tokio::test]
async fn malformed_policy_documents_are_refused() {
    let s = start().await;
    let a = &s.admin;
    user_with_key(&s, "mal").await;
    let bad = [
        "not json".to_string(),
        "{}".to_string(),
        // No Resource.
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel"}]}).to_string(),
        // No such effect.
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}).to_string(),
        // An identity policy with a Principal.
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}).to_string(),
        // A bad action name.
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock InvokeModel","Resource":"*"}]}).to_string(),
    ];
    for doc in &bad {
        let r = s
            .iam(
                a,
                "PutUserPolicy",
                &[
                    ("UserName", "mal"),
                    ("PolicyName", "p"),
                    ("PolicyDocument", doc),
                ],
            )
            .await;
        r.expect_err(400, "MalformedPolicyDocument");
        assert!(!r.message().is_empty(), "the finding is named: {r:?}");
        s.iam(
            a,
            "CreatePolicy",
            &[("PolicyName", "p"), ("PolicyDocument", doc)],
        )
        .await
        .expect_err(400, "MalformedPolicyDocument");
    }
    // A trust policy without a principal.
    let no_principal =
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]})
            .to_string();
    s.iam(
        a,
        "CreateRole",
        &[
            ("RoleName", "r"),
            ("AssumeRolePolicyDocument", &no_principal),
        ],
    )
    .await
    .expect_err(400, "MalformedPolicyDocument");
    // Nothing was created.
    s.iam(
        a,
        "GetUserPolicy",
        &[("UserName", "mal"), ("PolicyName", "p")],
    )
    .await
    .expect_err(404, "NoSuchEntity");
    s.iam(a, "GetRole", &[("RoleName", "r")])
        .await
        .expect_err(404, "NoSuchEntity");
}

#[tokio::test]
async fn unknown_and_missing_actions() {
    let s = start().await;
    s.iam(&s.admin, "Frobnicate", &[])
        .await
        .expect_err(400, "InvalidAction");
    // An STS action sent to IAM.
    s.iam(&s.admin, "AssumeRole", &[])
        .await
        .expect_err(400, "InvalidAction");
    let no_action = Req::new("iam", "POST", "/")
        .header("content-type", FORM)
        .body("Version=2010-05-08");
    s.sign_and_send(&no_action, &s.admin)
        .await
        .expect_err(400, "MissingAction");
}
