//! The broadcaster: turns the chat core's events into Socket.IO events —
//! a stored visitor message → `message_from_visitor`, an admin message →
//! `message_to_visitor` (both to `admins` and the thread room; an internal
//! note to `admins` only, [`crate::domain::Message::visible_to`]),
//! `thread_created` → admins, `messages_cleared` → thread room and admins,
//! an edited answer → `message_updated` (as a stored message's event),
//! `canned_updated` → admins.
//! `thread_updated` (status, block) → admins. An erased thread:
//! `thread_erased` → admins, `messages_cleared` → its visitor's sockets.
//! While agents' names are hidden from visitors (`AGENT_NAMES_VISIBLE=false`)
//! an agent's answer goes to the admins as stored and, renamed
//! ([`crate::domain::SenderNames::show`]), to the thread room's other
//! sockets (`except` admins).
//!
//! Nothing acknowledged is silently skipped (issue #9): the core's queue to
//! this task never drops an event ([`crate::chat::events`]), and a socket
//! whose send buffer is full (a slow consumer; socketioxide answers
//! `InternalChannelFull` and drops the packet) is cut off: it gets no further
//! event and is disconnected as soon as its buffer has room for the
//! disconnect packet (or by the Engine.IO heartbeat). The shipped pages then
//! reconnect and fetch what they missed (`GET …/messages?after=`), so the
//! socket never shows a gap. Cut-offs are logged as one line per episode.
//!
//! Events are emitted socket by socket, so that the one socket that fell
//! behind is the one cut off; the payload is serialised once per event.
//! One instance (in-memory adapter): straight from the core's queue. Several
//! instances (Redis): the event goes through [`super::relay`] to every
//! instance, and each emits to its own sockets the same way.

use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use socketioxide::{SendError, SocketError, SocketIo, adapter::Adapter, extract::SocketRef};
use tokio::sync::mpsc;

use super::{ADMINS, event_name, thread_room};
use crate::chat::{ChatEvent, Role, overload::Episode};
use crate::domain::SenderNames;

static CUT_OFF: Episode =
    Episode::new("sockets cut off: their send buffer was full (they reconnect and catch up)");
static RESYNC: Episode = Episode::new(
    "sockets cut off: this instance's Redis subscription was lost or dropped events (they reconnect and catch up)",
);

/// The event of a thread's status or block change (issue 13), to admins.
pub(super) const THREAD_UPDATED: &str = "thread_updated";

/// The event of an erased thread (issue 27 item 3), to admins and to the
/// thread's room: `{thread_id}`. The visitor's page empties its
/// conversation, the panel drops the thread from its list.
pub(super) const THREAD_ERASED: &str = "thread_erased";

/// Marks a socket that missed an event: it is skipped until it is gone.
#[derive(Clone, Copy, Debug)]
struct CutOff;

/// How often a cut-off socket's disconnect is retried while its buffer is full.
const RETRY_EVERY: Duration = Duration::from_millis(100);
/// Retries before giving up on the disconnect packet (the heartbeat then
/// closes a client that does not read).
const RETRIES: u32 = 300;

/// One Socket.IO broadcast of a chat event: the rooms, the event name and
/// the payload, serialised once (every socket gets the same bytes). In
/// Redis mode this is also what travels between instances
/// ([`super::relay`]): `{"rooms": [..], "event": "..", "data": {..}}`.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(super) struct Broadcast {
    /// Target rooms (`admins`, `thread:<id>`).
    pub rooms: Vec<String>,
    /// Sockets in these rooms are left out (an admin socket that joined a
    /// thread room gets the admins' copy only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Socket.IO event name.
    pub event: String,
    /// The event's JSON payload.
    pub data: Box<RawValue>,
}

/// The event of an edited message (issue 23 item 6): the Message as now
/// stored, with `edited_at`, to admins and the thread's room.
pub(super) const MESSAGE_UPDATED: &str = "message_updated";

