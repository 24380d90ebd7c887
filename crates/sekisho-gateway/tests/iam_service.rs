//! The IAM service's handlers: the XML shapes botocore's IAM model expects,
//! the error mapping, the write path (all or nothing, durable) and the
//! secrets it hands out once.
//!
//! Set `SEKISHO_IAM_DUMP=DIR` to keep each response document of
//! `tour_of_every_shape` as `DIR/{Action}.xml` (for checking them with
//! botocore's parser).

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use sekisho_gateway::auth::Caller;
use sekisho_gateway::error::{ApiError, Dialect, ErrorKind};
use sekisho_gateway::gateway::Gateway;
use sekisho_gateway::protocol::query::QueryParams;
use sekisho_gateway::protocol::xml::{IAM_NS, query_response_body};
use sekisho_gateway::registry::{Input, OPERATIONS, Registry};
use sekisho_gateway::server::ConnInfo;
use sekisho_gateway::services::iam::{handle, iam_error};
use sekisho_gateway::services::{Call, Reply};
use sekisho_identity::iam::{CreateUserRequest, IamError, IamErrorKind, IamState};
use sekisho_identity::totp;
use sekisho_policy::Principal;
use sekisho_policy::principal::{AwsPrincipal, AwsPrincipalKind};
use sekisho_store::{SqliteStore, Store};

const ACCOUNT: &str = "123456789012";

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}"#;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}]}"#;

struct Fixture {
    gateway: Gateway,
    store: Arc<SqliteStore>,
    admin: Caller,
}

