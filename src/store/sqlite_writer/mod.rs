//! The group commit's SQLite side (issue 25 item 2): one thread owns one
//! connection and runs a whole batch there in one call, from `BEGIN` to
//! `COMMIT`, with its statements prepared once and kept. The async side
//! (`chat::writer`) hands it a batch and gets one answer: two thread
//! hand-offs per batch instead of two per statement through sqlx's
//! connection thread (measured: docs/benchmarks.md, S6). Reads, and every
//! other write, keep the pool.
//!
//! On the current-thread runtime (one CPU), a small batch (at most
//! `SQLITE_INLINE_BATCH` messages, issue 25 item 4) skips even that
//! hand-off when the connection is idle: the caller
//! runs it on its own thread, through the same connection (shared behind
//! a mutex it only *tries*), with SQLite's busy timeout at 0 there, so it
//! never waits for another connection's lock (a busy answer sends the
//! batch to the thread, which waits). The thread keeps every larger batch
//! and the index's catch-up.
//!
//! The batch follows [`super::batch`]'s plan with the SQL texts of
//! [`super::message_sql`], so it stores exactly what
//! [`super::messages::insert_batch_with`] stores.
//!
//! It also keeps the messages' full-text index (`messages_fts`, issue 25
//! item 3): rows are indexed in bulk after their commit
//! ([`super::search::CATCH_UP_SQL`]), at most [`FTS_EVERY`] or
//! [`FTS_ROWS`] apart, instead of by a trigger in every transaction; a
//! search first indexes whatever is left (`store::search`), so results
//! are the same as with the trigger.

mod raw;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::oneshot;

use self::raw::{Arg, Conn, Row};
use super::message_sql::{
    BY_CLIENT_ID_SQL, chunks, message_insert_sql, outbox_insert_sql, thread_insert_sql, touch_sql,
    visitor_touch_sql,
};
use super::{StoreResult, batch};
use crate::domain::{AgentId, EmailSchedule, Inserted, Message, MessageId, NewMessage, ThreadId};

/// The full-text index catches up at least this often while messages come.
pub const FTS_EVERY: Duration = Duration::from_secs(1);

/// … and once this many messages wait to be indexed: a catch-up holds
/// the write lock for a time that grows with its rows, so at high rates
/// it comes in small slices between batches, not once a second (1,024
/// rows a slice raised S6's p99 at 5,000 msg/s, docs/benchmarks.md).
pub const FTS_ROWS: usize = 256;

/// A batch, its schedule, and where the outcome goes (with the batch, for
/// a retry).
struct Request {
    batch: Vec<NewMessage>,
    email: EmailSchedule,
    reply: oneshot::Sender<(Vec<NewMessage>, StoreResult<Vec<Inserted>>)>,
}

/// What the thread is asked to do.
enum Cmd {
    /// Store a batch.
    Batch(Request),
    /// A batch stored on the caller's thread left messages to index: catch
    /// up when due (and start the timer that makes it due).
    Nudge,
    /// The pool's checkpoint has just copied the log but for the frames
    /// written meanwhile: copy those too, so the log starts over
    /// ([`super::checkpoint`]).
    Checkpoint,
}

/// The connection and what goes with it, shared by the thread and the
/// callers that run a small batch on their own thread ([`SqliteWriter::insert_batch`]).
struct State {
    /// The connection. Its lifetime is erased: it lives in `Shared` only
    /// while the thread that opened it holds the connection
    /// ([`run_batches`] takes it out before it returns or unwinds).
    conn: Conn<'static>,
    index: Index,
    /// The connection's `busy_timeout` (ms), restored after a run on a
    /// caller's thread (which waits for no lock).
    busy_ms: i64,
}

impl State {
    /// One batch, rolled back on error; counts what is left to index.
    fn run(
        &mut self,
        batch: &[NewMessage],
        email: &EmailSchedule,
    ) -> Result<Vec<Inserted>, sqlx::Error> {
        let res = run_batch(&mut self.conn, batch, email);
        if self.conn.in_transaction() {
            let _ = self.conn.exec("ROLLBACK", &[]);
        }
        if let Ok(out) = &res {
            self.index.waiting += out.iter().filter(|i| !i.duplicate).count();
        }
        res
    }
}

