//! Outbound email (issue 26) against a real SMTP server on 127.0.0.1
//! (`common::smtp::SmtpSink`, started by each test): answer notifications
//! after the delay and not before, none when seen, coalescing, the
//! 10-minute and 5-an-hour limits, notes never emailed, continue links
//! (right thread; forged, expired, revoked refused), unsubscribe, retries
//! while SMTP is down, 5xx → dead and shown, kill -9 between commit and
//! send → sent once, agent alerts without Telegram, transcripts, the
//! self-test, and no address asked for without SMTP. Both backends.
//! Links, unsubscribe and settings: [`links`].

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{
    Backend, Browser, KeptDb, Opts, TestApp, assert_error, binary,
    smtp::{Mode, SmtpSink},
    socket::Socket,
    spawn,
};

mod links;

on_both_backends!(
    an_unseen_answer_is_emailed_after_the_delay_and_its_link_continues_the_thread,
    a_seen_answer_is_not_emailed,
    a_burst_is_one_email_and_a_thread_gets_at_most_one_in_ten_minutes,
    one_address_gets_at_most_five_emails_an_hour,
    smtp_down_is_retried_and_delivered_when_back,
    a_5xx_refusal_is_dead_and_shown_beside_the_thread,
    kill_9_between_commit_and_send_sends_once,
    agents_without_telegram_get_one_email_for_the_waiting_threads,
    a_transcript_goes_to_the_stored_address_at_most_three_a_day,
    erasing_a_thread_removes_its_emails,
    closing_emails_the_transcript_when_asked_to,
);

pub(crate) const SECRET: &str = "email-tests-secret-key-0123456789abcdef";

pub(crate) async fn app_with(backend: Backend, sink: &SmtpSink, extra: &[(&str, &str)]) -> TestApp {
    let mut env = sink.env();
    env.push(("SECRET_KEY".into(), SECRET.into()));
    for (k, v) in extra {
        env.push(((*k).into(), (*v).into()));
    }
    spawn(Opts::new(backend).envs(&env)).await
}

/// A visitor who wrote once and left `email`; returns it and its thread.
pub(crate) async fn visitor_with_email(app: &TestApp, email: &str) -> (Browser, String) {
    let v = app.visitor().await;
    let (s, b) = v.send(None, "hello, a question").await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = v
        .post("/api/visitor/identify", json!({"email": email}))
        .await;
    assert_eq!(s, 200, "{b}");
    let tid = v.thread_id().await;
    (v, tid)
}

pub(crate) async fn answer(admin: &Browser, tid: &str, text: &str) -> i64 {
    let (s, b) = admin.send(Some(tid), text).await;
    assert_eq!(s, 200, "{b}");
    b["message_id"].as_i64().expect("message_id")
}

async fn note(admin: &Browser, tid: &str, text: &str) {
    let (s, b) = admin
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": text, "type": "text", "internal": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

/// The link of `url` (on `PUBLIC_URL`) on the test server.
pub(crate) fn local(app: &TestApp, url: &str) -> String {
    url.replace("http://chat.acme.example", &app.base)
}

/// Opens continue link `url` in browser `b` (no redirects followed).
pub(crate) async fn open_link(b: &Browser, url: &str) -> (u16, Option<String>) {
    let r = b.client.get(url).send().await.unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), loc)
}

