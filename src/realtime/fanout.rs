//! The broadcaster: turns the chat core's events into Socket.IO events —
//! a stored visitor message → `message_from_visitor`, an admin message →
//! `message_to_visitor` (both to `admins` and the thread room),
//! `thread_created` → admins, `messages_cleared` → thread room and admins.
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
//! One instance (in-memory adapter): emitted socket by socket, so that the
//! one socket that fell behind is the one cut off. With the Redis adapter
//! the event is broadcast through Redis to every instance; a full buffer is
//! then only counted (socketioxide does not say which socket it was).

use std::time::Duration;

use serde::Serialize;
use socketioxide::{
    BroadcastError, SendError, SocketError, SocketIo, adapter::Adapter, extract::SocketRef,
};
use tokio::sync::mpsc;

use super::{ADMINS, event_name, thread_room};
use crate::chat::{ChatEvent, overload::Episode};

static CUT_OFF: Episode =
    Episode::new("sockets cut off: their send buffer was full (they reconnect and catch up)");
static FULL_REMOTE: Episode =
    Episode::new("broadcast hit full socket buffers (Redis adapter: counted, not cut off)");

/// Marks a socket that missed an event: it is skipped until it is gone.
#[derive(Clone, Copy, Debug)]
struct CutOff;

/// How often a cut-off socket's disconnect is retried while its buffer is full.
const RETRY_EVERY: Duration = Duration::from_millis(100);
/// Retries before giving up on the disconnect packet (the heartbeat then
/// closes a client that does not read).
const RETRIES: u32 = 300;

/// Runs until the core stops: emits every event of `rx`. `per_socket`:
/// emit socket by socket on this instance (in-memory adapter); otherwise
/// broadcast through the adapter.
pub(super) async fn run<A: Adapter>(
    io: SocketIo<A>,
    mut rx: mpsc::Receiver<ChatEvent>,
    per_socket: bool,
) {
    while let Some(ev) = rx.recv().await {
        match &ev {
            ChatEvent::MessageStored(m) => {
                let rooms = [ADMINS.to_owned(), thread_room(&m.thread_id)];
                emit(&io, rooms, event_name(m), m, per_socket).await;
            }
            ChatEvent::ThreadCreated(t) => {
                emit(&io, [ADMINS.to_owned()], "thread_created", t, per_socket).await;
            }
            ChatEvent::Cleared { thread_id } => {
                let rooms = [ADMINS.to_owned(), thread_room(thread_id)];
                let body = serde_json::json!({ "thread_id": thread_id });
                emit(&io, rooms, "messages_cleared", &body, per_socket).await;
            }
        }
    }
}

async fn emit<A: Adapter, const N: usize, T: Serialize + ?Sized>(
    io: &SocketIo<A>,
    rooms: [String; N],
    event: &'static str,
    data: &T,
    per_socket: bool,
) {
    if !per_socket {
        if let Err(e) = io.to(rooms).emit(event, data).await {
            if matches!(&e, BroadcastError::Socket(errs)
                if errs.iter().any(|e| matches!(e, SocketError::InternalChannelFull)))
            {
                FULL_REMOTE.hit();
            } else {
                tracing::debug!(error = %e, "socket broadcast failed");
            }
        }
        return;
    }
    for s in io.to(rooms).sockets() {
        if s.extensions.get::<CutOff>().is_some() {
            continue;
        }
        match s.emit(event, data) {
            Ok(()) | Err(SendError::Socket(SocketError::Closed)) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => cut_off(s),
            Err(e) => tracing::warn!(error = %e, event, "cannot serialise an event"),
        }
    }
}

/// `s` missed an event: skip it from now on and disconnect it.
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
