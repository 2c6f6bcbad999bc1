//! One sender, fenced (issue 24 item 1): an instance that loses the outbox
//! lock in the middle of a batch (Postgres restarts while it waits on a
//! Telegram call) must not go on sending the rows it had read, which the
//! new sender now owns. Before the fix both instances sent the same rows
//! (one duplicate per thread). Postgres only (the lock is Postgres's;
//! SQLite is one instance), on a Postgres cluster of the test's own, which
//! it restarts.

use crate::common::{
    Backend, TestApp,
    bridge::{self, OUTAGE_WAIT, WAIT},
    services::OwnPostgres,
    spawn,
    telegram::{ADMIN_CHAT, TelegramDouble},
};

/// `⟨fence-k⟩`: in exactly one visitor message.
fn marker(k: usize) -> String {
    format!("⟨fence-{k}⟩")
}

/// Accepted sends to the admin chat that carry `marker(k)`.
fn forwards(tg: &TelegramDouble, k: usize) -> usize {
    let m = marker(k);
    tg.texts_to(ADMIN_CHAT)
        .iter()
        .filter(|t| t.contains(&m))
        .count()
}

async fn instance(tg: &TelegramDouble, pg: &OwnPostgres) -> TestApp {
    spawn(bridge::wired(Backend::Postgres, tg, &[]).env("DATABASE_URL", &pg.url())).await
}

#[tokio::test]
async fn a_sender_that_lost_its_lock_mid_batch_sends_no_row_of_the_new_sender() {
    let pg = OwnPostgres::start();
    let tg = TelegramDouble::start().await;
    let a = instance(&tg, &pg).await;
    bridge::wait_telegram_healthy(&a).await;

    // A is in a Telegram call (held) while five more threads queue a
    // forward each; then its next batch reads all five and stalls on the
    // first (held again).
    tg.hold_sends_containing(&marker(0));
    tg.hold_sends_containing(&marker(1));
    let mut visitors = vec![];
    for k in 0..6 {
        let v = a.visitor().await;
        if k == 0 {
            let (s, r) = v.send(None, &marker(0)).await;
            assert_eq!(s, 200, "{r}");
            tg.wait_text_to(ADMIN_CHAT, "the held send of 0", WAIT, |t| {
                t.contains(&marker(0))
            })
            .await;
        }
        visitors.push(v);
    }
    for (k, v) in visitors.iter().enumerate().skip(1) {
        let (s, r) = v.send(None, &marker(k)).await;
        assert_eq!(s, 200, "{r}");
    }
    tg.release_marker(&marker(0));
    tg.wait_text_to(ADMIN_CHAT, "the held send of 1", WAIT, |t| {
        t.contains(&marker(1))
    })
    .await;

    // Postgres restarts: A's lock goes with its session. B starts and
    // becomes the sender: it sends the five (the first one again: the one
    // resend a lost lock may cost).
    pg.restart();
    tg.stop_holding();
    let b = instance(&tg, &pg).await;
    for k in 1..=5 {
        tg.wait_text_to(ADMIN_CHAT, "B's forwards", OUTAGE_WAIT, |t| {
            t.contains(&marker(k))
        })
        .await;
    }
    let deadline = std::time::Instant::now() + OUTAGE_WAIT;
    while forwards(&tg, 1) < 2 {
        assert!(std::time::Instant::now() < deadline, "B's resend of 1");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // A's call comes back: it must not go on with its batch. B stops, A
    // becomes the sender again, and a new forward going out proves that A's
    // old batch is over.
    tg.release();
    b.finish().await;
    let (s, r) = visitors[0].send(None, &marker(6)).await;
    assert_eq!(s, 200, "{r}");
    tg.wait_text_to(ADMIN_CHAT, "A's next forward", OUTAGE_WAIT, |t| {
        t.contains(&marker(6))
    })
    .await;
    let counts: Vec<usize> = (0..=6).map(|k| forwards(&tg, k)).collect();
    assert_eq!(
        counts,
        [1, 2, 1, 1, 1, 1, 1],
        "forwards of each marker (1: the one resend of the lost lock)\n{}",
        tg.summary()
    );
    bridge::wait_backlog_empty(&a).await;
    a.finish().await;
}
