//! End to end: network controls and limits.
//!
//! A listener's `allow` rules close foreign connections before TLS; an
//! endpoint listener (endpoint id + endpoint policy) admits the role its
//! policy names and refuses another, and sets `aws:SourceVpce`;
//! `aws:SourceIp` believes `X-Forwarded-For` only from a trusted proxy;
//! per-principal rate limits answer `ThrottlingException`; bodies and
//! headers over the limits are refused with a 4xx, never a 500 or a hang.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use sekisho_gateway::config::ListenerConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const VPCE: &str = "vpce-0123456789abcdef0";
const OPEN_VPCE: &str = "vpce-0aaaabbbbccccdddd";

/// The seed's endpoint policy, for this account.
fn endpoint_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowBedrockAccess",
            "Effect": "Allow",
            "Principal": { "AWS": role_arn("BedrockRole") },
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": "arn:aws:bedrock:us-east-1::foundation-model/*"
        }]
    })
    .to_string()
}

#[tokio::test]
async fn allow_rules_close_foreign_connections_before_tls() {
    let s = start_with(|c, _| {
        c.listeners.push(ListenerConfig {
            allow: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            ..listener()
        });
    })
    .await;
    // The open listener serves.
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();

    // TLS to the closed one fails.
    let signed = s.sign(
        &Req::query("sts", "GetCallerIdentity", &[]).on_listener(1),
        &s.admin,
    );
    let err = s
        .raw(1, &signed.to_http1())
        .await
        .expect_err("no answer from a closed listener");
    assert!(
        err.contains("TLS handshake") || err.contains("closed"),
        "{err}"
    );
    let via_reqwest = s
        .client
        .post(format!("{}/", s.base_url(1)))
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await;
    assert!(via_reqwest.is_err(), "{via_reqwest:?}");

    // At the TCP level: accepted by the kernel, then closed by the gateway
    // without a single byte (no ServerHello).
    let started = Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(s.addr(1)).await.unwrap();
    let _ = tcp.write_all(b"\x16\x03\x01\x00\x05hello").await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(DEADLINE, tcp.read(&mut buf))
        .await
        .expect("the connection is closed promptly")
        .unwrap_or(0);
    assert_eq!(n, 0, "no byte is sent to a refused peer");
    assert!(started.elapsed() < Duration::from_secs(5));

    let stats = &s.running.stats[1];
    assert!(stats.refused_by_allow_rules.load(Ordering::Relaxed) >= 3);
    assert_eq!(
        stats.failed_handshakes.load(Ordering::Relaxed),
        0,
        "refused before TLS"
    );
    assert_eq!(
        s.running.stats[0]
            .refused_by_allow_rules
            .load(Ordering::Relaxed),
        0
    );
    // And the open listener still serves.
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}

#[tokio::test]
async fn endpoint_policy_admits_the_named_role_only() {
    let s = start_with(|c, dir| {
        c.listeners.push(ListenerConfig {
            endpoint_id: Some(VPCE.into()),
            endpoint_policy: Some(write_file(dir, "endpoint.json", &endpoint_policy())),
            ..listener()
        });
    })
    .await;
    let bedrock_all = allow(&["bedrock:*"], &["*"]);
    let admin_trust = trust(&user_arn("admin"), &["sts:AssumeRole"], None);
    let named = s
        .role("BedrockRole", &admin_trust, Some(&bedrock_all))
        .await;
    let other = s.role("OtherRole", &admin_trust, Some(&bedrock_all)).await;
    let named = s
        .assume_role(&s.admin, &named, "s-named", &[])
        .await
        .credentials();
    let other = s
        .assume_role(&s.admin, &other, "s-other", &[])
        .await
        .credentials();

    let via_endpoint =
        |model: &str| Req::bedrock(model, "converse", &converse_body("hi")).on_listener(1);
    s.sign_and_send(&via_endpoint(ECHO), &named)
        .await
        .expect_ok();
    s.sign_and_send(
        &Req::bedrock(ECHO, "converse-stream", &converse_body("hi")).on_listener(1),
        &named,
    )
    .await
    .expect_ok();
    let r = s.sign_and_send(&via_endpoint(ECHO), &other).await;
    r.expect_err(403, "AccessDeniedException");
    assert!(
        r.message().to_lowercase().contains("endpoint"),
        "the refusing layer is named: {r:?}"
    );
    // The endpoint policy allows model calls only.
    s.sign_and_send(
        &Req::bedrock(
            ECHO,
            "count-tokens",
            &json!({ "input": { "converse": converse_body("hi") } }),
        )
        .on_listener(1),
        &named,
    )
    .await
    .expect_err(403, "AccessDeniedException");
    let assume = Req::query(
        "sts",
        "AssumeRole",
        &[
            ("RoleArn", &role_arn("OtherRole")),
            ("RoleSessionName", "x1"),
        ],
    )
    .on_listener(1);
    s.sign_and_send(&assume, &s.admin)
        .await
        .expect_err(403, "AccessDenied");

    // Off the endpoint, the endpoint policy does not apply.
    s.converse(&other, ECHO, "hi").await.expect_ok();
    s.converse(&s.admin, ECHO, "hi").await.expect_ok();
}

#[tokio::test]
async fn endpoint_id_sets_source_vpce() {
    let s = start_with(|c, _| {
        c.listeners.push(ListenerConfig {
            endpoint_id: Some(OPEN_VPCE.into()),
            ..listener()
        });
    })
    .await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceVpce": OPEN_VPCE } }
        }]
    })
    .to_string();
    let user = s.user("vpce-user", Some(&policy)).await;
    s.sign_and_send(
        &Req::bedrock(ECHO, "converse", &converse_body("hi")).on_listener(1),
        &user,
    )
    .await
    .expect_ok();
    s.converse(&user, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

fn source_ip_policy(cidr: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": "*",
            "Condition": { "IpAddress": { "aws:SourceIp": cidr } }
        }]
    })
    .to_string()
}

#[tokio::test]
async fn source_ip_ignores_forwarded_for_from_untrusted_peers() {
    let s = start().await;
    let loopback = s
        .user("loopback", Some(&source_ip_policy("127.0.0.0/8")))
        .await;
    let office = s
        .user("office", Some(&source_ip_policy("203.0.113.0/24")))
        .await;
    s.converse(&loopback, ECHO, "hi").await.expect_ok();
    s.converse(&office, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    // A client cannot claim another address.
    let spoofed = Req::bedrock(ECHO, "converse", &converse_body("hi"))
        .header("x-forwarded-for", "203.0.113.7");
    s.sign_and_send(&spoofed, &office)
        .await
        .expect_err(403, "AccessDeniedException");
    s.sign_and_send(&spoofed, &loopback).await.expect_ok();
}

#[tokio::test]
async fn source_ip_believes_forwarded_for_from_a_trusted_proxy() {
    let s = start_with(|c, _| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let office = s
        .user("office", Some(&source_ip_policy("203.0.113.0/24")))
        .await;
    let forwarded = Req::bedrock(ECHO, "converse", &converse_body("hi"))
        .header("x-forwarded-for", "203.0.113.7");
    s.sign_and_send(&forwarded, &office).await.expect_ok();
    // A hop the client wrote before the untrusted one is not believed.
    let chain = Req::bedrock(ECHO, "converse", &converse_body("hi"))
        .header("x-forwarded-for", "203.0.113.7, 198.51.100.9");
    s.sign_and_send(&chain, &office)
        .await
        .expect_err(403, "AccessDeniedException");
    // Without the header the proxy's own address counts.
    s.converse(&office, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn rate_limit_per_principal() {
    let s = start_with(|c, _| {
        c.limits.requests_per_second = 0.01;
        c.limits.burst = 3;
    })
    .await;
    let other = s
        .user("other", Some(&allow(&["bedrock:InvokeModel"], &["*"])))
        .await;
    for _ in 0..3 {
        s.converse(&s.admin, ECHO, "hi").await.expect_ok();
    }
    let r = s.converse(&s.admin, ECHO, "hi").await;
    r.expect_err(429, "ThrottlingException");
    s.sts(&s.admin, "GetCallerIdentity", &[])
        .await
        .expect_err(429, "Throttling");
    // Another principal has its own bucket.
    s.converse(&other, ECHO, "hi").await.expect_ok();
    // A failed authentication does not spend the victim's tokens (nor
    // throttle as the victim).
    let forged = Creds::long_term(
        &other.access_key_id,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    for _ in 0..5 {
        s.converse(&forged, ECHO, "hi")
            .await
            .expect_err(403, "InvalidSignatureException");
    }
    s.converse(&other, ECHO, "hi").await.expect_ok();
}

#[tokio::test]
async fn body_over_the_limit_is_refused() {
    let s = start_with(|c, _| c.limits.max_body_bytes = 2048).await;
    s.converse(&s.admin, ECHO, &"a".repeat(1000))
        .await
        .expect_ok();
    let r = s.converse(&s.admin, ECHO, &"a".repeat(10_000)).await;
    r.expect_err(413, "ValidationException");
    let big = "x".repeat(10_000);
    s.sts(&s.admin, "GetCallerIdentity", &[("Padding", &big)])
        .await
        .expect_err(413, "ValidationError");
    // Several megabytes: refused without reading it all.
    let started = Instant::now();
    let huge = Req::bedrock(ECHO, "converse", &json!({})).body(big_converse_body(8 * 1024 * 1024));
    let r = s.sign_and_send(&huge, &s.admin).await;
    r.expect_err(413, "ValidationException");
    assert!(started.elapsed() < DEADLINE);
    s.converse(&s.admin, ECHO, "still serving")
        .await
        .expect_ok();
}

#[tokio::test]
async fn default_body_limit_refuses_a_huge_body() {
    let s = start().await;
    // 21 MiB, over the default 20 MiB.
    let huge = Req::bedrock(ECHO, "converse", &json!({})).body(big_converse_body(21 * 1024 * 1024));
    let r = s.sign_and_send(&huge, &s.admin).await;
    r.expect_err(413, "ValidationException");
}

#[tokio::test]
async fn headers_over_the_limit_are_refused() {
    let s = start().await;
    let mut signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    signed.set_header("x-padding", &"a".repeat(100 * 1024));
    match s.raw(0, &signed.to_http1()).await {
        Ok(r) => {
            assert!(
                r.status == 431 || r.status == 400,
                "huge header: expected 431 (or 400), got {r:?}"
            );
        }
        Err(e) => panic!("huge header: the gateway closed without an answer ({e})"),
    }
    // Too many headers.
    let mut signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    for i in 0..300 {
        signed.headers.push((format!("x-h{i}"), "v".into()));
    }
    match s.raw(0, &signed.to_http1()).await {
        Ok(r) => assert!(r.status == 431 || r.status == 400, "300 headers: {r:?}"),
        Err(e) => panic!("300 headers: the gateway closed without an answer ({e})"),
    }
    // A header under the limit is fine.
    let mut signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    signed.set_header("x-padding", &"a".repeat(4 * 1024));
    let r = s.raw(0, &signed.to_http1()).await.unwrap();
    r.expect_ok();
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}

#[tokio::test]
async fn http2_clients_are_served() {
    let s = start().await;
    let h2 = client_builder(&s.ca_pem).build().unwrap();
    let signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    let mut rb = h2.post(format!("{}/", s.base_url(0)));
    for (n, v) in &signed.headers {
        if n != "host" {
            rb = rb.header(n.as_str(), v.as_str());
        }
    }
    let response = rb.body(signed.body.clone()).send().await.unwrap();
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "ALPN offers h2"
    );
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(
        status, 200,
        "GetCallerIdentity over HTTP/2 (:authority signed as host): {text}"
    );
}

#[tokio::test]
async fn tls_1_2_clients_are_served_and_plain_http_is_not() {
    let s = start().await;
    let tls12 = client_builder(&s.ca_pem)
        .http1_only()
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    let mut rb = tls12.post(format!("{}/", s.base_url(0)));
    for (n, v) in &signed.headers {
        if n != "host" {
            rb = rb.header(n.as_str(), v.as_str());
        }
    }
    let response = rb.body(signed.body.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // Plain HTTP on the TLS port: no answer, no hang, nothing broken.
    let mut tcp = tokio::net::TcpStream::connect(s.addr(0)).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the gateway hung on a plain-HTTP client");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}

#[tokio::test]
async fn idle_handshake_is_cut_off() {
    let s = start_with(|c, _| c.limits.handshake_timeout_secs = 1).await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr(0)).await.unwrap();
    // Say nothing; the gateway gives up on the handshake.
    let mut buf = [0u8; 16];
    let started = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .expect("the gateway closes an idle handshake")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(5));
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}