fn fixture() -> Fixture {
    let now = time::OffsetDateTime::now_utc();
    let mut iam = IamState::new(ACCOUNT).unwrap();
    let admin = iam
        .create_user(
            CreateUserRequest {
                user_name: "admin".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap()
        .clone();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let changes = iam.take_changes().unwrap();
    let writes: Vec<_> = changes
        .into_iter()
        .map(|c| sekisho_store::Write::set(c.collection, c.key, c.value))
        .collect();
    store.write(&writes).unwrap();
    let gateway = Gateway::detached(ACCOUNT, iam, store.clone());
    let caller = Caller {
        principal: Principal::Aws(AwsPrincipal {
            arn: admin.arn.clone(),
            account: ACCOUNT.into(),
            kind: AwsPrincipalKind::User,
            role_arn: None,
        }),
        arn: admin.arn.clone(),
        account: ACCOUNT.into(),
        user_id: admin.id.clone(),
        user_name: Some("admin".into()),
        role_name: None,
        access_key_id: "AKIAEXAMPLEEXAMPLE12".into(),
        session: None,
    };
    Fixture {
        gateway,
        store,
        admin: caller,
    }
}

fn role_session_caller() -> Caller {
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/s1");
    Caller {
        principal: Principal::Aws(AwsPrincipal {
            arn: arn.clone(),
            account: ACCOUNT.into(),
            kind: AwsPrincipalKind::AssumedRole,
            role_arn: Some(format!("arn:aws:iam::{ACCOUNT}:role/ops")),
        }),
        arn,
        account: ACCOUNT.into(),
        user_id: "AROAEXAMPLEEXAMPLE123:s1".into(),
        user_name: None,
        role_name: Some("ops".into()),
        access_key_id: "ASIAEXAMPLEEXAMPLE12".into(),
        session: None,
    }
}

fn make_call(action: &str, params: &[(&str, &str)], caller: &Caller) -> Call {
    let op = Registry::get()
        .query("iam", action)
        .unwrap_or_else(|| panic!("{action} is not in the registry"));
    let mut all: Vec<(&str, &str)> = vec![("Action", action), ("Version", "2010-05-08")];
    all.extend_from_slice(params);
    let body = serde_urlencoded::to_string(&all).unwrap();
    let q = QueryParams::parse(body.as_bytes()).unwrap();
    Call {
        op,
        input: Input::Query(q),
        headers: http::HeaderMap::new(),
        body: Bytes::from(body),
        caller: caller.clone(),
        region: "us-east-1".into(),
        request_id: "req-1".into(),
        conn: Arc::new(ConnInfo {
            peer: "127.0.0.1:50000".parse().unwrap(),
            local: "127.0.0.1:8443".parse().unwrap(),
            listener: 0,
            tls_version: "TLSv1.3",
            cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
            server_name: None,
        }),
        resource: "*".into(),
        context: sekisho_policy::Context::new(),
    }
}

/// Runs an operation as `caller`; the whole response document.
async fn run_as(
    fx: &Fixture,
    caller: &Caller,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String, ApiError> {
    let reply = handle(&fx.gateway, make_call(action, params, caller)).await?;
    let Reply::Xml(write) = reply else {
        panic!("{action} did not answer in XML");
    };
    let xml = query_response_body(action, IAM_NS, "req-1", write);
    if let Some(dir) = std::env::var_os("SEKISHO_IAM_DUMP") {
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{action}.xml")),
            &xml,
        )
        .unwrap();
    }
    Ok(xml)
}

async fn run(fx: &Fixture, action: &str, params: &[(&str, &str)]) -> Result<String, ApiError> {
    run_as(fx, &fx.admin, action, params).await
}

async fn ok(fx: &Fixture, action: &str, params: &[(&str, &str)]) -> String {
    run(fx, action, params)
        .await
        .unwrap_or_else(|e| panic!("{action}: {e} ({})", e.code(Dialect::Query)))
}

async fn err(fx: &Fixture, action: &str, params: &[(&str, &str)]) -> ApiError {
    match run(fx, action, params).await {
        Ok(xml) => panic!("{action} succeeded: {xml}"),
        Err(e) => e,
    }
}

/// The text of every `<tag>…</tag>` (not nested in itself).
fn all<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after
            .find(&close)
            .unwrap_or_else(|| panic!("<{tag}> is not closed in {xml}"));
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

fn one<'a>(xml: &'a str, tag: &str) -> &'a str {
    let found = all(xml, tag);
    assert_eq!(found.len(), 1, "<{tag}> once in {xml}");
    found[0]
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn is_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

fn stored_keys(store: &SqliteStore, collection: &str) -> Vec<String> {
    store
        .list(collection, "")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn create_user_shape() {
    let fx = fixture();
    let xml = ok(
        &fx,
        "CreateUser",
        &[
            ("UserName", "alice"),
            ("Path", "/team/"),
            ("Tags.member.1.Key", "Project"),
            ("Tags.member.1.Value", "Sekisho AI"),
        ],
    )
    .await;
    assert!(
        xml.starts_with(r#"<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/team/</Path><UserName>alice</UserName><UserId>AIDA"#),
        "{xml}"
    );
    assert_eq!(
        one(&xml, "Arn"),
        "arn:aws:iam::123456789012:user/team/alice"
    );
    assert!(is_iso8601(one(&xml, "CreateDate")), "{xml}");
    assert!(
        xml.contains("<Tags><member><Key>Project</Key><Value>Sekisho AI</Value></member></Tags>"),
        "{xml}"
    );
    assert!(!xml.contains("PermissionsBoundary"), "{xml}");
    assert!(
        xml.ends_with("</User></CreateUserResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateUserResponse>"),
        "{xml}"
    );
    // Published and durable.
    assert!(fx.gateway.iam.load().get_user("alice").is_ok());
    assert!(
        stored_keys(&fx.store, "iam.users")
            .iter()
            .any(|k| k.ends_with("/alice"))
    );

    // GetUser shows the same user; with a boundary, its structure.
    ok(
        &fx,
        "CreatePolicy",
        &[("PolicyName", "limit"), ("PolicyDocument", POLICY)],
    )
    .await;
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/limit");
    ok(
        &fx,
        "PutUserPermissionsBoundary",
        &[("UserName", "alice"), ("PermissionsBoundary", &boundary)],
    )
    .await;
    let xml = ok(&fx, "GetUser", &[("UserName", "alice")]).await;
    assert!(
        xml.contains(&format!(
            "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>{boundary}</PermissionsBoundaryArn></PermissionsBoundary>"
        )),
        "{xml}"
    );
    // Without UserName: the caller.
    let xml = ok(&fx, "GetUser", &[]).await;
    assert_eq!(one(&xml, "UserName"), "admin");
}

#[tokio::test]
async fn list_users_pages_with_markers() {
    let fx = fixture();
    for name in ["dave", "Bob", "carol", "alice", "erin"] {
        ok(&fx, "CreateUser", &[("UserName", name)]).await;
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("MaxItems", "2")];
        if let Some(m) = &marker {
            params.push(("Marker", m.as_str()));
        }
        let xml = ok(&fx, "ListUsers", &params).await;
        pages += 1;
        let users = one(&xml, "Users");
        let names: Vec<String> = all(users, "UserName")
            .into_iter()
            .map(str::to_string)
            .collect();
        assert!(names.len() <= 2, "{xml}");
        // Listings leave out tags and boundaries, as AWS does.
        assert!(!xml.contains("<Tags>"), "{xml}");
        seen.extend(names);
        match one(&xml, "IsTruncated") {
            "true" => marker = Some(one(&xml, "Marker").to_string()),
            "false" => {
                assert!(all(&xml, "Marker").is_empty(), "{xml}");
                break;
            }
            other => panic!("IsTruncated {other}"),
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["admin", "alice", "Bob", "carol", "dave", "erin"]);

    // An empty listing is an empty list, not a missing one.
    let xml = ok(&fx, "ListUsers", &[("PathPrefix", "/nobody/")]).await;
    assert!(
        xml.contains(
            "<ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>"
        ),
        "{xml}"
    );

    let e = err(&fx, "ListUsers", &[("MaxItems", "0")]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("ValidationError", 400)
    );
}

#[tokio::test]
async fn roles_carry_their_trust_policy_url_encoded() {
    let fx = fixture();
    let xml = ok(
        &fx,
        "CreateRole",
        &[
            ("RoleName", "bedrock-caller"),
            ("AssumeRolePolicyDocument", TRUST),
            ("Description", "Calls <models>"),
            ("MaxSessionDuration", "7200"),
        ],
    )
    .await;
    let encoded = one(&xml, "AssumeRolePolicyDocument");
    assert!(
        encoded.starts_with("%7B%22Version%22%3A%20%222012-10-17%22"),
        "{encoded}"
    );
    assert_eq!(percent_decode(encoded), TRUST);

    let xml = ok(&fx, "GetRole", &[("RoleName", "BEDROCK-CALLER")]).await;
    assert!(
        xml.starts_with(r#"<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>bedrock-caller</RoleName><RoleId>AROA"#),
        "{xml}"
    );
    assert_eq!(percent_decode(one(&xml, "AssumeRolePolicyDocument")), TRUST);
    assert_eq!(one(&xml, "Description"), "Calls &lt;models&gt;");
    assert_eq!(one(&xml, "MaxSessionDuration"), "7200");
    assert_eq!(
        one(&xml, "Arn"),
        "arn:aws:iam::123456789012:role/bedrock-caller"
    );

    let xml = ok(&fx, "ListRoles", &[]).await;
    assert_eq!(percent_decode(one(&xml, "AssumeRolePolicyDocument")), TRUST);

    // A new trust policy replaces the old.
    let other = TRUST.replace("root", "user/admin");
    ok(
        &fx,
        "UpdateAssumeRolePolicy",
        &[("RoleName", "bedrock-caller"), ("PolicyDocument", &other)],
    )
    .await;
    let xml = ok(&fx, "GetRole", &[("RoleName", "bedrock-caller")]).await;
    assert_eq!(percent_decode(one(&xml, "AssumeRolePolicyDocument")), other);

    // A trust policy without a principal is refused, and nothing changes.
    let bad =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
    let e = err(
        &fx,
        "CreateRole",
        &[("RoleName", "broken"), ("AssumeRolePolicyDocument", bad)],
    )
    .await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("MalformedPolicyDocument", 400)
    );
    assert!(fx.gateway.iam.load().get_role("broken").is_err());
    assert_eq!(stored_keys(&fx.store, "iam.roles").len(), 1);
}

#[tokio::test]
async fn access_keys_secret_once_sealed_at_rest() {
    let fx = fixture();
    // Without UserName, for the caller.
    let xml = ok(&fx, "CreateAccessKey", &[]).await;
    let key = one(&xml, "AccessKey");
    assert_eq!(one(key, "UserName"), "admin");
    let id = one(key, "AccessKeyId").to_string();
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(one(key, "Status"), "Active");
    let secret = one(key, "SecretAccessKey").to_string();
    assert_eq!(secret.len(), 40);
    assert!(is_iso8601(one(key, "CreateDate")));

    // The state and the store hold it sealed; it opens to what was shown.
    let state = fx.gateway.iam.load_full();
    let (user, stored) = state.find_access_key(&id).unwrap();
    assert_eq!(user.name, "admin");
    assert!(
        !stored
            .secret
            .as_bytes()
            .windows(8)
            .any(|w| w == &secret.as_bytes()[..8])
    );
    assert_eq!(
        fx.gateway.secrets.open(&stored.secret).unwrap().expose(),
        secret
    );
    for (_, doc) in fx.store.list("iam.users", "").unwrap() {
        assert!(!String::from_utf8_lossy(&doc).contains(&secret));
    }

    // Listing shows metadata only.
    let xml = ok(&fx, "ListAccessKeys", &[]).await;
    assert!(!xml.contains(&secret) && !xml.contains("SecretAccessKey"));
    assert_eq!(all(&xml, "AccessKeyId"), [id.as_str()]);
    assert_eq!(one(&xml, "IsTruncated"), "false");

    ok(
        &fx,
        "UpdateAccessKey",
        &[("AccessKeyId", &id), ("Status", "Inactive")],
    )
    .await;
    let xml = ok(&fx, "ListAccessKeys", &[("UserName", "admin")]).await;
    assert_eq!(one(&xml, "Status"), "Inactive");
    let e = err(
        &fx,
        "UpdateAccessKey",
        &[("AccessKeyId", &id), ("Status", "Paused")],
    )
    .await;
    assert_eq!(e.code(Dialect::Query), "ValidationError");

    // Two per user.
    ok(&fx, "CreateAccessKey", &[("UserName", "admin")]).await;
    let e = err(&fx, "CreateAccessKey", &[]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("LimitExceeded", 409)
    );
    assert_eq!(
        fx.gateway
            .iam
            .load()
            .list_access_keys("admin")
            .unwrap()
            .len(),
        2
    );

    // A user with keys cannot be deleted.
    ok(&fx, "CreateUser", &[("UserName", "bob")]).await;
    ok(&fx, "CreateAccessKey", &[("UserName", "bob")]).await;
    let e = err(&fx, "DeleteUser", &[("UserName", "bob")]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("DeleteConflict", 409)
    );

    ok(&fx, "DeleteAccessKey", &[("AccessKeyId", &id)]).await;
    assert!(fx.gateway.iam.load().find_access_key(&id).is_none());

    // A role session must name the user.
    let session = role_session_caller();
    for action in [
        "GetUser",
        "CreateAccessKey",
        "ListAccessKeys",
        "ListMFADevices",
    ] {
        let e = run_as(&fx, &session, action, &[]).await.unwrap_err();
        assert_eq!(
            (e.code(Dialect::Query), e.kind.status()),
            ("ValidationError", 400),
            "{action}"
        );
        assert!(e.message.contains("userName"), "{}", e.message);
    }
}

#[test]
fn iam_errors_keep_their_code_and_status() {
    use IamErrorKind::*;
    for kind in [
        NoSuchEntity,
        EntityAlreadyExists,
        LimitExceeded,
        DeleteConflict,
        InvalidInput,
        MalformedPolicyDocument,
        ValidationError,
        UnmodifiableEntity,
        InvalidAuthenticationCode,
        ServiceFailure,
    ] {
        let e = iam_error(IamError::new(kind, "words"));
        assert_eq!(e.code(Dialect::Query), kind.code(), "{kind:?}");
        assert_eq!(e.kind.status(), kind.http_status(), "{kind:?}");
        assert_eq!(
            e.kind.is_sender_fault(),
            kind.fault() == "Sender",
            "{kind:?}"
        );
        assert_eq!(e.message, "words");
    }
}

#[tokio::test]
async fn errors_on_the_wire() {
    let fx = fixture();
    let e = err(&fx, "GetUser", &[("UserName", "nobody")]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("NoSuchEntity", 404)
    );
    assert_eq!(e.message, "The user with name nobody cannot be found.");

    let e = err(&fx, "CreateUser", &[("UserName", "ADMIN")]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("EntityAlreadyExists", 409)
    );

    let e = err(&fx, "CreateUser", &[]).await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("ValidationError", 400)
    );

    let e = err(
        &fx,
        "AttachUserPolicy",
        &[
            ("UserName", "admin"),
            ("PolicyArn", "arn:aws:s3:::bucket/policy-x"),
        ],
    )
    .await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("InvalidInput", 400)
    );

    let e = err(
        &fx,
        "CreatePolicy",
        &[("PolicyName", "p"), ("PolicyDocument", "{not json")],
    )
    .await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("MalformedPolicyDocument", 400)
    );
    assert!(stored_keys(&fx.store, "iam.policies").is_empty());

    let e = err(
        &fx,
        "CreatePolicyVersion",
        &[
            ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
            ("PolicyDocument", POLICY),
        ],
    )
    .await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("UnmodifiableEntity", 400)
    );

    let e = err(&fx, "ListPolicies", &[("Scope", "Mine")]).await;
    assert_eq!(e.code(Dialect::Query), "ValidationError");
}

