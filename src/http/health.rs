//! Health probes (`shared/DESIGN.md` § HTTP contract): `/health`,
//! `/health/live`, `/health/ready`. Never rate limited.
//!
//! `/health/live` and `/health/ready` are public and minimal. `/health`
//! shows its details (version, environment, database kind, Telegram state,
//! outbox backlog, memory, disk) only to a caller that may see them (issue
//! 8 item 12, [`may_see_details`]); anyone else gets `{status, timestamp}`
//! with the same status code.

use std::sync::atomic::Ordering;

use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod system;

pub use system::{Disk, Memory, memory_from};

use crate::{
    AppState, config::Config, domain::rfc3339_string, limits::sockets::SocketStats,
    telegram::selftest::SelfTest,
};
use system::{disk, memory};

fn now() -> String {
    rfc3339_string(&chrono::Utc::now())
}

/// `{status, timestamp}` of the probes (and of `/health` without details).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Probe {
    /// `alive`, `ready` / `not_ready`, or `/health`'s status.
    pub status: &'static str,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Why `/health/ready` is `not_ready`, when a dependency other than the
    /// database is away (the Redis pub/sub link, [`crate::realtime::redis_link`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl Probe {
    fn now(status: &'static str) -> Json<Probe> {
        Json(Probe {
            status,
            timestamp: now(),
            reason: None,
        })
    }
}

/// `GET /health/live` → `{status: "alive", timestamp}`.
pub async fn live() -> Json<Probe> {
    Probe::now("alive")
}

/// `GET /health/ready` → `{status: "ready", timestamp}`, or 503
/// `{status: "not_ready", …}` while the database does not answer, while
/// the Redis pub/sub link is down (then with `reason`, issue 24) and once
/// a shutdown has begun ([`crate::AppState::ready`]; the server serves
/// only after its migrations ran).
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let redis = state.redis.down_reason();
    let ok = state.ready.load(Ordering::Acquire) && redis.is_none() && state.chat.ping().await;
    let (code, status) = if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let mut probe = Probe::now(status);
    probe.0.reason = redis;
    (code, probe)
}

/// `GET /health` → `{status: healthy|degraded|unhealthy, timestamp, version,
/// environment, checks: {database, telegram, memory: {used_percent,
/// available_gb, limit_gb, source: cgroup|host}, disk: {used_percent, free_gb}, telegram_outbox_backlog,
/// telegram_bridge (the last Telegram self-test: `{at, topic_mode,
/// topic_reason, checks: [{name, ok, detail, fix}]}`, or `null`),
/// sockets: {connections, sessions, pending, sockets}}}` (`sockets`: open
/// TCP connections, Engine.IO sessions, those not yet connected, connected
/// Socket.IO sockets)
/// (`telegram`: `healthy` | `unhealthy` from the last Bot API call, or
/// `disabled`; an unhealthy Telegram makes the status `degraded`); 503 when unhealthy
/// (database down). Memory is the container's (cgroup limit) when it has
/// one, else the host's `/proc/meminfo` ([`memory_from`]); disk comes from
/// `statvfs(2)` of the data folder. Callers that may not see the details
/// ([`may_see_details`]) get `{status, timestamp}` only.
pub async fn health(State(state): State<AppState>, req: Request) -> Response {
    let peer = crate::limits::peer_ip(req.extensions());
    let details = may_see_details(&state.config, req.headers(), peer);
    let db_ok = state.chat.ping().await;
    let memory = memory();
    let disk = disk(&state.config.upload_dir);
    let telegram = state
        .telegram
        .as_ref()
        .map_or("disabled", |t| t.health.status());
    let pressed = |p: Option<f64>| p.is_some_and(|p| p > 95.0);
    let status = if !db_ok {
        "unhealthy"
    } else if pressed(memory.used_percent) || pressed(disk.used_percent) || telegram == "unhealthy"
    {
        "degraded"
    } else {
        "healthy"
    };
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !details {
        let Json(probe) = Probe::now(status);
        return (code, Json(HealthAnswer::Probe(probe))).into_response();
    }
    let backlog = match &state.telegram {
        Some(_) => state.chat.outbox().backlog().await.ok(),
        None => None,
    };
    let details = Details {
        status,
        timestamp: now(),
        version: env!("CARGO_PKG_VERSION"),
        environment: state.config.environment.as_str(),
        checks: Checks {
            database: if db_ok { "healthy" } else { "unhealthy" },
            database_kind: state.chat.database_kind(),
            telegram,
            telegram_outbox_backlog: backlog,
            telegram_bridge: state.telegram.as_ref().and_then(|t| t.console.report()),
            memory,
            disk,
            sockets: state.limits.sockets.stats(),
        },
    };
    (code, Json(HealthAnswer::Details(Box::new(details)))).into_response()
}

/// The answer of `/health`: [`Details`] for a caller that may see them
/// ([`may_see_details`]), else the [`Probe`] (untagged: one or the other).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum HealthAnswer {
    /// With the details.
    Details(Box<Details>),
    /// Without.
    Probe(Probe),
}

