//! Socket.IO (socketioxide, protocol v5, namespace `/`): the handshake
//! (cookies + `auth.csrf_token`, `Origin`), rooms, the client → server
//! events of `shared/DESIGN.md` § Socket.IO contract, and the broadcaster
//! that turns the chat core's events into server → client events.
//!
//! Rooms: `admins` (every admin socket), `visitors` (every visitor socket),
//! `thread:<id>` (the visitor's sockets and admins who joined it).
//!
//! Adapter: in memory (one instance), or `socketioxide-redis` when
//! `REDIS_URL` is set, so that room broadcasts reach the sockets of every
//! instance. Handlers are generic over the adapter. Presence
//! ([`presence::Presence`]) stays per instance; the agents' presence per
//! thread ([`agent_presence`], admins only) is shared over the relay.
//!
//! Lifetimes (issue #8 items 2, 3): [`gate`] counts each Engine.IO session
//! from its first request; a session must CONNECT to the namespace within
//! `SOCKET_CONNECT_TIMEOUT_SECS`; a socket's cap slot and presence live in
//! its extensions and are released when socketioxide drops the socket, so
//! a socket that dies before its CONNECT completes (no disconnect handler
//! runs then) leaks nothing. The admin is named to visitors by
//! `ADMIN_DISPLAY_NAME`, never by the login name.

pub mod admin_sessions;
mod agent_events;
pub mod agent_presence;
mod events;
mod extract;
mod fanout;
pub mod gate;
mod handshake;
pub mod presence;
mod receipts;
pub mod redis_link;
mod relay;
mod thread_events;

use std::sync::Arc;

use serde::Serialize;
use socketioxide::{
    SocketIo, SocketIoBuilder,
    adapter::{Adapter, Emitter},
    extract::{Extension, SocketRef, State},
    handler::ConnectHandler,
};
use socketioxide_redis::{
    CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr, drivers::redis::redis_client,
};

pub use redis_link::RedisHealth;

use crate::{
    AppState,
    auth::AdminSession,
    domain::{ThreadId, rfc3339_string},
};

pub use crate::domain::Role;

pub use agent_events::{AGENT_PRESENCE, AGENT_PRESENCE_STATE};

/// Room of every admin socket.
pub const ADMINS: &str = "admins";
/// Room of every visitor socket.
pub const VISITORS: &str = "visitors";

/// The room of a thread.
pub fn thread_room(thread_id: &str) -> String {
    format!("thread:{thread_id}")
}

/// What the handshake established, kept in the socket's extensions; it
/// holds the socket's cap slot and presence, both released when the socket
/// (and so this) is dropped.
#[derive(Debug)]
pub struct SocketSession {
    /// Visitor or admin.
    pub role: Role,
    /// The browser's visitor id (= own thread id).
    pub visitor_id: ThreadId,
    /// Who acts ([`crate::auth::Actor::for_socket`]): what this socket may reach.
    pub actor: crate::auth::Actor,
    /// The admin session, for admin sockets.
    pub admin: Option<AdminSession>,
    /// The client's IP (socket caps and rate limits).
    pub ip: std::net::IpAddr,
    /// First socket of this visitor / of the admin (announce presence).
    pub first: bool,
    /// `auth.last_message_id`: replay what came after it.
    pub last_message_id: Option<crate::domain::MessageId>,
    /// The `MAX_SOCKETS_PER_IP` slot.
    _slot: crate::limits::sockets::SocketSlot,
    /// This socket's part of [`presence::Presence`].
    _presence: presence::PresenceGuard,
    /// An admin socket's entry in [`agent_presence`] (the thread it views).
    _viewer: Option<agent_presence::ViewerGuard>,
    /// An admin socket keeps its agent active (round robin; issue 22 item 4).
    _active: Option<crate::chat::assignment::ActiveGuard>,
}

/// `{user_id, username, last_seen}` of `user_online` / `user_offline`.
#[derive(Serialize)]
pub struct PresencePayload {
    /// Thread id for a visitor, `"admin"` for the admin.
    pub user_id: String,
    /// Display name.
    pub username: String,
    /// RFC 3339 UTC, or `null` when unknown.
    pub last_seen: Option<String>,
}