async fn an_unseen_answer_is_emailed_after_the_delay_and_its_link_continues_the_thread(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (v, tid) = visitor_with_email(&app, "deniz@example.com").await;
    note(&admin, &tid, "NOTE: refund only if she insists").await;
    let answered = Instant::now();
    answer(&admin, &tid, "Yes <b>we</b> ship to Izmir & Ankara").await;
    // With SMTP the visitor page offers the transcript (its strings are sent).
    let page = v.page("/").await;
    assert!(
        page.contains("\"transcriptQueued\""),
        "no email strings with SMTP"
    );
    let mail = sink.wait_mail_to("deniz@example.com", |_| true).await;
    // Not before the delay (EMAIL_NOTIFY_DELAY_SECS=1).
    assert!(mail.at.duration_since(answered) >= Duration::from_secs(1));
    let text = mail.part("text/plain");
    let html = mail.part("text/html");
    assert!(
        text.contains("Yes <b>we</b> ship to Izmir & Ankara"),
        "{text}"
    );
    assert!(
        html.contains("Yes &lt;b&gt;we&lt;/b&gt; ship to Izmir &amp; Ankara"),
        "{html}"
    );
    assert!(!html.contains("<img") && !html.contains("<b>we"), "{html}");
    assert!(!mail.data.contains("NOTE: refund"), "a note was emailed");
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsub = mail.header("List-Unsubscribe").unwrap();
    assert!(
        unsub.starts_with("<http://chat.acme.example/email/unsubscribe/e1.u."),
        "{unsub}"
    );
    assert_eq!(mail.from, "support@acme.example");

    // The link opens that thread in another browser.
    let link = local(&app, &mail.link("http://chat.acme.example/c/"));
    let other = app.browser();
    let (status, loc) = open_link(&other, &link).await;
    assert_eq!(status, 303);
    assert_eq!(loc.as_deref(), Some("/"));
    assert_eq!(other.thread_id().await, tid);
    let history = other.messages(&tid, "").await;
    assert!(
        history
            .iter()
            .any(|m| m["content_text"] == json!("Yes <b>we</b> ship to Izmir & Ankara"))
    );
    assert!(
        history
            .iter()
            .all(|m| m["content_text"] != json!("NOTE: refund only if she insists"))
    );
    app.finish().await;
}

async fn a_seen_answer_is_not_emailed(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (seen_v, seen) = visitor_with_email(&app, "seen@example.com").await;
    let (_w, marker) = visitor_with_email(&app, "marker@example.com").await;
    let mut socket = Socket::visitor(&seen_v, None).await;
    let id = answer(&admin, &seen, "seen on a visible page").await;
    let ack = socket.emit("message_seen", json!({"message_id": id})).await;
    assert_eq!(ack["success"], json!(true), "{ack}");
    // A later answer in another thread is emailed: the earlier check has run.
    answer(&admin, &marker, "marker answer").await;
    sink.wait_mail_to("marker@example.com", |_| true).await;
    assert!(
        sink.mails()
            .iter()
            .all(|m| !m.to.contains(&"seen@example.com".to_owned())),
        "a seen answer was emailed"
    );
    app.finish().await;
}

async fn a_burst_is_one_email_and_a_thread_gets_at_most_one_in_ten_minutes(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[("EMAIL_NOTIFY_DELAY_SECS", "2")]).await;
    let admin = app.admin().await;
    let (v, tid) = visitor_with_email(&app, "burst@example.com").await;
    for text in ["first part", "second part", "third part"] {
        answer(&admin, &tid, text).await;
    }
    let mail = sink.wait_mail_to("burst@example.com", |_| true).await;
    let text = mail.part("text/plain");
    for part in ["first part", "second part", "third part"] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    // A later answer inside the 10 minutes is held back: another thread
    // answered after it (so due after it) gets its email, this one not.
    let (_m, marker) = visitor_with_email(&app, "marker@example.com").await;
    answer(&admin, &tid, "fourth part, later").await;
    answer(&admin, &marker, "marker").await;
    sink.wait_mail_to("marker@example.com", |_| true).await;
    // The transcript is not under that rule.
    let (s, b) = v.post("/api/visitor/transcript", json!({})).await;
    assert_eq!(s, 200, "{b}");
    sink.wait_mail_to("burst@example.com", |m| {
        m.header("Subject").as_deref() == Some("Your conversation")
    })
    .await;
    let answers: Vec<_> = sink
        .mails()
        .into_iter()
        .filter(|m| {
            m.header("Subject").as_deref() == Some("You have a reply")
                && m.to.contains(&"burst@example.com".to_owned())
        })
        .collect();
    assert_eq!(answers.len(), 1, "a second answer email within 10 minutes");
    app.finish().await;
}