/// The state, while the thread has its connection open.
#[derive(Default)]
struct Shared(Mutex<Option<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<State>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The handle of the writer thread; the thread ends when the last handle
/// is dropped (after the batch it is running).
#[derive(Clone)]
pub struct SqliteWriter {
    tx: mpsc::Sender<Cmd>,
    shared: Arc<Shared>,
    inline_max: usize,
    /// Registered with [`super::checkpoint::register_finisher`] (weakly:
    /// it goes with the last handle).
    _finisher: Arc<super::checkpoint::Finisher>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter")
            .field("inline_max", &self.inline_max)
            .finish_non_exhaustive()
    }
}

impl SqliteWriter {
    /// Starts the thread (`sqlite-writer`); its connection is opened with
    /// `pool`'s options at the first batch (and again after a failure to
    /// open it). On a current-thread runtime, a batch of at most
    /// `inline_max` messages (0: none) is run on the caller's thread when
    /// the connection is free at that moment and no other connection holds
    /// SQLite's write lock; any other batch, every batch on a multi-thread
    /// runtime, and the search index's catch-up run on the writer thread.
    ///
    /// # Panics
    /// Outside a tokio runtime (the connection is opened through it), or
    /// when the OS refuses a thread (start-up).
    pub fn start(pool: &SqlitePool, inline_max: usize) -> SqliteWriter {
        let options = (*pool.connect_options()).clone();
        let rt = tokio::runtime::Handle::current();
        // Only on the current-thread runtime (one CPU): on the multi-thread
        // one the writer task runs as soon as a sender wakes it (tokio's
        // LIFO slot), so batches shrank to one message each, and p99 at
        // 1,000 msg/s rose to hundreds of ms (docs/benchmarks.md, issue 25
        // item 4); there the writer thread also runs beside the workers.
        let inline_max = match rt.runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => inline_max,
            _ => 0,
        };
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let on_thread = shared.clone();
        #[allow(clippy::expect_used)] // start-up: no thread, no server
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(&rt, &options, &rx, &on_thread))
            .expect("spawn the SQLite writer thread");
        let to_thread = tx.clone();
        let finisher: Arc<super::checkpoint::Finisher> =
            Arc::new(move || to_thread.send(Cmd::Checkpoint).is_ok());
        super::checkpoint::register_finisher(pool.connect_options().get_filename(), &finisher);
        SqliteWriter {
            tx,
            shared,
            inline_max,
            _finisher: finisher,
        }
    }

    /// Stores `batch` in one transaction, in order (group commit), as
    /// [`super::messages::insert_batch_with`] does; answers the batch back
    /// (for a retry) and one [`Inserted`] per input, only after the commit.
    ///
    /// A small batch (see [`SqliteWriter::start`]) may run right here,
    /// blocking the calling thread for its transaction (one message: about
    /// 100 µs on the reference machine); it never waits for a lock there.
    ///
    /// # Errors
    /// Any database error, then nothing of the batch is stored;
    /// `WorkerCrashed` (unavailable) when the thread is gone.
    pub async fn insert_batch(
        &self,
        batch: Vec<NewMessage>,
        email: EmailSchedule,
    ) -> (Vec<NewMessage>, StoreResult<Vec<Inserted>>) {
        if batch.len() <= self.inline_max
            && let Some(res) = self.try_here(&batch, &email)
        {
            return (batch, res.map_err(Into::into));
        }
        let (reply, answer) = oneshot::channel();
        let req = Request {
            batch,
            email,
            reply,
        };
        if let Err(mpsc::SendError(Cmd::Batch(req))) = self.tx.send(Cmd::Batch(req)) {
            return (req.batch, Err(sqlx::Error::WorkerCrashed.into()));
        }
        match answer.await {
            Ok(done) => done,
            // The thread died inside this batch (a panic): the batch is
            // lost to the caller, which answers every sender with an error.
            Err(_) => (Vec::new(), Err(sqlx::Error::WorkerCrashed.into())),
        }
    }

    /// Runs `batch` on this thread if the connection is free now (the
    /// writer thread is idle) and SQLite's write lock is free (no wait:
    /// busy timeout 0 for the run). `None`: it was not run (nothing
    /// stored), the writer thread takes it.
    fn try_here(
        &self,
        batch: &[NewMessage],
        email: &EmailSchedule,
    ) -> Option<Result<Vec<Inserted>, sqlx::Error>> {
        let mut guard = self.shared.0.try_lock().ok()?;
        let st = guard.as_mut()?;
        let idle = st.index.waiting == 0;
        st.conn.set_busy_timeout(0);
        let res = st.run(batch, email);
        st.conn.set_busy_timeout(st.busy_ms);
        let nudge = st.index.waiting > 0 && (idle || st.index.is_due());
        drop(guard);
        if let Err(e) = &res
            && super::error::is_sqlite_busy(e)
        {
            // Another connection writes: rolled back, the thread waits for it.
            return None;
        }
        if nudge {
            let _ = self.tx.send(Cmd::Nudge);
        }
        Some(res)
    }
}

