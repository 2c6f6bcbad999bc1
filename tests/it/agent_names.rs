//! Agents' names and Telegram identity (issue 22 items 2 and 3): a Telegram
//! user links itself to an agent with a one-time code (`/link CODE` in the
//! group, `/start CODE` in a private chat); a linked member's answers are
//! stored with its agent and the visitor sees its name; an unlinked member
//! acts as Support (with one hint) or, with `TELEGRAM_GROUP_MEMBERS=linked`,
//! is refused; a disabled agent's Telegram actions do nothing; panel answers
//! are mirrored under the agent's name; `AGENT_NAMES_VISIBLE=false` hides
//! names from visitors only; rows without an agent read as
//! `ADMIN_DISPLAY_NAME`. Every test runs on SQLite and Postgres.

use std::time::Duration;

use serde_json::{Value, json};

use crate::agents::{patch, six_digits, sql};
use crate::common::{
    Backend, Browser, KeptDb, TestApp,
    bridge::{self, WAIT, wait_messages},
    socket::Socket,
    spawn,
    telegram::{ADMIN_CHAT, Incoming, TelegramDouble, forum::FORUM_CHAT},
};
use sohbet::auth::otp_delivery::OtpDelivery;

on_both_backends!(
    a_member_links_in_the_group_and_answers_under_its_name,
    a_private_start_links_and_login_codes_go_there,
    bad_expired_and_used_codes_change_nothing,
    an_unlinked_member_acts_as_support_with_one_hint,
    linked_mode_refuses_unlinked_members,
    a_disabled_agents_telegram_actions_do_nothing,
    panel_answers_are_mirrored_under_the_agents_name,
    hidden_names_reach_visitors_as_support_only,
    rows_without_an_agent_read_as_the_support_name,
);

const PASSWORD: &str = "a long enough password";
/// Ayşe's Telegram user id.
const AYSE_TG: i64 = 9_001;
/// A member who never linked.
const STRANGER_TG: i64 = 9_002;

