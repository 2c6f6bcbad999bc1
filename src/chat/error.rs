//! The chat core's errors. They say what went wrong in the chat's terms;
//! the adapters map them to their wire: `http` to the contract's HTTP
//! errors and `realtime` to Socket.IO `message_error` / ack payloads, both
//! through [`crate::error::AppError`]'s `From<ChatError>`. Failures below
//! the core keep their source error ([`ChatError::Database`],
//! [`ChatError::Media`]); it is logged, never sent to a client.

use std::sync::Arc;

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
    /// The writer's queue stayed full: refused before anything was stored
    /// (503 `SERVER_BUSY`).
    #[error("Server busy, please retry")]
    Busy,
    /// The database does not answer, or the writer stopped (503
    /// `SERVICE_UNAVAILABLE`).
    #[error("Service temporarily unavailable")]
    Unavailable,
    /// Any other database failure (500 `INTERNAL_ERROR`).
    #[error("database error")]
    Database(#[source] Arc<sqlx::Error>),
    /// The upload storage could not be read (500 `INTERNAL_ERROR`).
    #[error("cannot look up an uploaded file")]
    Media(#[source] Arc<std::io::Error>),
}

/// Result of the chat core.
pub type ChatResult<T> = Result<T, ChatError>;

impl From<sqlx::Error> for ChatError {
    /// Connection-level failures (I/O, TLS, protocol garbage from a dying
    /// connection, pool timeouts, and Postgres SQLSTATE classes 08
    /// "connection exception" and 57 "operator intervention") mean the
    /// database is unavailable; anything else is [`ChatError::Database`].
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57")),
            _ => false,
        };
        if unavailable {
            ChatError::Unavailable
        } else {
            ChatError::Database(Arc::new(e))
        }
    }
}
