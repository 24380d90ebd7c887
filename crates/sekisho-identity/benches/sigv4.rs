//! parse + verify of a typical bedrock-runtime Converse request, as boto3
//! signs it (header signature, session token, six signed headers).

use std::hint::black_box;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use criterion::{Criterion, criterion_group, criterion_main};
use sekisho_identity::keys::{self, AccessKeyKind};
use sekisho_identity::sigv4::{self, HttpParts, PayloadHash};
use sekisho_identity::{SessionClaims, SessionKind, TokenKey, totp};
use time::{Duration, OffsetDateTime};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Received {
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn signed_converse(now: OffsetDateTime, token: &str) -> Received {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"Summarize the security architecture of the gateway in three sentences."}]}],"inferenceConfig":{"maxTokens":512,"temperature":0.2}}"#.to_vec();
    let len = body.len().to_string();
    let host = "bedrock-runtime.us-east-1.amazonaws.com";
    let uri = format!("https://{host}/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    let headers = [
        ("host", host),
        ("content-type", "application/json"),
        ("content-length", len.as_str()),
        (
            "amz-sdk-invocation-id",
            "3f0a7c2e-8a5b-4f7e-9d1c-2b6e4a9f0c13",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
        (
            "user-agent",
            "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.3",
        ),
    ];
    let identity = Credentials::new(
        "ASIAIOSFODNN7EXAMPLE",
        SECRET,
        Some(token.to_owned()),
        None,
        "bench",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(SystemTime::from(now))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        uri.clone(),
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut builder = http::Request::builder().method("POST").uri(&uri);
    for (n, v) in headers {
        builder = builder.header(n, v);
    }
    let mut request = builder.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    Received {
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or("").to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect(),
        body,
    }
}

fn benches(c: &mut Criterion) {
    let now = OffsetDateTime::from_unix_timestamp(1_709_285_400).unwrap();
    let key = TokenKey::generate().unwrap();
    let (akid, secret) = keys::generate_access_key(AccessKeyKind::Temporary).unwrap();
    let claims = SessionClaims {
        access_key_id: akid.clone(),
        secret_access_key: secret,
        account: "123456789012".into(),
        kind: SessionKind::AssumedRole {
            role_arn: "arn:aws:iam::123456789012:role/BedrockInvokeRole".into(),
            role_id: "AROADBQP57FF2AEXAMPLE".into(),
            session_name: "app-session-42".into(),
        },
        source_identity: None,
        issued_at: now,
        expires_at: now + Duration::hours(1),
        session_policy: None,
        policy_arns: Vec::new(),
        tags: vec![("Project".into(), "genai".into())],
        transitive_tag_keys: Vec::new(),
        mfa_authenticated_at: None,
    };
    let token = key.seal(&claims).unwrap();
    let req = signed_converse(now, &token);
    let parts = HttpParts {
        method: "POST",
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
    };
    let payload = PayloadHash::of_body(&req.body);
    {
        let claim = sigv4::parse(&parts).unwrap();
        sigv4::verify(&parts, &claim, &payload, SECRET, now).unwrap();
    }

    c.bench_function("sigv4 parse", |b| {
        b.iter(|| sigv4::parse(black_box(&parts)).unwrap())
    });
    c.bench_function("sigv4 parse+verify (bedrock-runtime converse)", |b| {
        b.iter(|| {
            let claim = sigv4::parse(black_box(&parts)).unwrap();
            sigv4::verify(&parts, &claim, &payload, SECRET, now).unwrap();
        })
    });
    let cached = sigv4::SigningKey::derive(SECRET, &sigv4::parse(&parts).unwrap());
    let options = sekisho_identity::CanonicalOptions::for_service("bedrock");
    c.bench_function("sigv4 parse+verify, cached signing key", |b| {
        b.iter(|| {
            let claim = sigv4::parse(black_box(&parts)).unwrap();
            sigv4::verify_with_key(&parts, &claim, &payload, &cached, now, options).unwrap();
        })
    });
    c.bench_function("sigv4 hash body+parse+verify", |b| {
        b.iter(|| {
            let payload = PayloadHash::of_body(black_box(&req.body));
            let claim = sigv4::parse(black_box(&parts)).unwrap();
            sigv4::verify(&parts, &claim, &payload, SECRET, now).unwrap();
        })
    });
    c.bench_function("token seal", |b| {
        b.iter(|| key.seal(black_box(&claims)).unwrap())
    });
    c.bench_function("token open", |b| {
        b.iter(|| key.open(black_box(&token), &akid, now).unwrap())
    });
    let seed = totp::generate_seed().unwrap();
    let code = totp::code_at(&seed, 1_709_285_400);
    c.bench_function("totp verify window 1", |b| {
        b.iter(|| totp::verify(black_box(&seed), black_box(&code), 1_709_285_400, 1).unwrap())
    });
}

criterion_group!(group, benches);
criterion_main!(group);