async fn one_address_gets_at_most_five_emails_an_hour(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let mut threads = Vec::new();
    for _ in 0..6 {
        threads.push(visitor_with_email(&app, "victim@example.com").await.1);
    }
    let (_m, marker) = visitor_with_email(&app, "other@example.com").await;
    for tid in &threads {
        answer(&admin, tid, "an answer").await;
    }
    sink.wait_mails(5).await;
    answer(&admin, &marker, "marker").await;
    sink.wait_mail_to("other@example.com", |_| true).await;
    let to_victim = sink
        .mails()
        .iter()
        .filter(|m| m.to.contains(&"victim@example.com".to_owned()))
        .count();
    assert_eq!(to_victim, 5, "more than 5 emails an hour to one address");
    app.finish().await;
}

async fn smtp_down_is_retried_and_delivered_when_back(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (_v, tid) = visitor_with_email(&app, "patient@example.com").await;
    // First a 4xx, then no server at all, then back.
    sink.set_mode(Mode::Transient);
    answer(&admin, &tid, "it will arrive").await;
    sink.wait_data(1).await;
    sink.down().await;
    let before = sink.connections();
    sink.set_mode(Mode::Accept);
    sink.up().await;
    let mail = sink.wait_mail_to("patient@example.com", |_| true).await;
    assert!(mail.part("text/plain").contains("it will arrive"));
    assert!(sink.connections() > before);
    assert_eq!(sink.mails().len(), 1);
    app.finish().await;
}

