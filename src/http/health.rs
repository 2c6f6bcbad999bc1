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
    response::IntoResponse,
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AppState, chat::view::rfc3339_string, config::Config};

fn now() -> String {
    rfc3339_string(&chrono::Utc::now())
}

/// `{status, timestamp}` of the probes (and of `/health` without details).
#[derive(Debug, Serialize)]
pub struct Probe {
    /// `alive`, `ready` / `not_ready`, or `/health`'s status.
    pub status: &'static str,
    /// RFC 3339 UTC.
    pub timestamp: String,
}

impl Probe {
    fn now(status: &'static str) -> Json<Probe> {
        Json(Probe {
            status,
            timestamp: now(),
        })
    }
}

/// `GET /health/live` → `{status: "alive", timestamp}`.
pub async fn live() -> Json<Probe> {
    Probe::now("alive")
}

/// `GET /health/ready` → `{status: "ready", timestamp}`, or 503
/// `{status: "not_ready", …}` while the database does not answer and
/// once a shutdown has begun ([`crate::AppState::ready`]; the server
/// serves only after its migrations ran).
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let ok = state.ready.load(Ordering::Acquire) && state.chat.ping().await;
    let (code, status) = if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (code, Probe::now(status))
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
pub async fn health(State(state): State<AppState>, req: Request) -> impl IntoResponse {
    let peer = crate::limits::peer_ip(req.extensions());
    let details = may_see_details(&state.config, req.headers(), peer);
    let db_ok = state.chat.ping().await;
    let memory = memory();
    let disk = disk(&state.config.upload_dir);
    let telegram = state
        .telegram
        .as_ref()
        .map_or("disabled", |t| t.health.status());
    let pressed = |v: &Value| v["used_percent"].as_f64().is_some_and(|p| p > 95.0);
    let status = if !db_ok {
        "unhealthy"
    } else if pressed(&memory) || pressed(&disk) || telegram == "unhealthy" {
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
        return (code, Json(json!({"status": status, "timestamp": now()})));
    }
    let backlog = match &state.telegram {
        Some(_) => state.chat.outbox().backlog().await.ok(),
        None => None,
    };
    (
        code,
        Json(json!({
            "status": status,
            "timestamp": now(),
            "version": env!("CARGO_PKG_VERSION"),
            "environment": state.config.environment.as_str(),
            "checks": {
                "database": if db_ok { "healthy" } else { "unhealthy" },
                "database_kind": state.chat.database_kind(),
                "telegram": telegram,
                "telegram_outbox_backlog": backlog,
                "telegram_bridge": state.telegram.as_ref().and_then(|t| t.console.report()),
                "memory": memory,
                "disk": disk,
                "sockets": state.limits.sockets.stats(),
            }
        })),
    )
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

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn memory() -> Value {
    memory_from(
        std::path::Path::new("/sys/fs/cgroup"),
        std::path::Path::new("/proc/meminfo"),
    )
}

/// Memory of the container when it has a limit, else of the host:
/// `{used_percent, available_gb, limit_gb, source}`.
///
/// - cgroup v2 (`<root>/memory.max` a number): used = `memory.current`
///   minus `inactive_file` of `memory.stat` (the "working set" `docker
///   stats` and the kubelet show: page cache that can be dropped is not
///   pressure), `source: "cgroup"`;
/// - cgroup v1 (`<root>/memory/memory.limit_in_bytes` below 2^60; larger
///   means no limit): the same from `memory.usage_in_bytes` and
///   `total_inactive_file`;
/// - otherwise `MemTotal` / `MemAvailable` of `meminfo`, `source: "host"`.
pub fn memory_from(cgroup_root: &std::path::Path, meminfo: &std::path::Path) -> Value {
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
    let number = |p: std::path::PathBuf| read(p).and_then(|s| s.trim().parse::<f64>().ok());
    let stat = |p: std::path::PathBuf, key: &str| {
        read(p).and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
    };
    let gb = |bytes: f64| round(bytes / 1024f64.powi(3));
    let v2 = number(cgroup_root.join("memory.max")).map(|limit| {
        let used = number(cgroup_root.join("memory.current")).unwrap_or(0.0);
        let inactive = stat(cgroup_root.join("memory.stat"), "inactive_file").unwrap_or(0.0);
        (limit, used - inactive)
    });
    let v1 = || {
        let dir = cgroup_root.join("memory");
        number(dir.join("memory.limit_in_bytes"))
            .filter(|l| *l < 2f64.powi(60))
            .map(|limit| {
                let used = number(dir.join("memory.usage_in_bytes")).unwrap_or(0.0);
                let inactive = stat(dir.join("memory.stat"), "total_inactive_file").unwrap_or(0.0);
                (limit, used - inactive)
            })
    };
    if let Some((limit, used)) = v2.or_else(v1).filter(|(l, _)| *l > 0.0) {
        let used = used.clamp(0.0, limit);
        return json!({
            "used_percent": round(used / limit * 100.0),
            "available_gb": gb(limit - used),
            "limit_gb": gb(limit),
            "source": "cgroup",
        });
    }
    let info = std::fs::read_to_string(meminfo).unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    match (field("MemTotal:"), field("MemAvailable:")) {
        (Some(total), Some(avail)) if total > 0.0 => json!({
            "used_percent": round((total - avail) / total * 100.0),
            "available_gb": round(avail / 1024.0 / 1024.0),
            "limit_gb": round(total / 1024.0 / 1024.0),
            "source": "host",
        }),
        _ => json!({"used_percent": null, "available_gb": null, "limit_gb": null, "source": null}),
    }
}

fn disk(path: &std::path::Path) -> Value {
    let probe = if path.exists() {
        path
    } else {
        std::path::Path::new(".")
    };
    match nix::sys::statvfs::statvfs(probe) {
        Ok(s) => {
            let frag = s.fragment_size() as f64;
            let total = s.blocks() as f64 * frag;
            let free = s.blocks_available() as f64 * frag;
            json!({
                "used_percent": if total > 0.0 { round((total - free) / total * 100.0) } else { 0.0 },
                "free_gb": round(free / 1024f64.powi(3)),
            })
        }
        Err(_) => json!({"used_percent": null, "free_gb": null}),
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

    #[test]
    fn memory_comes_from_the_cgroup_limit_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let meminfo = dir.path().join("meminfo");
        std::fs::write(
            &meminfo,
            "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n",
        )
        .unwrap();
        let host = memory_from(&dir.path().join("none"), &meminfo);
        assert_eq!(host["source"], "host");
        assert_eq!(host["used_percent"], 50.0);
        assert_eq!(host["limit_gb"], 16.0);
        // cgroup v2: 512 MiB limit, 300 MiB charged of which 44 MiB droppable cache.
        let v2 = dir.path().join("v2");
        std::fs::create_dir(&v2).unwrap();
        std::fs::write(v2.join("memory.max"), "536870912\n").unwrap();
        std::fs::write(v2.join("memory.current"), "314572800\n").unwrap();
        std::fs::write(v2.join("memory.stat"), "anon 1\ninactive_file 46137344\n").unwrap();
        let m = memory_from(&v2, &meminfo);
        assert_eq!(m["source"], "cgroup");
        assert_eq!(m["used_percent"], 50.0);
        assert_eq!(m["limit_gb"], 0.5);
        assert_eq!(m["available_gb"], 0.25);
        // No limit ("max"): the host's figures.
        std::fs::write(v2.join("memory.max"), "max\n").unwrap();
        assert_eq!(memory_from(&v2, &meminfo)["source"], "host");
        // cgroup v1 with a limit.
        let v1 = dir.path().join("v1");
        std::fs::create_dir_all(v1.join("memory")).unwrap();
        std::fs::write(v1.join("memory/memory.limit_in_bytes"), "1073741824").unwrap();
        std::fs::write(v1.join("memory/memory.usage_in_bytes"), "268435456").unwrap();
        let m = memory_from(&v1, &meminfo);
        assert_eq!(
            (m["source"].as_str(), m["used_percent"].as_f64()),
            (Some("cgroup"), Some(25.0))
        );
        std::fs::write(
            v1.join("memory/memory.limit_in_bytes"),
            "9223372036854771712",
        )
        .unwrap();
        assert_eq!(memory_from(&v1, &meminfo)["source"], "host");
    }
}
