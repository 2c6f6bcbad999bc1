//! Who is online on this instance: visitor sockets per thread and admin
//! sockets. Counts, so several tabs of one person are one presence.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

/// Online counters; cheap to clone.
#[derive(Clone, Default)]
pub struct Presence {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    visitors: Mutex<HashMap<String, usize>>,
    admins: AtomicUsize,
    last_admin_seen: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
}

impl Presence {
    /// A visitor socket of `thread_id` connected; `true` when it is the first.
    pub fn visitor_up(&self, thread_id: &str) -> bool {
        let mut map = self
            .inner
            .visitors
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = map.entry(thread_id.to_owned()).or_default();
        *n += 1;
        *n == 1
    }

    /// A visitor socket of `thread_id` closed; `true` when it was the last.
    pub fn visitor_down(&self, thread_id: &str) -> bool {
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

    /// An admin socket connected; `true` when it is the first.
    pub fn admin_up(&self) -> bool {
        self.inner.admins.fetch_add(1, Ordering::AcqRel) == 0
    }

    /// An admin socket closed; `true` when it was the last.
    pub fn admin_down(&self) -> bool {
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
    fn counts_tabs_once() {
        let p = Presence::default();
        assert!(p.visitor_up("t"));
        assert!(!p.visitor_up("t"));
        assert!(!p.visitor_down("t"));
        assert!(p.visitor_online("t"));
        assert!(p.visitor_down("t"));
        assert!(!p.visitor_online("t"));
        assert!(p.admin_up());
        assert!(p.admin_down());
        assert!(!p.admin_down());
        assert!(!p.admin_online());
    }
}
