//! Assignment (issue 22 item 4): the agent who owns a thread, the same
//! rule for every adapter (JSON API, Socket.IO, Telegram).
//!
//! - a **take** ([`Chat::take`]) gives the caller an unassigned thread (or
//!   leaves it theirs); one that another agent has is refused with
//!   [`ChatError::Taken`] naming that agent. One conditional `UPDATE`
//!   (`store::assignment::take`): two simultaneous takes have one winner;
//! - an **assignment** ([`Chat::assign`]) gives a thread to any enabled
//!   agent, or to nobody;
//! - **round robin** (`ASSIGNMENT=round_robin`, [`run_round_robin`]) gives
//!   a NEW thread to the next agent active in the last
//!   [`ACTIVE_WITHIN`] (an open panel socket, or an action noted with
//!   [`Chat::note_agent_active`]: a panel socket's events, a Telegram
//!   message from a linked agent), skipping disabled agents; with nobody
//!   active the thread stays unassigned. It runs on the `ThreadCreated`
//!   event, after the group commit, never in it.
//!
//! Every change records an `assign` thread event (detail: the assignee's
//! name, or `unassigned`) and publishes `thread_updated` with `change:
//! "assign"` and the `assignee` (to admins only). Activity is kept in
//! memory per instance ([`AgentActivity`]): with several instances, round
//! robin on the instance that stored the first message knows the agents
//! active on that instance.

use crate::domain::ThreadId;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use super::{Chat, ChatEvent, events::Publisher, status::Change, status::ThreadUpdate};
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::{ActedBy, AgentId, AgentRef, Thread};
use crate::store::{self, assignment};

/// How recently an agent must have been active to get a thread by round
/// robin (an open panel socket always counts).
pub const ACTIVE_WITHIN: Duration = Duration::from_secs(10 * 60);

/// The name events give to round robin (`by` of its `assign` events).
pub const ROUND_ROBIN_NAME: &str = "Round robin";

pub use crate::domain::AssignmentMode;

#[derive(Debug, Default)]
struct Seen {
    /// Open panel sockets of the agent on this instance.
    open: u32,
    /// Its last noted action (or socket close).
    last: Option<Instant>,
}

/// Which agents were active lately, in memory (one entry per agent id that
/// ever logged in here: bounded by the team), and whose turn is next.
#[derive(Debug, Default)]
pub struct AgentActivity {
    seen: Mutex<HashMap<AgentId, Seen>>,
    /// The agent who got the last thread by round robin.
    last_turn: Mutex<Option<AgentId>>,
}

/// An open panel socket of an agent: counts as active until dropped.
#[derive(Debug)]
pub struct ActiveGuard {
    activity: Arc<AgentActivity>,
    agent: AgentId,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut seen = self.activity.lock();
        let s = seen.entry(self.agent).or_default();
        s.open = s.open.saturating_sub(1);
        s.last = Some(Instant::now());
    }
}

impl AgentActivity {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AgentId, Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Agent `agent` did something now.
    pub fn note(&self, agent: AgentId) {
        self.lock().entry(agent).or_default().last = Some(Instant::now());
    }

    /// The agents active within `within` (open socket or recent action),
    /// by id.
    pub fn active(&self, within: Duration) -> Vec<AgentId> {
        let now = Instant::now();
        let mut ids: Vec<AgentId> = self
            .lock()
            .iter()
            .filter(|(_, s)| s.open > 0 || s.last.is_some_and(|t| now.duration_since(t) <= within))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// `active` in turn order: the ones after the last turn first, then
    /// from the start (round robin by agent id).
    fn turn_order(&self, active: Vec<AgentId>) -> Vec<AgentId> {
        let last = *self.last_turn.lock().unwrap_or_else(|p| p.into_inner());
        let Some(last) = last else {
            return active;
        };
        let (before, after): (Vec<AgentId>, Vec<AgentId>) =
            active.into_iter().partition(|id| *id <= last);
        after.into_iter().chain(before).collect()
    }

    fn took_turn(&self, agent: AgentId) {
        *self.last_turn.lock().unwrap_or_else(|p| p.into_inner()) = Some(agent);
    }
}

impl Chat {
    /// Agent `agent_id` is active now (round robin counts it for
    /// [`ACTIVE_WITHIN`]). Called on every admin socket event; the Telegram
    /// bridge calls it for a message from a linked agent. No I/O.
    pub fn note_agent_active(&self, agent_id: AgentId) {
        self.activity.note(agent_id);
    }

    /// An open panel socket of agent `agent_id`: it counts as active while
    /// the guard lives (and [`ACTIVE_WITHIN`] after).
    pub fn agent_socket_open(&self, agent_id: AgentId) -> ActiveGuard {
        self.activity.lock().entry(agent_id).or_default().open += 1;
        ActiveGuard {
            activity: self.activity.clone(),
            agent: agent_id,
        }
    }

