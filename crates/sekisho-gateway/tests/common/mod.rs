//! Shared helpers of the end-to-end suite (`tests/e2e_*.rs`).
//!
//! Each test starts its own gateway in-process with
//! [`sekisho_gateway::startup::start`]: a fresh data directory in a temporary
//! directory, listeners on ephemeral loopback ports, a fixed account id. The
//! admin's credentials come from the generated `credentials` file and the
//! CA from `ca.pem`, exactly as a user of `sekisho serve` gets them.
//!
//! Requests are signed with the official `aws-sigv4` crate (in the header or
//! presigned in the query string, at any time, so tests can sign in the past
//! or the future) and sent with `reqwest` over TLS trusting the generated CA.
//! Hostile requests that an HTTP client would clean up (dot segments,
//! non-UTF-8 header values, huge headers) go through [`Server::raw`], which
//! writes bytes on a TLS connection and reads the answer with a deadline, so a
//! hang is a test failure, not a stuck suite.
//!
//! Fixtures that are not under test (a user with a key and a policy, a role
//! with a trust policy) are written straight into the gateway's IAM state
//! through [`Gateway::update_iam`](sekisho_gateway::gateway::Gateway::update_iam),
//! so that STS, Bedrock and network tests do not depend on the IAM service;
//! `e2e_iam.rs` drives the IAM service itself over the wire.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use sekisho_gateway::config::{Config, ListenerConfig};
use sekisho_gateway::error::ApiError;
use sekisho_gateway::startup::{self, Running};
use sekisho_identity::iam::{CreateRoleRequest, CreateUserRequest, IamError, IamState, Tag};
use sekisho_identity::keys::{AccessKeyKind, generate_access_key};
use sekisho_identity::token::{SessionClaims, TokenKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const ECHO: &str = "sekisho.echo-v1";
pub const STS_VERSION: &str = "2011-06-15";
pub const IAM_VERSION: &str = "2010-05-08";
pub const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// How long any single exchange may take before the test calls it a hang.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Access key, secret and (for temporary credentials) the session token.
#[derive(Clone, Debug)]
pub struct Creds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Creds {
    pub fn long_term(id: &str, secret: &str) -> Creds {
        Creds {
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: None,
        }
    }
}

/// A running gateway and what a client needs to talk to it.
pub struct Server {
    pub running: Running,
    /// The temporary directory (data dir, policy files); removed on drop.
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    /// Bound address of each listener, in configuration order.
    pub addrs: Vec<SocketAddr>,
    pub ca_pem: Vec<u8>,
    pub admin: Creds,
    /// HTTP/1.1 client trusting the generated CA.
    pub client: reqwest::Client,
}

/// A listener on an ephemeral loopback port, loopback allowed.
pub fn listener() -> ListenerConfig {
    ListenerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..ListenerConfig::default()
    }
}

/// Writes a file into `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Starts a gateway with the embedded default (ephemeral port, fixed
/// account).
pub async fn start() -> Server {
    start_with(|_, _| {}).await
}

/// Starts a gateway after `tweak` adjusted the configuration; the second
/// argument is a scratch directory for policy files and the like.
pub async fn start_with(tweak: impl FnOnce(&mut Config, &Path)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut config = Config {
        data_dir: data_dir.clone(),
        account_id: Some(ACCOUNT.to_string()),
        listeners: vec![listener()],
        ..Config::default()
    };
    tweak(&mut config, dir.path());
    let running = startup::start(config)
        .await
        .unwrap_or_else(|e| panic!("the gateway did not start: {e}"));
    let addrs = running.addrs.clone();
    let ca_pem = std::fs::read(data_dir.join("ca.pem")).expect("ca.pem");
    let admin = read_credentials(&data_dir.join("credentials"));
    let client = client_builder(&ca_pem).http1_only().build().unwrap();
    Server {
        running,
        dir,
        data_dir,
        addrs,
        ca_pem,
        admin,
        client,
    }
}

/// A reqwest builder trusting only the gateway's CA, without proxies.
pub fn client_builder(ca_pem: &[u8]) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .no_proxy()
        .timeout(DEADLINE)
}

