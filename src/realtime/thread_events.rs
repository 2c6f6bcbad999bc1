//! The admin's thread tools over Socket.IO (issue 13): `close_thread`,
//! `reopen_thread`, `block_thread`, `unblock_thread` with `{thread_id}`,
//! the same rule as the JSON API ([`crate::chat::status`]): admin sockets
//! only (a visitor's gets `auth_error` / `UNAUTHORIZED`), an unknown thread
//! is `NOT_FOUND`. The ack is `{success: true, thread: {id, status,
//! blocked, blocked_at, change, by}}`; every admin socket (on every
//! instance) also gets `thread_updated` through the core's event stream.
//! The change is recorded as a thread event naming the session's agent.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use socketioxide::{
    adapter::Adapter,
    extract::{Event, Extension, SocketRef, State},
};

use super::{
    Role, SocketSession,
    extract::{Payload, Reply, admin_gate, parse},
};
use crate::{
    AppState,
    auth::acting::{Acting, acting_agent},
    http::error::AppError,
    limits::Action,
};

/// Registers the handlers on a connected socket.
pub(super) fn register<A: Adapter>(s: &SocketRef<A>) {
    for name in [
        "close_thread",
        "reopen_thread",
        "block_thread",
        "unblock_thread",
    ] {
        s.on(name, tool::<A>);
    }
}

#[derive(Deserialize)]
struct Target {
    thread_id: String,
}

#[tracing::instrument(skip_all, fields(event = %name))]
async fn tool<A: Adapter>(
    Event(name): Event,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    if sess.role != Role::Admin {
        return reply.err(AppError::Unauthorized);
    }
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    let t = match parse::<Target>(data) {
        Ok(t) if !t.thread_id.is_empty() && t.thread_id.len() <= 64 => t.thread_id,
        Ok(_) => return reply.err(AppError::Validation("thread_id is required".into())),
        Err(e) => return reply.err(e),
    };
    let Some(session) = sess.admin.as_ref() else {
        return reply.err(AppError::Unauthorized);
    };
    let by = acting_agent(Acting::Session(session));
    let chat = &state.chat;
    let res = match name.as_ref() {
        "close_thread" => chat.close(&t, &by).await,
        "reopen_thread" => chat.reopen(&t, &by).await,
        "block_thread" => chat.set_blocked(&t, true, &by).await,
        _ => chat.set_blocked(&t, false, &by).await,
    };
    match res {
        Ok(u) => reply.ok(json!({ "thread": u })),
        Err(e) => reply.err(e),
    }
}
