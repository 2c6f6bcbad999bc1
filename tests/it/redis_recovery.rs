//! Redis that comes back (issue 24 item 2): two instances on a Redis of the
//! test's own; its pub/sub clients are killed (`CLIENT KILL TYPE pubsub`),
//! then Redis itself is killed and restarted. Each time the instances cut
//! their sockets off (they may have missed events), `/health/ready` says
//! why while Redis is away, and once it is back every subscription is
//! renewed: typing and the adapter's other broadcasts (`user_online`)
//! cross instances again, as do the chat's own events. Before the fix the
//! adapter's channels were never subscribed again (typing stopped crossing
//! for good, `/health/ready` stayed green).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{
    Backend, Browser, KeptDb, Opts, TestApp, services::OwnRedis, socket::Socket, spawn,
};

on_both_backends!(subscriptions_come_back_after_redis_drops_and_restarts);

fn ok(ack: &Value) {
    assert_eq!(ack["success"], json!(true), "{ack}");
}

/// `/health/ready` of `app`: status code and body.
async fn ready(app: &TestApp) -> (u16, Value) {
    app.browser().get("/health/ready").await
}

/// Waits (20 s at most) until `/health/ready` of `app` answers `code`.
async fn ready_becomes(app: &TestApp, code: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, body) = ready(app).await;
        if s == code {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health/ready never {code}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (10 s at most) until Redis lists `n` subscribed channels again
/// (the adapter's and the chat's, of both instances).
async fn all_subscribed(redis: &OwnRedis, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.channels().len() != n {
        assert!(
            Instant::now() < deadline,
            "channels not subscribed again: {:?}",
            redis.channels()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sockets of one round: an admin on each instance, a visitor on
/// instance two.
struct Round {
    admin_one: Socket,
    admin_two: Socket,
    visitor: Socket,
}

/// Connects the sockets and checks that everything crosses: the visitor's
/// `user_online` (adapter, two → one), its typing (adapter, two → one and
/// two → two), the agent's typing (adapter, one → two), and a message
/// (the chat events' channel, two → one).
async fn everything_crosses(a1: &Browser, a2: &Browser, two: &TestApp, n: u32) -> Round {
    // A new visitor each round (a first socket: `user_online` is sent).
    let v = &two.visitor().await;
    let mut admin_one = Socket::admin(a1).await;
    let mut admin_two = Socket::admin(a2).await;
    let mut visitor = Socket::visitor(v, None).await;
    let tid = v.thread_id().await;
    let online = admin_one.next("user_online").await;
    assert_eq!(online["user_id"], json!(tid), "{online}");

    ok(&visitor.emit("typing", json!({})).await);
    for a in [&mut admin_one, &mut admin_two] {
        let t = a.next("typing").await;
        assert_eq!(t["thread_id"], json!(tid), "{t}");
        assert_eq!(t["sender_type"], json!("visitor"), "{t}");
    }
    ok(&admin_one.emit("typing", json!({"thread_id": tid})).await);
    let t = visitor.next("typing").await;
    assert_eq!(t["sender_type"], json!("admin"), "{t}");

    let text = format!("round {n}");
    ok(&visitor
        .emit("message_from_visitor", json!({"text": text}))
        .await);
    loop {
        let m = admin_one.next("message_from_visitor").await;
        if m["content_text"] == json!(text) {
            break;
        }
    }
    Round {
        admin_one,
        admin_two,
        visitor,
    }
}

/// Every socket of the round is told to go (the server's disconnect).
async fn all_cut_off(r: Round) {
    for mut s in [r.admin_one, r.admin_two, r.visitor] {
        s.next("disconnect").await;
    }
}

async fn subscriptions_come_back_after_redis_drops_and_restarts(backend: Backend) {
    let mut redis = OwnRedis::start();
    let db = KeptDb::new(backend).await;
    let url = redis.url();
    let opts = || {
        Opts::new(backend)
            .db(&db)
            .env("REDIS_URL", &url)
            .env("REDIS_PREFIX", "recovery")
    };
    let mut one = spawn(opts()).await;
    let mut two = spawn(opts()).await;
    let (a1, a2) = (one.admin().await, two.admin().await);
    let channels = redis.channels().len();
    assert!(channels > 2, "{:?}", redis.channels());

    let round = everything_crosses(&a1, &a2, &two, 1).await;

    // Redis drops every subscriber's connection.
    let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert!(killed.trim().parse::<u32>().unwrap_or(0) >= 2, "{killed}");
    all_cut_off(round).await;
    for app in [&one, &two] {
        ready_becomes(app, 200).await;
    }
    all_subscribed(&redis, channels).await;
    let round = everything_crosses(&a1, &a2, &two, 2).await;

    // Redis goes away: not ready, with the reason; then it comes back.
    redis.stop();
    all_cut_off(round).await;
    for app in [&one, &two] {
        let body = ready_becomes(app, 503).await;
        assert_eq!(body["status"], json!("not_ready"), "{body}");
        assert!(
            body["reason"].as_str().unwrap_or("").starts_with("redis"),
            "{body}"
        );
    }
    redis.restart();
    for app in [&one, &two] {
        let body = ready_becomes(app, 200).await;
        assert!(body.get("reason").is_none(), "{body}");
    }
    all_subscribed(&redis, channels).await;
    let round = everything_crosses(&a1, &a2, &two, 3).await;
    drop(round);
    one.finish().await;
    two.finish().await;
}
