//! Exports and imports (issue 27 items 1 and 2) and an erase heard by the
//! other instances (item 3, over Redis): the ZIP of one thread holds
//! `thread.json` (internal notes and system events flagged), its files
//! (local and Cloudinary) and an escaped `transcript.html`, for agents
//! only and audit-logged; `sohbet export` / `sohbet import` carry a
//! database SQLite → Postgres → SQLite with the same ids, rows and files,
//! refuse a non-empty database and store nothing from a corrupt archive.

use std::{io::Read, path::Path};

use serde_json::{Value, json};

use crate::agents::{PASSWORD, count};
use crate::common::{
    Backend, Browser, KeptDb, Opts, TestApp, assert_error, binary,
    data::{on_kept, send, sohbet},
    socket::Socket,
    spawn,
};
use crate::uploads::support::{PNG_1X1, send_image};

on_both_backends!(
    a_thread_export_holds_everything_of_it,
    a_thread_export_fetches_cloudinary_files,
    an_erase_reaches_the_other_instances,
    a_big_thread_export_is_streamed_whole,
);

/// `GET path` as `b`: (status, content type, body bytes).
async fn download(b: &Browser, path: &str) -> (u16, String, Vec<u8>) {
    let r = b
        .client
        .get(format!("{}{path}", b.base))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

/// The entries of a ZIP: (name, bytes), in order.
fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    (0..a.len())
        .map(|i| {
            let mut e = a.by_index(i).unwrap();
            let mut bytes = vec![];
            e.read_to_end(&mut bytes).expect("entry (CRC checked)");
            (e.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

fn entry<'a>(all: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {:?}",
                all.iter().map(|e| &e.0).collect::<Vec<_>>()
            )
        })
        .1
}

async fn a_thread_export_holds_everything_of_it(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, Opts::new(backend)).await;
    let owner = app.admin().await;
    crate::agents::add(&owner, "ayse", "agent").await;
    let agent = crate::agents::login(&mut app, "ayse", PASSWORD).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v
        .post(
            "/api/visitor/identify",
            json!({"name": "<script>alert(1)</script>", "email": "zeynep@example.com"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    send(&v, json!({"text": "price <b>5 & 6</b>?"})).await;
    let (_, url) = send_image(&v, PNG_1X1.to_vec()).await;
    send(&agent, json!({"thread_id": tid, "text": "an answer"})).await;
    send(
        &agent,
        json!({"thread_id": tid, "text": "a note for agents", "internal": true}),
    )
    .await;
    let (s, r) = owner
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");

    // An agent (not only an owner) exports it.
    let (s, ct, zip) = download(&agent, &format!("/api/threads/{tid}/export")).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&zip));
    assert_eq!(ct, "application/zip");
    let all = entries(&zip);
    let file = url.rsplit('/').next().unwrap();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "thread.json".to_owned(),
            format!("media/images/{file}"),
            "transcript.html".to_owned()
        ]
    );
    assert_eq!(entry(&all, &format!("media/images/{file}")), PNG_1X1);
    let t: Value = serde_json::from_slice(entry(&all, "thread.json")).unwrap();
    assert_eq!(t["format"], json!("sohbet-export"), "{t}");
    assert_eq!(t["thread"]["id"], json!(tid), "{t}");
    assert_eq!(t["thread"]["status"], json!("closed"), "{t}");
    assert_eq!(t["context"]["email"], json!("zeynep@example.com"), "{t}");
    let msgs = t["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4, "{t}");
    assert_eq!(msgs[0]["content_text"], json!("price <b>5 & 6</b>?"));
    assert_eq!(msgs[1]["file"], json!(format!("media/images/{file}")));
    assert_eq!(msgs[3]["internal"], json!(true), "{t}");
    assert_eq!(msgs[3]["content_text"], json!("a note for agents"));
    assert_eq!(msgs[2]["internal"], json!(false));
    assert_eq!(msgs[2]["agent_name"], json!("ayse name"));
    let events = t["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["action"] == json!("close")), "{t}");
    // The transcript: readable, everything escaped, the note and the event marked.
    let html = String::from_utf8(entry(&all, "transcript.html").to_vec()).unwrap();
    assert!(
        html.contains("price &lt;b&gt;5 &amp; 6&lt;/b&gt;?"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<b>"),
        "{html}"
    );
    assert!(html.contains("Internal note · ayse name"), "{html}");
    assert!(html.contains("System event: close"), "{html}");
    assert!(
        html.contains(&format!("src=\"media/images/{file}\"")),
        "{html}"
    );

    // The audit log names who exported which thread.
    let (s, r) = owner.get("/api/audit").await;
    assert_eq!(s, 200, "{r}");
    let e = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == json!("export"))
        .cloned()
        .expect("an export entry");
    assert_eq!(e["target"], json!(tid), "{e}");
    assert_eq!(e["by"]["name"], json!("ayse name"), "{e}");

    // Agents only; a clear error for a bad or unknown id.
    let (s, _, body) = download(&v, &format!("/api/threads/{tid}/export")).await;
    assert_error(
        s,
        &serde_json::from_slice(&body).unwrap(),
        401,
        "UNAUTHORIZED",
    );
    let other = uuid::Uuid::new_v4().to_string();
    let (s, _, body) = download(&agent, &format!("/api/threads/{other}/export")).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), 404, "NOT_FOUND");
    let (s, _, body) = download(&agent, &format!("/api/threads/{}/export", "x".repeat(65))).await;
    assert_error(
        s,
        &serde_json::from_slice(&body).unwrap(),
        400,
        "VALIDATION_ERROR",
    );
    app.finish().await;
}

