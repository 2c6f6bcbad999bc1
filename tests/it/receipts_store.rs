//! Delivery receipts at the store level (issue 12), on a real SQLite file
//! and on the real Postgres: the visitor's page may report an admin's
//! Telegram answer before its Telegram link is written (the page gets the
//! message as soon as it is stored, the link is written afterwards), after
//! it, or while it is being written; every order ends with the receipt due.

use crate::common;

use std::time::Duration;

use sohbet::{
    config::DatabaseConfig,
    domain::NewMessage,
    store::{
        Db, messages,
        topics::{self, level},
    },
};

on_both_backends!(a_receipt_before_or_after_the_link_is_due);

const CHAT: i64 = -1_001_234_567_890;

async fn open(backend: common::Backend) -> (Db, common::KeptDb) {
    let dir = common::KeptDb::new(backend).await;
    let config = match backend {
        common::Backend::Sqlite => DatabaseConfig::Sqlite(dir.path().join("chat.db")),
        common::Backend::Postgres => DatabaseConfig::Postgres(dir.var().1),
    };
    let db = Db::connect(&config).await.expect("connect");
    db.migrate().await.expect("migrate");
    (db, dir)
}

fn msg(thread: &str, sender: &'static str, text: &str) -> NewMessage {
    NewMessage {
        thread_id: crate::common::tid(thread),
        sender: sender.parse().unwrap(),
        kind: sohbet::chat::MessageType::Text,
        text: text.into(),
        file_url: None,
        client_id: None,
        new_thread: (sender == "visitor").then(|| format!("Visitor {}", &thread[..4])),
        forward: false,
        internal: false,
        tg_link: None,
        agent_id: None,
        agent_name: None,
        client_key: None,
    }
}

/// A thread with a visitor's message and an admin's answer; the answer's id.
async fn answered(db: &Db, thread: &str) -> sohbet::domain::MessageId {
    let done = messages::insert_batch(
        db,
        &[msg(thread, "visitor", "hi"), msg(thread, "admin", "hello")],
    )
    .await
    .expect("insert");
    done[1].message.id
}

/// The receipt levels due for Telegram message `tg_id`.
async fn due(db: &Db, tg_id: i64) -> Vec<i32> {
    topics::due_receipts(db, 50)
        .await
        .expect("due receipts")
        .into_iter()
        .filter(|r| r.tg_message_id == tg_id)
        .map(|r| r.receipt)
        .collect()
}

async fn a_receipt_before_or_after_the_link_is_due(backend: common::Backend) {
    let (db, _dir) = open(backend).await;

    // The page reports first, the link comes after.
    let a = &crate::common::tid("aaaaaaaa-0000-4000-8000-000000000001");
    let id = answered(&db, a).await;
    assert_eq!(
        topics::note_receipt(&db, a, id, level::DELIVERED)
            .await
            .expect("receipt"),
        0
    );
    topics::link_admin(&db, a, id, CHAT, 101)
        .await
        .expect("link");
    assert_eq!(due(&db, 101).await, vec![level::DELIVERED]);

    // The link comes first, then the page reports received, then seen.
    let b = &crate::common::tid("bbbbbbbb-0000-4000-8000-000000000002");
    let id = answered(&db, b).await;
    topics::link_admin(&db, b, id, CHAT, 102)
        .await
        .expect("link");
    assert!(due(&db, 102).await.is_empty());
    assert_eq!(
        topics::note_receipt(&db, b, id, level::DELIVERED)
            .await
            .expect("receipt"),
        1
    );
    assert_eq!(due(&db, 102).await, vec![level::DELIVERED]);
    assert_eq!(
        topics::note_receipt(&db, b, id, level::SEEN)
            .await
            .expect("receipt"),
        1
    );
    assert_eq!(due(&db, 102).await, vec![level::SEEN]);
}

/// Postgres runs the receipt and the link at the same time (SQLite has one
/// writer at a time). The receipt's transaction has raised the thread's
/// mark and found no link yet (what `note_receipt` does) but has not
/// committed when the link is written: the link must wait for it and take
/// the mark, else nobody ever marks it.
#[tokio::test]
async fn postgres_a_link_written_during_a_receipt_takes_its_mark() {
    let (db, _dir) = open(common::Backend::Postgres).await;
    let Db::Postgres(pool) = &db else {
        unreachable!("a Postgres database")
    };
    let t = crate::common::tid("cccccccc-0000-4000-8000-000000000003");
    let id = answered(&db, &t).await;

    let mut receipt = pool.begin().await.expect("begin");
    sqlx::query("UPDATE threads SET tg_receipt_delivered_id = $1 WHERE id = $2")
        .bind(id)
        .bind(&t)
        .execute(&mut *receipt)
        .await
        .expect("raise the mark");
    let found = sqlx::query("UPDATE telegram_links SET receipt = 1 WHERE thread_id = $1")
        .bind(&t)
        .execute(&mut *receipt)
        .await
        .expect("update the links");
    assert_eq!(found.rows_affected(), 0, "no link yet");

    let writer = db.clone();
    let t2 = t.clone();
    let mut link =
        tokio::spawn(async move { topics::link_admin(&writer, &t2, id, CHAT, 103).await });
    // Until the link is written or waits for the receipt's lock.
    let finished = loop {
        tokio::select! {
            r = &mut link => break Some(r),
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(pool)
                .await
                .expect("pg_stat_activity");
                if waiting > 0 {
                    break None;
                }
            }
        }
    };
    receipt.commit().await.expect("commit the receipt");
    let res = match finished {
        Some(r) => r,
        None => link.await,
    };
    res.expect("link task").expect("link");
    assert_eq!(
        due(&db, 103).await,
        vec![level::DELIVERED],
        "the receipt was lost"
    );
}
