//! One Redis pub/sub link per instance that comes back (issue 24 item 2):
//! the [`Driver`] of the Socket.IO Redis adapter and the subscription of
//! the chat events ([`super::relay`]) share it.
//!
//! `socketioxide-redis` 0.4.4 (the latest) subscribes its channels once, on
//! a `MultiplexedConnection` that is never renewed: after Redis drops the
//! connection (`CLIENT KILL`, a restart, a subscriber over its output
//! buffer limit) typing and every adapter broadcast stop crossing instances
//! for good while every emit still succeeds. This driver keeps the map of
//! subscribed channels itself and a supervisor task that notices the loss
//! (the connection's `Disconnection` push, or a `PING` unanswered within
//! [`PING_TIMEOUT`]), marks the link down ([`RedisHealth`]: `/health/ready`
//! answers `not_ready` with the reason; one WARN line when it goes down,
//! one INFO line when it is back), reconnects with back-off
//! ([`BACKOFF`]) and subscribes every channel again before it marks the link
//! up with a new epoch ([`LinkState`]). The relay watches the epoch: every
//! socket of this instance may have missed events meanwhile, so each is cut
//! off (the pages reconnect and catch up).
//!
//! A message that finds its channel's queue full is dropped (the adapter's
//! own driver did the same silently); here it counts as a loss too: the
//! epoch moves and the sockets catch up.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use socketioxide_redis::drivers::{
    ChanItem, Driver, MessageStream,
    redis::redis_client::{
        self, AsyncConnectionConfig, FromRedisValue, PushInfo, PushKind, aio::MultiplexedConnection,
    },
};
use tokio::sync::{mpsc, watch};

/// First and longest wait between two reconnection attempts.
pub const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// How often a quiet link is checked with `PING`.
const PING_EVERY: Duration = Duration::from_secs(5);
/// How long a `PING`, a connection or a resubscription may take.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The reason `/health/ready` gives while the link is down.
pub const DOWN_REASON: &str = "redis: pub/sub connection lost, reconnecting";

/// Whether this instance's Redis link is down, shared with `/health/ready`
/// (always up without `REDIS_URL`).
#[derive(Clone, Debug, Default)]
pub struct RedisHealth(Arc<AtomicBool>);

impl RedisHealth {
    /// The reason the instance is not ready, while the link is down.
    pub fn down_reason(&self) -> Option<&'static str> {
        self.0.load(Ordering::Acquire).then_some(DOWN_REASON)
    }

    fn set_down(&self, down: bool) {
        self.0.store(down, Ordering::Release);
    }
}

/// The link as the relay sees it: `up`, and `epoch`, which moves each time
/// the subscriptions were renewed or a message was dropped (then events may
/// have been missed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LinkState {
    /// Subscribed (every channel) on a live connection.
    pub up: bool,
    /// Count of possible losses so far.
    pub epoch: u64,
}

/// Why a publish or subscribe failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Redis refused or the connection broke.
    #[error(transparent)]
    Redis(#[from] redis_client::RedisError),
    /// The link is down (reconnecting).
    #[error("the Redis link is down (reconnecting)")]
    Down,
}

type Handlers = HashMap<String, mpsc::Sender<ChanItem>>;

struct Inner {
    client: redis_client::Client,
    handlers: Mutex<Handlers>,
    /// The live connection, `None` while down.
    conn: Mutex<Option<MultiplexedConnection>>,
    /// Held while the channels are (re)subscribed, so that a channel added
    /// meanwhile is not missed.
    subscribing: tokio::sync::Mutex<()>,
    state: watch::Sender<LinkState>,
    health: RedisHealth,
    /// Called (synchronously, before `/health/ready` turns green again)
    /// whenever events may have been missed: the sockets are cut off.
    on_loss: std::sync::OnceLock<LossHook>,
}

type LossHook = Box<dyn Fn() + Send + Sync>;

/// The shared pub/sub link (cheap to clone); see the module doc.
#[derive(Clone)]
pub struct RedisLink(Arc<Inner>);

impl RedisLink {
    /// Connects to Redis (the caller bounds the time) and starts the
    /// supervisor that renews the connection and the subscriptions.
    ///
    /// # Errors
    /// The first connection's error.
    pub async fn connect(
        client: redis_client::Client,
        health: RedisHealth,
    ) -> Result<Self, LinkError> {
        let inner = Arc::new(Inner {
            client,
            handlers: Mutex::new(HashMap::new()),
            conn: Mutex::new(None),
            subscribing: tokio::sync::Mutex::new(()),
            state: watch::Sender::new(LinkState { up: true, epoch: 0 }),
            health,
            on_loss: std::sync::OnceLock::new(),
        });
        let link = RedisLink(inner);
        let (conn, lost) = link.open().await?;
        *link.lock_conn() = Some(conn);
        tokio::spawn(link.clone().supervise(lost));
        Ok(link)
    }

    /// Sets what to do when events may have been missed (once; later
    /// calls are ignored): called when the link goes down, when it is back
    /// (before `/health/ready` is green again, for the sockets connected
    /// meanwhile) and when a message was dropped.
    pub fn on_loss(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.0.on_loss.set(Box::new(f));
    }

    fn lost(&self) {
        if let Some(f) = self.0.on_loss.get() {
            f();
        }
    }

    /// Watches the link's [`LinkState`].
    pub fn watch(&self) -> watch::Receiver<LinkState> {
        self.0.state.subscribe()
    }

    fn lock_conn(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.0.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_handlers(&self) -> std::sync::MutexGuard<'_, Handlers> {
        self.0.handlers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self) -> Result<MultiplexedConnection, LinkError> {
        self.lock_conn().clone().ok_or(LinkError::Down)
    }

