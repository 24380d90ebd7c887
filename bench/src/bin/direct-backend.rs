//! The "direct backend call" baseline: a minimal HTTPS server on the same
//! stack as Sekisho's listeners (tokio multi-thread runtime, rustls with the
//! aws-lc-rs provider and Sekisho's own TLS configuration, hyper's HTTP/1.1 +
//! HTTP/2 auto server, keep-alive, TCP_NODELAY) that answers
//! `POST /model/{id}/converse` with the echo backend's Converse answer,
//! built by the same functions Sekisho uses (request decoding, the echo
//! backend, response encoding), but without authentication, routing,
//! limits or policy evaluation.
//!
//! Usage: direct-backend --bind 127.0.0.1:28444 --cert server.pem --key server-key.pem

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sekisho_gateway::backend::Backend as _;
use sekisho_gateway::backend::echo::{EchoBackend, EchoConfig};
use sekisho_gateway::services::bedrock_runtime::{converse_request, converse_response};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn respond(status: u16, body: Vec<u8>) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            "x-amzn-requestid",
            sekisho_gateway::protocol::new_request_id(),
        )
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

async fn handle(
    echo: Arc<EchoBackend>,
    request: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let Some(model) = path
        .strip_prefix("/model/")
        .and_then(|p| p.strip_suffix("/converse"))
    else {
        return respond(404, br#"{"message":"not found"}"#.to_vec());
    };
    let model = model.to_string();
    let body = match Limited::new(request.into_body(), 20 * 1024 * 1024)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return respond(400, br#"{"message":"unreadable body"}"#.to_vec()),
    };
    let chat = match converse_request(&body, &model) {
        Ok(c) => c,
        Err(e) => {
            return respond(
                400,
                serde_json::to_vec(&serde_json::json!({"message": e.message})).unwrap_or_default(),
            );
        }
    };
    match echo.converse(chat).await {
        Ok(answer) => respond(
            200,
            serde_json::to_vec(&converse_response(&answer)).unwrap_or_default(),
        ),
        Err(e) => respond(
            500,
            serde_json::to_vec(&serde_json::json!({"message": e.to_string()})).unwrap_or_default(),
        ),
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let bind: SocketAddr = arg(&args, "--bind")
        .unwrap_or_else(|| "127.0.0.1:28444".into())
        .parse()
        .map_err(|e| format!("--bind: {e}"))?;
    let cert = PathBuf::from(arg(&args, "--cert").ok_or("--cert FILE is required")?);
    let key = PathBuf::from(arg(&args, "--key").ok_or("--key FILE is required")?);
    let (certs, key) = sekisho_gateway::tls::load_pem(&cert, &key)?;
    let tls = sekisho_gateway::tls::server_config(certs, key)?;
    let echo = Arc::new(EchoBackend::new(EchoConfig::default())?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| format!("bind {bind}: {e}"))?;
        println!("direct backend listening on https://{bind}");
        let acceptor = TlsAcceptor::from(tls);
        loop {
            let (stream, _peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(pair) => pair,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            let echo = echo.clone();
            tokio::spawn(async move {
                let Ok(Ok(tls)) =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| {
                    let echo = echo.clone();
                    async move { Ok::<_, Infallible>(handle(echo, req).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    })
}
