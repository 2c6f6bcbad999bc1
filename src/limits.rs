//! Abuse limits shared by HTTP and Socket.IO (`shared/DESIGN.md` § Rate
//! limits, issue #5): keyed GCRA limiters from `governor`, per session and
//! per client IP; login throttling per account and per IP; the client IP
//! itself (behind a proxy: the right-most `X-Forwarded-For` address that no
//! trusted proxy added, [`request_ip`]) and the key every per-IP count and
//! limiter uses for it ([`ip_key`]: IPv6 by its /64). Connection, Engine.IO
//! session and socket caps are in [`sockets`].

pub mod admission;
pub mod connection;
mod error;
pub mod proxies;
pub mod settings;
pub mod sockets;

pub use error::LimitError;
pub use proxies::TrustedProxies;
pub use settings::ConnectionConfig;

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::{Extensions, HeaderMap};

use crate::domain::AgentId;
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

/// A keyed GCRA limiter (`governor`).
pub type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

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
    /// Wrong login codes compared per hour for the admin account, counted
    /// only for logins that passed the password step
    /// (`LOGIN_FAILURES_PER_HOUR`, 100).
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

impl Action {
    /// The `limit` label of `sohbet_rate_limited_total`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Upload => "upload",
            Action::Api => "api",
            Action::Event => "event",
        }
    }
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
    /// Each agent's hourly budget of code comparisons: agent id →
    /// `(window start, slots spent)`. Only an agent whose password was
    /// right gets an entry, so it holds at most one per agent; windows
    /// over are dropped when it reaches [`LOGIN_ACCOUNTS_CAPACITY`].
    login_account: Mutex<HashMap<AgentId, (Instant, u32)>>,
    /// Per address (IPv6: per /64): `(failures, last failure)`.
    login_ip: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    /// At most this many addresses are remembered in `login_ip`.
    login_ip_capacity: usize,
    /// Connection, Engine.IO session and socket caps.
    pub sockets: sockets::Sockets,
}

fn per_minute<K: Hash + Eq + Clone>(n: u32) -> Option<Keyed<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: Hash + Eq + Clone>(l: &Option<Keyed<K>>, key: &K) -> Result<(), LimitError> {
    l.as_ref().map_or(Ok(()), |l| rate_check(l, key))
}

/// Counts one call of `key` against `limiter`.
///
/// # Errors
/// [`LimitError::RateLimited`] with the whole seconds to wait, rounded up
/// (at least 1), for `Retry-After`.
pub fn rate_check<K: Hash + Eq + Clone>(limiter: &Keyed<K>, key: &K) -> Result<(), LimitError> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        LimitError::RateLimited {
            retry_after: wait.as_secs() + 1,
        }
    })
}

impl Limits {
    /// Builds the limiters (connection caps at their defaults, see
    /// [`Limits::with_connections`]).
    pub fn new(config: LimitConfig) -> Self {
        Limits {
            sockets: sockets::Sockets::new(&ConnectionConfig::default(), config.sockets_per_ip, 0),
            send_session: per_minute(config.messages_per_session),
            send_ip: per_minute(config.messages_per_ip),
            upload_session: per_minute(config.uploads_per_session),
            upload_ip: per_minute(config.uploads_per_ip),
            api_ip: per_minute(config.api_per_ip),
            event_ip: per_minute(config.events_per_ip),
            login_account: Mutex::default(),
            login_ip: Mutex::default(),
            login_ip_capacity: LOGIN_IP_CAPACITY,
            config,
        }
    }

    /// Replaces the connection, session and socket caps by those of
    /// `connections` (`MAX_CONNECTIONS=auto` resolved here, see
    /// [`sockets::auto_max_connections`]).
    pub fn with_connections(mut self, connections: &ConnectionConfig) -> Self {
        let total = connections
            .max_connections
            .unwrap_or_else(sockets::auto_max_connections);
        self.sockets = sockets::Sockets::new(connections, self.config.sockets_per_ip, total);
        self
    }