async fn a_5xx_refusal_is_dead_and_shown_beside_the_thread(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (_v, tid) = visitor_with_email(&app, "nobody@example.com").await;
    answer(&admin, &tid, "undeliverable").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let (s, b) = admin.get("/api/email/status").await;
        assert_eq!(s, 200, "{b}");
        if let Some(d) = b["dead"].as_array().and_then(|d| d.first()).cloned() {
            break d;
        }
        assert!(Instant::now() < deadline, "no dead email shown: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead["thread_id"], json!(tid));
    assert_eq!(dead["kind"], json!("answer"));
    assert!(
        dead["last_error"].as_str().unwrap().contains("550"),
        "{dead}"
    );
    // One try only: a 5xx is not retried.
    assert_eq!(sink.connections(), 1 + 1, "self-test + one send");
    app.finish().await;
}

fn sqlite_or_pg(db: &KeptDb) -> Vec<(String, String)> {
    let (k, v) = db.var();
    vec![(k.to_owned(), v)]
}

async fn kill_9_between_commit_and_send_sends_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Stall);
    let db = KeptDb::new(backend).await;
    let mut env = sink.env();
    env.extend(sqlite_or_pg(&db));
    env.push(("SECRET_KEY".into(), SECRET.into()));
    env.push((
        "UPLOAD_DIR".into(),
        db.path().join("uploads").display().to_string(),
    ));
    let start = |env: &[(String, String)]| binary::spawn(binary::command(env));
    let mut bin = start(&env);
    let mut b = Browser::new(&bin.base);
    b.init().await;
    let (s, body) = b.send(None, "question before the crash").await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = b
        .post(
            "/api/visitor/identify",
            json!({"email": "crash@example.com"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let tid = b.thread_id().await;
    let admin = Browser::new(&bin.base);
    let mut admin = admin;
    admin.init().await;
    let (s, body) = admin.login("admin", "admin123").await;
    assert_eq!(s, 200, "{body}");
    let code = wait_otp(&bin).await;
    let (s, body) = admin.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{body}");
    answer(&admin, &tid, "answer in flight").await;
    // The SMTP transaction has its data; the process dies before the answer.
    sink.wait_data(1).await;
    bin.child.kill().unwrap();
    bin.child.wait().unwrap();
    sink.set_mode(Mode::Accept);
    let bin = start(&env);
    let mail = sink.wait_mail_to("crash@example.com", |_| true).await;
    assert!(mail.part("text/plain").contains("answer in flight"));
    // A later email (a transcript) arrives after any second copy would have.
    let mut b2 = Browser::new(&bin.base);
    let link = local_base(&bin.base, &mail.link("http://chat.acme.example/c/"));
    assert_eq!(open_link(&b2, &link).await.0, 303);
    b2.init().await;
    let (s, body) = b2.post("/api/visitor/transcript", json!({})).await;
    assert_eq!(s, 200, "{body}");
    sink.wait_mail_to("crash@example.com", |m| {
        m.header("Subject").as_deref() == Some("Your conversation")
    })
    .await;
    let answers = sink
        .mails()
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some("You have a reply"))
        .count();
    assert_eq!(answers, 1, "the email in flight was sent {answers} times");
    drop(bin);
}

fn local_base(base: &str, url: &str) -> String {
    url.replace("http://chat.acme.example", base)
}

/// The login code the binary logged (Telegram unset).
async fn wait_otp(bin: &binary::Binary) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = bin.log.lock().unwrap().iter().rev().find_map(|l| {
            l.split("not configured): ")
                .nth(1)
                .map(|r| r[..6].to_owned())
        });
        if let Some(code) = found {
            return code;
        }
        assert!(Instant::now() < deadline, "no OTP in the log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn agents_without_telegram_get_one_email_for_the_waiting_threads(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[("EMAIL_AGENT_DELAY_SECS", "2")]).await;
    let admin = app.admin().await;
    let (s, r) = admin
        .call(
            "PUT",
            "/api/agents/me/email",
            Some(json!({"email": "agent@acme.example"})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let a = app.visitor().await;
    let b1 = app.visitor().await;
    a.send(None, "waiting one").await;
    b1.send(None, "waiting two").await;
    let (ta, tb) = (a.thread_id().await, b1.thread_id().await);
    let mail = sink.wait_mail_to("agent@acme.example", |_| true).await;
    let text = mail.part("text/plain");
    assert!(
        text.contains(&format!("http://chat.acme.example/admin#{ta}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("http://chat.acme.example/admin#{tb}")),
        "{text}"
    );
    assert!(mail.header("List-Unsubscribe").is_some());
    let to_agent = sink
        .mails()
        .iter()
        .filter(|m| m.to.contains(&"agent@acme.example".to_owned()))
        .count();
    assert_eq!(to_agent, 1, "one email for both threads");
    app.finish().await;
}

async fn a_transcript_goes_to_the_stored_address_at_most_three_a_day(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    // No address stored: refused, nothing sent for a typed one.
    let plain = app.visitor().await;
    plain.send(None, "no address here").await;
    let (s, b) = plain
        .post(
            "/api/visitor/transcript",
            json!({"email": "someone@example.com"}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (v, tid) = visitor_with_email(&app, "keep@example.com").await;
    note(&admin, &tid, "NOTE: never in a transcript").await;
    let (s, b) = admin.send(Some(&tid), "an answer for the record").await;
    assert_eq!(s, 200, "{b}");
    for _ in 0..3 {
        let (s, b) = v.post("/api/visitor/transcript", json!({})).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = v.post("/api/visitor/transcript", json!({})).await;
    assert_error(s, &b, 429, "RATE_LIMITED");
    let mail = sink
        .wait_mail_to("keep@example.com", |m| {
            m.header("Subject").as_deref() == Some("Your conversation")
        })
        .await;
    let text = mail.part("text/plain");
    assert!(
        text.contains("hello, a question") && text.contains("an answer for the record"),
        "{text}"
    );
    assert!(!mail.data.contains("NOTE: never"), "a note in a transcript");
    app.finish().await;
}

async fn erasing_a_thread_removes_its_emails(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let mut app = app_with(backend, &sink, &[]).await;
    let admin = app.admin().await;
    let (_v, tid) = visitor_with_email(&app, "gone@example.com").await;
    answer(&admin, &tid, "soon erased").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, b) = admin.get("/api/email/status").await;
        if b["dead"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no dead email: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, r) = admin
        .call("DELETE", &format!("/api/threads/{tid}"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, b) = admin.get("/api/email/status").await;
    assert_eq!(b["dead"], json!([]), "{b}");
    app.finish().await;
}

async fn closing_emails_the_transcript_when_asked_to(backend: Backend) {
    let sink = SmtpSink::start().await;
    let mut app = app_with(backend, &sink, &[("EMAIL_TRANSCRIPT_ON_CLOSE", "true")]).await;
    let admin = app.admin().await;
    let (_v, tid) = visitor_with_email(&app, "closed@example.com").await;
    let (s, b) = admin
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    let mail = sink
        .wait_mail_to("closed@example.com", |m| {
            m.header("Subject").as_deref() == Some("Your conversation")
        })
        .await;
    assert!(mail.part("text/plain").contains("hello, a question"));
    app.finish().await;
}
