//! `/metrics` settings (issue 15): off unless `METRICS_TOKEN` or
//! `METRICS_ADDR` is set.

use std::net::SocketAddr;

use super::ConfigError;

/// Where and for whom `GET /metrics` (Prometheus text format) is served.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `METRICS_TOKEN` (at least 16 characters): `/metrics` on the main
    /// port, for `Authorization: Bearer <token>` only; also required on
    /// `METRICS_ADDR` when set. Never logged.
    pub token: Option<String>,
    /// `METRICS_ADDR` (`IP:PORT`, e.g. `127.0.0.1:9100` or a private
    /// address): a separate listener serving only `/metrics`, without a
    /// token unless `METRICS_TOKEN` is set.
    pub addr: Option<SocketAddr>,
}

impl MetricsConfig {
    /// Is `/metrics` served anywhere (and are metrics recorded at all)?
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.addr.is_some()
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("addr", &self.addr)
            .finish()
    }
}

/// Reads `METRICS_TOKEN` and `METRICS_ADDR` through `var`.
///
/// # Errors
/// A token shorter than 16 characters; an address that is not `IP:PORT`.
pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<MetricsConfig, ConfigError> {
    let token = match var("METRICS_TOKEN") {
        Some(t) if t.len() < 16 => {
            return Err(ConfigError(
                "METRICS_TOKEN must be at least 16 characters (or unset)".into(),
            ));
        }
        t => t,
    };
    let addr = match var("METRICS_ADDR") {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| {
            ConfigError(format!(
                "METRICS_ADDR must be IP:PORT (e.g. 127.0.0.1:9100), not `{a}`"
            ))
        })?),
    };
    Ok(MetricsConfig { token, addr })
}
