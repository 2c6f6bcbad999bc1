//! A bounded single-consumer queue of [`PacketBuf`]s that takes no heap memory
//! while it is empty.
//!
//! It replaces `tokio::sync::mpsc::channel(max_buffer_size)` for a socket's
//! outgoing packets. tokio's bounded channel allocates its first block of 32
//! slots when it is created and keeps it for the channel's life: with a
//! [`PacketBuf`] of 168 bytes that is about 5.4 KiB per socket, plus the
//! channel's cache-padded shared state, even for a socket that never
//! receives a packet. Here the packets wait in a [`VecDeque`] that grows as
//! they arrive and is released as soon as the consumer has taken the last one,
//! so an idle socket costs only the few words of this struct.
//!
//! The API mirrors the parts of `tokio::sync::mpsc` that the transports use
//! (same names and semantics, same [`TrySendError`]), so they read the same:
//! * the capacity bounds queued packets **plus** outstanding [`Permit`]s;
//!   `try_send` / `try_reserve` fail with [`TrySendError::Full`] beyond it;
//! * after [`Receiver::close`] (or when the receiver is dropped) sends fail
//!   with [`TrySendError::Closed`], packets already queued can still be
//!   received, and [`Sender::closed`] resolves;
//! * [`Receiver::recv`] is cancel safe (a packet is removed only when it is
//!   returned).
//!
//! It also holds the socket's volatile slot ([`Sender::set_volatile`]): at
//! most one [`PacketBuf`], outside the capacity, replaced by the next
//! volatile send and taken by [`Receiver::recv`] after the queued
//! packets. This replaces a `tokio::sync::watch` channel per socket (520
//! bytes, allocated whether or not a volatile packet is ever sent); the slot
//! is one pointer, boxed only while it holds packets.
use std::{
    collections::VecDeque,
    fmt,
    future::poll_fn,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
};

use engineioxide_core::PacketBuf;
use futures_util::task::AtomicWaker;
use tokio::sync::{Notify, mpsc::error::TrySendError};

/// Creates a queue holding at most `capacity` packets (queued or reserved).
///
/// # Panics
/// If `capacity` is 0, as `tokio::sync::mpsc::channel`.
pub(crate) fn channel(capacity: usize) -> (Sender, Receiver) {
    assert!(capacity > 0, "mpsc bounded channel requires buffer > 0");
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        capacity,
        rx_waker: AtomicWaker::new(),
        closed: Notify::new(),
        room: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
    /// The receiver's task, woken when a packet is queued.
    rx_waker: AtomicWaker,
    /// Woken when the receiver closes the queue.
    closed: Notify,
    /// Woken when a slot frees up in a full queue (for [`Sender::send`]).
    room: Notify,
}

#[derive(Default)]
struct State {
    queue: VecDeque<PacketBuf>,
    /// Permits handed out and not yet used or dropped.
    reserved: usize,
    closed: bool,
    /// The latest volatile packets not yet taken (see [`Sender::set_volatile`]).
    volatile: Option<Box<PacketBuf>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held leaves the state consistent (every
        // update is a single push, pop or counter change).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `packets` and wakes the receiver; the slot must be free or
    /// reserved (`from_permit`).
    fn push(&self, packets: PacketBuf, from_permit: bool) {
        {
            let mut st = self.lock();
            if from_permit {
                st.reserved -= 1;
            }
            if st.closed {
                // As tokio's `Permit::send` on a closed channel: dropped.
                return;
            }
            st.queue.push_back(packets);
        }
        self.rx_waker.wake();
    }

    fn close(&self) {
        let mut st = self.lock();
        if !st.closed {
            st.closed = true;
            drop(st);
            self.closed.notify_waiters();
            self.room.notify_waiters();
        }
    }

    fn is_full(&self, st: &State) -> bool {
        st.queue.len() + st.reserved >= self.capacity
    }
}

/// The producing side, held by the socket.
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues `packets` if there is room.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when `capacity` packets are queued or reserved,
    /// [`TrySendError::Closed`] once the receiver is closed; both give the
    /// packets back.
    pub(crate) fn try_send(&self, packets: PacketBuf) -> Result<(), TrySendError<PacketBuf>> {
        {
            let mut st = self.shared.lock();
            if st.closed {
                return Err(TrySendError::Closed(packets));
            }
            if self.shared.is_full(&st) {
                return Err(TrySendError::Full(packets));
            }
            st.queue.push_back(packets);
        }
        self.shared.rx_waker.wake();
        Ok(())
    }

