//! Who is online on this instance, derived from the live sockets: each
//! visitor or admin socket holds a [`PresenceGuard`] (in its extensions),
//! and the guard's `Drop` takes the presence down — whether or not
//! socketioxide called a disconnect handler (a socket that dies before its
//! CONNECT completes gets none, issue #8 item 3). Counts, so several tabs of
//! one person are one presence. When the last socket of a visitor or of the
//! admin goes, a [`Departure`] is queued for the realtime module to announce
//! (`user_offline`). It also holds the agents' presence per thread
//! ([`super::agent_presence`], collision warnings), shared across instances.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::sync::mpsc;

/// Someone's last socket on this instance closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Departure {
    /// The last socket of this visitor thread.
    Visitor(crate::domain::ThreadId),
    /// The last admin socket.
    Admin,
}

/// Online counters; cheap to clone.
#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    /// Which agents view which thread (issue 22 item 5).
    agents: super::agent_presence::AgentPresence,
    visitors: Mutex<HashMap<String, usize>>,
    admins: AtomicUsize,
    last_admin_seen: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    departures: mpsc::UnboundedSender<Departure>,
    departures_rx: Mutex<Option<mpsc::UnboundedReceiver<Departure>>>,
}

impl Default for Presence {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Presence {
            inner: Arc::new(Inner {
                agents: super::agent_presence::AgentPresence::default(),
                visitors: Mutex::default(),
                admins: AtomicUsize::new(0),
                last_admin_seen: Mutex::default(),
                departures: tx,
                departures_rx: Mutex::new(Some(rx)),
            }),
        }
    }
}

/// One live socket's presence; dropping it takes the presence down.
pub struct PresenceGuard {
    presence: Presence,
    who: Departure,
    /// The first socket of this visitor / of the admin (announce it).
    pub first: bool,
}

impl std::fmt::Debug for PresenceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceGuard")
            .field("who", &self.who)
            .field("first", &self.first)
            .finish()
    }
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let last = match &self.who {
            Departure::Visitor(id) => self.presence.visitor_down(id),
            Departure::Admin => self.presence.admin_down(),
        };
        if last {
            // The receiver lives as long as the Socket.IO layer; after it
            // is gone nobody is left to tell.
            let _ = self.presence.inner.departures.send(self.who.clone());
        }
    }
}

impl Presence {
    /// Which agents view or type in which thread
    /// ([`super::agent_presence`]).
    pub fn agents(&self) -> &super::agent_presence::AgentPresence {
        &self.inner.agents
    }

    /// The queue of [`Departure`]s; `None` after the first call (one
    /// announcer per process).
    pub fn take_departures(&self) -> Option<mpsc::UnboundedReceiver<Departure>> {
        self.inner
            .departures_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// A visitor socket of `thread_id` is live, until the guard drops.
    pub fn visitor_socket(&self, thread_id: &crate::domain::ThreadId) -> PresenceGuard {
        let first = {
            let mut map = self
                .inner
                .visitors
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let n = map.entry(thread_id.to_string()).or_default();
            *n += 1;
            *n == 1
        };
        PresenceGuard {
            presence: self.clone(),
            who: Departure::Visitor(thread_id.clone()),
            first,
        }
    }

    /// An admin socket is live, until the guard drops.
    pub fn admin_socket(&self) -> PresenceGuard {
        let first = self.inner.admins.fetch_add(1, Ordering::AcqRel) == 0;
        PresenceGuard {
            presence: self.clone(),
            who: Departure::Admin,
            first,
        }
    }

    /// A visitor socket of `thread_id` closed; `true` when it was the last.
    fn visitor_down(&self, thread_id: &str) -> bool {
        let mut map = self
            .inner
            .visitors
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match map.get_mut(thread_id) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                map.remove(thread_id);
                true
            }
            None => false,
        }
    }

    /// Has `thread_id` an open visitor socket?
    pub fn visitor_online(&self, thread_id: &str) -> bool {
        self.inner
            .visitors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(thread_id)
    }

    /// An admin socket closed; `true` when it was the last.
    fn admin_down(&self) -> bool {
        let last = self
            .inner
            .admins
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok_and(|prev| prev == 1);
        if last {
            *self
                .inner
                .last_admin_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(chrono::Utc::now());
        }
        last
    }

    /// Open sockets of this process: `(visitor sockets, admin sockets)`
    /// (for `/metrics`; O(threads online)).
    pub fn socket_counts(&self) -> (usize, usize) {
        let visitors = self
            .inner
            .visitors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum::<usize>();
        (visitors, self.inner.admins.load(Ordering::Acquire))
    }

    /// Is an admin socket open?
    pub fn admin_online(&self) -> bool {
        self.inner.admins.load(Ordering::Acquire) > 0
    }

    /// When the last admin socket closed (this process's memory).
    pub fn admin_last_seen(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        *self
            .inner
            .last_admin_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tabs_once_and_queues_departures() {
        let p = Presence::default();
        let mut rx = p.take_departures().unwrap();
        assert!(p.take_departures().is_none());
        let a = p.visitor_socket(&"t".into());
        let b = p.visitor_socket(&"t".into());
        assert!(a.first && !b.first);
        drop(a);
        assert!(p.visitor_online("t"));
        assert!(rx.try_recv().is_err());
        drop(b);
        assert!(!p.visitor_online("t"));
        assert_eq!(rx.try_recv().unwrap(), Departure::Visitor("t".into()));
        let admin = p.admin_socket();
        assert!(admin.first && p.admin_online());
        drop(admin);
        assert!(!p.admin_online());
        assert!(p.admin_last_seen().is_some());
        assert_eq!(rx.try_recv().unwrap(), Departure::Admin);
    }
}
