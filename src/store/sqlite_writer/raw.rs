//! One SQLite connection driven directly through the C API
//! (`libsqlite3-sys`, the same library sqlx links), for the one thread
//! that owns it: each statement prepared once and kept
//! (`SQLITE_PREPARE_PERSISTENT`), parameters bound by their `$N` names
//! (the store's SQL texts, shared with Postgres), rows read in place.
//!
//! The connection is sqlx's (opened with the pool's options: WAL, busy
//! timeout, pragmas) with its handle locked out of sqlx's worker thread for
//! good, so errors come back as sqlx's `SqliteError` and
//! [`crate::store::StoreError`] sorts them as any other (busy, unique
//! violation, …). Every `unsafe` block here calls the C API on that handle
//! or a statement prepared on it, from the thread that holds the lock.

use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

/// A parameter value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Arg<'a> {
    /// SQL `NULL`.
    Null,
    /// An integer (also booleans: 0 or 1, as sqlx stores them).
    Int(i64),
    /// Text (UTF-8).
    Text(&'a str),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Int(i64::from(b))
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// A prepared statement and where each `$N` sits.
struct Stmt {
    ptr: NonNull<ffi::sqlite3_stmt>,
    /// `slots[n - 1]`: SQLite's index of parameter `$n`.
    slots: Vec<c_int>,
}

// SAFETY: a statement is used only through its `Conn`, by whoever holds
// it (`&mut`), never by two threads at once; SQLite allows a connection and
// its statements to move between threads when used serially (sqlx opens
// connections in its multi-thread mode and moves them to its own worker
// thread the same way).
unsafe impl Send for Stmt {}

/// One result row, valid while its step is (inside [`Conn::run`]'s callback).
pub(super) struct Row(NonNull<ffi::sqlite3_stmt>);

impl Row {
    fn is_null(&self, i: c_int) -> bool {
        // SAFETY: a statement positioned on a row (SQLITE_ROW), column index
        // checked by SQLite (out of range reads as NULL).
        unsafe { ffi::sqlite3_column_type(self.0.as_ptr(), i) == ffi::SQLITE_NULL }
    }

    /// Column `i` as an integer (NULL reads 0).
    pub(super) fn int(&self, i: c_int) -> i64 {
        // SAFETY: as in `is_null`.
        unsafe { ffi::sqlite3_column_int64(self.0.as_ptr(), i) }
    }

    /// Column `i` as an integer, `None` for NULL.
    pub(super) fn opt_int(&self, i: c_int) -> Option<i64> {
        (!self.is_null(i)).then(|| self.int(i))
    }

    /// Column `i` as text (NULL reads "").
    ///
    /// # Errors
    /// `Decode` when the bytes are not UTF-8.
    pub(super) fn text(&self, i: c_int) -> Result<&str, sqlx::Error> {
        // SAFETY: as in `is_null`; `sqlite3_column_text` then
        // `sqlite3_column_bytes` (SQLite's advised order) give a buffer that
        // stays valid until the next step, reset or type conversion of this
        // column, none of which can happen while `self` is borrowed.
        let bytes = unsafe {
            let p = ffi::sqlite3_column_text(self.0.as_ptr(), i);
            let n = ffi::sqlite3_column_bytes(self.0.as_ptr(), i);
            if p.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(p, usize::try_from(n).unwrap_or(0))
            }
        };
        std::str::from_utf8(bytes).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }

    /// Column `i` as text, `None` for NULL.
    ///
    /// # Errors
    /// As [`Row::text`].
    pub(super) fn opt_text(&self, i: c_int) -> Result<Option<&str>, sqlx::Error> {
        if self.is_null(i) {
            Ok(None)
        } else {
            self.text(i).map(Some)
        }
    }
}

/// The connection and its statements.
pub(super) struct Conn<'h> {
    handle: LockedSqliteHandle<'h>,
    stmts: HashMap<&'static str, Stmt>,
}

/// The connection's last error as sqlx reports it.
fn last_error(handle: &mut LockedSqliteHandle<'_>) -> sqlx::Error {
    match handle.last_error() {
        Some(e) => sqlx::Error::Database(Box::new(e)),
        None => sqlx::Error::Protocol("SQLite failed without an error".into()),
    }
}

impl<'h> Conn<'h> {
    /// Drives `handle` (locked out of sqlx's worker for as long as this lives).
    pub(super) fn new(handle: LockedSqliteHandle<'h>) -> Self {
        Conn {
            handle,
            stmts: HashMap::new(),
        }
    }

