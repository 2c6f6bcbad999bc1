//! The chat core: threads and messages, posting (with group commit),
//! clearing, listing, unread marks. It knows nothing of HTTP, Socket.IO or
//! Telegram; those adapters call it and subscribe to the [`ChatEvent`]s it
//! publishes after each commit (`shared/DESIGN.md` § Architecture).

pub mod actor;
pub mod assignment;
pub mod canned;
pub mod edits;
pub mod email;
pub mod erase;
pub mod error;
pub mod events;
mod media_urls;
pub mod outbox;
pub mod overload;
mod post;
pub mod search;
pub mod status;
pub mod telegram_links;
pub mod thread_events;
pub mod visitors;
mod writer;

pub use crate::domain::{ListFilter, Thread, ThreadListItem};
pub use crate::domain::{MessageId, MessageType, OutboxStatus, Role, ThreadId};
pub use actor::Actor;
pub use error::{ChatError, ChatResult};
pub use media_urls::MediaUrls;
pub use post::{
    ENQUEUE_WAIT, MISSING_UPLOAD, NOTE_FORBIDDEN, PostRequest, Posted, Sender, TelegramLink,
};

use serde::Serialize;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::domain::Message;
use crate::store::{Db, messages, threads};

/// Longest text of a message, in characters after trimming (issue #2).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Default and largest page size of `GET /api/messages/{thread_id}`.
pub const PAGE_DEFAULT: i64 = 50;
/// Largest page size.
pub const PAGE_MAX: i64 = 200;
/// The thread summary sent with `thread_created`: `{id, display_name, created_at, status}`.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadInfo {
    /// Thread id.
    pub id: ThreadId,
    /// Display name.
    pub display_name: String,
    /// RFC 3339 UTC.
    #[serde(serialize_with = "crate::domain::rfc3339")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// `open` (a new thread).
    pub status: status::ThreadStatus,
}

/// What happened, published after the commit.
#[derive(Clone, Debug)]
pub enum ChatEvent {
    /// A new message was stored (not sent for de-duplicated retries).
    MessageStored(Message),
    /// A stored message's text changed: an agent edited its answer in
    /// Telegram ([`edits`], issue 23 item 6). Carries the message as now
    /// stored (with `edited_at`): `message_updated`.
    MessageUpdated(Message),
    /// A visitor's first message created its thread.
    ThreadCreated(ThreadInfo),
    /// The admin cleared a thread.
    Cleared {
        /// The thread.
        thread_id: ThreadId,
    },
    /// A thread was erased with all it held ([`erase`]): `thread_erased`
    /// to admins and to the thread's room.
    Erased {
        /// The thread.
        thread_id: ThreadId,
    },
    /// A canned reply was created, changed or deleted ([`canned`]).
    CannedUpdated(canned::CannedChange),
    /// A thread's status or block changed (admin close / reopen / block /
    /// unblock, or a visitor's message reopened it): `thread_updated`.
    ThreadUpdated(status::ThreadUpdate),
    /// Something waits for Telegram: a forward was queued, or a receipt (or
    /// the link it needs) was recorded. Wakes the outbox worker; not
    /// broadcast to sockets.
    OutboxDue,
}

/// Handle to the chat core; cheap to clone.
#[derive(Clone)]
pub struct Chat {
    db: Db,
    writer: writer::Writers,
    events: Arc<events::Publisher>,
    options: Arc<ChatOptions>,
    outbox: outbox::Outbox,
    links: telegram_links::TelegramLinks,
    visitors: visitors::Visitors,
    emails: email::Emails,
    blocks: Arc<status::Blocks>,
    activity: Arc<assignment::AgentActivity>,
}

/// What the core is configured with.
#[derive(Clone, Debug, Default)]
pub struct ChatOptions {
    /// Queue every visitor message for Telegram (outbox) in its transaction.
    pub forward_to_telegram: bool,
    /// Group-commit writers on Postgres (0 is taken as 1; SQLite: always 1).
    pub postgres_writers: usize,
    /// SQLite on the current-thread runtime: most messages of a batch run
    /// on the writer task's own thread when the connection is free
    /// (`SQLITE_INLINE_BATCH`; 0: every batch goes to the writer thread), see
    /// [`crate::store::sqlite_writer::SqliteWriter::start`].
    pub sqlite_inline_batch: usize,
    /// The media URLs `image` / `audio` messages may carry.
    pub media_urls: MediaUrls,
    /// How new threads are assigned (`ASSIGNMENT`).
    pub assignment: assignment::AssignmentMode,
    /// How agents' messages are named (`AGENT_NAMES_VISIBLE`,
    /// `ADMIN_DISPLAY_NAME`).
    pub names: crate::domain::SenderNames,
    /// What the writer schedules for the email outbox (issue 26;
    /// [`crate::domain::EmailSchedule::OFF`] when email is off).
    pub email: crate::domain::EmailSchedule,
    /// A close schedules a transcript email (`EMAIL_TRANSCRIPT_ON_CLOSE`).
    pub email_transcript_on_close: bool,
}

/// The display name of a visitor's thread: `Visitor` and the first four hex
/// digits of its id, e.g. `Visitor 3F2A`.
pub fn display_name_for(thread_id: &str) -> String {
    let tag: String = thread_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(4)
        .collect();
    format!("Visitor {}", tag.to_uppercase())
}

