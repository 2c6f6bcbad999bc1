//! Group commit: a writer task takes queued messages, stores up to
//! [`MAX_BATCH`] of them in one transaction, then answers each sender and
//! publishes the events. A message is answered only after its commit.
//!
//! SQLite has one writer at a time, so it gets one task, which hands each
//! batch whole to the thread that owns the writing connection
//! ([`crate::store::sqlite_writer`], issue 25: one hand-off per batch, not
//! one per statement; a batch of a few messages is run on this task's
//! thread when that connection is idle, with no hand-off at all). Postgres can
//! commit in parallel: `POSTGRES_WRITERS` tasks (default 1); a thread
//! always goes to the same one, which keeps each thread's messages in
//! order (ids, acks and events). Measured on 2 cores (docs/benchmarks.md),
//! one writer is best: 4 made p99 six times worse at 2,500 msg/s (the
//! database's processes compete with the server for the same cores).

use crate::domain::ThreadId;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{ChatEvent, ThreadInfo, events::Publisher};
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::{EmailSchedule, Inserted, NewMessage};
use crate::store::{Db, StoreResult, messages, sqlite_writer::SqliteWriter};

/// Most messages committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// One queued message and where to send its outcome.
pub(super) struct Job {
    pub msg: NewMessage,
    pub reply: oneshot::Sender<ChatResult<Inserted>>,
}

/// Messages queued for all writers together before senders wait.
const QUEUE: usize = 8 * 1024;

/// The writer tasks' queues; a thread's messages always go to the same one.
#[derive(Clone)]
pub(super) struct Writers(Arc<[mpsc::Sender<Job>]>);

impl Writers {
    /// The queue of `thread_id`'s writer.
    pub(super) fn for_thread(&self, thread_id: &ThreadId) -> &mpsc::Sender<Job> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let n = self.0.len();
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(thread_id);
        // The remainder is below `n`: it fits a usize.
        &self.0[usize::try_from(h % n as u64).unwrap_or(0)]
    }
}

pub(super) fn spawn(
    db: Db,
    events: Arc<Publisher>,
    postgres_writers: usize,
    sqlite_inline: usize,
    names: Arc<crate::domain::SenderNames>,
    email: super::email::Schedule,
) -> Writers {
    let n = match db {
        Db::Sqlite(_) => 1,
        Db::Postgres(_) => postgres_writers.max(1),
    };
    let queues = (0..n)
        .map(|_| {
            let (tx, rx) = mpsc::channel(QUEUE / n);
            let target = match &db {
                Db::Sqlite(p) => Target::Thread(SqliteWriter::start(p, sqlite_inline)),
                Db::Postgres(_) => Target::Pool(db.clone()),
            };
            tokio::spawn(run(
                target,
                events.clone(),
                names.clone(),
                email.clone(),
                rx,
            ));
            tx
        })
        .collect();
    Writers(queues)
}

/// Where a writer task's batches are stored.
enum Target {
    /// SQLite: the writer thread's connection.
    Thread(SqliteWriter),
    /// Postgres: a pooled connection per batch.
    Pool(Db),
}

