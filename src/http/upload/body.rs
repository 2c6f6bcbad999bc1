//! The body of an upload request as a stream of chunks, with limits on the
//! wire: at most a byte limit while it is received, every chunk within
//! `UPLOAD_BODY_TIMEOUT_SECS`, and once that grace has passed at least
//! `UPLOAD_BODY_MIN_RATE` bytes per second on average (the rule of Apache's
//! `mod_reqtimeout` `body=…,MinRate=…`: the allowed time grows by one second
//! per `MinRate` bytes received). A body that breaks a time rule ends with
//! [`BodyError::TimedOut`] (→ 408).
//!
//! After the answer is decided, [`UploadBody::drain`] reads what the client
//! still sends, at most [`DRAIN_MAX_BYTES`] and under the same time rules,
//! so that the connection is closed only once the client has sent its body
//! and the answer is not destroyed by a TCP reset (RFC 9112 § 9.6, "tear-down").

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, BodyDataStream, Bytes};
use tokio::time::{Instant, Sleep};
use tokio_stream::{Stream, StreamExt};

use crate::config::UploadConfig;

/// Most bytes read and discarded after the answer was decided. A client
/// that sends more sees its connection closed (and may see a reset).
pub const DRAIN_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// The time rules of an upload body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// Longest wait for the next chunk; also the grace before `min_rate`.
    pub timeout: Duration,
    /// Least average bytes per second after the grace; 0 = no rate rule.
    pub min_rate: u32,
}

impl From<&UploadConfig> for Pacing {
    fn from(c: &UploadConfig) -> Self {
        Pacing {
            timeout: c.body_timeout,
            min_rate: c.body_min_rate,
        }
    }
}

/// Why reading the body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More bytes than the limit (bytes).
    #[error("the request body is larger than {0} bytes")]
    TooLarge(u64),
    /// A chunk came later than a time rule allows.
    #[error("the request body arrived too slowly")]
    TimedOut,
    /// The connection failed.
    #[error("reading the request body: {0}")]
    Read(axum::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// Over the limit: more may follow, and may be drained.
    TooLarge,
    /// Too slow or broken: never drained.
    Dead,
    Ended,
}

/// An upload body under [`Pacing`] and a byte limit; a stream of chunks.
pub struct UploadBody {
    inner: BodyDataStream,
    pacing: Pacing,
    limit: u64,
    received: u64,
    /// When reading started (the first poll); `None` before.
    started: Option<Instant>,
    /// When the last chunk came.
    last: Instant,
    timer: Pin<Box<Sleep>>,
    state: State,
}

impl UploadBody {
    /// `body` with `pacing`, refused past `limit` bytes.
    pub fn new(body: Body, pacing: Pacing, limit: u64) -> UploadBody {
        let now = Instant::now();
        UploadBody {
            inner: body.into_data_stream(),
            pacing,
            limit,
            received: 0,
            started: None,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + pacing.timeout)),
            state: State::Open,
        }
    }

    /// Whether any byte was asked for (with `Expect: 100-continue`, hyper
    /// sends `100 Continue` only then).
    pub fn touched(&self) -> bool {
        self.started.is_some()
    }

    /// The latest time the next chunk may come.
    fn deadline(&self, started: Instant) -> Instant {
        let idle = self.last + self.pacing.timeout;
        if self.pacing.min_rate == 0 {
            return idle;
        }
        let earned = Duration::from_millis(
            self.received.saturating_mul(1000) / u64::from(self.pacing.min_rate),
        );
        idle.min(started + self.pacing.timeout + earned)
    }

    /// Reads and discards the rest of the body (see the module doc); stops
    /// at its end, after [`DRAIN_MAX_BYTES`], on a time rule or an error.
    /// Nothing is read from a body that was too slow or broken. Returns
    /// the bytes discarded.
    pub async fn drain(mut self) -> u64 {
        match self.state {
            State::Dead | State::Ended => return 0,
            State::Open | State::TooLarge => {}
        }
        self.state = State::Open;
        let from = self.received;
        self.limit = from.saturating_add(DRAIN_MAX_BYTES);
        while let Some(Ok(_)) = self.next().await {}
        self.received.min(self.limit) - from
    }
}

