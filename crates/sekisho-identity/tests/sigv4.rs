//! Requests signed by the official `aws-sigv4` signer verify; any change to
//! what they signed does not.

use std::time::{Duration as StdDuration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use sekisho_identity::sigv4::{self, AuthError, HttpParts, PayloadHash, SigV4Claim, SigningKey};
use time::{Duration, OffsetDateTime};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// 2024-03-01T09:30:00Z
fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_709_285_400).unwrap()
}

#[derive(Clone)]
struct Spec {
    method: &'static str,
    host: &'static str,
    /// Path and query, already encoded as an SDK sends them.
    target: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    service: &'static str,
    region: &'static str,
    token: Option<&'static str>,
    presign: Option<u64>,
    unsigned_payload: bool,
    content_sha_header: bool,
    s3: bool,
}

impl Spec {
    fn new(
        method: &'static str,
        host: &'static str,
        target: &'static str,
        service: &'static str,
    ) -> Self {
        Spec {
            method,
            host,
            target,
            headers: Vec::new(),
            body: Vec::new(),
            service,
            region: "us-east-1",
            token: None,
            presign: None,
            unsigned_payload: false,
            content_sha_header: false,
            s3: false,
        }
    }
}

/// A request as the server receives it.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn parts(&self) -> HttpParts<'_> {
        HttpParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
        }
    }

    fn payload(&self) -> PayloadHash {
        PayloadHash::of_body(&self.body)
    }

    fn check(&self, secret: &str, now: OffsetDateTime) -> Result<SigV4Claim, AuthError> {
        let parts = self.parts();
        let claim = sigv4::parse(&parts)?;
        sigv4::verify(&parts, &claim, &self.payload(), secret, now)?;
        Ok(claim)
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        &mut self.headers.iter_mut().find(|(n, _)| n == name).unwrap().1
    }
}

fn sign_with_sdk(spec: &Spec, time: OffsetDateTime) -> Received {
    let creds = Credentials::new(
        if spec.token.is_some() {
            "ASIAIOSFODNN7EXAMPLE"
        } else {
            AKID
        },
        SECRET,
        spec.token.map(str::to_owned),
        None,
        "test",
    );
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    if let Some(secs) = spec.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(StdDuration::from_secs(secs));
    }
    if spec.content_sha_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    if spec.s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(spec.region)
        .name(spec.service)
        .time(SystemTime::from(time))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("https://{}{}", spec.host, spec.target);
    let mut headers: Vec<(&str, &str)> = vec![("host", spec.host)];
    headers.extend(spec.headers.iter().copied());
    let body = if spec.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(&spec.body)
    };
    let signable =
        SignableRequest::new(spec.method, uri.clone(), headers.iter().copied(), body).unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();

    let mut builder = http::Request::builder().method(spec.method).uri(&uri);
    for (n, v) in &headers {
        builder = builder.header(*n, *v);
    }
    let mut request = builder.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    Received {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or("").to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect(),
        body: spec.body.clone(),
    }
}

fn sts_get_caller_identity() -> Spec {
    let mut s = Spec::new("POST", "sts.us-east-1.amazonaws.com", "/", "sts");
    s.headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    s.body = b"Action=GetCallerIdentity&Version=2011-06-15".to_vec();
    s
}

fn bedrock_converse() -> Spec {
    let mut s = Spec::new(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        "bedrock",
    );
    s.headers = vec![
        ("content-type", "application/json"),
        (
            "user-agent",
            "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux",
        ),
        ("x-amz-user-agent", "aws-sdk-rust/1.3.0"),
    ];
    s.body = br#"{"messages":[{"role":"user","content":[{"text":"Hello, \u65e5\u672c"}]}],"inferenceConfig":{"maxTokens":64}}"#.to_vec();
    s
}

fn unicode_path() -> Spec {
    let mut s = Spec::new(
        "GET",
        "bedrock-agent.us-east-1.amazonaws.com",
        "/knowledgebases/my%20kb/%E6%97%A5%E6%9C%AC%E8%AA%9E/data%20sources/",
        "bedrock",
    );
    s.region = "ap-northeast-1";
    s
}