async fn run(
    target: Target,
    events: Arc<Publisher>,
    names: Arc<crate::domain::SenderNames>,
    email: super::email::Schedule,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (batch, replies): (Vec<NewMessage>, Vec<_>) =
            jobs.drain(..).map(|j| (j.msg, j.reply)).unzip();
        // Forwards queued, or admin replies linked to Telegram (a receipt may wait for them).
        let outbox_due = batch.iter().any(|m| m.forward || m.tg_link.is_some());
        let started = std::time::Instant::now();
        let n = batch.len();
        let (batch, res) = insert_batch(&target, batch, email.plan).await;
        crate::metrics::commit(n, started.elapsed());
        // Email checks may have been scheduled: the worker looks again.
        email.wake();
        match res {
            Ok(done) => {
                if outbox_due {
                    events.publish(ChatEvent::OutboxDue).await;
                }
                for ((msg, reply), inserted) in batch.into_iter().zip(replies).zip(done) {
                    finish(&events, &names, &msg, reply, Ok(inserted)).await;
                }
            }
            Err(e) if n > 1 && batch.len() == n => {
                // One bad row must not fail its neighbours: retry one by one.
                tracing::warn!(error = %e, n, "batch insert failed, retrying singly");
                for (msg, reply) in batch.into_iter().zip(replies) {
                    let (mut one, res) = insert_batch(&target, vec![msg], email.plan).await;
                    let res = res.map(|mut v| v.remove(0)).map_err(ChatError::from);
                    match one.pop() {
                        Some(msg) => finish(&events, &names, &msg, reply, res).await,
                        None => {
                            let _ = reply.send(res);
                        }
                    }
                }
                if outbox_due {
                    events.publish(ChatEvent::OutboxDue).await;
                }
            }
            Err(e) => {
                let e = ChatError::from(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// Pauses before each new try after a SQLite busy answer.
const BUSY_RETRIES: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(50),
    std::time::Duration::from_millis(250),
];

/// No new try starts once this long has passed since the first one (each
/// try may wait SQLite's `busy_timeout`, 5 s): a client hears 503 within
/// about two busy timeouts.
const BUSY_RETRY_WITHIN: std::time::Duration = std::time::Duration::from_secs(8);

/// Stores `batch` on `target` ([`messages::insert_batch_with`] or the
/// SQLite writer thread), tried again (at most [`BUSY_RETRIES`], none
/// after [`BUSY_RETRY_WITHIN`]) when SQLite answers busy or locked: the
/// transaction was rolled back, so nothing is stored twice (SQLite's own
/// advice for `SQLITE_BUSY`, <https://www.sqlite.org/rescode.html#busy>).
/// Seen twice on a loaded 2-core CI machine on a visitor's send right after
/// the outbox had waited out a Telegram 429. Only then does the sender hear
/// 503.
async fn insert_batch(
    target: &Target,
    batch: Vec<NewMessage>,
    email: EmailSchedule,
) -> (Vec<NewMessage>, StoreResult<Vec<Inserted>>) {
    let first = std::time::Instant::now();
    let (mut batch, mut res) = store(target, batch, email).await;
    for pause in BUSY_RETRIES {
        match &res {
            Err(e) if e.is_sqlite_busy() && first.elapsed() < BUSY_RETRY_WITHIN => {
                tracing::warn!(
                    error = %e,
                    n = batch.len(),
                    after_ms = first.elapsed().as_millis() as u64,
                    "SQLite busy; the batch is tried again"
                );
                tokio::time::sleep(pause).await;
                (batch, res) = store(target, batch, email).await;
            }
            _ => break,
        }
    }
    (batch, res)
}

/// One try of [`insert_batch`]; the batch comes back for the next.
async fn store(
    target: &Target,
    batch: Vec<NewMessage>,
    email: EmailSchedule,
) -> (Vec<NewMessage>, StoreResult<Vec<Inserted>>) {
    match target {
        Target::Thread(w) => w.insert_batch(batch, email).await,
        Target::Pool(db) => {
            let res = messages::insert_batch_with(db, &batch, &email).await;
            (batch, res)
        }
    }
}

/// Publishes what `msg` stored (waiting while the broadcaster's queue is
/// full: back-pressure, never a dropped event), then answers the sender.
/// An agent's message is published and answered named as agents see it
/// ([`crate::domain::SenderNames::show`]: no lookup, the stored snapshot or
/// `ADMIN_DISPLAY_NAME`); the broadcaster renames it for visitors.
async fn finish(
    events: &Publisher,
    names: &crate::domain::SenderNames,
    msg: &NewMessage,
    reply: oneshot::Sender<ChatResult<Inserted>>,
    mut res: ChatResult<Inserted>,
) {
    if let Ok(ins) = &mut res {
        names.show(&mut ins.message, crate::domain::Role::Admin);
    }
    if let Ok(ins) = &res {
        if ins.thread_created {
            events
                .publish(ChatEvent::ThreadCreated(ThreadInfo {
                    id: ins.message.thread_id.clone(),
                    display_name: msg.new_thread.clone().unwrap_or_default(),
                    created_at: ins.message.created_at,
                    status: super::status::ThreadStatus::Open,
                }))
                .await;
        }
        if ins.thread_reopened {
            events
                .publish(ChatEvent::ThreadUpdated(super::status::ThreadUpdate {
                    id: ins.message.thread_id.clone(),
                    status: super::status::ThreadStatus::Open,
                    blocked: ins.blocked_at.is_some(),
                    blocked_at: ins.blocked_at.as_ref().map(crate::domain::rfc3339_string),
                    change: Some(super::status::Change::Visitor),
                    by: None,
                    assignee: None,
                }))
                .await;
        }
        if !ins.duplicate {
            crate::metrics::message_stored(msg.sender.as_str());
            events
                .publish(ChatEvent::MessageStored(ins.message.clone()))
                .await;
        }
    }
    let _ = reply.send(res);
}
