//! Forwards from the visitor to the Telegram admin chat, against the Bot
//! API double (tests/it/common/telegram/), on SQLite and Postgres: the login
//! code, hostile and long texts, a 429 waited out, the bridge's health.

use crate::common;

use std::time::Duration;

use crate::common::{
    Backend,
    bridge::{
        WAIT, count_ok_texts, forward_text, send_and_forward, start, wait_forward,
        wait_telegram_healthy,
    },
    spawn,
    telegram::{ADMIN_CHAT, Call, TEXT_LIMIT, TelegramDouble},
};
use serde_json::json;
use sohbet::{auth::otp_delivery::OtpDelivery, chat::display_name_for};

on_both_backends!(
    the_login_code_goes_to_the_admin_chat_and_logs_in,
    hostile_and_long_texts_arrive_intact,
    a_429_is_waited_out_and_the_forward_is_sent_once,
    health_shows_the_bridge_healthy_once_the_bot_is_up,
);

async fn the_login_code_goes_to_the_admin_chat_and_logs_in(backend: Backend) {
    let tg = TelegramDouble::start().await;
    // `OtpDelivery::Log` is what `main` passes: with Telegram configured the
    // app sends codes there instead.
    let app = spawn(common::bridge::wired(backend, &tg, &[]).otp(OtpDelivery::Log)).await;
    let b = app.visitor().await;
    let (s, r) = b.login("admin", "admin123").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["otp_sent"], json!(true));
    let call = tg
        .wait_text_to(ADMIN_CHAT, "a login code", WAIT, |t| {
            six_digits(t).is_some()
        })
        .await;
    assert_eq!(call.chat_id(), Some(ADMIN_CHAT));
    assert_eq!(call.parse_mode(), None, "{}", call.summary());
    let code = six_digits(&call.text().unwrap()).unwrap();
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = b.get("/api/threads").await;
    assert_eq!(s, 200, "{r}");
    // The code went to the admin chat only.
    tg.with_calls(|calls| {
        let with_code: Vec<_> = calls
            .iter()
            .filter(|c| format!("{:?}", c.params).contains(&code))
            .collect();
        assert_eq!(with_code.len(), 1, "{}", tg.summary());
    });
    app.finish().await;
}

async fn hostile_and_long_texts_arrive_intact(backend: Backend) {
    const HOSTILE: &str = "_*[<&>]*_ `x` (a) #1 <b>&amp; 🎉";
    // Under any parse mode Telegram would refuse this text or show it
    // changed: it must go as plain text (the double refuses a parse_mode).
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v.send(None, HOSTILE).await;
    assert_eq!(s, 200, "{r}");
    let call = wait_forward(&tg, &tid, HOSTILE, WAIT).await;
    assert_eq!(call.text().unwrap(), forward_text(&tid, HOSTILE));
    assert_eq!(call.parse_mode(), None);
    assert!(!call.params.contains_key("entities"), "{:?}", call.params);

    // 4000 characters (the most a visitor may send) with emoji and new lines:
    // more than one Telegram message.
    let mut long: String = "Merhaba dünya 🎉🎉 ünïcödé\nsatır "
        .chars()
        .cycle()
        .take(3999)
        .collect();
    long.push('!');
    assert_eq!(long.chars().count(), 4000);
    assert!(long.encode_utf16().count() > TEXT_LIMIT);
    let (s, r) = v.send(None, &long).await;
    assert_eq!(s, 200, "{r}");
    let head = format!("[{}] (", display_name_for(&tid));
    let parts: Vec<(usize, usize, String)> = tg
        .wait_for("all parts of the long text", WAIT, |calls| {
            let parts: Vec<(usize, usize, String)> = calls
                .iter()
                .filter(|c| c.is("sendMessage") && c.ok() && c.chat_id() == Some(ADMIN_CHAT))
                .filter_map(|c| {
                    let t = c.text()?;
                    let rest = t.strip_prefix(&head)?;
                    let (counter, body) = rest.split_once(") ")?;
                    let (i, n) = counter.split_once('/')?;
                    Some((i.parse().ok()?, n.parse().ok()?, body.to_owned()))
                })
                .collect();
            let n = parts.first()?.1;
            (parts.len() >= n).then_some(parts)
        })
        .await;
    let n = parts[0].1;
    assert!(n >= 2, "{n} parts");
    assert_eq!(parts.len(), n, "each part once");
    for (k, (i, total, _)) in parts.iter().enumerate() {
        assert_eq!((*i, *total), (k + 1, n), "parts in order");
    }
    let rebuilt: String = parts.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(rebuilt, long, "nothing lost, nothing changed");
    for c in tg.sends_to(ADMIN_CHAT) {
        let t = c.text().unwrap();
        assert!(t.encode_utf16().count() <= TEXT_LIMIT);
        assert_eq!(c.parse_mode(), None);
    }
    // Nothing was refused on the way.
    tg.with_calls(|calls| {
        assert!(
            calls.iter().filter(|c| c.is("sendMessage")).all(Call::ok),
            "{}",
            tg.summary()
        )
    });
    app.finish().await;
}

async fn a_429_is_waited_out_and_the_forward_is_sent_once(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    wait_telegram_healthy(&app).await;
    tg.throttle("sendMessage", 1, 1);
    let (s, r) = v.send(None, "please slow down").await;
    assert_eq!(s, 200, "{r}");
    let want = forward_text(&tid, "please slow down");
    wait_forward(&tg, &tid, "please slow down", WAIT).await;
    let attempts: Vec<Call> = tg.with_calls(|calls| {
        calls
            .iter()
            .filter(|c| c.is("sendMessage") && c.text().as_deref() == Some(&want))
            .cloned()
            .collect()
    });
    let statuses: Vec<u16> = attempts.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 200], "{}", tg.summary());
    let waited = attempts[1].at - attempts[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retry_after=1 honoured, retried after {waited:?}"
    );
    // A later forward of the same thread is sent after any resend of this one.
    send_and_forward(&tg, &v, &tid, "after the 429").await;
    assert_eq!(count_ok_texts(&tg, &want), 1);
    app.finish().await;
}

async fn health_shows_the_bridge_healthy_once_the_bot_is_up(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let h = wait_telegram_healthy(&app).await;
    assert_eq!(h["status"], json!("healthy"), "{h}");
    assert_eq!(h["checks"]["telegram_outbox_backlog"], json!(0), "{h}");
    assert_eq!(h["checks"]["database"], json!("healthy"), "{h}");
    // Long polling runs (after dropping any webhook).
    tg.wait_call("getUpdates", WAIT, |c| c.is("getUpdates") && c.ok())
        .await;
    tg.with_calls(|calls| {
        assert!(calls.iter().any(|c| c.is("getMe") && c.ok()));
        assert!(
            calls.iter().all(|c| c.status == 200),
            "no refused call:\n{}",
            tg.summary()
        );
    });
    app.finish().await;
}

/// The only run of exactly six digits in `text`.
fn six_digits(text: &str) -> Option<String> {
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() == 6)
        .collect();
    (runs.len() == 1).then(|| runs[0].to_owned())
}
