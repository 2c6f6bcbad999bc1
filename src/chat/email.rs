//! The email outbox as the core keeps it (issue 26): what the group-commit
//! writer schedules ([`Schedule`]), and the reads and writes the email
//! worker (`crate::email`) and the HTTP adapter make, over
//! `store::email`. Knows no SMTP: composing and sending are the worker's.

use crate::domain::ThreadId;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::error::ChatResult;
use crate::domain::{AgentId, EmailId, Message, MessageId};
use crate::domain::{DeadEmail, EmailAgent, EmailRow, EmailSchedule, EmailStatus, EmailThread};
use crate::store::{self, Db};

pub use crate::store::email::TranscriptRefusal;

/// What the writer schedules, and how it wakes the worker.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    /// The delays (`None` = that kind off).
    pub plan: EmailSchedule,
    /// Woken after a commit that may have scheduled something.
    pub wake: Arc<Notify>,
}

impl Schedule {
    /// Wakes the worker, when email is on.
    pub fn wake(&self) {
        if self.plan != EmailSchedule::OFF {
            self.wake.notify_one();
        }
    }
}

/// Transcripts a thread may ask for in 24 hours (issue 26 item 3).
pub const TRANSCRIPTS_PER_DAY: i64 = 3;

/// The email outbox, for the worker and the adapters.
#[derive(Clone)]
pub struct Emails {
    db: Db,
    schedule: Schedule,
}

impl Emails {
    pub(super) fn new(db: Db, schedule: Schedule) -> Emails {
        Emails { db, schedule }
    }

    /// Email is on (the writer schedules answers).
    pub fn enabled(&self) -> bool {
        self.schedule.plan != EmailSchedule::OFF
    }

    /// The worker's alarm: notified when something may have been scheduled.
    pub fn alarm(&self) -> Arc<Notify> {
        self.schedule.wake.clone()
    }

    /// See [`store::email::due`].
    pub async fn due(&self, now: DateTime<Utc>, limit: i64) -> ChatResult<Vec<EmailRow>> {
        Ok(store::email::due(&self.db, now, limit).await?)
    }

    /// See [`store::email::agent_waits`].
    pub async fn agent_waits(&self, limit: i64) -> ChatResult<Vec<EmailRow>> {
        Ok(store::email::agent_waits(&self.db, limit).await?)
    }

    /// See [`store::email::next_due`].
    pub async fn next_due(&self) -> ChatResult<Option<DateTime<Utc>>> {
        Ok(store::email::next_due(&self.db).await?)
    }

    /// See [`store::email::recover_in_flight`].
    pub async fn recover_in_flight(&self) -> ChatResult<u64> {
        Ok(store::email::recover_in_flight(&self.db).await?)
    }

    /// See [`store::email::thread`].
    pub async fn thread(&self, thread_id: &ThreadId) -> ChatResult<Option<EmailThread>> {
        Ok(store::email::thread(&self.db, thread_id).await?)
    }

    /// See [`store::email::answers_after`].
    pub async fn answers_after(
        &self,
        thread_id: &ThreadId,
        after: MessageId,
    ) -> ChatResult<Vec<Message>> {
        Ok(store::email::answers_after(&self.db, thread_id, after).await?)
    }

    /// See [`store::email::visible_messages`].
    pub async fn visible_messages(
        &self,
        thread_id: &ThreadId,
        limit: i64,
    ) -> ChatResult<Vec<Message>> {
        Ok(store::email::visible_messages(&self.db, thread_id, limit).await?)
    }

