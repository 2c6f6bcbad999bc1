//! Counts of what a client holds open, each tied to the lifetime of what it
//! counts by a guard whose `Drop` gives the slot back (issue #8 items 2, 3
//! and 6): TCP connections ([`ConnectionSlot`], held by the connection's
//! I/O object, so also by an upgraded WebSocket), Engine.IO sessions
//! ([`EngineSession`], held in the session's request parts by socketioxide
//! until the session is gone) and namespace sockets ([`SocketSlot`], held in
//! the socket's extensions). Nothing here depends on a disconnect callback
//! being called.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};
use serde::Serialize;

use crate::{config::ConnectionConfig, error::AppError};

/// Open counts of one client IP.
#[derive(Clone, Copy, Debug, Default)]
struct PerIp {
    connections: u32,
    sessions: u32,
    pending: u32,
    sockets: u32,
}

impl PerIp {
    fn is_empty(&self) -> bool {
        self.connections == 0 && self.sessions == 0 && self.pending == 0 && self.sockets == 0
    }
}

/// Totals, as reported by `/health` (`checks.sockets`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SocketStats {
    /// Open TCP connections (WebSockets included).
    pub connections: u32,
    /// Live Engine.IO sessions.
    pub sessions: u32,
    /// Engine.IO sessions not yet connected to the namespace.
    pub pending: u32,
    /// Connected namespace sockets.
    pub sockets: u32,
}

#[derive(Default)]
struct Counts {
    per_ip: HashMap<IpAddr, PerIp>,
    total: SocketStats,
}

struct Shared {
    counts: Mutex<Counts>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, ip: IpAddr, f: impl FnOnce(&mut PerIp, &mut SocketStats)) {
        let mut c = self.lock();
        let Counts { per_ip, total } = &mut *c;
        if let Some(e) = per_ip.get_mut(&ip) {
            f(e, total);
            if e.is_empty() {
                per_ip.remove(&ip);
            }
        }
    }
}

/// Why a TCP connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionRefused {
    /// The peer already holds `MAX_CONNECTIONS_PER_IP`.
    PerIp,
    /// `MAX_CONNECTIONS` are open.
    Total,
}

/// The connection, session and socket caps of one process.
pub struct Sockets {
    shared: Arc<Shared>,
    max_connections: u32,
    max_connections_per_ip: u32,
    sockets_per_ip: u32,
    max_pending_per_ip: u32,
    max_pending: u32,
    max_sessions: u32,
    handshakes: Option<RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>>,
}

/// `MAX_CONNECTIONS=auto`: half of what `RLIMIT_NOFILE` leaves after 64
/// descriptors for the database, logs and outside services (a connection
/// may hold a second descriptor while it serves or stores a file), at
/// least 16. The soft limit is first raised to the hard one (at most
/// 2^20), as Go and nginx do. Without `getrlimit` (not Unix): 4096.
pub fn auto_max_connections() -> u32 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 4096;
    };
    let want = hard.min(1 << 20);
    let nofile = if want > soft && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
        want
    } else {
        soft
    };
    let n = nofile.saturating_sub(64) / 2;
    u32::try_from(n).unwrap_or(u32::MAX).max(16)
}

