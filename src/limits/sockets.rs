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

use governor::{Quota, RateLimiter};
use serde::Serialize;

use super::{ConnectionConfig, Keyed, LimitError, ip_key, rate_check};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    handshakes: Option<Keyed<IpAddr>>,
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
    /// skips the per-IP cap, never the total. Per-IP counts are keyed by
    /// [`ip_key`] (IPv6 by its /64).
    ///
    /// With `MAX_CONNECTIONS` open, a peer may still take one of
    /// [`HEALTH_RESERVE`] slots above the cap when it is a loopback or
    /// private address ([`super::is_trusted_proxy`]: where a platform's
    /// health checker connects from) that holds fewer than
    /// [`HEALTH_RESERVE_MAX_HELD`] connections. The addresses that filled the
    /// cap (or a proxy relaying a flood) hold many, so they cannot spend the
    /// reserve; an internet peer never can. The slot is marked
    /// ([`ConnectionSlot::is_reserve`]): the accept loop serves one request
    /// on it, and only a health probe (issue #8 item 6, "health probes
    /// still answered").
    ///
    /// # Errors
    /// [`ConnectionRefused`]: close the connection at once.
    pub fn open_connection(
        &self,
        peer: IpAddr,
        exempt: bool,
    ) -> Result<ConnectionSlot, ConnectionRefused> {
        self.open_connection_beyond(peer, exempt, 0)
    }

    /// As [`Sockets::open_connection`], with `extra` places above
    /// `MAX_CONNECTIONS_PER_IP` (issue 20 item 2): for connections of the
    /// peer that are being closed to make room, and for the few that only
    /// carry a 503 answer. The total cap is never raised.
    ///
    /// # Errors
    /// [`ConnectionRefused`].
    pub fn open_connection_beyond(
        &self,
        peer: IpAddr,
        exempt: bool,
        extra: u32,
    ) -> Result<ConnectionSlot, ConnectionRefused> {
        let key = ip_key(peer);
        let mut c = self.shared.lock();
        let held = c.per_ip.get(&key).map_or(0, |e| e.connections);
        let reserve = self.max_connections > 0 && c.total.connections >= self.max_connections;
        if reserve
            && (c.total.connections >= self.max_connections.saturating_add(HEALTH_RESERVE)
                || held >= HEALTH_RESERVE_MAX_HELD
                || !super::is_trusted_proxy(peer))
        {
            return Err(ConnectionRefused::Total);
        }
        if !exempt
            && self.max_connections_per_ip > 0
            && held >= self.max_connections_per_ip.saturating_add(extra)
        {
            return Err(ConnectionRefused::PerIp);
        }
        c.per_ip.entry(key).or_default().connections += 1;
        c.total.connections += 1;
        Ok(ConnectionSlot {
            shared: self.shared.clone(),
            ip: key,
            reserve,
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
    /// Keyed by [`ip_key`] (IPv6 by its /64).
    ///
    /// # Errors
    /// [`LimitError::RateLimited`] (429) for the per-IP limits,
    /// [`LimitError::Full`] (503) for the global ceilings.
    pub fn open_session(&self, ip: IpAddr) -> Result<EngineSession, LimitError> {
        let ip = ip_key(ip);
        let mut c = self.shared.lock();
        let e = c.per_ip.get(&ip).copied().unwrap_or_default();
        let sessions_per_ip = self.sockets_per_ip.saturating_add(self.max_pending_per_ip);
        if (self.sockets_per_ip > 0 && e.sessions >= sessions_per_ip)
            || (self.max_pending_per_ip > 0 && e.pending >= self.max_pending_per_ip)
        {
            return Err(LimitError::RateLimited { retry_after: 1 });
        }
        if (self.max_pending > 0 && c.total.pending >= self.max_pending)
            || (self.max_sessions > 0 && c.total.sessions >= self.max_sessions)
        {
            return Err(LimitError::Full);
        }
        if let Some(l) = &self.handshakes {
            rate_check(l, &ip)?;
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
    /// the IP (keyed by [`ip_key`]) already has `MAX_SOCKETS_PER_IP` sockets
    /// (nothing counted).
    pub fn open_socket(&self, ip: IpAddr) -> Option<SocketSlot> {
        let ip = ip_key(ip);
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

    /// Open counts of one IP (its [`ip_key`]): `(connections, sessions,
    /// pending, sockets)`.
    pub fn of_ip(&self, ip: IpAddr) -> (u32, u32, u32, u32) {
        let e = self
            .shared
            .lock()
            .per_ip
            .get(&ip_key(ip))
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

/// Connection slots above `MAX_CONNECTIONS` kept for health probes from
/// loopback and private addresses (see [`Sockets::open_connection`]). With
/// `MAX_CONNECTIONS=auto` they fit in the 64 descriptors left aside.
pub const HEALTH_RESERVE: u32 = 8;

/// A peer holding this many connections (or more) cannot take a reserve
/// slot: a health checker needs one new connection, perhaps next to one
/// it keeps alive.
pub const HEALTH_RESERVE_MAX_HELD: u32 = 2;

/// One open TCP connection; dropping it frees the slot.
pub struct ConnectionSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
    reserve: bool,
}

impl ConnectionSlot {
    /// Is this one of the [`HEALTH_RESERVE`] slots above `MAX_CONNECTIONS`
    /// (to be used for one health probe only)?
    pub fn is_reserve(&self) -> bool {
        self.reserve
    }
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
            .field("reserve", &self.reserve)
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

    /// Review of issue #8: the total cap keeps [`HEALTH_RESERVE`] slots for
    /// loopback and private peers that hold almost nothing, so the
    /// addresses that filled the cap cannot spend them.
    #[test]
    fn health_reserve_above_the_total_cap() {
        let s = Sockets::new(&ConnectionConfig::default(), 3, 4);
        let filler: IpAddr = "10.0.0.9".parse().unwrap();
        let full: Vec<_> = (0..4)
            .map(|_| s.open_connection(filler, false).unwrap())
            .collect();
        assert!(full.iter().all(|c| !c.is_reserve()));
        // The address that filled the cap, and any public address: refused.
        assert_eq!(
            s.open_connection(filler, false).unwrap_err(),
            ConnectionRefused::Total
        );
        let public: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(
            s.open_connection(public, false).unwrap_err(),
            ConnectionRefused::Total
        );
        // A loopback probe gets a reserve slot, a second one too (one may be
        // kept alive), a third is refused.
        let probe: IpAddr = "127.0.0.1".parse().unwrap();
        let p1 = s.open_connection(probe, false).unwrap();
        let p2 = s.open_connection(probe, false).unwrap();
        assert!(p1.is_reserve() && p2.is_reserve());
        assert!(s.open_connection(probe, false).is_err());
        // The reserve is bounded: HEALTH_RESERVE slots, however many
        // private addresses ask.
        let more: Vec<_> = (0..20u8)
            .filter_map(|i| {
                s.open_connection(IpAddr::from([192, 168, 1, i]), false)
                    .ok()
            })
            .collect();
        assert_eq!(more.len() + 2, HEALTH_RESERVE as usize);
        assert_eq!(s.stats().connections, 4 + HEALTH_RESERVE);
        // Below the cap again, slots are ordinary.
        drop((p1, p2, more));
        drop(full);
        let again = s.open_connection(probe, false).unwrap();
        assert!(!again.is_reserve());
    }

    /// Review of issue #8: every per-IP count keys IPv6 by its /64.
    #[test]
    fn ipv6_peers_count_per_64() {
        let s = sockets(|c| {
            c.max_connections_per_ip = 2;
            c.max_pending_per_ip = 2;
            c.handshakes_per_ip = 2;
        });
        let addr = |i: u16| IpAddr::from([0x2001, 0xdb8, 5, 5, 0, 0, i, i]);
        let _c: Vec<_> = (1..=2)
            .map(|i| s.open_connection(addr(i), false).unwrap())
            .collect();
        assert_eq!(
            s.open_connection(addr(3), false).unwrap_err(),
            ConnectionRefused::PerIp
        );
        let one = s.open_session(addr(1)).unwrap();
        let _two = s.open_session(addr(2)).unwrap();
        assert!(matches!(
            s.open_session(addr(3)),
            Err(LimitError::RateLimited { .. })
        ));
        one.connected();
        drop(one);
        // The handshake rate (2 per minute) is per /64 too.
        assert!(matches!(
            s.open_session(addr(4)),
            Err(LimitError::RateLimited { .. })
        ));
        let sockets: Vec<_> = (1..=3).map(|i| s.open_socket(addr(i)).unwrap()).collect();
        assert!(s.open_socket(addr(9)).is_none());
        assert_eq!(s.of_ip(addr(7)), (2, 1, 1, 3));
        let other: IpAddr = IpAddr::from([0x2001, 0xdb8, 5, 6, 0, 0, 0, 1]);
        assert!(s.open_socket(other).is_some());
        drop(sockets);
    }

    #[test]
    fn sessions_pending_until_connected_and_released_on_drop() {
        let s = sockets(|c| c.max_pending_per_ip = 2);
        let ip: IpAddr = "198.51.100.3".parse().unwrap();
        let one = s.open_session(ip).unwrap();
        let two = s.open_session(ip).unwrap();
        assert!(matches!(
            s.open_session(ip),
            Err(LimitError::RateLimited { .. })
        ));
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
        assert!(matches!(
            s.open_session(ip),
            Err(LimitError::RateLimited { .. })
        ));
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
        assert!(matches!(s.open_session(b), Err(LimitError::Full)));
        first.connected();
        let _second = s.open_session(a).unwrap();
        drop(first);
        drop(_second);
        assert!(matches!(
            s.open_session(a),
            Err(LimitError::RateLimited { .. })
        ));
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
