//! A two-instance fault soak (issue 24 item 4): two real binaries on a
//! Postgres cluster and a Redis of the test's own (free ports, temporary
//! folders: the shared ones are never touched) and the Bot API double.
//! Visitors pinned to instance A write steadily over HTTP (each message
//! with its `client_id`, resent with the same one until acknowledged) and
//! listen on their sockets; an agent on instance B answers once a second
//! and listens on its socket. Meanwhile, once per cycle: Telegram answers
//! 502 for a while, instance A is killed (`kill -9`) and restarted,
//! Postgres is restarted inside a Telegram 502 window, Redis drops its
//! pub/sub clients (`CLIENT KILL`) and is then restarted, instance B is
//! killed and restarted, Telegram answers 429 for a few calls.
//!
//! At the end it prints what it measured and checks it: every acknowledged
//! message stored exactly once; delivered both ways (live, or by the
//! catch-up a page does after a reconnect: `?after=` over HTTP for the
//! agent, `last_message_id` on the socket and then `?after=` for a
//! visitor); every visitor
//! message forwarded to Telegram, in order per thread, with at most one
//! repeated Telegram message (perhaps a coalesced one) per crash or lost
//! lock; typing crosses instances after
//! Redis came back; `/health/live` failed only while an instance was
//! killed and `/health/ready` was false while Redis was away.
//!
//! Length: `SOHBET_SOAK_SECS` (default 40, what CI runs; a cycle lasts up
//! to 60 s, a longer run repeats it), e.g.
//! `SOHBET_SOAK_SECS=360 cargo test --test it soak -- --nocapture`.
//! Postgres only (several instances need it).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::common::{
    Browser,
    binary::{self, Binary},
    bridge::expand,
    services::{OwnPostgres, OwnRedis, free_port},
    socket::Socket,
    telegram::{ADMIN_CHAT, TelegramDouble},
};

const SECRET: &str = "soak-test-secret-key-0123456789abcdef-0123456789";

/// One instance: its port (kept across restarts) and the running binary.
struct Instance {
    port: u16,
    env: Vec<(String, String)>,
    bin: Option<Binary>,
    /// Set while it is killed (health failures are expected then).
    down: Arc<AtomicBool>,
}

impl Instance {
    fn start(&mut self) {
        let mut env = self.env.clone();
        env.push(("PORT".into(), self.port.to_string()));
        self.bin = Some(binary::spawn(binary::command(&env)));
        self.down.store(false, Ordering::SeqCst);
    }

