//! End to end: authentication failures, in both wire dialects.
//!
//! Each refusal is checked on STS (Query: `<Code>` in the XML document) and
//! on Bedrock runtime (rest-json: `x-amzn-ErrorType`): unsigned, unknown
//! key, wrong secret, clock skew (6 minutes either way refused, 4 accepted),
//! presigned URLs (valid and expired), a tampered session token and an
//! expired one sealed with the gateway's own key.

mod common;

use std::time::Duration;

use common::*;
use sekisho_identity::keys::{AccessKeyKind, SecretString, generate_access_key};
use sekisho_identity::token::{SessionClaims, SessionKind};
use serde_json::json;
use time::OffsetDateTime;

fn gci() -> Req {
    Req::query("sts", "GetCallerIdentity", &[])
}

fn converse() -> Req {
    Req::bedrock(ECHO, "converse", &converse_body("hello"))
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let s = start().await;
    s.send_unsigned(&gci())
        .await
        .expect_err(403, "MissingAuthenticationToken");
    s.send_unsigned(&converse())
        .await
        .expect_err(403, "MissingAuthenticationTokenException");
    // An Authorization header that is not SigV4.
    let basic = converse().header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    s.send_unsigned(&basic)
        .await
        .expect_err(403, "IncompleteSignatureException");
    let basic = gci().header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    s.send_unsigned(&basic)
        .await
        .expect_err(403, "IncompleteSignature");
    let garbage = gci().header("authorization", "AWS4-HMAC-SHA256 garbage");
    s.send_unsigned(&garbage)
        .await
        .expect_err(403, "IncompleteSignature");
    let garbage = converse().header(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=x, Signature=y",
    );
    s.send_unsigned(&garbage)
        .await
        .expect_err(403, "IncompleteSignatureException");
}

