//! Which agents view or type in which thread (issue 22 item 5, collision
//! warnings): the table behind the admin-only `agent_presence` event. It
//! knows no socket library and no Redis; `agent_events.rs` feeds it (admin
//! events, the relay) and emits what changed.
//!
//! - An **entry** is one admin socket's viewed thread: at most one per
//!   socket (a new `viewing_thread` replaces it), with a typing deadline
//!   ([`TYPING_FOR`] after the socket's last `typing`).
//! - **Local** entries belong to this instance's sockets and go when the
//!   socket goes ([`ViewerGuard`]). **Remote** entries come from other
//!   instances over Redis ([`PresenceSync`]) and expire [`REMOTE_TTL`] after their
//!   last refresh (each instance re-sends its entries every
//!   [`HEARTBEAT_EVERY`]), so a crashed instance leaves no ghost.
//! - Bounded: [`MAX_LOCAL`] local entries, [`MAX_ENTRIES`] in all, at most
//!   [`MAX_SHOWN`] agents listed per thread, names cut to
//!   [`MAX_NAME_CHARS`]; the pending changes are keyed sets bounded by the
//!   same entries.
//!
//! Several sockets of one agent (tabs, instances) are one agent in a
//! thread's list; it types when any of them does.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

mod table;
use table::Table;

use crate::domain::AgentId;

/// How long a `typing` event keeps an agent typing.
pub const TYPING_FOR: Duration = Duration::from_secs(6);
/// How long a remote entry lives without a refresh.
pub const REMOTE_TTL: Duration = Duration::from_secs(60);
/// How often an instance re-sends its own entries to the others.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
/// Most admin sockets of this instance that view a thread at once.
pub const MAX_LOCAL: usize = 2_000;
/// Most entries (local and remote) kept.
pub const MAX_ENTRIES: usize = 10_000;
/// Most agents listed for one thread.
pub const MAX_SHOWN: usize = 20;
/// Longest agent name kept, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most viewers in one Redis message.
pub const SYNC_BATCH: usize = 256;

/// One agent in a thread's list: `{id, name, typing}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentView {
    /// The agent's id.
    pub id: AgentId,
    /// Its shown name (plain text: the panel escapes it).
    pub name: String,
    /// Typing in this thread now.
    pub typing: bool,
}

/// The `agent_presence` payload: `{thread_id, agents}` (empty: nobody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadAgents {
    /// The thread.
    pub thread_id: String,
    /// Who views it, by name then id, at most [`MAX_SHOWN`].
    pub agents: Vec<AgentView>,
}

/// One socket's entry as it travels between instances; `thread_id: null`
/// removes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// The socket's id on its instance.
    pub socket: String,
    /// The agent's id.
    pub agent_id: AgentId,
    /// The agent's shown name.
    pub name: String,
    /// The viewed thread, `None` when it left.
    pub thread_id: Option<String>,
    /// Typing there now.
    pub typing: bool,
}

/// A message on the Redis channel `<REDIS_PREFIX>#agent-presence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PresenceSync {
    /// Entries of `instance` (changes, or the heartbeat's full list).
    Viewers {
        /// The sending instance.
        instance: String,
        /// Its entries.
        viewers: Vec<Viewer>,
    },
    /// `instance` just (re)subscribed: every other sends its entries now.
    Hello {
        /// The new instance.
        instance: String,
    },
}

/// The table is full: no room for another entry.
#[derive(Debug, thiserror::Error)]
#[error("too many agents are viewing threads")]
pub struct Full;

/// What to do after changes: emit to this instance's admins, publish to
/// the other instances.
#[derive(Debug, Default)]
pub struct Changes {
    /// Threads whose list changed (an empty list: nobody left).
    pub emit: Vec<ThreadAgents>,
    /// This instance's changed entries (`thread_id: null`: gone).
    pub publish: Vec<Viewer>,
    /// Another instance said hello: send every local entry.
    pub send_all: bool,
    /// This instance (re)subscribed: say hello.
    pub hello: bool,
}

/// The shared table; cheap to clone.
#[derive(Clone)]
pub struct AgentPresence {
    inner: Arc<Inner>,
}

struct Inner {
    instance: String,
    table: Mutex<Table>,
    changed: Notify,
}

impl Default for AgentPresence {
    fn default() -> Self {
        AgentPresence {
            inner: Arc::new(Inner {
                instance: uuid::Uuid::new_v4().simple().to_string(),
                table: Mutex::default(),
                changed: Notify::new(),
            }),
        }
    }
}

