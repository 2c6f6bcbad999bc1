//! The connection limits' settings (issue #8 items 2, 3 and 6), owned by
//! `limits` which enforces them; `config::connections` reads them from the
//! environment and `Config` composes them.

use std::time::Duration;

/// Limits on connections, request bodies and Socket.IO sessions; every
/// count accepts 0 = off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Open TCP connections in total (`MAX_CONNECTIONS`; unset or `auto`:
    /// derived from `RLIMIT_NOFILE`, see `limits::sockets::auto_max_connections`).
    pub max_connections: Option<u32>,
    /// Open TCP connections per peer address (`MAX_CONNECTIONS_PER_IP`,
    /// 1024: a carrier NAT or an office behind one address holds about seven
    /// per browser, and idle ones are closed first to make room, see
    /// `server`); with `TRUST_PROXY`, trusted proxy peers are exempt.
    pub max_connections_per_ip: u32,
    /// How long a JSON request may take to send its whole body
    /// (`BODY_READ_TIMEOUT_SECS`, 10; not the upload routes).
    pub body_read_timeout: Duration,
    /// How long an Engine.IO session may stay without a namespace CONNECT
    /// (`SOCKET_CONNECT_TIMEOUT_SECS`, 10; socket.io's default is 45).
    pub socket_connect_timeout: Duration,
    /// How often the server pings a socket (`SOCKET_PING_INTERVAL_SECS`, 25,
    /// Engine.IO's `pingInterval`, sent to the client in the open packet).
    pub ping_interval: Duration,
    /// How long a ping may go unanswered before the socket is closed
    /// (`SOCKET_PING_TIMEOUT_SECS`, 20, Engine.IO's `pingTimeout`).
    pub ping_timeout: Duration,
    /// New Engine.IO sessions per client IP and minute
    /// (`SOCKET_HANDSHAKES_PER_IP_PER_MINUTE`, 120).
    pub handshakes_per_ip: u32,
    /// Engine.IO sessions not yet connected to the namespace, per client IP
    /// (`MAX_PENDING_SOCKETS_PER_IP`, 16).
    pub max_pending_per_ip: u32,
    /// Engine.IO sessions not yet connected to the namespace, in total
    /// (`MAX_PENDING_SOCKETS`, 1024).
    pub max_pending: u32,
    /// Engine.IO sessions in total (`MAX_SOCKETS`, 20000).
    pub max_sessions: u32,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_connections: None,
            max_connections_per_ip: 1024,
            body_read_timeout: Duration::from_secs(10),
            socket_connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            handshakes_per_ip: 120,
            max_pending_per_ip: 16,
            max_pending: 1024,
            max_sessions: 20_000,
        }
    }
}
