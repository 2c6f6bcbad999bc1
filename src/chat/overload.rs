//! Logging under overload without a line per event: an [`Episode`] counts
//! what happened (sends refused as busy, sockets cut off for falling behind)
//! and writes at most one WARN line per [`INTERVAL`] with the count since
//! the last line (issue #9: 84,000 WARN lines in 8 s is itself an outage).

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Least time between two lines of one episode kind.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// A kind of overload event, counted and logged at most once per [`INTERVAL`].
pub struct Episode {
    what: &'static str,
    count: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Episode {
    /// An episode kind described by `what` (e.g. "sends refused: writer queue full").
    pub const fn new(what: &'static str) -> Self {
        Episode {
            what,
            count: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Counts one event; logs `what` with the count when the last line is
    /// older than [`INTERVAL`] (the first event of an episode logs at once).
    /// Returns whether this call wrote a line.
    pub fn hit(&self) -> bool {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < INTERVAL) {
            return false;
        }
        let n = self.count.swap(0, Ordering::Relaxed);
        let since = last.map_or(0, |t| now.duration_since(t).as_secs());
        *last = Some(now);
        drop(last);
        tracing::warn!(count = n, since_s = since, "overload: {}", self.what);
        true
    }
}

static BUSY: Episode =
    Episode::new("sends refused with SERVER_BUSY (the writer queue stayed full)");

/// Counts a send refused as busy.
pub fn refused() {
    BUSY.hit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval() {
        let e = Episode::new("test");
        assert!(e.hit(), "the first event logs");
        let lines = (0..10_000).filter(|_| e.hit()).count();
        assert_eq!(
            lines, 0,
            "later events within the interval are only counted"
        );
        assert_eq!(e.count.load(Ordering::Relaxed), 10_000);
    }
}