async fn a_thread_export_fetches_cloudinary_files(backend: Backend) {
    use crate::uploads::cloudinary::{cloudinary_double, cloudinary_env};
    let (api, _seen) = cloudinary_double(false).await;
    let env = cloudinary_env(&api);
    let mut app = spawn(Opts::new(backend).envs(&env)).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (public_id, url) = send_image(&v, PNG_1X1.to_vec()).await;
    // A file Cloudinary no longer has: listed as missing, the rest goes on.
    let gone = url.replace(&public_id, "sohbet/images/gone");
    send(&v, json!({"text": "", "type": "image", "file_url": gone})).await;

    let (s, _, zip) = download(&owner, &format!("/api/threads/{tid}/export")).await;
    assert_eq!(s, 200);
    let all = entries(&zip);
    let name = format!("media/cloudinary/image/{public_id}.png");
    assert_eq!(entry(&all, &name), PNG_1X1);
    let t: Value = serde_json::from_slice(entry(&all, "thread.json")).unwrap();
    assert_eq!(t["messages"][0]["file"], json!(name), "{t}");
    let missing: Value = serde_json::from_slice(entry(&all, "media_missing.json")).unwrap();
    assert_eq!(
        missing,
        json!([{"url": gone, "file": "media/cloudinary/image/sohbet/images/gone.png", "why": "gone"}])
    );
    app.finish().await;
}

/// What an owner sees of the whole database: threads (without the
/// live fields), every message and event of each, canned replies, agents.
async fn snapshot(owner: &Browser) -> Value {
    let (s, r) = owner.get("/api/threads").await;
    assert_eq!(s, 200, "{r}");
    let mut threads = vec![];
    for t in r["threads"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let (_, ev) = owner.get(&format!("/api/threads/{id}/events")).await;
        threads.push(json!({
            "id": id,
            "display_name": t["display_name"],
            "created_at": t["created_at"],
            "last_activity": t["last_activity"],
            "status": t["status"],
            "messages": owner.messages(id, "?limit=200").await,
            "events": ev["events"],
        }));
    }
    threads.sort_by_key(|t| t["id"].as_str().unwrap().to_owned());
    let (_, canned) = owner.get("/api/canned").await;
    let (_, agents) = owner.get("/api/agents").await;
    let agents: Vec<Value> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["id"], a["username"], a["display_name"], a["role"]]))
        .collect();
    json!({"threads": threads, "canned": canned["replies"], "agents": agents})
}

