//! What the bridge knows about the admin chat at run time, shared by the
//! outbox worker, the update handlers and the Socket.IO adapter: whether
//! forum topics are used ([`Console::topics_on`]), the last self-test
//! ([`super::selftest`]), the per-chat send pace ([`Pacer`]) and the
//! typing throttle ([`Console::typing_due`]).

use std::{
    collections::HashMap,
    sync::{
        Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::selftest::SelfTest;

/// Shortest gap between two `sendChatAction(typing)` of one thread (Telegram
/// shows the action for 5 s or until the next message).
pub const TYPING_EVERY: Duration = Duration::from_secs(4);
/// Most threads whose last typing time is remembered; beyond it, typing
/// actions are skipped until old entries expire (an attacker cannot grow it).
pub const TYPING_MAX_THREADS: usize = 10_000;

/// Run-time state of the bridge; one per process, behind an `Arc`.
#[derive(Debug)]
pub struct Console {
    topics: AtomicBool,
    report: RwLock<Option<SelfTest>>,
    /// Paces the messages the bot writes to the admin chat.
    pub pace: Pacer,
    typing: Mutex<HashMap<String, Instant>>,
}

impl Console {
    /// A console sending at most `per_minute` messages a minute to the admin
    /// chat (0 = no pacing).
    pub fn new(per_minute: u32) -> Console {
        Console {
            topics: AtomicBool::new(false),
            report: RwLock::new(None),
            pace: Pacer::new(per_minute),
            typing: Mutex::new(HashMap::new()),
        }
    }

    /// Forum topics are used: the admin chat is a forum supergroup and the
    /// bot may manage its topics (as of the last self-test).
    pub fn topics_on(&self) -> bool {
        self.topics.load(Ordering::Acquire)
    }

    /// Turns topic mode off until the next self-test (e.g. the bot lost its
    /// rights: forwards then go to the chat itself, reply routing works),
    /// and says why in the last self-test's report (`/health`, the panel):
    /// topic mode off, `reason`, and a failed "topic mode" check with the fix.
    pub fn topics_off(&self, reason: &str) {
        self.topics.store(false, Ordering::Release);
        let mut report = self.report.write().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = report.as_mut() {
            r.topics_refused(reason);
        }
    }

    /// Records a self-test and the topic mode it found.
    pub fn set_report(&self, report: SelfTest) {
        self.topics.store(report.topic_mode, Ordering::Release);
        *self.report.write().unwrap_or_else(|p| p.into_inner()) = Some(report);
    }

    /// The last self-test, if one ran.
    pub fn report(&self) -> Option<SelfTest> {
        self.report
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether a typing action for `thread_id` may go out now (at most one
    /// per [`TYPING_EVERY`] per thread); records it when so.
    pub fn typing_due(&self, thread_id: &str) -> bool {
        let now = Instant::now();
        let mut map = self.typing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = map.get(thread_id)
            && now.duration_since(*at) < TYPING_EVERY
        {
            return false;
        }
        if map.len() >= TYPING_MAX_THREADS {
            map.retain(|_, at| now.duration_since(*at) < TYPING_EVERY);
            if map.len() >= TYPING_MAX_THREADS {
                return false;
            }
        }
        map.insert(thread_id.to_owned(), now);
        true
    }
}

/// Sends at a steady pace: each message waits until `60 s / per_minute`
/// after the previous one was *answered* (measured from the answer, so
/// that network jitter can never squeeze two sends closer together at
/// Telegram than the pace). Telegram allows a bot about 20 messages a
/// minute in one group, all topics together (Bot API FAQ, "My bot is
/// hitting limits").
///
/// The pace depends on the kind of admin chat
/// ([`crate::config::ConsoleConfig::pace_for`]): about one message a
/// second in a private chat. Every paced call counts as a send
/// ([`Pacer::sends`]), `createForumTopic` too: the outbox's fair share
/// counts turns in sends ([`super::fair`]).
#[derive(Debug)]
pub struct Pacer {
    gap: Option<Duration>,
    next: tokio::sync::Mutex<Option<tokio::time::Instant>>,
    sends: std::sync::atomic::AtomicU64,
}

impl Pacer {
    /// `per_minute` messages a minute; 0 = no pacing.
    pub fn new(per_minute: u32) -> Pacer {
        Pacer {
            gap: (per_minute > 0).then(|| Duration::from_secs(60) / per_minute),
            next: tokio::sync::Mutex::new(None),
            sends: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many paced calls began so far (since the start).
    pub fn sends(&self) -> u64 {
        self.sends.load(Ordering::Acquire)
    }

    /// Waits for this message's turn; the returned guard must be
    /// [`Turn::done`] once Telegram answered (or dropped: the same).
    pub async fn turn(&self) -> Turn<'_> {
        let guard = self.next.lock().await;
        if let Some(at) = *guard {
            tokio::time::sleep_until(at).await;
        }
        self.sends.fetch_add(1, Ordering::AcqRel);
        Turn {
            gap: self.gap,
            guard,
        }
    }

    /// Pushes the next turn back to `now + wait` at least (a `429
    /// retry_after`).
    pub async fn hold_off(&self, wait: Duration) {
        let mut next = self.next.lock().await;
        let at = tokio::time::Instant::now() + wait;
        *next = Some(next.map_or(at, |n| n.max(at)));
    }
}

/// One paced send in progress (holds the pace, so sends are one at a time).
pub struct Turn<'a> {
    gap: Option<Duration>,
    guard: tokio::sync::MutexGuard<'a, Option<tokio::time::Instant>>,
}

impl Turn<'_> {
    /// The send was answered: the next one may go `gap` from now.
    pub fn done(self) {}
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.guard = self.gap.map(|g| tokio::time::Instant::now() + g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_throttled_per_thread() {
        let c = Console::new(20);
        assert!(c.typing_due("a"));
        assert!(!c.typing_due("a"));
        assert!(c.typing_due("b"));
    }

    #[tokio::test]
    async fn the_pacer_spaces_sends_and_honours_retry_after() {
        assert_eq!(Pacer::new(20).gap, Some(Duration::from_secs(3)));
        assert_eq!(Pacer::new(0).gap, None);
        let p = Pacer::new(20);
        p.turn().await.done();
        assert_eq!(p.sends(), 1);
        let next = p.next.lock().await.expect("a next turn");
        assert!(next > tokio::time::Instant::now() + Duration::from_secs(2));
        p.hold_off(Duration::from_secs(30)).await;
        let held = p.next.lock().await.expect("held off");
        assert!(held > tokio::time::Instant::now() + Duration::from_secs(29));
    }
}
