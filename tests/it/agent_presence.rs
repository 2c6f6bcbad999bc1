//! Collision warnings (issue 22 item 5): agents see which other agents
//! view or type in a thread (`viewing_thread`, the admin's `typing`,
//! `agent_presence` / `agent_presence_state` to admin sockets only); it
//! clears when the agent leaves, disconnects or stops typing; visitors get
//! none of it; bad input is refused; and across two instances sharing
//! Redis an agent on one is seen by an agent on the other. Real Socket.IO
//! clients; every test on SQLite and Postgres.

use serde_json::{Value, json};

use crate::agents::{add, login};
use crate::common::{Backend, Browser, KeptDb, Opts, TestApp, socket::Socket, spawn};

on_both_backends!(
    an_agent_sees_another_viewing_and_typing,
    it_clears_on_disconnect_and_visitors_get_nothing,
    bad_input_is_refused,
    across_two_instances_over_redis,
);

/// The next `agent_presence` of `thread` on `s` (others passed over).
async fn presence_of(s: &mut Socket, thread: &str) -> Value {
    loop {
        let p = s.next("agent_presence").await;
        if p["thread_id"] == json!(thread) {
            return p;
        }
    }
}

/// The first `agent_presence` of `thread` on `s` whose agents are `want`
/// (earlier ones passed over).
async fn presence_until(s: &mut Socket, thread: &str, want: &[(i64, &str, bool)]) -> Value {
    let want: Vec<(i64, String, bool)> = want
        .iter()
        .map(|(i, n, t)| (*i, (*n).to_owned(), *t))
        .collect();
    loop {
        let p = presence_of(s, thread).await;
        if agents(&p) == want {
            return p;
        }
    }
}