impl AgentPresence {
    /// This instance's random id (in [`PresenceSync`] messages).
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    fn with<R>(&self, f: impl FnOnce(&mut Table) -> R) -> R {
        let mut t = self.inner.table.lock().unwrap_or_else(|p| p.into_inner());
        let r = f(&mut t);
        let wake =
            !t.dirty_threads.is_empty() || !t.dirty_local.is_empty() || t.send_all || t.hello;
        drop(t);
        if wake {
            self.inner.changed.notify_one();
        }
        r
    }

    /// Waits until something changed (for the emitter).
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// The guard of admin socket `socket`: its entry goes when it drops.
    pub fn guard(&self, socket: String) -> ViewerGuard {
        ViewerGuard {
            presence: self.clone(),
            socket,
        }
    }

    /// Local socket `socket` of agent `(agent_id, name)` views `thread`
    /// (`None`: none). Its typing ends.
    ///
    /// # Errors
    /// [`Full`] when a new entry would pass [`MAX_LOCAL`] or [`MAX_ENTRIES`].
    pub fn view(
        &self,
        socket: &str,
        agent_id: AgentId,
        name: &str,
        thread: Option<&str>,
    ) -> Result<(), Full> {
        let key = (self.inner.instance.clone(), socket.to_owned());
        self.with(|t| {
            t.dirty_local.insert(socket.to_owned());
            match thread {
                None => {
                    t.remove(&key);
                    Ok(())
                }
                Some(th) => t.upsert(key, agent_id, name, th, None, None),
            }
        })
    }

    /// Local socket `socket` types (`on`) or stopped typing in `thread`.
    /// Typing also makes `thread` its viewed thread; when the table is
    /// full, nothing is recorded.
    pub fn typing(&self, socket: &str, agent_id: AgentId, name: &str, thread: &str, on: bool) {
        let key = (self.inner.instance.clone(), socket.to_owned());
        self.with(|t| {
            if on {
                let until = Some(Instant::now() + TYPING_FOR);
                if t.upsert(key, agent_id, name, thread, until, None).is_ok() {
                    t.dirty_local.insert(socket.to_owned());
                }
            } else if let Some(e) = t.entries.get_mut(&key)
                && e.thread == thread
                && e.typing_until.take().is_some()
            {
                t.dirty_threads.insert(thread.to_owned());
                t.dirty_local.insert(socket.to_owned());
            }
        });
    }

    fn drop_socket(&self, socket: &str) {
        let key = (self.inner.instance.clone(), socket.to_owned());
        self.with(|t| {
            if t.remove(&key) {
                t.dirty_local.insert(socket.to_owned());
            }
        });
    }

    /// Applies a message from the relay (this instance's own are ignored):
    /// entries refreshed for [`REMOTE_TTL`] (a malformed one is skipped; a
    /// new one beyond [`MAX_ENTRIES`] is dropped), or a hello.
    pub fn apply(&self, msg: PresenceSync) {
        let now = Instant::now();
        self.with(|t| match msg {
            PresenceSync::Hello { instance } if instance != self.inner.instance => {
                t.send_all = true
            }
            PresenceSync::Viewers { instance, viewers } if instance != self.inner.instance => {
                for v in viewers {
                    let key = (instance.clone(), v.socket);
                    match v.thread_id {
                        Some(th) if crate::chat::ThreadId::parse(th.as_str()).is_ok() => {
                            let typing = v.typing.then_some(now + TYPING_FOR);
                            let expires = Some(now + REMOTE_TTL);
                            let _ = t.upsert(key, v.agent_id, &v.name, &th, typing, expires);
                        }
                        Some(_) => {}
                        None => {
                            t.remove(&key);
                        }
                    }
                }
            }
            _ => {}
        });
    }

    /// This instance (re)subscribed to the relay: the next [`Changes`]
    /// say hello (the others then send their entries at once).
    pub fn say_hello(&self) {
        self.with(|t| t.hello = true);
    }

    /// Ends typing past its deadline and removes remote entries past
    /// their TTL (called every second).
    pub fn expire(&self, now: Instant) {
        self.with(|t| t.expire(now, &self.inner.instance));
    }

    /// Every local entry (the heartbeat), in batches of [`SYNC_BATCH`].
    pub fn local_viewers(&self) -> Vec<Vec<Viewer>> {
        let all: Vec<Viewer> = self.with(|t| {
            t.entries
                .iter()
                .filter(|(k, _)| k.0 == self.inner.instance)
                .map(|(k, e)| e.viewer(&k.1))
                .collect()
        });
        all.chunks(SYNC_BATCH).map(<[Viewer]>::to_vec).collect()
    }

