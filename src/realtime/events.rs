//! Client → server events (`shared/DESIGN.md` § Socket.IO contract). Each
//! may take an ack: `{success: true, message?}` or `{success: false, error,
//! code}`; a failure without an ack is emitted back as `message_error`.
//! An admin socket's events first re-check its session (`admin_gate`,
//! issue 8 item 5).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::{
    adapter::Adapter,
    extract::{AckSender, Extension, SocketRef, State, TryData},
    handler::FromMessageParts,
    socket::Socket,
};

use super::{ADMINS, Role, SocketSession, thread_room};
use crate::{AppState, chat::PostRequest, error::AppError, limits::Action};

/// Answers an event: through its ack when the client asked for one, else
/// (failures only) with a `message_error` event.
pub struct Reply<A: Adapter> {
    ack: AckSender<A>,
    socket: SocketRef<A>,
    wants_ack: bool,
}

impl<A: Adapter> FromMessageParts<A> for Reply<A> {
    type Error = std::convert::Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        let ack =
            AckSender::<A>::from_message_parts(s, v, ack_id).unwrap_or_else(|_| unreachable!());
        let socket =
            SocketRef::<A>::from_message_parts(s, v, ack_id).unwrap_or_else(|_| unreachable!());
        Ok(Reply {
            ack,
            socket,
            wants_ack: ack_id.is_some(),
        })
    }
}

impl<A: Adapter> Reply<A> {
    /// Success: `{success: true, ...extra}`.
    pub fn ok(self, extra: Value) {
        let mut body = json!({"success": true});
        if let (Some(b), Value::Object(m)) = (body.as_object_mut(), extra) {
            b.extend(m);
        }
        let _ = self.ack.send(&body);
    }

    /// Failure: the ack `{success: false, error, code}` or `message_error`.
    pub fn err(self, e: impl Into<AppError>) {
        let e: AppError = e.into();
        if let AppError::Internal(source) = &e {
            tracing::error!(detail = %source.chain(), "socket event failed");
        }
        if self.wants_ack {
            let _ = self.ack.send(&e.ack_body());
        } else {
            let _ = self.socket.emit("message_error", &e.socket_event());
        }
    }
}

/// The event's first argument as JSON (`Null` when absent).
///
/// Text packets are parsed with serde_json from the packet's data (the JSON
/// array `["event", arg, …]`) because socketioxide-parser-common 0.17 refuses
/// any object whose first key needs unescaping (it borrows that key to look
/// for a binary placeholder, `value/de.rs`); packets with binary
/// attachments go through the library's decoder.
pub struct Payload(pub Result<Value, String>);

impl<A: Adapter> FromMessageParts<A> for Payload
where
    TryData<Value>: FromMessageParts<A, Error = std::convert::Infallible>,
{
    type Error = std::convert::Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        if let socketioxide::handler::Value::Str(text, None) = v {
            let parsed = serde_json::from_str::<Vec<Value>>(text)
                .map(|mut args| {
                    if args.len() > 1 {
                        args.swap_remove(1)
                    } else {
                        Value::Null
                    }
                })
                .map_err(|e| e.to_string());
            return Ok(Payload(parsed));
        }
        let TryData(res) =
            TryData::<Value>::from_message_parts(s, v, ack_id).unwrap_or_else(|e| match e {});
        Ok(Payload(res.map_err(|e| e.to_string())))
    }
}

/// Registers the handlers on a connected socket.
pub fn register<A: Adapter>(s: &SocketRef<A>) {
    s.on("join_thread", join_thread);
    s.on("leave_thread", leave_thread);
    s.on("message_from_visitor", from_visitor);
    s.on("message_to_admin", from_visitor);
    s.on("message_to_visitor", to_visitor);
    s.on("typing", typing);
    s.on("stop_typing", typing);
    super::receipts::register(s);
    super::thread_events::register(s);
}

/// For an admin socket: its session must still be live (issue 8 item 5,
/// [`super::admin_sessions`]; a confirmation is cached a few seconds).
/// When it is not, the event is refused like any unauthorised one
/// (`auth_error` / `UNAUTHORIZED`) and the socket is disconnected. Returns
/// the reply when the event may go on.
pub(super) async fn admin_gate<A: Adapter>(
    state: &AppState,
    sess: &SocketSession,
    reply: Reply<A>,
) -> Option<Reply<A>> {
    if sess.role != Role::Admin {
        return Some(reply);
    }
    let live = match &sess.admin {
        Some(a) => {
            state
                .admin_sockets
                .recheck(&state.auth, &a.token_hash)
                .await
        }
        None => Ok(false),
    };
    match live {
        Ok(true) => Some(reply),
        Ok(false) => {
            let socket = reply.socket.clone();
            reply.err(AppError::Unauthorized);
            super::fanout::disconnect_soon(socket);
            None
        }
        Err(e) => {
            reply.err(e);
            None
        }
    }
}

#[derive(Deserialize)]
struct ThreadRef {
    thread_id: Option<String>,
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(
    data: Result<Value, impl std::fmt::Display>,
) -> Result<T, AppError> {
    let v =
        data.map_err(|e| AppError::Validation(format!("payload must be a JSON object: {e}")))?;
    if !v.is_object() {
        return Err(AppError::Validation("payload must be a JSON object".into()));
    }
    serde_json::from_value(v).map_err(|e| AppError::Validation(e.to_string()))
}

/// The thread an event targets, by the socket's [`crate::auth::Actor`]: a
/// visitor's own (when omitted or equal), any for the admin (required).
fn target(sess: &SocketSession, thread_id: Option<String>) -> Result<String, AppError> {
    let (_, thread) = sess.actor.target(thread_id.as_deref())?;
    Ok(thread.into_string())
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
    let posted = state.chat.post(&sess.actor, req).await?;
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
        Role::Admin => (thread_room(&thread), "admin"),
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
