//! The accept loop: hyper HTTP/1.1 with upgrades (WebSocket); each request
//! carries the peer address (`ConnectInfo`). Shutdown: stop accepting, run
//! `before_drain` (closes the sockets), let in-flight requests finish (at
//! most 10 s).
//!
//! Slow and silent clients (issue #8 item 6):
//! - connection caps, checked before anything is read: at most
//!   `MAX_CONNECTIONS_PER_IP` per peer address (trusted proxies,
//!   `TRUSTED_PROXIES`, exempt) and `MAX_CONNECTIONS` in total (by default derived from
//!   `RLIMIT_NOFILE`, so the process never runs out of descriptors). The
//!   slot is held by the connection's I/O object
//!   ([`crate::limits::connection::Stream`]), so an upgraded WebSocket keeps
//!   counting until it closes;
//! - at the per-address cap (issue 20 item 2), the address's longest-idle
//!   connection is closed to make room ([`crate::limits::admission::admit`]); with none
//!   idle, up to [`crate::limits::admission::BUSY_ANSWERS_PER_IP`] more connections get a 503
//!   `SERVER_BUSY` with `Retry-After`; past those, and at the total cap, a
//!   refused connection is reset at once;
//! - health probes still answered with the total cap reached: a few slots
//!   above it for loopback and private peers that hold (almost) no
//!   connection ([`crate::limits::sockets::HEALTH_RESERVE`]); such a
//!   connection serves one request, a health probe (`/health…`) only
//!   ([`ReserveSlot`], checked by `realtime::gate::engine_gate`);
//! - a first-byte timeout: a connection that sends nothing within
//!   `HEADER_READ_TIMEOUT_SECS` is closed (hyper's header timer only starts
//!   after the first bytes when upgrades are served);
//! - hyper's header read timeout for the rest of the head, and the same
//!   timer between requests of a kept-alive connection;
//! - a lingering close (issue 20 item 1): a connection closed while its
//!   client may still be sending reads and discards a bounded amount first,
//!   so an answer written before the body was read is not destroyed by a
//!   reset ([`crate::limits::connection`]).
//!
//! With `METRICS_ADDR`, a second listener serves `/metrics`
//! ([`crate::metrics`]) through the same accept loop, caps and timeouts
//! (issue 20 item 4; no reserve slot there). "accept failed" is logged once
//! per episode. Layers around everything on the main port, Socket.IO
//! included (issue 15): the access log ([`crate::http::access_log`]) and,
//! with `ALLOWED_ORIGINS`, CORS with credentials for those origins
//! ([`cors`]).

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::ConnectInfo,
    http::{HeaderName, HeaderValue, Method, Request, StatusCode},
    response::{IntoResponse, Response},
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceExt, util::BoxCloneService};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    http::error::AppError,
    limits::{
        Limits, TrustedProxies,
        admission::{AcceptErrors, Admission, admit},
        connection::{Requests, Stream, Tracked, Tracker},
        sockets::{ConnectionRefused, ConnectionSlot},
    },
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

/// Serves `router` on `listener` (and the `METRICS_ADDR` listener, through
/// the same accept loop and caps) until `shutdown`; see the module doc.
///
/// # Errors
/// Never fails once started; accept errors (e.g. too many open files) are
/// logged once per episode and retried.
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
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    tracing::info!(
        max_connections = limits.sockets.max_connections(),
        "connection cap (0 = off)"
    );
    let accept = Arc::new(Accept {
        http,
        header_read_timeout,
        limits,
        trust_proxy,
        tracker: Tracker::new(),
    });
    // Every connection task holds a receiver until it ends: the drain below
    // waits for all of them (`closed`); `true` asks them to finish.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let metrics = metrics.map(|(listener, router)| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!("metrics on http://{addr}/metrics");
        }
        let mut stop = stopping.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::spawn(accept_loop(
            listener,
            router,
            Role::Metrics,
            accept.clone(),
            stopping.clone(),
            stopped,
        ))
    });
    accept_loop(
        listener,
        router,
        Role::Main,
        accept,
        stopping.clone(),
        shutdown,
    )
    .await;
    drop(stopping);
    let _ = stopping_tx.send(true);
    if let Some(task) = metrics {
        let _ = task.await;
    }
    before_drain.await;
    if tokio::time::timeout(Duration::from_secs(10), stopping_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within 10 s");
    }
    Ok(())
}

/// Which listener an accept loop serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `HOST:PORT`: everything; health probes may take a reserve slot.
    Main,
    /// `METRICS_ADDR`: `/metrics` only; no reserve slot.
    Metrics,
}

/// What every accept loop of the process shares: one set of caps for both
/// listeners, so the metrics port cannot spend the descriptors the main
/// port needs (issue 20 item 4).
struct Accept {
    http: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    header_read_timeout: Duration,
    limits: Arc<Limits>,
    trust_proxy: TrustedProxies,
    tracker: Arc<Tracker>,
}

