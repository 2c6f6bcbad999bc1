//! `GET /metrics` (issue 15): the route on the main router (with
//! `METRICS_TOKEN`), the `METRICS_ADDR` side listener, and the scrape that
//! sets the gauges read from the application state before rendering.
//! The recorder and the counters are `crate::metrics`'s (which knows no
//! HTTP and no `AppState`).

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::{AppState, http::error::AppError, metrics::install};

/// `GET /metrics` on the main router, when `METRICS_TOKEN` is set (else no
/// route: 404 like any unknown path). Installs the recorder when metrics are
/// enabled at all.
pub fn router(state: &AppState) -> Router<AppState> {
    if state.config.metrics.enabled() {
        install();
    }
    if state.config.metrics.token.is_none() {
        return Router::new();
    }
    Router::new().route("/metrics", get(scrape))
}

/// The `METRICS_ADDR` listener and its router (only `/metrics`), when set.
///
/// # Errors
/// The address cannot be bound.
pub async fn side_listener(
    state: &AppState,
) -> Result<Option<(TcpListener, Router)>, crate::BuildError> {
    let Some(addr) = state.config.metrics.addr else {
        return Ok(None);
    };
    install();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| crate::BuildError::Bind { addr, source })?;
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state.clone());
    Ok(Some((listener, router)))
}

/// `GET /metrics` → `text/plain; version=0.0.4` (the Prometheus text
/// format); 401 `UNAUTHORIZED` without the right bearer token when
/// `METRICS_TOKEN` is set; 404 when no recorder could be installed.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics.token
        && !bearer_matches(&headers, token)
    {
        return AppError::Unauthorized.into_response();
    }
    let Some(handle) = install() else {
        return AppError::NotFound("Not found").into_response();
    };
    let (visitors, admins) = state.presence.socket_counts();
    metrics::gauge!("sohbet_sockets", "role" => "visitor").set(visitors as f64);
    metrics::gauge!("sohbet_sockets", "role" => "admin").set(admins as f64);
    metrics::gauge!("sohbet_connections").set(f64::from(state.limits.sockets.stats().connections));
    let (backlog, oldest) = outbox(&state).await;
    metrics::gauge!("sohbet_outbox_backlog").set(backlog as f64);
    metrics::gauge!("sohbet_outbox_oldest_age_seconds").set(oldest);
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// Waiting forwards and the age in seconds of the oldest (0 when none, or
/// when the database does not answer).
async fn outbox(state: &AppState) -> (i64, f64) {
    let (backlog, oldest) = state.chat.outbox().backlog_age().await.unwrap_or((0, None));
    let age = oldest.map_or(0.0, |t| {
        (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
    });
    (backlog, age)
}

/// `Authorization: Bearer <token>`, compared in constant time as SHA-256
/// digests (the length does not leak).
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| {
            let want = Sha256::digest(token.as_bytes());
            let got = Sha256::digest(given.trim().as_bytes());
            bool::from(want.ct_eq(&got))
        })
}