/// Adds agent `ayse` ("Ayşe Yılmaz") as the owner `owner`; returns its id.
async fn add_ayse(owner: &Browser) -> i64 {
    let (s, r) = owner
        .post(
            "/api/agents",
            json!({"username": "ayse", "display_name": "Ayşe Yılmaz", "role": "agent", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    r["agent"]["id"].as_i64().expect("id")
}

/// A link code for agent `id` (`me` or a number) as `b` asks for it.
async fn link_code(b: &Browser, id: &str) -> String {
    let (s, r) = b
        .post(&format!("/api/agents/{id}/telegram-link"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let code = r["code"].as_str().expect("code").to_owned();
    assert_eq!(
        r["url"],
        json!(format!("https://t.me/sohbet_bot?start={code}"))
    );
    assert_eq!(r["expires_in_minutes"], json!(10));
    code
}

/// The Telegram user agent `login` is linked to.
async fn linked_user(owner: &Browser, login: &str) -> Option<i64> {
    let (s, r) = owner.get("/api/agents").await;
    assert_eq!(s, 200, "{r}");
    r["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["username"] == json!(login))
        .and_then(|a| a["telegram_user_id"].as_i64())
}

/// Sends `text` as a member and waits for the bot's answer in `chat`.
async fn say(tg: &TelegramDouble, msg: Incoming, chat: i64, want: &str) -> String {
    let want = want.to_owned();
    tg.push(msg);
    tg.wait_text_to(chat, &want.clone(), WAIT, move |t| t.contains(&want))
        .await
        .text()
        .unwrap_or_default()
}

/// A forum app with the owner logged in, a visitor's thread and its topic.
async fn forum(backend: Backend, extra: &[(&str, &str)]) -> Forum {
    let tg = TelegramDouble::start_forum().await;
    let mut app = bridge::start(backend, &tg, extra).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v.send(None, "hello").await;
    assert_eq!(s, 200, "{r}");
    let fwd = tg
        .wait_text_to(FORUM_CHAT, "the forward", WAIT, |t| {
            t == bridge::forward_text(&tid, "hello")
        })
        .await;
    let topic = fwd
        .str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
        .expect("a topic");
    Forum {
        tg,
        app,
        owner,
        v,
        tid,
        topic,
    }
}

struct Forum {
    tg: TelegramDouble,
    app: TestApp,
    owner: Browser,
    v: Browser,
    tid: String,
    topic: i64,
}

fn admin_msgs(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter()
        .filter(|m| m["sender_type"] == json!("admin"))
        .collect()
}

async fn a_member_links_in_the_group_and_answers_under_its_name(backend: Backend) {
    let f = forum(backend, &[]).await;
    let id = add_ayse(&f.owner).await;
    let code = link_code(&f.owner, &id.to_string()).await;
    // In the General topic of the group.
    let text = say(
        &f.tg,
        Incoming::text(FORUM_CHAT, &format!("/link {code}")).by_member(AYSE_TG),
        FORUM_CHAT,
        "Linked to",
    )
    .await;
    assert_eq!(text, "Linked to ayse");
    assert_eq!(linked_user(&f.owner, "ayse").await, Some(AYSE_TG));

    // Her answer in the visitor's topic: stored with her, named to the visitor.
    let mut vs = Socket::visitor(&f.v, None).await;
    f.tg.push(
        Incoming::text(FORUM_CHAT, "hi from Ayşe")
            .in_topic(f.topic)
            .by_member(AYSE_TG),
    );
    let live = vs.next("message_to_visitor").await;
    assert_eq!(live["content_text"], json!("hi from Ayşe"), "{live}");
    assert_eq!(live["sender_name"], json!("Ayşe Yılmaz"), "{live}");
    assert_eq!(live["agent_id"], json!(id), "{live}");
    let history = f.v.messages(&f.tid, "").await;
    let answers = admin_msgs(&history);
    assert_eq!(answers.len(), 1, "{history:?}");
    assert_eq!(answers[0]["sender_name"], json!("Ayşe Yılmaz"));
    assert_eq!(
        history[0]["sender_name"],
        Value::Null,
        "a visitor's message"
    );
    let (_, r) = f.owner.get(&format!("/api/messages/{}", f.tid)).await;
    assert_eq!(
        admin_msgs(r["messages"].as_array().unwrap())[0]["agent_id"],
        json!(id)
    );

    // Her /close is recorded as hers.
    say(
        &f.tg,
        Incoming::text(FORUM_CHAT, "/close")
            .in_topic(f.topic)
            .by_member(AYSE_TG),
        FORUM_CHAT,
        "Conversation closed.",
    )
    .await;
    let (_, ev) = f.owner.get(&format!("/api/threads/{}/events", f.tid)).await;
    let ev = &ev["events"][0];
    assert_eq!(
        (&ev["action"], &ev["by"]["name"]),
        (&json!("close"), &json!("Ayşe Yılmaz")),
        "{ev}"
    );
    assert_eq!(ev["by"]["id"], json!(id), "{ev}");
    // No hint was ever sent to a linked member.
    assert!(!f.tg.texts_to(FORUM_CHAT).iter().any(|t| t.contains("Tip:")));
    f.app.finish().await;
}

async fn a_private_start_links_and_login_codes_go_there(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    let opts = bridge::wired(backend, &tg, &[])
        .db(&db)
        .otp(OtpDelivery::Log);
    let app = spawn(opts).await;
    // The owner's code goes to the admin group; log in with it.
    let owner = app.visitor().await;
    assert_eq!(owner.login("admin", "admin123").await.0, 200);
    let call = tg
        .wait_text_to(FORUM_CHAT, "the owner's code", WAIT, |t| {
            t.contains("Login code for admin:")
        })
        .await;
    let code = six_digits(&call.text().unwrap()).unwrap();
    let (s, r) = owner.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    add_ayse(&owner).await;

    // Ayşe logs in (her code goes to the group: not linked yet) and asks
    // for her own link; she taps it: `/start CODE` in her private chat.
    let ayse = app.visitor().await;
    assert_eq!(ayse.login("ayse", PASSWORD).await.0, 200);
    let call = tg
        .wait_text_to(FORUM_CHAT, "Ayşe's first code", WAIT, |t| {
            t.contains("Login code for ayse:")
        })
        .await;
    let code = six_digits(&call.text().unwrap()).unwrap();
    assert_eq!(
        ayse.post("/admin/verify-otp", json!({"otp": code})).await.0,
        200
    );
    let link = link_code(&ayse, "me").await;
    let text = say(
        &tg,
        Incoming::text(AYSE_TG, &format!("/start {link}")),
        AYSE_TG,
        "Linked",
    )
    .await;
    assert_eq!(text, "Linked to ayse");
    assert_eq!(linked_user(&owner, "ayse").await, Some(AYSE_TG));
    // Anything else in a private chat is still ignored.
    tg.push(Incoming::text(AYSE_TG, "hello bot"));
    let (last, _) = tg.push(Incoming::text(AYSE_TG, "/threads"));
    tg.wait_consumed(last, WAIT).await;
    assert_eq!(tg.texts_to(AYSE_TG), ["Linked to ayse"]);

    // Her next login code: her private chat only.
    let again = app.visitor().await;
    assert_eq!(again.login("ayse", PASSWORD).await.0, 200);
    let call = tg
        .wait_text_to(
            AYSE_TG,
            "Ayşe's private code",
            Duration::from_secs(10),
            |t| t.contains("Login code for ayse:"),
        )
        .await;
    let code = six_digits(&call.text().unwrap()).unwrap();
    let (s, r) = again.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    app.finish().await;
}

async fn bad_expired_and_used_codes_change_nothing(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    let mut app = spawn(bridge::wired(backend, &tg, &[]).db(&db)).await;
    let owner = app.admin().await;
    let id = add_ayse(&owner).await;
    let group = |text: &str, user: i64| Incoming::text(FORUM_CHAT, text).by_member(user);

    // Not a code at all.
    let t = say(
        &tg,
        group("/link nonsense", STRANGER_TG),
        FORUM_CHAT,
        "not a link code",
    )
    .await;
    assert!(t.starts_with("That is not a link code"), "{t}");
    // A well-formed code nobody issued.
    let t = say(
        &tg,
        group("/link abcdefghjkmn", STRANGER_TG),
        FORUM_CHAT,
        "unknown, used",
    )
    .await;
    assert!(
        t.starts_with("This code is unknown, used or expired"),
        "{t}"
    );
    assert_eq!(linked_user(&owner, "ayse").await, None);

    // An expired code.
    let code = link_code(&owner, &id.to_string()).await;
    sql(
        &db,
        "UPDATE telegram_link_codes SET expires_at = '2000-01-01T00:00:00+00:00'",
    )
    .await;
    let t = say(
        &tg,
        group(&format!("/link {code}"), AYSE_TG),
        FORUM_CHAT,
        "unknown, used",
    )
    .await;
    assert!(t.starts_with("This code is unknown"), "{t}");
    assert_eq!(linked_user(&owner, "ayse").await, None);

    // A used code: the second user gets nothing, the first keeps the link.
    let code = link_code(&owner, &id.to_string()).await;
    let t = say(
        &tg,
        group(&format!("/link {code}"), AYSE_TG),
        FORUM_CHAT,
        "Linked",
    )
    .await;
    assert_eq!(t, "Linked to ayse");
    tg.push(group(&format!("/link {code}"), STRANGER_TG));
    tg.wait_for("the third refusal", WAIT, |calls| {
        let n = calls
            .iter()
            .filter(|c| {
                c.text()
                    .is_some_and(|t| t.starts_with("This code is unknown"))
            })
            .count();
        (n == 3).then_some(())
    })
    .await;
    assert_eq!(linked_user(&owner, "ayse").await, Some(AYSE_TG));

    // Tries are bounded per Telegram user (5 at once): the sixth quick try
    // is refused before the code is even looked at (a valid one here).
    for _ in 0..2 {
        tg.push(group("/link abcdefghjkmn", STRANGER_TG));
    }
    let code = link_code(&owner, &id.to_string()).await;
    let t = say(
        &tg,
        group(&format!("/link {code}"), STRANGER_TG),
        FORUM_CHAT,
        "Too many tries",
    )
    .await;
    assert!(t.starts_with("Too many tries"), "{t}");
    assert_eq!(linked_user(&owner, "ayse").await, Some(AYSE_TG));
    // Another agent may not ask for Ayşe's code; a code for an unknown one: 404.
    let (s, _) = owner
        .post("/api/agents/999999/telegram-link", json!({}))
        .await;
    assert_eq!(s, 404);
    app.finish().await;
}

async fn an_unlinked_member_acts_as_support_with_one_hint(backend: Backend) {
    let f = forum(backend, &[("ADMIN_DISPLAY_NAME", "Destek")]).await;
    for text in ["first answer", "second answer"] {
        f.tg.push(
            Incoming::text(FORUM_CHAT, text)
                .in_topic(f.topic)
                .by_member(STRANGER_TG),
        );
        wait_messages(&f.v, &f.tid, text, |m| bridge::has_admin_text(m, text)).await;
    }
    let history = f.v.messages(&f.tid, "").await;
    for m in admin_msgs(&history) {
        assert_eq!(m["sender_name"], json!("Destek"), "{m}");
        assert_eq!(m["agent_id"], Value::Null, "{m}");
    }
    let (_, r) = f.owner.get(&format!("/api/messages/{}", f.tid)).await;
    for m in admin_msgs(r["messages"].as_array().unwrap()) {
        assert_eq!(m["sender_name"], json!("Destek"), "{m}");
    }
    // A /note too; still one hint in all.
    say(
        &f.tg,
        Incoming::text(FORUM_CHAT, "/close")
            .in_topic(f.topic)
            .by_member(STRANGER_TG),
        FORUM_CHAT,
        "Conversation closed.",
    )
    .await;
    let hints =
        f.tg.texts_to(FORUM_CHAT)
            .into_iter()
            .filter(|t| t.contains("Tip: you act here as Support"))
            .count();
    assert_eq!(hints, 1, "{}", f.tg.summary());
    f.app.finish().await;
}

async fn linked_mode_refuses_unlinked_members(backend: Backend) {
    let f = forum(backend, &[("TELEGRAM_GROUP_MEMBERS", "linked")]).await;
    let t = say(
        &f.tg,
        Incoming::text(FORUM_CHAT, "should not arrive")
            .in_topic(f.topic)
            .by_member(STRANGER_TG),
        FORUM_CHAT,
        "Only linked agents",
    )
    .await;
    assert!(t.contains("Nothing was done"), "{t}");
    say(
        &f.tg,
        Incoming::text(FORUM_CHAT, "/close")
            .in_topic(f.topic)
            .by_member(STRANGER_TG),
        FORUM_CHAT,
        "Only linked agents",
    )
    .await;
    let (_, r) = f.owner.get(&format!("/api/messages/{}", f.tid)).await;
    assert!(
        admin_msgs(r["messages"].as_array().unwrap()).is_empty(),
        "{r}"
    );
    let (_, ev) = f.owner.get(&format!("/api/threads/{}/events", f.tid)).await;
    assert_eq!(ev["events"], json!([]), "{ev}");

    // A linked member may act.
    let code = link_code(&f.owner, "me").await;
    say(
        &f.tg,
        Incoming::text(FORUM_CHAT, &format!("/link {code}")).by_member(AYSE_TG),
        FORUM_CHAT,
        "Linked to admin",
    )
    .await;
    f.tg.push(
        Incoming::text(FORUM_CHAT, "linked answer")
            .in_topic(f.topic)
            .by_member(AYSE_TG),
    );
    wait_messages(&f.v, &f.tid, "the linked answer", |m| {
        bridge::has_admin_text(m, "linked answer")
    })
    .await;
    f.app.finish().await;
}

async fn a_disabled_agents_telegram_actions_do_nothing(backend: Backend) {
    let f = forum(backend, &[]).await;
    let id = add_ayse(&f.owner).await;
    let code = link_code(&f.owner, &id.to_string()).await;
    say(
        &f.tg,
        Incoming::text(FORUM_CHAT, &format!("/link {code}")).by_member(AYSE_TG),
        FORUM_CHAT,
        "Linked to ayse",
    )
    .await;
    let (s, r) = f
        .owner
        .post(&format!("/api/agents/{id}/disable"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    for text in ["after disabling", "/close", "/note secret"] {
        let t = say(
            &f.tg,
            Incoming::text(FORUM_CHAT, text)
                .in_topic(f.topic)
                .by_member(AYSE_TG),
            FORUM_CHAT,
            "disabled",
        )
        .await;
        assert!(t.contains("nothing was done"), "{t}");
    }
    let (_, r) = f.owner.get(&format!("/api/messages/{}", f.tid)).await;
    assert_eq!(r["messages"].as_array().unwrap().len(), 1, "{r}");
    let (_, t) = f.owner.get("/api/threads").await;
    assert_eq!(t["threads"][0]["status"], json!("open"), "{t}");
    // A disabled agent gets no code either.
    let (s, _) = f
        .owner
        .post(&format!("/api/agents/{id}/telegram-link"), json!({}))
        .await;
    assert_eq!(s, 409);
    f.app.finish().await;
}

async fn panel_answers_are_mirrored_under_the_agents_name(backend: Backend) {
    let f = forum(backend, &[]).await;
    let (s, r) = patch(&f.owner, "/api/agents/me", json!({"display_name": "Ayşe"})).await;
    assert_eq!(s, 200, "{r}");
    for body in [
        json!({"thread_id": f.tid, "text": "panel answer"}),
        json!({"thread_id": f.tid, "text": "panel note", "internal": true}),
    ] {
        let (s, r) = f.owner.post("/api/messages/send", body).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["message"]["sender_name"], json!("Ayşe"), "{r}");
    }
    f.tg.wait_text_to(FORUM_CHAT, "the mirrored answer", WAIT, |t| {
        t == "Ayşe: panel answer"
    })
    .await;
    f.tg.wait_text_to(FORUM_CHAT, "the mirrored note", WAIT, |t| {
        t == "📝 Note (Ayşe): panel note"
    })
    .await;
    // The visitor sees the answer under that name, never the note.
    let history = f.v.messages(&f.tid, "").await;
    let answers = admin_msgs(&history);
    assert_eq!(answers.len(), 1, "{history:?}");
    assert_eq!(answers[0]["sender_name"], json!("Ayşe"));
    f.app.finish().await;
}

async fn hidden_names_reach_visitors_as_support_only(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = bridge::start(backend, &tg, &[("AGENT_NAMES_VISIBLE", "false")]).await;
    let owner = app.admin().await;
    let (s, _) = patch(&owner, "/api/agents/me", json!({"display_name": "Ayşe"})).await;
    assert_eq!(s, 200);
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    let mut vs = Socket::visitor(&v, None).await;
    let mut admin_socket = Socket::admin(&owner).await;
    let ack = admin_socket
        .emit("join_thread", json!({"thread_id": tid}))
        .await;
    assert_eq!(ack["success"], json!(true), "{ack}");
    let (s, r) = owner
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": "named answer"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["message"]["sender_name"], json!("Ayşe"));

    let live = vs.next("message_to_visitor").await;
    assert_eq!(live["sender_name"], json!("Support"), "{live}");
    assert_eq!(live["agent_id"], Value::Null, "{live}");
    let to_admin = admin_socket.next("message_to_visitor").await;
    assert_eq!(to_admin["sender_name"], json!("Ayşe"), "{to_admin}");
    assert!(to_admin["agent_id"].is_i64(), "{to_admin}");
    // The admin socket (in the thread's room too) got one copy only: the
    // next one it gets is the next answer.
    let (s, _) = owner
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": "second"}),
        )
        .await;
    assert_eq!(s, 200);
    let next = admin_socket.next("message_to_visitor").await;
    assert_eq!(next["content_text"], json!("second"), "{next}");
    let history = v.messages(&tid, "").await;
    assert_eq!(admin_msgs(&history)[0]["sender_name"], json!("Support"));
    assert!(!format!("{history:?}").contains("Ayşe"));
    let (_, r) = owner.get(&format!("/api/messages/{tid}")).await;
    assert_eq!(
        admin_msgs(r["messages"].as_array().unwrap())[0]["sender_name"],
        json!("Ayşe")
    );
    // The Telegram (private admin chat) answer is the bootstrap owner's.
    let fwd = bridge::wait_forward(&tg, &tid, "hello", WAIT).await;
    let fwd = fwd.message_id().expect("the forward's id");
    tg.push(Incoming::text(ADMIN_CHAT, "from telegram").reply_to(fwd));
    wait_messages(&owner, &tid, "the Telegram answer", |m| {
        bridge::has_admin_text(m, "from telegram")
    })
    .await;
    let (_, r) = owner.get(&format!("/api/messages/{tid}")).await;
    let tg_answer = admin_msgs(r["messages"].as_array().unwrap())[2].clone();
    assert_eq!(tg_answer["sender_name"], json!("Ayşe"), "{tg_answer}");
    app.finish().await;
}

async fn rows_without_an_agent_read_as_the_support_name(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = spawn(
        crate::common::Opts::new(backend)
            .db(&db)
            .env("ADMIN_DISPLAY_NAME", "Destek"),
    )
    .await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    let (s, _) = owner
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": "new answer"}),
        )
        .await;
    assert_eq!(s, 200);
    // As a row of before migration 0014 is: no agent, no name.
    sql(
        &db,
        "UPDATE messages SET agent_id = NULL, agent_name = NULL",
    )
    .await;
    for msgs in [
        v.messages(&tid, "").await,
        owner.get(&format!("/api/messages/{tid}")).await.1["messages"]
            .as_array()
            .unwrap()
            .clone(),
    ] {
        let a = admin_msgs(&msgs);
        assert_eq!(a.len(), 1, "{msgs:?}");
        assert_eq!(a[0]["sender_name"], json!("Destek"));
        assert_eq!(a[0]["agent_id"], Value::Null);
    }
    let (_, t) = owner.get("/api/threads").await;
    assert_eq!(
        t["threads"][0]["last_message"]["sender_name"],
        json!("Destek"),
        "{t}"
    );
    app.finish().await;
}
