//! Whether a new TCP connection is served, answered 503 or reset (issue 20
//! item 2), and the accept loop's error log (item 4). Used by
//! `crate::server` for every listener.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use super::{
    TrustedProxies,
    connection::Tracker,
    sockets::{ConnectionRefused, ConnectionSlot, Sockets},
};

/// How a new connection is treated.
#[derive(Debug)]
pub enum Admission {
    /// Served, within the caps.
    Serve(ConnectionSlot),
    /// Its address is at its cap and none of its connections is idle: it
    /// gets one 503 `SERVER_BUSY` answer (`Retry-After`), then is closed.
    Busy(ConnectionSlot),
    /// Closed at once (a reset).
    Refuse(ConnectionRefused),
}

/// Connections per address above `MAX_CONNECTIONS_PER_IP` that may carry a
/// 503 answer at the same time; beyond them a refusal is a reset.
pub const BUSY_ANSWERS_PER_IP: u32 = 8;

/// Connections of one address being closed (evicted, still lingering)
/// that do not count against its cap; beyond them they do.
pub const CLOSING_CREDIT_PER_IP: u32 = 64;

/// The caps for a new connection of `peer`: at its address's cap, that
/// address's longest-idle connection is closed to make room
/// ([`Tracker::evict_idle`]; up to [`CLOSING_CREDIT_PER_IP`] closing ones
/// do not count against the cap); with none idle, the connection may still carry a 503 (at most
/// [`BUSY_ANSWERS_PER_IP`] at a time). `reserve`: may a health probe take a
/// reserve slot above the total cap (the main port only)?
pub fn admit(
    sockets: &Sockets,
    tracker: &Tracker,
    trusted: &TrustedProxies,
    peer: IpAddr,
    reserve: bool,
) -> Admission {
    let exempt = trusted.contains(peer);
    // Connections closed to make room linger (up to 20 s) before their
    // slot is free; they stop counting against the cap, but only up to
    // CLOSING_CREDIT_PER_IP of them: a client that keeps its closed
    // connections lingering cannot grow past the cap by having idle ones
    // closed again and again. (A credit as small as 8 refused newcomers
    // during a burst, while evicted silent connections were still being
    // released.)
    let closing = || tracker.closing(peer).min(CLOSING_CREDIT_PER_IP);
    let mut res = sockets.open_connection_beyond(peer, exempt, closing());
    if matches!(res, Err(ConnectionRefused::PerIp)) && tracker.evict_idle(peer) {
        res = sockets.open_connection_beyond(peer, exempt, closing());
    }
    match res {
        Ok(slot) if slot.is_reserve() && !reserve => Admission::Refuse(ConnectionRefused::Total),
        Ok(slot) => Admission::Serve(slot),
        Err(ConnectionRefused::PerIp) => {
            let extra = closing().saturating_add(BUSY_ANSWERS_PER_IP);
            match sockets.open_connection_beyond(peer, exempt, extra) {
                Ok(slot) if !slot.is_reserve() => Admission::Busy(slot),
                Ok(_) => Admission::Refuse(ConnectionRefused::Total),
                Err(why) => Admission::Refuse(why),
            }
        }
        Err(why) => Admission::Refuse(why),
    }
}

/// Failed accepts closer together than this belong to one episode.
pub const ACCEPT_EPISODE_GAP: Duration = Duration::from_secs(10);

/// "accept failed" once per episode (failures less than
/// [`ACCEPT_EPISODE_GAP`] apart), not once per failed accept: under
/// `EMFILE` a loop retrying every 50 ms would flood the log.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    last: Option<Instant>,
    more: u64,
}

impl AcceptErrors {
    /// An accept on `listener` failed with `e`: logs it when it starts an
    /// episode (with the count of the previous episode's further failures).
    pub fn failed(&mut self, e: &std::io::Error, listener: &'static str) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < ACCEPT_EPISODE_GAP)
        {
            self.more += 1;
        } else {
            tracing::warn!(
                error = %e,
                listener,
                earlier_failures = self.more,
                "accept failed (further failures of this episode are not logged)"
            );
            self.more = 0;
        }
        self.last = Some(now);
    }
}