    /// Reserves one slot.
    ///
    /// # Errors
    /// As [`Sender::try_send`], without a value.
    pub(crate) fn try_reserve(&self) -> Result<Permit<'_>, TrySendError<()>> {
        let mut st = self.shared.lock();
        if st.closed {
            return Err(TrySendError::Closed(()));
        }
        if self.shared.is_full(&st) {
            return Err(TrySendError::Full(()));
        }
        st.reserved += 1;
        Ok(Permit {
            shared: &self.shared,
        })
    }

    /// Queues `packets`, waiting for room while the queue is full.
    ///
    /// # Errors
    /// The packets back once the receiver is closed.
    pub(crate) async fn send(&self, packets: PacketBuf) -> Result<(), PacketBuf> {
        let mut packets = packets;
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.try_send(packets) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(p)) => return Err(p),
                Err(TrySendError::Full(p)) => {
                    packets = p;
                    room.await;
                }
            }
        }
    }

    /// Puts `packets` in the volatile slot, replacing what it held, and
    /// wakes the receiver. The slot is outside the capacity: a volatile send
    /// never waits and never fails on a full queue.
    ///
    /// Returns `false` (packets dropped) once the receiver has closed the
    /// queue.
    pub(crate) fn set_volatile(&self, packets: PacketBuf) -> bool {
        {
            let mut st = self.shared.lock();
            if st.closed {
                return false;
            }
            st.volatile = Some(Box::new(packets));
        }
        self.shared.rx_waker.wake();
        true
    }

    /// Has the receiver closed the queue?
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Resolves once the receiver has closed the queue.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.shared.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Sender")
            .field("queued", &st.queue.len())
            .field("reserved", &st.reserved)
            .field("capacity", &self.shared.capacity)
            .field("closed", &st.closed)
            .finish()
    }
}

/// One reserved slot of the queue (see [`Sender::try_reserve`]); dropping it
/// unused frees the slot.
pub(crate) struct Permit<'a> {
    shared: &'a Shared,
}

impl Permit<'_> {
    /// Queues `packets` in the reserved slot (dropped if the receiver closed
    /// meanwhile, as with tokio's permits).
    pub(crate) fn send(self, packets: PacketBuf) {
        let shared = self.shared;
        std::mem::forget(self);
        shared.push(packets, true);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        let was_full = self.shared.is_full(&st);
        st.reserved -= 1;
        drop(st);
        if was_full {
            self.shared.room.notify_waiters();
        }
    }
}