/// The thread: opens the connection, then runs batches until every handle
/// is gone. While it cannot open it, each batch is answered with the error.
fn serve(
    rt: &tokio::runtime::Handle,
    options: &SqliteConnectOptions,
    rx: &mpsc::Receiver<Cmd>,
    shared: &Shared,
) {
    loop {
        let err = match rt.block_on(options.connect()) {
            Ok(mut conn) => {
                let ran = match rt.block_on(conn.lock_handle()) {
                    Ok(handle) => {
                        run_batches(Conn::new(handle), rx, shared);
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                match ran {
                    Ok(()) => {
                        let _ = rt.block_on(conn.close());
                        return;
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        tracing::warn!(error = %err, "the SQLite writer cannot open its connection");
        loop {
            match rx.recv() {
                Ok(Cmd::Batch(req)) => {
                    let _ = req.reply.send((req.batch, Err(err.into())));
                    break;
                }
                Ok(Cmd::Nudge | Cmd::Checkpoint) => {}
                Err(_) => return,
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Takes the state out of [`Shared`] when dropped (also while unwinding),
/// before the connection it borrows goes.
struct Unpublish<'a>(&'a Shared);

impl Drop for Unpublish<'_> {
    fn drop(&mut self) {
        drop(self.0.lock().take());
    }
}

/// Runs batches on `db` until every handle is gone, keeping the full-text
/// index close behind; then indexes what is left. `db` is shared through
/// `shared` meanwhile (small batches run on their caller's thread).
fn run_batches(db: Conn<'_>, rx: &mpsc::Receiver<Cmd>, shared: &Shared) {
    let mut db = db;
    let mut busy_ms = 0;
    let _ = db.run("PRAGMA busy_timeout", &[], |r| {
        busy_ms = r.int(0);
        Ok(())
    });
    // SAFETY: only the lifetime is changed. `db` borrows the connection
    // that `serve` holds until this function has returned; the state is
    // taken out of `shared` (under its lock, so no caller is using it) by
    // `_unpublish` when this function returns or unwinds, and nothing
    // reaches it but through that lock.
    let db: Conn<'static> = unsafe { std::mem::transmute::<Conn<'_>, Conn<'static>>(db) };
    *shared.lock() = Some(State {
        conn: db,
        index: Index::default(),
        busy_ms,
    });
    let _unpublish = Unpublish(shared);
    loop {
        let due_in = shared
            .lock()
            .as_mut()
            .and_then(|st| (st.index.waiting > 0).then(|| st.index.due_in()));
        let cmd = match due_in {
            Some(after) => match rx.recv_timeout(after) {
                Ok(c) => Some(c),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(c) => Some(c),
                Err(_) => break,
            },
        };
        match cmd {
            Some(Cmd::Batch(req)) => {
                let res = match shared.lock().as_mut() {
                    Some(st) => st.run(&req.batch, &req.email),
                    None => Err(sqlx::Error::WorkerCrashed),
                };
                let _ = req.reply.send((req.batch, res.map_err(Into::into)));
            }
            Some(Cmd::Checkpoint) => {
                if let Some(st) = shared.lock().as_mut()
                    && let Err(e) = st.conn.exec("PRAGMA wal_checkpoint(PASSIVE)", &[])
                {
                    tracing::debug!(error = %e, "the writer's checkpoint is left for the next one");
                }
            }
            Some(Cmd::Nudge) | None => {}
        }
        if let Some(st) = shared.lock().as_mut()
            && st.index.is_due()
        {
            st.index.catch_up(&mut st.conn);
        }
    }
    if let Some(st) = shared.lock().as_mut()
        && st.index.waiting > 0
    {
        st.index.catch_up(&mut st.conn);
    }
}

/// How far behind the full-text index is (messages this thread stored
/// since it last caught up).
#[derive(Default)]
struct Index {
    waiting: usize,
    first_waiting: Option<Instant>,
}

impl Index {
    fn due_in(&mut self) -> Duration {
        let since = *self.first_waiting.get_or_insert_with(Instant::now);
        FTS_EVERY.saturating_sub(since.elapsed())
    }

    fn is_due(&mut self) -> bool {
        self.waiting >= FTS_ROWS || (self.waiting > 0 && self.due_in().is_zero())
    }

    /// Indexes every stored message above the mark, in one transaction.
    /// A failure (busy) is logged and left for the next try or search.
    fn catch_up(&mut self, db: &mut Conn<'_>) {
        let res = db
            .exec("BEGIN IMMEDIATE", &[])
            .and_then(|()| db.exec(super::search::CATCH_UP_SQL, &[]))
            .and_then(|()| db.exec(super::search::CATCH_UP_MARK_SQL, &[]))
            .and_then(|()| db.exec("COMMIT", &[]));
        match res {
            Ok(()) => *self = Index::default(),
            Err(e) => {
                if db.in_transaction() {
                    let _ = db.exec("ROLLBACK", &[]);
                }
                tracing::warn!(error = %e, "the search index could not catch up; tried again later");
                self.first_waiting = Some(Instant::now());
            }
        }
    }
}

/// RFC 3339 with `+00:00`, as sqlx writes a `DateTime<Utc>` to SQLite
/// (and as every stored time is compared, as text).
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// A stored time, as sqlx reads one (RFC 3339, or `%F %T%.f` in UTC).
fn parse_time(s: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%F %T%.f").map(|t| t.and_utc()))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn decode<T: std::str::FromStr>(s: &str) -> Result<T, sqlx::Error>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn thread_id(s: &str) -> Result<ThreadId, sqlx::Error> {
    ThreadId::parse(s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A row of `message_sql::message_cols!()` (id, thread_id, content_text, type,
/// sender, file_url, created_at, client_id, internal, agent_id,
/// agent_name, edited_at).
fn message(r: &Row) -> Result<Message, sqlx::Error> {
    Ok(Message {
        id: MessageId(r.int(0)),
        thread_id: thread_id(r.text(1)?)?,
        content_text: r.text(2)?.to_owned(),
        content_type: decode(r.text(3)?)?,
        sender_type: decode(r.text(4)?)?,
        file_url: r.opt_text(5)?.map(str::to_owned),
        created_at: parse_time(r.text(6)?)?,
        client_id: r.opt_text(7)?.map(str::to_owned),
        internal: r.int(8) != 0,
        agent_id: r.opt_int(9).map(AgentId),
        sender_name: r.opt_text(10)?.map(str::to_owned),
        edited_at: r.opt_text(11)?.map(parse_time).transpose()?,
    })
}

/// One batch, `BEGIN` to `COMMIT` (the caller rolls back after an error).
fn run_batch(
    db: &mut Conn<'_>,
    batch: &[NewMessage],
    email: &EmailSchedule,
) -> Result<Vec<Inserted>, sqlx::Error> {
    let now = super::now();
    let now_text = time_text(now);
    let now_arg = Arg::Text(&now_text);
    // `BEGIN IMMEDIATE`: the write lock now, so a busy database is met
    // before any work (and waited for by `busy_timeout`), never at a
    // read-to-write upgrade inside the batch.
    db.exec("BEGIN IMMEDIATE", &[])?;

    let new_threads = batch::new_threads(batch);
    let mut created: HashSet<ThreadId> = HashSet::new();
    for (start, len) in chunks(new_threads.len()) {
        let mut args = vec![now_arg];
        for (id, name) in &new_threads[start..start + len] {
            args.extend([Arg::Text(id.as_str()), Arg::Text(name)]);
        }
        db.run(thread_insert_sql(len), &args, |r| {
            created.insert(thread_id(r.text(0)?)?);
            Ok(())
        })?;
    }

    let mut stored: Vec<Message> = Vec::with_capacity(batch.len());
    for (start, len) in chunks(batch.len()) {
        let mut args = Vec::with_capacity(1 + 9 * len);
        args.push(now_arg);
        for m in &batch[start..start + len] {
            args.extend([
                Arg::Text(m.thread_id.as_str()),
                Arg::Text(m.sender.as_str()),
                Arg::Text(m.kind.as_str()),
                Arg::Text(&m.text),
                m.file_url.as_ref().into(),
                m.client_id.as_ref().into(),
                m.internal.into(),
                m.agent_id.map(AgentId::get).into(),
                m.agent_name.as_ref().into(),
            ]);
        }
        db.run(message_insert_sql(len), &args, |r| {
            stored.push(message(r)?);
            Ok(())
        })?;
    }
    let mut out = Vec::with_capacity(batch.len());
    for (m, slot) in batch
        .iter()
        .zip(batch::match_stored(batch, &created, stored)?)
    {
        out.push(match slot {
            batch::Slot::Done(i) => i,
            batch::Slot::Lookup { thread_created } => {
                let mut found = None;
                let args = [Arg::Text(m.thread_id.as_str()), m.client_id.as_ref().into()];
                db.run(BY_CLIENT_ID_SQL, &args, |r| {
                    found = Some(message(r)?);
                    Ok(())
                })?;
                batch::retried(m, found.ok_or(sqlx::Error::RowNotFound)?, thread_created)
            }
        });
    }

    let forwards = batch::forwards(batch, &out);
    for (start, len) in chunks(forwards.len()) {
        let mut args = vec![now_arg];
        for (id, thread, key) in &forwards[start..start + len] {
            args.extend([Arg::Int(*id), Arg::Text(thread), (*key).into()]);
        }
        db.exec(outbox_insert_sql(len), &args)?;
    }

    let (by_visitor, admin_only) = batch::touches(batch, &out);
    let mut reopened: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
    for (start, len) in chunks(by_visitor.len()) {
        let mut args = vec![now_arg];
        args.extend(
            by_visitor[start..start + len]
                .iter()
                .map(|id| Arg::Text(id)),
        );
        db.run(visitor_touch_sql(len), &args, |r| {
            // `status_changed_at` is now only for the threads it reopened.
            if r.opt_text(1)? == Some(now_text.as_str()) {
                let blocked_at = r.opt_text(2)?.map(parse_time).transpose()?;
                reopened.insert(r.text(0)?.to_owned(), blocked_at);
            }
            Ok(())
        })?;
    }
    for (start, len) in chunks(admin_only.len()) {
        let mut args = vec![now_arg];
        args.extend(
            admin_only[start..start + len]
                .iter()
                .map(|id| Arg::Text(id)),
        );
        db.exec(touch_sql(len), &args)?;
    }
    for (thread, id, chat, tg_message) in batch::tg_links(batch, &out) {
        let args = [
            Arg::Text(thread),
            Arg::Int(id),
            Arg::Text(&chat),
            Arg::Int(tg_message),
        ];
        db.exec(super::topics::LINK_ADMIN_SQL, &args)?;
    }
    for (thread, sql, due) in batch::email_checks(batch, &out, email, now) {
        let due = time_text(due);
        db.exec(sql, &[now_arg, Arg::Text(thread), Arg::Text(&due)])?;
    }
    batch::mark_reopened(&mut out, reopened);

    db.exec("COMMIT", &[])?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;
    use crate::domain::{MessageType, Role};
    use crate::store::{Db, messages, search};

    fn msg(thread: &str, sender: Role, text: &str, client_id: Option<&str>) -> NewMessage {
        NewMessage {
            thread_id: thread.into(),
            sender,
            kind: MessageType::Text,
            text: text.into(),
            file_url: None,
            client_id: client_id.map(Into::into),
            new_thread: (sender == Role::Visitor).then(|| format!("Visitor {}", &thread[..4])),
            forward: sender == Role::Visitor,
            internal: false,
            tg_link: None,
            agent_id: None,
            agent_name: Some("Ayşe".into()).filter(|_| sender == Role::Admin),
            client_key: (sender == Role::Visitor).then(|| "127.0.0.1".into()),
        }
    }

    async fn open(dir: &tempfile::TempDir, name: &str) -> (Db, SqlitePool) {
        let db = Db::connect(&DatabaseConfig::Sqlite(dir.path().join(name)))
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let Db::Sqlite(pool) = &db else {
            unreachable!("a SQLite path")
        };
        let pool = pool.clone();
        (db, pool)
    }

    /// What an outcome says, without the times (each database has its own).
    fn shape(out: &[Inserted]) -> Vec<String> {
        out.iter()
            .map(|i| {
                let m = &i.message;
                format!(
                    "{} {} {} {:?} {:?} {:?} created={} dup={} conflict={} reopened={}",
                    m.id,
                    m.thread_id.as_str(),
                    m.content_text,
                    m.sender_type,
                    m.client_id,
                    m.sender_name,
                    i.thread_created,
                    i.duplicate,
                    i.conflict,
                    i.thread_reopened
                )
            })
            .collect()
    }

    /// The writer thread stores and answers exactly what the sqlx executor
    /// does (new threads, keys repeated in and across batches, another
    /// sender's key, an agent's message, a reopened thread, outbox rows),
    /// and a search finds its messages before the index's own catch-up.
    #[tokio::test]
    async fn the_writer_thread_stores_what_the_sqlx_executor_stores() {
        // 0: every batch on the writer thread; 64: every batch here.
        for inline_max in [0, 64] {
            stores_what_the_sqlx_executor_stores(inline_max).await;
        }
    }

    async fn stores_what_the_sqlx_executor_stores(inline_max: usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (via_sqlx, _) = open(&dir, "sqlx.db").await;
        let (via_thread, pool) = open(&dir, "thread.db").await;
        let writer = SqliteWriter::start(&pool, inline_max);
        let a = "aaaaaaaa-0000-4000-8000-000000000001";
        let b = "bbbbbbbb-0000-4000-8000-000000000002";
        let batches = [
            vec![msg(a, Role::Visitor, "earlier şeker", Some("k0"))],
            vec![
                msg(b, Role::Visitor, "new thread", Some("k1")),
                msg(b, Role::Visitor, "same key again", Some("k1")),
                msg(a, Role::Visitor, "retry of earlier", Some("k0")),
                msg(a, Role::Admin, "another sender's key", Some("k1")),
                msg(a, Role::Admin, "an answer", None),
                msg(b, Role::Visitor, "no key İstanbul", None),
            ],
        ];
        for batch in &batches {
            let expected = messages::insert_batch(&via_sqlx, batch)
                .await
                .expect("sqlx");
            let (back, got) = writer.insert_batch(batch.clone(), EmailSchedule::OFF).await;
            assert_eq!(back.len(), batch.len());
            assert_eq!(shape(&got.expect("thread")), shape(&expected));
        }
        sqlx::query("UPDATE threads SET status = 'closed'")
            .execute(&pool)
            .await
            .expect("close");
        let (_, got) = writer
            .insert_batch(
                vec![msg(a, Role::Visitor, "back again", None)],
                EmailSchedule::OFF,
            )
            .await;
        let got = got.expect("reopen");
        assert!(got[0].thread_reopened, "{:?}", shape(&got));

        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .expect(sql)
            }
        };
        assert_eq!(count("SELECT COUNT(*) FROM telegram_outbox").await, 4);
        assert_eq!(count("SELECT COUNT(*) FROM messages").await, 6);
        for (word, n) in [("şeker", 1), ("istanbul", 1), ("again", 1)] {
            let found = search::messages(&via_thread, &[word.into()], 10, None)
                .await
                .expect("search");
            assert_eq!(found.len(), n, "{word}");
        }
    }

    /// Writes without a pause still let the write-ahead log start over
    /// (`store::checkpoint`: the pool's passive checkpoint, then the
    /// writer's own between two batches). With the pool's checkpoint alone
    /// the log was never wholly copied while commits kept coming, so the
    /// file grew by every frame written (645 MB in 30 s at 1,000 msg/s).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_writes_without_a_pause() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_db, pool) = open(&dir, "steady.db").await;
        let writer = SqliteWriter::start(&pool, 0);
        let a = "aaaaaaaa-0000-4000-8000-000000000001";
        let shm = dir.path().join("steady.db-shm");
        // The log's length in frames (`mxFrame`, offset 16 of the WAL index
        // header at the start of the `-shm` file, native byte order).
        let frames = || {
            let head = std::fs::read(&shm).ok()?;
            Some(u32::from_ne_bytes(head.get(16..20)?.try_into().ok()?))
        };
        let started = Instant::now();
        let (mut commits, mut longest, mut rewinds, mut last) = (0u64, 0u32, 0u32, 0u32);
        // Back-to-back commits until the log has started over twice (or
        // 6 s: a dozen of the pool's checkpoint passes).
        while rewinds < 2 && started.elapsed() < Duration::from_secs(6) {
            let (_, got) = writer
                .insert_batch(
                    vec![msg(a, Role::Visitor, "steady", None)],
                    EmailSchedule::OFF,
                )
                .await;
            got.expect("stored");
            commits += 1;
            let now = frames().expect("the WAL index");
            if now < last {
                rewinds += 1;
            }
            last = now;
            longest = longest.max(now);
        }
        assert!(
            rewinds >= 2,
            "the log never started over: {longest} frames at most, {commits} commits"
        );
    }

    /// A batch that may run on the caller's thread while another
    /// connection holds SQLite's write lock is not refused as busy: it goes
    /// to the writer thread, which waits for the lock (`busy_timeout`) and
    /// stores it once the other transaction ends.
    #[tokio::test]
    async fn a_small_batch_meeting_a_locked_database_waits_on_the_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_db, pool) = open(&dir, "locked.db").await;
        let writer = SqliteWriter::start(&pool, 64);
        let a = "aaaaaaaa-0000-4000-8000-000000000001";
        // The connection opens at the first batch.
        let (_, first) = writer
            .insert_batch(
                vec![msg(a, Role::Visitor, "first", None)],
                EmailSchedule::OFF,
            )
            .await;
        first.expect("first batch");

        let mut other = pool.acquire().await.expect("acquire");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *other)
            .await
            .expect("lock");
        let w = writer.clone();
        let send = tokio::spawn(async move {
            w.insert_batch(
                vec![msg(a, Role::Visitor, "second", None)],
                EmailSchedule::OFF,
            )
            .await
        });
        // Let the batch meet the lock (if it runs later, it meets none).
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("COMMIT")
            .execute(&mut *other)
            .await
            .expect("unlock");
        drop(other);
        let (_, second) = send.await.expect("task");
        let second = second.expect("stored after the lock was released, not refused as busy");
        assert_eq!(second[0].message.content_text, "second");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(n, 2);
    }
}
