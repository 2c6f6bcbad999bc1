//! [`LimitError`]: what a limit answers when it refuses. The adapters map it
//! to the contract's error (`http::error`'s `From<LimitError>`: 429
//! `RATE_LIMITED` with `Retry-After`, or 503 `SERVICE_UNAVAILABLE`).

/// A refusal by one of the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Too many requests from this key; `retry_after` is the whole seconds
    /// to wait (at least 1, rounded up), for `Retry-After` (RFC 9110
    /// § 10.2.3).
    #[error("Too many requests, retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a retry may pass.
        retry_after: u64,
    },
    /// A global ceiling is reached (Engine.IO sessions or pending
    /// sessions in total): nobody is served more until some end.
    #[error("Service temporarily unavailable")]
    Full,
}
