//! One accepted TCP connection as the accept loop (`crate::server`) holds
//! it (issue 20 items 1 and 2):
//!
//! - [`Stream`]: the socket with its [`ConnectionSlot`]; when it is
//!   dropped while the peer may still be sending (no end of stream seen),
//!   it is closed with a *lingering close* ([`linger`]): our side is shut
//!   down (FIN after the answer), then what the peer still sends is read and
//!   discarded — at most [`LINGER_MAX_BYTES`], for at most [`LINGER_TIME`],
//!   ended by [`LINGER_IDLE`] of silence — and only then is the socket
//!   closed. Closing a socket with unread bytes makes the kernel send a
//!   reset, which destroys an answer (403, 401, 413, 429, 503 …) written
//!   before the request body was read and fails the client's write of its
//!   body (RFC 9112 § 9.6, "tear-down"; Apache's and nginx's
//!   `lingering_close`). The slot stays taken until the socket is closed
//!   (the connection is no longer idle once the close begins).
//! - [`Tracker`]: the open connections of each address and whether each is
//!   idle (no request in flight, no byte received since the last answer,
//!   not upgraded to a WebSocket), so that an address at its
//!   `MAX_CONNECTIONS_PER_IP` can have its longest-idle connection closed
//!   for a new one ([`Tracker::evict_idle`]): that costs its browser a
//!   reconnect, not a failure.

use std::{
    collections::HashMap,
    net::IpAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Notify,
    time::Instant,
};

use super::{ip_key, sockets::ConnectionSlot};

/// Most bytes read and discarded by a lingering close (the largest upload
/// body is 10 MiB; what a client sends past this may meet a reset).
pub const LINGER_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// Longest a lingering close lasts.
pub const LINGER_TIME: Duration = Duration::from_secs(20);

/// A lingering close ends when the peer sends nothing for this long
/// (Apache's `MAX_SECS_TO_LINGER` per read).
pub const LINGER_IDLE: Duration = Duration::from_secs(2);

/// What the accept loop knows of one connection (shared between its
/// [`Stream`], the requests served on it and the [`Tracker`]).
#[derive(Debug)]
pub struct ConnState {
    /// Bytes received so far (plus one when the first byte was seen).
    read: AtomicU64,
    /// `read` when the last request ended: the connection is between
    /// requests while both are equal.
    settled: AtomicU64,
    in_flight: AtomicU32,
    upgraded: AtomicBool,
    /// Chosen to be closed for a newer connection of its address.
    closing: AtomicBool,
    /// Closing (lingering): never chosen again.
    gone: AtomicBool,
    /// When the connection last became idle (ms since the tracker's start).
    idle_since: AtomicU64,
    close: Notify,
}

impl ConnState {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && !self.upgraded.load(Ordering::Acquire)
            && !self.closing.load(Ordering::Acquire)
            && !self.gone.load(Ordering::Acquire)
            && self.read.load(Ordering::Acquire) == self.settled.load(Ordering::Acquire)
    }

    /// The first byte arrived (seen, not yet read): no longer idle.
    pub fn first_byte(&self) {
        self.read.fetch_add(1, Ordering::AcqRel);
    }

    /// Resolves once the connection was chosen to be closed
    /// ([`Tracker::evict_idle`]); then close it gracefully.
    pub async fn close_requested(&self) {
        self.close.notified().await;
    }
}

/// One request in flight on a connection (from the moment the service is
/// called until its answer's head is ready); dropping it ends it.
#[derive(Debug)]
pub struct InFlight {
    state: Arc<ConnState>,
    tracker: Arc<Tracker>,
}

