//! Chat events between instances (Redis mode, issue #9 item 3): every
//! instance must emit each stored message to its own sockets one by one, so
//! that a socket whose buffer is full is cut off instead of silently
//! skipped ([`super::fanout`]). socketioxide's Redis adapter broadcasts
//! through Redis but applies a broadcast on the other instances without
//! saying which socket missed it; so the core's events travel on a Redis
//! channel of their own (`<REDIS_PREFIX>#chat-events`, JSON
//! [`Broadcast`]s) and each instance's subscriber emits them locally.
//!
//! Nothing acknowledged is silently lost:
//! - publishing: the events are published in order (pipelined, up to
//!   [`BATCH`] at a time); when Redis refuses, the batch is retried with a
//!   new connection until it is sent, and meanwhile the core's bounded queue
//!   fills and new sends are refused (`server_busy`);
//! - subscribing: Redis pub/sub is at most once, so when the subscription
//!   ends (Redis restarted, or it dropped a subscriber that fell behind its
//!   output buffer limit) this instance may have missed events: every one
//!   of its sockets is cut off (the pages reconnect and catch up over
//!   HTTP), and again once [`super::redis_link`] has subscribed every
//!   channel (this one and the adapter's) anew.
//!
//! Agent presence (issue 22 item 5) travels on a second channel,
//! `<REDIS_PREFIX>#agent-presence` ([`PresenceSync`] messages, best effort: a lost
//! one is healed by the next heartbeat, and entries not refreshed expire,
//! see [`super::agent_presence`]); the same subscription reads both.
//!
//! The adapter still carries everything else (typing, presence, `s.to()`).

use std::time::Duration;

use socketioxide::{SocketIo, adapter::Adapter};
use socketioxide_redis::drivers::redis::redis_client::{self, AsyncCommands, aio};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::{
    agent_presence::{AgentPresence, PresenceSync},
    fanout::{self, Broadcast},
    redis_link::{LinkError, LinkState, RedisLink},
};
use crate::chat::{Chat, ChatEvent, overload::Episode, status::ThreadUpdate};

/// Most events published in one pipeline.
const BATCH: usize = 256;
/// First and longest wait before retrying Redis.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

static PUBLISH_FAILED: Episode =
    Episode::new("Redis refused chat events: retrying (new sends wait, then are refused)");

/// The channel name for `prefix`.
pub(super) fn channel(prefix: &str) -> String {
    format!("{prefix}#chat-events")
}

/// The agent presence channel's name for `prefix`.
pub(super) fn presence_channel(prefix: &str) -> String {
    format!("{prefix}#agent-presence")
}

/// How long one agent presence publish may take before it is given up.
const PRESENCE_SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Publishes agent presence messages on [`presence_channel`]; best effort.
pub(super) struct PresenceLink {
    client: redis_client::Client,
    channel: String,
    conn: Option<aio::MultiplexedConnection>,
}

impl PresenceLink {
    /// A link over `client` to `channel`.
    pub(super) fn new(client: redis_client::Client, channel: String) -> Self {
        Self {
            client,
            channel,
            conn: None,
        }
    }

    /// Publishes `msgs` in order (pipelined); on failure they are dropped
    /// (the heartbeat sends the entries again) and the connection renewed.
    #[tracing::instrument(skip_all, fields(n = msgs.len()))]
    pub(super) async fn send(&mut self, msgs: &[PresenceSync]) {
        let payloads: Vec<String> = msgs
            .iter()
            .filter_map(|m| serde_json::to_string(m).ok())
            .collect();
        if payloads.is_empty() {
            return;
        }
        let sent = tokio::time::timeout(
            PRESENCE_SEND_TIMEOUT,
            send(&self.client, &mut self.conn, &self.channel, &payloads),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            self.conn = None;
            tracing::debug!("publishing agent presence failed (the heartbeat repeats it)");
        }
    }
}

