//! Edits relayed (issue 23 item 6), on SQLite and Postgres, against the Bot
//! API double: an agent's edit of its answer in Telegram changes the stored
//! text (history, `?after=` catch-up with its `edited`), by long polling
//! and by the webhook; edits of forwards, of someone else's answer, of
//! notes and of messages that are no answer change nothing.

use crate::common::{
    Backend, Browser, TestApp,
    bridge::{
        WAIT, allowed_updates, has_admin_text, send_and_forward, start, start_webhook, texts,
        wait_messages,
    },
    telegram::{ADMIN_CHAT, Incoming, TelegramDouble},
};
use serde_json::{Value, json};

on_both_backends!(
    an_edited_answer_changes_the_history_and_the_catch_up,
    edits_of_forwards_notes_and_other_peoples_messages_are_ignored,
    an_edit_through_the_webhook_is_relayed_and_a_too_long_one_refused,
);

/// `GET /api/messages/{tid}{query}` as `b`: the whole answer (200 asserted).
async fn page(b: &Browser, tid: &str, query: &str) -> Value {
    let (s, r) = b.get(&format!("/api/messages/{tid}{query}")).await;
    assert_eq!(s, 200, "{r}");
    r
}

/// A server wired to a fresh double (long polling) whose visitor asked
/// `question`: the double, the server, the visitor, its thread and the
/// forward's Telegram message id.
async fn asked(
    backend: Backend,
    question: &str,
) -> (TelegramDouble, TestApp, Browser, String, i64) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, question).await;
    (tg, app, v, tid, fwd)
}

async fn an_edited_answer_changes_the_history_and_the_catch_up(backend: Backend) {
    let (tg, mut app, v, tid, fwd) = asked(backend, "Do you ship to Ankara?").await;
    let (_, answer) = tg.push(Incoming::text(ADMIN_CHAT, "Yes, in 2 days.").reply_to(fwd));
    let before = wait_messages(&v, &tid, "the answer", |m| {
        has_admin_text(m, "Yes, in 2 days.")
    })
    .await;
    let (question_id, answer_id) = (before[0]["id"].clone(), before[1]["id"].clone());
    assert!(before[1].get("edited_at").is_none(), "{:#?}", before[1]);

    // Markup is text: stored as written (the pages set it as text).
    let new = "Yes, in 3 days. <b>not bold</b> & \"quoted\"";
    tg.push_edit(answer, new, None)
        .expect("the bot asks for edited_message (allowed_updates)");
    let msgs = wait_messages(&v, &tid, "the edited answer", |m| has_admin_text(m, new)).await;
    assert_eq!(texts(&msgs), ["Do you ship to Ankara?", new]);
    let edited = &msgs[1];
    assert_eq!(edited["id"], answer_id, "the same message, in place");
    assert_eq!(edited["created_at"], before[1]["created_at"]);
    assert_eq!(edited["sender_type"], json!("admin"));
    let at = edited["edited_at"].as_str().expect("edited_at");
    assert!(
        at.ends_with('Z') && at >= before[1]["created_at"].as_str().unwrap(),
        "{at}"
    );

    // The catch-up of a page that had everything up to the answer: no new
    // message, the edit in `edited`.
    let r = page(&v, &tid, &format!("?after={answer_id}")).await;
    assert_eq!(r["messages"], json!([]), "{r}");
    assert_eq!(r["edited"], json!([edited]), "{r}");
    // Up to the question: the answer is new, with its new text (`edited`
    // only holds messages up to `after`).
    let r = page(&v, &tid, &format!("?after={question_id}")).await;
    assert_eq!(r["messages"], json!([edited]), "{r}");
    assert_eq!(r["edited"], json!([]), "{r}");
    // A page without `after` has no `edited`.
    assert!(page(&v, &tid, "").await.get("edited").is_none());
    // The agents see it too.
    let admin = app.admin().await;
    let r = page(&admin, &tid, &format!("?after={answer_id}")).await;
    assert_eq!(r["edited"][0]["content_text"], json!(new), "{r}");

    // A message stored after the edit: nothing was edited since.
    let (s, r) = v.send(None, "Great, thanks").await;
    assert_eq!(s, 200, "{r}");
    let later = r["message_id"].clone();
    let r = page(&v, &tid, &format!("?after={later}")).await;
    assert_eq!(r["edited"], json!([]), "{r}");

    // The edit got no answer in Telegram: updates of one chat are handled
    // in order, so once `/help` is answered, the edit was handled before.
    tg.push(Incoming::text(ADMIN_CHAT, "/help"));
    tg.wait_text_to(ADMIN_CHAT, "the /help answer", WAIT, |t| {
        t.contains("/threads")
    })
    .await;
    assert!(
        !tg.sends_to(ADMIN_CHAT)
            .iter()
            .any(|c| c.text().is_some_and(|t| t.contains("relay"))),
        "{}",
        tg.summary()
    );
    app.finish().await;
}