/// Reads profile `sekisho` of an AWS shared-credentials file.
pub fn read_credentials(path: &Path) -> Creds {
    let text = std::fs::read_to_string(path).expect("credentials file");
    let mut in_profile = false;
    let (mut id, mut secret) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_profile = line == "[sekisho]";
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "aws_access_key_id" => id = Some(v.trim().to_string()),
                "aws_secret_access_key" => secret = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    Creds {
        access_key_id: id.expect("aws_access_key_id in profile sekisho"),
        secret_access_key: secret.expect("aws_secret_access_key in profile sekisho"),
        session_token: None,
    }
}

// ---------------------------------------------------------------------------
// Requests and signing

/// A request before signing.
#[derive(Clone, Debug)]
pub struct Req {
    /// SigV4 signing name (`sts`, `iam`, `bedrock`).
    pub service: String,
    pub region: String,
    pub method: String,
    /// Raw path, already percent-encoded as it goes on the wire.
    pub path: String,
    /// Raw query string without `?`, already encoded.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Signing time (default: now).
    pub time: Option<SystemTime>,
    /// Presign in the query string, valid for this long.
    pub presign: Option<Duration>,
    /// Sign `UNSIGNED-PAYLOAD` (presigned URLs, S3 style).
    pub unsigned_payload: bool,
    /// Index of the listener to send to.
    pub listener: usize,
}

impl Req {
    pub fn new(service: &str, method: &str, path: &str) -> Req {
        Req {
            service: service.to_string(),
            region: REGION.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            time: None,
            presign: None,
            unsigned_payload: false,
            listener: 0,
        }
    }

    /// A Query-protocol POST (form body) for `sts` or `iam`.
    pub fn query(service: &str, action: &str, params: &[(&str, &str)]) -> Req {
        let version = if service == "iam" {
            IAM_VERSION
        } else {
            STS_VERSION
        };
        let mut pairs: Vec<(&str, &str)> = vec![("Action", action), ("Version", version)];
        pairs.extend_from_slice(params);
        Req::new(service, "POST", "/")
            .header("content-type", FORM)
            .body(serde_urlencoded::to_string(&pairs).unwrap())
    }

    /// A Bedrock runtime call: `POST /model/{modelId}/{op}` with a JSON body.
    pub fn bedrock(model: &str, op: &str, body: &Value) -> Req {
        Req::new("bedrock", "POST", &model_path(model, op))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(serde_json::to_vec(body).unwrap())
    }

    pub fn region(mut self, region: &str) -> Req {
        self.region = region.to_string();
        self
    }
    pub fn query_string(mut self, query: &str) -> Req {
        self.query = query.to_string();
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }
    /// Signs as if the client's clock said `now + offset` (negative: past).
    pub fn at_offset(mut self, offset_secs: i64) -> Req {
        let now = SystemTime::now();
        let d = Duration::from_secs(offset_secs.unsigned_abs());
        self.time = Some(if offset_secs < 0 { now - d } else { now + d });
        self
    }
    pub fn presigned(mut self, valid_for: Duration) -> Req {
        self.presign = Some(valid_for);
        self
    }
    pub fn unsigned_payload(mut self) -> Req {
        self.unsigned_payload = true;
        self
    }
    pub fn on_listener(mut self, index: usize) -> Req {
        self.listener = index;
        self
    }
}

/// A signed request, ready to send (tests may alter it first).
#[derive(Clone, Debug)]
pub struct Signed {
    pub method: String,
    /// Path and query as they go on the request line.
    pub path_and_query: String,
    /// Lower-case names; `host` included.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub listener: usize,
}

