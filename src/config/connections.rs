//! Connection and socket limits (issue #8 items 2, 3 and 6): TCP connection
//! caps of the accept loop, the body read deadline of JSON requests, and the
//! Engine.IO session gate in front of Socket.IO. Parsed here into
//! [`ConnectionConfig`] (a `limits` type), enforced by `limits::sockets`,
//! `server` and `http`.

use std::time::Duration;

use super::{ConfigError, whole_number};
use crate::limits::ConnectionConfig;

/// Reads the connection limits through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming a variable that is not a whole number (or, for
/// `MAX_CONNECTIONS`, `auto`), or a timeout of 0 seconds.
pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<ConnectionConfig, ConfigError> {
    let d = ConnectionConfig::default();
    let num = |name: &str, default| whole_number(&var, name, default);
    let secs = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
        match var(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
                _ => Err(ConfigError(format!(
                    "{name} must be a number of seconds ≥ 1, not `{v}`"
                ))),
            },
        }
    };
    let max_connections = match var("MAX_CONNECTIONS").as_deref() {
        None | Some("auto") => None,
        Some(v) => Some(v.parse().map_err(|_| {
            ConfigError(format!(
                "MAX_CONNECTIONS must be a whole number, `auto` or 0 (off), not `{v}`"
            ))
        })?),
    };
    Ok(ConnectionConfig {
        max_connections,
        max_connections_per_ip: num("MAX_CONNECTIONS_PER_IP", d.max_connections_per_ip)?,
        body_read_timeout: secs("BODY_READ_TIMEOUT_SECS", d.body_read_timeout)?,
        socket_connect_timeout: secs("SOCKET_CONNECT_TIMEOUT_SECS", d.socket_connect_timeout)?,
        ping_interval: secs("SOCKET_PING_INTERVAL_SECS", d.ping_interval)?,
        ping_timeout: secs("SOCKET_PING_TIMEOUT_SECS", d.ping_timeout)?,
        handshakes_per_ip: num("SOCKET_HANDSHAKES_PER_IP_PER_MINUTE", d.handshakes_per_ip)?,
        max_pending_per_ip: num("MAX_PENDING_SOCKETS_PER_IP", d.max_pending_per_ip)?,
        max_pending: num("MAX_PENDING_SOCKETS", d.max_pending)?,
        max_sessions: num("MAX_SOCKETS", d.max_sessions)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(from_vars(|_| None).unwrap(), ConnectionConfig::default());
        // Issue 20 item 2: room for a carrier NAT.
        assert_eq!(ConnectionConfig::default().max_connections_per_ip, 1024);
        let c = from_vars(|k| match k {
            "MAX_CONNECTIONS" => Some("300".into()),
            "SOCKET_CONNECT_TIMEOUT_SECS" => Some("3".into()),
            "SOCKET_PING_INTERVAL_SECS" => Some("2".into()),
            "MAX_PENDING_SOCKETS" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.max_connections, Some(300));
        assert_eq!(c.socket_connect_timeout, Duration::from_secs(3));
        assert_eq!(c.ping_interval, Duration::from_secs(2));
        assert_eq!(c.ping_timeout, Duration::from_secs(20));
        assert_eq!(c.max_pending, 0);
        let e = from_vars(|k| (k == "BODY_READ_TIMEOUT_SECS").then(|| "0".into())).unwrap_err();
        assert!(e.0.contains("BODY_READ_TIMEOUT_SECS"), "{e}");
        let e = from_vars(|k| (k == "MAX_CONNECTIONS").then(|| "lots".into())).unwrap_err();
        assert!(e.0.contains("MAX_CONNECTIONS"), "{e}");
    }
}
