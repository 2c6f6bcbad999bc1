//! The operator's data (issue 27 items 3–6): erasing a visitor's thread
//! with everything it refers to, the retention job, backups and the audit
//! log. It sits above the core: the rows go through [`Chat::erase`] (one
//! transaction, with the audit entry, then `thread_erased` to the sockets),
//! then this module removes the files the messages carried ([`Media`]:
//! local files, Cloudinary's destroy API) and, when asked, the thread's
//! Telegram forum topic (`deleteForumTopic`). The HTTP handlers
//! (`http::data`), the command line (`sohbet erase`, `sohbet backup`) and
//! the retention job all call it. It never reads message content: the
//! audit log gets counts only.

pub mod backup;
pub mod export;
pub mod import;
pub mod retention;
pub mod zip_stream;

use serde::Serialize;
use teloxide::prelude::Requester;

use crate::{
    chat::{Chat, ChatError, ChatResult},
    domain::{ActedBy, AuditAction, AuditEntry, ThreadId},
    media::{Media, remove::Removal},
    store::{self, Db},
    telegram::Telegram,
};

/// Most entries `GET /api/audit` returns at once (and its default, 100).
pub const AUDIT_MAX: i64 = 500;
/// Longest email address `sohbet erase --email` takes (RFC 5321 § 4.5.3.1.3).
pub const EMAIL_MAX: usize = 254;

/// The data service; cheap to clone.
#[derive(Clone)]
pub struct Data {
    db: Db,
    chat: Chat,
    media: Media,
    telegram: Option<Telegram>,
    retention_days: Option<u32>,
    /// Thread exports running at once ([`EXPORTS_AT_ONCE`]).
    exports: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Most thread exports one instance streams at once; more are refused
/// (503) until one ends.
pub const EXPORTS_AT_ONCE: usize = 2;

/// What to erase besides the stored rows and files.
#[derive(Clone, Copy, Debug, Default)]
pub struct EraseOptions {
    /// Also delete the thread's Telegram forum topic (`deleteForumTopic`):
    /// the forwarded messages in the group go with it.
    pub telegram_topic: bool,
    /// Erase only a thread still closed with its last activity before this
    /// time (the retention job: re-checked in the erasing transaction).
    pub only_closed_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// What became of the thread's Telegram topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopicOutcome {
    /// The thread had no topic.
    None,
    /// It had one and it was left in the group (not asked).
    Kept,
    /// `deleteForumTopic` succeeded.
    Deleted,
    /// Asked, but Telegram refused or is not configured (logged).
    Failed,
}

/// The answer of an erase: `{thread_id, messages, media_removed,
/// media_failed, telegram_topic}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EraseReport {
    /// The erased thread.
    pub thread_id: ThreadId,
    /// Messages deleted (internal notes included).
    pub messages: u64,
    /// Files deleted (local or Cloudinary) or already gone.
    pub media_removed: u64,
    /// Files that could not be removed (logged; Cloudinary down, or a
    /// URL of a storage no longer configured).
    pub media_failed: u64,
    /// The Telegram topic.
    pub telegram_topic: TopicOutcome,
}

impl Data {
    /// The service over the server's parts.
    pub fn new(
        db: Db,
        chat: Chat,
        media: Media,
        telegram: Option<Telegram>,
        retention_days: Option<u32>,
    ) -> Data {
        Data {
            db,
            chat,
            media,
            telegram,
            retention_days,
            exports: std::sync::Arc::new(tokio::sync::Semaphore::new(EXPORTS_AT_ONCE)),
        }
    }

