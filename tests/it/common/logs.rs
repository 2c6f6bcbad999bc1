//! Log capture for tests that assert on what the app logs (no message
//! bodies, one warning per flood) or on how often the outbox store is
//! queried (no spinning).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

/// What the app logs while a test runs: every event and span at TRACE as
/// text (a span's fields are printed when it opens), and how many spans of
/// the outbox store (`sohbet::store::outbox`, one per query) were opened.
/// `#[tokio::test]` runs the app on the test's own thread (current-thread
/// runtime), so a thread-local subscriber sees all of it and nothing of the
/// other tests.
#[derive(Clone, Default)]
pub struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
    outbox_spans: Arc<AtomicUsize>,
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct SpanCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanCounter {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs
            .metadata()
            .target()
            .starts_with("sohbet::store::outbox")
        {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Logs {
    /// Captures until the guard is dropped.
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        use tracing_subscriber::{fmt::format::FmtSpan, layer::SubscriberExt};
        let logs = Logs::default();
        let text = logs.text.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(move || LogWriter(text.clone()))
            .with_ansi(false)
            .with_span_events(FmtSpan::NEW);
        let subscriber = tracing_subscriber::registry()
            .with(fmt)
            .with(SpanCounter(logs.outbox_spans.clone()));
        let guard = tracing::subscriber::set_default(subscriber);
        (logs, guard)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    /// Spans of the outbox store opened so far.
    pub fn outbox_spans(&self) -> usize {
        self.outbox_spans.load(Ordering::SeqCst)
    }
}