fn query_special() -> Spec {
    Spec::new(
        "GET",
        "iam.amazonaws.com",
        "/?Action=ListUsers&PathPrefix=%2Fdivision_abc%2Fsubdivision_xyz%2F&b=2&a=1&a=0&a=%21%2A%27%28%29&empty=&sp=a%20b&plus=%2B&tilde=~&u=%E3%81%82&Version=2010-05-08",
        "iam",
    )
}

fn all_header_specs() -> Vec<(&'static str, Spec)> {
    let mut with_token = bedrock_converse();
    with_token.token = Some(TOKEN);
    let mut with_sha = sts_get_caller_identity();
    with_sha.content_sha_header = true;
    let mut s3 = Spec::new(
        "PUT",
        "bucket.s3.us-east-1.amazonaws.com",
        "/photos/2024%20trip/a%3Ab//c.jpg",
        "s3",
    );
    s3.s3 = true;
    s3.content_sha_header = true;
    s3.body = b"\x89PNG...".to_vec();
    vec![
        ("sts", sts_get_caller_identity()),
        ("bedrock converse", bedrock_converse()),
        ("bedrock with session token", with_token),
        ("unicode path", unicode_path()),
        ("query special", query_special()),
        ("x-amz-content-sha256", with_sha),
        ("s3 single encoding", s3),
    ]
}

fn all_presigned_specs() -> Vec<(&'static str, Spec)> {
    let mut plain = Spec::new(
        "GET",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/x%3Ay/invoke?trace=1",
        "bedrock",
    );
    plain.presign = Some(900);
    plain.unsigned_payload = true;
    let mut token = query_special();
    token.presign = Some(3600);
    token.token = Some(TOKEN);
    // botocore's generic presigner signs the (empty) body hash instead of
    // UNSIGNED-PAYLOAD.
    let mut body_hash = sts_get_caller_identity();
    body_hash.body.clear();
    body_hash.presign = Some(60);
    let mut s3 = Spec::new("GET", "bucket.s3.amazonaws.com", "/a%20b/c~d", "s3");
    s3.s3 = true;
    s3.presign = Some(604_800);
    s3.unsigned_payload = true;
    vec![
        ("presigned unsigned payload", plain),
        ("presigned with token", token),
        ("presigned body hash", body_hash),
        ("presigned s3 max expiry", s3),
    ]
}

#[test]
fn sdk_signed_requests_verify() {
    for (name, spec) in all_header_specs().into_iter().chain(all_presigned_specs()) {
        let received = sign_with_sdk(&spec, t0());
        let claim = received
            .check(SECRET, t0())
            .unwrap_or_else(|e| panic!("{name}: {e} {received:?}"));
        assert_eq!(claim.service, spec.service, "{name}");
        assert_eq!(claim.region, spec.region, "{name}");
        assert_eq!(claim.amz_date, t0(), "{name}");
        assert_eq!(claim.date, "20240301", "{name}");
        assert_eq!(claim.presigned, spec.presign.is_some(), "{name}");
        assert_eq!(
            claim.presigned_expires,
            spec.presign.map(|s| s as u32),
            "{name}"
        );
        assert_eq!(claim.session_token.as_deref(), spec.token, "{name}");
        assert!(claim.signed_headers.iter().any(|h| h == "host"));
        let expect_akid = if spec.token.is_some() {
            "ASIAIOSFODNN7EXAMPLE"
        } else {
            AKID
        };
        assert_eq!(claim.access_key_id, expect_akid);

        let wrong = received.check("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", t0());
        assert_eq!(wrong.unwrap_err(), AuthError::SignatureMismatch, "{name}");
    }
}

