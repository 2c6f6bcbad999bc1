//! Prometheus metrics (issue 15): `GET /metrics` in the Prometheus text
//! format (version 0.0.4), recorded with the `metrics` crate and rendered by
//! `metrics-exporter-prometheus` from our own route (no exporter listener).
//!
//! Off unless `METRICS_TOKEN` or `METRICS_ADDR` is set
//! ([`crate::config::MetricsConfig`]); when off, no recorder is installed
//! and every counter below is a no-op. With `METRICS_TOKEN`, `/metrics` on
//! the main port answers `Authorization: Bearer <token>` only (else 401
//! `UNAUTHORIZED`); with `METRICS_ADDR`, a separate listener serves only
//! `/metrics` (bearer too when a token is set). The recorder is global: one
//! process, one registry.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `sohbet_messages_stored_total` | counter | `sender` (`visitor`, `admin`) |
//! | `sohbet_commit_batch_size` | histogram | messages per group-commit transaction |
//! | `sohbet_commit_seconds` | histogram | group-commit transaction latency |
//! | `sohbet_sockets` | gauge | `role` (`visitor`, `admin`): connected Socket.IO sockets |
//! | `sohbet_connections` | gauge | open TCP connections |
//! | `sohbet_outbox_backlog` | gauge | Telegram forwards waiting |
//! | `sohbet_outbox_oldest_age_seconds` | gauge | age of the oldest waiting forward (0: none) |
//! | `sohbet_telegram_api_errors_total` | counter | `method` (Bot API method; `getUpdates/handler` for the dispatcher's errors) |
//! | `sohbet_rate_limited_total` | counter | `limit` (`send`, `upload`, `api`, `event`, `login`, `webhook`) |
//! | `sohbet_uploads_total` | counter | `kind` (`image`, `audio`), `outcome` (`stored` or the error code) |
//! | `sohbet_http_requests_total` | counter | `route` (matched pattern), `status` |
//!
//! Every label value comes from a fixed set (route patterns, codes,
//! method names), never from request input, so the series stay bounded.

use std::{sync::OnceLock, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::{AppState, error::AppError};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder (once per process) and returns its handle;
/// `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("sohbet_commit_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("sohbet_commit_batch_size".into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                    )
                })
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// A message was stored (not a duplicate) by `sender`.
pub fn message_stored(sender: &'static str) {
    metrics::counter!("sohbet_messages_stored_total", "sender" => sender).increment(1);
}

/// A group commit of `batch` messages took `took`.
pub fn commit(batch: usize, took: Duration) {
    metrics::histogram!("sohbet_commit_batch_size").record(batch as f64);
    metrics::histogram!("sohbet_commit_seconds").record(took.as_secs_f64());
}

/// A Bot API call `method` failed.
pub fn telegram_error(method: &'static str) {
    metrics::counter!("sohbet_telegram_api_errors_total", "method" => method).increment(1);
}

/// A request or event was refused by the rate limit `limit`.
pub fn rate_limited(limit: &'static str) {
    metrics::counter!("sohbet_rate_limited_total", "limit" => limit).increment(1);
}

/// An upload of `kind` ended with `outcome` (`stored` or an error code).
pub fn upload(kind: &'static str, outcome: &'static str) {
    metrics::counter!("sohbet_uploads_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// An HTTP request on `route` (a route pattern, see
/// [`crate::http::access_log::route_of`]) was answered with `status`.
pub fn http_request(route: &str, status: u16) {
    if HANDLE.get().is_some_and(Option::is_some) {
        metrics::counter!(
            "sohbet_http_requests_total",
            "route" => route.to_owned(),
            "status" => status.to_string()
        )
        .increment(1);
    }
}

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
