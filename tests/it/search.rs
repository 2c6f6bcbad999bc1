//! `GET /api/search` (issue 13) through the real server on SQLite (FTS5)
//! and Postgres (`tsvector`, `simple`): Turkish and English words, paging
//! with `before`, clearing, display names (also renamed in the database),
//! admin only, and bad input answered with the contract's errors (never a
//! 500).

use crate::common::{Backend, Browser, KeptDb, Opts, assert_error, spawn};
use serde_json::{Value, json};
use sqlx::Connection;

/// `GET /api/search` with these query pairs (percent-encoded).
async fn search(b: &Browser, pairs: &[(&str, &str)]) -> (u16, Value) {
    let mut url = reqwest::Url::parse(&format!("{}/api/search", b.base)).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    let r = b.client.get(url).send().await.expect("GET /api/search");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The ids of the results of a successful search for `q`.
async fn ids(b: &Browser, q: &str) -> Vec<i64> {
    let (s, body) = search(b, &[("q", q)]).await;
    assert_eq!(s, 200, "{q}: {body}");
    assert_eq!(body["success"], json!(true));
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["id"].as_i64().unwrap())
        .collect()
}

/// Sends `text` as `b` (a visitor: its own thread) and returns the message id.
async fn say(b: &Browser, thread: Option<&str>, text: &str) -> i64 {
    let (s, body) = b.send(thread, text).await;
    assert_eq!(s, 200, "{body}");
    body["message_id"].as_i64().unwrap()
}

