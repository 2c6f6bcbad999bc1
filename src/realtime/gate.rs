//! The Engine.IO session gate (issue #8 item 2): a middleware in front of
//! the Socket.IO layer. A request to `/socket.io/` without `sid` would make
//! socketioxide create a session (about 13 KB, kept until the namespace
//! CONNECT or `SOCKET_CONNECT_TIMEOUT_SECS`); before that, the client IP's
//! handshake rate, its session and pending caps and the global ceilings are
//! checked ([`crate::limits::sockets::Sockets::open_session`]). A refusal
//! is the contract's error JSON: 429 `RATE_LIMITED` with `Retry-After`, or
//! 503 `SERVICE_UNAVAILABLE`.
//!
//! The admitted session's guard rides in the request's extensions, which
//! socketioxide keeps (as the session's `req_parts`) for the whole session:
//! its drop, when the session is gone, releases the counts.
//!
//! Being the outermost layer, the gate also does what the router's layers
//! cannot do for the Socket.IO layer inside it:
//! - a request body under `/socket.io` (Engine.IO polling `POST`) must
//!   arrive whole within `BODY_READ_TIMEOUT_SECS`, else 408
//!   `REQUEST_TIMEOUT` with `Connection: close` (issue #8 item 6: a body
//!   trickled a byte at a time cannot hold a connection); socketioxide's own
//!   [`super::MAX_PAYLOAD`] limit still answers a longer one;
//! - a request on a reserve connection ([`crate::server::ReserveSlot`],
//!   above `MAX_CONNECTIONS`) is served only when it is a health probe
//!   (`/health`, `/health/…`), else 503 `SERVICE_UNAVAILABLE`.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Extensions, HeaderMap, HeaderValue, Method, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    AppState, http::BodyRead, http::error::AppError, limits::sockets::EngineSession,
    server::ReserveSlot,
};

/// The path socketioxide serves (its default `req_path`).
const SOCKET_PATH: &str = "/socket.io";

/// Would this request start a new Engine.IO session? A `GET` under
/// `/socket.io` (polling open or a direct WebSocket) unless its first
/// `sid=` query parameter holds a well-formed session id.
///
/// This mirrors engineioxide's request parser (`service/parser.rs`): it
/// looks for the first `sid=` parameter only, so a bare `sid` key (or
/// `xsid=…`) opens a new session and must be gated like no `sid` at all
/// (review of issue #8 item 2). A `sid=` whose value is not a session id
/// (16 URL-safe base64 characters, engineioxide's `Sid::from_str`) is
/// refused by engineioxide today; it is gated too, so that a parser that
/// treated it as "no sid" could not open an uncounted session.
pub fn starts_session(method: &Method, uri: &Uri) -> bool {
    let path = uri.path();
    let under = path == SOCKET_PATH
        || path
            .strip_prefix(SOCKET_PATH)
            .is_some_and(|rest| rest.starts_with('/'));
    under && method == Method::GET && !has_session_id(uri.query().unwrap_or(""))
}