    /// Prepares `sql` (one statement) and maps its `$N` parameters.
    fn prepare(&mut self, sql: &'static str) -> Result<Stmt, sqlx::Error> {
        let db = self.handle.as_raw_handle().as_ptr();
        let len = c_int::try_from(sql.len())
            .map_err(|_| sqlx::Error::Protocol("statement too long".into()))?;
        let mut ptr = std::ptr::null_mut();
        // SAFETY: `db` is the open handle this thread holds; `sql` outlives
        // the call and its length is passed (no terminator needed).
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr().cast::<c_char>(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut ptr,
                std::ptr::null_mut(),
            )
        };
        let Some(ptr) = NonNull::new(ptr).filter(|_| rc == ffi::SQLITE_OK) else {
            return Err(if rc == ffi::SQLITE_OK {
                sqlx::Error::Protocol(format!("no statement in {sql:?}"))
            } else {
                last_error(&mut self.handle)
            });
        };
        let stmt = Stmt {
            ptr,
            slots: Vec::new(),
        };
        let slots = Self::slots(&stmt, sql);
        if slots.is_err() {
            // SAFETY: prepared above on this handle, used nowhere else.
            unsafe { ffi::sqlite3_finalize(stmt.ptr.as_ptr()) };
        }
        Ok(Stmt {
            slots: slots?,
            ..stmt
        })
    }

    /// Where each `$N` of `stmt` sits (`sql`: for the error only).
    fn slots(stmt: &Stmt, sql: &str) -> Result<Vec<c_int>, sqlx::Error> {
        // SAFETY: a statement just prepared on this handle.
        let n = unsafe { ffi::sqlite3_bind_parameter_count(stmt.ptr.as_ptr()) };
        let mut slots = vec![0; usize::try_from(n).unwrap_or(0)];
        for i in 1..=n {
            // SAFETY: index within the count; the name (NULL for a
            // nameless `?`) lives as long as the statement.
            let name = unsafe {
                let p = ffi::sqlite3_bind_parameter_name(stmt.ptr.as_ptr(), i);
                (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p))
            };
            let number = name
                .and_then(|n| n.to_str().ok())
                .and_then(|n| n.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=slots.len()).contains(n))
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!("parameter {i} of {sql:?} is not $1…${n}"))
                })?;
            slots[number - 1] = i;
        }
        Ok(slots)
    }

    /// Runs `sql` with `args` (`args[n - 1]` is `$n`; every parameter
    /// needs one), calling `each` on every row it returns. The statement
    /// is kept prepared for the next call.
    ///
    /// # Errors
    /// SQLite's error (the statement is reset either way), or `each`'s.
    pub(super) fn run(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
        mut each: impl FnMut(&Row) -> Result<(), sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        if !self.stmts.contains_key(sql) {
            let stmt = self.prepare(sql)?;
            self.stmts.insert(sql, stmt);
        }
        let Some(stmt) = self.stmts.get(sql) else {
            return Err(sqlx::Error::Protocol(
                "statement cache lost a statement".into(),
            ));
        };
        let ptr = stmt.ptr;
        if stmt.slots.len() != args.len() {
            return Err(sqlx::Error::Protocol(format!(
                "{sql:?} takes {} parameters, {} given",
                stmt.slots.len(),
                args.len()
            )));
        }
        let mut rc = ffi::SQLITE_OK;
        for (&i, arg) in stmt.slots.iter().zip(args) {
            // SAFETY: a live statement of this handle, an index SQLite gave;
            // SQLITE_TRANSIENT makes SQLite copy the text before returning.
            rc = unsafe {
                match *arg {
                    Arg::Null => ffi::sqlite3_bind_null(ptr.as_ptr(), i),
                    Arg::Int(n) => ffi::sqlite3_bind_int64(ptr.as_ptr(), i, n),
                    Arg::Text(s) => ffi::sqlite3_bind_text64(
                        ptr.as_ptr(),
                        i,
                        s.as_ptr().cast::<c_char>(),
                        s.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                break;
            }
        }
        let res = if rc == ffi::SQLITE_OK {
            self.step_all(ptr, &mut each)
        } else {
            Err(last_error(&mut self.handle))
        };
        // SAFETY: a live statement of this handle; reset keeps it prepared
        // (its error code was read above), clearing drops the copied texts.
        unsafe {
            ffi::sqlite3_reset(ptr.as_ptr());
            ffi::sqlite3_clear_bindings(ptr.as_ptr());
        }
        res
    }

    fn step_all(
        &mut self,
        ptr: NonNull<ffi::sqlite3_stmt>,
        each: &mut impl FnMut(&Row) -> Result<(), sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        loop {
            // SAFETY: a live statement of this handle, parameters bound.
            match unsafe { ffi::sqlite3_step(ptr.as_ptr()) } {
                ffi::SQLITE_ROW => each(&Row(ptr))?,
                ffi::SQLITE_DONE => return Ok(()),
                _ => return Err(last_error(&mut self.handle)),
            }
        }
    }

    /// Runs `sql`, which returns no rows (or whose rows do not matter).
    ///
    /// # Errors
    /// As [`Conn::run`].
    pub(super) fn exec(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<(), sqlx::Error> {
        self.run(sql, args, |_| Ok(()))
    }

    /// Sets SQLite's busy timeout (how long a statement waits for another
    /// connection's lock before answering `SQLITE_BUSY`; 0: not at all).
    pub(super) fn set_busy_timeout(&mut self, ms: i64) {
        let ms = c_int::try_from(ms).unwrap_or(c_int::MAX);
        // SAFETY: the open handle this thread holds.
        unsafe {
            ffi::sqlite3_busy_timeout(self.handle.as_raw_handle().as_ptr(), ms);
        }
    }

    /// Is a transaction open (after an error that SQLite answered with a
    /// rollback of its own, it is not)?
    pub(super) fn in_transaction(&mut self) -> bool {
        // SAFETY: the open handle this thread holds.
        unsafe { ffi::sqlite3_get_autocommit(self.handle.as_raw_handle().as_ptr()) == 0 }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        for (_, stmt) in self.stmts.drain() {
            // SAFETY: each statement was prepared on this handle, which is
            // still open (the lock is released after this).
            unsafe {
                ffi::sqlite3_finalize(stmt.ptr.as_ptr());
            }
        }
    }
}