/// Why the Socket.IO layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// `REDIS_URL` is set but unusable, or Redis refused (the Redis
    /// client's or the adapter's error, kept as the source).
    #[error("REDIS_URL: cannot use the Socket.IO Redis adapter: {0}")]
    Redis(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Redis did not answer within 10 s; the step that waited.
    #[error("REDIS_URL: cannot use the Socket.IO Redis adapter: timed out {0}")]
    Timeout(&'static str),
}

/// The Redis adapter over this instance's [`redis_link::RedisLink`] (which
/// comes back after Redis did).
pub type RedisAdapter = CustomRedisAdapter<Emitter, redis_link::RedisLink>;

/// The Socket.IO handle of either adapter, kept to close every socket at
/// shutdown.
#[derive(Clone)]
pub enum Io {
    /// One instance: rooms and broadcasts in memory.
    Local(SocketIo),
    /// Several instances: broadcasts go through Redis pub/sub.
    Redis(SocketIo<RedisAdapter>),
}

impl Io {
    /// Disconnects every socket.
    pub async fn close(&self) {
        match self {
            Io::Local(io) => io.close().await,
            Io::Redis(io) => io.close().await,
        }
    }
}

/// How long connecting to Redis at start-up may take.
const REDIS_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Bytes of the per-socket WebSocket read buffer (see `builder`).
pub const WS_READ_BUFFER: usize = 1024;

/// Largest Engine.IO polling body, bytes (socketioxide answers 413 beyond).
pub const MAX_PAYLOAD: u64 = 100_000;

fn builder(state: &AppState) -> SocketIoBuilder {
    SocketIo::builder()
        .with_state(state.clone())
        .connect_timeout(state.config.connections.socket_connect_timeout)
        .ping_interval(state.config.connections.ping_interval)
        .ping_timeout(state.config.connections.ping_timeout)
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(1 << 20)
        .ws_max_frame_size(1 << 20)
        // The WebSocket read buffer each socket keeps for its whole life
        // (engineioxide's default 4 KiB, zero-filled on every read): one
        // read takes up to this many bytes; a larger frame grows the buffer
        // to its length. Chat frames are a few hundred bytes, so 1 KiB
        // still reads several per syscall and saves 3 KiB per idle socket.
        .ws_read_buffer_size(WS_READ_BUFFER)
        // Packets queued per socket before an emit fails (then the socket
        // is cut off, see `fanout`): admin sockets get every visitor's
        // messages, so leave room for bursts. The queue grows in blocks
        // of 32 as it fills; an idle socket costs no more.
        .max_buffer_size(1024)
}

/// Builds the Socket.IO layer with the app state (the in-memory adapter,
/// or the Redis adapter when `REDIS_URL` is set), registers the namespace,
/// starts the broadcaster and the presence announcer and wraps `router` in
/// the layer, behind the Engine.IO session [`gate`]. Returns the router and
/// the handle (to close every socket at shutdown).
///
/// With Redis, broadcasts to rooms (`io.to(room)`, `s.to(room)`) reach the
/// sockets of every instance sharing the Redis server and channel prefix
/// (`REDIS_PREFIX`, default `sohbet`). Presence counts stay per instance.
///
/// # Errors
/// [`RealtimeError::Redis`] or [`RealtimeError::Timeout`] when `REDIS_URL`
/// is set and Redis cannot be used.
pub async fn attach(
    router: axum::Router,
    state: AppState,
) -> Result<(axum::Router, Io), RealtimeError> {
    let Some(url) = state.config.redis_url.clone() else {
        let (layer, io) = builder(&state).build_layer();
        // The local adapter initialises synchronously (`InitRes = ()`).
        io.ns("/", on_connect.with(handshake::authenticate));
        tokio::spawn(fanout::run(
            io.clone(),
            state.chat.names().clone(),
            state.chat.subscribe(),
        ));
        let router = start(router, layer, &io, &state, None);
        return Ok((router, Io::Local(io)));
    };
    // The adapter's driver needs RESP3 push messages.
    let url = if url.contains("protocol=") {
        url
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    };
    let client = redis_client::Client::open(url).map_err(|e| RealtimeError::Redis(e.into()))?;
    let config = RedisAdapterConfig::new().with_prefix(state.config.redis_prefix.clone());
    let link = tokio::time::timeout(
        REDIS_CONNECT_TIMEOUT,
        redis_link::RedisLink::connect(client.clone(), state.redis.clone()),
    )
    .await
    .map_err(|_| RealtimeError::Timeout("connecting"))?
    .map_err(|e| RealtimeError::Redis(e.into()))?;
    let ctr = RedisAdapterCtr::new_with_driver(link.clone(), config);
    let (layer, io) = builder(&state)
        .with_adapter::<RedisAdapter>(ctr)
        .build_layer();
    tokio::time::timeout(
        REDIS_CONNECT_TIMEOUT,
        io.ns("/", on_connect.with(handshake::authenticate)),
    )
    .await
    .map_err(|_| RealtimeError::Timeout("subscribing"))?
    .map_err(|e| RealtimeError::Redis(e.into()))?;
    // Whenever this instance may have missed broadcasts, every socket of
    // it is cut off (the pages reconnect and catch up over HTTP).
    let cut = io.clone();
    link.on_loss(move || fanout::cut_off_all(&cut));
    let channel = relay::channel(&state.config.redis_prefix);
    let presence_channel = relay::presence_channel(&state.config.redis_prefix);
    tokio::time::timeout(
        REDIS_CONNECT_TIMEOUT,
        relay::subscribe(
            io.clone(),
            link,
            (channel.clone(), presence_channel.clone()),
            state.chat.clone(),
            state.presence.agents().clone(),
        ),
    )
    .await
    .map_err(|_| RealtimeError::Timeout("subscribing to chat events"))?
    .map_err(|e| RealtimeError::Redis(e.into()))?;
    let link = relay::PresenceLink::new(client.clone(), presence_channel);
    tokio::spawn(relay::publish(
        client,
        channel,
        state.chat.names().clone(),
        state.chat.subscribe(),
    ));
    tracing::info!("Socket.IO Redis adapter ready");
    let router = start(router, layer, &io, &state, Some(link));
    Ok((router, Io::Redis(io)))
}

/// What both adapters need once the namespace is registered and the chat
/// events are wired ([`fanout`] directly, or through [`relay`]): the
/// admin-session sweep, the presence announcer, the agent presence emitter
/// (sharing over `link` with Redis); then `router` wrapped in the Socket.IO
/// `layer`, behind the Engine.IO session [`gate`].
fn start<A: Adapter>(
    router: axum::Router,
    layer: socketioxide::layer::SocketIoLayer<A>,
    io: &SocketIo<A>,
    state: &AppState,
    link: Option<relay::PresenceLink>,
) -> axum::Router {
    admin_sessions::spawn(io, state);
    announce_departures(io, state);
    agent_events::spawn(io, state, link);
    router
        .layer(layer)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::engine_gate,
        ))
}