    /// See [`store::email::queued_to`].
    pub async fn queued_to(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> ChatResult<(i64, Option<DateTime<Utc>>)> {
        Ok(store::email::queued_to(&self.db, address, since).await?)
    }

    /// See [`store::email::compose`].
    pub async fn compose(
        &self,
        id: EmailId,
        recipient: &str,
        body: &str,
        upto: Option<(&ThreadId, MessageId)>,
        now: DateTime<Utc>,
    ) -> ChatResult<bool> {
        Ok(store::email::compose(&self.db, id, recipient, body, upto, now).await?)
    }

    /// See [`store::email::reschedule`].
    pub async fn reschedule(&self, id: EmailId, due: DateTime<Utc>) -> ChatResult<()> {
        Ok(store::email::reschedule(&self.db, id, due).await?)
    }

    /// See [`store::email::end`].
    pub async fn end(&self, id: EmailId, status: EmailStatus) -> ChatResult<()> {
        Ok(store::email::end(&self.db, id, status).await?)
    }

    /// See [`store::email::take`].
    pub async fn take(&self, id: EmailId) -> ChatResult<bool> {
        Ok(store::email::take(&self.db, id).await?)
    }

    /// See [`store::email::outcome`].
    pub async fn outcome(
        &self,
        id: EmailId,
        status: EmailStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> ChatResult<()> {
        Ok(store::email::outcome(&self.db, id, status, error, at).await?)
    }

    /// See [`store::email::waiting`].
    pub async fn waiting(&self, thread_id: &ThreadId) -> ChatResult<Option<store::email::Waiting>> {
        Ok(store::email::waiting(&self.db, thread_id).await?)
    }

    /// See [`store::email::agents_with_email`].
    pub async fn agents_with_email(&self) -> ChatResult<Vec<EmailAgent>> {
        Ok(store::email::agents_with_email(&self.db).await?)
    }

    /// See [`store::email::agent_mails`].
    pub async fn agent_mails(
        &self,
        mails: &[(AgentId, String, String)],
        done: &[EmailId],
        now: DateTime<Utc>,
    ) -> ChatResult<()> {
        Ok(store::email::agent_mails(&self.db, mails, done, now).await?)
    }

    /// Queues a transcript of `thread_id` now (at most
    /// [`TRANSCRIPTS_PER_DAY`] a day, only to the address stored for it),
    /// and wakes the worker.
    ///
    /// # Errors
    /// Database errors.
    pub async fn request_transcript(
        &self,
        thread_id: &ThreadId,
    ) -> ChatResult<Result<(), TranscriptRefusal>> {
        let res = store::email::request_transcript(
            &self.db,
            thread_id,
            TRANSCRIPTS_PER_DAY,
            store::now(),
        )
        .await?;
        if res.is_ok() {
            self.schedule.wake.notify_one();
        }
        Ok(res)
    }

    /// See [`store::email::unsubscribe`].
    pub async fn unsubscribe(&self, thread_id: &ThreadId) -> ChatResult<bool> {
        Ok(store::email::unsubscribe(&self.db, thread_id, store::now()).await?)
    }

    /// See [`store::email::set_agent_email`].
    pub async fn set_agent_email(
        &self,
        agent_id: AgentId,
        email: Option<&str>,
    ) -> ChatResult<bool> {
        Ok(store::email::set_agent_email(&self.db, agent_id, email).await?)
    }

    /// See [`store::email::agent_email`].
    pub async fn agent_email(&self, agent_id: AgentId) -> ChatResult<Option<String>> {
        Ok(store::email::agent_email(&self.db, agent_id).await?)
    }

    /// See [`store::email::dead`].
    pub async fn dead(&self) -> ChatResult<Vec<DeadEmail>> {
        Ok(store::email::dead(&self.db).await?)
    }

    /// See [`store::email::counts`].
    pub async fn counts(&self) -> ChatResult<Vec<(EmailStatus, i64)>> {
        Ok(store::email::counts(&self.db).await?)
    }

    /// See [`store::email::of_thread`].
    pub async fn of_thread(&self, thread_id: &ThreadId) -> ChatResult<Vec<EmailRow>> {
        Ok(store::email::of_thread(&self.db, thread_id).await?)
    }

    /// The right to send (one instance on a shared Postgres).
    pub fn leader(&self) -> EmailLeader {
        EmailLeader {
            db: self.db.clone(),
            inner: store::email::Leader::default(),
        }
    }
}

/// The right to send the email outbox (see [`store::email::Leader`]).
pub struct EmailLeader {
    db: Db,
    inner: store::email::Leader,
}

impl EmailLeader {
    /// `Some(true)`: just became the sender; `Some(false)`: still is;
    /// `None`: another instance is.
    pub async fn hold(&mut self) -> Option<bool> {
        self.inner.hold(&self.db).await
    }
}
