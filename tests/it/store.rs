//! The group-commit batch at the store level, on a real SQLite file and on
//! the real Postgres: one batch mixing new threads, messages with and without
//! `client_id`, a key repeated inside the batch, a key stored before, another
//! sender's key and Telegram forwards stores exactly what one-by-one inserts
//! would, in order. A thread status stored before migration 0007
//! (`active`) decodes as open, and a status is stored as its word.

use crate::common;

use sohbet::{
    chat::status::ThreadStatus,
    config::DatabaseConfig,
    domain::{MessageId, NewMessage},
    store::{Db, messages, thread_status, threads},
};

on_both_backends!(
    mixed_batch,
    long_batch,
    legacy_status,
    references_are_checked_for_the_candidates,
);

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

fn msg(thread: &str, sender: &'static str, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        thread_id: crate::common::tid(thread),
        sender: sender.parse().unwrap(),
        kind: sohbet::chat::MessageType::Text,
        text: text.into(),
        file_url: None,
        client_id: client_id.map(Into::into),
        new_thread: (sender == "visitor").then(|| format!("Visitor {}", &thread[..4])),
        forward: sender == "visitor",
        internal: false,
        tg_link: None,
        agent_id: None,
        agent_name: None,
        client_key: None,
    }
}

async fn mixed_batch(backend: common::Backend) {
    let (db, _dir) = open(backend).await;
    let a = &crate::common::tid("aaaaaaaa-0000-4000-8000-000000000001");
    let b = &crate::common::tid("bbbbbbbb-0000-4000-8000-000000000002");

    // Before the batch: thread a exists with one keyed message.
    let first = messages::insert_batch(&db, &[msg(a, "visitor", "earlier", Some("k0"))])
        .await
        .expect("first insert");
    assert!(first[0].thread_created && !first[0].duplicate);

    let batch = vec![
        msg(a, "visitor", "one", None),
        msg(b, "visitor", "two", Some("k1")),
        msg(a, "visitor", "three", Some("k0")), // a retry of "earlier"
        msg(b, "visitor", "two again", Some("k1")), // a retry inside the batch
        msg(b, "visitor", "four", None),
        msg(a, "admin", "five", Some("k2")),
        msg(a, "admin", "six", Some("k0")), // the visitor's key: a conflict
        msg(b, "visitor", "seven", Some("k3")),
    ];
    let out = messages::insert_batch(&db, &batch).await.expect("batch");
    assert_eq!(out.len(), batch.len());

    let texts: Vec<&str> = out
        .iter()
        .map(|i| i.message.content_text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "one", "two", "earlier", "two", "four", "five", "earlier", "seven"
        ]
    );
    let dup: Vec<bool> = out.iter().map(|i| i.duplicate).collect();
    assert_eq!(dup, [false, false, true, true, false, false, true, false]);
    let conflict: Vec<bool> = out.iter().map(|i| i.conflict).collect();
    assert_eq!(
        conflict,
        [false, false, false, false, false, false, true, false]
    );
    let created: Vec<bool> = out.iter().map(|i| i.thread_created).collect();
    assert_eq!(
        created,
        [false, true, false, false, false, false, false, false]
    );
    assert_eq!(out[2].message.id, first[0].message.id);
    assert_eq!(out[3].message.id, out[1].message.id);
    assert_eq!(out[6].message.id, first[0].message.id);
    for (i, m) in out.iter().zip(&batch) {
        assert_eq!(i.message.thread_id, m.thread_id);
        if !i.duplicate {
            assert_eq!(i.message.sender_type, m.sender);
            assert_eq!(i.message.client_id, m.client_id);
        }
    }
    // New rows got growing ids in input order.
    let fresh: Vec<MessageId> = out
        .iter()
        .filter(|i| !i.duplicate)
        .map(|i| i.message.id)
        .collect();
    assert!(fresh.windows(2).all(|w| w[0] < w[1]), "{fresh:?}");

    // What is stored: each thread's page, in order, nothing doubled.
    let page_a: Vec<String> = messages::page(&db, sohbet::domain::Role::Admin, a, 50, None, None)
        .await
        .expect("page a")
        .into_iter()
        .map(|m| m.content_text)
        .collect();
    assert_eq!(page_a, ["earlier", "one", "five"]);
    let page_b: Vec<String> = messages::page(&db, sohbet::domain::Role::Admin, b, 50, None, None)
        .await
        .expect("page b")
        .into_iter()
        .map(|m| m.content_text)
        .collect();
    assert_eq!(page_b, ["two", "four", "seven"]);
    // One forward per new visitor message (earlier, one, two, four, seven).
    assert_eq!(
        sohbet::store::outbox::backlog(&db).await.expect("backlog"),
        5
    );
    db.close().await;
}