#[tokio::test]
async fn unknown_access_key_is_refused() {
    let s = start().await;
    let stranger = Creds::long_term(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    s.sign_and_send(&gci(), &stranger)
        .await
        .expect_err(403, "InvalidClientTokenId");
    s.sign_and_send(&converse(), &stranger)
        .await
        .expect_err(403, "UnrecognizedClientException");
    // Not an AWS key id at all.
    let odd = Creds::long_term("NOTAKEY123", "secret");
    s.sign_and_send(&gci(), &odd)
        .await
        .expect_err(403, "InvalidClientTokenId");
    // A temporary key id without a session token.
    let asia = Creds::long_term("ASIAIOSFODNN7EXAMPLE", "secret");
    s.sign_and_send(&gci(), &asia)
        .await
        .expect_err(403, "InvalidClientTokenId");
    s.sign_and_send(&converse(), &asia)
        .await
        .expect_err(403, "UnrecognizedClientException");
}

#[tokio::test]
async fn wrong_secret_and_altered_requests_are_refused() {
    let s = start().await;
    let wrong = Creds::long_term(
        &s.admin.access_key_id,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let r = s.sign_and_send(&gci(), &wrong).await;
    r.expect_err(403, "SignatureDoesNotMatch");
    assert!(
        !r.text().contains(&s.admin.secret_access_key),
        "the secret never shows"
    );
    s.sign_and_send(&converse(), &wrong)
        .await
        .expect_err(403, "InvalidSignatureException");

    // A correct signature, then one digit changed.
    let mut signed = s.sign(&gci(), &s.admin);
    signed.corrupt_signature();
    s.send(&signed)
        .await
        .expect_err(403, "SignatureDoesNotMatch");
    // The body changed after signing.
    let mut signed = s.sign(&converse(), &s.admin);
    signed.body = serde_json::to_vec(&converse_body("HELLO")).unwrap();
    s.send(&signed)
        .await
        .expect_err(403, "InvalidSignatureException");
    // A signed header changed after signing.
    let mut signed = s.sign(&converse().header("x-amz-meta-note", "a"), &s.admin);
    signed.set_header("x-amz-meta-note", "b");
    s.send(&signed)
        .await
        .expect_err(403, "InvalidSignatureException");
}

#[tokio::test]
async fn clock_skew_beyond_five_minutes_is_refused() {
    let s = start().await;
    for offset in [-360, 360] {
        // STS answers SignatureDoesNotMatch ("Signature expired: ..."), as
        // AWS STS does; the JSON services InvalidSignatureException.
        let r = s.sign_and_send(&gci().at_offset(offset), &s.admin).await;
        r.expect_err(403, "SignatureDoesNotMatch");
        let m = r.message();
        assert!(
            m.contains("Signature expired") || m.contains("Signature not yet current"),
            "{r:?}"
        );

        let r = s
            .sign_and_send(&converse().at_offset(offset), &s.admin)
            .await;
        r.expect_err(403, "InvalidSignatureException");
        let m = r.message();
        assert!(
            m.contains("Signature expired") || m.contains("Signature not yet current"),
            "{r:?}"
        );
    }
    // Four minutes either way is within the tolerance.
    for offset in [-240, 240] {
        s.sign_and_send(&gci().at_offset(offset), &s.admin)
            .await
            .expect_ok();
        s.sign_and_send(&converse().at_offset(offset), &s.admin)
            .await
            .expect_ok();
    }
}

fn presigned_gci() -> Req {
    Req::new("sts", "GET", "/")
        .query_string(&format!("Action=GetCallerIdentity&Version={STS_VERSION}"))
}

/// botocore's generic presigner (`generate_presigned_url`) signs the hash
/// of the (empty) body, not `UNSIGNED-PAYLOAD`.
#[tokio::test]
async fn presigned_url_signing_the_body_hash() {
    let s = start().await;
    let r = s
        .sign_and_send(
            &presigned_gci().presigned(Duration::from_secs(300)),
            &s.admin,
        )
        .await;
    r.expect_ok();
    assert_eq!(r.xml_req("Arn"), user_arn("admin"));
}

#[tokio::test]
async fn presigned_urls() {
    let s = start().await;
    // S3-style presigning signs UNSIGNED-PAYLOAD.
    let r = s
        .sign_and_send(
            &presigned_gci()
                .presigned(Duration::from_secs(300))
                .unsigned_payload(),
            &s.admin,
        )
        .await;
    r.expect_ok();
    assert_eq!(r.xml_req("Arn"), user_arn("admin"));
    // Signed ten minutes ago for one minute: expired.
    s.sign_and_send(
        &presigned_gci()
            .presigned(Duration::from_secs(60))
            .at_offset(-600)
            .unsigned_payload(),
        &s.admin,
    )
    .await
    .expect_err(403, "SignatureDoesNotMatch");
    // A presigned URL with a wrong signature.
    let mut signed = s.sign(
        &presigned_gci()
            .presigned(Duration::from_secs(300))
            .unsigned_payload(),
        &s.admin,
    );
    signed.corrupt_signature();
    s.send(&signed)
        .await
        .expect_err(403, "SignatureDoesNotMatch");
    // Presigned with session credentials (the token rides in the query).
    let session = s.sts(&s.admin, "GetSessionToken", &[]).await.credentials();
    let r = s
        .sign_and_send(
            &presigned_gci()
                .presigned(Duration::from_secs(300))
                .unsigned_payload(),
            &session,
        )
        .await;
    r.expect_ok();
    assert_eq!(r.xml_req("Arn"), user_arn("admin"));
}

#[tokio::test]
async fn presigned_bedrock_call() {
    let s = start().await;
    let req = converse()
        .presigned(Duration::from_secs(300))
        .unsigned_payload();
    s.sign_and_send(&req, &s.admin).await.expect_ok();
    let expired = converse()
        .presigned(Duration::from_secs(60))
        .at_offset(-600)
        .unsigned_payload();
    s.sign_and_send(&expired, &s.admin)
        .await
        .expect_err(403, "InvalidSignatureException");
}

/// Flips one character in the middle of a token (still base64url).
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn tampered_session_tokens_are_refused() {
    let s = start().await;
    let session = s.sts(&s.admin, "GetSessionToken", &[]).await.credentials();
    s.sts(&session, "GetCallerIdentity", &[]).await.expect_ok();

    let mut tampered = session.clone();
    tampered.session_token = Some(tamper(session.session_token.as_deref().unwrap()));
    s.sign_and_send(&gci(), &tampered)
        .await
        .expect_err(403, "InvalidClientTokenId");
    s.sign_and_send(&converse(), &tampered)
        .await
        .expect_err(403, "UnrecognizedClientException");

    // Not a token at all.
    let mut junk = session.clone();
    junk.session_token = Some("not-a-token".into());
    s.sign_and_send(&gci(), &junk)
        .await
        .expect_err(403, "InvalidClientTokenId");

    // A genuine token presented with another temporary key id.
    let other = s.sts(&s.admin, "GetSessionToken", &[]).await.credentials();
    let mut swapped = other.clone();
    swapped.session_token = session.session_token.clone();
    s.sign_and_send(&gci(), &swapped)
        .await
        .expect_err(403, "InvalidClientTokenId");

    // A long-term key with a session token.
    let mut mixed = s.admin.clone();
    mixed.session_token = session.session_token.clone();
    s.sign_and_send(&gci(), &mixed)
        .await
        .expect_err(403, "InvalidClientTokenId");
}

fn claims_for_admin(s: &Server, issued: OffsetDateTime, expires: OffsetDateTime) -> SessionClaims {
    let (id, secret): (String, SecretString) =
        generate_access_key(AccessKeyKind::Temporary).unwrap();
    let admin_id = {
        let iam = s.running.gateway.iam.load_full();
        iam.get_user("admin").unwrap().id.clone()
    };
    SessionClaims {
        access_key_id: id,
        secret_access_key: secret,
        account: ACCOUNT.into(),
        kind: SessionKind::SessionToken {
            user_arn: user_arn("admin"),
            user_id: admin_id,
        },
        source_identity: None,
        issued_at: issued,
        expires_at: expires,
        session_policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        mfa_authenticated_at: None,
    }
}

#[tokio::test]
async fn expired_session_tokens_are_refused() {
    let s = start().await;
    let now = OffsetDateTime::now_utc();
    // The same claims, valid: the forging itself is sound.
    let valid = s.forge(&claims_for_admin(
        &s,
        now - time::Duration::minutes(5),
        now + time::Duration::hours(1),
    ));
    let r = s.sign_and_send(&gci(), &valid).await;
    r.expect_ok();
    assert_eq!(r.xml_req("Arn"), user_arn("admin"));

    let expired = s.forge(&claims_for_admin(
        &s,
        now - time::Duration::hours(2),
        now - time::Duration::hours(1),
    ));
    let r = s.sign_and_send(&gci(), &expired).await;
    r.expect_err(403, "ExpiredToken");
    assert!(r.message().to_lowercase().contains("expired"), "{r:?}");
    s.sign_and_send(&converse(), &expired)
        .await
        .expect_err(403, "ExpiredTokenException");
    // Expired one second ago.
    let just = s.forge(&claims_for_admin(
        &s,
        now - time::Duration::hours(1),
        now - time::Duration::seconds(1),
    ));
    s.sign_and_send(&gci(), &just)
        .await
        .expect_err(403, "ExpiredToken");
}

#[tokio::test]
async fn region_not_served_is_refused() {
    let s = start().await;
    s.sign_and_send(&gci().region("sa-east-1"), &s.admin)
        .await
        .expect_err(403, "SignatureDoesNotMatch");
    s.sign_and_send(&converse().region("sa-east-1"), &s.admin)
        .await
        .expect_err(403, "InvalidSignatureException");
}

#[tokio::test]
async fn service_not_served_is_refused() {
    let s = start().await;
    // Signed for a service the gateway does not serve.
    let r = s
        .sign_and_send(&Req::new("s3", "GET", "/bucket/key"), &s.admin)
        .await;
    r.expect_err(400, "UnknownOperationException");
    let r = s
        .sign_and_send(
            &Req::new("kms", "POST", "/")
                .header("x-amz-target", "TrentService.CreateCustomKeyStore")
                .header("content-type", "application/x-amz-json-1.1")
                .body(json!({}).to_string()),
            &s.admin,
        )
        .await;
    r.expect_err(400, "UnknownOperationException");
}
