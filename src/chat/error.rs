//! The chat core's errors. They say what went wrong in the chat's terms;
//! the adapters map them to their wire: `http` to the contract's HTTP
//! errors and `realtime` to Socket.IO `message_error` / ack payloads, both
//! through [`crate::http::error::AppError`]'s `From<ChatError>`. Failures below
//! the core keep their source error ([`ChatError::Database`],
//! [`ChatError::Unavailable`], [`ChatError::Media`]); it is logged, never
//! sent to a client. This file is the core's boundary with the store: the
//! store's [`StoreError`] becomes a [`ChatError`] here.

use std::sync::Arc;

use crate::store::StoreError;

/// Every error of the chat core.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ChatError {
    /// Malformed input (HTTP 400 `BAD_REQUEST`).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but invalid values, e.g. an empty text (400 `VALIDATION_ERROR`).
    #[error("{0}")]
    Validation(String),
    /// The actor may not do this, e.g. write to another visitor's thread
    /// (403 `FORBIDDEN`).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The admin blocked this visitor (403 `BLOCKED`).
    #[error("Sorry, you can no longer send messages in this conversation.")]
    Blocked,
    /// No such thread, canned reply… (404 `NOT_FOUND`).
    #[error("{0}")]
    NotFound(&'static str),
    /// Clashes with what is stored (409 `CONFLICT`).
    #[error("{0}")]
    Conflict(String),
    /// Another agent is assigned to the thread (a take; 409 `CONFLICT`
    /// with the `assignee`).
    #[error("This thread is assigned to {}", .0.name)]
    Taken(crate::domain::Assignee),
    /// The writer's queue stayed full: refused before anything was stored
    /// (503 `SERVER_BUSY`).
    #[error("Server busy, please retry")]
    Busy,
    /// The database does not answer (`Some`: the store's error, logged
    /// once where this error is answered), or the writer stopped (`None`)
    /// (503 `SERVICE_UNAVAILABLE`).
    #[error("Service temporarily unavailable")]
    Unavailable(#[source] Option<Arc<StoreError>>),
    /// Any other database failure (500 `INTERNAL_ERROR`); shows as the
    /// store's error.
    #[error(transparent)]
    Database(Arc<StoreError>),
    /// The upload storage could not be read (500 `INTERNAL_ERROR`).
    #[error("cannot look up an uploaded file")]
    Media(#[source] Arc<std::io::Error>),
}

/// Result of the chat core.
pub type ChatResult<T> = Result<T, ChatError>;

impl From<StoreError> for ChatError {
    /// [`StoreError::Unavailable`] (the database does not answer) is
    /// [`ChatError::Unavailable`] with its cause; anything else,
    /// [`ChatError::Database`].
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ChatError::Unavailable(Some(Arc::new(e))),
            e => ChatError::Database(Arc::new(e)),
        }
    }
}
