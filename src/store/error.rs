//! The store's error: what went wrong below the core, in the store's terms,
//! with the driver's error kept and shown as it is (logged where it is handled,
//! never sent to a client). The core maps it to `ChatError`
//! (`chat/error.rs`), so no `sqlx` type crosses into the core's API.

/// Every error of a query or transaction.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row that had to exist did not (`fetch_one` found nothing).
    #[error("row not found")]
    NotFound,
    /// A unique or foreign-key rule of the schema refused the write.
    #[error(transparent)]
    Conflict(sqlx::Error),
    /// The database does not answer: I/O, TLS, protocol garbage from a dying
    /// connection, pool timeouts or a closed pool, and Postgres SQLSTATE
    /// classes 08 "connection exception" and 57 "operator intervention", and
    /// SQLite still busy or locked after its `busy_timeout` (an overloaded
    /// machine: a refusal the client may retry, not a failure).
    #[error(transparent)]
    Unavailable(sqlx::Error),
    /// Any other failure.
    #[error(transparent)]
    Other(sqlx::Error),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The pool was closed (shutdown): background loops stop on it.
    pub fn is_closed(&self) -> bool {
        matches!(self, StoreError::Unavailable(sqlx::Error::PoolClosed))
    }

    /// SQLite answered busy or locked (its `busy_timeout` ran out, or a
    /// busy error SQLite returns without waiting, such as
    /// `SQLITE_BUSY_SNAPSHOT`): the transaction was rolled back, nothing
    /// was stored, and trying again may succeed.
    pub fn is_sqlite_busy(&self) -> bool {
        matches!(self, StoreError::Unavailable(e) if is_sqlite_busy(e))
    }
}

/// [`StoreError::is_sqlite_busy`] for an error not converted yet (the
/// SQLite writer's own C-API calls report sqlx's `SqliteError`).
pub(crate) fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if sqlite_busy(db.as_ref()))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Database(db) if sqlite_busy(db.as_ref()) => StoreError::Unavailable(e),
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
            {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict(e)
            }
            _ => StoreError::Other(e),
        }
    }
}

/// `SQLITE_BUSY` or `SQLITE_LOCKED`, with any extended code
/// (<https://www.sqlite.org/rescode.html>: the primary code is the low 8
/// bits of the extended one).
fn sqlite_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_closed());
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::ColumnNotFound("x".into())),
            StoreError::Other(_)
        ));
    }
}
