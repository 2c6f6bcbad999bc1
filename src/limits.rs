//! Abuse limits shared by HTTP and Socket.IO (`shared/DESIGN.md` § Rate
//! limits, issue #5): keyed GCRA limiters from `governor`, per session and
//! per client IP; login throttling per account and per IP; the client IP
//! itself (behind a proxy: the right-most `X-Forwarded-For` address that no
//! trusted proxy added). Connection, Engine.IO session and socket caps are
//! in [`sockets`].

pub mod sockets;

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::HeaderMap;
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

use crate::error::AppError;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Limits per minute (0 turns a limit off); from `RATE_LIMIT_*` variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitConfig {
    /// Messages per session (`RATE_LIMIT_MESSAGES_PER_MINUTE`, 10).
    pub messages_per_session: u32,
    /// Messages per client IP (`RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE`, 120).
    pub messages_per_ip: u32,
    /// Uploads per session (`RATE_LIMIT_UPLOADS_PER_MINUTE`, 5).
    pub uploads_per_session: u32,
    /// Uploads per client IP (`RATE_LIMIT_UPLOADS_PER_IP_PER_MINUTE`, 30).
    pub uploads_per_ip: u32,
    /// Other `/api/` calls per client IP (`RATE_LIMIT_API_PER_IP_PER_MINUTE`, 100).
    pub api_per_ip: u32,
    /// Other Socket.IO events (typing, join) per client IP (`RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE`, 600).
    pub events_per_ip: u32,
    /// Failed password or code attempts per account and hour (`LOGIN_FAILURES_PER_HOUR`, 100).
    pub login_failures_per_hour: u32,
    /// Open sockets per client IP (`MAX_SOCKETS_PER_IP`, 50); also bounds
    /// its Engine.IO sessions (see [`sockets::Sockets::open_session`]).
    pub sockets_per_ip: u32,
    /// Failed logins an IP may make before its delay starts
    /// (`LOGIN_FREE_FAILURES_PER_IP`, 3).
    pub login_free_failures: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            messages_per_session: 10,
            messages_per_ip: 120,
            uploads_per_session: 5,
            uploads_per_ip: 30,
            api_per_ip: 100,
            events_per_ip: 600,
            login_failures_per_hour: 100,
            sockets_per_ip: 50,
            login_free_failures: 3,
        }
    }
}

/// What is being limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Sending a message (REST or Socket.IO).
    Send,
    /// Uploading a file.
    Upload,
    /// Any other `/api/` call.
    Api,
    /// Any other Socket.IO event.
    Event,
}

/// The limiters of one process.
pub struct Limits {
    config: LimitConfig,
    send_session: Option<Keyed<String>>,
    send_ip: Option<Keyed<IpAddr>>,
    upload_session: Option<Keyed<String>>,
    upload_ip: Option<Keyed<IpAddr>>,
    api_ip: Option<Keyed<IpAddr>>,
    event_ip: Option<Keyed<IpAddr>>,
    login_account: Mutex<HashMap<String, (Instant, u32)>>,
    login_ip: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    /// Connection, Engine.IO session and socket caps.
    pub sockets: sockets::Sockets,
}

fn per_minute<K: Hash + Eq + Clone>(n: u32) -> Option<Keyed<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: Hash + Eq + Clone>(l: &Option<Keyed<K>>, key: &K) -> Result<(), AppError> {
    match l {
        Some(l) => l.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited(wait.as_secs() + 1)
        }),
        None => Ok(()),
    }
}

impl Limits {
    /// Builds the limiters (connection caps at their defaults, see
    /// [`Limits::with_connections`]).
    pub fn new(config: LimitConfig) -> Self {
        Limits {
            sockets: sockets::Sockets::new(
                &crate::config::ConnectionConfig::default(),
                config.sockets_per_ip,
                0,
            ),
            send_session: per_minute(config.messages_per_session),
            send_ip: per_minute(config.messages_per_ip),
            upload_session: per_minute(config.uploads_per_session),
            upload_ip: per_minute(config.uploads_per_ip),
            api_ip: per_minute(config.api_per_ip),
            event_ip: per_minute(config.events_per_ip),
            login_account: Mutex::default(),
            login_ip: Mutex::default(),
            config,
        }
    }

    /// Replaces the connection, session and socket caps by those of
    /// `connections` (`MAX_CONNECTIONS=auto` resolved here, see
    /// [`sockets::auto_max_connections`]).
    pub fn with_connections(mut self, connections: &crate::config::ConnectionConfig) -> Self {
        let total = connections
            .max_connections
            .unwrap_or_else(sockets::auto_max_connections);
        self.sockets = sockets::Sockets::new(connections, self.config.sockets_per_ip, total);
        self
    }

    /// Counts one `action` of `session` (visitor id or admin session) from
    /// `ip`.
    ///
    /// # Errors
    /// [`AppError::RateLimited`] with the seconds to wait.
    pub fn check(&self, action: Action, session: &str, ip: IpAddr) -> Result<(), AppError> {
        match action {
            Action::Send => {
                check(&self.send_ip, &ip)?;
                check(&self.send_session, &session.to_owned())
            }
            Action::Upload => {
                check(&self.upload_ip, &ip)?;
                check(&self.upload_session, &session.to_owned())
            }
            Action::Api => check(&self.api_ip, &ip),
            Action::Event => check(&self.event_ip, &ip),
        }
    }

