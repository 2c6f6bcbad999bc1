//! Coalesced forwards (issue 23 item 1), on SQLite and Postgres: a
//! thread's due texts ride one Telegram message in order, each line with
//! its time in `APP_TIMEZONE`; a reply to that message reaches its thread;
//! every message carried is linked to it (and its address key is
//! forgotten once sent); a run longer than Telegram's 4,096 UTF-16 units
//! continues in the next send; the receipt of answers inside a coalesced
//! message is shown once the visitor saw them all.

use chrono::DateTime;
use serde_json::{Value, json};

use crate::common::{
    Backend, Browser, KeptDb,
    bridge::{
        WAIT, expand, forward_text, forwards_to, has_admin_text, numbers, wait_carrying,
        wait_messages, wired,
    },
    socket::Socket,
    spawn,
    telegram::{ADMIN_CHAT, Call, Incoming, TEXT_LIMIT, TelegramDouble, forum::FORUM_CHAT},
};

on_both_backends!(
    a_coalesced_forward_carries_the_messages_in_order_and_a_reply_reaches_its_thread,
    a_run_over_the_limit_continues_in_the_next_send,
    a_receipt_for_answers_inside_a_coalesced_forward_is_shown_once_all_are_seen,
);

/// A zone with a half-hour offset, so that a time shown in UTC or in the
/// default zone would not match.
const ZONE: &str = "Asia/Kolkata";

/// `HH:MM <text>` of a stored message, as a coalesced line shows it.
fn line(m: &Value) -> String {
    let at = DateTime::parse_from_rfc3339(m["created_at"].as_str().expect("created_at"))
        .expect("an RFC 3339 time");
    let tz: chrono_tz::Tz = ZONE.parse().expect("a zone");
    format!(
        "{} {}",
        at.with_timezone(&tz).format("%H:%M"),
        m["content_text"].as_str().expect("text")
    )
}

/// Sends each of `texts` as `v`, asserting 200; returns the stored messages.
async fn send_all(v: &Browser, texts: &[&str]) -> Vec<Value> {
    let mut out = vec![];
    for t in texts {
        let (s, r) = v.send(None, t).await;
        assert_eq!(s, 200, "{r}");
        out.push(r["message"].clone());
    }
    out
}

async fn a_coalesced_forward_carries_the_messages_in_order_and_a_reply_reaches_its_thread(
    backend: Backend,
) {
    let tg = TelegramDouble::start().await;
    let db = KeptDb::new(backend).await;
    let app = spawn(wired(backend, &tg, &[("APP_TIMEZONE", ZONE)]).db(&db)).await;
    let a = app.visitor().await;
    let b = app.visitor().await;
    let (ta, tb) = (a.thread_id().await, b.thread_id().await);

    // The worker is held inside A's first send while both write.
    tg.hold_sends_containing("#gate");
    send_all(&a, &["#gate opens"]).await;
    tg.wait_call("the held send", WAIT, |c| {
        c.text().is_some_and(|t| t.contains("#gate"))
    })
    .await;
    let in_a = send_all(&a, &["first", "second", "third"]).await;
    let in_b = send_all(&b, &["only two", "messages here"]).await;
    // Pending forwards carry the address key (the server sees 127.0.0.1).
    let keys = "SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending' \
                AND client_key = '127.0.0.1' AND id > $1";
    assert_eq!(numbers(&db, keys, 0).await, [6]);
    tg.release();

    // One Telegram message per thread: the head, then a timed line each.
    let head = |tid: &str| format!("[{}]", sohbet::chat::display_name_for(tid));
    let want_a = format!(
        "{}\n{}",
        head(&ta),
        in_a.iter().map(line).collect::<Vec<_>>().join("\n")
    );
    let want_b = format!(
        "{}\n{}",
        head(&tb),
        in_b.iter().map(line).collect::<Vec<_>>().join("\n")
    );
    let ca = tg
        .wait_text_to(ADMIN_CHAT, "A's coalesced forward", WAIT, |t| t == want_a)
        .await;
    let cb = tg
        .wait_text_to(ADMIN_CHAT, "B's coalesced forward", WAIT, |t| t == want_b)
        .await;
    assert_eq!(
        forwards_to(&tg, ADMIN_CHAT),
        [
            forward_text(&ta, "#gate opens"),
            forward_text(&ta, "first"),
            forward_text(&ta, "second"),
            forward_text(&ta, "third"),
            forward_text(&tb, "only two"),
            forward_text(&tb, "messages here"),
        ],
        "each once, in order:\n{}",
        tg.summary()
    );

    // Every message it carries is linked to it; the keys are forgotten.
    let (ma, mb) = (ca.message_id().expect("id"), cb.message_id().expect("id"));
    let linked =
        "SELECT message_id FROM telegram_links WHERE tg_message_id = $1 ORDER BY message_id";
    let ids = |ms: &[Value]| {
        ms.iter()
            .map(|m| m["id"].as_i64().expect("id"))
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(&db, linked, ma).await, ids(&in_a));
    assert_eq!(numbers(&db, linked, mb).await, ids(&in_b));
    let kept = "SELECT COUNT(*) FROM telegram_outbox WHERE client_key IS NOT NULL AND id > $1";
    assert_eq!(
        numbers(&db, kept, 0).await,
        [0],
        "no address kept once sent"
    );

    // A reply to each coalesced message reaches its own thread.
    tg.push(Incoming::text(ADMIN_CHAT, "answer for A").reply_to(ma));
    tg.push(Incoming::text(ADMIN_CHAT, "answer for B").reply_to(mb));
    wait_messages(&a, &ta, "A's answer", |m| has_admin_text(m, "answer for A")).await;
    let got_b = wait_messages(&b, &tb, "B's answer", |m| has_admin_text(m, "answer for B")).await;
    assert!(!has_admin_text(&got_b, "answer for A"));
    let got_a = a.messages(&ta, "?limit=200").await;
    assert!(!has_admin_text(&got_a, "answer for B"));
    app.finish().await;
}

