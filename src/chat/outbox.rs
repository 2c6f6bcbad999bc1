//! The Telegram outbox as the chat core keeps it: forwards waiting for
//! Telegram (queued by the writer in the transaction that stores a visitor
//! message, or an agent's answer or note written outside Telegram, which is
//! mirrored into the thread's topic), the receipts waiting to be shown, and the right to send them
//! (one sender across instances). The Telegram adapter
//! (`telegram::outbox`) asks here what is due and reports what happened;
//! it never touches the database itself.
//!
//! Statuses of a forward: [`OutboxStatus`]. The worker is woken by the
//! core's [`ChatEvent::OutboxDue`](super::ChatEvent::OutboxDue) events.

use crate::domain::{LinkId, MessageId, OutboxId, ThreadId};
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use super::{ChatEvent, ChatResult, events::Publisher};
use crate::store::{self, Db};

pub use crate::domain::{DueReceipt, OutboxItem, OutboxStatus, VisitorContext};
pub use crate::store::topics::level as receipt_level;

/// The outbox service; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    events: Arc<Publisher>,
    /// The sender's lock, shared by [`Outbox::leader`] and [`Outbox::claim`].
    lock: store::outbox::Leader,
}

impl Outbox {
    pub(super) fn new(db: Db, events: Arc<Publisher>) -> Self {
        Outbox {
            db,
            events,
            lock: store::outbox::Leader::default(),
        }
    }