impl Signed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
    }

    /// Replaces the last hex digit of the signature (header or query).
    pub fn corrupt_signature(&mut self) {
        fn flip(s: &str) -> String {
            let mut chars: Vec<char> = s.chars().collect();
            let last = chars.len() - 1;
            chars[last] = if chars[last] == '0' { '1' } else { '0' };
            chars.into_iter().collect()
        }
        if let Some(auth) = self.header("authorization").map(str::to_string) {
            self.set_header("authorization", &flip(&auth));
        } else {
            assert!(self.path_and_query.contains("X-Amz-Signature="));
            let pq = self.path_and_query.clone();
            let (before, after) = pq.split_once("X-Amz-Signature=").unwrap();
            let (sig, rest) = match after.find('&') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            self.path_and_query = format!("{before}X-Amz-Signature={}{rest}", flip(sig));
        }
    }

    /// The request as HTTP/1.1 bytes (`Connection: close`, exact
    /// `Content-Length`).
    pub fn to_http1(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.path_and_query).into_bytes();
        for (n, v) in &self.headers {
            if n == "content-length" || n == "connection" {
                continue;
            }
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (n, v) in &self.headers {
            writeln!(f, "{n}: {v}")?;
        }
        let text = self.text();
        let shown: String = text.chars().take(3000).collect();
        write!(f, "\n{shown}")
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The AWS error code: `x-amzn-ErrorType` (rest-json, up to the first
    /// `:`), else `<Code>` of a Query error document, else `__type`.
    pub fn code(&self) -> Option<String> {
        if let Some(t) = self.header("x-amzn-errortype") {
            return Some(t.split(':').next().unwrap_or(t).to_string());
        }
        if let Some(c) = xml_text(&self.text(), "Code") {
            return Some(c);
        }
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("__type")
                    .and_then(Value::as_str)
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            })
    }

    /// The error message (`message`/`Message` in JSON, `<Message>` in XML).
    pub fn message(&self) -> String {
        if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
            for k in ["message", "Message"] {
                if let Some(m) = v.get(k).and_then(Value::as_str) {
                    return m.to_string();
                }
            }
        }
        xml_text(&self.text(), "Message").unwrap_or_default()
    }

    /// First element `tag`'s text, unescaped.
    pub fn xml(&self, tag: &str) -> Option<String> {
        xml_text(&self.text(), tag)
    }

    /// First element `tag`'s text; panics when absent.
    #[track_caller]
    pub fn xml_req(&self, tag: &str) -> String {
        self.xml(tag)
            .unwrap_or_else(|| panic!("no <{tag}> in the answer: {self:?}"))
    }

    /// Text of every element `tag`.
    pub fn xml_all(&self, tag: &str) -> Vec<String> {
        xml_all(&self.text(), tag)
    }

    /// `<Credentials>` of an STS answer.
    #[track_caller]
    pub fn credentials(&self) -> Creds {
        self.expect_ok();
        Creds {
            access_key_id: self.xml_req("AccessKeyId"),
            secret_access_key: self.xml_req("SecretAccessKey"),
            session_token: Some(self.xml_req("SessionToken")),
        }
    }

    /// Asserts a 200 answer.
    #[track_caller]
    pub fn expect_ok(&self) -> &Resp {
        assert_eq!(self.status, 200, "expected 200, got: {self:?}");
        self
    }

    /// Asserts the status and the AWS error code (and that the request id
    /// header is present).
    #[track_caller]
    pub fn expect_err(&self, status: u16, code: &str) -> &Resp {
        assert!(
            self.status == status && self.code().as_deref() == Some(code),
            "expected {status} {code}, got: {self:?}"
        );
        assert!(
            self.header("x-amzn-requestid").is_some(),
            "an AWS error carries x-amzn-RequestId: {self:?}"
        );
        self
    }

    /// Asserts the error is not a server fault.
    #[track_caller]
    pub fn expect_client_error(&self) -> &Resp {
        assert!(
            (400..500).contains(&self.status),
            "expected a 4xx answer, got: {self:?}"
        );
        self
    }
}

/// Text of the first `<tag>…</tag>` (or empty for `<tag/>`), XML entities
/// decoded.
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    xml_all(doc, tag).into_iter().next()
}

/// Text of every `<tag>…</tag>`, in order (not nested in itself).
pub fn xml_all(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let empty = format!("<{tag}/>");
    let mut out = Vec::new();
    let mut rest = doc;
    loop {
        let o = rest.find(&open);
        let e = rest.find(&empty);
        match (o, e) {
            (Some(i), e) if e.is_none_or(|e| i < e) => {
                let after = &rest[i + open.len()..];
                let Some(j) = after.find(&close) else { break };
                out.push(xml_unescape(&after[..j]));
                rest = &after[j + close.len()..];
            }
            (_, Some(e)) => {
                out.push(String::new());
                rest = &rest[e + empty.len()..];
            }
            _ => break,
        }
    }
    out
}