impl InFlight {
    /// The answer switched protocols (a WebSocket): the connection is never
    /// idle again.
    pub fn upgraded(&self) {
        self.state.upgraded.store(true, Ordering::Release);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let s = &self.state;
        s.settled
            .store(s.read.load(Ordering::Acquire), Ordering::Release);
        s.idle_since.store(self.tracker.now_ms(), Ordering::Release);
        s.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections of each address (keyed by [`ip_key`]).
#[derive(Debug)]
pub struct Tracker {
    started: Instant,
    conns: Mutex<HashMap<IpAddr, Vec<Arc<ConnState>>>>,
}

/// A connection's place in the [`Tracker`]; dropping it removes it.
#[derive(Debug)]
pub struct Tracked {
    tracker: Arc<Tracker>,
    key: IpAddr,
    state: Arc<ConnState>,
}

impl Tracked {
    /// The connection's shared state.
    pub fn state(&self) -> &Arc<ConnState> {
        &self.state
    }

    /// What the requests of this connection use to mark themselves.
    pub fn requests(&self) -> Requests {
        Requests {
            state: self.state.clone(),
            tracker: self.tracker.clone(),
        }
    }
}

/// Starts the [`InFlight`] guards of one connection's requests.
#[derive(Clone, Debug)]
pub struct Requests {
    state: Arc<ConnState>,
    tracker: Arc<Tracker>,
}

impl Requests {
    /// A request starts; it ends when the guard is dropped.
    pub fn begin(&self) -> InFlight {
        self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            state: self.state.clone(),
            tracker: self.tracker.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut map = self.tracker.lock();
        if let Some(conns) = map.get_mut(&self.key) {
            conns.retain(|c| !Arc::ptr_eq(c, &self.state));
            if conns.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Arc<Tracker> {
        Arc::new(Tracker {
            started: Instant::now(),
            conns: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Vec<Arc<ConnState>>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection of `peer` (idle until its first byte).
    pub fn register(self: &Arc<Self>, peer: IpAddr) -> Tracked {
        let key = ip_key(peer);
        let state = Arc::new(ConnState {
            read: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            upgraded: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        self.lock().entry(key).or_default().push(state.clone());
        Tracked {
            tracker: self.clone(),
            key,
            state,
        }
    }

    /// Connections of `peer` chosen to be closed and not yet gone: the
    /// accept loop lets that many more in above the per-address cap, so the
    /// cap counts only the connections that stay.
    pub fn closing(&self, peer: IpAddr) -> u32 {
        self.lock().get(&ip_key(peer)).map_or(0, |conns| {
            let n = conns
                .iter()
                .filter(|c| c.closing.load(Ordering::Acquire))
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        })
    }

    /// Chooses the longest-idle connection of `peer` (see the module doc)
    /// and asks it to close gracefully; false when none is idle.
    pub fn evict_idle(&self, peer: IpAddr) -> bool {
        let map = self.lock();
        let Some(conns) = map.get(&ip_key(peer)) else {
            return false;
        };
        let Some(victim) = conns
            .iter()
            .filter(|c| c.is_idle())
            .min_by_key(|c| c.idle_since.load(Ordering::Acquire))
            .cloned()
        else {
            return false;
        };
        victim.closing.store(true, Ordering::Release);
        drop(map);
        victim.close.notify_one();
        true
    }
}

/// An accepted socket holding its connection slot (and its place in the
/// [`Tracker`]) until it is closed, through hyper and, after an upgrade,
/// inside the WebSocket; dropped, it closes with [`linger`] unless the peer
/// already ended its side.
#[derive(Debug)]
pub struct Stream {
    stream: Option<TcpStream>,
    hold: Option<(ConnectionSlot, Option<Tracked>)>,
    state: Option<Arc<ConnState>>,
    peer_done: bool,
}

impl Stream {
    /// `stream`, holding `slot` and `tracked` while it is open.
    pub fn new(stream: TcpStream, slot: ConnectionSlot, tracked: Option<Tracked>) -> Stream {
        Stream {
            stream: Some(stream),
            state: tracked.as_ref().map(|t| t.state.clone()),
            hold: Some((slot, tracked)),
            peer_done: false,
        }
    }

    fn io(&mut self) -> std::io::Result<&mut TcpStream> {
        self.stream
            .as_mut()
            .ok_or_else(|| std::io::ErrorKind::NotConnected.into())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let (Some(stream), Some(hold)) = (self.stream.take(), self.hold.take()) else {
            return;
        };
        if self.peer_done {
            return;
        }
        // Closing: no longer one of its address's connections to choose
        // from, but still counted (and, if it was chosen, still "closing")
        // until the socket is closed.
        if let Some(s) = &self.state {
            s.gone.store(true, Ordering::Release);
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let discarded = linger(stream).await;
                tracing::trace!(discarded, "lingering close done");
                drop(hold);
            });
        }
    }
}

/// The lingering close of `stream` (see the module doc): shuts our side
/// down, then reads and discards until the peer ends its side, fails, is
/// silent for [`LINGER_IDLE`], [`LINGER_TIME`] passed or
/// [`LINGER_MAX_BYTES`] were read. Returns the bytes discarded.
pub async fn linger(mut stream: TcpStream) -> u64 {
    let _ = stream.shutdown().await;
    let end = Instant::now() + LINGER_TIME;
    let mut buf = vec![0u8; 16 * 1024];
    let mut discarded = 0u64;
    while discarded < LINGER_MAX_BYTES {
        let by = end.min(Instant::now() + LINGER_IDLE);
        match tokio::time::timeout_at(by, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => discarded += n as u64,
            _ => break,
        }
    }
    discarded
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(self.io()?).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            let n = buf.filled().len() - before;
            if n == 0 && buf.remaining() > 0 {
                self.peer_done = true;
            } else if let Some(s) = &self.state {
                s.read.fetch_add(n as u64, Ordering::AcqRel);
            }
        }
        res
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(self.io()?).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.io()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.io()?).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(self.io()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_connection_is_chosen_and_counted_as_closing() {
        let t = Tracker::new();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let first = t.register(ip);
        let second = t.register(ip);
        let third = t.register(ip);
        // The first is in the middle of a request, the second has sent a
        // byte that is not answered yet: only the third is idle.
        let busy = first.requests().begin();
        second.state().first_byte();
        assert!(t.evict_idle(ip));
        assert!(third.state().closing.load(Ordering::Acquire));
        assert_eq!(t.closing(ip), 1);
        assert!(!t.evict_idle(ip), "nothing else is idle");
        // The request ends: the first is idle again; an upgrade never is.
        drop(busy);
        second.requests().begin().upgraded();
        assert!(t.evict_idle(ip));
        assert!(first.state().closing.load(Ordering::Acquire));
        assert!(!t.evict_idle(ip));
        drop((first, third));
        assert_eq!(t.closing(ip), 0);
        drop(second);
        assert!(t.lock().is_empty());
    }
}