impl Sockets {
    /// Caps from `config`, `sockets_per_ip` (`MAX_SOCKETS_PER_IP`, which
    /// bounds both Engine.IO sessions and namespace sockets per IP) and the
    /// resolved total connection cap (0 = off).
    pub fn new(config: &ConnectionConfig, sockets_per_ip: u32, max_connections: u32) -> Self {
        Sockets {
            shared: Arc::new(Shared {
                counts: Mutex::default(),
            }),
            max_connections,
            max_connections_per_ip: config.max_connections_per_ip,
            sockets_per_ip,
            max_pending_per_ip: config.max_pending_per_ip,
            max_pending: config.max_pending,
            max_sessions: config.max_sessions,
            handshakes: NonZeroU32::new(config.handshakes_per_ip)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// The resolved `MAX_CONNECTIONS` (0 = off).
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// A TCP connection from `peer` was accepted; `exempt` (a trusted proxy)
    /// skips the per-IP cap, never the total.
    ///
    /// # Errors
    /// [`ConnectionRefused`]: close the connection at once.
    pub fn open_connection(
        &self,
        peer: IpAddr,
        exempt: bool,
    ) -> Result<ConnectionSlot, ConnectionRefused> {
        let mut c = self.shared.lock();
        if self.max_connections > 0 && c.total.connections >= self.max_connections {
            return Err(ConnectionRefused::Total);
        }
        let e = c.per_ip.entry(peer).or_default();
        if !exempt
            && self.max_connections_per_ip > 0
            && e.connections >= self.max_connections_per_ip
        {
            if e.is_empty() {
                c.per_ip.remove(&peer);
            }
            return Err(ConnectionRefused::PerIp);
        }
        e.connections += 1;
        c.total.connections += 1;
        Ok(ConnectionSlot {
            shared: self.shared.clone(),
            ip: peer,
        })
    }

    /// A request of `ip` would start a new Engine.IO session: checks the
    /// per-IP caps (at most `MAX_PENDING_SOCKETS_PER_IP` sessions not yet
    /// connected, and `MAX_SOCKETS_PER_IP` + `MAX_PENDING_SOCKETS_PER_IP`
    /// sessions: one connected socket per session plus those still
    /// handshaking, so the namespace's own `rate_limited` refusal is what a
    /// client over `MAX_SOCKETS_PER_IP` normally sees), the global pending
    /// and session ceilings, then the per-IP handshake rate; counts the
    /// session as pending (not yet connected to the namespace).
    ///
    /// # Errors
    /// [`AppError::RateLimited`] (429) for the per-IP limits,
    /// [`AppError::Unavailable`] (503) for the global ceilings.
    pub fn open_session(&self, ip: IpAddr) -> Result<EngineSession, AppError> {
        let mut c = self.shared.lock();
        let e = c.per_ip.get(&ip).copied().unwrap_or_default();
        let sessions_per_ip = self.sockets_per_ip.saturating_add(self.max_pending_per_ip);
        if (self.sockets_per_ip > 0 && e.sessions >= sessions_per_ip)
            || (self.max_pending_per_ip > 0 && e.pending >= self.max_pending_per_ip)
        {
            return Err(AppError::RateLimited(1));
        }
        if (self.max_pending > 0 && c.total.pending >= self.max_pending)
            || (self.max_sessions > 0 && c.total.sessions >= self.max_sessions)
        {
            return Err(AppError::Unavailable);
        }
        if let Some(l) = &self.handshakes {
            l.check_key(&ip).map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                AppError::RateLimited(wait.as_secs() + 1)
            })?;
        }
        let e = c.per_ip.entry(ip).or_default();
        e.sessions += 1;
        e.pending += 1;
        c.total.sessions += 1;
        c.total.pending += 1;
        Ok(EngineSession {
            shared: self.shared.clone(),
            ip,
            pending: AtomicBool::new(true),
        })
    }

    /// A namespace socket of `ip` passed its handshake checks: `None` when
    /// the IP already has `MAX_SOCKETS_PER_IP` sockets (nothing counted).
    pub fn open_socket(&self, ip: IpAddr) -> Option<SocketSlot> {
        let mut c = self.shared.lock();
        let e = c.per_ip.entry(ip).or_default();
        if self.sockets_per_ip > 0 && e.sockets >= self.sockets_per_ip {
            if e.is_empty() {
                c.per_ip.remove(&ip);
            }
            return None;
        }
        e.sockets += 1;
        c.total.sockets += 1;
        Some(SocketSlot {
            shared: self.shared.clone(),
            ip,
        })
    }

    /// Current totals.
    pub fn stats(&self) -> SocketStats {
        self.shared.lock().total
    }

    /// Open counts of one IP: `(connections, sessions, pending, sockets)`.
    pub fn of_ip(&self, ip: IpAddr) -> (u32, u32, u32, u32) {
        let e = self
            .shared
            .lock()
            .per_ip
            .get(&ip)
            .copied()
            .unwrap_or_default();
        (e.connections, e.sessions, e.pending, e.sockets)
    }

    /// Drops idle handshake-rate keys (call now and then).
    pub fn prune(&self) {
        if let Some(l) = &self.handshakes {
            l.retain_recent();
        }
    }
}

/// One open TCP connection; dropping it frees the slot.
pub struct ConnectionSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.shared.release(self.ip, |e, t| {
            e.connections = e.connections.saturating_sub(1);
            t.connections = t.connections.saturating_sub(1);
        });
    }
}

impl std::fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSlot")
            .field("ip", &self.ip)
            .finish()
    }
}

/// One Engine.IO session, put into the handshake request's extensions
/// (as `Arc<EngineSession>`): socketioxide keeps that request's parts for
/// the session's whole life, so the drop of the last clone is the end of
/// the session. Pending until [`EngineSession::connected`].
pub struct EngineSession {
    shared: Arc<Shared>,
    ip: IpAddr,
    pending: AtomicBool,
}

