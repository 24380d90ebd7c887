//! End to end: STS over the wire (Query protocol, XML answers).
//!
//! GetCallerIdentity, GetSessionToken and AssumeRole with the whole of
//! trust-policy evaluation: principals, `sts:ExternalId`, `aws:SourceAccount`
//! style conditions, DurationSeconds against MaxSessionDuration, session
//! policies (`Policy`, `PolicyArns`), session tags and transitive tags into
//! `aws:PrincipalTag`, RoleSessionName / SourceIdentity validation and MFA.

mod common;

use common::*;
use sekisho_identity::iam::{CreatePolicyRequest, CreateRoleRequest, Tag};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn expiration_in(r: &Resp) -> i64 {
    let exp =
        OffsetDateTime::parse(&r.xml_req("Expiration"), &Rfc3339).expect("Expiration is ISO 8601");
    (exp - OffsetDateTime::now_utc()).whole_seconds()
}

fn admin_trust() -> String {
    trust(&user_arn("admin"), &["sts:AssumeRole"], None)
}

#[tokio::test]
async fn get_caller_identity_of_the_admin() {
    let s = start().await;
    let r = s.sts(&s.admin, "GetCallerIdentity", &[]).await;
    r.expect_ok();
    assert!(r.text().contains("<GetCallerIdentityResponse"), "{r:?}");
    assert_eq!(r.xml_req("Arn"), user_arn("admin"));
    assert_eq!(r.xml_req("Account"), ACCOUNT);
    assert!(r.xml_req("UserId").starts_with("AIDA"), "{r:?}");
    assert!(r.xml("RequestId").is_some(), "{r:?}");
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn assume_role_then_get_caller_identity_of_the_role_session() {
    let s = start().await;
    let role = s.role("reader", &admin_trust(), None).await;
    let r = s.assume_role(&s.admin, &role, "sess-1", &[]).await;
    let creds = r.credentials();
    assert!(creds.access_key_id.starts_with("ASIA"), "{r:?}");
    let session_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/reader/sess-1");
    assert_eq!(r.xml_req("Arn"), session_arn);
    let assumed_id = r.xml_req("AssumedRoleId");
    assert!(
        assumed_id.starts_with("AROA") && assumed_id.ends_with(":sess-1"),
        "{r:?}"
    );
    // Default duration: one hour.
    let left = expiration_in(&r);
    assert!((3500..=3660).contains(&left), "expires in {left} s");

    // A role without any permission policy may still ask who it is.
    let who = s.sts(&creds, "GetCallerIdentity", &[]).await;
    who.expect_ok();
    assert_eq!(who.xml_req("Arn"), session_arn);
    assert_eq!(who.xml_req("UserId"), assumed_id);
    assert_eq!(who.xml_req("Account"), ACCOUNT);
}

#[tokio::test]
async fn get_session_token_then_use_it_but_not_to_get_another() {
    let s = start().await;
    let r = s
        .sts(&s.admin, "GetSessionToken", &[("DurationSeconds", "900")])
        .await;
    let creds = r.credentials();
    assert!(creds.access_key_id.starts_with("ASIA"), "{r:?}");
    let left = expiration_in(&r);
    assert!((840..=960).contains(&left), "expires in {left} s");

    let who = s.sts(&creds, "GetCallerIdentity", &[]).await;
    who.expect_ok();
    assert_eq!(who.xml_req("Arn"), user_arn("admin"));

    // The session carries the admin's permissions.
    s.converse(&creds, ECHO, "hi").await.expect_ok();

    // Session credentials may not call GetSessionToken.
    s.sts(&creds, "GetSessionToken", &[])
        .await
        .expect_err(403, "AccessDenied");
    // A role session neither.
    let role = s
        .role("r", &admin_trust(), Some(&allow(&["sts:*"], &["*"])))
        .await;
    let role_creds = s
        .assume_role(&s.admin, &role, "s1", &[])
        .await
        .credentials();
    s.sts(&role_creds, "GetSessionToken", &[])
        .await
        .expect_err(403, "AccessDenied");

    // DurationSeconds out of range.
    s.sts(&s.admin, "GetSessionToken", &[("DurationSeconds", "100")])
        .await
        .expect_err(400, "ValidationError");
    s.sts(
        &s.admin,
        "GetSessionToken",
        &[("DurationSeconds", "200000")],
    )
    .await
    .expect_err(400, "ValidationError");
}

#[tokio::test]
async fn trust_policy_decides_who_may_assume() {
    let s = start().await;
    let bob = s
        .user("bob", Some(&allow(&["sts:AssumeRole"], &["*"])))
        .await;
    let carol = s.user("carol", None).await;
    let admins_only = s.role("admins-only", &admin_trust(), None).await;

    // Bob may call sts:AssumeRole on anything, but the trust policy does
    // not name him.
    let r = s.assume_role(&bob, &admins_only, "bob", &[]).await;
    r.expect_err(403, "AccessDenied");
    assert!(r.message().contains("not authorized"), "{r:?}");
    // A role that does not exist.
    s.assume_role(&bob, &role_arn("no-such-role"), "bob", &[])
        .await
        .expect_err(403, "AccessDenied");

    // A trust policy naming carol herself is enough in the same account.
    let for_carol = s
        .role(
            "for-carol",
            &trust(&user_arn("carol"), &["sts:AssumeRole"], None),
            None,
        )
        .await;
    s.assume_role(&carol, &for_carol, "carol", &[])
        .await
        .expect_ok();
    s.assume_role(&bob, &for_carol, "bob", &[])
        .await
        .expect_err(403, "AccessDenied");

    // A trust policy naming the account needs the identity policy too.
    let account_trust = trust(
        &format!("arn:aws:iam::{ACCOUNT}:root"),
        &["sts:AssumeRole"],
        None,
    );
    let for_account = s.role("for-account", &account_trust, None).await;
    s.assume_role(&bob, &for_account, "bob", &[])
        .await
        .expect_ok();
    s.assume_role(&carol, &for_account, "carol", &[])
        .await
        .expect_err(403, "AccessDenied");
}

#[tokio::test]
async fn external_id_condition() {
    let s = start().await;
    let cond = json!({ "StringEquals": { "sts:ExternalId": "ext-12345" } });
    let role = s
        .role(
            "partner",
            &trust(&user_arn("admin"), &["sts:AssumeRole"], Some(cond)),
            None,
        )
        .await;
    s.assume_role(&s.admin, &role, "s-p", &[])
        .await
        .expect_err(403, "AccessDenied");
    s.assume_role(&s.admin, &role, "s-p", &[("ExternalId", "ext-99999")])
        .await
        .expect_err(403, "AccessDenied");
    s.assume_role(&s.admin, &role, "s-p", &[("ExternalId", "ext-12345")])
        .await
        .expect_ok();
    // ExternalId must have 2 to 1224 characters (on a role that would
    // admit the caller, so that only the value is at fault).
    let open = s.role("open", &admin_trust(), None).await;
    s.assume_role(&s.admin, &open, "s-p", &[("ExternalId", "x")])
        .await
        .expect_err(400, "ValidationError");
    s.assume_role(&s.admin, &open, "s-p", &[("ExternalId", &"x".repeat(1225))])
        .await
        .expect_err(400, "ValidationError");
}

#[tokio::test]
async fn source_account_and_principal_account_conditions() {
    let s = start().await;
    // aws:SourceAccount is set only when a service acts on someone's
    // behalf; a direct caller does not have it, so a strict condition fails.
    let strict = json!({ "StringEquals": { "aws:SourceAccount": ACCOUNT } });
    let r1 = s
        .role(
            "deputy-strict",
            &trust(&user_arn("admin"), &["sts:AssumeRole"], Some(strict)),
            None,
        )
        .await;
    s.assume_role(&s.admin, &r1, "s-d", &[])
        .await
        .expect_err(403, "AccessDenied");

    // The confused-deputy pattern written with IfExists admits a direct
    // caller.
    let lenient = json!({
        "StringEqualsIfExists": { "aws:SourceAccount": ACCOUNT },
        "ArnLikeIfExists": { "aws:SourceArn": format!("arn:aws:bedrock:*:{ACCOUNT}:agent/*") }
    });
    let r2 = s
        .role(
            "deputy-lenient",
            &trust(&user_arn("admin"), &["sts:AssumeRole"], Some(lenient)),
            None,
        )
        .await;
    s.assume_role(&s.admin, &r2, "s-d", &[]).await.expect_ok();

    // aws:PrincipalAccount is always present.
    let other = json!({ "StringEquals": { "aws:PrincipalAccount": "999999999999" } });
    let r3 = s
        .role(
            "other-account",
            &trust(&user_arn("admin"), &["sts:AssumeRole"], Some(other)),
            None,
        )
        .await;
    s.assume_role(&s.admin, &r3, "s-d", &[])
        .await
        .expect_err(403, "AccessDenied");
    let same = json!({ "StringEquals": { "aws:PrincipalAccount": ACCOUNT } });
    let r4 = s
        .role(
            "same-account",
            &trust(&user_arn("admin"), &["sts:AssumeRole"], Some(same)),
            None,
        )
        .await;
    s.assume_role(&s.admin, &r4, "s-d", &[]).await.expect_ok();
}

#[tokio::test]
async fn duration_seconds_is_bounded_by_max_session_duration() {
    let s = start().await;
    let short = s
        .role(
            "short",
            &admin_trust(),
            Some(&allow(&["sts:AssumeRole"], &["*"])),
        )
        .await;
    s.assume_role(&s.admin, &short, "s-d", &[("DurationSeconds", "7200")])
        .await
        .expect_err(400, "ValidationError");
    s.assume_role(&s.admin, &short, "s-d", &[("DurationSeconds", "899")])
        .await
        .expect_err(400, "ValidationError");
    s.assume_role(
        &s.admin,
        &short,
        "s-d",
        &[("DurationSeconds", "not-a-number")],
    )
    .await
    .expect_err(400, "ValidationError");
    let r = s
        .assume_role(&s.admin, &short, "s-d", &[("DurationSeconds", "900")])
        .await;
    r.expect_ok();
    assert!((840..=960).contains(&expiration_in(&r)), "{r:?}");

    let long = s
        .role_with(
            CreateRoleRequest {
                role_name: "long".into(),
                assume_role_policy_document: admin_trust(),
                max_session_duration: Some(7200),
                ..CreateRoleRequest::default()
            },
            Some(&allow(&["sts:AssumeRole"], &["*"])),
        )
        .await;
    let r = s
        .assume_role(&s.admin, &long, "s-d", &[("DurationSeconds", "7200")])
        .await;
    r.expect_ok();
    assert!((7100..=7260).contains(&expiration_in(&r)), "{r:?}");
    s.assume_role(&s.admin, &long, "s-d", &[("DurationSeconds", "7201")])
        .await
        .expect_err(400, "ValidationError");

    // Role chaining is limited to one hour whatever the role allows.
    let chained_target = s
        .role_with(
            CreateRoleRequest {
                role_name: "target".into(),
                assume_role_policy_document: trust(&role_arn("long"), &["sts:AssumeRole"], None),
                max_session_duration: Some(7200),
                ..CreateRoleRequest::default()
            },
            None,
        )
        .await;
    let long_creds = r.credentials();
    s.assume_role(
        &long_creds,
        &chained_target,
        "s-c",
        &[("DurationSeconds", "7200")],
    )
    .await
    .expect_err(400, "ValidationError");
    s.assume_role(
        &long_creds,
        &chained_target,
        "s-c",
        &[("DurationSeconds", "3600")],
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn session_policy_limits_the_session() {
    let s = start().await;
    let role = s
        .role("wide", &admin_trust(), Some(&allow(&["bedrock:*"], &["*"])))
        .await;
    // Without a session policy the role's permissions apply.
    let full = s
        .assume_role(&s.admin, &role, "full", &[])
        .await
        .credentials();
    s.converse(&full, ECHO, "hello").await.expect_ok();

    let only_count = allow(&["bedrock:CountTokens"], &["*"]);
    let r = s
        .assume_role(&s.admin, &role, "narrow", &[("Policy", &only_count)])
        .await;
    let narrow = r.credentials();
    assert!(r.xml("PackedPolicySize").is_some(), "{r:?}");
    let count = s
        .bedrock(
            &narrow,
            REGION,
            ECHO,
            "count-tokens",
            &json!({ "input": { "converse": converse_body("hello") } }),
        )
        .await;
    count.expect_ok();
    let denied = s.converse(&narrow, ECHO, "hello").await;
    denied.expect_err(403, "AccessDeniedException");

    // A session policy cannot add what the role lacks.
    let sts_too = allow(&["bedrock:*", "iam:*"], &["*"]);
    let broad = s
        .assume_role(&s.admin, &role, "broad", &[("Policy", &sts_too)])
        .await
        .credentials();
    s.iam(&broad, "ListUsers", &[])
        .await
        .expect_err(403, "AccessDenied");

    // A session policy that is not a policy.
    s.assume_role(&s.admin, &role, "bad", &[("Policy", "{not json")])
        .await
        .expect_err(400, "MalformedPolicyDocument");
}

#[tokio::test]
async fn managed_session_policies_limit_the_session() {
    let s = start().await;
    let role = s
        .role("wide", &admin_trust(), Some(&allow(&["bedrock:*"], &["*"])))
        .await;
    let now = OffsetDateTime::now_utc();
    s.with_iam(move |st| {
        st.create_policy(
            CreatePolicyRequest {
                policy_name: "count-only".into(),
                policy_document: allow(&["bedrock:CountTokens"], &["*"]),
                ..CreatePolicyRequest::default()
            },
            now,
        )
        .map(|_| ())
    })
    .await;
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/count-only");
    let creds = s
        .assume_role(
            &s.admin,
            &role,
            "managed",
            &[("PolicyArns.member.1.arn", &arn)],
        )
        .await
        .credentials();
    s.bedrock(
        &creds,
        REGION,
        ECHO,
        "count-tokens",
        &json!({ "input": { "converse": converse_body("x") } }),
    )
    .await
    .expect_ok();
    s.converse(&creds, ECHO, "x")
        .await
        .expect_err(403, "AccessDeniedException");

    // A policy that does not exist.
    let missing = format!("arn:aws:iam::{ACCOUNT}:policy/no-such-policy");
    s.assume_role(
        &s.admin,
        &role,
        "managed",
        &[("PolicyArns.member.1.arn", &missing)],
    )
    .await
    .expect_err(400, "ValidationError");
}

fn tag_condition(key: &str, value: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": "*",
            "Condition": { "StringEquals": { format!("aws:PrincipalTag/{key}"): value } }
        }]
    })
    .to_string()
}