    /// Claims `item` right before a Bot API call sends its part `part`
    /// (0-based): true while this instance still holds the sender's lock
    /// and the row is still pending at that part
    /// ([`store::outbox::Leader::claim`]). `false` (also on a database
    /// error): do not send, abort the batch.
    pub async fn claim(&self, item: &OutboxItem, part: i32) -> bool {
        match self.lock.claim(&self.db, item.id, part).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(outbox_id = %item.id, error = %e, "cannot claim an outbox row");
                false
            }
        }
    }

    /// The heads of at most `limit` threads due at `now`, oldest first
    /// (per thread only its oldest pending forward; of one client address
    /// only its `per_address` oldest heads; [`store::outbox::due_heads`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        per_address: i64,
    ) -> ChatResult<Vec<OutboxItem>> {
        Ok(store::outbox::due_heads(&self.db, now, limit, per_address).await?)
    }

    /// The pending forwards of `thread_id` from its head on, in order, at
    /// most `limit` (what a coalesced forward may carry).
    ///
    /// # Errors
    /// Database errors.
    pub async fn pending_of(&self, thread_id: &str, limit: i64) -> ChatResult<Vec<OutboxItem>> {
        Ok(store::outbox::pending_of(&self.db, thread_id, limit).await?)
    }

    /// The forwards `items` reached Telegram together as message
    /// `tg_message_id` of chat `tg_chat_id` (a coalesced forward): each
    /// [`OutboxStatus::Sent`] and linked to it, in one transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn coalesced_sent(
        &self,
        items: &[OutboxItem],
        tg_chat_id: i64,
        tg_message_id: i64,
    ) -> ChatResult<()> {
        Ok(store::outbox::coalesced_sent(&self.db, items, tg_chat_id, tg_message_id).await?)
    }

    /// When the earliest head that is not due yet becomes due.
    ///
    /// # Errors
    /// Database errors.
    pub async fn next_due(&self) -> ChatResult<Option<DateTime<Utc>>> {
        Ok(store::outbox::next_due(&self.db).await?)
    }

    /// Part `part` (0-based) of `item` reached Telegram as message
    /// `tg_message_id` of chat `tg_chat_id`: counted and linked to its
    /// thread in one transaction; with `last` the forward is
    /// [`OutboxStatus::Sent`].
    ///
    /// # Errors
    /// Database errors.
    pub async fn part_sent(
        &self,
        item: &OutboxItem,
        part: i32,
        last: bool,
        tg_chat_id: i64,
        tg_message_id: i64,
    ) -> ChatResult<()> {
        Ok(store::outbox::part_sent(&self.db, item, part, last, tg_chat_id, tg_message_id).await?)
    }

    /// A forward with nothing left to send: [`OutboxStatus::Sent`].
    ///
    /// # Errors
    /// Database errors.
    pub async fn sent(&self, id: OutboxId) -> ChatResult<()> {
        Ok(store::outbox::mark_sent(&self.db, id).await?)
    }

    /// Tries forward `id` again at `at`, recording `error`; `count_attempt`
    /// counts this try (a 429 does not).
    ///
    /// # Errors
    /// Database errors.
    pub async fn retry(
        &self,
        id: OutboxId,
        at: DateTime<Utc>,
        count_attempt: bool,
        error: &str,
    ) -> ChatResult<()> {
        let status = OutboxStatus::Pending;
        Ok(store::outbox::mark_failed(&self.db, id, status, at, count_attempt, error).await?)
    }

    /// Gives forward `id` up ([`OutboxStatus::Dead`]), recording `error`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn give_up(&self, id: OutboxId, error: &str) -> ChatResult<()> {
        let status = OutboxStatus::Dead;
        Ok(store::outbox::mark_failed(&self.db, id, status, Utc::now(), true, error).await?)
    }

    /// Drops forward `id`, whose message was cleared ([`OutboxStatus::Dropped`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn drop_cleared(&self, id: OutboxId) -> ChatResult<()> {
        let status = OutboxStatus::Dropped;
        Ok(store::outbox::mark_failed(&self.db, id, status, Utc::now(), false, "cleared").await?)
    }

    /// Drops the mirror `id` of an agent's message: the admin chat has no
    /// topics (reply mode), where agents' messages are not mirrored
    /// ([`OutboxStatus::Dropped`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn drop_unmirrored(&self, id: OutboxId) -> ChatResult<()> {
        let status = OutboxStatus::Dropped;
        let why = "no topic: agents' messages are mirrored in topic mode only";
        Ok(store::outbox::mark_failed(&self.db, id, status, Utc::now(), false, why).await?)
    }

    /// How many forwards wait.
    ///
    /// # Errors
    /// Database errors.
    pub async fn backlog(&self) -> ChatResult<i64> {
        Ok(store::outbox::backlog(&self.db).await?)
    }

    /// How many forwards wait, and since when the oldest does.
    ///
    /// # Errors
    /// Database errors.
    pub async fn backlog_age(&self) -> ChatResult<(i64, Option<DateTime<Utc>>)> {
        Ok(store::outbox::backlog_age(&self.db).await?)
    }

    /// The visitor context to add to a forward of message `message_id`:
    /// only for the thread's first visitor message.
    ///
    /// # Errors
    /// Database errors.
    pub async fn first_forward_context(
        &self,
        thread_id: &ThreadId,
        message_id: MessageId,
    ) -> ChatResult<Option<VisitorContext>> {
        Ok(
            store::visitors::for_first_forward(&self.db, thread_id, message_id)
                .await?
                .map(super::visitors::redacted),
        )
    }

    /// At most `limit` receipts not shown yet, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn due_receipts(&self, limit: i64) -> ChatResult<Vec<DueReceipt>> {
        Ok(store::topics::due_receipts(&self.db, limit).await?)
    }

    /// Receipt `level` of link `id` was shown (or given up).
    ///
    /// # Errors
    /// Database errors.
    pub async fn receipt_shown(&self, id: LinkId, level: i32) -> ChatResult<()> {
        Ok(store::topics::receipt_shown(&self.db, id, level).await?)
    }

    /// The visitor of `thread_id` has received (or seen, by `level`) every
    /// admin message up to `up_to`; wakes the outbox worker when a
    /// Telegram message gets a new receipt to show.
    ///
    /// # Errors
    /// Database errors.
    pub async fn note_receipt(
        &self,
        thread_id: &ThreadId,
        up_to: MessageId,
        level: i32,
    ) -> ChatResult<()> {
        let n = store::topics::note_receipt(&self.db, thread_id, up_to, level).await?;
        if n > 0 {
            self.events.publish(ChatEvent::OutboxDue).await;
        }
        Ok(())
    }

    /// How often the worker should look again although nothing woke it:
    /// on Postgres another instance may queue forwards without waking this
    /// one (every second); on SQLite never (one instance).
    pub fn recheck_every(&self) -> Option<Duration> {
        match self.db {
            Db::Postgres(_) => Some(Duration::from_secs(1)),
            Db::Sqlite(_) => None,
        }
    }

    /// The right to send the outbox (see [`Leader`]).
    pub fn leader(&self) -> Leader {
        Leader {
            db: self.db.clone(),
            inner: self.lock.clone(),
        }
    }
}

/// The right to send the outbox: of several instances on one Postgres
/// exactly one holds it (an advisory lock); on SQLite it is always held.
/// Each send is fenced by [`Outbox::claim`] on the same lock.
pub struct Leader {
    db: Db,
    inner: store::outbox::Leader,
}

impl Drop for Leader {
    /// The sender stopped: the lock's connection is closed (else the
    /// [`Outbox`] it shares the lock with would keep it out of the pool,
    /// and closing the pool would wait for it).
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl Leader {
    /// Is this instance the sender now? Takes the right when free.
    pub async fn hold(&self) -> bool {
        self.inner.hold(&self.db).await
    }
}
