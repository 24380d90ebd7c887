//! A tiny scripted HTTP/1.1 server for the backend tests: it records every
//! request, answers what the test's handler says (whole, chunked, stalled
//! or cut), and counts connections and the connections the client closed.
//! Also a SigV4 checker that recomputes signatures with `aws-sigv4`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sekisho_gateway::backend::{
    ChatEvent, ChatRequest, ContentBlock, InferenceConfig, Message, Role,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// How a chunked reply ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The terminating chunk: a complete answer.
    Finish,
    /// Nothing more, connection kept open until the client closes it.
    Hang,
    /// The connection is closed without the terminating chunk.
    Cut,
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Chunked {
        status: u16,
        headers: Vec<(String, String)>,
        chunks: Vec<Vec<u8>>,
        pause: Duration,
        end: End,
    },
    /// No answer at all; wait until the client goes away.
    Stall,
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
        Reply::Full {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn chunks(content_type: &str, chunks: Vec<Vec<u8>>, pause: Duration, end: End) -> Reply {
        Reply::Chunked {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            chunks,
            pause,
            end,
        }
    }
}

type Handler = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

struct State {
    requests: Mutex<Vec<Recorded>>,
    connections: AtomicUsize,
    closed_by_client: AtomicUsize,
    handler: Box<Handler>,
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    state: Arc<State>,
}

impl TestServer {
    /// Starts a server whose `handler` gets the 0-based request number and
    /// the request.
    pub async fn start(
        handler: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            closed_by_client: AtomicUsize::new(0),
            handler: Box::new(handler),
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                st.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(sock, st.clone()));
            }
        });
        TestServer {
            addr,
            url: format!("http://{addr}"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Connections the client closed while the server was still answering
    /// (or waiting to).
    pub fn closed_by_client(&self) -> usize {
        self.state.closed_by_client.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` connections were closed by the client.
    pub async fn wait_closed_by_client(&self, n: usize, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if self.closed_by_client() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.closed_by_client() >= n
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn read_more(sock: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 16 * 1024];
    match sock.read(&mut tmp).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
    }
}

/// Waits until the client closes the connection.
async fn until_client_closes(sock: &mut TcpStream) {
    let mut tmp = [0u8; 1024];
    loop {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn serve_connection(mut sock: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if !read_more(&mut sock, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let total = head_end + 4 + length;
        while buf.len() < total {
            if !read_more(&mut sock, &mut buf).await {
                return;
            }
        }
        let body = buf[head_end + 4..total].to_vec();
        buf.drain(..total);
        let recorded = Recorded {
            method,
            path,
            headers,
            body,
        };
        let number = {
            let mut requests = state.requests.lock().unwrap();
            requests.push(recorded.clone());
            requests.len() - 1
        };
        match (state.handler)(number, &recorded) {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                if sock.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Reply::Chunked {
                status,
                headers,
                chunks,
                pause,
                end,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\ntransfer-encoding: chunked\r\n",
                    reason(status)
                );
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                if sock.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in chunks {
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                    framed.extend_from_slice(&chunk);
                    framed.extend_from_slice(b"\r\n");
                    if sock.write_all(&framed).await.is_err() || sock.flush().await.is_err() {
                        state.closed_by_client.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                match end {
                    End::Finish => {
                        if sock.write_all(b"0\r\n\r\n").await.is_err() {
                            return;
                        }
                    }
                    End::Hang => {
                        until_client_closes(&mut sock).await;
                        state.closed_by_client.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    End::Cut => return,
                }
            }
            Reply::Stall => {
                until_client_closes(&mut sock).await;
                state.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// A port nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

/// Checks that `request` carries a valid SigV4 header signature for the
/// given credentials, region and service, by recomputing it with
/// `aws-sigv4` over the headers it says it signed.
pub fn verify_sigv4(
    request: &Recorded,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let auth = request
        .header("authorization")
        .ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(", ") {
        let (k, v) = part.split_once('=').ok_or("malformed Authorization")?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => return Err(format!("unexpected Authorization part {k}")),
        }
    }
    let (credential, signed_headers, signature) = (
        credential.ok_or("no Credential")?,
        signed_headers.ok_or("no SignedHeaders")?,
        signature.ok_or("no Signature")?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5
        || scope[0] != access_key_id
        || scope[2] != region
        || scope[3] != service
        || scope[4] != "aws4_request"
    {
        return Err(format!("unexpected credential scope {credential}"));
    }
    if request.header("x-amz-security-token") != session_token {
        return Err("the session token header does not match".into());
    }
    let amz_date = request.header("x-amz-date").ok_or("no X-Amz-Date")?;
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let time: SystemTime = time::PrimitiveDateTime::parse(amz_date, &format)
        .map_err(|e| format!("bad X-Amz-Date: {e}"))?
        .assume_utc()
        .into();
    if scope[1] != &amz_date[..8] {
        return Err("the credential scope date is not the request date".into());
    }

    let host = request.header("host").ok_or("no Host")?;
    let uri = format!("http://{host}{}", request.path);
    let mut headers = Vec::new();
    for name in signed_headers.split(';') {
        let value = request
            .header(name)
            .ok_or_else(|| format!("signed header {name} is missing"))?;
        headers.push((name, value));
    }
    let identity = aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key,
        session_token.map(str::to_string),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        &request.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if expected == signature {
        Ok(())
    } else {
        Err("the signature does not match".into())
    }
}

/// A simple request.
pub fn chat(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        upstream_model: model.to_string(),
        system: Vec::new(),
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentBlock::Text(text.to_string())],
        }],
        inference: InferenceConfig::default(),
        tool_config: None,
    }
}

/// Events with latencies zeroed, for comparisons.
pub fn without_latency(events: Vec<ChatEvent>) -> Vec<ChatEvent> {
    events
        .into_iter()
        .map(|e| match e {
            ChatEvent::Metadata { usage, .. } => ChatEvent::Metadata {
                usage,
                latency: Duration::ZERO,
            },
            other => other,
        })
        .collect()
}

/// The text of the `ContentDelta` events.
pub fn delta_text(events: &[ChatEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ContentDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