    fn kill(&mut self) {
        self.down.store(true, Ordering::SeqCst);
        if let Some(mut b) = self.bin.take() {
            let _ = b.child.kill();
            let _ = b.child.wait();
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the load saw; shared by its tasks.
#[derive(Default)]
struct Seen {
    /// Acknowledged visitor messages: client_id → (thread, stored id).
    visitor_acked: HashMap<String, (String, i64)>,
    /// Acknowledged agent answers: client_id → (thread, stored id).
    agent_acked: HashMap<String, (String, i64)>,
    /// Message ids the agent's socket got live.
    agent_live: HashSet<i64>,
    /// Message ids the agent fetched after a reconnect.
    agent_caught_up: HashSet<i64>,
    /// Message ids each visitor's socket got (live or replayed).
    visitor_got: HashSet<i64>,
    /// Sends that had to be repeated (no acknowledgement).
    resends: u64,
}

/// `POST` JSON with the CSRF token; `None` when the instance did not answer.
async fn post(b: &Browser, path: &str, body: &Value) -> Option<(u16, Value)> {
    let r = b
        .client
        .post(format!("{}{path}", b.base))
        .header("X-CSRFToken", &b.csrf)
        .json(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let s = r.status().as_u16();
    Some((s, r.json().await.unwrap_or(Value::Null)))
}

async fn get(b: &Browser, path: &str) -> Option<(u16, Value)> {
    let r = b
        .client
        .get(format!("{}{path}", b.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let s = r.status().as_u16();
    Some((s, r.json().await.unwrap_or(Value::Null)))
}

/// A socket, or `None` when the instance is away (the client panics then;
/// the panic stays in its task).
async fn try_socket(b: &Browser, auth: Value) -> Option<Socket> {
    let (client, base, csrf) = (b.client.clone(), b.base.clone(), b.csrf.clone());
    tokio::spawn(async move {
        let b = Browser { client, base, csrf };
        Socket::connect(&b, auth).await
    })
    .await
    .ok()
}

/// Sends `text` with `client_id` until acknowledged (or `stop` and 30 s
/// passed); the stored id.
async fn send_until_acked(
    b: &Browser,
    body: Value,
    seen: &Mutex<Seen>,
    deadline: Instant,
) -> Option<i64> {
    let mut first = true;
    loop {
        if !first {
            seen.lock().unwrap().resends += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        first = false;
        if let Some((200, r)) = post(b, "/api/messages/send", &body).await
            && let Some(id) = r["message"]["id"].as_i64()
        {
            return Some(id);
        }
        if Instant::now() > deadline {
            return None;
        }
    }
}

/// A fresh browser of `base` with its session and CSRF token (retried
/// while the instance is away).
async fn browser(base: &str) -> Browser {
    loop {
        let mut b = Browser::new(base);
        if let Some((200, body)) = get(&b, "/api/session").await
            && let Some(t) = body["csrf_token"].as_str()
        {
            b.csrf = t.to_owned();
            return b;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One visitor on instance A: writes every `every`, listens for answers,
/// reconnects with `last_message_id` (the page's catch-up). After `stop`
/// it meets the others at `sent` (every visitor and the agent have had
/// their last send acknowledged or given up), then catches up: an answer
/// acknowledged after its catch-up could not be in it.
async fn visitor(
    i: usize,
    base: String,
    every: Duration,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<String>>>,
    sent: Arc<tokio::sync::Barrier>,
) {
    let b = browser(&base).await;
    let tid = get(&b, "/api/session").await.unwrap().1["thread_id"]
        .as_str()
        .unwrap()
        .to_owned();
    threads.lock().unwrap().push(tid.clone());
    let mut sock: Option<Socket> = None;
    let mut last: Option<i64> = None;
    // After a reconnect, what the page does (`catchUp` in visitor.js):
    // `?after=` the last id seen before the gap, tried again until it
    // answers (the socket's replay fails while Postgres restarts).
    let mut gap_from: Option<i64> = None;
    let mut n = 0u64;
    let mut next = Instant::now();
    loop {
        // Listen (and reconnect when the socket is gone).
        if sock.as_ref().is_none_or(Socket::is_closed) {
            let mut auth = json!({"csrf_token": b.csrf, "role": "visitor"});
            if let Some(l) = last {
                auth["last_message_id"] = json!(l);
            }
            sock = try_socket(&b, auth).await;
            if sock.is_some() && gap_from.is_none() {
                gap_from = Some(last.unwrap_or(0));
            }
        }
        if let Some(after) = gap_from
            && let Some((200, v)) =
                get(&b, &format!("/api/messages/{tid}?after={after}&limit=200")).await
        {
            let mut seen = seen.lock().unwrap();
            for m in v["messages"].as_array().into_iter().flatten() {
                if m["sender_type"] == "admin"
                    && let Some(id) = m["id"].as_i64()
                {
                    seen.visitor_got.insert(id);
                }
            }
            gap_from = None;
        }
        if let Some(s) = sock.as_mut() {
            for (ev, data) in s.drain() {
                if ev == "message_to_visitor"
                    && let Some(id) = data["id"].as_i64()
                {
                    seen.lock().unwrap().visitor_got.insert(id);
                    last = Some(last.map_or(id, |l| l.max(id)));
                }
            }
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if Instant::now() >= next {
            n += 1;
            let cid = format!("v{i}-{n}");
            let body = json!({"text": format!("soak ⟨{cid}⟩"), "type": "text", "client_id": cid});
            let deadline = Instant::now() + Duration::from_secs(60);
            if let Some(id) = send_until_acked(&b, body, &seen, deadline).await {
                seen.lock()
                    .unwrap()
                    .visitor_acked
                    .insert(cid, (tid.clone(), id));
            }
            next += every;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sent.wait().await;
    // The last catch-up: a socket with the last id seen gets the rest.
    for _ in 0..100 {
        let mut auth = json!({"csrf_token": b.csrf, "role": "visitor"});
        if let Some(l) = last {
            auth["last_message_id"] = json!(l);
        }
        if let Some(mut s) = try_socket(&b, auth).await {
            // The replay comes right after the CONNECT; a typing round trip
            // marks its end.
            let _ = s.emit("stop_typing", json!({})).await;
            for (ev, data) in s.drain() {
                if ev == "message_to_visitor"
                    && let Some(id) = data["id"].as_i64()
                {
                    seen.lock().unwrap().visitor_got.insert(id);
                }
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And what the page does after a reconnect (`catchUp` in visitor.js):
    // `GET /api/messages/{thread}?after=<last id seen>`. The socket's
    // replay is read from the database after the CONNECT, so the drain
    // above can come before it; this request cannot miss what is stored.
    let after = last.unwrap_or(0);
    for _ in 0..100 {
        if let Some((200, v)) = get(&b, &format!("/api/messages/{tid}?after={after}")).await {
            let mut seen = seen.lock().unwrap();
            for m in v["messages"].as_array().into_iter().flatten() {
                if m["sender_type"] == "admin"
                    && let Some(id) = m["id"].as_i64()
                {
                    seen.visitor_got.insert(id);
                }
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The login codes Telegram got so far, in order.
fn codes(tg: &TelegramDouble) -> Vec<String> {
    tg.texts_to(ADMIN_CHAT)
        .iter()
        .filter_map(|t| {
            let i = t.find("Login code for admin: ")? + "Login code for admin: ".len();
            t.get(i..i + 6).map(str::to_owned)
        })
        .collect()
}

/// Logs in on `base` (the code comes through Telegram).
async fn agent_browser(base: &str, tg: &TelegramDouble) -> Browser {
    loop {
        let b = browser(base).await;
        let before = codes(tg).len();
        if let Some((200, _)) = post(
            &b,
            "/admin/login",
            &json!({"username": "admin", "password": "admin123"}),
        )
        .await
        {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Some(code) = codes(tg).get(before).cloned() {
                    if let Some((200, _)) =
                        post(&b, "/admin/verify-otp", &json!({"otp": code})).await
                    {
                        return b;
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The agent on instance B: answers a thread once a second, listens, and
/// after each reconnect fetches what it missed (`?after=`).
async fn agent(
    b: Browser,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<String>>>,
    sent: Arc<tokio::sync::Barrier>,
) {
    let mut sock: Option<Socket> = None;
    let mut last_per_thread: HashMap<String, i64> = HashMap::new();
    let mut n = 0u64;
    let mut next = Instant::now() + Duration::from_secs(1);
    let mut catch_up = false;
    let mut met = false;
    loop {
        if sock.as_ref().is_none_or(Socket::is_closed) {
            sock = try_socket(&b, json!({"csrf_token": b.csrf, "role": "admin"})).await;
            catch_up = sock.is_some();
        }
        if let Some(s) = sock.as_mut() {
            for (ev, data) in s.drain() {
                if ev == "message_from_visitor"
                    && let (Some(id), Some(t)) = (data["id"].as_i64(), data["thread_id"].as_str())
                {
                    seen.lock().unwrap().agent_live.insert(id);
                    let l = last_per_thread.entry(t.to_owned()).or_insert(0);
                    *l = (*l).max(id);
                }
            }
        }
        let done = stop.load(Ordering::SeqCst);
        if done && !met {
            // No send of ours is in flight here (they run below, only
            // while not done): wait for the visitors' last sends.
            sent.wait().await;
            met = true;
        }
        if catch_up || done {
            // What the panel does after a reconnect.
            let ts = threads.lock().unwrap().clone();
            let mut all_ok = true;
            for t in ts {
                let after = last_per_thread.get(&t).copied().unwrap_or(0);
                match get(&b, &format!("/api/messages/{t}?after={after}&limit=200")).await {
                    Some((200, r)) => {
                        for m in r["messages"].as_array().cloned().unwrap_or_default() {
                            if m["sender_type"] == json!("visitor")
                                && let Some(id) = m["id"].as_i64()
                            {
                                let mut s = seen.lock().unwrap();
                                if !s.agent_live.contains(&id) {
                                    s.agent_caught_up.insert(id);
                                }
                                let l = last_per_thread.entry(t.clone()).or_insert(0);
                                *l = (*l).max(id);
                            }
                        }
                    }
                    _ => all_ok = false,
                }
            }
            catch_up = !all_ok;
            if done && all_ok {
                return;
            }
        }
        if !done && Instant::now() >= next {
            let ts = threads.lock().unwrap().clone();
            if !ts.is_empty() {
                n += 1;
                let t = &ts[n as usize % ts.len()];
                let cid = format!("a-{n}");
                let body = json!({"thread_id": t, "text": format!("answer ⟨{cid}⟩"), "type": "text", "client_id": cid});
                let deadline = Instant::now() + Duration::from_secs(60);
                if let Some(id) = send_until_acked(&b, body, &seen, deadline).await {
                    seen.lock()
                        .unwrap()
                        .agent_acked
                        .insert(cid, (t.clone(), id));
                }
            }
            next += Duration::from_secs(1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Health samples: (instance killed, Redis away, live ok, ready ok).
type Sample = (bool, bool, bool, bool);

async fn sample_health(
    ports: [u16; 2],
    downs: [Arc<AtomicBool>; 2],
    redis_away: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<Sample>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    while !stop.load(Ordering::SeqCst) {
        for (p, down) in ports.iter().zip(&downs) {
            let killed = down.load(Ordering::SeqCst);
            let away = redis_away.load(Ordering::SeqCst);
            let ok = |path: &'static str| {
                let c = client.clone();
                async move {
                    c.get(format!("http://127.0.0.1:{p}{path}"))
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200)
                }
            };
            let (live, ready) = (ok("/health/live").await, ok("/health/ready").await);
            // Killed before or during the request.
            let killed = killed || down.load(Ordering::SeqCst);
            let away = away || redis_away.load(Ordering::SeqCst);
            out.lock().unwrap().push((killed, away, live, ready));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn report(line: &str) {
    // Straight to stderr: the test harness does not capture it, so the
    // figures show in CI too.
    let _ = writeln!(std::io::stderr(), "soak: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instance_fault_soak() {
    let secs: u64 = std::env::var("SOHBET_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let visitors: usize = std::env::var("SOHBET_SOAK_VISITORS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    // Each visitor writes every `every`: 4 messages a second in all by default.
    let every = Duration::from_millis(
        std::env::var("SOHBET_SOAK_EVERY_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2000),
    );
    let total = Duration::from_secs(secs.max(20));
    let cycle = total.min(Duration::from_secs(60));
    let started = Instant::now();

    let pg = OwnPostgres::start();
    let mut redis = OwnRedis::start();
    let tg = TelegramDouble::start().await;
    let uploads = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = tg.env();
    env.extend([
        ("DATABASE_URL".to_owned(), pg.url()),
        ("REDIS_URL".into(), redis.url()),
        ("REDIS_PREFIX".into(), "soak".into()),
        ("SECRET_KEY".into(), SECRET.into()),
        ("UPLOAD_DIR".into(), uploads.path().display().to_string()),
    ]);
    let mk = |env: &Vec<(String, String)>| Instance {
        port: free_port(),
        env: env.clone(),
        bin: None,
        down: Arc::new(AtomicBool::new(true)),
    };
    let a = Arc::new(Mutex::new(mk(&env)));
    let b = Arc::new(Mutex::new(mk(&env)));
    tokio::task::block_in_place(|| {
        a.lock().unwrap().start();
        b.lock().unwrap().start();
    });
    let (base_a, base_b) = (a.lock().unwrap().base(), b.lock().unwrap().base());
    let ports = [a.lock().unwrap().port, b.lock().unwrap().port];

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let stop_health = Arc::new(AtomicBool::new(false));
    let redis_away = Arc::new(AtomicBool::new(false));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let health = tokio::spawn(sample_health(
        ports,
        [
            a.lock().unwrap().down.clone(),
            b.lock().unwrap().down.clone(),
        ],
        redis_away.clone(),
        stop_health.clone(),
        samples.clone(),
    ));
    report("instances up");
    let agent_b = agent_browser(&base_b, &tg).await;
    report("agent logged in");
    let mut load = vec![];
    let sent = Arc::new(tokio::sync::Barrier::new(visitors + 1));
    for i in 0..visitors {
        load.push(tokio::spawn(visitor(
            i,
            base_a.clone(),
            every,
            seen.clone(),
            stop.clone(),
            threads.clone(),
            sent.clone(),
        )));
    }
    load.push(tokio::spawn(agent(
        agent_b,
        seen.clone(),
        stop.clone(),
        threads.clone(),
        sent.clone(),
    )));

    // The faults, once per cycle, at fractions of it.
    let crashes = AtomicU64::new(0);
    let lost_locks = AtomicU64::new(0);
    let at = |c: u32, f: f64| started + cycle * c + cycle.mul_f64(f);
    let until = |t: Instant| tokio::time::sleep_until(t.into());
    let cycles = (total.as_secs_f64() / cycle.as_secs_f64()).floor().max(1.0) as u32;
    for c in 0..cycles {
        until(at(c, 0.10)).await;
        tg.set_down(true);
        until(at(c, 0.18)).await;
        tg.set_down(false);
        until(at(c, 0.25)).await;
        report("kill -9 A");
        a.lock().unwrap().kill();
        crashes.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::block_in_place(|| a.lock().unwrap().start());
        // Postgres restarts inside a Telegram outage (the sender is in
        // teloxide's pause after a 5xx and loses its lock).
        until(at(c, 0.35)).await;
        report("Postgres restart in a 502 window");
        tg.set_down(true);
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::block_in_place(|| pg.restart());
        lost_locks.fetch_add(1, Ordering::SeqCst);
        until(at(c, 0.45)).await;
        tg.set_down(false);
        until(at(c, 0.55)).await;
        report("Redis CLIENT KILL, then restart");
        redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
        until(at(c, 0.62)).await;
        redis_away.store(true, Ordering::SeqCst);
        tokio::task::block_in_place(|| redis.stop());
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::block_in_place(|| redis.restart());
        redis_away.store(false, Ordering::SeqCst);
        until(at(c, 0.72)).await;
        report("kill -9 B");
        b.lock().unwrap().kill();
        crashes.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::block_in_place(|| b.lock().unwrap().start());
        until(at(c, 0.82)).await;
        tg.throttle("sendMessage", 5, 1);
    }
    until(started + total).await;
    stop.store(true, Ordering::SeqCst);
    report("load stopped");
    for t in load {
        t.await.unwrap();
    }
    let load_secs = started.elapsed().as_secs_f64();

    report("catch-up done");
    // Typing crosses instances after Redis came back: a visitor on A, the
    // agent on B.
    let agent_b = agent_browser(&base_b, &tg).await;
    let mut ag = Socket::admin(&agent_b).await;
    let v = browser(&base_a).await;
    let mut vs = Socket::visitor(&v, None).await;
    assert_eq!(vs.emit("typing", json!({})).await["success"], json!(true));
    let typing = ag.next("typing").await;
    assert_eq!(typing["sender_type"], json!("visitor"));

    report("typing crossed");
    // The outbox drains (every forward sent or settled).
    let drained = Instant::now() + Duration::from_secs(120);
    let pgc = loop {
        if let Ok(c) = sqlx::PgPool::connect(&pg.url()).await {
            break c;
        }
        assert!(Instant::now() < drained);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending'")
                .fetch_one(&pgc)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < drained,
            "the outbox did not drain: {pending} pending"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop_health.store(true, Ordering::SeqCst);
    health.await.unwrap();

    // Stored exactly once.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let stored: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT client_id, sender, id, thread_id FROM messages WHERE client_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(&pgc)
    .await
    .unwrap();
    let mut by_cid: HashMap<&str, usize> = HashMap::new();
    for (cid, ..) in &stored {
        *by_cid.entry(cid.as_str()).or_default() += 1;
    }
    let twice = by_cid.values().filter(|&&n| n > 1).count();
    let lost: Vec<&String> = seen
        .visitor_acked
        .keys()
        .chain(seen.agent_acked.keys())
        .filter(|c| !by_cid.contains_key(c.as_str()))
        .collect();

    // Delivered both ways.
    let visitor_ids: HashSet<i64> = seen.visitor_acked.values().map(|v| v.1).collect();
    let agent_ids: HashSet<i64> = seen.agent_acked.values().map(|v| v.1).collect();
    let to_agent_missing = visitor_ids
        .iter()
        .filter(|id| !seen.agent_live.contains(id) && !seen.agent_caught_up.contains(id))
        .count();
    let live_to_agent = visitor_ids
        .iter()
        .filter(|id| seen.agent_live.contains(id))
        .count();
    let to_visitor_missing = agent_ids
        .iter()
        .filter(|id| !seen.visitor_got.contains(id))
        .count();

    // Forwarded to Telegram: once each (up to one duplicate Telegram
    // message per crash or lost lock: a coalesced one repeats all it
    // carried), in order per thread.
    let sends: Vec<Vec<String>> = tg.texts_to(ADMIN_CHAT).iter().map(|t| expand(t)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut order: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut duplicate_sends = 0usize;
    for send in &sends {
        let mut repeated = false;
        for f in send {
            let Some(s) = f.find("soak ⟨v") else {
                continue;
            };
            let rest = &f[s + "soak ⟨".len()..];
            let Some(e) = rest.find('⟩') else { continue };
            let cid = &rest[..e];
            *counts.entry(cid).or_default() += 1;
            if counts[cid] == 1 {
                let (v, n) = cid[1..].split_once('-').unwrap();
                order.entry(v).or_default().push(n.parse().unwrap());
            } else {
                repeated = true;
            }
        }
        duplicate_sends += usize::from(repeated);
    }
    let not_forwarded = seen
        .visitor_acked
        .keys()
        .filter(|c| !counts.contains_key(c.as_str()))
        .count();
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let out_of_order = order
        .values()
        .filter(|ns| ns.windows(2).any(|w| w[0] > w[1]))
        .count();

    // Health.
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let live_fail_up = samples.iter().filter(|s| !s.0 && !s.2).count();
    let live_fail_killed = samples.iter().filter(|s| s.0 && !s.2).count();
    let ready_false_away = samples.iter().filter(|s| s.1 && !s.3).count();
    let away = samples.iter().filter(|s| s.1).count();
    // Not ready otherwise: an instance starting, Postgres restarting.
    let ready_false_else = samples.iter().filter(|s| !s.0 && !s.1 && !s.3).count();
    let (crashes, lost_locks) = (
        crashes.load(Ordering::SeqCst),
        lost_locks.load(Ordering::SeqCst),
    );

    report(&format!(
        "{load_secs:.0} s of load, {cycles} cycle(s) of faults: {crashes} kill -9, {lost_locks} Postgres restart(s) in a Telegram 502 window, {cycles} Redis CLIENT KILL + restart, 502 and 429 windows"
    ));
    report(&format!(
        "visitor messages acknowledged {}, agent answers {}; resends after no acknowledgement {}",
        seen.visitor_acked.len(),
        seen.agent_acked.len(),
        seen.resends
    ));
    report(&format!(
        "stored: {} rows with a client_id, stored twice {twice}, acknowledged but lost {}",
        stored.len(),
        lost.len()
    ));
    report(&format!(
        "to the agent: {live_to_agent} live, {} by catch-up, {to_agent_missing} missing; to the visitors: {} of {} received, {to_visitor_missing} missing",
        visitor_ids.len() - live_to_agent - to_agent_missing,
        agent_ids.len() - to_visitor_missing,
        agent_ids.len()
    ));
    report(&format!(
        "Telegram: {} forwarded in {} sends, {not_forwarded} not forwarded, {duplicates} duplicate forwards in {duplicate_sends} repeated sends (allowed: {}), {out_of_order} threads out of order",
        counts.len(),
        sends.len(),
        crashes + lost_locks
    ));
    report(&format!(
        "health: {} samples; /health/live failed {live_fail_killed} times while killed, {live_fail_up} times otherwise; /health/ready false in {ready_false_away} of {away} samples while Redis was away, {ready_false_else} times otherwise (Postgres restarting)",
        samples.len()
    ));

    assert_eq!(twice, 0, "stored twice");
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(to_agent_missing, 0);
    assert_eq!(to_visitor_missing, 0);
    assert_eq!(not_forwarded, 0);
    assert_eq!(out_of_order, 0);
    assert!(
        duplicate_sends as u64 <= crashes + lost_locks,
        "{duplicate_sends} repeated sends ({duplicates} duplicate forwards)"
    );
    assert_eq!(live_fail_up, 0, "/health/live failed while up");
    pgc.close().await;
}