    /// What changed since the last call; records the emitted lists.
    pub fn take(&self) -> Changes {
        self.with(|t| t.take(&self.inner.instance))
    }

    /// The current lists, as last emitted (for a new admin socket).
    pub fn snapshot(&self) -> Vec<ThreadAgents> {
        self.with(|t| {
            let mut v: Vec<ThreadAgents> = t
                .shown
                .iter()
                .map(|(th, a)| ThreadAgents {
                    thread_id: th.clone(),
                    agents: a.clone(),
                })
                .collect();
            v.sort_by(|a, b| a.thread_id.cmp(&b.thread_id));
            v
        })
    }

    /// Entries kept: `(local, all)` (tests, metrics).
    pub fn counts(&self) -> (usize, usize) {
        self.with(|t| (t.local, t.entries.len()))
    }
}

/// One admin socket's part of the table: dropping it (the socket went,
/// however it ended) removes its entry.
pub struct ViewerGuard {
    presence: AgentPresence,
    socket: String,
}

impl std::fmt::Debug for ViewerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerGuard")
            .field("socket", &self.socket)
            .finish()
    }
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.presence.drop_socket(&self.socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Changes) -> Vec<(String, Vec<(i64, bool)>)> {
        c.emit
            .iter()
            .map(|t| {
                (
                    t.thread_id.clone(),
                    t.agents.iter().map(|a| (a.id.get(), a.typing)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn one_entry_per_socket_and_one_line_per_agent() {
        let p = AgentPresence::default();
        p.view("s1", AgentId(1), "Ayşe", Some("t1")).unwrap();
        p.view("s2", AgentId(1), "Ayşe", Some("t1")).unwrap();
        p.typing("s2", AgentId(1), "Ayşe", "t1", true);
        assert_eq!(names(&p.take()), vec![("t1".into(), vec![(1, true)])]);
        // Moving s1 to t2 leaves t1 to s2.
        p.view("s1", AgentId(1), "Ayşe", Some("t2")).unwrap();
        assert_eq!(names(&p.take()), vec![("t2".into(), vec![(1, false)])]);
        assert_eq!(p.counts(), (2, 2));
        let g = p.guard("s2".into());
        drop(g);
        let c = p.take();
        assert_eq!(names(&c), vec![("t1".into(), vec![])]);
        assert_eq!(c.publish[0].thread_id, None);
        assert_eq!(p.snapshot().len(), 1);
    }

    #[test]
    fn typing_and_remote_entries_expire() {
        let p = AgentPresence::default();
        p.typing("s1", AgentId(1), "A", "t1", true);
        p.apply(PresenceSync::Viewers {
            instance: "other".into(),
            viewers: vec![Viewer {
                socket: "x".into(),
                agent_id: AgentId(2),
                name: "B".into(),
                thread_id: Some("t1".into()),
                typing: false,
            }],
        });
        assert_eq!(
            names(&p.take()),
            vec![("t1".into(), vec![(1, true), (2, false)])]
        );
        p.expire(Instant::now() + TYPING_FOR);
        assert_eq!(
            names(&p.take()),
            vec![("t1".into(), vec![(1, false), (2, false)])]
        );
        p.expire(Instant::now() + REMOTE_TTL);
        assert_eq!(names(&p.take()), vec![("t1".into(), vec![(1, false)])]);
        // Its own messages are ignored.
        p.apply(PresenceSync::Hello {
            instance: p.instance().to_owned(),
        });
        assert!(!p.take().send_all);
    }

    #[test]
    fn bounded() {
        let p = AgentPresence::default();
        for i in 0..MAX_LOCAL {
            p.view(&i.to_string(), AgentId(i as i64), "n", Some("t"))
                .unwrap();
        }
        assert!(p.view("one more", AgentId(1), "n", Some("t")).is_err());
        // Replacing an existing socket's entry still works.
        p.view("0", AgentId(0), "n", Some("u")).unwrap();
        let c = p.take();
        let t = c.emit.iter().find(|t| t.thread_id == "t").unwrap();
        assert_eq!(t.agents.len(), MAX_SHOWN);
        assert_eq!(p.counts(), (MAX_LOCAL, MAX_LOCAL));
        let q = AgentPresence::default();
        q.view("s", AgentId(1), &"x".repeat(500), Some("t"))
            .unwrap();
        assert_eq!(q.take().emit[0].agents[0].name.len(), MAX_NAME_CHARS);
    }
}