impl EngineSession {
    /// The session's namespace CONNECT passed: it stops counting as pending
    /// (idempotent).
    pub fn connected(&self) {
        if self.pending.swap(false, Ordering::AcqRel) {
            self.shared.release(self.ip, |e, t| {
                e.pending = e.pending.saturating_sub(1);
                t.pending = t.pending.saturating_sub(1);
            });
        }
    }
}

impl Drop for EngineSession {
    fn drop(&mut self) {
        let pending = self.pending.swap(false, Ordering::AcqRel);
        self.shared.release(self.ip, |e, t| {
            e.sessions = e.sessions.saturating_sub(1);
            t.sessions = t.sessions.saturating_sub(1);
            if pending {
                e.pending = e.pending.saturating_sub(1);
                t.pending = t.pending.saturating_sub(1);
            }
        });
    }
}

impl std::fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("ip", &self.ip)
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

/// One connected namespace socket; dropping it (with the socket) frees the
/// `MAX_SOCKETS_PER_IP` slot.
pub struct SocketSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.shared.release(self.ip, |e, t| {
            e.sockets = e.sockets.saturating_sub(1);
            t.sockets = t.sockets.saturating_sub(1);
        });
    }
}

impl std::fmt::Debug for SocketSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSlot").field("ip", &self.ip).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets(f: impl FnOnce(&mut ConnectionConfig)) -> Sockets {
        let mut c = ConnectionConfig::default();
        f(&mut c);
        Sockets::new(&c, 3, 4)
    }

    #[test]
    fn connection_caps_and_release() {
        let s = sockets(|c| c.max_connections_per_ip = 2);
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        let a1 = s.open_connection(a, false).unwrap();
        let _a2 = s.open_connection(a, false).unwrap();
        assert_eq!(
            s.open_connection(a, false).unwrap_err(),
            ConnectionRefused::PerIp
        );
        let _a3 = s.open_connection(a, true).unwrap();
        let _b1 = s.open_connection(b, false).unwrap();
        assert_eq!(
            s.open_connection(b, false).unwrap_err(),
            ConnectionRefused::Total
        );
        drop(a1);
        let _b2 = s.open_connection(b, false).unwrap();
        assert_eq!(s.stats().connections, 4);
        assert_eq!(s.of_ip(a), (2, 0, 0, 0));
    }

    #[test]
    fn sessions_pending_until_connected_and_released_on_drop() {
        let s = sockets(|c| c.max_pending_per_ip = 2);
        let ip: IpAddr = "198.51.100.3".parse().unwrap();
        let one = s.open_session(ip).unwrap();
        let two = s.open_session(ip).unwrap();
        assert!(matches!(s.open_session(ip), Err(AppError::RateLimited(_))));
        one.connected();
        one.connected();
        assert_eq!(s.of_ip(ip), (0, 2, 1, 0));
        two.connected();
        // Sessions per IP: MAX_SOCKETS_PER_IP (3) + MAX_PENDING_SOCKETS_PER_IP (2).
        let more: Vec<_> = (0..3)
            .map(|_| {
                let e = s.open_session(ip).unwrap();
                e.connected();
                e
            })
            .collect();
        assert!(matches!(s.open_session(ip), Err(AppError::RateLimited(_))));
        drop((one, two, more));
        assert_eq!(s.stats(), SocketStats::default());
        assert_eq!(s.of_ip(ip), (0, 0, 0, 0));
    }

    #[test]
    fn global_pending_ceiling_is_503_and_rate_is_429() {
        let s = sockets(|c| {
            c.max_pending = 1;
            c.handshakes_per_ip = 2;
        });
        let a: IpAddr = "198.51.100.4".parse().unwrap();
        let b: IpAddr = "198.51.100.5".parse().unwrap();
        let first = s.open_session(a).unwrap();
        assert!(matches!(s.open_session(b), Err(AppError::Unavailable)));
        first.connected();
        let _second = s.open_session(a).unwrap();
        drop(first);
        drop(_second);
        assert!(matches!(s.open_session(a), Err(AppError::RateLimited(_))));
        assert!(s.open_session(b).is_ok());
    }

    #[test]
    fn socket_slots() {
        let s = sockets(|_| {});
        let ip: IpAddr = "198.51.100.6".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| s.open_socket(ip).unwrap()).collect();
        assert!(s.open_socket(ip).is_none());
        drop(slots);
        assert!(s.open_socket(ip).is_some());
        assert_eq!(s.stats().sockets, 0);
    }
}