/// The consuming side, held by whichever transport owns the socket's
/// `internal_rx` lock.
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// Takes the next packet; releases the queue's memory when it was the
    /// last.
    fn pop(&self) -> Option<PacketBuf> {
        let mut st = self.shared.lock();
        let was_full = self.shared.is_full(&st);
        let next = st.queue.pop_front();
        if next.is_some() && st.queue.is_empty() {
            // Give the block back: an idle socket keeps no queue memory. The
            // next packet allocates a small one again (4 slots), which the
            // allocator serves from its per-thread cache.
            st.queue = VecDeque::new();
        }
        drop(st);
        if was_full && next.is_some() {
            self.shared.room.notify_waiters();
        }
        next
    }

    /// The next queued packet or, when none is queued, the volatile slot's.
    fn pop_any(&self) -> Option<PacketBuf> {
        self.pop()
            .or_else(|| self.shared.lock().volatile.take().map(|b| *b))
    }

    /// Waits for the next queued packet or, when none is queued, the
    /// volatile slot's packets; `None` once the queue is closed and empty.
    /// Cancel safe.
    pub(crate) async fn recv(&mut self) -> Option<PacketBuf> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next queued or volatile packet (see [`Receiver::recv`]).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<PacketBuf>> {
        if let Some(p) = self.pop_any() {
            return Poll::Ready(Some(p));
        }
        self.shared.rx_waker.register(cx.waker());
        // A packet queued between the first look and the registration has
        // woken nobody: look again.
        if let Some(p) = self.pop_any() {
            return Poll::Ready(Some(p));
        }
        if self.shared.lock().closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// The next queued packet, if one is (never the volatile slot's).
    ///
    /// # Errors
    /// `Empty`, or `Disconnected` once the queue is closed and empty.
    pub(crate) fn try_recv(&mut self) -> Result<PacketBuf, tokio::sync::mpsc::error::TryRecvError> {
        use tokio::sync::mpsc::error::TryRecvError;
        match self.pop() {
            Some(p) => Ok(p),
            None if self.shared.lock().closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses further packets; those already queued can still be received.
    pub(crate) fn close(&mut self) {
        self.shared.close();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Receiver")
            .field("queued", &st.queue.len())
            .field("closed", &st.closed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engineioxide_core::{Packet, Str};
    use smallvec::smallvec;

    fn msg(s: &'static str) -> PacketBuf {
        smallvec![Packet::Message(Str::from(s))]
    }

    fn text(p: PacketBuf) -> String {
        match p.into_iter().next() {
            Some(Packet::Message(s)) => s.to_string(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_queue_holds_no_block() {
        let (tx, mut rx) = channel(1024);
        tx.try_send(msg("a")).unwrap();
        tx.try_send(msg("b")).unwrap();
        assert!(rx.shared.lock().queue.capacity() > 0);
        assert_eq!(text(rx.try_recv().unwrap()), "a");
        assert_eq!(text(rx.try_recv().unwrap()), "b");
        assert_eq!(rx.shared.lock().queue.capacity(), 0);
    }

    #[test]
    fn capacity_counts_queued_and_reserved() {
        let (tx, mut rx) = channel(3);
        tx.try_send(msg("a")).unwrap();
        let permit = tx.try_reserve().unwrap();
        tx.try_send(msg("b")).unwrap();
        assert!(matches!(tx.try_send(msg("c")), Err(TrySendError::Full(_))));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        drop(permit);
        let permit = tx.try_reserve().unwrap();
        permit.send(msg("c"));
        assert!(matches!(tx.try_send(msg("d")), Err(TrySendError::Full(_))));
        assert_eq!(text(rx.try_recv().unwrap()), "a");
        tx.try_send(msg("d")).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).map(text).collect();
        assert_eq!(got, ["b", "c", "d"]);
    }

    #[tokio::test]
    async fn close_refuses_new_packets_and_drains_queued_ones() {
        let (tx, mut rx) = channel(8);
        tx.try_send(msg("a")).unwrap();
        let waiter = tokio::spawn(async move {
            tx.closed().await;
            assert!(tx.is_closed());
            assert!(matches!(tx.try_send(msg("b")), Err(TrySendError::Closed(_))));
            assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
        });
        tokio::task::yield_now().await;
        rx.close();
        waiter.await.unwrap();
        assert_eq!(text(rx.recv().await.unwrap()), "a");
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn recv_wakes_on_a_packet_from_another_task() {
        let (tx, mut rx) = channel(8);
        let sender = tokio::spawn(async move {
            for s in ["a", "b", "c"] {
                tokio::task::yield_now().await;
                tx.try_reserve().unwrap().send(msg(s));
            }
            tx
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            got.push(text(rx.recv().await.unwrap()));
        }
        assert_eq!(got, ["a", "b", "c"]);
        drop(sender.await.unwrap());
    }

    #[tokio::test]
    async fn send_waits_for_room() {
        let (tx, mut rx) = channel(1);
        tx.try_send(msg("a")).unwrap();
        let sender = tokio::spawn(async move { tx.send(msg("b")).await.is_ok() });
        tokio::task::yield_now().await;
        assert_eq!(text(rx.recv().await.unwrap()), "a");
        assert!(sender.await.unwrap());
        assert_eq!(text(rx.recv().await.unwrap()), "b");
    }

    #[tokio::test]
    async fn volatile_slot_keeps_the_latest_after_the_queued_packets() {
        let (tx, mut rx) = channel(1);
        tx.try_send(msg("queued")).unwrap();
        assert!(tx.set_volatile(msg("v1")));
        assert!(tx.set_volatile(msg("v2")));
        // Outside the capacity: the queue is full, the slot still takes packets.
        assert!(matches!(tx.try_send(msg("x")), Err(TrySendError::Full(_))));
        assert_eq!(text(rx.recv().await.unwrap()), "queued");
        assert_eq!(text(rx.recv().await.unwrap()), "v2");
        assert!(matches!(
            rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty)
        ));
        // `try_recv` (the writer's drain) never takes the slot.
        assert!(tx.set_volatile(msg("v3")));
        assert!(rx.try_recv().is_err());
        assert_eq!(text(rx.recv().await.unwrap()), "v3");
        rx.close();
        assert!(!tx.set_volatile(msg("v4")));
    }
}