/// Sets up a database worth carrying: two visitors, a picture, an
/// agent's answer and note, a closed thread, a canned reply, an agent.
async fn fill(app: &mut TestApp) -> (Browser, String) {
    let owner = app.admin().await;
    crate::agents::add(&owner, "ayse", "agent").await;
    let agent = crate::agents::login(app, "ayse", PASSWORD).await;
    let (s, r) = owner
        .post(
            "/api/canned",
            json!({"name": "hello", "body": "Hello, how can we help?"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v
        .post("/api/visitor/identify", json!({"email": "ali@example.com"}))
        .await;
    assert_eq!(s, 200, "{r}");
    send(&v, json!({"text": "first"})).await;
    let (_, url) = send_image(&v, PNG_1X1.to_vec()).await;
    send(&agent, json!({"thread_id": tid, "text": "answer"})).await;
    send(
        &agent,
        json!({"thread_id": tid, "text": "note", "internal": true}),
    )
    .await;
    let (s, r) = owner
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let w = app.visitor().await;
    send(&w, json!({"text": "second visitor"})).await;
    (owner, url)
}

fn file_of(db: &KeptDb, url: &str) -> Vec<u8> {
    let rel = url.strip_prefix("/uploads/").unwrap();
    std::fs::read(db.path().join("uploads").join(rel)).unwrap()
}

#[tokio::test]
async fn export_and_import_carry_a_database_from_sqlite_to_postgres_and_back() {
    let first = KeptDb::new(Backend::Sqlite).await;
    let mut app = on_kept(&first, Opts::new(Backend::Sqlite)).await;
    let (owner, url) = fill(&mut app).await;
    let before = snapshot(&owner).await;
    assert_eq!(before["threads"].as_array().unwrap().len(), 2, "{before}");
    app.finish().await;

    let dir = tempfile::tempdir().unwrap();
    let zip1 = dir.path().join("one.zip");
    let zip1s = zip1.display().to_string();
    let (code, out, err) = sohbet(&first, &["export", "--out", &zip1s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("exported 2 threads, 5 messages, 1 files"),
        "{out}"
    );
    assert!(
        err.contains("export: 2 threads, 5 messages; now the media"),
        "{err}"
    );
    // Never over an existing file.
    let (code, _, err) = sohbet(&first, &["export", "--out", &zip1s]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = sohbet(
        &first,
        &["export", "--out", "x.zip", "--since", "yesterday"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since must be a date"), "{err}");
    // --since keeps the threads active since that day.
    let later = dir.path().join("later.zip").display().to_string();
    let (code, out, err) = sohbet(
        &first,
        &["export", "--out", &later, "--since", "2999-01-01"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("exported 0 threads, 0 messages, 0 files"),
        "{out}"
    );
    let earlier = dir.path().join("earlier.zip").display().to_string();
    let (code, out, err) = sohbet(
        &first,
        &["export", "--out", &earlier, "--since", "2000-01-01"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("exported 2 threads, 5 messages, 1 files"),
        "{out}"
    );
    // No password hash leaves.
    let all = entries(&std::fs::read(&zip1).unwrap());
    let agents = String::from_utf8(entry(&all, "agents.json").to_vec()).unwrap();
    assert!(
        agents.contains("ayse") && !agents.contains("argon2"),
        "{agents}"
    );

    // SQLite → Postgres.
    let second = KeptDb::new(Backend::Postgres).await;
    let (code, out, err) = sohbet(&second, &["import", &zip1s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 2 threads, 5 messages"), "{out}");
    // A database that holds data is refused, and keeps what it holds.
    let (code, _, err) = sohbet(&second, &["import", &zip1s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the database is not empty (2 rows in threads, 5 rows in messages"),
        "{err}"
    );
    assert_eq!(count(&second, "SELECT COUNT(*) FROM messages").await, 5);
    let mut app = on_kept(&second, Opts::new(Backend::Postgres)).await;
    let owner = app.admin().await;
    assert_eq!(snapshot(&owner).await, before);
    assert_eq!(file_of(&second, &url), PNG_1X1);
    // New rows get new ids after the imported ones.
    let v = app.visitor().await;
    let r = send(&v, json!({"text": "after the import"})).await;
    let max = before["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            t["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap())
        })
        .max()
        .unwrap();
    assert!(r["message_id"].as_i64().unwrap() > max, "{r}");
    let after = snapshot(&owner).await;
    app.finish().await;

    // Postgres → SQLite.
    let zip2 = dir.path().join("two.zip").display().to_string();
    let (code, out, err) = sohbet(&second, &["export", "--out", &zip2]);
    assert_eq!(code, 0, "{out}{err}");
    let third = KeptDb::new(Backend::Sqlite).await;
    let (code, out, err) = sohbet(&third, &["import", &zip2]);
    assert_eq!(code, 0, "{out}{err}");
    let mut app = on_kept(&third, Opts::new(Backend::Sqlite)).await;
    let owner = app.admin().await;
    assert_eq!(snapshot(&owner).await, after);
    assert_eq!(file_of(&third, &url), PNG_1X1);
    let (s, r) = owner.get("/api/search?q=answer").await;
    assert_eq!(s, 200, "{r}");
    assert!(
        r.to_string().contains("answer"),
        "the search index follows: {r}"
    );
    app.finish().await;
}

/// Runs `sohbet import` of `zip` into a new SQLite database: it must fail
/// with exit 2 saying `why`, and store nothing.
async fn refused(zip: &Path, why: &str) {
    let db = KeptDb::new(Backend::Sqlite).await;
    let (code, out, err) = sohbet(&db, &["import", &zip.display().to_string()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(why) && err.contains("nothing was stored"),
        "{err}"
    );
    for table in ["threads", "messages", "agents", "canned_replies"] {
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM {table}")).await,
            0
        );
    }
    let files = crate::uploads::support::files_under(&db.path().join("uploads"));
    assert!(files.is_empty(), "{files:?}");
}

#[tokio::test]
async fn a_bad_archive_is_refused_and_stores_nothing() {
    let db = KeptDb::new(Backend::Sqlite).await;
    let mut app = on_kept(&db, Opts::new(Backend::Sqlite)).await;
    fill(&mut app).await;
    app.finish().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.zip");
    let (code, out, err) = sohbet(&db, &["export", "--out", &good.display().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let bytes = std::fs::read(&good).unwrap();

    // Cut short (no central directory).
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(&cut, "is not a readable ZIP file").await;
    // One byte of the picture changed: its CRC-32 no longer matches.
    let pos = bytes
        .windows(4)
        .rposition(|w| w == b"IHDR")
        .expect("the picture's bytes");
    let mut flipped = bytes.clone();
    flipped[pos] ^= 0x20;
    let bad = dir.path().join("bad.zip");
    std::fs::write(&bad, &flipped).unwrap();
    refused(&bad, "the archive is corrupt").await;
    // Not an export at all.
    let other = dir.path().join("other.zip");
    std::fs::write(&other, b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
    refused(&other, "manifest.json").await;
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn an_erase_reaches_the_other_instances(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let prefix = format!("sohbet-test-{}", uuid::Uuid::new_v4().simple());
    let opts = || {
        Opts::new(backend)
            .db(&db)
            .env("REDIS_URL", REDIS_URL)
            .env("REDIS_PREFIX", &prefix)
    };
    let mut one = spawn(opts()).await;
    let two = spawn(opts()).await;
    let owner = one.admin().await;
    // The visitor is on instance two.
    let v = two.visitor().await;
    let tid = v.thread_id().await;
    send(&v, json!({"text": "hello"})).await;
    let mut vs = Socket::visitor(&v, None).await;
    let (s, r) = owner
        .post(&format!("/api/threads/{tid}/block"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    // Instance two learnt the block (over Redis) …
    loop {
        let (s, r) = v.send(None, "blocked yet?").await;
        if s == 403 {
            assert_error(s, &r, 403, "BLOCKED");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // … and now the erase on instance one: the visitor's page on instance
    // two is emptied, and instance two no longer holds the thread as
    // blocked: the visitor starts a new conversation there.
    let (s, r) = owner
        .call("DELETE", &format!("/api/threads/{tid}"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(vs.next("messages_cleared").await, json!({"thread_id": tid}));
    let (s, r) = v.send(None, "a new start").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(v.messages(&tid, "").await.len(), 1);
    two.finish().await;
    one.finish().await;
}

/// Messages, files and bytes per file of the big export; the CI run is
/// small, `SOHBET_EXPORT_BIG=1` runs the size (10,000 messages,
/// 100 files of 5 MiB = 500 MiB) and prints the server's memory.
fn big_size() -> (usize, usize, usize) {
    if std::env::var("SOHBET_EXPORT_BIG").is_ok_and(|v| v == "1") {
        (10_000, 100, 5 * 1024 * 1024)
    } else {
        (1_000, 8, 256 * 1024)
    }
}

/// `VmHWM` / `VmRSS` of process `pid`, KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn a_big_thread_export_is_streamed_whole(backend: Backend) {
    let (n_messages, n_files, file_bytes) = big_size();
    let db = KeptDb::new(backend).await;
    let app = on_kept(&db, Opts::new(backend)).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    send(&v, json!({"text": "first"})).await;
    app.finish().await;

    // The files and the messages, written straight into the folder and
    // the database (every 100th message carries a file).
    let images = db.path().join("uploads").join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut urls = vec![];
    let mut body = PNG_1X1.to_vec();
    body.resize(file_bytes, 0x5a);
    for i in 0..n_files {
        let name = format!("{}.png", uuid::Uuid::new_v4());
        body[file_bytes - 8..].copy_from_slice(&(i as u64).to_be_bytes());
        std::fs::write(images.join(&name), &body).unwrap();
        urls.push(format!("/uploads/images/{name}"));
    }
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let mut rows = vec![];
    for i in 0..n_messages {
        let at =
            (start + chrono::Duration::seconds(i as i64)).format("%Y-%m-%d %H:%M:%S%.3f+00:00");
        let every = (n_messages / n_files).max(1);
        let row = match urls.get(i / every).filter(|_| i % every == 0) {
            Some(u) => format!("('{tid}', 'visitor', 'image', '', '{u}', '{at}')"),
            None => format!("('{tid}', 'visitor', 'text', 'message number {i}', NULL, '{at}')"),
        };
        rows.push(row);
        if rows.len() == 500 || i + 1 == n_messages {
            crate::agents::sql(
                &db,
                &format!(
                    "INSERT INTO messages (thread_id, sender, type, content_text, file_url, created_at) VALUES {}",
                    rows.join(",")
                ),
            )
            .await;
            rows.clear();
        }
    }

    // The real binary, signed in as the owner (the code is in its log).
    let (k, val) = db.var();
    let uploads = db.path().join("uploads").display().to_string();
    let mut bin = binary::spawn(binary::command(&[
        (k, val.as_str()),
        ("UPLOAD_DIR", uploads.as_str()),
    ]));
    let mut owner = Browser::new(&bin.base);
    owner.init().await;
    let (s, r) = owner.login("admin", "admin123").await;
    assert_eq!(s, 200, "{r}");
    let code = loop {
        let found = bin.log.lock().unwrap().iter().find_map(|l| {
            let at = l.find("OTP for admin login")?;
            let rest = &l[at..];
            let i = rest.find("): ")? + 3;
            Some(rest[i..i + 6].to_owned())
        });
        if let Some(c) = found {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let (s, r) = owner.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    let pid = bin.child.id();
    let before = memory_kib(pid, "VmRSS");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thread.zip");
    let mut out = std::fs::File::create(&path).unwrap();
    let mut r = owner
        .client
        .get(format!("{}/api/threads/{tid}/export", owner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut total = 0u64;
    while let Some(c) = r.chunk().await.unwrap() {
        std::io::Write::write_all(&mut out, &c).unwrap();
        total += c.len() as u64;
    }
    let peak = memory_kib(pid, "VmHWM");
    let _ = bin.child.kill();
    let _ = bin.child.wait();
    println!(
        "export of {} messages and {} MiB of files: archive {} MiB; server RSS before {} MiB, peak {} MiB",
        n_messages + 1,
        n_files * file_bytes / (1024 * 1024),
        total / (1024 * 1024),
        before / 1024,
        peak / 1024
    );

    // Every message, every file whole (CRC-32 checked on reading).
    let mut a = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(a.len(), n_files + 2);
    let mut t = vec![];
    a.by_name("thread.json")
        .unwrap()
        .read_to_end(&mut t)
        .unwrap();
    let t: Value = serde_json::from_slice(&t).unwrap();
    assert_eq!(t["messages"].as_array().unwrap().len(), n_messages + 1);
    for u in &urls {
        let name = format!("media/images/{}", u.rsplit('/').next().unwrap());
        let mut e = a.by_name(&name).unwrap();
        let n = std::io::copy(&mut e, &mut std::io::sink()).unwrap();
        assert_eq!(n as usize, file_bytes);
    }
    let mut html = String::new();
    a.by_name("transcript.html")
        .unwrap()
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains(&format!("message number {}", n_messages - 1)));
}