/// The message of a message event and its Socket.IO event name: a stored
/// message's `message_from_visitor` / `message_to_visitor`, an edited
/// one's [`MESSAGE_UPDATED`].
fn message_of(ev: &ChatEvent) -> Option<(&crate::domain::Message, &'static str)> {
    match ev {
        ChatEvent::MessageStored(m) => Some((m, event_name(m))),
        ChatEvent::MessageUpdated(m) => Some((m, MESSAGE_UPDATED)),
        _ => None,
    }
}

impl Broadcast {
    /// The broadcasts of `ev` (none for an event sockets do not get,
    /// [`ChatEvent::OutboxDue`], or if the payload cannot be serialised,
    /// which the core's types rule out): one, or two for an agent's answer
    /// whose name visitors must not see (`names`).
    pub(super) fn of(ev: &ChatEvent, names: &SenderNames) -> Vec<Self> {
        // An erased thread: the admins hear `thread_erased`; its visitor's
        // sockets the contract's `messages_cleared` (the page empties
        // itself as for a clear, and needs no code of its own).
        if let ChatEvent::Erased { thread_id } = ev {
            let data =
                || serde_json::value::to_raw_value(&serde_json::json!({ "thread_id": thread_id }));
            return [
                Self::one(vec![ADMINS.to_owned()], vec![], THREAD_ERASED, data()),
                Self::one(
                    vec![thread_room(thread_id)],
                    vec![ADMINS.to_owned()],
                    "messages_cleared",
                    data(),
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
        }
        if let Some((m, event)) = message_of(ev)
            && m.visible_to(Role::Visitor)
            && names.differs_for_visitor(m)
        {
            let mut shown = m.clone();
            names.show(&mut shown, Role::Visitor);
            let room = thread_room(m.thread_id.as_str());
            return [
                Self::one(
                    vec![ADMINS.to_owned()],
                    vec![],
                    event,
                    serde_json::value::to_raw_value(m),
                ),
                Self::one(
                    vec![room],
                    vec![ADMINS.to_owned()],
                    event,
                    serde_json::value::to_raw_value(&shown),
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
        }
        Self::of_one(ev).into_iter().collect()
    }

    fn of_one(ev: &ChatEvent) -> Option<Self> {
        if let Some((m, event)) = message_of(ev) {
            // An internal note goes to the agents only: the thread's room
            // holds its visitor's sockets.
            let rooms = if m.visible_to(Role::Visitor) {
                vec![ADMINS.to_owned(), thread_room(m.thread_id.as_str())]
            } else {
                vec![ADMINS.to_owned()]
            };
            return Self::one(rooms, vec![], event, serde_json::value::to_raw_value(m));
        }
        let (rooms, event, data) = match ev {
            // Handled above.
            ChatEvent::MessageStored(_) | ChatEvent::MessageUpdated(_) => return None,
            ChatEvent::ThreadCreated(t) => (
                vec![ADMINS.to_owned()],
                "thread_created",
                serde_json::value::to_raw_value(t),
            ),
            ChatEvent::Cleared { thread_id } => (
                vec![ADMINS.to_owned(), thread_room(thread_id)],
                "messages_cleared",
                serde_json::value::to_raw_value(&serde_json::json!({ "thread_id": thread_id })),
            ),
            // Handled in `of` (two broadcasts).
            ChatEvent::Erased { .. } => return None,
            ChatEvent::CannedUpdated(c) => (
                vec![ADMINS.to_owned()],
                "canned_updated",
                serde_json::value::to_raw_value(c),
            ),
            ChatEvent::ThreadUpdated(u) => (
                vec![ADMINS.to_owned()],
                THREAD_UPDATED,
                serde_json::value::to_raw_value(u),
            ),
            // For the Telegram outbox worker only.
            ChatEvent::OutboxDue => return None,
        };
        Self::one(rooms, vec![], event, data)
    }

    fn one(
        rooms: Vec<String>,
        except: Vec<String>,
        event: &str,
        data: serde_json::Result<Box<RawValue>>,
    ) -> Option<Self> {
        match data {
            Ok(data) => Some(Self {
                rooms,
                except,
                event: event.to_owned(),
                data,
            }),
            Err(e) => {
                tracing::warn!(error = %e, event, "cannot serialise an event");
                None
            }
        }
    }
}

/// Runs until the core stops: emits every event of `rx` to this
/// instance's sockets (the in-memory adapter: this instance has them all).
pub(super) async fn run<A: Adapter>(
    io: SocketIo<A>,
    names: SenderNames,
    mut rx: mpsc::Receiver<ChatEvent>,
) {
    while let Some(ev) = rx.recv().await {
        for b in Broadcast::of(&ev, &names) {
            emit_local(&io, &b);
        }
    }
}

/// Emits `b` socket by socket to the sockets of this instance in its rooms;
/// a socket whose buffer is full is cut off (see the module doc).
pub(super) fn emit_local<A: Adapter>(io: &SocketIo<A>, b: &Broadcast) {
    for s in io.to(b.rooms.clone()).except(b.except.clone()).sockets() {
        if s.extensions.get::<CutOff>().is_some() {
            continue;
        }
        match s.emit(b.event.as_str(), &b.data) {
            Ok(()) | Err(SendError::Socket(SocketError::Closed)) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => cut_off(s),
            Err(e) => tracing::warn!(error = %e, event = %b.event, "cannot serialise an event"),
        }
    }
}

/// Cuts off every socket of this instance: used when this instance may
/// have missed broadcasts (its Redis subscription was lost).
pub(super) fn cut_off_all<A: Adapter>(io: &SocketIo<A>) {
    for s in io.sockets() {
        if s.extensions.get::<CutOff>().is_none() {
            RESYNC.hit();
            s.extensions.insert(CutOff);
            disconnect_soon(s);
        }
    }
}

/// `s` missed an event (its buffer was full): skip it from now on and
/// disconnect it.
fn cut_off<A: Adapter>(s: SocketRef<A>) {
    s.extensions.insert(CutOff);
    CUT_OFF.hit();
    disconnect_soon(s);
}

/// Takes `s` out of every room at once (it gets no further broadcast) and
/// disconnects it: now, or, while its send buffer is full (socketioxide then
/// refuses the DISCONNECT packet and leaves the socket open), as soon as the
/// buffer has room, retrying every [`RETRY_EVERY`]; a client that never
/// reads is left to the Engine.IO heartbeat.
pub(super) fn disconnect_soon<A: Adapter>(s: SocketRef<A>) {
    s.leave_all();
    if !matches!(
        s.clone().disconnect(),
        Err(SocketError::InternalChannelFull)
    ) {
        return;
    }
    tokio::spawn(async move {
        for _ in 0..RETRIES {
            tokio::time::sleep(RETRY_EVERY).await;
            match s.clone().disconnect() {
                Err(SocketError::InternalChannelFull) => {}
                Ok(()) | Err(SocketError::Closed) => return,
            }
        }
        tracing::debug!("socket left to the Engine.IO heartbeat: its buffer stayed full");
    });
}

/// Emits to one socket, waiting while its send buffer is full (a replay
/// must not skip a message). `false` when the socket is gone or stays full
/// for [`RETRIES`] × [`RETRY_EVERY`] (it is then cut off).
pub(super) async fn emit_waiting<A: Adapter, T: Serialize + ?Sized>(
    s: &SocketRef<A>,
    event: &'static str,
    data: &T,
) -> bool {
    for _ in 0..RETRIES {
        match s.emit(event, data) {
            Ok(()) => return true,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(RETRY_EVERY).await;
            }
            Err(SendError::Socket(SocketError::Closed)) => return false,
            Err(e) => {
                tracing::warn!(error = %e, event, "cannot serialise an event");
                return false;
            }
        }
    }
    cut_off(s.clone());
    false
}