#[tokio::test]
async fn every_registry_operation_has_a_handler() {
    let fx = fixture();
    let mut served = 0;
    for op in OPERATIONS.iter().filter(|op| op.service == "iam") {
        // Without parameters most fail validation; none may be unknown.
        if let Err(e) = run(&fx, op.name, &[]).await {
            assert_ne!(e.kind, ErrorKind::UnknownOperation, "{}: {e}", op.name);
            assert_ne!(e.kind, ErrorKind::Internal, "{}: {e}", op.name);
        }
        served += 1;
    }
    assert!(served >= 67, "{served}");
}

#[tokio::test]
async fn managed_policies_and_versions() {
    let fx = fixture();
    let xml = ok(
        &fx,
        "CreatePolicy",
        &[
            ("PolicyName", "AllowClaudeOnly"),
            ("Path", "/bedrock/"),
            ("PolicyDocument", POLICY),
            ("Description", "one model"),
        ],
    )
    .await;
    let arn = one(&xml, "Arn").to_string();
    assert_eq!(
        arn,
        "arn:aws:iam::123456789012:policy/bedrock/AllowClaudeOnly"
    );
    assert_eq!(one(&xml, "DefaultVersionId"), "v1");
    assert_eq!(one(&xml, "AttachmentCount"), "0");
    assert_eq!(one(&xml, "IsAttachable"), "true");
    assert!(one(&xml, "PolicyId").starts_with("ANPA"));

    let v2 = POLICY.replace("haiku", "sonnet");
    let xml = ok(
        &fx,
        "CreatePolicyVersion",
        &[
            ("PolicyArn", &arn),
            ("PolicyDocument", &v2),
            ("SetAsDefault", "true"),
        ],
    )
    .await;
    assert!(
        xml.contains("<PolicyVersion><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>"),
        "{xml}"
    );
    let xml = ok(
        &fx,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v1")],
    )
    .await;
    assert_eq!(percent_decode(one(&xml, "Document")), POLICY);
    assert_eq!(one(&xml, "IsDefaultVersion"), "false");
    let xml = ok(&fx, "ListPolicyVersions", &[("PolicyArn", &arn)]).await;
    assert_eq!(all(&xml, "VersionId"), ["v2", "v1"]);
    assert!(!xml.contains("<Document>"));

    ok(
        &fx,
        "AttachUserPolicy",
        &[("UserName", "admin"), ("PolicyArn", &arn)],
    )
    .await;
    let xml = ok(&fx, "GetPolicy", &[("PolicyArn", &arn)]).await;
    assert_eq!(one(&xml, "AttachmentCount"), "1");
    assert_eq!(one(&xml, "DefaultVersionId"), "v2");
    assert_eq!(one(&xml, "Description"), "one model");
    let xml = ok(&fx, "ListAttachedUserPolicies", &[("UserName", "admin")]).await;
    assert!(xml.contains(&format!(
        "<AttachedPolicies><member><PolicyName>AllowClaudeOnly</PolicyName><PolicyArn>{arn}</PolicyArn></member></AttachedPolicies>"
    )));
    let xml = ok(
        &fx,
        "ListPolicies",
        &[("Scope", "Local"), ("OnlyAttached", "true")],
    )
    .await;
    assert_eq!(all(&xml, "PolicyName"), ["AllowClaudeOnly"]);

    let e = err(&fx, "DeletePolicy", &[("PolicyArn", &arn)]).await;
    assert_eq!(e.code(Dialect::Query), "DeleteConflict");

    // Inline policies come back URL-encoded, under the stored names.
    ok(
        &fx,
        "PutUserPolicy",
        &[
            ("UserName", "Admin"),
            ("PolicyName", "inline"),
            ("PolicyDocument", POLICY),
        ],
    )
    .await;
    let xml = ok(
        &fx,
        "GetUserPolicy",
        &[("UserName", "ADMIN"), ("PolicyName", "inline")],
    )
    .await;
    assert_eq!(one(&xml, "UserName"), "admin");
    assert_eq!(one(&xml, "PolicyName"), "inline");
    assert_eq!(percent_decode(one(&xml, "PolicyDocument")), POLICY);
    let xml = ok(&fx, "ListUserPolicies", &[("UserName", "admin")]).await;
    assert!(xml.contains(
        "<PolicyNames><member>inline</member></PolicyNames><IsTruncated>false</IsTruncated>"
    ));
}