pub fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(j) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..j];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[j + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Percent-decodes (policy documents in IAM answers are URL-encoded).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
        } else if bytes[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as the
/// SDKs encode a path label.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/model/{modelId}/{op}` with the id encoded as the SDKs do.
pub fn model_path(model: &str, op: &str) -> String {
    format!("/model/{}/{op}", enc(model))
}

// ---------------------------------------------------------------------------
// Bodies and policies

/// A Converse body with one user message.
pub fn converse_body(text: &str) -> Value {
    json!({ "messages": [{ "role": "user", "content": [{ "text": text }] }] })
}

/// A Converse body whose one message is `n` letters, built without a JSON
/// serializer (fast for megabytes).
pub fn big_converse_body(n: usize) -> Vec<u8> {
    let mut body = br#"{"messages":[{"role":"user","content":[{"text":""#.to_vec();
    body.resize(body.len() + n, b'a');
    body.extend_from_slice(br#""}]}]}"#);
    body
}

/// An Anthropic Messages body (InvokeModel).
pub fn anthropic_body(text: &str) -> Value {
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{ "role": "user", "content": [{ "type": "text", "text": text }] }]
    })
}

/// `{"Effect":"Allow","Action":actions,"Resource":resources}` in a policy.
pub fn allow(actions: &[&str], resources: &[&str]) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": resources }]
    })
    .to_string()
}

/// A trust policy letting `principal_arn` call `actions` (e.g.
/// `sts:AssumeRole`), with an optional condition block.
pub fn trust(principal_arn: &str, actions: &[&str], condition: Option<Value>) -> String {
    let mut stmt = json!({
        "Effect": "Allow",
        "Principal": { "AWS": principal_arn },
        "Action": actions,
    });
    if let Some(c) = condition {
        stmt["Condition"] = c;
    }
    json!({ "Version": "2012-10-17", "Statement": [stmt] }).to_string()
}

pub fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub fn model_arn(region: &str, model: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model}")
}

// ---------------------------------------------------------------------------
// The server side

impl Server {
    pub fn addr(&self, listener: usize) -> SocketAddr {
        self.addrs[listener]
    }

    pub fn base_url(&self, listener: usize) -> String {
        format!("https://localhost:{}", self.addrs[listener].port())
    }

