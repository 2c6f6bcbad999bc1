//! Email links and settings (issue 26): unsubscribing (RFC 8058
//! one-click) stops email and revokes links; forged, expired, foreign-purpose
//! and cleared links open nothing; a widget conversation continues on its
//! host page; no page asks for an address without SMTP; the SMTP
//! self-test; `check-config`. Against the SMTP sink of `common::smtp`.

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{SECRET, answer, app_with, local, open_link, visitor_with_email};
use crate::common::{Backend, Opts, assert_error, binary, smtp::SmtpSink, spawn};

on_both_backends!(
    unsubscribing_stops_email_and_revokes_links,
    forged_and_expired_links_open_nothing,
    without_smtp_no_page_asks_for_an_email,
    the_smtp_self_test_checks_the_login_and_names_the_fix,
    telegrams_selftest_checks_smtp_too,
    a_widget_conversation_continues_on_its_host_page_in_turkish,
);

async fn unsubscribing_stops_email_and_revokes_links(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (v, tid) = visitor_with_email(&app, "bye@example.com").await;
    let (_m, marker) = visitor_with_email(&app, "marker@example.com").await;
    answer(&admin, &tid, "first answer").await;
    let mail = sink.wait_mail_to("bye@example.com", |_| true).await;
    let link = local(&app, &mail.link("http://chat.acme.example/c/"));
    let unsub = mail.header("List-Unsubscribe").unwrap();
    let unsub = local(&app, unsub.trim_start_matches('<').trim_end_matches('>'));
    // RFC 8058 one-click: a POST with that body, no cookie, no CSRF token.
    let r = reqwest::Client::new()
        .post(&unsub)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The continue link is revoked; a transcript is refused.
    assert_eq!(open_link(&app.browser(), &link).await.0, 404);
    let (s, b) = v.post("/api/visitor/transcript", json!({})).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // A later answer (after the 10 minutes would not matter: nothing is scheduled).
    answer(&admin, &tid, "second answer").await;
    answer(&admin, &marker, "marker").await;
    sink.wait_mail_to("marker@example.com", |_| true).await;
    let to_bye = sink
        .mails()
        .iter()
        .filter(|m| m.to.contains(&"bye@example.com".to_owned()))
        .count();
    assert_eq!(to_bye, 1);
    app.finish().await;
}

