//! The access log (issue 15): one INFO line per request, target
//! `sohbet::access`, with `method`, `route` (the matched route pattern,
//! e.g. `/api/messages/{thread_id}`, never the query string, so tokens and
//! ids in URLs stay out of the log), `status`, `latency_ms` (until the
//! answer's head is ready; a WebSocket upgrade counts until its 101) and
//! `client_ip` (as every limit sees it: [`crate::limits::request_ip`]).
//! Never bodies, cookies or other headers. Socket.IO requests are logged
//! too (`route = "/socket.io/"`). It also counts every request in the
//! metrics ([`crate::metrics`], `sohbet_http_requests_total{route, status}`).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

use crate::limits::TrustedProxies;

/// The route of a request for the log and the metrics: the matched route
/// pattern; `/static/{*path}` and `/socket.io/` for those trees; `-` for a
/// request no route matched (its path could be anything an attacker sends).
pub fn route_of(req: &Request) -> String {
    let path = req.uri().path();
    if path.starts_with("/socket.io/") {
        return "/socket.io/".into();
    }
    match req.extensions().get::<MatchedPath>() {
        Some(m) if m.as_str().contains("__private__axum_nest_tail_param") => {
            m.as_str().split("/{").next().unwrap_or("").to_owned() + "/{*path}"
        }
        Some(m) => m.as_str().to_owned(),
        None => "-".into(),
    }
}

/// The middleware; `trust` is `TRUSTED_PROXIES` (for the client IP).
pub async fn layer(State(trust): State<TrustedProxies>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = route_of(&req);
    let ip = crate::limits::request_ip(req.extensions(), req.headers(), trust);
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let latency_ms = (start.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    tracing::info!(
        target: "sohbet::access",
        method = %method,
        route = %route,
        status,
        latency_ms,
        client_ip = %ip,
        "request"
    );
    crate::metrics::http_request(&route, status);
    res
}