/// A batch longer than one chunk (power-of-two statements) keeps its order.
async fn long_batch(backend: common::Backend) {
    let (db, _dir) = open(backend).await;
    let t = &crate::common::tid("cccccccc-0000-4000-8000-000000000003");
    let batch: Vec<NewMessage> = (0..700)
        .map(|i| {
            let key = format!("c{i}");
            msg(
                t,
                "visitor",
                &format!("m{i}"),
                (i % 3 == 0).then_some(key.as_str()),
            )
        })
        .collect();
    let out = messages::insert_batch(&db, &batch).await.expect("batch");
    assert!(out.iter().all(|i| !i.duplicate));
    let stored = messages::page(
        &db,
        sohbet::domain::Role::Admin,
        t,
        200,
        None,
        Some(MessageId(0)),
    )
    .await
    .expect("page");
    assert_eq!(stored.len(), 200);
    for (n, m) in stored.iter().enumerate() {
        assert_eq!(m.content_text, format!("m{n}"));
    }
    let ids: Vec<MessageId> = out.iter().map(|i| i.message.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    db.close().await;
}

/// The stored `status` text of thread `id`, read as plain text.
async fn stored_status(db: &Db, id: &str) -> String {
    const SQL: &str = "SELECT status FROM threads WHERE id = $1";
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(SQL).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(SQL).bind(id).fetch_one(p).await,
    }
    .unwrap()
}

async fn legacy_status(backend: common::Backend) {
    let (db, _dir) = open(backend).await;
    let a = &crate::common::tid("aaaaaaaa-0000-4000-8000-00000000000a");
    messages::insert_batch(&db, &[msg(a, "visitor", "hi", None)])
        .await
        .unwrap();
    assert_eq!(stored_status(&db, a).await, "open");
    const OLD: &str = "UPDATE threads SET status = 'active' WHERE id = $1";
    match &db {
        Db::Sqlite(p) => sqlx::query(OLD).bind(a).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(OLD).bind(a).execute(p).await.map(|_| ()),
    }
    .unwrap();
    let t = threads::get(&db, a).await.unwrap().unwrap();
    assert_eq!(t.status, ThreadStatus::Open);
    assert_eq!(thread_status::counts(&db).await.unwrap(), (1, 0));
    let by = sohbet::domain::ActedBy {
        id: None,
        name: "admin".into(),
    };
    let (t, event) =
        thread_status::set_status(&db, a, ThreadStatus::Closed, sohbet::store::now(), &by)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(t.status, ThreadStatus::Closed);
    assert!(event.is_some(), "a change records its event");
    let (_, again) =
        thread_status::set_status(&db, a, ThreadStatus::Closed, sohbet::store::now(), &by)
            .await
            .unwrap()
            .unwrap();
    assert!(again.is_none(), "no change, no event");
    assert_eq!(stored_status(&db, a).await, "closed");
    db.close().await;
}

/// Review fix (upload sweep): the check made right before removing asks
/// exactly about the candidate files, in chunks (700 URLs: 512 + 128 + …),
/// and answers only those that some message carries now; a sweep then
/// keeps a file a message took up and removes the unused one.
async fn references_are_checked_for_the_candidates(backend: common::Backend) {
    let (db, dir) = open(backend).await;
    let t = &crate::common::tid("dddddddd-0000-4000-8000-000000000004");
    let url = |i: usize| format!("/uploads/images/{:08}-0000-4000-8000-000000000000.png", i);
    let mut batch: Vec<NewMessage> = Vec::new();
    for i in [3usize, 600, 699] {
        let mut m = msg(t, "visitor", "", None);
        m.kind = sohbet::chat::MessageType::Image;
        m.file_url = Some(url(i));
        batch.push(m);
    }
    messages::insert_batch(&db, &batch).await.expect("batch");
    let candidates: Vec<String> = (0..700).map(url).collect();
    let mut found: Vec<String> = messages::referenced_among(&db, &candidates)
        .await
        .expect("check")
        .into_iter()
        .collect();
    found.sort();
    assert_eq!(found, [url(3), url(600), url(699)]);
    let none = messages::referenced_among(&db, &[url(4), "https://x/a.png".into()])
        .await
        .expect("check");
    assert!(none.is_empty(), "{none:?}");
    assert!(
        messages::referenced_among(&db, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // The sweep keeps the referenced file and removes the other, both old.
    let root = dir.path().join("up");
    std::fs::create_dir_all(root.join("images")).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let (used, unused) = (root.join(&url(3)[9..]), root.join(&url(5)[9..]));
    for p in [&used, &unused] {
        std::fs::write(p, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let pass = sohbet::media::sweep::sweep(&root, &db, std::time::Duration::from_secs(60))
        .await
        .expect("sweep");
    assert_eq!((pass.removed, pass.kept), (1, 1), "{pass:?}");
    assert!(used.exists() && !unused.exists());
    db.close().await;
}

/// SQLite: stored messages reach the database file itself (not only the
/// write-ahead log) without waiting for 1,000 pages of log or for the pool
/// to close: the background checkpointer (`store::checkpoint`) copies them.
/// The file is read with `immutable=1`, which ignores the log.
#[tokio::test]
async fn sqlite_checkpoints_in_the_background() {
    let (db, dir) = open(common::Backend::Sqlite).await;
    let t = &crate::common::tid("dddddddd-0000-4000-8000-000000000004");
    messages::insert_batch(&db, &[msg(t, "visitor", "in the file", None)])
        .await
        .expect("insert");
    let file = dir.path().join("chat.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // A new connection each time: an immutable one caches what it read.
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .read_only(true)
            .immutable(true);
        let mut conn = sqlx::ConnectOptions::connect(&opts)
            .await
            .expect("open file");
        let n: Result<(i64,), _> =
            sqlx::query_as("SELECT COUNT(*) FROM messages WHERE content_text = 'in the file'")
                .fetch_one(&mut conn)
                .await;
        if matches!(n, Ok((1,))) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message never reached the database file: {n:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    db.close().await;
}