/// `[(id, name, typing)]` of an `agent_presence` payload.
fn agents(p: &Value) -> Vec<(i64, String, bool)> {
    p["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["name"].as_str().unwrap().to_owned(),
                a["typing"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// An owner, agents `ayse` and `bob` logged in, and a visitor's thread.
struct Team {
    ayse: (i64, Browser),
    bob: (i64, Browser),
    visitor: Browser,
    thread: String,
}

async fn team(app: &mut TestApp) -> Team {
    let owner = app.admin().await;
    let ayse = add(&owner, "ayse", "agent").await;
    let bob = add(&owner, "bob", "agent").await;
    let visitor = app.visitor().await;
    let (s, r) = visitor.send(None, "hello").await;
    assert_eq!(s, 200, "{r}");
    let thread = visitor.thread_id().await;
    Team {
        ayse: (ayse, login(app, "ayse", crate::agents::PASSWORD).await),
        bob: (bob, login(app, "bob", crate::agents::PASSWORD).await),
        visitor,
        thread,
    }
}

fn ok(ack: &Value) {
    assert_eq!(ack["success"], json!(true), "{ack}");
}

async fn an_agent_sees_another_viewing_and_typing(backend: Backend) {
    let mut app = spawn(backend).await;
    let t = team(&mut app).await;
    let tid = t.thread.as_str();
    let mut a = Socket::admin(&t.ayse.1).await;
    let mut b = Socket::admin(&t.bob.1).await;
    let state = b.next("agent_presence_state").await;
    assert_eq!(state["agent_id"], json!(t.bob.0), "{state}");
    assert_eq!(state["threads"], json!([]), "{state}");

    let ack = a.emit("viewing_thread", json!({"thread_id": tid})).await;
    ok(&ack);
    assert_eq!(ack["thread_id"], json!(tid));
    let p = presence_of(&mut b, tid).await;
    assert_eq!(agents(&p), vec![(t.ayse.0, "ayse name".into(), false)]);

    // The admin's typing (what the panel sends to the visitor) marks her typing.
    let mut v = Socket::visitor(&t.visitor, None).await;
    ok(&a.emit("typing", json!({"thread_id": tid})).await);
    let p = presence_of(&mut b, tid).await;
    assert_eq!(agents(&p), vec![(t.ayse.0, "ayse name".into(), true)]);
    // The visitor still gets exactly what it got before.
    assert_eq!(
        v.next("typing").await,
        json!({"thread_id": tid, "sender_type": "admin"})
    );
    ok(&a.emit("stop_typing", json!({"thread_id": tid})).await);
    presence_until(&mut b, tid, &[(t.ayse.0, "ayse name", false)]).await;

    // Typing without a stop ends by itself (TYPING_FOR, 6 s).
    ok(&a.emit("typing", json!({"thread_id": tid})).await);
    presence_until(&mut b, tid, &[(t.ayse.0, "ayse name", true)]).await;
    presence_until(&mut b, tid, &[(t.ayse.0, "ayse name", false)]).await;

    // Both agents view it: each sees both (the panel leaves itself out).
    ok(&b.emit("viewing_thread", json!({"thread_id": tid})).await);
    let both = [(t.ayse.0, "ayse name", false), (t.bob.0, "bob name", false)];
    presence_until(&mut a, tid, &both).await;

    // A new admin socket gets the current state at once.
    let mut b2 = Socket::admin(&t.bob.1).await;
    let state = b2.next("agent_presence_state").await;
    assert_eq!(state["threads"][0]["thread_id"], json!(tid), "{state}");
    assert_eq!(state["threads"][0]["agents"].as_array().unwrap().len(), 2);

    // Leaving (`null`) and moving to another thread clear it.
    ok(&b.emit("viewing_thread", json!({"thread_id": null})).await);
    presence_until(&mut a, tid, &[(t.ayse.0, "ayse name", false)]).await;
    ok(&a
        .emit("viewing_thread", json!({"thread_id": "other-thread"}))
        .await);
    presence_until(&mut b, tid, &[]).await;
    let p = presence_of(&mut b, "other-thread").await;
    assert_eq!(agents(&p), vec![(t.ayse.0, "ayse name".into(), false)]);
    for (name, _) in v.drain() {
        assert!(!name.starts_with("agent_presence"), "visitor got {name}");
    }
    app.finish().await;
}

async fn it_clears_on_disconnect_and_visitors_get_nothing(backend: Backend) {
    let mut app = spawn(backend).await;
    let t = team(&mut app).await;
    let tid = t.thread.as_str();
    let mut v = Socket::visitor(&t.visitor, None).await;
    let mut a = Socket::admin(&t.ayse.1).await;
    let mut b = Socket::admin(&t.bob.1).await;
    ok(&a.emit("viewing_thread", json!({"thread_id": tid})).await);
    ok(&a.emit("typing", json!({"thread_id": tid})).await);
    presence_until(&mut b, tid, &[(t.ayse.0, "ayse name", true)]).await;
    a.close().await;
    presence_until(&mut b, tid, &[]).await;

    // A visitor may not send it, and never hears of the agents.
    let ack = v.emit("viewing_thread", json!({"thread_id": tid})).await;
    assert_eq!(ack["code"], json!("FORBIDDEN"), "{ack}");
    ok(&v.emit("typing", json!({"thread_id": tid})).await);
    // A round trip after everything above: the visitor's queue is complete.
    ok(&v.emit("join_thread", json!({"thread_id": tid})).await);
    let got = v.drain();
    assert!(
        got.iter().all(|(n, _)| !n.starts_with("agent_presence")),
        "{got:?}"
    );
    // Its own typing goes to the admins and is not an agent's.
    assert!(!b.drain().iter().any(
        |(n, p)| n == "agent_presence" && p["agents"].as_array().is_some_and(|a| !a.is_empty())
    ));
    app.finish().await;
}

async fn bad_input_is_refused(backend: Backend) {
    let mut app = spawn(backend).await;
    let t = team(&mut app).await;
    let mut a = Socket::admin(&t.ayse.1).await;
    let mut b = Socket::admin(&t.bob.1).await;
    for bad in [
        json!({"thread_id": "x".repeat(65)}),
        json!({"thread_id": ""}),
        json!({"thread_id": 5}),
        json!("a string"),
    ] {
        let ack = a.emit("viewing_thread", bad.clone()).await;
        assert_eq!(ack["success"], json!(false), "{bad} → {ack}");
        assert_eq!(ack["code"], json!("VALIDATION_ERROR"), "{bad} → {ack}");
    }
    // Nothing was recorded: the first change B sees is the valid one, and
    // one socket holds one thread however often it moves.
    for i in 0..50 {
        ok(&a
            .emit("viewing_thread", json!({"thread_id": format!("t{i}")}))
            .await);
    }
    let mut last = None;
    while last.is_none() {
        let p = b.next("agent_presence").await;
        assert_ne!(p["thread_id"], json!(""), "{p}");
        if p["thread_id"] == json!("t49") {
            last = Some(p);
        }
    }
    let mut b2 = Socket::admin(&t.bob.1).await;
    let state = b2.next("agent_presence_state").await;
    assert_eq!(
        state["threads"],
        json!([{"thread_id": "t49", "agents": [{"id": t.ayse.0, "name": "ayse name", "typing": false}]}])
    );
    app.finish().await;
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn across_two_instances_over_redis(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let prefix = format!("sohbet-test-{}", uuid::Uuid::new_v4().simple());
    let opts = || {
        Opts::new(backend)
            .db(&db)
            .env("REDIS_URL", REDIS_URL)
            .env("REDIS_PREFIX", &prefix)
    };
    let mut one = spawn(opts()).await;
    let mut two = spawn(opts()).await;
    let t = team(&mut one).await;
    let tid = t.thread.as_str();
    let bob_there = login(&mut two, "bob", crate::agents::PASSWORD).await;
    let mut v = Socket::visitor(&two.visitor().await, None).await;
    let mut v_one = Socket::visitor(&t.visitor, None).await;
    let mut a = Socket::admin(&t.ayse.1).await;
    let mut b = Socket::admin(&bob_there).await;
    b.next("agent_presence_state").await;

    ok(&a.emit("viewing_thread", json!({"thread_id": tid})).await);
    let p = presence_of(&mut b, tid).await;
    assert_eq!(agents(&p), vec![(t.ayse.0, "ayse name".into(), false)]);
    ok(&a.emit("typing", json!({"thread_id": tid})).await);
    presence_until(&mut b, tid, &[(t.ayse.0, "ayse name", true)]).await;

    // A third instance started now learns it without waiting for a
    // heartbeat (it says hello, the others answer).
    let mut three = spawn(opts()).await;
    let bob_three = login(&mut three, "bob", crate::agents::PASSWORD).await;
    let mut c = Socket::admin(&bob_three).await;
    let state = c.next("agent_presence_state").await;
    if state["threads"] == json!([]) {
        let p = presence_of(&mut c, tid).await;
        assert_eq!(agents(&p)[0].0, t.ayse.0);
    } else {
        assert_eq!(state["threads"][0]["thread_id"], json!(tid), "{state}");
    }

    // She closes the panel on instance one: gone on instance two.
    a.close().await;
    presence_until(&mut b, tid, &[]).await;
    // The visitors (one on each instance) heard nothing of it.
    for v in [&mut v, &mut v_one] {
        ok(&v.emit("typing", json!({})).await);
        let got = v.drain();
        assert!(
            got.iter().all(|(n, _)| !n.starts_with("agent_presence")),
            "{got:?}"
        );
    }
    three.finish().await;
    two.finish().await;
    one.finish().await;
}
