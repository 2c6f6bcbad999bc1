//! The outbox's fair share (issue 23): whose forward goes next.
//!
//! The admin chat takes about 20 messages a minute (a group), so the order
//! of the sends decides how long everyone waits. Threads take turns round
//! robin: a thread that had its turn goes to the back of the ring, a
//! thread that gets a due forward joins at the back. A turn is one pick of
//! the worker: one forward, or one coalesced forward carrying all the
//! thread's due texts ([`super::coalesce`]).
//!
//! **Per address.** All threads of one client address (an IPv4 address,
//! an IPv6 /64: `limits::address_key`, stored on each pending forward)
//! together get at most one send in every `TELEGRAM_ADDRESS_SHARE` (N,
//! default 4) while another address's forward waits: an address that had
//! one of the last N − 1 sends is passed over for any other. So one
//! address with many cookies (many threads) cannot push everyone back;
//! when nobody else waits it is not held back (no send is left unused).
//! Sends are counted by the pacer ([`super::console::Pacer::sends`]), so
//! a `createForumTopic` counts like a message. A forward without an
//! address (an agent's mirrored message, a row queued before migration
//! 0021) counts as an address of its own thread.
//!
//! **The rule that follows.** With k threads waiting, each gets a turn
//! every k sends: at 20 sends a minute about every k × 3 s
//! (docs/telegram.md).
//!
//! The state is the sender's memory only (one sender across instances);
//! a restart or a new sender starts a fresh ring, ordered by the oldest
//! forward first.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::chat::outbox::OutboxItem;
use crate::domain::ThreadId;

/// Round robin over threads with a cap per client address.
#[derive(Debug)]
pub struct Fair {
    /// N of "one send in N".
    share: usize,
    /// The address keys of the last N − 1 sends, oldest first.
    recent: VecDeque<String>,
    /// Each thread's place in the ring: the turn at which it last had a
    /// turn or joined (lower goes first).
    place: HashMap<ThreadId, u64>,
    /// Turns so far.
    turn: u64,
}

impl Fair {
    /// Round robin where one address gets at most one send in `share`
    /// while others wait (`share` ≤ 1: no cap).
    pub fn new(share: u32) -> Fair {
        Fair {
            share: usize::try_from(share.max(1)).unwrap_or(usize::MAX),
            recent: VecDeque::new(),
            place: HashMap::new(),
            turn: 0,
        }
    }

    /// The address a forward counts under: its client address key, or
    /// its own thread when it has none.
    pub fn key(item: &OutboxItem) -> String {
        match &item.client_key {
            Some(k) => format!("a {k}"),
            None => format!("t {}", item.thread_id),
        }
    }