/// The full `/health` answer (for a caller that may see the details).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = HealthDetails)]
pub struct Details {
    /// `healthy` | `degraded` | `unhealthy`.
    pub status: &'static str,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The crate version.
    pub version: &'static str,
    /// `ENVIRONMENT`.
    pub environment: &'static str,
    /// The checks behind `status`.
    pub checks: Checks,
}

/// `checks` of [`Details`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = HealthChecks)]
pub struct Checks {
    /// `healthy` | `unhealthy`.
    pub database: &'static str,
    /// `sqlite` | `postgres`.
    pub database_kind: &'static str,
    /// `healthy` | `unhealthy` (last Bot API call) | `disabled`.
    pub telegram: &'static str,
    /// Forwards waiting (`null` without Telegram or when unreadable).
    pub telegram_outbox_backlog: Option<i64>,
    /// The last Telegram self-test, `{at, topic_mode, topic_reason,
    /// checks: [{name, ok, detail, fix}]}`, or `null` (described as an
    /// object: `SelfTest` is the Telegram adapter's type).
    #[schema(value_type = Option<Object>)]
    pub telegram_bridge: Option<SelfTest>,
    /// Memory of the container or host.
    pub memory: Memory,
    /// Disk of the data folder.
    pub disk: Disk,
    /// Open connections, sessions and sockets.
    pub sockets: SocketStats,
}

/// May a caller see the details of `/health`?
///
/// - With `HEALTH_TOKEN` set: a caller sending `Authorization: Bearer
///   <HEALTH_TOKEN>` (compared in constant time, as SHA-256 digests so the
///   length does not leak). Only the header: a `?token=` would reach access
///   logs and the request span.
/// - With `TRUST_PROXY`: a client address ([`crate::limits::client_ip`]:
///   the right-most `X-Forwarded-For` hop no trusted proxy added) that is
///   loopback or private ([`crate::limits::is_trusted_proxy`]), e.g. the
///   platform's own health checker inside its private network. A client on
///   the internet cannot pass: the proxy appends its public address.
/// - Without `TRUST_PROXY`: only a loopback peer that sent no forwarding
///   header (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`). A private peer is
///   not enough: behind a proxy that `TRUST_PROXY` does not know about,
///   every request comes from the proxy's private (or loopback) address,
///   and the forwarding headers are what tells them apart.
pub fn may_see_details(
    config: &Config,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> bool {
    if let Some(token) = &config.health_token
        && let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    {
        let want = Sha256::digest(token.as_bytes());
        let got = Sha256::digest(given.trim().as_bytes());
        if bool::from(want.ct_eq(&got)) {
            return true;
        }
    }
    if config.trust_proxy.is_enabled() {
        let ip = crate::limits::client_ip(headers, peer, config.trust_proxy);
        return crate::limits::is_trusted_proxy(ip);
    }
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !forwarded && peer.is_some_and(|p| p.is_loopback() || is_mapped_loopback(p))
}

fn is_mapped_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        std::net::IpAddr::V4(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trust_proxy_only_a_direct_loopback_caller_sees_details() {
        let c = config(&[]);
        assert!(may_see_details(&c, &headers(&[]), ip("127.0.0.1")));
        assert!(may_see_details(&c, &headers(&[]), ip("::1")));
        // Behind an unknown proxy every request comes from a local address.
        let proxied = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert!(!may_see_details(&c, &proxied, ip("127.0.0.1")));
        assert!(!may_see_details(&c, &headers(&[]), ip("10.0.0.2")));
        assert!(!may_see_details(&c, &headers(&[]), ip("203.0.113.7")));
    }

    #[test]
    fn with_trust_proxy_a_private_client_sees_details_a_forwarded_public_one_not() {
        let c = config(&[("TRUST_PROXY", "true")]);
        assert!(may_see_details(&c, &headers(&[]), ip("10.0.0.2")));
        let public = headers(&[("x-forwarded-for", "10.9.9.9, 203.0.113.7")]);
        assert!(!may_see_details(&c, &public, ip("10.0.0.2")));
        assert!(!may_see_details(&c, &headers(&[]), ip("203.0.113.7")));
    }

    #[test]
    fn the_token_unlocks_details_from_anywhere() {
        let token = "0123456789abcdef0123";
        let c = config(&[("HEALTH_TOKEN", token)]);
        let auth = format!("Bearer {token}");
        let good = headers(&[("authorization", auth.as_str())]);
        assert!(may_see_details(&c, &good, ip("203.0.113.7")));
        let bad = headers(&[("authorization", "Bearer 0123456789abcdef0124")]);
        assert!(!may_see_details(&c, &bad, ip("203.0.113.7")));
        assert!(!may_see_details(&config(&[]), &good, ip("203.0.113.7")));
        assert!(Config::from_lookup(|k| (k == "HEALTH_TOKEN").then(|| "short".into())).is_err());
    }
}