impl Stream for UploadBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.state != State::Open {
            return Poll::Ready(None);
        }
        let started = *this.started.get_or_insert_with(|| {
            let now = Instant::now();
            this.last = now;
            this.timer.as_mut().reset(now + this.pacing.timeout);
            now
        });
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let now = Instant::now();
                if now > this.timer.deadline() {
                    this.state = State::Dead;
                    return Poll::Ready(Some(Err(BodyError::TimedOut)));
                }
                this.received += chunk.len() as u64;
                if this.received > this.limit {
                    this.state = State::TooLarge;
                    return Poll::Ready(Some(Err(BodyError::TooLarge(this.limit))));
                }
                this.last = now;
                let next = this.deadline(started);
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.state = State::Dead;
                Poll::Ready(Some(Err(BodyError::Read(e))))
            }
            Poll::Ready(None) => {
                this.state = State::Ended;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    this.state = State::Dead;
                    Poll::Ready(Some(Err(BodyError::TimedOut)))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing(timeout_ms: u64, min_rate: u32) -> Pacing {
        Pacing {
            timeout: Duration::from_millis(timeout_ms),
            min_rate,
        }
    }

    /// A body that yields `chunks` bytes each after `gap`.
    fn trickle(chunks: usize, size: usize, gap: Duration) -> Body {
        let s = tokio_stream::iter(0..chunks).then(move |_| async move {
            tokio::time::sleep(gap).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![7u8; size]))
        });
        Body::from_stream(s)
    }

    async fn read_all(mut b: UploadBody) -> Result<u64, BodyError> {
        let mut n = 0;
        while let Some(c) = b.next().await {
            n += c?.len() as u64;
        }
        Ok(n)
    }

    #[tokio::test]
    async fn a_steady_body_passes() {
        let body = trickle(10, 1000, Duration::from_millis(20));
        let b = UploadBody::new(body, pacing(1000, 1000), 1 << 20);
        assert_eq!(read_all(b).await.unwrap(), 10_000);
    }

    #[tokio::test]
    async fn a_silent_body_times_out() {
        let body = trickle(2, 10, Duration::from_secs(2));
        let b = UploadBody::new(body, pacing(200, 0), 1 << 20);
        assert!(matches!(read_all(b).await, Err(BodyError::TimedOut)));
    }

    #[tokio::test]
    async fn a_trickle_below_the_rate_times_out_although_each_chunk_is_in_time() {
        // 1 byte every 20 ms: each chunk well within the 300 ms timeout, but
        // far below 1000 bytes/s once the grace is over.
        let body = trickle(1000, 1, Duration::from_millis(20));
        let mut b = UploadBody::new(body, pacing(300, 1000), 1 << 20);
        let mut n = 0;
        let end = loop {
            match b.next().await {
                Some(Ok(c)) => n += c.len(),
                other => break other,
            }
        };
        assert!(matches!(end, Some(Err(BodyError::TimedOut))), "{end:?}");
        assert!(n < 1000, "all {n} bytes were read");
        assert_eq!(b.drain().await, 0, "a slow body is not drained");
    }

    #[tokio::test]
    async fn over_the_limit_stops_then_drains_a_bounded_amount() {
        let body = trickle(10, 100, Duration::from_millis(1));
        let mut b = UploadBody::new(body, pacing(2000, 0), 250);
        assert!(!b.touched());
        let mut n = 0;
        let err = loop {
            match b.next().await {
                Some(Ok(c)) => n += c.len(),
                Some(Err(e)) => break e,
                None => panic!("ended below the limit"),
            }
        };
        assert!(b.touched());
        assert_eq!(n, 200);
        assert!(matches!(err, BodyError::TooLarge(250)));
        assert!(b.next().await.is_none(), "nothing more while refused");
        assert_eq!(b.drain().await, 700, "the rest, after the refused chunk");
    }
}
