//! Conversation status and blocks (issue 13), the same rule for every
//! adapter (panel, JSON API, Socket.IO, Telegram):
//!
//! - a thread is `open` or `closed`; the admin closes and reopens it, and a
//!   visitor's message to a closed thread reopens it (folded into the group
//!   commit's touch of the thread, no extra round trip:
//!   `store::messages::insert_batch`). Threads stored before migration 0007
//!   said `active`: that reads as `open` (the column decodes into
//!   [`ThreadStatus`], `chat::types`);
//! - the admin blocks the visitor of a thread: its sends are refused with
//!   [`ChatError::Blocked`] before they reach the writer (so nothing is
//!   stored or forwarded to Telegram); nothing stored is deleted; unblocking
//!   restores sending. The thread id is the browser's identity (the signed
//!   one-year `sohbet_vid` cookie, or the embed view's visitor token in
//!   `localStorage`), so every later visit and send from that browser is
//!   refused too; a browser that drops its cookie is a new visitor.
//!
//! The hot path reads blocks from an in-memory set ([`Blocks`]), loaded at
//! start ([`Chat::load_blocks`]) and kept correct across instances: every
//! change publishes [`ChatEvent::ThreadUpdated`], which the Redis relay
//! carries to the other instances, which apply it ([`Chat::apply_update`]);
//! after a lost Redis subscription the set is read again from the database.
//! Every change is published as `thread_updated {id, status, blocked,
//! change, by}` to admins; a change that changed something is recorded as
//! a thread event in the same transaction ([`super::thread_events`]).

use crate::domain::ThreadId;
use std::{collections::HashSet, sync::RwLock};

use serde::{Deserialize, Serialize};

use super::{Chat, ChatEvent};
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::{ActedBy, Assignee, Thread};
use crate::store::{self, thread_status};

pub use crate::domain::ThreadStatus;

/// What changed a thread (`change` of `thread_updated`; `ThreadChange` in
/// the OpenAPI document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ThreadChange)]
pub enum Change {
    /// The admin closed it.
    Close,
    /// The admin reopened it.
    Reopen,
    /// The admin blocked its visitor.
    Block,
    /// The admin unblocked its visitor.
    Unblock,
    /// Its visitor's message reopened it.
    Visitor,
    /// Its assignee changed (a take, an assignment, round robin; issue 22
    /// item 4).
    Assign,
}

/// The payload of `thread_updated` (Socket.IO, to admins) and of the API's
/// close / reopen / block answers: `{id, status, blocked, blocked_at,
/// change?, by?, assignee?}` (`blocked_at` RFC 3339 UTC or `null`;
/// `change` and `by` in events and in the answers to a change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreadUpdate {
    /// The thread.
    pub id: ThreadId,
    /// Its status now.
    pub status: ThreadStatus,
    /// Its visitor is blocked.
    pub blocked: bool,
    /// When it was blocked (RFC 3339 UTC), or `null`.
    #[schema(format = DateTime)]
    pub blocked_at: Option<String>,
    /// What changed it (events only; `None` for a state read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The agent who made the change, `{id, name}` (issue 22 item 7;
    /// `None` for a state read and for a visitor's reopening message).
    /// Admins only: `thread_updated` never reaches a visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<ActedBy>,
    /// The assignee, `{id, name}` or `null` (unassigned); absent when not
    /// known (a visitor's reopening message). Admins only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub assignee: Option<Option<Assignee>>,
}

/// A field that is present (`null` included) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Assignee>>, D::Error> {
    Option::<Assignee>::deserialize(d).map(Some)
}

impl ThreadUpdate {
    /// The update describing `t` as stored.
    pub fn of(t: &Thread) -> ThreadUpdate {
        ThreadUpdate {
            id: t.id.clone(),
            status: t.status,
            blocked: t.blocked_at.is_some(),
            blocked_at: t.blocked_at.as_ref().map(crate::domain::rfc3339_string),
            change: None,
            by: None,
            assignee: Some(t.assignee()),
        }
    }
}

/// The ids of the threads whose visitor is blocked (this instance's copy).
#[derive(Debug, Default)]
pub struct Blocks(RwLock<HashSet<ThreadId>>);

impl Blocks {
    /// Is the visitor of `thread_id` blocked?
    pub fn contains(&self, thread_id: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(thread_id)
    }

    pub(super) fn set(&self, thread_id: &ThreadId, blocked: bool) {
        let mut s = self.0.write().unwrap_or_else(|p| p.into_inner());
        if blocked {
            s.insert(thread_id.clone());
        } else {
            s.remove(thread_id);
        }
    }

    fn replace(&self, ids: Vec<ThreadId>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = ids.into_iter().collect();
    }
}

