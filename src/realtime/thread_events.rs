//! The admin's thread tools over Socket.IO (issue 13): `close_thread`,
//! `reopen_thread`, `block_thread`, `unblock_thread` with `{thread_id}`,
//! the same rule as the JSON API ([`crate::chat::status`]): admin sockets
//! only (a visitor's gets `auth_error` / `UNAUTHORIZED`), an unknown thread
//! is `NOT_FOUND`. The ack is `{success: true, thread: {id, status,
//! blocked, blocked_at, change, by}}`; every admin socket (on every
//! instance) also gets `thread_updated` through the core's event stream.
//! The change is recorded as a thread event naming the session's agent.
//!
//! Assignment (issue 22 item 4): `take_thread {thread_id}` and
//! `assign_thread {thread_id, agent_id: <id> | null}`, the same rule as
//! `POST /api/threads/{id}/take` / `assign`; the ack carries the thread with
//! its `assignee`; a refused take's ack is `{success: false, error, code:
//! "CONFLICT", assignee}`. Every event of an admin socket notes its agent
//! as active (round robin, [`crate::chat::assignment`]).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use socketioxide::{
    adapter::Adapter,
    extract::{Event, Extension, State},
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

/// The events handled by [`tool`] (routed by [`super::events::register`]).
pub(super) const NAMES: [&str; 6] = [
    "close_thread",
    "reopen_thread",
    "block_thread",
    "unblock_thread",
    "take_thread",
    "assign_thread",
];

#[derive(Deserialize)]
struct Target {
    thread_id: String,
}

/// Notes the agent of an admin socket as active (round robin).
pub(super) fn note_active(state: &AppState, sess: &SocketSession) {
    if let Some(id) = sess.admin.as_ref().and_then(|a| a.agent.id) {
        state.chat.note_agent_active(id);
    }
}

#[tracing::instrument(skip_all, fields(event = %name))]
pub(super) async fn tool<A: Adapter>(
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
    note_active(&state, &sess);
    let agent = match name.as_ref() {
        "assign_thread" => match data
            .as_ref()
            .map_err(|e| AppError::BadRequest(e.clone()))
            .and_then(crate::http::assignment::agent_id)
        {
            Ok(a) => a,
            Err(e) => return reply.err(e),
        },
        _ => None,
    };
    let t = match parse::<Target>(data) {
        Ok(t) => match crate::http::extract::thread_id(&t.thread_id) {
            Ok(t) => t,
            Err(e) => return reply.err(e),
        },
        Err(e) => return reply.err(e),
    };
    let Some(session) = sess.admin.as_ref() else {
        return reply.err(AppError::Unauthorized);
    };
    let by = acting_agent(Acting::Session(session));
    let chat = &state.chat;
    let res = match name.as_ref() {
        "take_thread" => chat.take(&t, &session.agent).await,
        "assign_thread" => chat.assign(&t, agent, &by).await,
        "close_thread" => chat.close(&t, &by).await,
        "reopen_thread" => chat.reopen(&t, &by).await,
        "block_thread" => chat.set_blocked(&t, true, &by).await,
        _ => chat.set_blocked(&t, false, &by).await,
    };
    match res {
        Ok(u) => reply.ok(json!({ "thread": u })),
        Err(crate::chat::ChatError::Taken(a)) => {
            let e = crate::chat::ChatError::Taken(a.clone());
            reply.err_with(e, json!({ "assignee": a }))
        }
        Err(e) => reply.err(e),
    }
}