    /// A place among the [`EXPORTS_AT_ONCE`] thread exports, held until
    /// dropped; `None` when all are taken.
    pub fn export_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.exports.clone().try_acquire_owned().ok()
    }

    /// `RETENTION_DAYS`, `None` when off.
    pub fn retention_days(&self) -> Option<u32> {
        self.retention_days
    }

    /// Erases thread `thread_id` (see the module doc); agent `by` is
    /// recorded in the audit log (in the transaction that deletes the rows).
    ///
    /// # Errors
    /// `Validation` for a malformed id; `NotFound` when nothing is stored
    /// under it (nothing changes then); database errors.
    #[tracing::instrument(skip(self, by), fields(by = %by.name))]
    pub async fn erase_thread(
        &self,
        thread_id: &str,
        by: &ActedBy,
        opts: EraseOptions,
    ) -> ChatResult<EraseReport> {
        let id = ThreadId::parse(thread_id).map_err(|e| ChatError::Validation(e.to_string()))?;
        let report = self
            .erase_one(&id, Some(by), opts)
            .await?
            .ok_or(ChatError::NotFound("Thread not found"))?;
        self.purge_search_index().await;
        Ok(report)
    }

    /// Erases every thread whose visitor gave `email` (compared without
    /// regard to case), each as [`Data::erase_thread`]; `[]` when none.
    ///
    /// # Errors
    /// `Validation` for an address that is empty, longer than
    /// [`EMAIL_MAX`] or without `@`; database errors (the threads erased
    /// before stay erased).
    #[tracing::instrument(skip_all, fields(by = %by.name))]
    pub async fn erase_email(
        &self,
        email: &str,
        by: &ActedBy,
        opts: EraseOptions,
    ) -> ChatResult<Vec<EraseReport>> {
        let email = email.trim();
        if email.is_empty() || email.len() > EMAIL_MAX || !email.contains('@') {
            return Err(ChatError::Validation(format!(
                "email must be an address of at most {EMAIL_MAX} characters"
            )));
        }
        let mut out = Vec::new();
        for id in store::erase::threads_of_email(&self.db, email).await? {
            if let Some(r) = self.erase_one(&id, Some(by), opts).await? {
                out.push(r);
            }
        }
        if !out.is_empty() {
            self.purge_search_index().await;
        }
        Ok(out)
    }

    /// Purges erased words from the search index
    /// ([`store::erase::purge_search_index`]); a failure is logged (the
    /// rows are gone; the next erase or retention run purges again).
    async fn purge_search_index(&self) {
        if let Err(e) = store::erase::purge_search_index(&self.db).await {
            tracing::warn!(error = %e, "could not purge the search index after an erase");
        }
    }

    /// The rows (through the core), then the files and the topic.
    async fn erase_one(
        &self,
        thread_id: &ThreadId,
        audit: Option<&ActedBy>,
        opts: EraseOptions,
    ) -> ChatResult<Option<EraseReport>> {
        let Some(rows) = self
            .chat
            .erase(thread_id, audit, opts.only_closed_before)
            .await?
        else {
            return Ok(None);
        };
        let mut report = EraseReport {
            thread_id: thread_id.clone(),
            messages: rows.messages,
            media_removed: 0,
            media_failed: 0,
            telegram_topic: TopicOutcome::None,
        };
        for url in &rows.media {
            // A file another thread's message also carries stays.
            if store::erase::media_in_use(&self.db, url).await? {
                continue;
            }
            match self.media.remove(url).await {
                Ok(Removal::Removed | Removal::Missing) => report.media_removed += 1,
                Ok(Removal::NotOurs) => {
                    tracing::warn!("an erased message's file is not in this server's storage");
                    report.media_failed += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not remove an erased message's file");
                    report.media_failed += 1;
                }
            }
        }
        if let Some((chat, topic)) = rows.topic {
            report.telegram_topic = if opts.telegram_topic {
                self.delete_topic(chat, topic).await
            } else {
                TopicOutcome::Kept
            };
        }
        tracing::info!(
            messages = report.messages,
            media = report.media_removed,
            "thread erased"
        );
        Ok(Some(report))
    }

    /// `deleteForumTopic` in `chat` (Bot API "deleteForumTopic": the topic
    /// and all its messages; the bot needs `can_delete_messages`).
    async fn delete_topic(&self, chat: i64, topic: i64) -> TopicOutcome {
        let Some(tg) = &self.telegram else {
            tracing::warn!("the topic of an erased thread stays: Telegram is not configured");
            return TopicOutcome::Failed;
        };
        let Ok(topic) = i32::try_from(topic) else {
            return TopicOutcome::Failed;
        };
        let thread = teloxide::types::ThreadId(teloxide::types::MessageId(topic));
        let res = tg
            .bot
            .delete_forum_topic(teloxide::types::ChatId(chat), thread)
            .await;
        tg.health.record(res.is_ok());
        match res {
            Ok(_) => TopicOutcome::Deleted,
            Err(e) => {
                tracing::warn!(error = %tg.describe(&e), "deleteForumTopic failed");
                TopicOutcome::Failed
            }
        }
    }

    /// Records `action` by `by` on `target` with `detail` (counts only).
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit(
        &self,
        by: &ActedBy,
        action: AuditAction,
        target: Option<&str>,
        detail: Option<&serde_json::Value>,
    ) -> ChatResult<()> {
        Ok(store::audit::record(&self.db, by, action, target, detail, store::now()).await?)
    }

    /// The newest `limit` (1..=[`AUDIT_MAX`]) audit entries, newest first.
    ///
    /// # Errors
    /// `Validation` for a `limit` out of range; database errors.
    pub async fn audit_log(&self, limit: i64) -> ChatResult<Vec<AuditEntry>> {
        if !(1..=AUDIT_MAX).contains(&limit) {
            return Err(ChatError::Validation(format!(
                "limit must be 1 to {AUDIT_MAX}"
            )));
        }
        Ok(store::audit::list(&self.db, limit).await?)
    }
}