/// Accepts on `listener` until `stop`, each connection admitted by
/// [`admit`] and served by [`serve_connection`].
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    role: Role,
    accept: Arc<Accept>,
    stopping: tokio::sync::watch::Receiver<bool>,
    stop: impl Future<Output = ()> + Send,
) {
    tokio::pin!(stop);
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, peer) = tokio::select! {
            res = listener.accept() => match res {
                Ok(conn) => conn,
                Err(e) => {
                    errors.failed(&e, if role == Role::Main { "main" } else { "metrics" });
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let (slot, svc, tracked) = match admit(
            &accept.limits.sockets,
            &accept.tracker,
            &accept.trust_proxy,
            peer.ip(),
            role == Role::Main,
        ) {
            Admission::Refuse(why) => {
                refuse(stream, peer, why);
                continue;
            }
            Admission::Busy(slot) => (slot, busy_service(), None),
            Admission::Serve(slot) => {
                let tracked = accept.tracker.register(peer.ip());
                let svc = routed(&router, peer, slot.is_reserve(), tracked.requests());
                (slot, svc, Some(tracked))
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            accept.clone(),
            stream,
            slot,
            tracked,
            svc,
            stopping.clone(),
        ));
    }
}

/// The service of one connection's requests.
type ConnService = BoxCloneService<Request<Incoming>, Response, Infallible>;

/// `router` for a connection of `peer`: each request carries
/// `ConnectInfo` (and [`ReserveSlot`] on a reserve connection) and is
/// marked in flight until its answer's head is ready; an answer that
/// switches protocols marks the connection upgraded.
fn routed(router: &Router, peer: SocketAddr, reserve: bool, requests: Requests) -> ConnService {
    let svc = router
        .clone()
        .map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            if reserve {
                req.extensions_mut().insert(ReserveSlot);
            }
            req
        })
        .map_future(move |fut| {
            let in_flight = requests.begin();
            async move {
                let res: Result<Response, Infallible> = fut.await;
                if let Ok(r) = &res
                    && r.status() == StatusCode::SWITCHING_PROTOCOLS
                {
                    in_flight.upgraded();
                }
                drop(in_flight);
                res
            }
        });
    BoxCloneService::new(svc)
}

/// Every request gets 503 `SERVER_BUSY` with `Retry-After`, the contract's
/// error JSON, and `Connection: close` (issue 20 item 2).
fn busy_service() -> ConnService {
    BoxCloneService::new(tower::service_fn(|_req: Request<Incoming>| async {
        let mut res = AppError::Busy.into_response();
        res.headers_mut().insert(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Ok::<_, Infallible>(res)
    }))
}

/// Serves one admitted connection: waits for its first byte (at most
/// `HEADER_READ_TIMEOUT_SECS`, or until it is chosen to be closed for a
/// newer one), then hyper; a stop or an eviction closes it gracefully
/// (the request in flight is answered first).
async fn serve_connection(
    accept: Arc<Accept>,
    stream: TcpStream,
    slot: ConnectionSlot,
    tracked: Option<Tracked>,
    svc: ConnService,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let state = tracked.as_ref().map(|t| t.state().clone());
    let evicted = || async {
        match &state {
            Some(s) => s.close_requested().await,
            None => std::future::pending().await,
        }
    };
    // Only ordinary connections keep alive: a reserve slot serves one
    // health probe, a busy one its 503.
    let keep_alive = tracked.is_some() && !slot.is_reserve();
    // Wait for the first byte without consuming it.
    let mut probe = [0u8; 1];
    let first = tokio::time::timeout(accept.header_read_timeout, stream.peek(&mut probe));
    tokio::select! {
        res = first => match res {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return,
            Err(_) => {
                tracing::debug!("connection closed: nothing received in time");
                return;
            }
        },
        _ = stopping.wait_for(|s| *s) => return,
        () = evicted() => return,
    }
    if let Some(s) = &state {
        s.first_byte();
    }
    let mut http = accept.http.clone();
    if !keep_alive {
        http.http1().keep_alive(false);
    }
    let io = Stream::new(stream, slot, tracked);
    let conn = http.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc));
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = async {
                tokio::select! {
                    _ = stopping.wait_for(|s| *s) => {}
                    () = evicted() => {}
                }
            }, if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Closes a refused connection at once (a reset: nothing lingers).
fn refuse(stream: TcpStream, peer: SocketAddr, why: ConnectionRefused) {
    let _ = stream.set_zero_linger();
    drop(stream);
    // Debug only: a flood of refusals must not flood the log.
    tracing::debug!(%peer, ?why, "connection refused");
}