impl Chat {
    /// Reads the blocked threads from the database into the in-memory set
    /// (at start, and after this instance may have missed updates).
    ///
    /// # Errors
    /// Database errors (the set is left as it was).
    #[tracing::instrument(skip(self))]
    pub async fn load_blocks(&self) -> ChatResult<()> {
        let ids = thread_status::blocked_ids(&self.db).await?;
        self.blocks.replace(ids);
        Ok(())
    }

    /// Applies an update published by another instance (Redis relay) to
    /// this instance's set of blocked threads. Only a block or unblock
    /// counts: the `blocked` of other changes is a snapshot that a block
    /// made meanwhile on another instance may already have overtaken.
    pub fn apply_update(&self, u: &ThreadUpdate) {
        match u.change {
            Some(Change::Block) => self.blocks.set(&u.id, true),
            Some(Change::Unblock) => self.blocks.set(&u.id, false),
            _ => {}
        }
    }

    /// Is the visitor of `thread_id` blocked? (In memory; no database.)
    pub fn is_blocked(&self, thread_id: &ThreadId) -> bool {
        self.blocks.contains(thread_id)
    }

    /// Closes thread `thread_id`; agent `by` did it. Closing a closed
    /// thread changes nothing (and records no event) but still answers and
    /// publishes its state.
    ///
    /// # Errors
    /// `NotFound` for an unknown thread; database errors.
    pub async fn close(&self, thread_id: &ThreadId, by: &ActedBy) -> ChatResult<ThreadUpdate> {
        self.set_status(thread_id, ThreadStatus::Closed, Change::Close, by)
            .await
    }

    /// Reopens thread `thread_id`; agent `by` did it.
    ///
    /// # Errors
    /// `NotFound` for an unknown thread; database errors.
    pub async fn reopen(&self, thread_id: &ThreadId, by: &ActedBy) -> ChatResult<ThreadUpdate> {
        self.set_status(thread_id, ThreadStatus::Open, Change::Reopen, by)
            .await
    }

    #[tracing::instrument(skip(self, by))]
    async fn set_status(
        &self,
        thread_id: &ThreadId,
        status: ThreadStatus,
        change: Change,
        by: &ActedBy,
    ) -> ChatResult<ThreadUpdate> {
        let transcript = self.options.email_transcript_on_close;
        let (t, _event) = thread_status::set_status_with(
            &self.db,
            thread_id,
            status,
            store::now(),
            by,
            transcript,
        )
        .await?
        .ok_or(ChatError::NotFound("Thread not found"))?;
        if transcript {
            self.emails.alarm().notify_one();
        }
        Ok(self.changed(&t, change, by).await)
    }

    /// Blocks (`true`) or unblocks the visitor of thread `thread_id`;
    /// agent `by` did it (an event is recorded when that changed
    /// anything). Nothing stored is deleted.
    ///
    /// # Errors
    /// `NotFound` for an unknown thread; database errors.
    #[tracing::instrument(skip(self, by))]
    pub async fn set_blocked(
        &self,
        thread_id: &ThreadId,
        blocked: bool,
        by: &ActedBy,
    ) -> ChatResult<ThreadUpdate> {
        let (t, _event) =
            thread_status::set_blocked(&self.db, thread_id, blocked, store::now(), by)
                .await?
                .ok_or(ChatError::NotFound("Thread not found"))?;
        let change = if blocked {
            Change::Block
        } else {
            Change::Unblock
        };
        Ok(self.changed(&t, change, by).await)
    }

    /// The blocked threads, most recently blocked first (at most 500).
    ///
    /// # Errors
    /// Database errors.
    pub async fn blocked_threads(&self) -> ChatResult<Vec<Thread>> {
        Ok(thread_status::blocked(&self.db, 500).await?)
    }

    /// `(open, closed)` thread counts.
    ///
    /// # Errors
    /// Database errors.
    pub async fn status_counts(&self) -> ChatResult<(i64, i64)> {
        Ok(thread_status::counts(&self.db).await?)
    }

    /// Records `t`'s new state in the set and publishes it.
    pub(super) async fn changed(&self, t: &Thread, change: Change, by: &ActedBy) -> ThreadUpdate {
        let u = ThreadUpdate {
            change: Some(change),
            by: Some(by.clone()),
            ..ThreadUpdate::of(t)
        };
        self.apply_update(&u);
        self.events
            .publish(ChatEvent::ThreadUpdated(u.clone()))
            .await;
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_updates() {
        let b = Blocks::default();
        b.set(&"t1".into(), true);
        assert!(b.contains("t1"));
        b.set(&"t1".into(), false);
        assert!(!b.contains("t1"));
        b.replace(vec!["t2".into()]);
        assert!(b.contains("t2"));
    }
}
