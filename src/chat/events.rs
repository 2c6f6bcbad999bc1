//! Publishing what the core stored ([`ChatEvent`]) to its subscribers (the
//! Socket.IO broadcaster) without ever dropping an event. Each subscriber
//! has a bounded queue of [`QUEUE`] events; a full queue makes the
//! publisher wait (back-pressure). The publisher is the group-commit writer,
//! whose own bounded queue then makes new sends wait a bounded time and be
//! refused with `SERVER_BUSY` (see [`super::Chat::post`]). This replaces a
//! `tokio::sync::broadcast` channel, whose slow receivers lose events
//! (`Lagged`) although their messages were acknowledged (issue #9).

use std::sync::Mutex;

use tokio::sync::mpsc::{self, error::TrySendError};

use super::ChatEvent;

/// Events one subscriber may have queued before the publisher waits.
pub const QUEUE: usize = 16 * 1024;

/// The subscribers' queues.
#[derive(Default)]
pub struct Publisher {
    subscribers: Mutex<Vec<mpsc::Sender<ChatEvent>>>,
}

impl Publisher {
    /// A new subscriber: receives every event published from now on, in
    /// order. Dropping the receiver unsubscribes.
    pub fn subscribe(&self) -> mpsc::Receiver<ChatEvent> {
        let (tx, rx) = mpsc::channel(QUEUE);
        self.lock().push(tx);
        rx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::Sender<ChatEvent>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event` for every subscriber, waiting while a subscriber's
    /// queue is full (never dropping it). Closed subscribers are forgotten.
    pub async fn publish(&self, event: ChatEvent) {
        let mut full = Vec::new();
        {
            let mut subs = self.lock();
            subs.retain(|tx| !tx.is_closed());
            for tx in subs.iter() {
                match tx.try_send(event.clone()) {
                    Ok(()) | Err(TrySendError::Closed(_)) => {}
                    Err(TrySendError::Full(ev)) => full.push((tx.clone(), ev)),
                }
            }
        }
        for (tx, ev) in full {
            // Err: the subscriber went away meanwhile; nothing to deliver to.
            let _ = tx.send(ev).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleared(n: usize) -> ChatEvent {
        ChatEvent::Cleared {
            thread_id: n.to_string().as_str().into(),
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_makes_the_publisher_wait_and_loses_nothing() {
        let p = std::sync::Arc::new(Publisher::default());
        let mut rx = p.subscribe();
        let n = QUEUE + 100;
        let publisher = {
            let p = p.clone();
            tokio::spawn(async move {
                for i in 0..n {
                    p.publish(cleared(i)).await;
                }
            })
        };
        // The queue is full and the publisher waits for the reader.
        tokio::task::yield_now().await;
        for i in 0..n {
            match rx.recv().await {
                Some(ChatEvent::Cleared { thread_id }) => {
                    assert_eq!(thread_id.as_str(), i.to_string())
                }
                other => panic!("event {i}: {other:?}"),
            }
        }
        publisher.await.expect("publisher");
    }

    #[tokio::test]
    async fn a_dropped_subscriber_is_forgotten() {
        let p = Publisher::default();
        let rx = p.subscribe();
        let mut kept = p.subscribe();
        drop(rx);
        p.publish(cleared(1)).await;
        assert!(matches!(kept.recv().await, Some(ChatEvent::Cleared { .. })));
        assert_eq!(p.lock().len(), 1);
    }
}
