//! End to end: hostile input. Malformed bodies, wrong content types, odd
//! model ids, path tricks (`%2F`, `..`, `%00`), header abuse, unknown
//! actions and paths: each gets the AWS error of its protocol with a 4xx
//! status, never a 500, never a hang, and the gateway keeps serving.

mod common;

use common::*;

/// Asserts an error whose status may be one of `statuses` (where AWS itself
/// is not specific), with the given code.
#[track_caller]
fn expect_err_in(r: &Resp, statuses: &[u16], code: &str) {
    assert!(
        statuses.contains(&r.status) && r.code().as_deref() == Some(code),
        "expected {statuses:?} {code}, got: {r:?}"
    );
}

fn raw_converse(body: &[u8]) -> Req {
    Req::new("bedrock", "POST", &model_path(ECHO, "converse"))
        .header("content-type", "application/json")
        .body(body.to_vec())
}

#[tokio::test]
async fn malformed_converse_bodies() {
    let s = start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<Vec<u8>> = vec![
        b"{\"messages\": [".to_vec(),
        b"not json at all".to_vec(),
        b"[]".to_vec(),
        b"\"a string\"".to_vec(),
        b"{}".to_vec(),
        b"".to_vec(),
        br#"{"messages": []}"#.to_vec(),
        br#"{"messages": "hello"}"#.to_vec(),
        br#"{"messages": [{"role": "system", "content": [{"text": "x"}]}]}"#.to_vec(),
        br#"{"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": []}]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": "text"}]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": 42}]}]}"#.to_vec(),
        br#"{"messages": [{"role": "user"}]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "messages": []}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "a"}]}]} trailing"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": -1}}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"temperature": 5}}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": "hot"}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"text": "\ud800"}]}]}"#.to_vec(),
        b"{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"\xff\xfe\"}]}]}".to_vec(),
        deep.into_bytes(),
    ];
    for body in &cases {
        let r = s.sign_and_send(&raw_converse(body), &s.admin).await;
        assert!(
            r.status == 400 && r.code().as_deref() == Some("ValidationException"),
            "body {:?}: expected 400 ValidationException, got: {r:?}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
    }
    // Also for the streaming and counting operations.
    for op in ["converse-stream", "count-tokens"] {
        let req = Req::new("bedrock", "POST", &model_path(ECHO, op))
            .header("content-type", "application/json")
            .body(b"{\"messages\": [".to_vec());
        s.sign_and_send(&req, &s.admin)
            .await
            .expect_err(400, "ValidationException");
    }
    s.converse(&s.admin, ECHO, "still serving")
        .await
        .expect_ok();
}

#[tokio::test]
async fn malformed_invoke_model_bodies() {
    let s = start().await;
    let invoke = |body: &[u8]| {
        Req::new("bedrock", "POST", &model_path(ECHO, "invoke"))
            .header("content-type", "application/json")
            .body(body.to_vec())
    };
    for body in [
        &b"not json"[..],
        b"{}",
        b"[]",
        br#"{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10}"#,
        br#"{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": "hi"}"#,
    ] {
        let r = s.sign_and_send(&invoke(body), &s.admin).await;
        assert!(
            r.status == 400 && r.code().as_deref() == Some("ValidationException"),
            "body {:?}: {r:?}",
            String::from_utf8_lossy(body)
        );
    }
    for op in ["invoke-with-response-stream"] {
        let req = Req::new("bedrock", "POST", &model_path(ECHO, op))
            .header("content-type", "application/json")
            .body(b"not json".to_vec());
        s.sign_and_send(&req, &s.admin)
            .await
            .expect_err(400, "ValidationException");
    }
}

#[tokio::test]
async fn wrong_content_types() {
    let s = start().await;
    let body = serde_json::to_vec(&anthropic_body("hi")).unwrap();
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        for op in ["invoke", "invoke-with-response-stream"] {
            let req = Req::new("bedrock", "POST", &model_path(ECHO, op))
                .header("content-type", ct)
                .body(body.clone());
            s.sign_and_send(&req, &s.admin)
                .await
                .expect_err(400, "ValidationException");
        }
    }
    // application/json with parameters is fine.
    let req = Req::new("bedrock", "POST", &model_path(ECHO, "invoke"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.clone());
    s.sign_and_send(&req, &s.admin).await.expect_ok();

    // A Query request whose body is not a form.
    let gci = format!("Action=GetCallerIdentity&Version={STS_VERSION}");
    for ct in ["application/json", "text/plain"] {
        let req = Req::new("sts", "POST", "/")
            .header("content-type", ct)
            .body(gci.clone());
        s.sign_and_send(&req, &s.admin)
            .await
            .expect_err(400, "ValidationError");
    }
    let no_type = Req::new("sts", "POST", "/").body(gci.clone());
    s.sign_and_send(&no_type, &s.admin)
        .await
        .expect_err(400, "ValidationError");
}

#[tokio::test]
async fn odd_model_ids() {
    let s = start().await;
    let long = "a".repeat(3000);
    for id in [
        "日本語モデル",
        "model with spaces",
        &long,
        "a\u{7f}b",
        "%",
        "sekisho.echo-v1 ",
    ] {
        let r = s.converse(&s.admin, id, "hi").await;
        assert!(
            r.status == 400 && r.code().as_deref() == Some("ValidationException"),
            "model id {:?}: {r:?}",
            &id[..id.len().min(40)]
        );
    }
}

/// Path tricks in the model id, sent byte for byte (an HTTP client would
/// normalize some of them away), signed as an SDK would sign them.
#[tokio::test]
async fn path_tricks_in_model_ids() {
    let s = start().await;
    let paths = [
        "/model/sekisho.echo-v1%2F..%2F..%2Fadmin/converse",
        "/model/..%2Fsekisho.echo-v1/converse",
        "/model/sekisho.echo-v1%2fconverse/converse",
        "/model/%2e%2e/converse",
        "/model/%2E/converse",
        "/model/../model/sekisho.echo-v1/converse",
        "/model/./sekisho.echo-v1/converse",
        "/model/sekisho.echo-v1/../sekisho.echo-v1/converse",
        "/model/sekisho.echo-v1%00/converse",
        "/model/sekisho.echo-v1%0d%0aX-Injected:%201/converse",
        "/model/%C0%AE%C0%AE/converse",
        "/model/sekisho.echo-v1%5C..%5Cx/converse",
    ];
    let body = serde_json::to_vec(&converse_body("hi")).unwrap();
    for path in paths {
        let req = Req::new("bedrock", "POST", path)
            .header("content-type", "application/json")
            .body(body.clone());
        let signed = s.sign(&req, &s.admin);
        let r = s
            .raw(0, &signed.to_http1())
            .await
            .unwrap_or_else(|e| panic!("{path}: no answer ({e})"));
        assert!(
            r.status == 400 && r.code().as_deref() == Some("ValidationException"),
            "{path}: expected 400 ValidationException, got: {r:?}"
        );
        assert!(r.header("x-injected").is_none());
    }
    // A bad percent-escape.
    let req = Req::new("bedrock", "POST", "/model/%ZZ/converse")
        .header("content-type", "application/json")
        .body(body.clone());
    let signed = s.sign(&req, &s.admin);
    let r = s.raw(0, &signed.to_http1()).await.expect("an answer");
    r.expect_err(400, "ValidationException");
    s.converse(&s.admin, ECHO, "still serving")
        .await
        .expect_ok();
}

#[tokio::test]
async fn non_utf8_and_control_characters_in_headers() {
    let s = start().await;
    let port = s.addr(0).port();
    // Unsigned, with an obs-text header value.
    let mut req = format!(
        "POST {} HTTP/1.1\r\nhost: localhost:{port}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\nx-custom: ",
        model_path(ECHO, "converse")
    )
    .into_bytes();
    req.extend_from_slice(b"\xff\xfe\xe3\x81\r\n\r\n{}");
    let r = s.raw(0, &req).await.expect("an answer");
    r.expect_err(400, "ValidationException");
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "{r:?}"
    );

    // The same on a Query request: the XML shape.
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let mut req = format!(
        "POST / HTTP/1.1\r\nhost: localhost:{port}\r\ncontent-type: {FORM}\r\ncontent-length: {}\r\nconnection: close\r\nx-custom: ",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(b"caf\xe9\r\n\r\n");
    req.extend_from_slice(body.as_bytes());
    let r = s.raw(0, &req).await.expect("an answer");
    r.expect_err(400, "ValidationError");
    assert!(r.text().contains("<ErrorResponse"), "{r:?}");

    // A signed request with a non-UTF-8 header added.
    let signed = s.sign(&Req::query("sts", "GetCallerIdentity", &[]), &s.admin);
    let mut bytes = signed.to_http1();
    let at = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    let extra = b"x-odd: \x80\x81\r\n";
    bytes.splice(at..at, extra.iter().copied());
    let r = s.raw(0, &bytes).await.expect("an answer");
    r.expect_err(400, "ValidationError");

    // A non-UTF-8 Authorization header.
    let mut req = format!(
        "POST {} HTTP/1.1\r\nhost: localhost:{port}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\nauthorization: AWS4-HMAC-SHA256 Credential=",
        model_path(ECHO, "converse")
    )
    .into_bytes();
    req.extend_from_slice(b"\xff\xff/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n{}");
    let r = s.raw(0, &req).await.expect("an answer");
    r.expect_err(400, "ValidationException");
    s.converse(&s.admin, ECHO, "still serving")
        .await
        .expect_ok();
}

#[tokio::test]
async fn unknown_query_actions() {
    let s = start().await;
    s.sts(&s.admin, "Frobnicate", &[])
        .await
        .expect_err(400, "InvalidAction");
    s.sts(&s.admin, "GetFederationToken2", &[])
        .await
        .expect_err(400, "InvalidAction");
    s.sts(&s.admin, "Get-Caller_Identity", &[])
        .await
        .expect_err(400, "InvalidAction");
    // An IAM action sent to STS.
    s.sts(&s.admin, "CreateUser", &[("UserName", "x")])
        .await
        .expect_err(400, "InvalidAction");
    let no_action = Req::new("sts", "POST", "/")
        .header("content-type", FORM)
        .body(format!("Version={STS_VERSION}"));
    s.sign_and_send(&no_action, &s.admin)
        .await
        .expect_err(400, "MissingAction");
    let empty = Req::new("sts", "POST", "/").header("content-type", FORM);
    s.sign_and_send(&empty, &s.admin)
        .await
        .expect_err(400, "MissingAction");
    // A parameter given twice.
    let twice = Req::new("sts", "POST", "/")
        .header("content-type", FORM)
        .body(format!(
            "Action=GetCallerIdentity&Version={STS_VERSION}&Action=AssumeRole"
        ));
    s.sign_and_send(&twice, &s.admin)
        .await
        .expect_err(400, "ValidationError");
    // A bad percent-escape in the form.
    let bad = Req::new("sts", "POST", "/")
        .header("content-type", FORM)
        .body(format!(
            "Action=GetCallerIdentity&Version={STS_VERSION}&X=%ZZ"
        ));
    s.sign_and_send(&bad, &s.admin)
        .await
        .expect_err(400, "ValidationError");
    // Thousands of parameters.
    let flood: String = (0..5000).map(|i| format!("&P{i}=v")).collect();
    let flood = Req::new("sts", "POST", "/")
        .header("content-type", FORM)
        .body(format!(
            "Action=GetCallerIdentity&Version={STS_VERSION}{flood}"
        ));
    s.sign_and_send(&flood, &s.admin)
        .await
        .expect_err(400, "ValidationError");
    // A method the Query protocol does not take.
    let put = Req::new("sts", "PUT", "/")
        .query_string(&format!("Action=GetCallerIdentity&Version={STS_VERSION}"));
    s.sign_and_send(&put, &s.admin)
        .await
        .expect_err(400, "ValidationError");
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}

#[tokio::test]
async fn unknown_rest_paths_and_methods() {
    let s = start().await;
    let body = serde_json::to_vec(&converse_body("hi")).unwrap();
    for path in [
        "/",
        "/foo",
        "/model",
        "/model/sekisho.echo-v1",
        "/model/sekisho.echo-v1/frobnicate",
        "/v2/model/x/converse",
    ] {
        let req = Req::new("bedrock", "POST", path)
            .header("content-type", "application/json")
            .body(body.clone());
        let r = s.sign_and_send(&req, &s.admin).await;
        expect_err_in(&r, &[400, 404], "UnknownOperationException");
    }
    for method in ["GET", "PUT", "DELETE"] {
        let req = Req::new("bedrock", method, &model_path(ECHO, "converse"));
        let r = s.sign_and_send(&req, &s.admin).await;
        expect_err_in(&r, &[400, 404, 405], "UnknownOperationException");
    }
    // An awsJson service the gateway knows of but does not serve yet.
    let kms = Req::new("kms", "POST", "/")
        .header("x-amz-target", "TrentService.Frobnicate")
        .header("content-type", "application/x-amz-json-1.1")
        .body(b"{}".to_vec());
    s.sign_and_send(&kms, &s.admin)
        .await
        .expect_err(400, "UnknownOperationException");
}

#[tokio::test]
async fn garbage_on_the_wire_does_not_disturb_the_gateway() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let s = start().await;
    // Random bytes instead of a TLS ClientHello.
    let mut tcp = tokio::net::TcpStream::connect(s.addr(0)).await.unwrap();
    tcp.write_all(&[0x42; 4096]).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut buf))
        .await
        .expect("the gateway hangs up on garbage")
        .ok();
    // TLS, then garbage instead of HTTP.
    let r = s.raw(0, b"\x00\x01\x02 not http at all\r\n\r\n").await;
    if let Ok(r) = &r {
        assert!((400..500).contains(&r.status), "{r:?}");
    }
    // A request line without a version, a header without a colon.
    let r = s.raw(0, b"POST /\r\nthis is not a header\r\n\r\n").await;
    if let Ok(r) = &r {
        assert!((400..500).contains(&r.status), "{r:?}");
    }
    // A truncated body (Content-Length larger than what is sent), then
    // the client goes away.
    let signed = s.sign(
        &Req::bedrock(ECHO, "converse", &converse_body("hi")),
        &s.admin,
    );
    let mut bytes = signed.to_http1();
    let cut = bytes.len() - 5;
    bytes.truncate(cut);
    let addr = s.addr(0);
    let ca = s.ca_pem.clone();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tls_connector(&ca)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    tls.write_all(&bytes).await.unwrap();
    drop(tls);
    // Everything still works.
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
    s.converse(&s.admin, ECHO, "still serving")
        .await
        .expect_ok();
}

#[tokio::test]
async fn errors_never_echo_secrets() {
    let s = start().await;
    let mut creds = s.sts(&s.admin, "GetSessionToken", &[]).await.credentials();
    let token = creds.session_token.clone().unwrap();
    creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into();
    for r in [
        s.sts(&creds, "GetCallerIdentity", &[]).await,
        s.converse(&creds, ECHO, "secret prompt text").await,
    ] {
        r.expect_client_error();
        let text = r.text();
        assert!(!text.contains(&token), "{r:?}");
        assert!(!text.contains(&creds.secret_access_key), "{r:?}");
        assert!(!text.contains(&s.admin.secret_access_key), "{r:?}");
        assert!(!text.contains("secret prompt text"), "{r:?}");
    }
    // A refused prompt is not echoed either.
    let user = s.user("nobody", None).await;
    let r = s.converse(&user, ECHO, "a confidential prompt").await;
    r.expect_err(403, "AccessDeniedException");
    assert!(!r.text().contains("confidential"), "{r:?}");
}
