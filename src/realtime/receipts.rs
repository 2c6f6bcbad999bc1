//! Delivery receipts from the visitor's page (issue 12):
//! `message_received {message_id}` once the page has an admin message,
//! `message_seen {message_id}` once it was shown on a visible page; both
//! mean "every admin message of my thread up to this id". Visitor sockets
//! only, for their own thread; counted against the per-IP event limit.
//! The marks are stored ([`crate::chat::outbox::Outbox::note_receipt`]) and the
//! Telegram outbox worker shows them on the admin's Telegram messages
//! ([`crate::telegram::receipts`]). Answers `{success: true}`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use socketioxide::{
    adapter::Adapter,
    extract::{Event, Extension, State},
};

use super::{
    Role, SocketSession,
    extract::{Payload, Reply},
};
use crate::{
    AppState, chat::outbox::receipt_level as level, http::error::AppError, limits::Action,
};

#[derive(Deserialize)]
struct Mark {
    message_id: crate::domain::MessageId,
}

/// `message_received` and `message_seen` (routed here by
/// [`super::events::register`]).
#[tracing::instrument(skip_all, fields(role = ?sess.role))]
pub(super) async fn receipt<A: Adapter>(
    Event(name): Event,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    if sess.role != Role::Visitor {
        return reply.err(AppError::Forbidden("Only a visitor sends receipts"));
    }
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    let mark = match data
        .map_err(|e| AppError::Validation(format!("payload must be a JSON object: {e}")))
        .and_then(|v| {
            serde_json::from_value::<Mark>(v).map_err(|e| AppError::Validation(e.to_string()))
        }) {
        Ok(m) if m.message_id.get() > 0 => m,
        Ok(_) => {
            return reply.err(AppError::Validation(
                "message_id must be a positive integer".into(),
            ));
        }
        Err(e) => return reply.err(e),
    };
    // Kept for Telegram's 👌/👀 and for email: an answer seen is not emailed.
    if state.telegram.is_none() && state.mailer.is_none() {
        return reply.ok(json!({}));
    }
    let lvl = if name == "message_seen" {
        level::SEEN
    } else {
        level::DELIVERED
    };
    let outbox = state.chat.outbox();
    match outbox
        .note_receipt(&sess.visitor_id, mark.message_id, lvl)
        .await
    {
        Ok(()) => reply.ok(json!({})),
        Err(e) => {
            tracing::warn!(error = %e, "cannot store a receipt");
            reply.err(AppError::Unavailable);
        }
    }
}
