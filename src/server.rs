//! The accept loop: hyper HTTP/1.1 with upgrades (WebSocket); each request
//! carries the peer address (`ConnectInfo`). Shutdown: stop accepting, run
//! `before_drain` (closes the sockets), let in-flight requests finish (at
//! most 10 s).
//!
//! Slow and silent clients (issue #8 item 6):
//! - connection caps, checked before anything is read: at most
//!   `MAX_CONNECTIONS_PER_IP` per peer address (trusted proxies,
//!   `TRUSTED_PROXIES`, exempt) and `MAX_CONNECTIONS` in total (by default derived from
//!   `RLIMIT_NOFILE`, so the process never runs out of descriptors); a
//!   refused connection is reset at once. The slot is held by the
//!   connection's I/O object, so an upgraded WebSocket keeps counting until
//!   it closes;
//! - health probes still answered with the total cap reached: a few slots
//!   above it for loopback and private peers that hold (almost) no
//!   connection ([`crate::limits::sockets::HEALTH_RESERVE`]); such a
//!   connection serves one request, a health probe (`/health…`) only
//!   ([`ReserveSlot`], checked by `realtime::gate::engine_gate`);
//! - a first-byte timeout: a connection that sends nothing within
//!   `HEADER_READ_TIMEOUT_SECS` is closed (hyper's header timer only starts
//!   after the first bytes when upgrades are served);
//! - hyper's header read timeout for the rest of the head, and the same
//!   timer between requests of a kept-alive connection.
//!
//! Layers around everything, Socket.IO included (issue 15): the access log
//! ([`crate::http::access_log`]) and, with `ALLOWED_ORIGINS`, CORS with
//! credentials for those origins ([`cors`]). With `METRICS_ADDR`, a second
//! listener serves `/metrics` ([`crate::metrics`]) until shutdown.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    extract::ConnectInfo,
    http::{HeaderName, HeaderValue, Method},
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::limits::{
    Limits, TrustedProxies,
    sockets::{ConnectionRefused, ConnectionSlot},
};

/// Put into the extensions of a request that came on a reserve connection
/// (above `MAX_CONNECTIONS`, see the module doc): only a health probe is
/// served on it.
#[derive(Clone, Copy, Debug)]
pub struct ReserveSlot;

/// How the accept loop treats connections.
pub struct ServeOptions {
    /// First-byte and header read timeout (`HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// The connection caps ([`Limits::sockets`]).
    pub limits: Arc<Limits>,
    /// `TRUSTED_PROXIES`: trusted proxy peers skip the per-IP connection
    /// cap; the access log's client IP.
    pub trust_proxy: TrustedProxies,
    /// `ALLOWED_ORIGINS`: CORS with credentials for these origins ([`cors`]).
    pub allowed_origins: Vec<String>,
    /// The `METRICS_ADDR` listener and its router, when set.
    pub metrics: Option<(TcpListener, Router)>,
}

/// CORS for `ALLOWED_ORIGINS` (none when empty): those origins may call the
/// JSON API and Socket.IO's polling transport from their pages with
/// credentials (the visitor cookie): `GET`, `POST`, `OPTIONS`, request
/// headers `Content-Type` and `X-CSRFToken`; preflights cached 10 minutes.
/// Every `POST` still needs the CSRF token, which only a page of an allowed
/// origin can read (from `/api/session`).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                HeaderName::from_static("x-csrftoken"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// Serves `router` on `listener` until `shutdown`; see the module doc.
///
/// # Errors
/// Never fails once started; accept errors (e.g. too many open files) are
/// logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
    before_drain: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let ServeOptions {
        header_read_timeout,
        limits,
        trust_proxy,
        allowed_origins,
        metrics,
    } = options;
    let mut router = router;
    if let Some(cors) = cors(&allowed_origins) {
        router = router.layer(cors);
    }
    let router = router.layer(axum::middleware::from_fn_with_state(
        trust_proxy,
        crate::http::access_log::layer,
    ));
    let graceful = GracefulShutdown::new();
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    tracing::info!(
        max_connections = limits.sockets.max_connections(),
        "connection cap (0 = off)"
    );
    // Connections still waiting for their first byte are not watched by
    // `graceful` yet; they end when this turns true.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let metrics = metrics.map(|(listener, router)| {
        let mut stop = stopping.clone();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!("metrics on http://{addr}/metrics");
        }
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::warn!(error = %e, "metrics listener failed");
            }
        })
    });
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            res = listener.accept() => match res {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let exempt = trust_proxy.contains(peer.ip());
        let slot = match limits.sockets.open_connection(peer.ip(), exempt) {
            Ok(slot) => slot,
            Err(why) => {
                refuse(stream, peer, why);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let reserve = slot.is_reserve();
        let svc = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                if reserve {
                    req.extensions_mut().insert(ReserveSlot);
                }
                req
            });
        let mut http = http.clone();
        if reserve {
            // One request, then the slot is free again.
            http.http1().keep_alive(false);
        }
        let watcher = graceful.watcher();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            // Wait for the first byte without consuming it.
            let mut probe = [0u8; 1];
            let first = tokio::time::timeout(header_read_timeout, stream.peek(&mut probe));
            tokio::select! {
                res = first => match res {
                    Ok(Ok(n)) if n > 0 => {}
                    Ok(_) => return,
                    Err(_) => {
                        tracing::debug!(%peer, "connection closed: nothing received in time");
                        return;
                    }
                },
                _ = stopping.wait_for(|s| *s) => return,
            }
            let io = Counted {
                stream,
                _slot: slot,
            };
            let conn = http
                .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc));
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    before_drain.await;
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within 10 s");
    }
    if let Some(task) = metrics {
        // A scrape in flight may finish; then the listener is closed.
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    Ok(())
}

/// Closes a refused connection at once (a reset: nothing lingers).
fn refuse(stream: TcpStream, peer: SocketAddr, why: ConnectionRefused) {
    let _ = stream.set_zero_linger();
    drop(stream);
    // Debug only: a flood of refusals must not flood the log.
    tracing::debug!(%peer, ?why, "connection refused");
}

/// A TCP stream that holds its connection slot until it is dropped,
/// through hyper and, after an upgrade, inside the WebSocket.
struct Counted {
    stream: TcpStream,
    _slot: ConnectionSlot,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