/// Publishes every event of `rx` on `channel`, in order; runs until the
/// core stops.
pub(super) async fn publish(
    client: redis_client::Client,
    channel: String,
    names: crate::domain::SenderNames,
    mut rx: mpsc::Receiver<ChatEvent>,
) {
    let mut conn: Option<aio::MultiplexedConnection> = None;
    let mut events = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut events, BATCH).await > 0 {
        let payloads: Vec<String> = events
            .drain(..)
            .flat_map(|ev| Broadcast::of(&ev, &names))
            .filter_map(|b| serde_json::to_string(&b).ok())
            .collect();
        if payloads.is_empty() {
            // Only events that are not broadcast (`OutboxDue`).
            continue;
        }
        let mut wait = BACKOFF.0;
        loop {
            match send(&client, &mut conn, &channel, &payloads).await {
                Ok(()) => break,
                Err(e) => {
                    conn = None;
                    PUBLISH_FAILED.hit();
                    tracing::debug!(error = %e, "publishing chat events failed");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(BACKOFF.1);
                }
            }
        }
    }
}

async fn send(
    client: &redis_client::Client,
    conn: &mut Option<aio::MultiplexedConnection>,
    channel: &str,
    payloads: &[String],
) -> redis_client::RedisResult<()> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(client.get_multiplexed_async_connection().await?),
    };
    if let [one] = payloads {
        return c.publish(channel, one).await;
    }
    let mut pipe = redis_client::pipe();
    for p in payloads {
        pipe.publish(channel, p).ignore();
    }
    pipe.query_async(c).await
}

/// Queue of chat events received from Redis and not yet emitted (a
/// message that finds it full counts as a loss: every socket catches up).
const EVENTS_QUEUE: usize = 8192;
/// Queue of agent presence messages received from Redis.
const PRESENCE_QUEUE: usize = 1024;

/// Subscribes to `channel` and `presence` on `link` (before returning, so
/// that nothing published after start-up is missed) and then emits every
/// event received to this instance's sockets. When the link is back or
/// dropped a message ([`LinkState`]'s epoch; the sockets were cut off by
/// the link's loss hook, [`RedisLink::on_loss`]) the blocked threads are
/// read again from the database and agent presence says hello (the others
/// send their entries). A `thread_updated` also updates this instance's
/// copy of the blocked threads ([`Chat::apply_update`]), a
/// `thread_erased` drops the thread from it ([`Chat::apply_erased`]).
/// Agent presence messages go to `agents`.
///
/// # Errors
/// The first subscription's error.
pub(super) async fn subscribe<A: Adapter>(
    io: SocketIo<A>,
    link: RedisLink,
    (channel, presence): (String, String),
    chat: Chat,
    agents: AgentPresence,
) -> Result<(), LinkError> {
    let events = link.subscribe_channel(channel, EVENTS_QUEUE).await?;
    let presence_msgs = link
        .subscribe_channel(presence.clone(), PRESENCE_QUEUE)
        .await?;
    let mut state = link.watch();
    tokio::spawn(async move {
        let mut seen: LinkState = *state.borrow_and_update();
        let mut messages = events.merge(presence_msgs);
        loop {
            tokio::select! {
                biased;
                msg = messages.next() => {
                    let Some((chan, payload)) = msg else { return };
                    if chan == presence {
                        match serde_json::from_slice::<PresenceSync>(&payload) {
                            Ok(m) => agents.apply(m),
                            Err(e) => tracing::warn!(error = %e, "malformed agent presence on Redis"),
                        }
                        continue;
                    }
                    match serde_json::from_slice::<Broadcast>(&payload) {
                        Ok(b) => {
                            if b.event == fanout::THREAD_UPDATED
                                && let Ok(u) = serde_json::from_str::<ThreadUpdate>(b.data.get())
                            {
                                chat.apply_update(&u);
                            }
                            // Erased elsewhere: drop what this instance holds for it.
                            if b.event == fanout::THREAD_ERASED
                                && let Ok(e) = serde_json::from_str::<Erased>(b.data.get())
                            {
                                chat.apply_erased(&e.thread_id);
                            }
                            fanout::emit_local(&io, &b);
                        }
                        Err(e) => tracing::warn!(error = %e, "malformed chat event on Redis"),
                    }
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // The sockets were cut off by the link's loss hook
                    // (`attach`); what else a loss means here:
                    let now = *state.borrow_and_update();
                    if now.up && now.epoch != seen.epoch {
                        agents.say_hello();
                        if let Err(e) = chat.load_blocks().await {
                            tracing::warn!(error = %e, "cannot reload the blocked threads");
                        }
                    }
                    seen = now;
                }
            }
        }
    });
    Ok(())
}

/// The payload of `thread_erased` (issue 27).
#[derive(serde::Deserialize)]
struct Erased {
    thread_id: crate::domain::ThreadId,
}