    /// A new connection whose pushes go to the channels' queues; the
    /// receiver hears of its loss.
    async fn open(
        &self,
    ) -> Result<(MultiplexedConnection, mpsc::UnboundedReceiver<()>), LinkError> {
        let (lost_tx, lost) = mpsc::unbounded_channel();
        let inner = Arc::downgrade(&self.0);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(PING_TIMEOUT))
            .set_response_timeout(Some(PING_TIMEOUT))
            .set_push_sender(move |msg: PushInfo| {
                if msg.kind == PushKind::Disconnection {
                    let _ = lost_tx.send(());
                } else if let Some(inner) = inner.upgrade() {
                    deliver(&RedisLink(inner), msg);
                }
                Ok::<(), std::convert::Infallible>(())
            });
        let conn = self
            .0
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok((conn, lost))
    }

    /// Runs for the life of the process: waits for the connection's loss,
    /// then reconnects and resubscribes (see the module doc).
    async fn supervise(self, mut lost: mpsc::UnboundedReceiver<()>) {
        loop {
            // Up: until the connection says it is gone or stops answering.
            loop {
                tokio::select! {
                    _ = lost.recv() => break,
                    () = tokio::time::sleep(PING_EVERY) => {
                        let Ok(mut c) = self.current() else { break };
                        let cmd = redis_client::cmd("PING");
                        let ping = cmd.query_async::<()>(&mut c);
                        if !matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(()))) {
                            break;
                        }
                    }
                }
            }
            *self.lock_conn() = None;
            self.0.health.set_down(true);
            self.lost();
            self.0.state.send_modify(|s| s.up = false);
            tracing::warn!(
                "Redis pub/sub connection lost: reconnecting; broadcasts do not cross instances and /health/ready is not_ready until it is back"
            );
            let since = Instant::now();
            let mut wait = BACKOFF.0;
            lost = loop {
                tokio::time::sleep(wait).await;
                match tokio::time::timeout(PING_TIMEOUT * 2, self.resubscribe()).await {
                    Ok(Ok(l)) => break l,
                    Ok(Err(e)) => tracing::debug!(error = %e, "reconnecting to Redis failed"),
                    Err(_) => tracing::debug!("reconnecting to Redis timed out"),
                }
                wait = (wait * 2).min(BACKOFF.1);
            };
            self.lost();
            self.0.health.set_down(false);
            self.0.state.send_modify(|s| {
                s.up = true;
                s.epoch += 1;
            });
            tracing::info!(
                down_ms = since.elapsed().as_millis() as u64,
                "Redis pub/sub connection back, every channel subscribed again (this instance's sockets catch up)"
            );
        }
    }

    /// A new connection with every known channel subscribed, installed as
    /// the current one.
    async fn resubscribe(&self) -> Result<mpsc::UnboundedReceiver<()>, LinkError> {
        let _guard = self.0.subscribing.lock().await;
        let (mut conn, lost) = self.open().await?;
        let channels: Vec<String> = self.lock_handlers().keys().cloned().collect();
        if !channels.is_empty() {
            conn.subscribe(&channels).await?;
        }
        *self.lock_conn() = Some(conn);
        Ok(lost)
    }

    /// Subscribes to `chan` with a queue of `size` messages.
    ///
    /// # Errors
    /// Redis refused the subscription on the live connection. While the
    /// link is down the channel is recorded and subscribed on reconnection.
    pub async fn subscribe_channel(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, LinkError> {
        let (tx, rx) = mpsc::channel(size.max(1));
        self.lock_handlers().insert(chan.clone(), tx);
        let _guard = self.0.subscribing.lock().await;
        if let Ok(mut c) = self.current() {
            c.subscribe(chan.as_str()).await?;
        }
        Ok(MessageStream::new(rx))
    }
}

static DROPPED: crate::chat::overload::Episode = crate::chat::overload::Episode::new(
    "Redis messages dropped: a channel's queue was full (this instance's sockets catch up)",
);

/// Hands a pushed message to its channel's queue.
fn deliver(link: &RedisLink, msg: PushInfo) {
    if !matches!(msg.kind, PushKind::Message | PushKind::SMessage) || msg.data.len() < 2 {
        return;
    }
    let mut data = msg.data.into_iter();
    let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(payload)) = (
        String::from_redis_value(chan),
        Vec::<u8>::from_redis_value(payload),
    ) else {
        tracing::debug!("malformed Redis push message");
        return;
    };
    let tx = link.lock_handlers().get(&chan).cloned();
    if let Some(tx) = tx
        && let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send((chan, payload))
    {
        DROPPED.hit();
        link.lost();
        link.0.state.send_modify(|s| s.epoch += 1);
    }
}

impl Driver for RedisLink {
    type Error = LinkError;

    /// Publishes `val`; while the link is down, or when the publish fails,
    /// the message is dropped and `Ok` returned, so that the adapter still
    /// applies the broadcast to this instance's own sockets (it does so only
    /// after a successful publish). What the adapter carries is ephemeral
    /// (typing, `user_online`/`user_offline`); the chat's own events, which
    /// must not be lost, are published by [`super::relay::publish`], which
    /// retries until Redis takes them.
    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let Ok(mut c) = self.current() else {
            return Ok(());
        };
        let mut cmd = redis_client::cmd("PUBLISH");
        if let Err(e) = cmd.arg(chan).arg(val).query_async::<()>(&mut c).await {
            tracing::debug!(error = %e, "an adapter broadcast was not published");
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        self.subscribe_channel(chan, size).await
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.lock_handlers().remove(&chan);
        if let Ok(mut c) = self.current() {
            c.unsubscribe(chan.as_str()).await?;
        }
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut c = self.current()?;
        let (_, count): (String, u16) = redis_client::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut c)
            .await?;
        Ok(count)
    }
}
