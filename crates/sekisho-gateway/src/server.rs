//! Listeners: accept, check the peer against the listener's allow rules
//! before any TLS byte is exchanged, complete the TLS handshake within a
//! time limit, then serve HTTP/1.1 or HTTP/2 with hyper.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::ListenerConfig;

/// What the gateway knows about a connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// Index of the listener in the configuration.
    pub listener: usize,
    /// `TLSv1.3` / `TLSv1.2`.
    pub tls_version: &'static str,
    pub cipher_suite: String,
    /// The SNI host name the client asked for.
    pub server_name: Option<String>,
}

/// A response body: whole, or streamed (event-stream answers).
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// Turns bytes into a response body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    use http_body_util::BodyExt as _;
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The request handler a listener serves.
pub trait Service: Send + Sync + 'static {
    fn call(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        request: http::Request<Incoming>,
    ) -> impl std::future::Future<Output = http::Response<Body>> + Send;
}

/// Counters a listener keeps (exported later as metrics).
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub refused_by_allow_rules: std::sync::atomic::AtomicU64,
    pub failed_handshakes: std::sync::atomic::AtomicU64,
}

/// Connection-level limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub handshake_timeout: Duration,
    pub max_header_bytes: usize,
}

/// Serves one listener until the task is dropped.
pub async fn serve<S: Service>(
    index: usize,
    config: ListenerConfig,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    limits: ConnLimits,
    service: Arc<S>,
    stats: Arc<ListenerStats>,
) {
    let ConnLimits {
        handshake_timeout,
        max_header_bytes,
    } = limits;
    let acceptor = TlsAcceptor::from(tls);
    let config = Arc::new(config);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep going.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !config.allows(peer.ip()) {
            // Closed before TLS, like a security group dropping the SYN.
            stats
                .refused_by_allow_rules
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(peer = %peer, listener = index, "connection refused by the listener's allow rules");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let acceptor = acceptor.clone();
        let service = service.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                _ => {
                    stats
                        .failed_handshakes
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
            };
            let (_, session) = tls.get_ref();
            let conn = Arc::new(ConnInfo {
                peer,
                local,
                listener: index,
                tls_version: match session.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                    _ => "TLSv1.2",
                },
                cipher_suite: session
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()))
                    .unwrap_or_default(),
                server_name: session.server_name().map(str::to_string),
            });
            let svc = hyper::service::service_fn(move |req| {
                let service = service.clone();
                let conn = conn.clone();
                async move { Ok::<_, Infallible>(service.call(conn, req).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().max_buf_size(max_header_bytes.max(8192));
            builder
                .http2()
                .max_header_list_size(u32::try_from(max_header_bytes).unwrap_or(u32::MAX));
            // Errors here are client disconnects and protocol violations:
            // nothing to answer, nothing to log at warning level.
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), svc).await {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
        });
    }
}
