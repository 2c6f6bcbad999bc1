//! Collision warnings (issue 22 item 5): the admin socket event
//! `viewing_thread {thread_id | null}`, the admin's `typing` /
//! `stop_typing` noted in the table ([`super::agent_presence`]), and the
//! task that emits `agent_presence {thread_id, agents}` to this instance's
//! admin sockets when a thread's list changes, sends the new admin socket
//! `agent_presence_state` and, with Redis, shares this instance's entries
//! with the others ([`super::relay::PresenceLink`]).
//!
//! Only the `admins` room and admin sockets ever get these events: agent
//! ids and names never reach a visitor.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Deserialize;
use serde_json::json;
use socketioxide::{
    SocketIo,
    adapter::Adapter,
    extract::{Extension, SocketRef, State},
};

use super::{
    ADMINS, Role, SocketSession,
    agent_presence::{AgentPresence, HEARTBEAT_EVERY, PresenceSync, SYNC_BATCH},
    extract::{Payload, Reply, admin_gate, parse},
    fanout::{self, Broadcast},
    relay::PresenceLink,
};
use crate::{AppState, domain::AgentId, http::error::AppError, limits::Action};

/// The event of a thread's agent list, to admins.
pub const AGENT_PRESENCE: &str = "agent_presence";
/// The current lists, to a new admin socket.
pub const AGENT_PRESENCE_STATE: &str = "agent_presence_state";

/// How often typing deadlines and remote entries are checked.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct Viewing {
    /// `null` (or absent): the agent views no thread.
    thread_id: Option<String>,
}

/// The admin socket's agent: `(id, shown name)`.
fn agent_of(sess: &SocketSession) -> Option<(AgentId, &str)> {
    let a = sess.admin.as_ref()?;
    Some((a.agent_id, a.agent.display_name.as_str()))
}

/// `viewing_thread {thread_id: string | null}` (admin sockets only) → ack
/// `{success, thread_id}`: this socket now views that thread (or none).
///
/// Routed here by [`super::events::register`].
#[tracing::instrument(skip_all, fields(role = ?sess.role))]
pub(super) async fn viewing_thread<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    Extension(sess): Extension<Arc<SocketSession>>,
    Payload(data): Payload,
    reply: Reply<A>,
) {
    let Some((agent_id, name)) = agent_of(&sess).filter(|_| sess.role == Role::Admin) else {
        return reply.err(AppError::Forbidden("Only agents send viewing_thread"));
    };
    let Some(reply) = admin_gate(&state, &sess, reply).await else {
        return;
    };
    if let Err(e) = state.limits.check(Action::Event, "", sess.ip) {
        return reply.err(e);
    }
    let thread = match parse::<Viewing>(data) {
        Ok(Viewing { thread_id: None }) => None,
        Ok(Viewing { thread_id: Some(t) }) => match sess.actor.target(Some(&t)) {
            Ok((_, id)) => Some(id.into_string()),
            Err(e) => return reply.err(e),
        },
        Err(e) => return reply.err(e),
    };
    let sid = s.id.to_string();
    match state
        .presence
        .agents()
        .view(&sid, agent_id, name, thread.as_deref())
    {
        Ok(()) => reply.ok(json!({ "thread_id": thread })),
        Err(_) => reply.err(AppError::Busy),
    }
}

/// An admin socket sent `typing` (`on`) or `stop_typing` for `thread`.
pub(super) fn typing<A: Adapter>(
    s: &SocketRef<A>,
    state: &AppState,
    sess: &SocketSession,
    thread: &str,
    on: bool,
) {
    if let Some((agent_id, name)) = agent_of(sess) {
        let sid = s.id.to_string();
        state
            .presence
            .agents()
            .typing(&sid, agent_id, name, thread, on);
    }
}

/// A new admin socket: `agent_presence_state {agent_id, threads: [{thread_id,
/// agents}]}` (its own agent id, so that the panel leaves itself out).
pub(super) fn send_state<A: Adapter>(s: &SocketRef<A>, state: &AppState, sess: &SocketSession) {
    let threads = state.presence.agents().snapshot();
    let _ = s.emit(
        AGENT_PRESENCE_STATE,
        &json!({ "agent_id": agent_of(sess).map(|a| a.0), "threads": threads }),
    );
}

/// Starts the emitter: runs until the namespace closes.
pub(super) fn spawn<A: Adapter>(io: &SocketIo<A>, state: &AppState, link: Option<PresenceLink>) {
    tokio::spawn(run(io.clone(), state.presence.agents().clone(), link));
}

async fn run<A: Adapter>(io: SocketIo<A>, agents: AgentPresence, mut link: Option<PresenceLink>) {
    let mut tick = tokio::time::interval(EXPIRE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beat = Instant::now();
    if link.is_some() {
        agents.say_hello();
    }
    loop {
        tokio::select! {
            () = agents.changed() => {}
            _ = tick.tick() => {
                if io.of("/").is_none() {
                    return;
                }
                agents.expire(Instant::now());
            }
        }
        let changes = agents.take();
        for t in &changes.emit {
            match serde_json::value::to_raw_value(t) {
                Ok(data) => fanout::emit_local(
                    &io,
                    &Broadcast {
                        rooms: vec![ADMINS.to_owned()],
                        except: Vec::new(),
                        event: AGENT_PRESENCE.to_owned(),
                        data,
                    },
                ),
                Err(e) => tracing::warn!(error = %e, "cannot serialise agent presence"),
            }
        }
        let Some(link) = link.as_mut() else {
            continue;
        };
        let instance = agents.instance().to_owned();
        let mut msgs = Vec::new();
        if changes.hello {
            msgs.push(PresenceSync::Hello {
                instance: instance.clone(),
            });
        }
        for viewers in changes.publish.chunks(SYNC_BATCH) {
            msgs.push(PresenceSync::Viewers {
                instance: instance.clone(),
                viewers: viewers.to_vec(),
            });
        }
        if changes.send_all || beat.elapsed() >= HEARTBEAT_EVERY {
            beat = Instant::now();
            msgs.extend(
                agents
                    .local_viewers()
                    .into_iter()
                    .map(|viewers| PresenceSync::Viewers {
                        instance: instance.clone(),
                        viewers,
                    }),
            );
        }
        link.send(&msgs).await;
    }
}
