//! Assignment (issue 22 item 4), on SQLite and Postgres through the real
//! server: take (200, then 409 naming the assignee; two simultaneous takes
//! have one winner), assign / unassign with their events, the list's
//! `assignee` filter, `thread_updated` with the assignee to admin sockets
//! only, round robin over active agents skipping a disabled one, bad input
//! that changes nothing, and Telegram (Take button, `/take`, the topic
//! renamed after the assignee).

use crate::agents::{PASSWORD, add, login, sql};
use crate::common::{
    Backend, Browser, KeptDb, Opts, TestApp, assert_error,
    bridge::{self, WAIT, press_as},
    socket::Socket,
    spawn,
    telegram::{Incoming, TelegramDouble, forum::FORUM_CHAT},
};
use serde_json::{Value, json};
use sohbet::chat::display_name_for;

on_both_backends!(
    a_take_wins_once_and_names_the_assignee,
    assign_unassign_record_events_and_filter_the_list,
    bad_input_changes_nothing,
    thread_updated_reaches_admins_and_not_visitors,
    round_robin_skips_a_disabled_agent,
    telegram_take_needs_a_linked_member,
    a_take_renames_the_topic,
);

/// The thread's `assign` events: their details.
async fn assign_events(admin: &Browser, tid: &str) -> Vec<String> {
    let (s, b) = admin.get(&format!("/api/threads/{tid}/events")).await;
    assert_eq!(s, 200, "{b}");
    b["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "assign")
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The ids listed by `GET /api/threads?{query}`.
async fn ids(admin: &Browser, query: &str) -> Vec<String> {
    let (s, b) = admin.get(&format!("/api/threads?{query}")).await;
    assert_eq!(s, 200, "{b}");
    let mut v: Vec<String> = b["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// A new visitor thread with one message.
async fn new_thread(app: &TestApp) -> String {
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    tid
}

/// The owner (`admin`) and a second agent `ayse`, both logged in; her id.
async fn two_agents(app: &mut TestApp) -> (Browser, Browser, i64, i64) {
    let owner = app.admin().await;
    let ayse_id = add(&owner, "ayse", "agent").await;
    let ayse = login(app, "ayse", PASSWORD).await;
    let (_, agents) = owner.get("/api/agents").await;
    let owner_id = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "admin")
        .and_then(|a| a["id"].as_i64())
        .expect("owner id");
    (owner, ayse, owner_id, ayse_id)
}

async fn a_take_wins_once_and_names_the_assignee(backend: Backend) {
    let mut app = spawn(backend).await;
    let (owner, ayse, owner_id, _) = two_agents(&mut app).await;
    let tid = new_thread(&app).await;
    assert_eq!(owner.listed_thread(&tid).await["assignee"], Value::Null);

    let (s, b) = owner
        .post(&format!("/api/threads/{tid}/take"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["thread"]["assignee"],
        json!({"id": owner_id, "name": "admin"})
    );
    assert_eq!(b["thread"]["change"], "assign");
    // A second agent's take is refused, naming the first; nothing changes.
    let (s, b) = ayse
        .post(&format!("/api/threads/{tid}/take"), json!({}))
        .await;
    assert_error(s, &b, 409, "CONFLICT");
    assert!(b["error"].as_str().unwrap().contains("admin"), "{b}");
    assert_eq!(b["assignee"], json!({"id": owner_id, "name": "admin"}));
    // Taking one's own thread again answers 200 and records nothing new.
    let (s, _) = owner
        .post(&format!("/api/threads/{tid}/take"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(assign_events(&owner, &tid).await, ["admin"]);
    assert_eq!(
        ayse.listed_thread(&tid).await["assignee"]["id"],
        json!(owner_id)
    );

    // Two simultaneous takes of a new thread: exactly one winner.
    let tid = new_thread(&app).await;
    let path = format!("/api/threads/{tid}/take");
    let ((s1, b1), (s2, b2)) =
        tokio::join!(owner.post(&path, json!({})), ayse.post(&path, json!({})));
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    let winner = if s1 == 200 { &b1 } else { &b2 };
    let loser = if s1 == 200 { &b2 } else { &b1 };
    assert_eq!(loser["assignee"], winner["thread"]["assignee"]);
    assert_eq!(assign_events(&owner, &tid).await.len(), 1);
    assert_eq!(
        owner.listed_thread(&tid).await["assignee"],
        winner["thread"]["assignee"]
    );
    app.finish().await;
}

async fn assign_unassign_record_events_and_filter_the_list(backend: Backend) {
    let mut app = spawn(backend).await;
    let (owner, ayse, owner_id, ayse_id) = two_agents(&mut app).await;
    let t1 = new_thread(&app).await;
    let t2 = new_thread(&app).await;
    let t3 = new_thread(&app).await;

    let (s, b) = owner
        .post(
            &format!("/api/threads/{t1}/assign"),
            json!({"agent_id": ayse_id}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["thread"]["assignee"],
        json!({"id": ayse_id, "name": "ayse name"})
    );
    assert_eq!(b["thread"]["by"]["name"], "admin");
    let (s, _) = owner
        .post(&format!("/api/threads/{t2}/take"), json!({}))
        .await;
    assert_eq!(s, 200);

    let mut all = vec![t1.clone(), t2.clone(), t3.clone()];
    all.sort();
    assert_eq!(ids(&ayse, "assignee=me").await, [t1.as_str()]);
    assert_eq!(ids(&owner, "assignee=me").await, [t2.as_str()]);
    assert_eq!(ids(&owner, "assignee=unassigned").await, [t3.as_str()]);
    assert_eq!(ids(&owner, "assignee=all").await, all);
    assert_eq!(
        ids(&owner, "assignee=me&status=closed").await,
        Vec::<String>::new()
    );
    assert_eq!(ids(&owner, "assignee=me&status=open").await, [t2.as_str()]);

    // Reassign and unassign: each recorded, naming the assignee.
    let (s, b) = ayse
        .post(
            &format!("/api/threads/{t1}/assign"),
            json!({"agent_id": owner_id}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = ayse
        .post(
            &format!("/api/threads/{t1}/assign"),
            json!({"agent_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["thread"]["assignee"], Value::Null);
    // Unassigning an unassigned thread records nothing.
    let (s, _) = ayse
        .post(
            &format!("/api/threads/{t1}/assign"),
            json!({"agent_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        assign_events(&owner, &t1).await,
        ["ayse name", "admin", "unassigned"]
    );
    assert_eq!(ids(&ayse, "assignee=me").await, Vec::<String>::new());
    let (s, b) = owner.get(&format!("/api/threads/{t1}/events")).await;
    assert_eq!(s, 200);
    let last = b["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["by"], json!({"id": ayse_id, "name": "ayse name"}));
    app.finish().await;
}

async fn bad_input_changes_nothing(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = spawn(Opts::new(backend).db(&db)).await;
    let (owner, _ayse, owner_id, ayse_id) = two_agents(&mut app).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    let (s, _) = owner
        .post(&format!("/api/threads/{tid}/take"), json!({}))
        .await;
    assert_eq!(s, 200);

    let unknown = "00000000-0000-4000-8000-000000000000";
    let (s, b) = owner
        .post(&format!("/api/threads/{unknown}/take"), json!({}))
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = owner
        .post(
            &format!("/api/threads/{unknown}/assign"),
            json!({"agent_id": ayse_id}),
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = owner
        .post(
            &format!("/api/threads/{tid}/assign"),
            json!({"agent_id": 999_999}),
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    for body in [
        json!({}),
        json!({"agent_id": "2"}),
        json!({"agent_id": 1.5}),
    ] {
        let (s, b) = owner
            .post(&format!("/api/threads/{tid}/assign"), body)
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
    }
    let (s, b) = owner.post("/api/threads/not a uuid/take", json!({})).await;
    assert!(s == 400 || s == 404, "{s} {b}");
    let (s, b) = owner.get("/api/threads?assignee=someone").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // A disabled agent cannot be given threads.
    let (s, _) = owner
        .post(&format!("/api/agents/{ayse_id}/disable"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, b) = owner
        .post(
            &format!("/api/threads/{tid}/assign"),
            json!({"agent_id": ayse_id}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // A visitor (its own thread too) is no agent.
    let (s, b) = v.post(&format!("/api/threads/{tid}/take"), json!({})).await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    let (s, b) = v
        .post(
            &format!("/api/threads/{tid}/assign"),
            json!({"agent_id": null}),
        )
        .await;
    assert_error(s, &b, 401, "UNAUTHORIZED");

    assert_eq!(assign_events(&owner, &tid).await, ["admin"]);
    assert_eq!(
        owner.listed_thread(&tid).await["assignee"]["id"],
        json!(owner_id)
    );
    app.finish().await;
}

async fn thread_updated_reaches_admins_and_not_visitors(backend: Backend) {
    let mut app = spawn(backend).await;
    let (owner, ayse, owner_id, ayse_id) = two_agents(&mut app).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    let mut admin_socket = Socket::admin(&owner).await;
    let mut ayse_socket = Socket::admin(&ayse).await;
    let mut visitor_socket = Socket::visitor(&v, None).await;

    let ack = ayse_socket
        .emit("take_thread", json!({"thread_id": tid}))
        .await;
    assert_eq!(ack["success"], true, "{ack}");
    assert_eq!(ack["thread"]["assignee"]["id"], json!(ayse_id));
    let u = admin_socket.next("thread_updated").await;
    assert_eq!(u["change"], "assign", "{u}");
    assert_eq!(u["assignee"], json!({"id": ayse_id, "name": "ayse name"}));
    assert_eq!(u["by"]["id"], json!(ayse_id));
    // The owner's take over the socket is refused, naming Ayşe.
    let ack = admin_socket
        .emit("take_thread", json!({"thread_id": tid}))
        .await;
    assert_eq!(ack["success"], false, "{ack}");
    assert_eq!(ack["code"], "CONFLICT");
    assert_eq!(ack["assignee"]["id"], json!(ayse_id));
    let ack = admin_socket
        .emit(
            "assign_thread",
            json!({"thread_id": tid, "agent_id": owner_id}),
        )
        .await;
    assert_eq!(ack["success"], true, "{ack}");
    let u = ayse_socket.next("thread_updated").await;
    let u = if u["assignee"]["id"] == json!(ayse_id) {
        ayse_socket.next("thread_updated").await
    } else {
        u
    };
    assert_eq!(u["assignee"]["id"], json!(owner_id), "{u}");
    // A visitor's socket cannot assign, and never hears of it.
    let ack = visitor_socket
        .emit("take_thread", json!({"thread_id": tid}))
        .await;
    assert_eq!(ack["success"], false, "{ack}");
    let ack = visitor_socket
        .emit("assign_thread", json!({"thread_id": tid, "agent_id": null}))
        .await;
    assert_eq!(ack["success"], false, "{ack}");
    // A message after the changes arrives; nothing about agents before it.
    let (s, _) = owner.send(Some(&tid), "hi").await;
    assert_eq!(s, 200);
    visitor_socket.next("message_to_visitor").await;
    for (event, data) in visitor_socket.drain() {
        assert_ne!(event, "thread_updated", "{data}");
        assert!(!data.to_string().contains("assignee"), "{event}: {data}");
    }
    assert_eq!(assign_events(&owner, &tid).await, ["ayse name", "admin"]);
    app.finish().await;
}

async fn round_robin_skips_a_disabled_agent(backend: Backend) {
    let mut app = spawn(Opts::new(backend).env("ASSIGNMENT", "round_robin")).await;
    let owner = app.admin().await;
    let b_id = add(&owner, "bora", "agent").await;
    let c_id = add(&owner, "cem", "agent").await;
    let bora = login(&mut app, "bora", PASSWORD).await;
    let cem = login(&mut app, "cem", PASSWORD).await;
    // Three agents were active on a panel socket (Cem's closed: he still
    // counts as active for 10 minutes); Cem is then disabled.
    let _s1 = Socket::admin(&owner).await;
    let _s2 = Socket::admin(&bora).await;
    drop(Socket::admin(&cem).await);
    let (s, _) = owner
        .post(&format!("/api/agents/{c_id}/disable"), json!({}))
        .await;
    assert_eq!(s, 200);

    let mut got = Vec::new();
    for _ in 0..4 {
        let tid = new_thread(&app).await;
        let deadline = std::time::Instant::now() + WAIT;
        let assignee = loop {
            let a = owner.listed_thread(&tid).await["assignee"].clone();
            if !a.is_null() {
                break a;
            }
            assert!(std::time::Instant::now() < deadline, "{tid} never assigned");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(assign_events(&owner, &tid).await.len(), 1);
        got.push(assignee["id"].as_i64().unwrap());
    }
    assert!(!got.contains(&c_id), "{got:?}");
    assert!(got.contains(&b_id), "{got:?}");
    // Strictly alternating between the two enabled agents.
    assert_ne!(got[0], got[1]);
    assert_eq!(got[0], got[2]);
    assert_eq!(got[1], got[3]);
    app.finish().await;
}

/// In a forum group: the first forward carries 🙋 Take; a member linked to
/// no agent is told to link (button and `/take`) and nothing changes; a
/// linked member takes with the button and with `/take` in the topic; a
/// second linked agent is told who has the thread.
async fn telegram_take_needs_a_linked_member(backend: Backend) {
    const AYSE_TG: i64 = 5_550_001;
    const BORA_TG: i64 = 5_550_002;
    const STRANGER_TG: i64 = 5_550_003;
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    let mut app = spawn(bridge::wired(backend, &tg, &[]).db(&db)).await;
    let owner = app.admin().await;
    let ayse_id = add(&owner, "ayse", "agent").await;
    let bora_id = add(&owner, "bora", "agent").await;
    for (id, user) in [(ayse_id, AYSE_TG), (bora_id, BORA_TG)] {
        sql(
            &db,
            &format!("UPDATE agents SET telegram_user_id = {user} WHERE id = {id}"),
        )
        .await;
    }
    // Two visitors, each with a topic and a first forward.
    let mut threads = Vec::new();
    for text in ["hello", "hi"] {
        let v = app.visitor().await;
        let tid = v.thread_id().await;
        let (s, r) = v.send(None, text).await;
        assert_eq!(s, 200, "{r}");
        let want = bridge::forward_text(&tid, text);
        let fwd = tg
            .wait_text_to(FORUM_CHAT, "the forward", WAIT, |t| t == want)
            .await;
        let topic: i64 = fwd
            .str_param("message_thread_id")
            .and_then(|t| t.parse().ok())
            .expect("a topic");
        let fid = fwd.message_id().expect("forward message id");
        threads.push((tid, topic, fid));
    }
    let (tid, topic, fid) = threads[0].clone();
    assert!(
        tg.button_data(fid).contains(&format!("tk:{tid}")),
        "{:?}",
        tg.button_data(fid)
    );

    // A member linked to no agent: told to link, nothing changes.
    let take = format!("tk:{tid}");
    assert_eq!(
        press_as(&tg, FORUM_CHAT, fid, &take, Some(STRANGER_TG)).await,
        "Link your Telegram account to take threads."
    );
    tg.push(
        Incoming::text(FORUM_CHAT, "/take")
            .in_topic(topic)
            .by_member(STRANGER_TG),
    );
    tg.wait_text_to(FORUM_CHAT, "link hint", WAIT, |t| {
        t == "Link your Telegram account to take threads."
    })
    .await;
    assert_eq!(owner.listed_thread(&tid).await["assignee"], Value::Null);
    assert!(assign_events(&owner, &tid).await.is_empty());

    // Ayşe takes it with the button.
    let answer = press_as(&tg, FORUM_CHAT, fid, &take, Some(AYSE_TG)).await;
    assert!(answer.starts_with("Assigned to you"), "{answer}");
    assert_eq!(
        owner.listed_thread(&tid).await["assignee"]["id"],
        json!(ayse_id)
    );
    assert_eq!(assign_events(&owner, &tid).await.len(), 1);
    // Bora is told who has it; nothing changes.
    let answer = press_as(&tg, FORUM_CHAT, fid, &take, Some(BORA_TG)).await;
    assert!(answer.contains("ayse"), "{answer}");
    assert!(!answer.starts_with("Assigned to you"), "{answer}");
    assert_eq!(
        owner.listed_thread(&tid).await["assignee"]["id"],
        json!(ayse_id)
    );

    // Bora takes the second thread with /take in its topic.
    let (t2, topic2, _) = threads[1].clone();
    tg.push(
        Incoming::text(FORUM_CHAT, "/take")
            .in_topic(topic2)
            .by_member(BORA_TG),
    );
    tg.wait_text_to(FORUM_CHAT, "taken", WAIT, |t| {
        t.starts_with("Assigned to you")
    })
    .await;
    assert_eq!(
        owner.listed_thread(&t2).await["assignee"]["id"],
        json!(bora_id)
    );
    app.finish().await;
}

async fn a_take_renames_the_topic(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let mut app = bridge::start(backend, &tg, &[]).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let name = display_name_for(&tid);
    let (s, _) = v.send(None, "hello").await;
    assert_eq!(s, 200);
    let names = || tg.topics().into_iter().map(|t| t.name).collect::<Vec<_>>();
    let deadline = std::time::Instant::now() + WAIT;
    while names().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no topic");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(names(), [name.as_str()]);
    let (s, b) = owner
        .post(&format!("/api/threads/{tid}/take"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    tg.wait_call("editForumTopic", WAIT, |c| c.is("editForumTopic") && c.ok())
        .await;
    assert_eq!(names(), [format!("{name} · admin")]);
    // The next forward keeps the name (no rename back).
    let (s, _) = v.send(None, "again").await;
    assert_eq!(s, 200);
    tg.wait_text_to(FORUM_CHAT, "second forward", WAIT, |t| t.contains("again"))
        .await;
    assert_eq!(names(), [format!("{name} · admin")]);
    // Unassigned: the plain name again.
    let (s, _) = owner
        .post(
            &format!("/api/threads/{tid}/assign"),
            json!({"agent_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    let deadline = std::time::Instant::now() + WAIT;
    while names() != [name.clone()] {
        assert!(std::time::Instant::now() < deadline, "{:?}", names());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.finish().await;
}