    /// Counts one `action` of `session` (visitor id or admin session) from
    /// `ip` (keyed by [`ip_key`]).
    ///
    /// # Errors
    /// [`LimitError::RateLimited`] with the seconds to wait.
    pub fn check(&self, action: Action, session: &str, ip: IpAddr) -> Result<(), LimitError> {
        let ip = ip_key(ip);
        let res = match action {
            Action::Send => check(&self.send_ip, &ip)
                .and_then(|()| check(&self.send_session, &session.to_owned())),
            Action::Upload => check(&self.upload_ip, &ip)
                .and_then(|()| check(&self.upload_session, &session.to_owned())),
            Action::Api => check(&self.api_ip, &ip),
            Action::Event => check(&self.event_ip, &ip),
        };
        if res.is_err() {
            crate::metrics::rate_limited(action.name());
        }
        res
    }

    /// Before a password or code check from `ip`: is its back-off window
    /// over (a delay that doubles with each failure beyond
    /// `login_free_failures`, 1 s up to 256 s; failures are forgotten an
    /// hour after the last one)? When it is, the attempt is counted as a
    /// failure at once, under the same lock, so that a burst of concurrent
    /// attempts cannot all pass the check (issue 8 items 4 and 7);
    /// [`Limits::login_password_ok`] or [`Limits::login_succeeded`] take it
    /// back. Keyed by [`ip_key`] (IPv6 by its /64).
    ///
    /// # Errors
    /// [`LimitError::RateLimited`] with the seconds to wait.
    pub fn login_attempt(&self, ip: IpAddr) -> Result<(), LimitError> {
        let key = ip_key(ip);
        let mut map = self.login_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((failures, last)) = map.get_mut(&key) {
            let since = last.elapsed();
            if since >= LOGIN_IP_MEMORY {
                *failures = 0;
            }
            let delay = login_delay(failures.saturating_sub(self.config.login_free_failures));
            if since < delay {
                crate::metrics::rate_limited("login");
                return Err(LimitError::RateLimited {
                    retry_after: (delay - since).as_secs() + 1,
                });
            }
            *failures = failures.saturating_add(1);
            *last = Instant::now();
            return Ok(());
        }
        if map.len() >= self.login_ip_capacity {
            make_room(&mut map, self.login_ip_capacity);
        }
        map.insert(key, (1, Instant::now()));
        Ok(())
    }

    /// The password of the attempt `ip` just made was right: forgets the
    /// address's failures (whoever knows the password is not guessing it;
    /// the codes are bounded by their tries and the account's budget).
    pub fn login_password_ok(&self, ip: IpAddr) {
        self.login_succeeded(ip);
    }

    /// After agent `agent`'s right password: is its hourly budget of code
    /// comparisons (`login_failures_per_hour`) not yet spent? Only someone
    /// who knew its password can have spent it (see
    /// [`Limits::login_code_slot`]); other agents' budgets are their own.
    ///
    /// # Errors
    /// [`LimitError::RateLimited`] with the seconds until the window ends.
    pub fn login_account_open(&self, agent: AgentId) -> Result<(), LimitError> {
        let budget = self.config.login_failures_per_hour;
        if budget == 0 {
            return Ok(());
        }
        let mut map = self.login_account.lock().unwrap_or_else(|p| p.into_inner());
        let window = account_window(&mut map, agent);
        if window.1 >= budget {
            return Err(LimitError::RateLimited {
                retry_after: (HOUR.saturating_sub(window.0.elapsed())).as_secs() + 1,
            });
        }
        Ok(())
    }

    /// Before comparing a code of agent `agent`'s login that passed the
    /// password step: reserves one slot of that agent's hourly budget
    /// (`login_failures_per_hour`; fixed one-hour window), under one lock, so
    /// that concurrent guesses cannot exceed it. The slot stays spent only
    /// when [`LoginSlot::spend`] is called (a wrong code was compared);
    /// dropped otherwise (dead code, right code, error, cancelled request),
    /// it is given back.
    ///
    /// # Errors
    /// [`LimitError::RateLimited`] when the budget is spent.
    pub fn login_code_slot(&self, agent: AgentId) -> Result<LoginSlot<'_>, LimitError> {
        let budget = self.config.login_failures_per_hour;
        if budget == 0 {
            return Ok(LoginSlot { limits: None });
        }
        let mut map = self.login_account.lock().unwrap_or_else(|p| p.into_inner());
        let window = account_window(&mut map, agent);
        if window.1 >= budget {
            return Err(LimitError::RateLimited {
                retry_after: (HOUR.saturating_sub(window.0.elapsed())).as_secs() + 1,
            });
        }
        window.1 += 1;
        Ok(LoginSlot {
            limits: Some((self, agent)),
        })
    }

    /// After a successful login: forgets `ip`'s failures.
    pub fn login_succeeded(&self, ip: IpAddr) {
        self.login_ip
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip_key(ip));
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