#[tokio::test]
async fn virtual_mfa_devices() {
    let fx = fixture();
    let xml = ok(
        &fx,
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", "admin-phone")],
    )
    .await;
    let serial = one(&xml, "SerialNumber").to_string();
    assert_eq!(serial, "arn:aws:iam::123456789012:mfa/admin-phone");
    // A blob: base64 of the base32 text.
    let b64 = one(&xml, "Base32StringSeed");
    let base32 = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(base32.len(), 32);
    let seed = totp::base32_decode(&base32).unwrap();
    // Sealed at rest.
    let state = fx.gateway.iam.load_full();
    let device = state.find_mfa_device(&serial).unwrap();
    assert!(
        !device
            .seed
            .as_bytes()
            .windows(8)
            .any(|w| w == &base32.as_bytes()[..8])
    );

    let xml = ok(
        &fx,
        "ListVirtualMFADevices",
        &[("AssignmentStatus", "Unassigned")],
    )
    .await;
    assert_eq!(all(&xml, "SerialNumber"), [serial.as_str()]);
    assert!(!xml.contains("Base32StringSeed"));

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let wrong = ("000000", "000000");
    let e = err(
        &fx,
        "EnableMFADevice",
        &[
            ("UserName", "admin"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", wrong.0),
            ("AuthenticationCode2", wrong.1),
        ],
    )
    .await;
    assert_eq!(
        (e.code(Dialect::Query), e.kind.status()),
        ("InvalidAuthenticationCode", 403)
    );
    // Two codes of the same step are not two consecutive codes.
    let current = totp::code_at(&seed, now);
    let e = err(
        &fx,
        "EnableMFADevice",
        &[
            ("UserName", "admin"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &current),
            ("AuthenticationCode2", &current),
        ],
    )
    .await;
    assert_eq!(e.code(Dialect::Query), "InvalidAuthenticationCode");
    assert!(
        fx.gateway
            .iam
            .load()
            .find_mfa_device(&serial)
            .unwrap()
            .user
            .is_none()
    );

    let code1 = totp::code_at(&seed, now - 30);
    ok(
        &fx,
        "EnableMFADevice",
        &[
            ("UserName", "admin"),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &code1),
            ("AuthenticationCode2", &current),
        ],
    )
    .await;
    let xml = ok(&fx, "ListMFADevices", &[]).await;
    assert_eq!(one(&xml, "UserName"), "admin");
    assert_eq!(one(&xml, "SerialNumber"), serial);
    assert!(is_iso8601(one(&xml, "EnableDate")));
    let xml = ok(&fx, "ListVirtualMFADevices", &[]).await;
    assert_eq!(one(one(&xml, "User"), "UserName"), "admin");

    let e = err(&fx, "DeleteVirtualMFADevice", &[("SerialNumber", &serial)]).await;
    assert_eq!(e.code(Dialect::Query), "DeleteConflict");
    ok(
        &fx,
        "DeactivateMFADevice",
        &[("UserName", "admin"), ("SerialNumber", &serial)],
    )
    .await;
    ok(&fx, "DeleteVirtualMFADevice", &[("SerialNumber", &serial)]).await;
    assert!(stored_keys(&fx.store, "iam.mfa").is_empty());
}

