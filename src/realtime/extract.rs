//! What every Socket.IO event handler shares (`events.rs`, `receipts.rs`,
//! `thread_events.rs`): the [`Reply`] and [`Payload`] extractors, the
//! payload parser and the admin session re-check ([`admin_gate`], issue 8
//! item 5). It registers no handler.

use std::sync::Arc;

use serde_json::{Value, json};
use socketioxide::{
    adapter::Adapter,
    extract::{AckSender, SocketRef, TryData},
    handler::FromMessageParts,
    socket::Socket,
};

use super::{Role, SocketSession};
use crate::{AppState, http::error::AppError};

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

    /// Failure with more fields: the ack `{success: false, error, code,
    /// ...extra}` (e.g. a refused take's `assignee`), or `message_error`.
    pub fn err_with(self, e: impl Into<AppError>, extra: Value) {
        let e: AppError = e.into();
        if !self.wants_ack {
            return self.err(e);
        }
        let mut body = e.ack_body();
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

/// The event's first argument, which must be a JSON object, as `T`.
///
/// # Errors
/// [`AppError::Validation`] when it is absent, not an object or not a `T`.
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