/// The marked words of a result's snippet.
fn hits(result: &Value) -> Vec<String> {
    result["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == json!(true))
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn finds_turkish_and_english_words(backend: Backend) {
    let mut app = spawn(backend).await;
    let ayse = app.visitor().await;
    let john = app.visitor().await;
    let t_ayse = ayse.thread_id().await;
    let t_john = john.thread_id().await;
    let tr = say(&ayse, None, "İstanbul'da ŞEKER ve ılık çay; Güzel bir gün").await;
    let en = say(&john, None, "Hello world, I would like a REFUND please").await;
    let admin = app.admin().await;
    let reply = say(&admin, Some(&t_ayse), "Kargonuz yolda, Ayşe Hanım").await;

    // Case folds (İ → i, Ş → ş, Ü → ü, ASCII), diacritics count.
    for q in [
        "istanbul",
        "İSTANBUL",
        "İstanbul",
        "şeker",
        "ŞEKER",
        "ılık",
        "güzel",
        "GÜZEL",
        "çay",
    ] {
        assert_eq!(ids(&admin, q).await, vec![tr], "{q}");
    }
    for q in ["seker", "ilik", "guzel", "cay", "istanbulda"] {
        assert_eq!(ids(&admin, q).await, Vec::<i64>::new(), "{q}");
    }
    // Word prefixes; every word must be there.
    assert_eq!(ids(&admin, "şek").await, vec![tr]);
    assert_eq!(ids(&admin, "refund").await, vec![en]);
    assert_eq!(ids(&admin, "ref").await, vec![en]);
    assert_eq!(ids(&admin, "hello PLEASE").await, vec![en]);
    assert_eq!(ids(&admin, "hello moon").await, Vec::<i64>::new());
    assert_eq!(ids(&admin, "ayşe kargo").await, vec![reply]);

    // The answer's shape.
    let (s, body) = search(&admin, &[("q", "İstanbul şek")]).await;
    assert_eq!(s, 200);
    assert_eq!(body["terms"], json!(["istanbul", "şek"]));
    let r = &body["results"][0];
    assert_eq!(r["message"]["id"], json!(tr));
    assert_eq!(r["message"]["thread_id"], json!(t_ayse));
    assert_eq!(r["message"]["sender_type"], json!("visitor"));
    assert_eq!(r["message"]["content_type"], json!("text"));
    assert_eq!(r["thread"]["id"], json!(t_ayse));
    assert_eq!(
        r["thread"]["display_name"],
        json!(sohbet::chat::display_name_for(&t_ayse))
    );
    assert!(r["thread"]["status"].is_string(), "{r}");
    assert_eq!(hits(r), ["İstanbul", "ŞEKER"]);
    let shown: String = r["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(shown, "İstanbul'da ŞEKER ve ılık çay; Güzel bir gün");
    assert_eq!(body["next_before"], json!(null));
    assert_ne!(t_ayse, t_john);
    app.finish().await;
}

async fn pages_with_before(backend: Backend) {
    let mut app = spawn(backend).await;
    let visitor = app.visitor().await;
    say(&visitor, None, "merhaba").await;
    let thread = visitor.thread_id().await;
    let admin = app.admin().await;
    let mut sent = Vec::new();
    for i in 0..25 {
        sent.push(say(&admin, Some(&thread), &format!("sipariş numarası {i}")).await);
    }
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    let mut pages = 0;
    loop {
        let b = before.map(|b| b.to_string());
        let mut q = vec![("q", "SİPARİŞ"), ("limit", "10")];
        if let Some(b) = &b {
            q.push(("before", b));
        }
        let (s, body) = search(&admin, &q).await;
        assert_eq!(s, 200, "{body}");
        let page: Vec<i64> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["message"]["id"].as_i64().unwrap())
            .collect();
        pages += 1;
        assert!(page.len() <= 10);
        // Display-name matches only on the first page.
        assert_eq!(body["threads"], json!([]), "{body}");
        seen.extend(page.iter().copied());
        match body["next_before"].as_i64() {
            Some(n) => {
                assert_eq!(Some(&n), page.last());
                before = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut want = sent.clone();
    want.reverse();
    assert_eq!(seen, want, "newest first, each once");
    // A page that ends exactly at the last result says there is no more.
    let (_, body) = search(&admin, &[("q", "sipariş"), ("limit", "25")]).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 25);
    assert_eq!(body["next_before"], json!(null));
    app.finish().await;
}

async fn clearing_a_thread_removes_its_results(backend: Backend) {
    let mut app = spawn(backend).await;
    let a = app.visitor().await;
    let b = app.visitor().await;
    let a1 = say(&a, None, "kargo nerede?").await;
    let a2 = say(&a, None, "kargo hâlâ gelmedi").await;
    let b1 = say(&b, None, "Kargo geldi, teşekkürler").await;
    let t_a = a.thread_id().await;
    let admin = app.admin().await;
    assert_eq!(ids(&admin, "kargo").await, vec![b1, a2, a1]);
    let (s, body) = admin
        .post("/api/messages/clear", json!({"thread_id": t_a}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(ids(&admin, "kargo").await, vec![b1]);
    // New messages of the cleared thread are found again.
    let a3 = say(&a, None, "kargo için tekrar yazıyorum").await;
    assert_eq!(ids(&admin, "kargo").await, vec![a3, b1]);
    app.finish().await;
}

async fn display_names_match_and_follow_renames(backend: Backend) {
    let kept = KeptDb::new(backend).await;
    let mut app = spawn(Opts::new(backend).db(&kept)).await;
    let v = app.visitor().await;
    say(&v, None, "selam").await;
    let thread = v.thread_id().await;
    let other = app.visitor().await;
    say(&other, None, "selam").await;
    let name = sohbet::chat::display_name_for(&thread);
    let tag = name.trim_start_matches("Visitor ").to_lowercase();
    let admin = app.admin().await;

    let (s, body) = search(&admin, &[("q", &tag)]).await;
    assert_eq!(s, 200, "{body}");
    let threads = body["threads"].as_array().unwrap();
    assert!(threads.iter().any(|t| t["id"] == json!(thread)), "{body}");
    let t = threads.iter().find(|t| t["id"] == json!(thread)).unwrap();
    assert_eq!(t["display_name"], json!(name));
    assert!(t["last_activity"].is_string());
    let marked: Vec<&str> = t["highlight"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == json!(true))
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, [name.trim_start_matches("Visitor ")]);
    assert_eq!(body["results"], json!([]), "no message has the tag");

    // A display name changed in the database (e.g. a Flask import) is
    // indexed anew: the new name matches, the old one no longer does.
    let sql = "UPDATE threads SET display_name = $1 WHERE id = $2";
    match kept.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sql)
                .bind("Ayşe Yılmaz İnce")
                .bind(&thread)
                .execute(&mut c)
                .await
                .unwrap();
        }
        (_, path) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query(sql)
                .bind("Ayşe Yılmaz İnce")
                .bind(&thread)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    for q in ["ayşe yıl", "ince", "İNCE"] {
        let (_, body) = search(&admin, &[("q", q)]).await;
        let found: Vec<&Value> = body["threads"].as_array().unwrap().iter().collect();
        assert_eq!(found.len(), 1, "{q}: {body}");
        assert_eq!(found[0]["id"], json!(thread));
        assert_eq!(found[0]["display_name"], json!("Ayşe Yılmaz İnce"));
    }
    let (_, body) = search(&admin, &[("q", &tag)]).await;
    assert!(
        !body["threads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == json!(thread)),
        "{body}"
    );
    app.finish().await;
}

async fn a_visitor_cannot_search(backend: Backend) {
    let app = spawn(backend).await;
    let v = app.visitor().await;
    say(&v, None, "gizli şifre 1234").await;
    let (s, body) = search(&v, &[("q", "şifre")]).await;
    assert_error(s, &body, 401, "UNAUTHORIZED");
    let anonymous = app.browser();
    let (s, body) = search(&anonymous, &[("q", "şifre")]).await;
    assert_error(s, &body, 401, "UNAUTHORIZED");
    // Even bad input answers 401 first: nothing about the query is told.
    let (s, body) = search(&anonymous, &[("q", "")]).await;
    assert_error(s, &body, 401, "UNAUTHORIZED");
    app.finish().await;
}

async fn bad_input_gets_contract_errors(backend: Backend) {
    let mut app = spawn(backend).await;
    let v = app.visitor().await;
    let m = say(&v, None, "şeker \"tırnak\" yıldız* NEAR(a b) -eksi").await;
    let admin = app.admin().await;
    let long = "a".repeat(201);
    let eleven = "a b c d e f g h i j k";
    let (s, body) = search(&admin, &[]).await;
    assert_error(s, &body, 400, "BAD_REQUEST");
    for q in [
        "",
        "   ",
        "\"",
        "*",
        "-",
        "NEAR(",
        "\"*\"",
        "()",
        "^:",
        "'",
        "\\",
        long.as_str(),
        eleven,
    ] {
        let (s, body) = search(&admin, &[("q", q)]).await;
        if q == "NEAR(" {
            // A word after all (`near`): an ordinary search.
            assert_eq!(s, 200, "{q:?}: {body}");
            continue;
        }
        assert_error(s, &body, 400, "BAD_REQUEST");
    }
    // FTS and tsquery syntax inside a query is just punctuation.
    for q in [
        "\"şeker",
        "şeker\"",
        "şek*",
        "*şeker",
        "-eksi",
        "NEAR(şeker",
        "şeker OR x",
        "şeker AND NOT",
        "content_text:şeker",
        "şeker & !x",
        "şeker | x",
        "'şeker'",
        "şeker:*",
        "(şeker",
        "şeker)",
        "{şeker}",
        "şeker^",
        "tırnak\"",
        "yıldız*",
        "a\\b şeker",
        "şeker;--",
        "şeker' OR '1'='1",
    ] {
        let (s, body) = search(&admin, &[("q", q)]).await;
        assert_eq!(s, 200, "{q:?}: {body}");
        assert_eq!(body["success"], json!(true), "{q:?}");
        let _ = body["results"].as_array().expect("results");
    }
    assert_eq!(ids(&admin, "\"şeker").await, vec![m]);
    assert_eq!(ids(&admin, "NEAR(yıldız").await, vec![m]);
    assert_eq!(ids(&admin, "NEAR(yıldız zzz").await, Vec::<i64>::new());
    assert_eq!(ids(&admin, "(yıldız) -eksi \"tırnak").await, vec![m]);
    for (k, v) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "1000"),
        ("limit", "-1"),
        ("limit", "abc"),
        ("limit", "1.5"),
        ("before", "abc"),
        ("before", "0"),
        ("before", "-5"),
        ("before", "99999999999999999999"),
    ] {
        let (s, body) = search(&admin, &[("q", "şeker"), (k, v)]).await;
        assert_error(s, &body, 400, "VALIDATION_ERROR");
    }
    for (k, v) in [("limit", "1"), ("limit", "100"), ("before", "1")] {
        let (s, body) = search(&admin, &[("q", "şeker"), (k, v)]).await;
        assert_eq!(s, 200, "{k}={v}: {body}");
    }
    app.finish().await;
}

/// Rows stored before migration 0009 (an existing deployment upgrading)
/// are indexed by it.
async fn rows_from_before_the_search_migration_are_found(backend: Backend) {
    let kept = KeptDb::new(backend).await;
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut older = sqlx::migrate::Migrator::new(std::path::Path::new(&path))
        .await
        .unwrap();
    older.migrations.to_mut().retain(|m| m.version < 9);
    let now = chrono::Utc::now();
    let thread = "0a1b2c3d-0000-4000-8000-000000000001";
    let rows = [
        "INSERT INTO threads (id, display_name, created_at, last_activity_at) VALUES ($1, 'Eski Müşteri', $2, $2)",
        "INSERT INTO messages (thread_id, sender, type, content_text, created_at) \
         VALUES ($1, 'visitor', 'text', 'Geçen yılki İade talebim', $2)",
    ];
    match kept.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            older.run(&mut c).await.unwrap();
            for sql in rows {
                sqlx::query(sql)
                    .bind(thread)
                    .bind(now)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
        (_, file) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{file}?mode=rwc"))
                .await
                .unwrap();
            older.run(&mut c).await.unwrap();
            for sql in rows {
                sqlx::query(sql)
                    .bind(thread)
                    .bind(now)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
    let mut app = spawn(Opts::new(backend).db(&kept)).await;
    let admin = app.admin().await;
    let (s, body) = search(&admin, &[("q", "iade")]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["results"][0]["thread"]["display_name"],
        json!("Eski Müşteri")
    );
    let (_, body) = search(&admin, &[("q", "MÜŞTERİ")]).await;
    assert_eq!(body["threads"][0]["id"], json!(thread), "{body}");
    app.finish().await;
}

on_both_backends!(
    finds_turkish_and_english_words,
    pages_with_before,
    clearing_a_thread_removes_its_results,
    display_names_match_and_follow_renames,
    a_visitor_cannot_search,
    bad_input_gets_contract_errors,
    rows_from_before_the_search_migration_are_found,
);