async fn edits_of_forwards_notes_and_other_peoples_messages_are_ignored(backend: Backend) {
    let (tg, mut app, v, tid, fwd) = asked(backend, "question").await;
    let (_, answer) = tg.push(Incoming::text(ADMIN_CHAT, "the answer").reply_to(fwd));
    let (_, note) = tg.push(Incoming::text(ADMIN_CHAT, "/note agents only").reply_to(fwd));
    let (_, second) = tg.push(Incoming::text(ADMIN_CHAT, "a second answer").reply_to(fwd));
    // Not a reply: only the hint answers it, nothing is stored.
    let (_, stray) = tg.push(Incoming::text(ADMIN_CHAT, "hello?"));
    tg.wait_text_to(ADMIN_CHAT, "the hint", WAIT, |t| {
        t.to_lowercase().contains("reply")
    })
    .await;
    wait_messages(&v, &tid, "the answers", |m| {
        has_admin_text(m, "a second answer")
    })
    .await;

    let edits: [(i64, &str, Option<i64>); 6] = [
        // The bot's forward, as Telegram would report an edit of it (by the bot)…
        (fwd, "forward edited by the bot", None),
        // …and forged as the admin's.
        (fwd, "forward edited by a human", Some(ADMIN_CHAT)),
        // The answer, by someone who is not its author.
        (answer, "edited by someone else", Some(5555)),
        // An internal note made into plain text: a note stays the agents'.
        (note, "the note, now for the visitor?", None),
        // A message that is no answer.
        (stray, "now an answer?", None),
        // An answer made into a note: never (the visitor keeps the answer).
        (answer, "/note the answer, hidden", None),
    ];
    for (id, text, by) in edits {
        tg.push_edit(id, text, by)
            .expect("edited_message asked for");
    }
    // The later marker: its author's own edit of the second answer.
    tg.push_edit(second, "the second answer, edited", None)
        .expect("edited_message asked for");
    let msgs = wait_messages(&v, &tid, "the author's edit", |m| {
        has_admin_text(m, "the second answer, edited")
    })
    .await;
    assert_eq!(
        texts(&msgs),
        ["question", "the answer", "the second answer, edited"]
    );
    let admin = app.admin().await;
    let all = admin.messages(&tid, "").await;
    assert_eq!(
        texts(&all),
        [
            "question",
            "the answer",
            "agents only",
            "the second answer, edited"
        ],
        "the note kept its text"
    );
    for m in &all[..3] {
        assert!(m.get("edited_at").is_none(), "{m:#?}");
    }
    // Ignored without a word: the admin chat got the forward and the hint only.
    let sent: Vec<String> = tg
        .sends_to(ADMIN_CHAT)
        .iter()
        .filter_map(|c| c.text())
        .collect();
    assert_eq!(sent.len(), 2, "{}", tg.summary());
    app.finish().await;
}

async fn an_edit_through_the_webhook_is_relayed_and_a_too_long_one_refused(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let (app, set) = start_webhook(backend, &tg, &[]).await;
    let allowed = allowed_updates(&set);
    assert!(
        allowed.contains(&"edited_message".to_owned()),
        "{allowed:?}"
    );
    let secret = set.str_param("secret_token").expect("secret");
    let client = reqwest::Client::new();
    let post = |update: Value| {
        client
            .post(format!("{}/telegram/webhook", app.base))
            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
            .json(&update)
            .send()
    };

    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, "by webhook").await;
    let reply = tg.update_json(Incoming::text(ADMIN_CHAT, "first words").reply_to(fwd));
    let answer = reply["message"]["message_id"].as_i64().unwrap();
    assert_eq!(post(reply).await.unwrap().status(), 200);
    wait_messages(&v, &tid, "the answer", |m| has_admin_text(m, "first words")).await;

    let edit = tg
        .edit_json(answer, "better words", None)
        .expect("asked for");
    assert_eq!(post(edit).await.unwrap().status(), 200);
    wait_messages(&v, &tid, "the edit", |m| has_admin_text(m, "better words")).await;

    // Over the limit: refused with a word to its author, nothing changes.
    let long = "x".repeat(4001);
    let edit = tg.edit_json(answer, &long, None).expect("asked for");
    assert_eq!(post(edit).await.unwrap().status(), 200);
    let said = tg
        .wait_text_to(ADMIN_CHAT, "the refusal", WAIT, |t| {
            t.starts_with("Edit not relayed")
        })
        .await;
    assert_eq!(
        said.text().as_deref(),
        Some("Edit not relayed: text must be at most 4000 characters")
    );
    assert_eq!(
        texts(&v.messages(&tid, "").await),
        ["by webhook", "better words"]
    );
    app.finish().await;
}
