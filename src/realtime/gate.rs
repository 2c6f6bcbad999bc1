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

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::AppState;

/// The path socketioxide serves (its default `req_path`).
const SOCKET_PATH: &str = "/socket.io";

/// Would this request start a new Engine.IO session? A `GET` under
/// `/socket.io` without a `sid` query parameter (polling open or a direct
/// WebSocket).
pub fn starts_session(method: &Method, uri: &Uri) -> bool {
    let path = uri.path();
    let under = path == SOCKET_PATH
        || path
            .strip_prefix(SOCKET_PATH)
            .is_some_and(|rest| rest.starts_with('/'));
    under
        && method == Method::GET
        && !uri
            .query()
            .unwrap_or("")
            .split('&')
            .any(|kv| kv == "sid" || kv.starts_with("sid="))
}

/// The middleware; see the module doc.
pub async fn engine_gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if starts_session(req.method(), req.uri()) {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = crate::limits::client_ip(req.headers(), peer, state.config.trust_proxy);
        match state.limits.sockets.open_session(ip) {
            Ok(session) => {
                req.extensions_mut().insert(Arc::new(session));
            }
            Err(e) => {
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
    fn recognises_new_sessions_only() {
        let new = |m: Method, u: &str| starts_session(&m, &u.parse().unwrap());
        assert!(new(Method::GET, "/socket.io/?EIO=4&transport=polling"));
        assert!(new(Method::GET, "/socket.io?EIO=4&transport=websocket"));
        assert!(!new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        ));
        assert!(!new(
            Method::GET,
            "/socket.io/?sid=abc&EIO=4&transport=websocket"
        ));
        assert!(!new(Method::POST, "/socket.io/?EIO=4&transport=polling"));
        assert!(!new(Method::GET, "/socket.iox/?EIO=4"));
        assert!(!new(Method::GET, "/api/session"));
        assert!(new(
            Method::GET,
            "/socket.io/?EIO=4&transport=polling&xsid=1"
        ));
    }
}
