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

use std::sync::Arc;

use axum::{
    extract::{OriginalUri, Request, State},
    http::{HeaderMap, HeaderValue, Method, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, http::BodyRead, http::error::AppError, server::ReserveSlot};

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

/// Gives the request its own copies of the URI and header values.
///
/// hyper parses a request head without copying: the URI and every header
/// value are slices of the connection's read buffer (8–16 KiB). socketioxide
/// keeps a session's request parts for the session's whole life, so without
/// this each idle socket would pin its connection's whole read buffer
/// (issue #9 item 4: measured with heaptrack, 16 KiB of the 30 KiB an idle
/// socket cost). The copies cost a few hundred bytes, once per session.
fn detach_from_read_buffer(req: &mut Request) {
    if let Ok(uri) = Uri::try_from(req.uri().to_string()) {
        // axum's router keeps a clone of the URI as `OriginalUri`.
        if let Some(original) = req.extensions_mut().get_mut::<OriginalUri>() {
            original.0 = uri.clone();
        }
        *req.uri_mut() = uri;
    }
    let shared = std::mem::take(req.headers_mut());
    let mut owned = HeaderMap::with_capacity(shared.len());
    for (name, value) in &shared {
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    *req.headers_mut() = owned;
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
                detach_from_read_buffer(&mut req);
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
    use super::*;

    #[test]
    fn detached_request_keeps_uri_and_every_header() {
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header(header::ORIGIN, "http://127.0.0.1:5000")
            .header("x-forwarded-for", "203.0.113.7")
            .header(header::COOKIE, "a=1")
            .header(header::COOKIE, "b=2")
            .body(axum::body::Body::empty())
            .unwrap();
        let before = req.headers().clone();
        detach_from_read_buffer(&mut req);
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(req.headers(), &before);
        let cookies: Vec<_> = req.headers().get_all(header::COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
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