#[tokio::test]
async fn session_tags_become_principal_tags() {
    let s = start().await;
    let tagging_trust = trust(
        &user_arn("admin"),
        &["sts:AssumeRole", "sts:TagSession"],
        None,
    );
    let role = s
        .role("tagged", &tagging_trust, Some(&tag_condition("team", "ai")))
        .await;

    let ai = s
        .assume_role(
            &s.admin,
            &role,
            "t1",
            &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ai")],
        )
        .await
        .credentials();
    s.converse(&ai, ECHO, "hi").await.expect_ok();

    let ops = s
        .assume_role(
            &s.admin,
            &role,
            "t2",
            &[
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ops"),
            ],
        )
        .await
        .credentials();
    s.converse(&ops, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");

    let untagged = s
        .assume_role(&s.admin, &role, "t3", &[])
        .await
        .credentials();
    s.converse(&untagged, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");

    // Tagging a session needs sts:TagSession in the trust policy.
    let plain = s
        .role("plain", &admin_trust(), Some(&tag_condition("team", "ai")))
        .await;
    s.assume_role(
        &s.admin,
        &plain,
        "t4",
        &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ai")],
    )
    .await
    .expect_err(403, "AccessDenied");
}

#[tokio::test]
async fn role_tags_are_principal_tags_and_session_tags_override_them() {
    let s = start().await;
    let tagging_trust = trust(
        &user_arn("admin"),
        &["sts:AssumeRole", "sts:TagSession"],
        None,
    );
    let role = s
        .role_with(
            CreateRoleRequest {
                role_name: "team-ai".into(),
                assume_role_policy_document: tagging_trust,
                tags: vec![Tag::new("team", "ai")],
                ..CreateRoleRequest::default()
            },
            Some(&tag_condition("team", "ai")),
        )
        .await;
    let plain = s
        .assume_role(&s.admin, &role, "s-p", &[])
        .await
        .credentials();
    s.converse(&plain, ECHO, "hi").await.expect_ok();
    let overridden = s
        .assume_role(
            &s.admin,
            &role,
            "s-o",
            &[
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ops"),
            ],
        )
        .await
        .credentials();
    s.converse(&overridden, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn transitive_tags_survive_role_chaining() {
    let s = start().await;
    let first = s
        .role(
            "first",
            &trust(
                &user_arn("admin"),
                &["sts:AssumeRole", "sts:TagSession"],
                None,
            ),
            Some(&allow(&["sts:AssumeRole", "sts:TagSession"], &["*"])),
        )
        .await;
    let second = s
        .role(
            "second",
            &trust(
                &role_arn("first"),
                &["sts:AssumeRole", "sts:TagSession"],
                None,
            ),
            Some(&tag_condition("project", "sekisho")),
        )
        .await;

    let transitive = s
        .assume_role(
            &s.admin,
            &first,
            "s-a",
            &[
                ("Tags.member.1.Key", "project"),
                ("Tags.member.1.Value", "sekisho"),
                ("TransitiveTagKeys.member.1", "project"),
            ],
        )
        .await
        .credentials();
    let chained = s
        .assume_role(&transitive, &second, "s-b", &[])
        .await
        .credentials();
    s.converse(&chained, ECHO, "hi").await.expect_ok();

    // The transitive tag cannot be overridden down the chain.
    s.assume_role(
        &transitive,
        &second,
        "s-b",
        &[
            ("Tags.member.1.Key", "project"),
            ("Tags.member.1.Value", "other"),
        ],
    )
    .await
    .expect_err(400, "ValidationError");

    // Without TransitiveTagKeys the tag stays with the first session.
    let plain = s
        .assume_role(
            &s.admin,
            &first,
            "s-a",
            &[
                ("Tags.member.1.Key", "project"),
                ("Tags.member.1.Value", "sekisho"),
            ],
        )
        .await
        .credentials();
    let chained_plain = s
        .assume_role(&plain, &second, "s-b", &[])
        .await
        .credentials();
    s.converse(&chained_plain, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");

    // A transitive key must be one of the session's tags.
    s.assume_role(
        &s.admin,
        &first,
        "s-a",
        &[
            ("Tags.member.1.Key", "project"),
            ("Tags.member.1.Value", "sekisho"),
            ("TransitiveTagKeys.member.1", "other"),
        ],
    )
    .await
    .expect_err(400, "ValidationError");
}

#[tokio::test]
async fn role_session_name_and_source_identity_are_validated() {
    let s = start().await;
    let role = s.role("r", &admin_trust(), None).await;
    for bad in ["a", "has space", "slash/name", &"x".repeat(65), "日本"] {
        let r = s.assume_role(&s.admin, &role, bad, &[]).await;
        r.expect_err(400, "ValidationError");
    }
    // RoleSessionName is required.
    s.sts(&s.admin, "AssumeRole", &[("RoleArn", &role)])
        .await
        .expect_err(400, "ValidationError");
    // RoleArn is required.
    s.sts(&s.admin, "AssumeRole", &[("RoleSessionName", "ok")])
        .await
        .expect_err(400, "ValidationError");
    s.assume_role(&s.admin, &role, "ok_name+=,.@-1", &[])
        .await
        .expect_ok();
    s.assume_role(&s.admin, &role, &"x".repeat(64), &[])
        .await
        .expect_ok();

    for bad in ["aws:reserved", "bad identity!", "a"] {
        s.assume_role(&s.admin, &role, "si", &[("SourceIdentity", bad)])
            .await
            .expect_err(400, "ValidationError");
    }
    // Setting a source identity needs sts:SetSourceIdentity in the trust.
    s.assume_role(&s.admin, &role, "si", &[("SourceIdentity", "alice")])
        .await
        .expect_err(403, "AccessDenied");
}

#[tokio::test]
async fn source_identity_is_kept_through_role_chaining() {
    let s = start().await;
    let sets = ["sts:AssumeRole", "sts:SetSourceIdentity"];
    let first = s
        .role(
            "first",
            &trust(&user_arn("admin"), &sets, None),
            Some(&allow(&sets, &["*"])),
        )
        .await;
    let second = s
        .role("second", &trust(&role_arn("first"), &sets, None), None)
        .await;
    let r = s
        .assume_role(&s.admin, &first, "s-a", &[("SourceIdentity", "alice")])
        .await;
    r.expect_ok();
    assert_eq!(r.xml("SourceIdentity").as_deref(), Some("alice"), "{r:?}");
    let alice = r.credentials();

    // It cannot be changed down the chain...
    s.assume_role(&alice, &second, "s-b", &[("SourceIdentity", "mallory")])
        .await
        .expect_err(403, "AccessDenied");
    // ... restating it is fine, and leaving it out keeps it.
    s.assume_role(&alice, &second, "s-b", &[("SourceIdentity", "alice")])
        .await
        .expect_ok();
    let r = s.assume_role(&alice, &second, "s-b", &[]).await;
    r.expect_ok();
    assert_eq!(r.xml("SourceIdentity").as_deref(), Some("alice"), "{r:?}");
}

/// MFA through the IAM API: a virtual device created with
/// CreateVirtualMFADevice, enabled with two codes computed from the seed
/// it returned, then used with AssumeRole and GetSessionToken.
#[tokio::test]
async fn mfa_required_by_the_trust_policy() {
    use sekisho_identity::totp;
    let s = start().await;
    let admin = &s.admin;
    s.iam(admin, "CreateUser", &[("UserName", "dora")])
        .await
        .expect_ok();
    let policy = allow(&["sts:AssumeRole", "sts:GetSessionToken"], &["*"]);
    s.iam(
        admin,
        "PutUserPolicy",
        &[
            ("UserName", "dora"),
            ("PolicyName", "sts"),
            ("PolicyDocument", &policy),
        ],
    )
    .await
    .expect_ok();
    let key = s
        .iam(admin, "CreateAccessKey", &[("UserName", "dora")])
        .await;
    key.expect_ok();
    let dora = Creds::long_term(&key.xml_req("AccessKeyId"), &key.xml_req("SecretAccessKey"));

    let dev = s
        .iam(
            admin,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "dora-phone")],
        )
        .await;
    dev.expect_ok();
    let serial = dev.xml_req("SerialNumber");
    assert_eq!(serial, format!("arn:aws:iam::{ACCOUNT}:mfa/dora-phone"));
    let seed_text = String::from_utf8(b64(&dev.xml_req("Base32StringSeed"))).unwrap();
    let seed = totp::base32_decode(&seed_text).expect("the seed is base32");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let code1 = totp::code_at(&seed, now - 30);
    let code2 = totp::code_at(&seed, now);
    s.iam(
        admin,
        "EnableMFADevice",
        &[
            ("UserName", "dora"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &code1),
            ("AuthenticationCode2", &code2),
        ],
    )
    .await
    .expect_ok();

    let cond = json!({ "Bool": { "aws:MultiFactorAuthPresent": "true" } });
    let role = s
        .role(
            "needs-mfa",
            &trust(&user_arn("dora"), &["sts:AssumeRole"], Some(cond)),
            None,
        )
        .await;

    // Without MFA.
    s.assume_role(&dora, &role, "s-m", &[])
        .await
        .expect_err(403, "AccessDenied");
    // With a code computed now.
    let code = totp::code_at(&seed, OffsetDateTime::now_utc().unix_timestamp());
    s.assume_role(
        &dora,
        &role,
        "s-m",
        &[("SerialNumber", &serial), ("TokenCode", &code)],
    )
    .await
    .expect_ok();
    // A code is good once.
    s.assume_role(
        &dora,
        &role,
        "s-m",
        &[("SerialNumber", &serial), ("TokenCode", &code)],
    )
    .await
    .expect_err(403, "AccessDenied");
    // With a wrong code.
    let wrong: String = code
        .chars()
        .map(|c| char::from(b'0' + (c.to_digit(10).unwrap() as u8 + 5) % 10))
        .collect();
    s.assume_role(
        &dora,
        &role,
        "s-m",
        &[("SerialNumber", &serial), ("TokenCode", &wrong)],
    )
    .await
    .expect_err(403, "AccessDenied");
    // With a malformed code (where nothing else would refuse the call).
    s.sts(
        &dora,
        "GetSessionToken",
        &[("SerialNumber", &serial), ("TokenCode", "12345")],
    )
    .await
    .expect_err(400, "ValidationError");
    s.sts(
        &dora,
        "GetSessionToken",
        &[("SerialNumber", &serial), ("TokenCode", &wrong)],
    )
    .await
    .expect_err(403, "AccessDenied");
    // A code without its device.
    s.sts(&dora, "GetSessionToken", &[("TokenCode", &code)])
        .await
        .expect_err(400, "ValidationError");

    // A session made with MFA carries it; one made without does not. (The
    // next time step's code: the current one was used above.)
    let code = totp::code_at(&seed, OffsetDateTime::now_utc().unix_timestamp() + 30);
    let with_mfa = s
        .sts(
            &dora,
            "GetSessionToken",
            &[("SerialNumber", &serial), ("TokenCode", &code)],
        )
        .await
        .credentials();
    s.assume_role(&with_mfa, &role, "s-m", &[])
        .await
        .expect_ok();
    let without = s.sts(&dora, "GetSessionToken", &[]).await.credentials();
    s.assume_role(&without, &role, "s-m", &[])
        .await
        .expect_err(403, "AccessDenied");

    // aws:MultiFactorAuthAge: present (and small) only with MFA.
    let fresh = json!({ "NumericLessThan": { "aws:MultiFactorAuthAge": "3600" } });
    let recent = s
        .role(
            "recent-mfa",
            &trust(&user_arn("dora"), &["sts:AssumeRole"], Some(fresh)),
            None,
        )
        .await;
    s.assume_role(&with_mfa, &recent, "s-m", &[])
        .await
        .expect_ok();
    s.assume_role(&without, &recent, "s-m", &[])
        .await
        .expect_err(403, "AccessDenied");

    // MFA-protected API access: an identity policy requiring MFA.
    let mfa_only = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": "*",
            "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } }
        }]
    })
    .to_string();
    s.iam(
        admin,
        "PutUserPolicy",
        &[
            ("UserName", "dora"),
            ("PolicyName", "mfa-models"),
            ("PolicyDocument", &mfa_only),
        ],
    )
    .await
    .expect_ok();
    s.converse(&with_mfa, ECHO, "hi").await.expect_ok();
    s.converse(&without, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.converse(&dora, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn trust_policy_on_principal_tags() {
    let s = start().await;
    let assume = allow(&["sts:AssumeRole"], &["*"]);
    let tagged = s
        .user_tagged("tagged", Some(&assume), &[("team", "ai")])
        .await;
    let other = s
        .user_tagged("other", Some(&assume), &[("team", "web")])
        .await;
    let untagged = s.user("untagged", Some(&assume)).await;
    let cond = json!({ "StringEquals": { "aws:PrincipalTag/team": "ai" } });
    let role = s
        .role(
            "team-ai",
            &trust(
                &format!("arn:aws:iam::{ACCOUNT}:root"),
                &["sts:AssumeRole"],
                Some(cond),
            ),
            None,
        )
        .await;
    s.assume_role(&tagged, &role, "s-t", &[]).await.expect_ok();
    s.assume_role(&other, &role, "s-o", &[])
        .await
        .expect_err(403, "AccessDenied");
    s.assume_role(&untagged, &role, "s-u", &[])
        .await
        .expect_err(403, "AccessDenied");
}