async fn a_run_over_the_limit_continues_in_the_next_send(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = spawn(wired(backend, &tg, &[])).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    tg.hold_sends_containing("#gate");
    send_all(&v, &["#gate"]).await;
    tg.wait_call("the held send", WAIT, |c| {
        c.text().is_some_and(|t| t.contains("#gate"))
    })
    .await;
    // Three texts of 1,800 UTF-16 units: two fit in one message, not three.
    let texts: Vec<String> = (1..=3)
        .map(|i| format!("part {i} {}", "🎉".repeat(897)))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    send_all(&v, &refs).await;
    tg.release();
    let last = forward_text(&tid, &texts[2]);
    wait_carrying(&tg, ADMIN_CHAT, &last, WAIT).await;
    let sends: Vec<Call> = tg.sends_to(ADMIN_CHAT);
    let carried: Vec<Vec<String>> = sends
        .iter()
        .filter_map(Call::text)
        .map(|t| expand(&t))
        .collect();
    let want: Vec<String> = texts.iter().map(|t| forward_text(&tid, t)).collect();
    assert_eq!(
        carried,
        [
            vec![forward_text(&tid, "#gate")],
            want[..2].to_vec(),
            want[2..].to_vec()
        ],
        "cut between whole messages"
    );
    for c in &sends {
        let units = c.text().unwrap_or_default().encode_utf16().count();
        assert!(units <= TEXT_LIMIT, "{units} UTF-16 units");
    }
    app.finish().await;
}

async fn a_receipt_for_answers_inside_a_coalesced_forward_is_shown_once_all_are_seen(
    backend: Backend,
) {
    let tg = TelegramDouble::start_forum().await;
    let mut app = spawn(wired(backend, &tg, &[])).await;
    let agent = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let mut sock = Socket::visitor(&v, None).await;
    // The worker is held inside the visitor's first forward (in its new
    // topic) while the agent answers three times from the panel.
    tg.hold_sends_containing("#gate");
    send_all(&v, &["#gate hello"]).await;
    tg.wait_call("the held send", WAIT, |c| {
        c.text().is_some_and(|t| t.contains("#gate"))
    })
    .await;
    let mut answers = vec![];
    for text in ["answer one", "answer two", "answer three"] {
        let (s, r) = agent
            .post(
                "/api/messages/send",
                json!({"thread_id": tid, "text": text, "type": "text"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        answers.push(r["message_id"].as_i64().expect("id"));
    }
    tg.release();
    // Mirrored into the topic as one message.
    let mirror = tg
        .wait_text_to(FORUM_CHAT, "the coalesced answers", WAIT, |t| {
            let lines = expand(t);
            lines.len() == 3
                && lines[0].ends_with(" answer one")
                && lines[2].ends_with(" answer three")
        })
        .await;
    let m = mirror.message_id().expect("id");

    // Seen up to the second answer: not all of them, no receipt yet. Two
    // later forwards mean the receipts after the first one were looked at.
    let ack = sock
        .emit("message_seen", json!({"message_id": answers[1]}))
        .await;
    assert_eq!(ack["success"], json!(true), "{ack}");
    for marker in ["marker one", "marker two"] {
        send_all(&v, &[marker]).await;
        wait_carrying(&tg, FORUM_CHAT, &forward_text(&tid, marker), WAIT).await;
    }
    assert!(tg.reactions_on(m).is_empty(), "{:?}", tg.reactions_on(m));
    // Seen up to the third: 👀 on the coalesced message, once.
    let ack = sock
        .emit("message_seen", json!({"message_id": answers[2]}))
        .await;
    assert_eq!(ack["success"], json!(true), "{ack}");
    let deadline = std::time::Instant::now() + WAIT;
    while tg.reactions_on(m).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no receipt:\n{}",
            tg.summary()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // One more forward: any second reaction would have come before it.
    send_all(&v, &["marker three"]).await;
    wait_carrying(&tg, FORUM_CHAT, &forward_text(&tid, "marker three"), WAIT).await;
    assert_eq!(tg.reactions_on(m), ["👀"]);
    sock.close().await;
    app.finish().await;
}