    /// Agent `agent` takes thread `thread_id`: assigned to them when it is
    /// unassigned (an `assign` event, `thread_updated`) or already theirs
    /// (nothing changes; the state is still answered and published).
    ///
    /// # Errors
    /// `Taken` naming the agent who has it; `NotFound` for an unknown
    /// thread; `Forbidden` for an actor that is no agent (no id); database
    /// errors. Nothing changes on an error.
    #[tracing::instrument(skip(self, agent), fields(agent = ?agent.id))]
    pub async fn take(&self, thread_id: &ThreadId, agent: &AgentRef) -> ChatResult<ThreadUpdate> {
        let id = agent
            .id
            .ok_or(ChatError::Forbidden("Only an agent can take a thread"))?;
        self.activity.note(id);
        let by = ActedBy::from(agent);
        match assignment::take(&self.db, thread_id, id, &by, store::now()).await? {
            assignment::Take::Taken(t) => Ok(self.assigned(&t, &by).await),
            assignment::Take::Conflict(Some(a)) => Err(ChatError::Taken(a)),
            assignment::Take::Conflict(None) => Err(ChatError::Conflict(
                "The thread's assignee just changed; please try again".into(),
            )),
            assignment::Take::Missing => Err(ChatError::NotFound("Thread not found")),
        }
    }

    /// Assigns thread `thread_id` to agent `agent_id` (`None`: unassigns
    /// it); `by` did it. Assigning it to its assignee changes nothing (no
    /// event) but still answers and publishes its state.
    ///
    /// # Errors
    /// `NotFound` for an unknown thread or agent; `Validation` for a
    /// disabled agent; database errors. Nothing changes on an error.
    #[tracing::instrument(skip(self, by))]
    pub async fn assign(
        &self,
        thread_id: &ThreadId,
        agent_id: Option<AgentId>,
        by: &ActedBy,
    ) -> ChatResult<ThreadUpdate> {
        match assignment::assign(&self.db, thread_id, agent_id, by, store::now()).await? {
            assignment::Assign::Done(t) => Ok(self.assigned(&t, by).await),
            assignment::Assign::MissingThread => Err(ChatError::NotFound("Thread not found")),
            assignment::Assign::MissingAgent => Err(ChatError::NotFound("Agent not found")),
            assignment::Assign::DisabledAgent => Err(ChatError::Validation(
                "That agent is disabled: threads cannot be assigned to them".into(),
            )),
        }
    }

    /// Publishes `t`'s assignment (`change: "assign"`).
    async fn assigned(&self, t: &Thread, by: &ActedBy) -> ThreadUpdate {
        self.changed(t, Change::Assign, by).await
    }
}

/// What round robin needs of the core. It holds no [`Chat`] (whose
/// writer would then never stop): the publisher only weakly.
pub(super) struct RoundRobin {
    pub(super) db: store::Db,
    pub(super) activity: Arc<AgentActivity>,
    pub(super) events: Weak<Publisher>,
}

impl RoundRobin {
    /// Round robin for new thread `thread_id`: the next active, enabled
    /// agent gets it (`None`: nobody active, or it was assigned meanwhile).
    #[tracing::instrument(skip(self))]
    async fn assign(&self, thread_id: &ThreadId) -> ChatResult<Option<Thread>> {
        let order = self
            .activity
            .turn_order(self.activity.active(ACTIVE_WITHIN));
        let by = ActedBy {
            id: None,
            name: ROUND_ROBIN_NAME.to_owned(),
        };
        let t = assignment::assign_first_enabled(&self.db, thread_id, &order, &by, store::now())
            .await?;
        let Some(t) = t else { return Ok(None) };
        if let Some(id) = t.assignee_id {
            self.activity.took_turn(id);
        }
        if let Some(events) = self.events.upgrade() {
            let u = ThreadUpdate {
                change: Some(Change::Assign),
                by: Some(by),
                ..ThreadUpdate::of(&t)
            };
            events.publish(ChatEvent::ThreadUpdated(u)).await;
        }
        Ok(Some(t))
    }

    /// Runs until the core stops: round robin for every thread created
    /// (the `ThreadCreated` event of this instance's writer), one at a time.
    pub(super) async fn run(self, mut events: mpsc::Receiver<ChatEvent>) {
        while let Some(ev) = events.recv().await {
            if let ChatEvent::ThreadCreated(t) = ev
                && let Err(e) = self.assign(&t.id).await
            {
                tracing::warn!(error = %e, "round robin could not assign a new thread");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<const N: usize>(n: [i64; N]) -> Vec<AgentId> {
        n.into_iter().map(AgentId).collect()
    }

    #[test]
    fn turns_go_round_by_id() {
        let a = AgentActivity::default();
        a.note(AgentId(3));
        a.note(AgentId(1));
        a.note(AgentId(2));
        assert_eq!(a.active(ACTIVE_WITHIN), ids([1, 2, 3]));
        assert_eq!(a.turn_order(ids([1, 2, 3])), ids([1, 2, 3]));
        a.took_turn(AgentId(2));
        assert_eq!(a.turn_order(ids([1, 2, 3])), ids([3, 1, 2]));
        a.took_turn(AgentId(3));
        assert_eq!(a.turn_order(ids([1, 2, 3])), ids([1, 2, 3]));
        assert!(a.active(Duration::ZERO).len() <= 3);
    }
}