    /// Before a password or code check: has `account` failed fewer than
    /// `login_failures_per_hour` times this hour, and is `ip` out of its
    /// back-off window (a delay that doubles with each failure after the
    /// third, 1 s up to 256 s)?
    ///
    /// # Errors
    /// [`AppError::RateLimited`] with the seconds to wait.
    pub fn login_allowed(&self, account: &str, ip: IpAddr) -> Result<(), AppError> {
        let budget = self.config.login_failures_per_hour;
        if budget > 0 {
            let map = self.login_account.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((start, n)) = map.get(account) {
                let age = start.elapsed();
                if age < HOUR && *n >= budget {
                    return Err(AppError::RateLimited((HOUR - age).as_secs() + 1));
                }
            }
        }
        let map = self.login_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((failures, last)) = map.get(&ip) {
            let delay = login_delay(failures.saturating_sub(self.config.login_free_failures));
            let since = last.elapsed();
            if since < delay {
                return Err(AppError::RateLimited((delay - since).as_secs() + 1));
            }
        }
        Ok(())
    }

    /// After a failed password or code: counts it for `account` (fixed
    /// one-hour window) and grows `ip`'s delay.
    pub fn login_failed(&self, account: &str, ip: IpAddr) {
        {
            let mut map = self.login_account.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 10_000 {
                map.retain(|_, (start, _)| start.elapsed() < HOUR);
            }
            let e = map.entry(account.to_owned()).or_insert((Instant::now(), 0));
            if e.0.elapsed() >= HOUR {
                *e = (Instant::now(), 0);
            }
            e.1 = e.1.saturating_add(1);
        }
        let mut map = self.login_ip.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| last.elapsed() < HOUR);
        }
        let e = map.entry(ip).or_insert((0, Instant::now()));
        e.0 = e.0.saturating_add(1);
        e.1 = Instant::now();
    }

    /// After a successful login: forgets `ip`'s failures.
    pub fn login_succeeded(&self, ip: IpAddr) {
        self.login_ip
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }

    /// Drops idle keys (call now and then).
    pub fn prune(&self) {
        for l in [&self.send_session, &self.upload_session]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
        }
        for l in [&self.send_ip, &self.upload_ip, &self.api_ip, &self.event_ip]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
        }
        self.sockets.prune();
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// The delay after `over` failures beyond the free ones: 0, then 1 s,
/// doubling, at most 256 s.
fn login_delay(over: u32) -> Duration {
    if over == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs(1u64 << (over - 1).min(8))
}

/// Addresses of proxies we trust to append to `X-Forwarded-For`: loopback,
/// private (RFC 1918), link-local, CGNAT (RFC 6598) and IPv6 unique-local —
/// where Railway's, Render's and a local reverse proxy's hops come from.
pub fn is_trusted_proxy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_trusted_proxy(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The client's IP: the peer address, or with `trust_proxy` (and a trusted
/// peer) the right-most `X-Forwarded-For` entry not added by a trusted proxy.
/// Without `trust_proxy` the header is ignored, so rotating it escapes nothing.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_proxy: bool) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !trust_proxy || !is_trusted_proxy(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !is_trusted_proxy(**ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_ignored_without_trust_proxy() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(&xff("1.2.3.4"), Some(peer), false), peer);
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let proxy = Some("10.0.0.2".parse().unwrap());
        // A client forging "6.6.6.6" cannot hide its real address 198.51.100.7.
        let h = xff("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            client_ip(&h, proxy, true),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A public peer is not a proxy: its header is not believed.
        let direct: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(&h, Some(direct), true), direct);
    }

    #[test]
    fn session_limit_then_retry_after() {
        let l = Limits::new(LimitConfig {
            messages_per_session: 2,
            ..Default::default()
        });
        let ip = "198.51.100.1".parse().unwrap();
        assert!(l.check(Action::Send, "a", ip).is_ok());
        assert!(l.check(Action::Send, "a", ip).is_ok());
        let e = l.check(Action::Send, "a", ip).unwrap_err();
        assert!(
            matches!(e, AppError::RateLimited(s) if (1..=31).contains(&s)),
            "{e:?}"
        );
        assert!(
            l.check(Action::Send, "b", ip).is_ok(),
            "another session is not starved"
        );
    }

    #[test]
    fn account_budget_and_ip_delay() {
        let l = Limits::new(LimitConfig {
            login_failures_per_hour: 3,
            ..Default::default()
        });
        let ip: IpAddr = "198.51.100.2".parse().unwrap();
        let other: IpAddr = "198.51.100.3".parse().unwrap();
        for _ in 0..2 {
            assert!(l.login_allowed("admin", ip).is_ok());
            l.login_failed("admin", ip);
        }
        l.login_failed("admin", other);
        // The account's budget is spent, from any address.
        assert!(
            l.login_allowed("admin", "198.51.100.4".parse().unwrap())
                .is_err()
        );
        assert!(
            l.login_allowed("someone", "198.51.100.4".parse().unwrap())
                .is_ok()
        );
        // Failures beyond the free three start the IP's delay.
        l.login_failed("x", ip);
        assert!(l.login_allowed("y", ip).is_ok());
        l.login_failed("x", ip);
        assert!(matches!(
            l.login_allowed("y", ip),
            Err(AppError::RateLimited(_))
        ));
        l.login_succeeded(ip);
        assert!(l.login_allowed("y", ip).is_ok());
    }

    #[test]
    fn login_delay_grows() {
        assert_eq!(login_delay(0), Duration::ZERO);
        assert_eq!(login_delay(1), Duration::from_secs(1));
        assert_eq!(login_delay(3), Duration::from_secs(4));
        assert_eq!(login_delay(40), Duration::from_secs(256));
    }
}