/// Every operation once, successfully, in a realistic order (with
/// `SEKISHO_IAM_DUMP` set, each answer is kept for botocore's parser).
#[tokio::test]
async fn tour_of_every_shape() {
    let fx = fixture();
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/tour");
    let steps: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "CreateUser",
            vec![
                ("UserName", "tourist".into()),
                ("Tags.member.1.Key", "k".into()),
                ("Tags.member.1.Value", "v".into()),
            ],
        ),
        ("GetUser", vec![("UserName", "tourist".into())]),
        ("ListUsers", vec![("MaxItems", "1".into())]),
        (
            "TagUser",
            vec![
                ("UserName", "tourist".into()),
                ("Tags.member.1.Key", "k2".into()),
                ("Tags.member.1.Value", "v2".into()),
            ],
        ),
        ("ListUserTags", vec![("UserName", "tourist".into())]),
        (
            "UntagUser",
            vec![
                ("UserName", "tourist".into()),
                ("TagKeys.member.1", "k2".into()),
            ],
        ),
        (
            "CreatePolicy",
            vec![
                ("PolicyName", "tour".into()),
                ("PolicyDocument", POLICY.into()),
                ("Tags.member.1.Key", "k".into()),
                ("Tags.member.1.Value", "v".into()),
            ],
        ),
        ("GetPolicy", vec![("PolicyArn", policy_arn.clone())]),
        ("ListPolicies", vec![("MaxItems", "3".into())]),
        (
            "CreatePolicyVersion",
            vec![
                ("PolicyArn", policy_arn.clone()),
                ("PolicyDocument", POLICY.into()),
            ],
        ),
        (
            "GetPolicyVersion",
            vec![
                ("PolicyArn", policy_arn.clone()),
                ("VersionId", "v2".into()),
            ],
        ),
        (
            "ListPolicyVersions",
            vec![("PolicyArn", policy_arn.clone())],
        ),
        (
            "SetDefaultPolicyVersion",
            vec![
                ("PolicyArn", policy_arn.clone()),
                ("VersionId", "v2".into()),
            ],
        ),
        (
            "DeletePolicyVersion",
            vec![
                ("PolicyArn", policy_arn.clone()),
                ("VersionId", "v1".into()),
            ],
        ),
        (
            "PutUserPermissionsBoundary",
            vec![
                ("UserName", "tourist".into()),
                ("PermissionsBoundary", policy_arn.clone()),
            ],
        ),
        (
            "DeleteUserPermissionsBoundary",
            vec![("UserName", "tourist".into())],
        ),
        ("CreateGroup", vec![("GroupName", "tourists".into())]),
        (
            "AddUserToGroup",
            vec![
                ("GroupName", "tourists".into()),
                ("UserName", "tourist".into()),
            ],
        ),
        ("GetGroup", vec![("GroupName", "tourists".into())]),
        ("ListGroups", vec![]),
        ("ListGroupsForUser", vec![("UserName", "tourist".into())]),
        (
            "CreateRole",
            vec![
                ("RoleName", "tour-role".into()),
                ("AssumeRolePolicyDocument", TRUST.into()),
                ("Tags.member.1.Key", "k".into()),
                ("Tags.member.1.Value", "v".into()),
            ],
        ),
        ("GetRole", vec![("RoleName", "tour-role".into())]),
        ("ListRoles", vec![]),
        (
            "UpdateRole",
            vec![
                ("RoleName", "tour-role".into()),
                ("Description", "d".into()),
                ("MaxSessionDuration", "7200".into()),
            ],
        ),
        (
            "UpdateAssumeRolePolicy",
            vec![
                ("RoleName", "tour-role".into()),
                ("PolicyDocument", TRUST.into()),
            ],
        ),
        (
            "TagRole",
            vec![
                ("RoleName", "tour-role".into()),
                ("Tags.member.1.Key", "k2".into()),
                ("Tags.member.1.Value", "v2".into()),
            ],
        ),
        ("ListRoleTags", vec![("RoleName", "tour-role".into())]),
        (
            "UntagRole",
            vec![
                ("RoleName", "tour-role".into()),
                ("TagKeys.member.1", "k2".into()),
            ],
        ),
        (
            "PutRolePermissionsBoundary",
            vec![
                ("RoleName", "tour-role".into()),
                ("PermissionsBoundary", policy_arn.clone()),
            ],
        ),
        (
            "DeleteRolePermissionsBoundary",
            vec![("RoleName", "tour-role".into())],
        ),
        (
            "AttachUserPolicy",
            vec![
                ("UserName", "tourist".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "ListAttachedUserPolicies",
            vec![("UserName", "tourist".into())],
        ),
        (
            "DetachUserPolicy",
            vec![
                ("UserName", "tourist".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "AttachGroupPolicy",
            vec![
                ("GroupName", "tourists".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "ListAttachedGroupPolicies",
            vec![("GroupName", "tourists".into())],
        ),
        (
            "DetachGroupPolicy",
            vec![
                ("GroupName", "tourists".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "AttachRolePolicy",
            vec![
                ("RoleName", "tour-role".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "ListAttachedRolePolicies",
            vec![("RoleName", "tour-role".into())],
        ),
        (
            "DetachRolePolicy",
            vec![
                ("RoleName", "tour-role".into()),
                ("PolicyArn", policy_arn.clone()),
            ],
        ),
        (
            "PutUserPolicy",
            vec![
                ("UserName", "tourist".into()),
                ("PolicyName", "p".into()),
                ("PolicyDocument", POLICY.into()),
            ],
        ),
        (
            "GetUserPolicy",
            vec![("UserName", "tourist".into()), ("PolicyName", "p".into())],
        ),
        ("ListUserPolicies", vec![("UserName", "tourist".into())]),
        (
            "DeleteUserPolicy",
            vec![("UserName", "tourist".into()), ("PolicyName", "p".into())],
        ),
        (
            "PutGroupPolicy",
            vec![
                ("GroupName", "tourists".into()),
                ("PolicyName", "p".into()),
                ("PolicyDocument", POLICY.into()),
            ],
        ),
        (
            "GetGroupPolicy",
            vec![("GroupName", "tourists".into()), ("PolicyName", "p".into())],
        ),
        ("ListGroupPolicies", vec![("GroupName", "tourists".into())]),
        (
            "DeleteGroupPolicy",
            vec![("GroupName", "tourists".into()), ("PolicyName", "p".into())],
        ),
        (
            "PutRolePolicy",
            vec![
                ("RoleName", "tour-role".into()),
                ("PolicyName", "p".into()),
                ("PolicyDocument", POLICY.into()),
            ],
        ),
        (
            "GetRolePolicy",
            vec![("RoleName", "tour-role".into()), ("PolicyName", "p".into())],
        ),
        ("ListRolePolicies", vec![("RoleName", "tour-role".into())]),
        (
            "DeleteRolePolicy",
            vec![("RoleName", "tour-role".into()), ("PolicyName", "p".into())],
        ),
        ("CreateAccessKey", vec![("UserName", "tourist".into())]),
        ("ListAccessKeys", vec![("UserName", "tourist".into())]),
        (
            "CreateVirtualMFADevice",
            vec![
                ("VirtualMFADeviceName", "tour-mfa".into()),
                ("Tags.member.1.Key", "k".into()),
                ("Tags.member.1.Value", "v".into()),
            ],
        ),
        ("ListVirtualMFADevices", vec![]),
        ("ListMFADevices", vec![("UserName", "tourist".into())]),
        (
            "DeleteVirtualMFADevice",
            vec![(
                "SerialNumber",
                format!("arn:aws:iam::{ACCOUNT}:mfa/tour-mfa"),
            )],
        ),
        (
            "RemoveUserFromGroup",
            vec![
                ("GroupName", "tourists".into()),
                ("UserName", "tourist".into()),
            ],
        ),
        ("DeleteGroup", vec![("GroupName", "tourists".into())]),
        ("DeleteRole", vec![("RoleName", "tour-role".into())]),
    ];
    let mut done = std::collections::BTreeSet::new();
    for (action, params) in &steps {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ok(&fx, action, &params).await;
        done.insert(*action);
    }
    // The access key's own calls, then the user can go.
    let key_id = fx.gateway.iam.load().list_access_keys("tourist").unwrap()[0]
        .id
        .clone();
    for (action, params) in [
        (
            "UpdateAccessKey",
            vec![
                ("UserName", "tourist"),
                ("AccessKeyId", key_id.as_str()),
                ("Status", "Inactive"),
            ],
        ),
        (
            "DeleteAccessKey",
            vec![("UserName", "tourist"), ("AccessKeyId", key_id.as_str())],
        ),
        ("DeletePolicy", vec![("PolicyArn", policy_arn.as_str())]),
        ("DeleteUser", vec![("UserName", "tourist")]),
    ] {
        ok(&fx, action, &params).await;
        done.insert(action);
    }
    // EnableMFADevice and DeactivateMFADevice are in `virtual_mfa_devices`.
    let missing: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| op.service == "iam" && !done.contains(op.name))
        .map(|op| op.name)
        .collect();
    assert_eq!(missing, ["EnableMFADevice", "DeactivateMFADevice"]);
}
