//! Client → server events (`shared/DESIGN.md` § Socket.IO contract). Each
//! may take an ack: `{success: true, message?}` or `{success: false, error,
//! code}`; a failure without an ack is emitted back as `message_error`.
//! An admin socket's events first re-check its session (`admin_gate`,
//! issue 8 item 5). The extractors and the gate shared with
//! `receipts.rs` and `thread_events.rs` are in `extract.rs`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::{
    adapter::Adapter,
    extract::{Event, Extension, SocketRef, State},
    handler::{FromMessageParts, MessageHandler},
    socket::Socket,
};

use super::{
    ADMINS, Role, SocketSession,
    extract::{Payload, Reply, admin_gate, parse},
    thread_room,
};
use crate::{
    AppState,
    chat::PostRequest,
    domain::ThreadId,
    http::error::AppError,
    limits::{Action, address_key},
};

/// Registers the handlers on a connected socket: one [`Dispatch`] for every
/// event.
pub fn register<A: Adapter>(s: &SocketRef<A>) {
    s.on_fallback(Dispatch);
}

/// Every client event, routed by its name to its handler (an unknown name
/// is ignored, as before). Registered as the socket's one fallback handler
/// instead of one `s.on` per event: socketioxide keeps `s.on` handlers in a
/// hash map of its own per socket, about 1.3 KiB of every idle socket for
/// these 16 events (docs/benchmarks.md, heaptrack of an idle socket),
/// while this table is code. A zero-sized handler, so boxing it allocates
/// nothing.
struct Dispatch;

impl<A: Adapter> MessageHandler<A, ()> for Dispatch {
    fn call(&self, s: Arc<Socket<A>>, mut v: socketioxide::handler::Value, ack: Option<i64>) {
        let Ok(Event(name)) = Event::from_message_parts(&s, &mut v, &ack) else {
            return;
        };
        match name.as_str() {
            "join_thread" => MessageHandler::call(&join_thread, s, v, ack),
            "leave_thread" => MessageHandler::call(&leave_thread, s, v, ack),
            "message_from_visitor" | "message_to_admin" => {
                MessageHandler::call(&from_visitor, s, v, ack)
            }
            "message_to_visitor" => MessageHandler::call(&to_visitor, s, v, ack),
            "typing" | "stop_typing" => MessageHandler::call(&typing, s, v, ack),
            "message_received" | "message_seen" => {
                MessageHandler::call(&super::receipts::receipt, s, v, ack)
            }
            "viewing_thread" => {
                MessageHandler::call(&super::agent_events::viewing_thread, s, v, ack)
            }
            n if super::thread_events::NAMES.contains(&n) => {
                MessageHandler::call(&super::thread_events::tool, s, v, ack)
            }
            _ => {}
        }
    }
}

#[derive(Deserialize)]
struct ThreadRef {
    thread_id: Option<String>,
}

/// The thread an event targets, by the socket's [`crate::auth::Actor`]: a
/// visitor's own (when omitted or equal), any for the admin (required).
fn target(sess: &SocketSession, thread_id: Option<String>) -> Result<ThreadId, AppError> {
    let (_, thread) = sess.actor.target(thread_id.as_deref())?;
    Ok(thread)
}

#[tracing::instrument(skip_all, fields(role = ?sess.role))]
async fn join_thread<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    match parse::<ThreadRef>(data).and_then(|r| target(&sess, r.thread_id)) {
        Ok(t) => {
            s.join(thread_room(&t));
            reply.ok(json!({"thread_id": t}));
        }
        Err(e) => reply.err(e),
    }
}

#[tracing::instrument(skip_all, fields(role = ?sess.role))]
async fn leave_thread<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    match parse::<ThreadRef>(data).and_then(|r| target(&sess, r.thread_id)) {
        // A visitor always stays in its own room (it must keep receiving replies).
        Ok(t) => {
            if sess.role == Role::Admin {
                s.leave(thread_room(&t));
            }
            reply.ok(json!({"thread_id": t}));
        }
        Err(e) => reply.err(e),
    }
}

/// Posts a [`PostRequest`] as the socket's actor.
async fn post(
    state: &AppState,
    sess: &SocketSession,
    data: Result<Value, impl std::fmt::Display>,
) -> Result<Value, AppError> {
    let req: PostRequest = parse(data)?;
    let posted = state
        .chat
        .post_from(&sess.actor, req, Some(address_key(sess.ip)))
        .await?;
    Ok(json!({"message": posted.message}))
}

#[tracing::instrument(skip_all, fields(role = ?sess.role))]
async fn from_visitor<A: Adapter>(
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    if sess.role != Role::Visitor {
        return reply.err(AppError::Forbidden(
            "Only visitors send message_from_visitor",
        ));
    }
    if let Err(e) = state.limits.check(Action::Send, &sess.visitor_id, sess.ip) {
        return reply.err(e);
    }
    match post(&state, &sess, data).await {
        Ok(v) => reply.ok(v),
        Err(e) => reply.err(e),
    }
}

#[tracing::instrument(skip_all, fields(role = ?sess.role))]
async fn to_visitor<A: Adapter>(
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    if sess.role != Role::Admin {
        return reply.err(AppError::Forbidden(
            "Only the admin sends message_to_visitor",
        ));
    }
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    super::thread_events::note_active(&state, &sess);
    let key = sess
        .admin
        .as_ref()
        .map_or(sess.visitor_id.as_str(), |a| a.token_hash.as_str());
    if let Err(e) = state.limits.check(Action::Send, key, sess.ip) {
        return reply.err(e);
    }
    match post(&state, &sess, data).await {
        Ok(v) => reply.ok(v),
        Err(e) => reply.err(e),
    }
}

/// `typing` / `stop_typing {thread_id}` → the same event `{thread_id,
/// sender_type}` to the other side (admins for a visitor, the thread room
/// for the admin), never back to the sender; a blocked visitor's to no one.
/// An agent's typing is also noted for the other agents
/// (`agent_presence`, [`super::agent_events`]).
#[tracing::instrument(skip_all, fields(role = ?sess.role))]
async fn typing<A: Adapter>(
    s: SocketRef<A>,
    socketioxide::extract::Event(name): socketioxide::extract::Event,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    let thread = match parse::<ThreadRef>(data).and_then(|r| target(&sess, r.thread_id)) {
        Ok(t) => t,
        Err(e) => return reply.err(e),
    };
    if sess.role == Role::Visitor && state.chat.is_blocked(&thread) {
        // A blocked visitor's typing reaches no one (issue 13).
        return reply.ok(json!({}));
    }
    let event: &'static str = if name == "typing" {
        "typing"
    } else {
        "stop_typing"
    };
    let (room, sender_type) = match sess.role {
        Role::Visitor => (ADMINS.to_owned(), "visitor"),
        Role::Admin => {
            super::agent_events::typing(&s, &state, &sess, &thread, event == "typing");
            (thread_room(&thread), "admin")
        }
    };
    let _ = s
        .to(room)
        .emit(
            event,
            &json!({"thread_id": thread, "sender_type": sender_type}),
        )
        .await;
    if let (Role::Visitor, "typing", Some(tg)) = (sess.role, event, &state.telegram) {
        // Shown in the visitor's topic (throttled per thread there).
        let (tg, chat) = (tg.clone(), state.chat.clone());
        tokio::spawn(async move { tg.visitor_typing(&chat, &thread).await });
    }
    reply.ok(json!({}));
}