/// After the handshake (rooms, handlers and presence counts were set by
/// [`handshake::authenticate`] before the CONNECT packet, so no early event
/// is lost): announces presence and replays what a reconnecting visitor
/// missed (`auth.last_message_id`).
async fn on_connect<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
) {
    let now = Some(rfc3339_string(&chrono::Utc::now()));
    match sess.role {
        Role::Visitor => {
            if sess.first {
                let p = PresencePayload {
                    user_id: sess.visitor_id.to_string(),
                    username: crate::chat::display_name_for(&sess.visitor_id),
                    last_seen: now.clone(),
                };
                let _ = s.to(ADMINS).emit("user_online", &p).await;
            }
            let online = state.presence.admin_online();
            let admin = PresencePayload {
                user_id: "admin".into(),
                username: state.config.admin_display_name.clone(),
                last_seen: if online {
                    now
                } else {
                    state
                        .presence
                        .admin_last_seen()
                        .as_ref()
                        .map(rfc3339_string)
                },
            };
            let _ = s.emit(
                if online {
                    "user_online"
                } else {
                    "user_offline"
                },
                &admin,
            );
            if let Some(last) = sess.last_message_id {
                replay(&s, &state, &sess.visitor_id, last).await;
            }
        }
        Role::Admin => {
            agent_events::send_state(&s, &state, &sess);
            if sess.first {
                let p = PresencePayload {
                    user_id: "admin".into(),
                    username: state.config.admin_display_name.clone(),
                    last_seen: now,
                };
                let _ = s.to(VISITORS).emit("user_online", &p).await;
            }
        }
    }
}

