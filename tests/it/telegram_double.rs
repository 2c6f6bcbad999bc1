//! The Bot API double itself (tests/it/common/telegram/) answers like
//! Telegram: envelopes, limits, refusals, 429, outage, long polling.

use std::time::{Duration, Instant};

use crate::common::telegram::{ADMIN_CHAT, Incoming, TEXT_LIMIT, TOKEN, TelegramDouble};
use serde_json::{Value, json};

#[tokio::test]
async fn the_double_answers_like_the_bot_api() {
    let tg = TelegramDouble::start().await;
    let client = reqwest::Client::new();
    let send = |body: Value| {
        client
            .post(format!("{}/bot{TOKEN}/sendMessage", tg.url))
            .json(&body)
            .send()
    };
    let answer = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        (s, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (s, a) = answer(
        send(json!({"chat_id": ADMIN_CHAT, "text": "x".repeat(TEXT_LIMIT)}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, &a["ok"]), (200, &json!(true)), "{a}");
    assert_eq!(a["result"]["chat"]["id"], json!(ADMIN_CHAT));
    assert_eq!(a["result"]["from"]["is_bot"], json!(true));
    // 2049 emoji = 4098 UTF-16 units.
    let (s, a) = answer(
        send(json!({"chat_id": ADMIN_CHAT, "text": "🎉".repeat(2049)}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(a["description"], json!("Bad Request: message is too long"));
    let (s, a) = answer(
        send(json!({"chat_id": ADMIN_CHAT, "text": ""}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, &a["description"]),
        (400, &json!("Bad Request: message text is empty"))
    );
    let (s, a) = answer(
        send(json!({"chat_id": ADMIN_CHAT, "text": "1.5", "parse_mode": "MarkdownV2"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        a["description"]
            .as_str()
            .unwrap()
            .starts_with("Bad Request: can't parse entities: "),
        "{a}"
    );
    let (s, _) = answer(send(json!({"chat_id": 1, "text": "hi"})).await.unwrap()).await;
    assert_eq!(s, 400, "unknown chat");
    tg.throttle("sendMessage", 1, 3);
    let (s, a) = answer(
        send(json!({"chat_id": ADMIN_CHAT, "text": "hi"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 429);
    assert_eq!(a["parameters"]["retry_after"], json!(3));
    tg.set_down(true);
    let r = send(json!({"chat_id": ADMIN_CHAT, "text": "hi"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.text().await.unwrap().contains("nginx"));
    tg.set_down(false);
    // The same method with form and multipart bodies (Telegram takes both).
    let r = client
        .post(format!("{}/bot{TOKEN}/sendMessage", tg.url))
        .form(&[
            ("chat_id", ADMIN_CHAT.to_string()),
            ("text", "a form & more".into()),
        ])
        .send()
        .await
        .unwrap();
    let (s, a) = answer(r).await;
    assert_eq!(
        (s, &a["result"]["text"]),
        (200, &json!("a form & more")),
        "{a}"
    );
    let form = reqwest::multipart::Form::new()
        .text("chat_id", ADMIN_CHAT.to_string())
        .text("photo", "attach://pic")
        .text("caption", "a caption")
        .part(
            "pic",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("p.png"),
        );
    let r = client
        .post(format!("{}/bot{TOKEN}/sendPhoto", tg.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (s, a) = answer(r).await;
    assert_eq!(
        (s, &a["result"]["caption"]),
        (200, &json!("a caption")),
        "{a}"
    );
    let sent = tg.calls().into_iter().rfind(|c| c.is("sendPhoto")).unwrap();
    assert_eq!(sent.encoding, "multipart");
    assert_eq!(sent.file("photo").unwrap().bytes, [1, 2, 3]);
    // Long polling with offset semantics.
    let (u1, _) = tg.push(Incoming::text(ADMIN_CHAT, "one"));
    let (u2, _) = tg.push(Incoming::text(ADMIN_CHAT, "two"));
    let poll = |offset: i64| {
        client
            .post(format!("{}/bot{TOKEN}/getUpdates", tg.url))
            .json(&json!({"offset": offset, "timeout": 1}))
            .send()
    };
    let (_, a) = answer(poll(0).await.unwrap()).await;
    assert_eq!(a["result"].as_array().unwrap().len(), 2);
    let (_, a) = answer(poll(u2).await.unwrap()).await;
    assert_eq!(a["result"][0]["update_id"], json!(u2));
    assert_eq!(a["result"].as_array().unwrap().len(), 1, "{u1} confirmed");
    let t = Instant::now();
    let (_, a) = answer(poll(u2 + 1).await.unwrap()).await;
    assert_eq!(a["result"], json!([]));
    assert!(t.elapsed() >= Duration::from_millis(900), "held ~1 s");
    let n = tg.calls().len();
    assert_eq!(tg.calls()[n - 1].method, "getUpdates");
}