/// Addresses remembered by the login back-off (a few MB at most).
const LOGIN_IP_CAPACITY: usize = 100_000;

/// Failures of an address are forgotten this long after its last one.
const LOGIN_IP_MEMORY: Duration = HOUR;

/// One reserved slot of the admin account's budget of code comparisons
/// ([`Limits::login_code_slot`]); given back when dropped unless spent.
#[must_use = "a slot is given back when dropped"]
pub struct LoginSlot<'a> {
    limits: Option<(&'a Limits, AgentId)>,
}

impl LoginSlot<'_> {
    /// A wrong code was compared: the slot stays spent.
    pub fn spend(mut self) {
        self.limits = None;
    }
}

impl Drop for LoginSlot<'_> {
    fn drop(&mut self) {
        if let Some((l, agent)) = self.limits {
            let mut map = l.login_account.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(window) = map.get_mut(&agent) {
                window.1 = window.1.saturating_sub(1);
            }
        }
    }
}

/// Agents whose budget windows are kept before the finished ones are dropped.
const LOGIN_ACCOUNTS_CAPACITY: usize = 10_000;

/// Agent `agent`'s budget window (a new one when it had none or its
/// window is over).
fn account_window(
    map: &mut HashMap<AgentId, (Instant, u32)>,
    agent: AgentId,
) -> &mut (Instant, u32) {
    if map.len() >= LOGIN_ACCOUNTS_CAPACITY && !map.contains_key(&agent) {
        map.retain(|_, w| w.0.elapsed() < HOUR);
    }
    let window = map.entry(agent).or_insert((Instant::now(), 0));
    roll_window(window);
    window
}

/// Starts a new one-hour window when the current one is over.
fn roll_window(window: &mut (Instant, u32)) {
    if window.0.elapsed() >= HOUR {
        *window = (Instant::now(), 0);
    }
}

/// The key of a client IP in every per-IP count and limiter (connection,
/// session and socket caps, handshake, message, upload, API, event and
/// webhook rates, login back-off): IPv4 as is, an IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`, a dual-stack listener's view of an IPv4 peer) as that
/// IPv4 address, any other IPv6 address as its /64 network (the low 64 bits
/// zeroed). One subscriber usually holds a whole /64 (RFC 6177 even
/// suggests a /48 or /56), so keying by /128 would give one attacker 2^64
/// fresh "addresses".
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

/// [`ip_key`] as text, the key of a client address in the Telegram
/// outbox's fair share (issue 23), stored on a pending forward: an IPv4
/// address as is (`203.0.113.7`), an IPv6 /64 as `2001:db8:1:2::/64`.
/// Nothing finer than what the limits count is kept.
pub fn address_key(ip: IpAddr) -> String {
    match ip_key(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(net) => format!("{net}/64"),
    }
}

/// Frees room in a full login back-off map: forgets addresses whose failures
/// are old, and if that is not enough the older half. An attacker who owns
/// more addresses than the map holds gains nothing from this that his
/// fresh addresses did not already give him. Amortised O(1) per insert.
fn make_room(map: &mut HashMap<IpAddr, (u32, Instant)>, capacity: usize) {
    map.retain(|_, (_, last)| last.elapsed() < LOGIN_IP_MEMORY);
    if map.len() < capacity {
        return;
    }
    let mut lasts: Vec<Instant> = map.values().map(|(_, last)| *last).collect();
    let mid = lasts.len() / 2;
    let (_, median, _) = lasts.select_nth_unstable(mid);
    let median = *median;
    map.retain(|_, (_, last)| *last > median);
}

/// Is `ip` loopback, private (RFC 1918), link-local, CGNAT (RFC 6598) or
/// IPv6 unique-local — where Railway's, Render's, a local reverse proxy's and
/// a platform's health checker's connections come from? The preset `private`
/// of [`TrustedProxies`]; which proxies are *trusted* is
/// [`TrustedProxies::contains`].
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

