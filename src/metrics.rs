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
//! | `sohbet_emails_total` | counter | `outcome` (`sent`, `retried`, `dead`): SMTP transactions of the email outbox |
//! | `sohbet_email_pending` | gauge | emails composed and waiting to be sent (issue 26) |
//!
//! Every label value comes from a fixed set (route patterns, codes,
//! method names), never from request input, so the series stay bounded.

use std::{sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

/// An SMTP transaction of the email outbox ended with `outcome` (`sent`,
/// `retried` for a transient failure, `dead` for a permanent one).
pub fn email(outcome: &'static str) {
    metrics::counter!("sohbet_emails_total", "outcome" => outcome).increment(1);
}

/// Emails composed and waiting to be sent.
pub fn email_pending(n: i64) {
    metrics::gauge!("sohbet_email_pending").set(n as f64);
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