async fn forged_and_expired_links_open_nothing(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (_v, tid) = visitor_with_email(&app, "links@example.com").await;
    answer(&admin, &tid, "an answer").await;
    let mail = sink.wait_mail_to("links@example.com", |_| true).await;
    let link = local(&app, &mail.link("http://chat.acme.example/c/"));
    let far = chrono::Utc::now().timestamp() + 3600;
    // Tampered MAC: its last hex digit changed (to `0`, or to `1` when it
    // was `0`: one link in 16 ends so).
    let last = if link.ends_with('0') { '1' } else { '0' };
    let cases = [
        format!("{}{last}", &link[..link.len() - 1]),
        // Expired (signed with the right key).
        format!(
            "{}/c/{}",
            app.base,
            sign("c", &tid, 0, chrono::Utc::now().timestamp() - 1)
        ),
        // Another purpose (an unsubscribe token) opens no conversation.
        format!("{}/c/{}", app.base, sign("u", &tid, 0, far)),
        // Another key.
        format!("{}/c/e1.c.{tid}.0.{far}.{}", app.base, "ab".repeat(32)),
    ];
    for bad in cases {
        let b = app.browser();
        let (status, _) = open_link(&b, &bad).await;
        assert_eq!(status, 404, "{bad}");
        assert_ne!(b.thread_id().await, tid);
    }
    // A valid one works; clearing the thread revokes it.
    let good = format!("{}/c/{}", app.base, sign("c", &tid, 0, far));
    assert_eq!(open_link(&app.browser(), &good).await.0, 303);
    let (s, b) = admin
        .post("/api/messages/clear", json!({"thread_id": tid}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(open_link(&app.browser(), &good).await.0, 404);
    assert_eq!(open_link(&app.browser(), &link).await.0, 404);
    app.finish().await;
}

async fn without_smtp_no_page_asks_for_an_email(backend: Backend) {
    let app = spawn(
        Opts::new(backend)
            .env("EMBED_ORIGINS", "https://shop.example")
            .env("PRECHAT_FIELDS", "name,email"),
    )
    .await;
    let v = app.visitor().await;
    let (s, b) = v.post("/api/visitor/transcript", json!({})).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let html = v.page("/embed?origin=https://shop.example").await;
    assert!(
        !html.contains("id=\"away-email\""),
        "the away notice asks for an email"
    );
    assert!(
        html.contains("data-prechat=\"name\""),
        "the pre-chat form asks for an email"
    );
    // The visitor page carries no email strings, so it loads no transcript button.
    let page = v.page("/").await;
    assert!(
        !page.contains("\"transcriptQueued\""),
        "email strings without SMTP"
    );
    app.finish().await;
}

async fn the_smtp_self_test_checks_the_login_and_names_the_fix(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.require_password("right");
    let url = format!("smtp://agent:wrong@127.0.0.1:{}?tls=none", sink.port);
    let mut app = app_with(backend, &sink, &[("SMTP_URL", url.as_str())]).await;
    let admin = app.admin().await;
    let (s, b) = admin.post("/api/email/selftest", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let check: &Value = &b["check"];
    assert_eq!(check["ok"], json!(false), "{b}");
    assert!(
        check["fix"].as_str().unwrap().contains("user and password"),
        "{b}"
    );
    assert!(
        !b.to_string().contains("wrong"),
        "the password is shown: {b}"
    );
    app.finish().await;
    let url = format!("smtp://agent:right@127.0.0.1:{}?tls=none", sink.port);
    let mut app = app_with(backend, &sink, &[("SMTP_URL", url.as_str())]).await;
    let admin = app.admin().await;
    let (_, b) = admin.post("/api/email/selftest", json!({})).await;
    assert_eq!(b["check"]["ok"], json!(true), "{b}");
    app.finish().await;
}

async fn a_widget_conversation_continues_on_its_host_page_in_turkish(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[("EMBED_ORIGINS", "https://shop.example")]).await;
    let admin = app.admin().await;
    let (v, tid) = visitor_with_email(&app, "widget@example.com").await;
    let (s, b) = v
        .post(
            "/api/visitor/context",
            json!({"url": "https://shop.example/cart?step=2", "language": "tr-TR", "timezone": "Europe/Istanbul"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    answer(&admin, &tid, "Kargo yarın çıkıyor").await;
    let mail = sink.wait_mail_to("widget@example.com", |_| true).await;
    // The Turkish subject is encoded (RFC 2047): not the English one.
    assert_ne!(mail.header("Subject").as_deref(), Some("You have a reply"));
    let text = mail.part("text/plain");
    assert!(
        text.contains("Kargo yarın çıkıyor") && text.contains("Sohbete devam et"),
        "{text}"
    );
    let link = local(&app, &mail.link("http://chat.acme.example/c/"));
    let (status, loc) = open_link(&app.browser(), &link).await;
    assert_eq!(status, 303);
    let loc = loc.unwrap();
    let want = format!("https://shop.example/cart?step=2#sohbet_continue=sv1.{tid}.");
    assert!(loc.starts_with(&want), "{loc}");
    app.finish().await;
}

/// A link token signed as the server signs them (`email::links`).
fn sign(purpose: &str, subject: &str, generation: i32, expires: i64) -> String {
    let signed = format!("e1.{purpose}.{subject}.{generation}.{expires}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(b"email-link:");
    mac.update(signed.as_bytes());
    format!("{signed}.{}", hex::encode(mac.finalize().into_bytes()))
}

/// `sohbet check-config` validates the email settings and masks the SMTP password.
#[test]
fn check_config_masks_the_smtp_password_and_names_a_bad_setting() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("c.db").display().to_string();
    let check = |smtp: &str| {
        let out = binary::command(&[
            ("SQLITE_PATH", sqlite.as_str()),
            ("SMTP_URL", smtp),
            ("SMTP_FROM", "Acme <support@acme.example>"),
            ("PUBLIC_URL", "https://chat.acme.example"),
        ])
        .arg("check-config")
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = check("smtp://mailer:hunter2xyz@smtp.example:587");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("SMTP_URL=smtp://********@smtp.example:587"),
        "{out}"
    );
    assert!(!out.contains("hunter2xyz"), "{out}");
    let (code, out) = check("http://mailer:hunter2xyz@smtp.example");
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("SMTP_URL") && !out.contains("hunter2xyz"),
        "{out}"
    );
}

/// Issue 26 item 1: the Telegram `/selftest` carries the SMTP check (a
/// wrong password: ✗ with the fix, the password never shown).
async fn telegrams_selftest_checks_smtp_too(backend: Backend) {
    use crate::common::{
        bridge,
        telegram::{Incoming, TelegramDouble, forum::FORUM_CHAT},
    };
    let sink = SmtpSink::start().await;
    sink.require_password("right");
    let tg = TelegramDouble::start_forum().await;
    let url = format!("smtp://agent:wrong@127.0.0.1:{}?tls=none", sink.port);
    let mut env: Vec<(String, String)> = sink.env();
    env.retain(|(k, _)| k != "SMTP_URL");
    env.push(("SMTP_URL".into(), url));
    env.push(("SECRET_KEY".into(), SECRET.into()));
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = bridge::start(backend, &tg, &extra).await;
    tg.push(Incoming::text(FORUM_CHAT, "/selftest"));
    let text = tg
        .wait_text_to(
            FORUM_CHAT,
            "the self-test with the SMTP line",
            std::time::Duration::from_secs(20),
            |t| t.starts_with("sohbet self-test") && t.contains("email (SMTP)"),
        )
        .await
        .text()
        .expect("text");
    assert!(text.contains("✗ email (SMTP):"), "{text}");
    assert!(text.contains("user and password"), "{text}");
    assert!(!text.contains("wrong"), "the password is shown: {text}");
    app.finish().await;
}