/// The peer address of a request, from the `ConnectInfo` the accept loop
/// puts into its extensions (`None` when served without it, e.g. in unit
/// tests).
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The client IP of a request (its extensions and headers, e.g. from
/// `http::request::Parts` or a Socket.IO socket's `req_parts`): the peer
/// address ([`peer_ip`]) or, from a trusted proxy, the `X-Forwarded-For`
/// rule of [`client_ip`]. Per-IP limits key it by [`ip_key`].
pub fn request_ip(
    extensions: &Extensions,
    headers: &HeaderMap,
    trust_proxy: TrustedProxies,
) -> IpAddr {
    client_ip(headers, peer_ip(extensions), trust_proxy)
}

/// The client's IP: the peer address, or when the peer is a trusted proxy
/// (`TRUSTED_PROXIES` / `TRUST_PROXY`, [`TrustedProxies`]) the right-most
/// `X-Forwarded-For` entry not in a trusted network, ports allowed, the
/// walk stopped by an entry that is no address
/// ([`TrustedProxies::client_of`]). From any other peer
/// the header is ignored, so rotating it escapes nothing.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_proxy: TrustedProxies) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !trust_proxy.contains(peer) {
        return peer;
    }
    // A header line that is not text counts as one entry that is no
    // address: the walk stops there.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .collect();
    trust_proxy.client_of(&hops, peer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn an_address_key_is_the_v4_address_or_the_v6_64() {
        let k = |s: &str| address_key(s.parse().expect("an address"));
        assert_eq!(k("203.0.113.7"), "203.0.113.7");
        assert_eq!(k("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(k("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_ignored_without_trust_proxy() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            client_ip(&xff("1.2.3.4"), Some(peer), TrustedProxies::none()),
            peer
        );
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let proxy = Some("10.0.0.2".parse().unwrap());
        // A client forging "6.6.6.6" cannot hide its real address 198.51.100.7.
        let h = xff("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            client_ip(&h, proxy, TrustedProxies::private()),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A public peer is not a proxy: its header is not believed.
        let direct: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            client_ip(&h, Some(direct), TrustedProxies::private()),
            direct
        );
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
            matches!(e, LimitError::RateLimited { retry_after: s } if (1..=31).contains(&s)),
            "{e:?}"
        );
        assert!(
            l.check(Action::Send, "b", ip).is_ok(),
            "another session is not starved"
        );
    }

    #[test]
    fn ip_delay_after_free_failures_and_right_password_is_no_failure() {
        let l = Limits::new(LimitConfig {
            login_free_failures: 3,
            ..Default::default()
        });
        let ip: IpAddr = "198.51.100.2".parse().unwrap();
        // Four failures pass (three free, then a delay of 0 before the 4th).
        for _ in 0..4 {
            assert!(l.login_attempt(ip).is_ok());
        }
        assert!(matches!(
            l.login_attempt(ip),
            Err(LimitError::RateLimited { .. })
        ));
        assert!(l.login_attempt("198.51.100.3".parse().unwrap()).is_ok());
        l.login_succeeded(ip);
        // A right password forgets the failures: no delay ever builds up.
        for _ in 0..10 {
            assert!(l.login_attempt(ip).is_ok());
            l.login_password_ok(ip);
        }
    }

    #[test]
    fn ipv6_addresses_share_the_back_off_of_their_64() {
        let l = Limits::new(LimitConfig {
            login_free_failures: 2,
            ..Default::default()
        });
        for i in 0..3u16 {
            let ip = IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, i]);
            assert!(l.login_attempt(ip).is_ok());
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 1, 2, 3]);
        assert!(l.login_attempt(same_64).is_err());
        let other_64 = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert!(l.login_attempt(other_64).is_ok());
    }

    #[test]
    fn ip_key_is_the_v4_address_or_the_v6_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(ip_key(ip("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(ip_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(
            ip_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(ip_key(ip("2001:db8:1:2::1")), ip("2001:db8:1:2::"));
        assert_ne!(ip_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(ip_key(ip("::1")), ip("::"));
    }

    /// Review of issue #8: one subscriber's /64 is one client for every
    /// per-IP limiter, not 2^64 of them.
    #[test]
    fn per_ip_limiters_key_ipv6_by_its_64() {
        let l = Limits::new(LimitConfig {
            messages_per_ip: 3,
            uploads_per_ip: 2,
            api_per_ip: 4,
            events_per_ip: 5,
            ..Default::default()
        });
        let addr = |i: u16| IpAddr::from([0x2001, 0xdb8, 7, 7, i, i, i, i]);
        for (action, n) in [
            (Action::Send, 3),
            (Action::Upload, 2),
            (Action::Api, 4),
            (Action::Event, 5),
        ] {
            for i in 0..n {
                // A fresh session and a fresh /128 for each call.
                let session = format!("{action:?}-{i}");
                assert!(
                    l.check(action, &session, addr(i + 1)).is_ok(),
                    "{action:?} {i}"
                );
            }
            assert!(
                matches!(
                    l.check(action, "another", addr(999)),
                    Err(LimitError::RateLimited { .. })
                ),
                "{action:?}: another /128 of the same /64 is refused"
            );
            let other_64 = IpAddr::from([0x2001, 0xdb8, 7, 8, 0, 0, 0, 1]);
            assert!(l.check(action, "other", other_64).is_ok(), "{action:?}");
        }
        // IPv4 and its mapped IPv6 form are one client.
        let v4: IpAddr = "198.51.100.20".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.20".parse().unwrap();
        for i in 0..2 {
            assert!(l.check(Action::Upload, &format!("m{i}"), v4).is_ok());
        }
        assert!(l.check(Action::Upload, "m3", mapped).is_err());
    }

    #[test]
    fn account_budget_slots_are_reserved_and_given_back() {
        let l = Limits::new(LimitConfig {
            login_failures_per_hour: 3,
            ..Default::default()
        });
        // Given back (dead or right code): the budget is untouched.
        for _ in 0..10 {
            drop(l.login_code_slot(AgentId(1)).unwrap());
        }
        assert!(l.login_account_open(AgentId(1)).is_ok());
        // Three held at once; a fourth is refused while they are held.
        let held: Vec<_> = (0..3)
            .map(|_| l.login_code_slot(AgentId(1)).unwrap())
            .collect();
        assert!(l.login_code_slot(AgentId(1)).is_err());
        assert!(l.login_account_open(AgentId(1)).is_err());
        for slot in held {
            slot.spend();
        }
        assert!(matches!(
            l.login_account_open(AgentId(1)),
            Err(LimitError::RateLimited { retry_after: s }) if s > 3500
        ));
        // Another agent's budget is its own (issue 22 item 1).
        assert!(l.login_account_open(AgentId(2)).is_ok());
        assert!(l.login_code_slot(AgentId(2)).is_ok());
    }

    #[test]
    fn account_budget_holds_under_concurrency() {
        let l = Arc::new(Limits::new(LimitConfig {
            login_failures_per_hour: 50,
            ..Default::default()
        }));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    let mut spent = 0;
                    for _ in 0..100 {
                        if let Ok(slot) = l.login_code_slot(AgentId(7)) {
                            slot.spend();
                            spent += 1;
                        }
                    }
                    spent
                })
            })
            .collect();
        let spent: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(spent, 50);
    }

    /// Issue 8 item 13: the login state cannot grow without bound. The
    /// account budgets are keyed by agent ids that passed the password
    /// step (usernames are never keys); the per-address map is capped.
    #[test]
    fn login_state_is_bounded() {
        let mut l = Limits::new(LimitConfig::default());
        l.login_ip_capacity = 1_000;
        for i in 0..20_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = l.login_attempt(ip);
            assert!(l.login_ip.lock().unwrap().len() <= 1_000);
        }
        // The newest addresses are still remembered.
        let newest = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + 19_999));
        assert_eq!(
            l.login_ip.lock().unwrap().get(&newest).map(|e| e.0),
            Some(1)
        );
        // Wrong passwords with any username never touch the account budget.
        assert!(l.login_account.lock().unwrap().is_empty());
    }

    #[test]
    fn login_delay_grows() {
        assert_eq!(login_delay(0), Duration::ZERO);
        assert_eq!(login_delay(1), Duration::from_secs(1));
        assert_eq!(login_delay(3), Duration::from_secs(4));
        assert_eq!(login_delay(40), Duration::from_secs(256));
    }
}