/// Does the first `sid=` parameter of `query` hold a well-formed session id?
fn has_session_id(query: &str) -> bool {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("sid="))
        .is_some_and(|sid| {
            sid.len() == 16
                && sid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// Is `path` a health probe (`/health` or below)?
fn is_health(path: &str) -> bool {
    path.strip_prefix("/health")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Is this a request under `/socket.io` whose body must meet the deadline?
fn socket_body(req: &Request) -> bool {
    let path = req.uri().path();
    let under = path == SOCKET_PATH
        || path
            .strip_prefix(SOCKET_PATH)
            .is_some_and(|rest| rest.starts_with('/'));
    under && req.method() != Method::GET && crate::http::has_body(req)
}

/// The request headers a Socket.IO session reads after its first request:
/// the handshake's origin check (`Origin`, `Host`), its cookies (`Cookie`),
/// the client IP behind a trusted proxy (`X-Forwarded-For`,
/// [`crate::limits::request_ip`]) and engineioxide's WebSocket upgrade
/// (`Sec-WebSocket-Key`). A header the handshake starts reading must be
/// added here: the others are not kept.
pub const SESSION_HEADERS: [header::HeaderName; 5] = [
    header::HOST,
    header::ORIGIN,
    header::COOKIE,
    header::HeaderName::from_static("x-forwarded-for"),
    header::SEC_WEBSOCKET_KEY,
];

/// Keeps, of the request that opens a session, only what the session reads
/// later, in copies of its own.
///
/// socketioxide keeps a session's request parts (URI, headers, extensions)
/// for the session's whole life. hyper parses a request head without
/// copying: the URI and every header value are slices of the connection's
/// read buffer (8–16 KiB), so without copies each idle socket would pin its
/// connection's whole read buffer (issue #9 item 4: measured with
/// heaptrack, 16 KiB of the 30 KiB an idle socket cost). Of the headers
/// only [`SESSION_HEADERS`] are copied (a browser sends a dozen more,
/// hundreds of bytes), and of the extensions only the peer address
/// (`ConnectInfo`), hyper's upgrade handle (engineioxide takes it out) and
/// the session's guard (`Arc<EngineSession>`), not the router's
/// (`OriginalUri`, matched path, URL parameters): issue 25 item 5.
fn keep_session_head(req: &mut Request) {
    if let Ok(uri) = Uri::try_from(req.uri().to_string()) {
        *req.uri_mut() = uri;
    }
    let shared = std::mem::take(req.headers_mut());
    let present = SESSION_HEADERS
        .iter()
        .filter(|name| shared.contains_key(*name))
        .count();
    let mut owned = HeaderMap::with_capacity(present);
    for name in &SESSION_HEADERS {
        for value in shared.get_all(name) {
            let mut copy =
                HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
            copy.set_sensitive(value.is_sensitive());
            owned.append(name.clone(), copy);
        }
    }
    *req.headers_mut() = owned;
    let ext = req.extensions_mut();
    let mut kept = Extensions::new();
    if let Some(peer) = ext.remove::<ConnectInfo<SocketAddr>>() {
        kept.insert(peer);
    }
    if let Some(upgrade) = ext.remove::<hyper::upgrade::OnUpgrade>() {
        kept.insert(upgrade);
    }
    if let Some(session) = ext.remove::<Arc<EngineSession>>() {
        kept.insert(session);
    }
    *ext = kept;
}

/// The middleware; see the module doc.
pub async fn engine_gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.extensions().get::<ReserveSlot>().is_some() && !is_health(req.uri().path()) {
        let mut res = AppError::Unavailable.into_response();
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    if socket_body(&req) {
        let (parts, body) = req.into_parts();
        let deadline = state.config.connections.body_read_timeout;
        // One byte over the limit is enough for socketioxide to refuse it.
        let limit = usize::try_from(super::MAX_PAYLOAD).unwrap_or(usize::MAX);
        return match crate::http::read_body_within(body, limit, deadline).await {
            Ok(BodyRead::Whole(bytes)) => next.run(Request::from_parts(parts, bytes.into())).await,
            Ok(BodyRead::TooLong(bytes)) => {
                // The rest of the body is never read: the connection ends.
                let mut res = next.run(Request::from_parts(parts, bytes.into())).await;
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                res
            }
            Err(res) => res,
        };
    }
    if starts_session(req.method(), req.uri()) {
        let ip =
            crate::limits::request_ip(req.extensions(), req.headers(), state.config.trust_proxy);
        match state.limits.sockets.open_session(ip) {
            Ok(session) => {
                req.extensions_mut().insert(Arc::new(session));
                keep_session_head(&mut req);
            }
            Err(e) => {
                let e = AppError::from(e);
                // Debug only: a flood of refusals must not flood the log.
                tracing::debug!(%ip, code = e.code(), "Engine.IO session refused");
                return e.into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::extract::OriginalUri;

    use super::*;

    #[test]
    fn session_head_keeps_the_uri_and_the_headers_the_session_reads() {
        let peer: SocketAddr = "203.0.113.9:4000".parse().unwrap();
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header(header::HOST, "chat.example")
            .header(header::ORIGIN, "http://127.0.0.1:5000")
            .header("x-forwarded-for", "203.0.113.7")
            .header(header::COOKIE, "a=1")
            .header(header::COOKIE, "b=2")
            .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header(header::USER_AGENT, "Mozilla/5.0")
            .header(header::ACCEPT_LANGUAGE, "tr-TR")
            .extension(ConnectInfo(peer))
            .extension(OriginalUri(Uri::from_static("/socket.io/")))
            .body(axum::body::Body::empty())
            .unwrap();
        let before = req.headers().clone();
        keep_session_head(&mut req);
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=websocket");
        for name in &SESSION_HEADERS {
            let kept: Vec<_> = req.headers().get_all(name).iter().collect();
            let sent: Vec<_> = before.get_all(name).iter().collect();
            assert_eq!(kept, sent, "{name}");
        }
        let cookies: Vec<_> = req.headers().get_all(header::COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(req.headers().len(), 6, "{:?}", req.headers());
        assert!(req.headers().get(header::USER_AGENT).is_none());
        assert_eq!(
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            Some(peer)
        );
        assert!(req.extensions().get::<OriginalUri>().is_none());
    }

    #[test]
    fn health_paths() {
        assert!(is_health("/health"));
        assert!(is_health("/health/live"));
        assert!(!is_health("/healthz"));
        assert!(!is_health("/api/session"));
    }

    #[test]
    fn recognises_new_sessions_only() {
        let new = |m: Method, u: &str| starts_session(&m, &u.parse().unwrap());
        assert!(new(Method::GET, "/socket.io/?EIO=4&transport=polling"));
        assert!(new(Method::GET, "/socket.io?EIO=4&transport=websocket"));
        assert!(!new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&sid=abcdefgh_-123456"
        ));
        assert!(!new(
            Method::GET,
            "/socket.io/?sid=abcdefgh_-123456&EIO=4&transport=websocket"
        ));
        assert!(!new(Method::POST, "/socket.io/?EIO=4&transport=polling"));
        assert!(!new(Method::GET, "/socket.iox/?EIO=4"));
        assert!(!new(Method::GET, "/api/session"));
        assert!(new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&xsid=1"
        ));
        // A bare `sid` key is not a session id: engineioxide opens a new
        // session for it, so it is gated (review of issue #8 item 2).
        assert!(new(Method::GET, "/socket.io/?EIO=4&transport=polling&sid"));
        assert!(new(
            Method::GET,
            "/socket.io/?sid&EIO=4&transport=websocket"
        ));
        // Neither is an empty or malformed one, nor a later well-formed
        // one behind a malformed first (engineioxide reads the first).
        assert!(new(Method::GET, "/socket.io/?EIO=4&transport=polling&sid="));
        assert!(new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&sid=short"
        ));
        assert!(new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAA!"
        ));
        assert!(new(
            Method::GET,
            "/socket.io/?sid=x&sid=AAAAAAAAAAAAAAHs&EIO=4&transport=polling"
        ));
        assert!(!new(
            Method::GET,
            "/socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAHs"
        ));
    }
}
