//! [`AuthError`]: how logins, codes and sessions fail. The adapters map it
//! to the contract's error (`From<AuthError>` beside `AppError`): the
//! database's failures as the core judges them (503 when it does not
//! answer, else 500), an undelivered login code as 503.

use crate::store::StoreError;

/// A failure of the admin login, its code or a session.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The database failed (the source kept).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The login code could not be delivered (Telegram did not take it;
    /// the cause was logged there, never the code).
    #[error("the login code could not be delivered")]
    OtpUndelivered,
}

/// Result alias for the auth module.
pub type AuthResult<T> = Result<T, AuthError>;