/// Emits, in order, every message of `thread_id` after id `last` as its
/// usual event (`message_from_visitor` / `message_to_visitor`) to the
/// thread's reconnecting visitor, then the messages up to `last` edited
/// since (issue 23 item 6) as `message_updated`: never an internal note.
async fn replay<A: Adapter>(
    s: &SocketRef<A>,
    state: &AppState,
    thread_id: &ThreadId,
    last: crate::domain::MessageId,
) {
    let visitor = crate::domain::Role::Visitor;
    let failed = |e: crate::chat::ChatError| {
        let _ = s.emit(
            "message_error",
            &crate::http::error::AppError::from(e).socket_event(),
        );
    };
    let mut after = last;
    loop {
        let page = match state
            .chat
            .page(
                visitor,
                thread_id,
                Some(crate::chat::PAGE_MAX),
                None,
                Some(after),
            )
            .await
        {
            Ok(p) => p,
            Err(e) => return failed(e),
        };
        for m in &page {
            if !fanout::emit_waiting(s, event_name(m), m).await {
                return;
            }
            after = m.id;
        }
        if (page.len() as i64) < crate::chat::PAGE_MAX {
            break;
        }
    }
    match state
        .chat
        .edited_since(visitor, thread_id, last, None)
        .await
    {
        Ok(edited) => {
            for m in &edited {
                if !fanout::emit_waiting(s, fanout::MESSAGE_UPDATED, m).await {
                    return;
                }
            }
        }
        Err(e) => failed(e),
    }
}

fn event_name(m: &crate::domain::Message) -> &'static str {
    if m.sender_type == crate::domain::Role::Admin {
        "message_to_visitor"
    } else {
        "message_from_visitor"
    }
}

/// Starts the task that announces [`presence::Departure`]s (queued when a
/// socket's presence guard drops): `user_offline` to the admins for a
/// visitor (and its last-seen time stored), to the visitors for the admin —
/// unless a new socket of the same person came up meanwhile.
fn announce_departures<A: Adapter>(io: &SocketIo<A>, state: &AppState) {
    let Some(mut rx) = state.presence.take_departures() else {
        return;
    };
    let io = io.clone();
    let state = state.clone();
    tokio::spawn(async move {
        while let Some(who) = rx.recv().await {
            let now = chrono::Utc::now();
            let last_seen = Some(rfc3339_string(&now));
            match who {
                presence::Departure::Visitor(id) => {
                    if state.presence.visitor_online(&id) {
                        continue;
                    }
                    let p = PresencePayload {
                        user_id: id.to_string(),
                        username: crate::chat::display_name_for(&id),
                        last_seen,
                    };
                    let _ = io.to(ADMINS).emit("user_offline", &p).await;
                    if let Err(e) = state.chat.visitor_seen(&id, now).await {
                        tracing::warn!(error = %e, "could not record visitor last seen");
                    }
                }
                presence::Departure::Admin => {
                    if state.presence.admin_online() {
                        continue;
                    }
                    let p = PresencePayload {
                        user_id: "admin".into(),
                        username: state.config.admin_display_name.clone(),
                        last_seen,
                    };
                    let _ = io.to(VISITORS).emit("user_offline", &p).await;
                }
            }
        }
    });
}
