//! The table behind [`super::AgentPresence`]: entries by (instance,
//! socket) and by thread, the pending changes, and the lists last emitted.
//! Every mutation marks what it touched; [`Table::take`] turns that into
//! [`Changes`].

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use super::{
    AgentView, Changes, Full, MAX_ENTRIES, MAX_LOCAL, MAX_NAME_CHARS, MAX_SHOWN, ThreadAgents,
    Viewer,
};
use crate::domain::AgentId;

/// (instance, socket id).
pub(super) type Key = (String, String);

pub(super) struct Entry {
    pub(super) agent_id: AgentId,
    pub(super) name: String,
    pub(super) thread: String,
    pub(super) typing_until: Option<Instant>,
    /// Remote entries only.
    pub(super) expires: Option<Instant>,
}

#[derive(Default)]
pub(super) struct Table {
    pub(super) entries: HashMap<Key, Entry>,
    pub(super) by_thread: HashMap<String, HashSet<Key>>,
    pub(super) local: usize,
    pub(super) dirty_threads: HashSet<String>,
    pub(super) dirty_local: HashSet<String>,
    /// Last list emitted per thread (non-empty only): the snapshot.
    pub(super) shown: HashMap<String, Vec<AgentView>>,
    pub(super) send_all: bool,
    pub(super) hello: bool,
}

impl Entry {
    pub(super) fn viewer(&self, socket: &str) -> Viewer {
        Viewer {
            socket: socket.to_owned(),
            agent_id: self.agent_id,
            name: self.name.clone(),
            thread_id: Some(self.thread.clone()),
            typing: self.typing_until.is_some(),
        }
    }
}

impl Table {
    /// Inserts or replaces the entry of `key`.
    pub(super) fn upsert(
        &mut self,
        key: Key,
        agent_id: AgentId,
        name: &str,
        thread: &str,
        typing_until: Option<Instant>,
        expires: Option<Instant>,
    ) -> Result<(), Full> {
        let local = expires.is_none();
        if let Some(e) = self.entries.get_mut(&key) {
            if e.thread != thread {
                let old = std::mem::replace(&mut e.thread, thread.to_owned());
                if let Some(set) = self.by_thread.get_mut(&old) {
                    set.remove(&key);
                    if set.is_empty() {
                        self.by_thread.remove(&old);
                    }
                }
                self.dirty_threads.insert(old);
                self.by_thread
                    .entry(thread.to_owned())
                    .or_default()
                    .insert(key);
            }
            e.typing_until = typing_until;
            e.expires = expires;
            self.dirty_threads.insert(thread.to_owned());
            return Ok(());
        }
        if self.entries.len() >= MAX_ENTRIES || (local && self.local >= MAX_LOCAL) {
            return Err(Full);
        }
        if local {
            self.local += 1;
        }
        self.by_thread
            .entry(thread.to_owned())
            .or_default()
            .insert(key.clone());
        self.entries.insert(
            key,
            Entry {
                agent_id,
                name: name.chars().take(MAX_NAME_CHARS).collect(),
                thread: thread.to_owned(),
                typing_until,
                expires,
            },
        );
        self.dirty_threads.insert(thread.to_owned());
        Ok(())
    }

    /// Removes the entry of `key`; `true` when there was one.
    pub(super) fn remove(&mut self, key: &Key) -> bool {
        let Some(e) = self.entries.remove(key) else {
            return false;
        };
        if e.expires.is_none() {
            self.local -= 1;
        }
        if let Some(set) = self.by_thread.get_mut(&e.thread) {
            set.remove(key);
            if set.is_empty() {
                self.by_thread.remove(&e.thread);
            }
        }
        self.dirty_threads.insert(e.thread);
        true
    }

    pub(super) fn expire(&mut self, now: Instant, instance: &str) {
        let mut gone = Vec::new();
        for (k, e) in &mut self.entries {
            if e.expires.is_some_and(|x| x <= now) {
                gone.push(k.clone());
            } else if e.typing_until.is_some_and(|x| x <= now) {
                e.typing_until = None;
                self.dirty_threads.insert(e.thread.clone());
                if k.0 == instance {
                    self.dirty_local.insert(k.1.clone());
                }
            }
        }
        for k in gone {
            self.remove(&k);
        }
    }

    /// The list of `thread` now.
    pub(super) fn agents(&self, thread: &str) -> Vec<AgentView> {
        let mut by_agent: HashMap<AgentId, AgentView> = HashMap::new();
        for k in self.by_thread.get(thread).into_iter().flatten() {
            let Some(e) = self.entries.get(k) else {
                continue;
            };
            let a = by_agent.entry(e.agent_id).or_insert_with(|| AgentView {
                id: e.agent_id,
                name: e.name.clone(),
                typing: false,
            });
            a.typing |= e.typing_until.is_some();
        }
        let mut v: Vec<AgentView> = by_agent.into_values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v.truncate(MAX_SHOWN);
        v
    }

    pub(super) fn take(&mut self, instance: &str) -> Changes {
        let mut emit = Vec::new();
        for th in std::mem::take(&mut self.dirty_threads) {
            let now = self.agents(&th);
            let before = self.shown.get(&th).map_or(&[][..], Vec::as_slice);
            if now.as_slice() == before {
                continue;
            }
            if now.is_empty() {
                self.shown.remove(&th);
            } else {
                self.shown.insert(th.clone(), now.clone());
            }
            emit.push(ThreadAgents {
                thread_id: th,
                agents: now,
            });
        }
        emit.sort_by(|a, b| a.thread_id.cmp(&b.thread_id));
        let publish = std::mem::take(&mut self.dirty_local)
            .into_iter()
            .map(|s| {
                let key = (instance.to_owned(), s);
                match self.entries.get(&key) {
                    Some(e) => e.viewer(&key.1),
                    None => Viewer {
                        socket: key.1,
                        agent_id: AgentId(0),
                        name: String::new(),
                        thread_id: None,
                        typing: false,
                    },
                }
            })
            .collect();
        Changes {
            emit,
            publish,
            send_all: std::mem::take(&mut self.send_all),
            hello: std::mem::take(&mut self.hello),
        }
    }
}
