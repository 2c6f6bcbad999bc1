//! Health probes (`shared/DESIGN.md` § HTTP contract): `/health`,
//! `/health/live`, `/health/ready`. Never rate limited.

use std::sync::atomic::Ordering;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::{Value, json};

use crate::{AppState, store::messages::rfc3339_string};

fn now() -> String {
    rfc3339_string(&chrono::Utc::now())
}

/// `GET /health/live` → `{status: "alive", timestamp}`.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "alive", "timestamp": now()}))
}

/// `GET /health/ready` → `{status: "ready", timestamp}`, or 503
/// `{status: "not_ready", …}` until migrations ran and while the database
/// does not answer.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let ok = state.ready.load(Ordering::Acquire) && state.chat.db().ping().await;
    let (code, status) = if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (code, Json(json!({"status": status, "timestamp": now()})))
}

/// `GET /health` → `{status: healthy|degraded|unhealthy, timestamp, version,
/// environment, checks: {database, telegram, memory: {used_percent,
/// available_gb}, disk: {used_percent, free_gb}, telegram_outbox_backlog,
/// sockets: {connections, sessions, pending, sockets}}}` (`sockets`: open
/// TCP connections, Engine.IO sessions, those not yet connected, connected
/// Socket.IO sockets)
/// (`telegram`: `healthy` | `unhealthy` from the last Bot API call, or
/// `disabled`; an unhealthy Telegram makes the status `degraded`); 503 when unhealthy
/// (database down). Memory comes from `/proc/meminfo`, disk from
/// `statvfs(2)` of the data folder.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.chat.db().ping().await;
    let memory = memory();
    let disk = disk(&state.config.upload_dir);
    let telegram = state
        .telegram
        .as_ref()
        .map_or("disabled", |t| t.health.status());
    let backlog = match &state.telegram {
        Some(_) => crate::store::outbox::backlog(state.chat.db()).await.ok(),
        None => None,
    };
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
    (
        code,
        Json(json!({
            "status": status,
            "timestamp": now(),
            "version": env!("CARGO_PKG_VERSION"),
            "environment": state.config.environment.as_str(),
            "checks": {
                "database": if db_ok { "healthy" } else { "unhealthy" },
                "database_kind": state.chat.db().kind(),
                "telegram": telegram,
                "telegram_outbox_backlog": backlog,
                "memory": memory,
                "disk": disk,
                "sockets": state.limits.sockets.stats(),
            }
        })),
    )
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn memory() -> Value {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
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
        }),
        _ => json!({"used_percent": null, "available_gb": null}),
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