#[test]
fn the_model_id_is_double_encoded() {
    let received = sign_with_sdk(&bedrock_converse(), t0());
    assert_eq!(
        received.path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    let parts = received.parts();
    let claim = sigv4::parse(&parts).unwrap();
    let creq = sigv4::canonical_request(
        &parts,
        &claim,
        sigv4::UNSIGNED_PAYLOAD,
        sekisho_identity::CanonicalOptions::for_service("bedrock"),
    )
    .unwrap();
    assert_eq!(
        creq.lines().nth(1),
        Some("/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse")
    );
    // The user-agent is not signed by the SDK; changing it is harmless.
    let mut other = received.clone();
    other.header_mut("user-agent").push_str(" extra");
    assert!(other.check(SECRET, t0()).is_ok());
}

fn flip(s: &str, i: usize) -> Option<String> {
    let b = s.as_bytes();
    let replacement = if b[i] == b'z' { b'y' } else { b'z' };
    let mut out = b.to_vec();
    out[i] = replacement;
    String::from_utf8(out).ok()
}

/// Flips every byte of the path, the query and every signed header value
/// (one at a time) and of the body: nothing may verify.
#[test]
fn flipping_any_signed_byte_fails() {
    let mut flips = 0;
    for (name, spec) in all_header_specs().into_iter().chain(all_presigned_specs()) {
        let received = sign_with_sdk(&spec, t0());
        let claim = received.check(SECRET, t0()).unwrap();
        for i in 0..received.path.len() {
            let mut r = received.clone();
            let Some(p) = flip(&r.path, i) else { continue };
            r.path = p;
            assert_eq!(
                r.check(SECRET, t0()).unwrap_err(),
                AuthError::SignatureMismatch,
                "{name} path {i}"
            );
            flips += 1;
        }
        for i in 0..received.query.len() {
            let mut r = received.clone();
            let Some(q) = flip(&r.query, i) else { continue };
            r.query = q;
            assert!(
                r.check(SECRET, t0()).is_err(),
                "{name} query {i}: {}",
                r.query
            );
            flips += 1;
        }
        for h in &claim.signed_headers {
            let value = received
                .headers
                .iter()
                .find(|(n, _)| n == h)
                .unwrap()
                .1
                .clone();
            for i in 0..value.len() {
                let mut r = received.clone();
                let Some(v) = flip(&value, i) else { continue };
                *r.header_mut(h) = v;
                assert!(r.check(SECRET, t0()).is_err(), "{name} header {h} {i}");
                flips += 1;
            }
        }
        // The body (and so its hash), when the signature covers it.
        if !spec.unsigned_payload && !spec.body.is_empty() {
            for i in 0..received.body.len() {
                let mut r = received.clone();
                r.body[i] ^= 0x01;
                assert_eq!(
                    r.check(SECRET, t0()).unwrap_err(),
                    AuthError::SignatureMismatch,
                    "{name} body {i}"
                );
                flips += 1;
            }
        }
        // Another method.
        let mut r = received.clone();
        r.method = if r.method == "GET" {
            "HEAD".into()
        } else {
            "GET".into()
        };
        assert_eq!(
            r.check(SECRET, t0()).unwrap_err(),
            AuthError::SignatureMismatch,
            "{name} method"
        );
    }
    assert!(flips > 2000, "{flips}");
}

#[test]
fn specific_tampering_gives_signature_mismatch() {
    let received = sign_with_sdk(&bedrock_converse(), t0());
    let mismatch = |r: &Received| r.check(SECRET, t0()).unwrap_err();

    // The date: one second later, same day, signature unchanged.
    let mut r = received.clone();
    *r.header_mut("x-amz-date") = "20240301T093001Z".into();
    assert_eq!(mismatch(&r), AuthError::SignatureMismatch);
    // The date: another day no longer fits the credential scope.
    let mut r = received.clone();
    *r.header_mut("x-amz-date") = "20240302T093000Z".into();
    assert!(matches!(
        r.check(SECRET, t0() + Duration::days(1)),
        Err(AuthError::ScopeMismatch(_))
    ));
    // The body hash the client announces must be the body's.
    let mut r = received.clone();
    r.headers.push((
        "x-amz-content-sha256".into(),
        sigv4::EMPTY_PAYLOAD_SHA256.into(),
    ));
    assert_eq!(mismatch(&r), AuthError::SignatureMismatch);
    let mut r = received.clone();
    r.headers.push((
        "x-amz-content-sha256".into(),
        sigv4::UNSIGNED_PAYLOAD.into(),
    ));
    assert_eq!(mismatch(&r), AuthError::SignatureMismatch);
    // A signed header sent twice.
    let mut r = received.clone();
    r.headers.push(("content-type".into(), "text/plain".into()));
    assert_eq!(mismatch(&r), AuthError::SignatureMismatch);
    // A query parameter added.
    let mut r = received.clone();
    r.query = "x=1".into();
    assert_eq!(mismatch(&r), AuthError::SignatureMismatch);
    // Region in the scope changed (signature made for us-east-1).
    let parts = received.parts();
    let mut claim = sigv4::parse(&parts).unwrap();
    claim.region = "us-west-2".into();
    assert_eq!(
        sigv4::verify(&parts, &claim, &received.payload(), SECRET, t0()),
        Err(AuthError::SignatureMismatch)
    );
    // Verifying as an unsigned-payload request does not help.
    let claim = sigv4::parse(&parts).unwrap();
    assert_eq!(
        sigv4::verify(&parts, &claim, &PayloadHash::Unsigned, SECRET, t0()),
        Err(AuthError::SignatureMismatch)
    );
    // A signed header removed.
    let mut r = received.clone();
    r.headers.retain(|(n, _)| n != "content-type");
    assert!(matches!(
        r.check(SECRET, t0()),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn clock_skew_of_five_minutes() {
    let received = sign_with_sdk(&sts_get_caller_identity(), t0());
    let five = Duration::minutes(5);
    let second = Duration::seconds(1);
    assert!(received.check(SECRET, t0() + five).is_ok());
    assert!(received.check(SECRET, t0() + five - second).is_ok());
    assert_eq!(
        received.check(SECRET, t0() + five + second).unwrap_err(),
        AuthError::RequestTooOld
    );
    assert_eq!(
        received
            .check(SECRET, t0() + Duration::minutes(6))
            .unwrap_err(),
        AuthError::RequestTooOld
    );
    assert!(received.check(SECRET, t0() - five).is_ok());
    assert_eq!(
        received.check(SECRET, t0() - five - second).unwrap_err(),
        AuthError::RequestInFuture
    );
}

#[test]
fn presigned_expiry() {
    let mut spec = bedrock_converse();
    spec.presign = Some(900);
    spec.unsigned_payload = true;
    let received = sign_with_sdk(&spec, t0());
    assert!(received.check(SECRET, t0()).is_ok());
    // Valid for the whole window, well past the 5 minutes of header signatures.
    assert!(
        received
            .check(SECRET, t0() + Duration::seconds(600))
            .is_ok()
    );
    assert!(
        received
            .check(SECRET, t0() + Duration::seconds(900))
            .is_ok()
    );
    assert_eq!(
        received
            .check(SECRET, t0() + Duration::seconds(901))
            .unwrap_err(),
        AuthError::PresignedExpired
    );
    assert!(
        received
            .check(SECRET, t0() - Duration::seconds(300))
            .is_ok()
    );
    assert_eq!(
        received
            .check(SECRET, t0() - Duration::seconds(301))
            .unwrap_err(),
        AuthError::RequestInFuture
    );

    // A longer X-Amz-Expires than signed is a different request.
    let mut r = received.clone();
    r.query = r.query.replace("X-Amz-Expires=900", "X-Amz-Expires=901");
    assert_eq!(
        r.check(SECRET, t0()).unwrap_err(),
        AuthError::SignatureMismatch
    );
    for bad in ["0", "604801", "-1", "1e3", ""] {
        let mut r = received.clone();
        r.query = r
            .query
            .replace("X-Amz-Expires=900", &format!("X-Amz-Expires={bad}"));
        assert!(
            matches!(r.check(SECRET, t0()), Err(AuthError::Malformed(_))),
            "{bad}"
        );
    }
    let mut r = received.clone();
    r.query = r
        .query
        .replace("X-Amz-Expires=900&", "")
        .replace("&X-Amz-Expires=900", "");
    assert!(matches!(
        r.check(SECRET, t0()),
        Err(AuthError::Malformed(_))
    ));
    // Removing the signature parameter leaves nothing to check.
    let mut r = received.clone();
    r.query = r
        .query
        .split('&')
        .filter(|p| !p.starts_with("X-Amz-Signature="))
        .collect::<Vec<_>>()
        .join("&");
    assert!(matches!(
        r.check(SECRET, t0()),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn cached_signing_keys() {
    let received = sign_with_sdk(&bedrock_converse(), t0());
    let parts = received.parts();
    let claim = sigv4::parse(&parts).unwrap();
    let options = sekisho_identity::CanonicalOptions::for_service(&claim.service);
    let key = SigningKey::derive(SECRET, &claim);
    assert!(key.fits(&claim));
    let shown = format!("{key:?}");
    assert!(
        shown.contains("20240301") && shown.contains("redacted"),
        "{shown}"
    );
    let payload = received.payload();
    assert_eq!(
        sigv4::verify_with_key(&parts, &claim, &payload, &key, t0(), options),
        Ok(())
    );
    // The same key verifies another request of the same day and scope...
    let later = t0() + Duration::hours(3);
    let received2 = sign_with_sdk(&sts_like_bedrock(), later);
    let parts2 = received2.parts();
    let claim2 = sigv4::parse(&parts2).unwrap();
    assert!(key.fits(&claim2));
    assert_eq!(
        sigv4::verify_with_key(&parts2, &claim2, &received2.payload(), &key, later, options),
        Ok(())
    );
    // ...but not one of the next day, nor with a key of another secret.
    let tomorrow = t0() + Duration::days(1);
    let received3 = sign_with_sdk(&bedrock_converse(), tomorrow);
    let parts3 = received3.parts();
    let claim3 = sigv4::parse(&parts3).unwrap();
    assert!(!key.fits(&claim3));
    assert!(matches!(
        sigv4::verify_with_key(
            &parts3,
            &claim3,
            &received3.payload(),
            &key,
            tomorrow,
            options
        ),
        Err(AuthError::ScopeMismatch(_))
    ));
    let other = SigningKey::derive("another-secret", &claim);
    assert_eq!(
        sigv4::verify_with_key(&parts, &claim, &payload, &other, t0(), options),
        Err(AuthError::SignatureMismatch)
    );
    // Time is still checked.
    assert_eq!(
        sigv4::verify_with_key(
            &parts,
            &claim,
            &payload,
            &key,
            t0() + Duration::minutes(6),
            options
        ),
        Err(AuthError::RequestTooOld)
    );
}

/// Another bedrock request (InvokeModel) in the same scope.
fn sts_like_bedrock() -> Spec {
    let mut s = bedrock_converse();
    s.target = "/model/amazon.titan-text-express-v1/invoke";
    s.body = br#"{"inputText":"hi"}"#.to_vec();
    s
}

#[test]
fn far_dates_do_not_panic() {
    for date in [
        "00000101T000000Z",
        "99991231T235959Z",
        "19700101T000000Z",
        "19691231T235959Z",
    ] {
        let scope_date = &date[..8];
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope_date}/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}"
        );
        let headers = hdr(&[
            ("host", "h"),
            ("x-amz-date", date),
            ("authorization", &auth),
        ]);
        let parts = HttpParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
        };
        let claim = sigv4::parse(&parts).unwrap();
        let r = sigv4::verify(&parts, &claim, &PayloadHash::Unsigned, "s", claim.amz_date);
        assert_eq!(r, Err(AuthError::SignatureMismatch), "{date}");
    }
}

fn hdr(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse_only(query: &str, headers: &[(&str, &str)]) -> Result<SigV4Claim, AuthError> {
    let headers = hdr(headers);
    sigv4::parse(&HttpParts {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
    })
}

const SIG: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

#[test]
fn parse_errors() {
    let date = ("x-amz-date", "20150830T123600Z");
    let host = ("host", "example.amazonaws.com");
    let auth = |v: String| ("authorization", Box::leak(v.into_boxed_str()) as &str);
    let good = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}"
    );
    assert!(parse_only("", &[host, date, auth(good.clone())]).is_ok());
    // Compact form without spaces after commas.
    assert!(parse_only("", &[host, date, auth(good.replace(", ", ","))]).is_ok());

    assert_eq!(parse_only("", &[host, date]), Err(AuthError::Missing));
    assert_eq!(parse_only("a=1", &[host]), Err(AuthError::Missing));
    for other in [
        "Bearer eyJhbGciOi",
        "AWS AKIDEXAMPLE:abc",
        "AWS4-ECDSA-P256-SHA256 Credential=x",
        "Basic dXNlcg==",
    ] {
        assert_eq!(
            parse_only("", &[host, date, auth(other.into())]),
            Err(AuthError::UnsupportedAlgorithm),
            "{other}"
        );
    }
    let malformed = |headers: &[(&str, &str)], query: &str| {
        let r = parse_only(query, headers);
        assert!(
            matches!(r, Err(AuthError::Malformed(_))),
            "{headers:?} {query}: {r:?}"
        );
    };
    malformed(&[host, date, auth("AWS4-HMAC-SHA256".into())], "");
    malformed(&[host, date, auth(good.clone()), auth(good.clone())], "");
    malformed(&[host, auth(good.clone())], "");
    malformed(
        &[
            host,
            ("x-amz-date", "2015-08-30T12:36:00Z"),
            auth(good.clone()),
        ],
        "",
    );
    malformed(
        &[host, date, auth(good.clone())],
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host;Host")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host;host")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host;;x")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("/service/aws4_request", "/service")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("/service/aws4_request", "/service/aws4_request/x")),
        ],
        "",
    );
    malformed(
        &[
            host,
            date,
            auth(good.replace("aws4_request", "aws5_request")),
        ],
        "",
    );
    malformed(&[host, date, auth(good.replace(SIG, &SIG[1..]))], "");
    malformed(
        &[host, date, auth(good.replace(SIG, &SIG.replace('f', "g")))],
        "",
    );
    malformed(&[host, date, auth(format!("{good}, Extra=1"))], "");
    malformed(&[host, date, auth(format!("{good}, Signature={SIG}"))], "");
    malformed(
        &[
            host,
            date,
            auth(good.replace("AKIDEXAMPLE", "AKID/EXAMPLE")),
        ],
        "",
    );
    malformed(&[host, date, auth(good.replace("AKIDEXAMPLE", ""))], "");
    malformed(
        &[
            host,
            date,
            ("x-amz-date", "20150830T123600Z"),
            auth(good.clone()),
        ],
        "",
    );

    let scope = parse_only(
        "",
        &[host, ("x-amz-date", "20150831T000000Z"), auth(good.clone())],
    );
    assert!(
        matches!(scope, Err(AuthError::ScopeMismatch(_))),
        "{scope:?}"
    );

    // Presigned.
    let q = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={SIG}"
    );
    let claim = parse_only(&q, &[host]).unwrap();
    assert!(claim.presigned);
    assert_eq!(claim.presigned_expires, Some(3600));
    assert_eq!(
        parse_only(&q.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), &[host]),
        Err(AuthError::UnsupportedAlgorithm)
    );
    malformed(&[host], &format!("{q}&X-Amz-Date=20150830T123600Z"));
    malformed(
        &[host],
        &q.replace("&X-Amz-Credential=", "&X-Amz-Credentiax="),
    );
    malformed(
        &[host],
        &q.replace(
            "X-Amz-SignedHeaders=host",
            "X-Amz-SignedHeaders=content-type",
        ),
    );
    malformed(
        &[host],
        &q.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"),
    );
    malformed(&[host], &q.replace("X-Amz-Expires=3600", "X-Amz-Expires=0"));
    malformed(&[host], &q.replace("%2Faws4_request", "%2Faws4_request%FF"));
    let scope = parse_only(
        &q.replace("X-Amz-Date=20150830", "X-Amz-Date=20150829"),
        &[host],
    );
    assert!(matches!(scope, Err(AuthError::ScopeMismatch(_))));
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let mut spec = bedrock_converse();
    spec.token = Some(TOKEN);
    let received = sign_with_sdk(&spec, t0());
    let parts = received.parts();
    let claim = sigv4::parse(&parts).unwrap();
    let shown = format!("{claim:?} {parts:?}");
    assert!(!shown.contains(&claim.signature), "{shown}");
    assert!(!shown.contains("AQoDYXdz"), "{shown}");
    assert!(!shown.contains("Signature="), "{shown}");
    assert!(shown.contains("ASIAIOSFODNN7EXAMPLE"));

    // Errors for requests full of secrets name fields, not values.
    let mut errors = Vec::new();
    let mut r = received.clone();
    r.headers
        .push(("x-amz-security-token".into(), TOKEN.into()));
    errors.push(r.check(SECRET, t0()).unwrap_err());
    errors.push(received.check("other", t0()).unwrap_err());
    errors.push(
        received
            .check(SECRET, t0() + Duration::hours(1))
            .unwrap_err(),
    );
    let mut r = received.clone();
    r.headers.retain(|(n, _)| n != "content-type");
    errors.push(r.check(SECRET, t0()).unwrap_err());
    for e in errors {
        let text = format!("{e} {e:?}");
        assert!(
            !text.contains("AQoDYXdz")
                && !text.contains(SECRET)
                && !text.contains(&claim.signature),
            "{text}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "%",
        "%%",
        "%zz",
        "&&&",
        "===",
        "X-Amz-Algorithm",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=99999999T999999Z&X-Amz-Expires=99999999999999999999&X-Amz-SignedHeaders=&X-Amz-Signature=",
        "\u{0}",
        "é",
        "+++",
        "a=%E3%81",
        "/../..",
        "//",
        "/./.",
    ];
    let auths = [
        "",
        " ",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "AWS4-HMAC-SHA256 ,,,",
        "AWS4-HMAC-SHA256 Credential=",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request,SignedHeaders=host,Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/99999999/c/d/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=a/20240301/c/d/aws4_request,SignedHeaders=host;é,Signature=0000000000000000000000000000000000000000000000000000000000000000",
    ];
    let dates = [
        "",
        "20240301T093000Z",
        "00000101T000000Z",
        "99991231T235959Z",
        "20240301T093000Zé",
    ];
    let extremes = [
        OffsetDateTime::UNIX_EPOCH,
        t0(),
        time::PrimitiveDateTime::MAX.assume_utc(),
        time::PrimitiveDateTime::MIN.assume_utc(),
    ];
    for path in samples {
        for query in samples {
            for auth in auths {
                for date in dates {
                    let headers =
                        hdr(&[("host", "h"), ("authorization", auth), ("x-amz-date", date)]);
                    let parts = HttpParts {
                        method: "GET",
                        path,
                        query,
                        headers: &headers,
                    };
                    if let Ok(claim) = sigv4::parse(&parts) {
                        for now in extremes {
                            let _ = sigv4::verify(&parts, &claim, &PayloadHash::Unsigned, "s", now);
                            let _ = sigv4::verify(
                                &parts,
                                &claim,
                                &PayloadHash::Hex("zz".into()),
                                "s",
                                now,
                            );
                        }
                    }
                    let headers = hdr(&[("host", "h")]);
                    let parts = HttpParts {
                        method: "GET",
                        path,
                        query,
                        headers: &headers,
                    };
                    let _ = sigv4::parse(&parts);
                }
            }
        }
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_requests_never_panic(
            path in ".{0,40}",
            query in "[a-zA-Z0-9%&=+;/._~-]{0,80}",
            auth in "(AWS4-HMAC-SHA256 )?[ -~]{0,120}",
            date in "[0-9TZ]{0,18}",
            extra in proptest::collection::vec(("[a-z-]{1,12}", ".{0,20}"), 0..4),
            secs in any::<i64>(),
        ) {
            let mut headers = hdr(&[("host", "h"), ("authorization", &auth), ("x-amz-date", &date)]);
            headers.extend(extra);
            let parts = HttpParts { method: "POST", path: &path, query: &query, headers: &headers };
            if let Ok(claim) = sigv4::parse(&parts) {
                let now = OffsetDateTime::from_unix_timestamp(secs % 253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let _ = sigv4::verify(&parts, &claim, &PayloadHash::of_body(b"x"), "s", now);
            }
        }

        /// Any change to a signed request's query string, as long as it
        /// changes the decoded parameters, fails.
        #[test]
        fn changed_queries_fail(extra in "[a-z]{1,8}=[a-zA-Z0-9%]{0,8}") {
            let received = sign_with_sdk(&query_special(), t0());
            let mut r = received.clone();
            r.query = format!("{}&{extra}", r.query);
            prop_assert!(r.check(SECRET, t0()).is_err());
        }
    }
}