impl Chat {
    /// Starts the core and its group-commit writer task on the current runtime.
    pub fn start(db: Db, options: ChatOptions) -> Chat {
        let events = Arc::new(events::Publisher::default());
        let email_schedule = email::Schedule {
            plan: options.email,
            wake: Arc::default(),
        };
        let writer = writer::spawn(
            db.clone(),
            events.clone(),
            options.postgres_writers,
            options.sqlite_inline_batch,
            Arc::new(options.names.clone()),
            email_schedule.clone(),
        );
        let round_robin = (options.assignment == assignment::AssignmentMode::RoundRobin)
            .then(|| events.subscribe());
        let activity = Arc::<assignment::AgentActivity>::default();
        if let Some(rx) = round_robin {
            let rr = assignment::RoundRobin {
                db: db.clone(),
                activity: activity.clone(),
                events: Arc::downgrade(&events),
            };
            tokio::spawn(rr.run(rx));
        }
        Chat {
            outbox: outbox::Outbox::new(db.clone(), events.clone()),
            links: telegram_links::TelegramLinks::new(db.clone()),
            visitors: visitors::Visitors::new(db.clone()),
            emails: email::Emails::new(db.clone(), email_schedule),
            db,
            writer,
            events,
            options: Arc::new(options),
            blocks: Arc::default(),
            activity,
        }
    }

    /// The email outbox (issue 26).
    pub fn emails(&self) -> &email::Emails {
        &self.emails
    }

    /// The Telegram outbox: forwards and receipts waiting for Telegram.
    pub fn outbox(&self) -> &outbox::Outbox {
        &self.outbox
    }

    /// Telegram links, topics and buttons of the threads.
    pub fn telegram_links(&self) -> &telegram_links::TelegramLinks {
        &self.links
    }

    /// Visitor contexts (page, identity).
    pub fn visitors(&self) -> &visitors::Visitors {
        &self.visitors
    }

    /// `SELECT 1`: does the database answer? (health probes)
    pub async fn ping(&self) -> bool {
        self.db.ping().await
    }

    /// `"sqlite"` or `"postgres"` (`/health`).
    pub fn database_kind(&self) -> &'static str {
        self.db.kind()
    }

    /// How agents' messages are named (for the adapters that show them to
    /// visitors: the Socket.IO broadcaster).
    pub fn names(&self) -> &crate::domain::SenderNames {
        &self.options.names
    }

    /// Subscribes to events published after each commit: every event, in
    /// order, never dropped (a subscriber that does not read slows the
    /// writer down instead; see [`events`]).
    pub fn subscribe(&self) -> mpsc::Receiver<ChatEvent> {
        self.events.subscribe()
    }

    /// A page of a thread as `reader` may see it, oldest first (see
    /// [`messages::page`]): a visitor's page never holds an internal note
    /// ([`Message::visible_to`]), and names agents as
    /// [`crate::domain::SenderNames::show`] says; `limit` is clamped to 1..=200. Every
    /// history shown outside the agents (visitor pages and catch-up, later
    /// e-mail transcripts and exports) reads through here with
    /// `Role::Visitor`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn page(
        &self,
        reader: Role,
        thread_id: &ThreadId,
        limit: Option<i64>,
        before: Option<MessageId>,
        after: Option<MessageId>,
    ) -> ChatResult<Vec<Message>> {
        let limit = limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX);
        let mut page = messages::page(&self.db, reader, thread_id, limit, before, after).await?;
        for m in &mut page {
            self.options.names.show(m, reader);
        }
        Ok(page)
    }

    /// A thread by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread(&self, thread_id: &ThreadId) -> ChatResult<Option<Thread>> {
        Ok(threads::get(&self.db, thread_id).await?)
    }

    /// The admin's thread list (at most 500) of the threads `filter` and
    /// `assignee` keep: open ones first, then most recently active first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn threads(
        &self,
        filter: ListFilter,
        assignee: crate::domain::AssigneeFilter,
    ) -> ChatResult<Vec<ThreadListItem>> {
        let mut list = threads::list(&self.db, 500, filter, assignee).await?;
        for m in list.iter_mut().filter_map(|t| t.last_message.as_mut()) {
            self.options.names.show(m, Role::Admin);
        }
        Ok(list)
    }

    /// Marks a thread read by the admin up to message `up_to`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mark_read(&self, thread_id: &ThreadId, up_to: MessageId) -> ChatResult<()> {
        Ok(threads::mark_read(&self.db, thread_id, up_to).await?)
    }

    /// Records when the visitor of a thread was last seen.
    ///
    /// # Errors
    /// Database errors.
    pub async fn visitor_seen(
        &self,
        thread_id: &ThreadId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> ChatResult<()> {
        Ok(threads::set_visitor_seen(&self.db, thread_id, at).await?)
    }

    /// Deletes all messages of a thread, records that agent `by` cleared
    /// it (the thread's events stay), and publishes [`ChatEvent::Cleared`].
    ///
    /// # Errors
    /// `NotFound` for an unknown thread; database errors.
    #[tracing::instrument(skip(self, by))]
    pub async fn clear(&self, thread_id: &ThreadId, by: &crate::domain::ActedBy) -> ChatResult<()> {
        if threads::get(&self.db, thread_id).await?.is_none() {
            return Err(ChatError::NotFound("Thread not found"));
        }
        messages::clear(&self.db, thread_id, by, crate::store::now()).await?;
        self.events
            .publish(ChatEvent::Cleared {
                thread_id: thread_id.to_owned(),
            })
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_use_the_thread_prefix() {
        assert_eq!(display_name_for("3f2a9c1e-0000"), "Visitor 3F2A");
    }
}
