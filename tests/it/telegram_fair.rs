//! The outbox's fair share and pace (issue 23 items 2 and 3), on SQLite
//! and Postgres: one address flooding from many cookies (over HTTP and
//! Socket.IO) leaves another visitor's first forward within its share of
//! the sends; a private admin chat is paced by its own setting.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use serde_json::json;

use crate::common::{
    Backend, Browser,
    bridge::{
        OUTAGE_WAIT, WAIT, assert_each_once_in_order, expand, forward_text, forwards_in,
        forwards_to, start,
    },
    socket::Socket,
    telegram::{ADMIN_CHAT, Call, TelegramDouble},
};

on_both_backends!(
    a_flood_from_one_address_leaves_another_visitor_within_its_share,
    a_private_admin_chat_is_paced_by_its_own_setting,
);

/// `TELEGRAM_ADDRESS_SHARE` of the test: one address, one send in four.
const SHARE: usize = 4;
/// The flooding address's threads (cookies).
const FLOOD_THREADS: usize = 8;

/// A visitor at `ip` that opened the page.
async fn visitor_at(base: &str, ip: [u8; 4]) -> Browser {
    let mut b = Browser::from_address(base, IpAddr::V4(Ipv4Addr::from(ip)));
    b.init().await;
    b
}

async fn a_flood_from_one_address_leaves_another_visitor_within_its_share(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let share = SHARE.to_string();
    let app = start(backend, &tg, &[("TELEGRAM_ADDRESS_SHARE", &share)]).await;
    let mut flood = vec![];
    for _ in 0..FLOOD_THREADS {
        let b = visitor_at(&app.base, [127, 0, 0, 2]).await;
        let tid = b.thread_id().await;
        flood.push((b, tid));
    }
    let real = visitor_at(&app.base, [127, 0, 0, 3]).await;
    let real_tid = real.thread_id().await;

    // The worker is held in the flood's first send while the flood and
    // then the real visitor write: every thread is due when it resumes.
    tg.hold_sends_containing("#gate");
    let (s, r) = flood[0].0.send(None, "#gate").await;
    assert_eq!(s, 200, "{r}");
    let gate = tg
        .wait_call("the held send", WAIT, |c| {
            c.text().is_some_and(|t| t.contains("#gate"))
        })
        .await;
    let mut wanted: Vec<(String, Vec<String>)> = vec![];
    for (i, (b, tid)) in flood.iter().enumerate() {
        let texts: Vec<String> = (0..3).map(|k| format!("flood {i} #{k}")).collect();
        // Half of the flood over Socket.IO: its sends carry the address too.
        let mut sock = if i % 2 == 1 {
            Some(Socket::visitor(b, None).await)
        } else {
            None
        };
        for t in &texts {
            match sock.as_mut() {
                Some(s) => {
                    let ack = s
                        .emit("message_from_visitor", json!({"text": t, "type": "text"}))
                        .await;
                    assert_eq!(ack["success"], json!(true), "{ack}");
                }
                None => assert_eq!(b.send(None, t).await.0, 200),
            }
        }
        if let Some(s) = sock {
            s.close().await;
        }
        wanted.push((
            tid.clone(),
            texts.iter().map(|t| forward_text(tid, t)).collect(),
        ));
    }
    let hello = forward_text(&real_tid, "hello, I am a real visitor");
    assert_eq!(real.send(None, "hello, I am a real visitor").await.0, 200);
    tg.release();

    let all: Vec<String> = wanted
        .iter()
        .flat_map(|w| w.1.clone())
        .chain([hello.clone()])
        .collect();
    tg.wait_for("every forward", OUTAGE_WAIT, |calls| {
        let got = forwards_in(calls, ADMIN_CHAT);
        all.iter().all(|w| got.contains(w)).then_some(())
    })
    .await;
    // The sends after the held one, in order: the real visitor's first
    // forward comes within its share (at most SHARE − 1 of the flood's
    // sends before it), although eight threads of the flood were older.
    let after: Vec<Vec<String>> = tg.with_calls(|c| {
        c.iter()
            .filter(|c| c.seq > gate.seq && c.is("sendMessage") && c.ok())
            .filter_map(Call::text)
            .map(|t| expand(&t))
            .collect()
    });
    let at = after
        .iter()
        .position(|s| s.contains(&hello))
        .expect("the real visitor's forward");
    assert!(
        at < SHARE,
        "{at} sends of the flood before the real visitor's first forward:\n{}",
        tg.summary()
    );
    // Nothing lost, nothing twice, in order per thread.
    assert_each_once_in_order(&forwards_to(&tg, ADMIN_CHAT), &wanted);
    app.finish().await;
}

async fn a_private_admin_chat_is_paced_by_its_own_setting(backend: Backend) {
    // The double's admin chat is a private chat (a positive id). Groups
    // unpaced, private chats at 120 a minute (one send every 500 ms); the
    // double refuses a third message within any second with a 429.
    let tg = TelegramDouble::start().await;
    tg.set_chat_limit(2, Duration::from_secs(1));
    let app = start(
        backend,
        &tg,
        &[
            ("TELEGRAM_CHAT_MESSAGES_PER_MINUTE", "0"),
            ("TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE", "120"),
        ],
    )
    .await;
    let mut wanted = vec![];
    for i in 0..5 {
        let v = app.visitor().await;
        let tid = v.thread_id().await;
        let text = format!("private pace #{i}");
        assert_eq!(v.send(None, &text).await.0, 200);
        wanted.push(forward_text(&tid, &text));
    }
    tg.wait_for("five forwards", OUTAGE_WAIT, |calls| {
        let got = forwards_in(calls, ADMIN_CHAT);
        wanted.iter().all(|w| got.contains(w)).then_some(())
    })
    .await;
    assert_eq!(
        tg.limit_refusals(),
        0,
        "a 429: the private chat was not paced:\n{}",
        tg.summary()
    );
    app.finish().await;
}