    /// The head whose turn it is among `heads` (one per thread, as
    /// `Outbox::due` reads them); `None` when there is none. Threads that
    /// have no due head any more leave the ring.
    pub fn pick<'a>(&mut self, heads: &'a [OutboxItem]) -> Option<&'a OutboxItem> {
        let due: HashSet<&str> = heads.iter().map(|h| h.thread_id.as_str()).collect();
        self.place.retain(|t, _| due.contains(t.as_str()));
        for h in heads {
            self.place.entry(h.thread_id.clone()).or_insert(self.turn);
        }
        let order = |h: &&OutboxItem| (self.place.get(&h.thread_id).copied(), h.id);
        let eligible = heads
            .iter()
            .filter(|h| !self.recent.contains(&Fair::key(h)))
            .min_by_key(order);
        eligible.or_else(|| heads.iter().min_by_key(order))
    }

    /// Records a turn of `item`'s thread that made `sends` paced calls: the
    /// thread goes to the back of the ring and its address takes `sends`
    /// places among the last N − 1 sends.
    pub fn served(&mut self, item: &OutboxItem, sends: u64) {
        self.turn += 1;
        self.place.insert(item.thread_id.clone(), self.turn);
        let keep = self.share - 1;
        if keep == 0 {
            return;
        }
        let key = Fair::key(item);
        for _ in 0..sends.min(keep as u64) {
            self.recent.push_back(key.clone());
        }
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: i64, thread: &str, key: Option<&str>) -> OutboxItem {
        OutboxItem {
            id: crate::domain::OutboxId(id),
            attempts: 0,
            parts_sent: 0,
            thread_id: thread.into(),
            message_id: Some(crate::domain::MessageId(id)),
            display_name: None,
            content_type: None,
            content_text: None,
            file_url: None,
            sender: None,
            internal: None,
            agent_name: None,
            tg_topic_id: None,
            tg_topic_chat_id: None,
            tg_topic_name: None,
            tg_topic_closed: None,
            assignee_name: None,
            created_at: None,
            client_key: key.map(Into::into),
        }
    }

    /// Runs `turns` turns over threads that always have a due head (ids
    /// grow with each send, as new messages would); returns the threads
    /// served, in order.
    fn run(fair: &mut Fair, threads: &[(&str, Option<&str>)], turns: usize) -> Vec<String> {
        let mut next: HashMap<&str, i64> = threads
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (*t, i as i64))
            .collect();
        let mut out = vec![];
        for _ in 0..turns {
            let heads: Vec<OutboxItem> =
                threads.iter().map(|(t, k)| head(next[t], t, *k)).collect();
            let h = fair.pick(&heads).expect("a head").clone();
            fair.served(&h, 1);
            *next.get_mut(h.thread_id.as_str()).expect("known") += 100;
            out.push(h.thread_id.into_string());
        }
        out
    }

    #[test]
    fn threads_take_turns() {
        let mut f = Fair::new(4);
        let t = [("a", Some("1.1.1.1")), ("b", Some("2.2.2.2")), ("c", None)];
        assert_eq!(run(&mut f, &t, 6), ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn one_address_gets_one_send_in_n_while_others_wait() {
        let mut f = Fair::new(4);
        // Eight threads of one address, queued first; then two visitors.
        let mut t: Vec<(String, Option<&str>)> = (0..8)
            .map(|i| (format!("flood{i}"), Some("10.0.0.1")))
            .collect();
        t.push(("v1".into(), Some("10.0.0.2")));
        t.push(("v2".into(), Some("2001:db8::/64")));
        let t: Vec<(&str, Option<&str>)> = t.iter().map(|(a, k)| (a.as_str(), *k)).collect();
        let served = run(&mut f, &t, 12);
        for w in served.windows(4) {
            let flood = w.iter().filter(|s| s.starts_with("flood")).count();
            assert!(flood <= 2, "{served:?}");
        }
        assert!(served[..3].contains(&"v1".to_owned()), "{served:?}");
        assert!(served[..3].contains(&"v2".to_owned()), "{served:?}");
        // Alone, the address is not held back.
        let alone = run(&mut Fair::new(4), &t[..3], 6);
        assert_eq!(
            alone,
            ["flood0", "flood1", "flood2", "flood0", "flood1", "flood2"]
        );
    }

    #[test]
    fn a_topic_and_its_message_count_as_two_sends() {
        let mut f = Fair::new(3);
        let a = head(1, "a", Some("k"));
        let b = head(2, "b", Some("j"));
        let c = head(3, "c", Some("k"));
        f.served(&a, 2);
        // Both of the last two sends were k's: j goes first.
        assert_eq!(f.pick(&[c.clone(), b.clone()]).map(|h| h.id.get()), Some(2));
        f.served(&b, 1);
        // k and j each had one of the last two: the ring decides (c waited longer).
        assert_eq!(f.pick(&[c.clone(), b.clone()]).map(|h| h.id.get()), Some(3));
        f.served(&c, 1);
        assert_eq!(f.pick(&[c.clone(), b]).map(|h| h.id.get()), Some(2));
        f.served(&a, 2);
        assert_eq!(
            f.pick(&[c]).map(|h| h.id.get()),
            Some(3),
            "alone, k is served"
        );
    }
}