    /// Signs `req` with `creds` using `aws-sigv4`.
    pub fn sign(&self, req: &Req, creds: &Creds) -> Signed {
        let authority = format!("localhost:{}", self.addrs[req.listener].port());
        let pq = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let uri = format!("https://{authority}{pq}");
        let identity = aws_credential_types::Credentials::new(
            &creds.access_key_id,
            &creds.secret_access_key,
            creds.session_token.clone(),
            None,
            "e2e",
        )
        .into();
        let mut settings = SigningSettings::default();
        if let Some(valid_for) = req.presign {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(valid_for);
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&req.region)
            .name(&req.service)
            .time(req.time.unwrap_or_else(SystemTime::now))
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let mut headers: Vec<(&str, &str)> = vec![("host", authority.as_str())];
        headers.extend(req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let body = if req.unsigned_payload {
            SignableBody::UnsignedPayload
        } else if req.body.len() > 64 * 1024 {
            // aws-sigv4 hashes with a pure-Rust SHA-256, slow in debug
            // builds; the same hash from aws-lc-rs.
            SignableBody::Precomputed(hex::encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                &req.body,
            )))
        } else {
            SignableBody::Bytes(&req.body)
        };
        let signable =
            SignableRequest::new(&req.method, uri.clone(), headers.iter().copied(), body)
                .unwrap_or_else(|e| panic!("cannot sign {uri}: {e}"));
        let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(&uri);
        for (n, v) in &headers {
            builder = builder.header(*n, *v);
        }
        let mut request = builder.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut request);
        Signed {
            method: req.method.clone(),
            path_and_query: request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
                .collect(),
            body: req.body.clone(),
            listener: req.listener,
        }
    }

    /// Sends a signed (or hand-made) request with reqwest.
    pub async fn send(&self, s: &Signed) -> Resp {
        let url = format!("{}{}", self.base_url(s.listener), s.path_and_query);
        let method = reqwest::Method::from_bytes(s.method.as_bytes()).unwrap();
        let mut rb = self.client.request(method, &url);
        for (n, v) in &s.headers {
            if n == "host" || n == "content-length" {
                continue;
            }
            rb = rb.header(n.as_str(), v.as_str());
        }
        let response = rb
            .body(s.body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {url} failed: {e:?}", s.method));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await.expect("the answer's body").to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Signs and sends.
    pub async fn sign_and_send(&self, req: &Req, creds: &Creds) -> Resp {
        self.send(&self.sign(req, creds)).await
    }

    /// Sends a request without any signature.
    pub async fn send_unsigned(&self, req: &Req) -> Resp {
        let pq = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        self.send(&Signed {
            method: req.method.clone(),
            path_and_query: pq,
            headers: req.headers.clone(),
            body: req.body.clone(),
            listener: req.listener,
        })
        .await
    }

    /// A Query call (`sts` or `iam`) signed for us-east-1.
    pub async fn query(
        &self,
        service: &str,
        creds: &Creds,
        action: &str,
        params: &[(&str, &str)],
    ) -> Resp {
        self.sign_and_send(&Req::query(service, action, params), creds)
            .await
    }

    pub async fn sts(&self, creds: &Creds, action: &str, params: &[(&str, &str)]) -> Resp {
        self.query("sts", creds, action, params).await
    }

    pub async fn iam(&self, creds: &Creds, action: &str, params: &[(&str, &str)]) -> Resp {
        self.query("iam", creds, action, params).await
    }

    /// `sts:AssumeRole` with `RoleArn`, `RoleSessionName` and more.
    pub async fn assume_role(
        &self,
        creds: &Creds,
        role: &str,
        session: &str,
        more: &[(&str, &str)],
    ) -> Resp {
        let mut params = vec![("RoleArn", role), ("RoleSessionName", session)];
        params.extend_from_slice(more);
        self.sts(creds, "AssumeRole", &params).await
    }

    /// A Bedrock runtime call signed for `region`.
    pub async fn bedrock(
        &self,
        creds: &Creds,
        region: &str,
        model: &str,
        op: &str,
        body: &Value,
    ) -> Resp {
        self.sign_and_send(&Req::bedrock(model, op, body).region(region), creds)
            .await
    }

    /// Converse with `sekisho.echo-v1` (or another model) in us-east-1.
    pub async fn converse(&self, creds: &Creds, model: &str, text: &str) -> Resp {
        self.bedrock(creds, REGION, model, "converse", &converse_body(text))
            .await
    }

    /// Writes raw bytes on a fresh TLS connection to `listener` and reads
    /// the whole answer (the request should say `Connection: close`).
    /// `Err` when the connection is refused or closed without an answer;
    /// panics when nothing happens within [`DEADLINE`].
    pub async fn raw(&self, listener: usize, request: &[u8]) -> Result<Resp, String> {
        let addr = self.addrs[listener];
        let ca = self.ca_pem.clone();
        let request = request.to_vec();
        let exchange = async move {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let mut tls = tls_connector(&ca)
                .connect(
                    rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                    tcp,
                )
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            tls.write_all(&request)
                .await
                .map_err(|e| format!("write: {e}"))?;
            tls.flush().await.map_err(|e| format!("flush: {e}"))?;
            let mut buf = Vec::new();
            // A reset after a complete answer is still an answer.
            let read = tls.read_to_end(&mut buf).await;
            if buf.is_empty() {
                return Err(format!("closed without an answer ({read:?})"));
            }
            parse_http1(&buf)
        };
        match tokio::time::timeout(DEADLINE, exchange).await {
            Ok(r) => r,
            Err(_) => panic!("the gateway did not answer within {DEADLINE:?} (a hang)"),
        }
    }

    /// The gateway's token key (`data_dir/token.key`, wrapped by the
    /// master key in `data_dir/master.key`).
    pub fn token_key(&self) -> TokenKey {
        let master_text = std::fs::read_to_string(self.data_dir.join("master.key")).unwrap();
        let master: [u8; 32] = hex::decode(master_text.trim()).unwrap().try_into().unwrap();
        let master = sekisho_keys::MasterKey::from_bytes(master);
        let text = std::fs::read_to_string(self.data_dir.join("token.key")).unwrap();
        let wrapped = text.trim().strip_prefix("sekisho-wrapped-v1:").unwrap();
        let plain = master
            .unwrap(&hex::decode(wrapped).unwrap(), b"token.key")
            .unwrap();
        let bytes: [u8; 32] = plain.as_slice().try_into().unwrap();
        TokenKey::from_bytes(bytes)
    }

    /// Seals `claims` with the gateway's key: credentials the gateway will
    /// take for its own (used to craft an expired session).
    pub fn forge(&self, claims: &SessionClaims) -> Creds {
        let token = self.token_key().seal(claims).unwrap();
        Creds {
            access_key_id: claims.access_key_id.clone(),
            secret_access_key: claims.secret_access_key.expose().to_string(),
            session_token: Some(token),
        }
    }

    // --- fixtures written straight into the IAM state -------------------

    /// Runs `f` on the IAM state as one durable change.
    pub async fn with_iam<T>(&self, f: impl FnOnce(&mut IamState) -> Result<T, IamError>) -> T {
        self.running
            .gateway
            .update_iam(|s| f(s).map_err(|e| ApiError::validation(e.to_string())))
            .await
            .unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    /// A new access key for an existing user.
    pub async fn new_key(&self, user: &str) -> Creds {
        let (id, secret) = generate_access_key(AccessKeyKind::LongTerm).unwrap();
        let sealed =
            sekisho_gateway::auth::seal_secret(&self.running.gateway.secrets, secret.expose())
                .unwrap();
        let now = time::OffsetDateTime::now_utc();
        let user = user.to_string();
        let key_id = id.clone();
        self.with_iam(move |s| s.create_access_key(&user, key_id, sealed, now).map(|_| ()))
            .await;
        Creds::long_term(&id, secret.expose())
    }

    /// A user with an access key and, optionally, an inline policy.
    pub async fn user(&self, name: &str, policy: Option<&str>) -> Creds {
        self.user_tagged(name, policy, &[]).await
    }

    /// A user with tags, an access key and an optional inline policy.
    pub async fn user_tagged(
        &self,
        name: &str,
        policy: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Creds {
        let now = time::OffsetDateTime::now_utc();
        let req = CreateUserRequest {
            user_name: name.to_string(),
            path: None,
            permissions_boundary: None,
            tags: tags.iter().map(|(k, v)| Tag::new(*k, *v)).collect(),
        };
        let user = name.to_string();
        let policy = policy.map(str::to_string);
        self.with_iam(move |s| {
            s.create_user(req, now)?;
            if let Some(p) = policy {
                s.put_user_policy(&user, "inline", &p)?;
            }
            Ok(())
        })
        .await;
        self.new_key(name).await
    }

    /// A role with a trust policy and, optionally, an inline policy;
    /// returns its ARN.
    pub async fn role(&self, name: &str, trust: &str, policy: Option<&str>) -> String {
        self.role_with(
            CreateRoleRequest {
                role_name: name.to_string(),
                assume_role_policy_document: trust.to_string(),
                ..CreateRoleRequest::default()
            },
            policy,
        )
        .await
    }

    pub async fn role_with(&self, req: CreateRoleRequest, policy: Option<&str>) -> String {
        let now = time::OffsetDateTime::now_utc();
        let name = req.role_name.clone();
        let policy = policy.map(str::to_string);
        self.with_iam(move |s| {
            let arn = s.create_role(req, now)?.arn.clone();
            if let Some(p) = policy {
                s.put_role_policy(&name, "inline", &p)?;
            }
            Ok(arn)
        })
        .await
    }
}

/// A TLS connector trusting the gateway's CA.
pub fn tls_connector(ca_pem: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(ca_pem)) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Parses an HTTP/1.1 answer (chunked bodies decoded).
pub fn parse_http1(buf: &[u8]) -> Result<Resp, String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(buf)))?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw_body = &buf[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw_body)?
    } else {
        raw_body.to_vec()
    };
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Decodes a base64 string (standard alphabet).
pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Event-stream frames of a body: `(:event-type or :exception-type, payload)`.
pub fn frames(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let messages = sekisho_gateway::eventstream::decode_frames(body).unwrap_or_else(|e| {
        panic!(
            "not an event stream ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    messages
        .iter()
        .map(|m| {
            let kind = sekisho_gateway::eventstream::header_str(m, ":event-type")
                .or_else(|| sekisho_gateway::eventstream::header_str(m, ":exception-type"))
                .unwrap_or("?")
                .to_string();
            (kind, m.payload().to_vec())
        })
        .collect()
}
