//! Media both ways, on SQLite and Postgres: visitor photos, voice notes and
//! audio reach Telegram (a caption too long follows as text, retried in
//! place), the admin's media reach the visitor, and missing files (issue 8)
//! are refused when posted or end `dead` after one try.

use crate::common::{
    Backend, KeptDb, assert_error,
    bridge::{
        WAIT, health, outbox_rows, png_upload, send_and_forward, send_calls, start,
        wait_backlog_empty, wait_forward, wait_messages, wait_telegram_healthy, wired,
    },
    spawn,
    telegram::{ADMIN_CHAT, CAPTION_LIMIT, Call, Incoming, Media, TEXT_LIMIT, TelegramDouble},
};
use serde_json::json;
use sohbet::chat::display_name_for;

on_both_backends!(
    visitor_media_reaches_telegram_as_photo_voice_and_audio,
    admin_media_replies_reach_the_visitor,
    a_post_naming_a_missing_upload_is_refused_and_stores_nothing,
    a_forward_whose_file_vanished_ends_dead_after_one_try,
    a_failed_follow_up_of_a_long_caption_is_retried_in_place,
);

async fn visitor_media_reaches_telegram_as_photo_voice_and_audio(backend: Backend) {
    // The files are put where uploads live, under names as the upload
    // storage gives them (`<uuid>.<ext>`), and the messages name them.
    let uploads = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(uploads.path().join("images")).unwrap();
    std::fs::create_dir_all(uploads.path().join("audio")).unwrap();
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[7u8; 300][..]].concat();
    let ogg: Vec<u8> = [&b"OggS\0\x02"[..], &[1u8; 500][..]].concat();
    let mp3: Vec<u8> = [&b"ID3\x04\0\0"[..], &[2u8; 700][..]].concat();
    let pic = format!("images/{}.png", uuid::Uuid::new_v4());
    let note = format!("audio/{}.ogg", uuid::Uuid::new_v4());
    let song = format!("audio/{}.mp3", uuid::Uuid::new_v4());
    std::fs::write(uploads.path().join(&pic), &png).unwrap();
    std::fs::write(uploads.path().join(&note), &ogg).unwrap();
    std::fs::write(uploads.path().join(&song), &mp3).unwrap();
    let dir = uploads.path().display().to_string();

    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[("UPLOAD_DIR", &dir)]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let name = display_name_for(&tid);
    let long_caption = "c".repeat(CAPTION_LIMIT + 10);
    for (kind, url, text) in [
        ("image", format!("/uploads/{pic}"), "look at this"),
        ("audio", format!("/uploads/{note}"), ""),
        ("audio", format!("/uploads/{song}"), long_caption.as_str()),
    ] {
        let (s, r) = v
            .post(
                "/api/messages/send",
                json!({"type": kind, "file_url": url, "text": text}),
            )
            .await;
        assert_eq!(s, 200, "{kind} {url}: {r}");
    }
    let media: Vec<Call> = tg
        .wait_for("three media forwards", WAIT, |calls| {
            let m: Vec<Call> = calls
                .iter()
                .filter(|c| {
                    c.ok()
                        && ["sendPhoto", "sendVoice", "sendAudio", "sendDocument"]
                            .iter()
                            .any(|x| c.is(x))
                })
                .cloned()
                .collect();
            (m.len() >= 3).then_some(m)
        })
        .await;
    let methods: Vec<String> = media
        .iter()
        .map(|c| c.method.to_ascii_lowercase())
        .collect();
    assert_eq!(methods, ["sendphoto", "sendvoice", "sendaudio"]);
    assert_eq!(
        media[0].caption().unwrap(),
        format!("[{name}] look at this")
    );
    assert_eq!(media[0].file("photo").expect("photo bytes").bytes, png);
    assert_eq!(media[1].caption().unwrap(), format!("[{name}]"));
    assert_eq!(media[1].file("voice").expect("voice bytes").bytes, ogg);
    assert_eq!(media[2].file("audio").expect("audio bytes").bytes, mp3);
    for c in &media {
        assert_eq!(c.chat_id(), Some(ADMIN_CHAT));
        assert_eq!(c.parse_mode(), None);
        assert_eq!(c.encoding, "multipart");
    }
    // The caption too long for Telegram follows as text.
    let rest = tg
        .wait_text_to(ADMIN_CHAT, "the long caption as text", WAIT, |t| {
            t.contains("ccc")
        })
        .await;
    assert!(rest.text().unwrap().starts_with(&format!("[{name}]")));
    tg.wait_for("the whole long caption", WAIT, |calls| {
        let cs: usize = calls
            .iter()
            .filter(|c| c.is("sendMessage") && c.ok())
            .filter_map(|c| c.text())
            .map(|t| t.matches('c').count())
            .sum();
        (cs >= CAPTION_LIMIT + 10).then_some(())
    })
    .await;
    app.finish().await;
}

async fn admin_media_replies_reach_the_visitor(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, "send me a picture").await;
    // A real 1x1 JPEG (the upload storage reads its header).
    const JPEG_1X1_HEX: &str = "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e\
        1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d7179\
        7064785c656763ffc0000b080001000101011100ffc40014000100000000000000000000000000000000ffc4001410\
        0100000000000000000000000000000000ffda0008010100003f003fffd9";
    let jpg: Vec<u8> = hex::decode(JPEG_1X1_HEX).expect("hex");
    tg.push(
        Incoming::media(ADMIN_CHAT, Media::Photo(jpg.clone()), Some("here it is")).reply_to(fwd),
    );
    // The app fetches the file from Telegram: getFile, then the download.
    tg.wait_call("getFile", WAIT, |c| c.is("getFile") && c.ok())
        .await;
    tg.wait_call("the file download", WAIT, |c| c.method == "file" && c.ok())
        .await;
    // Stored (a refused media would get an explanation in Telegram instead,
    // checked at the end).
    let msgs = wait_messages(&v, &tid, "the admin's photo", |m| {
        m.iter()
            .any(|m| m["sender_type"] == json!("admin") && m["content_type"] == json!("image"))
    })
    .await;
    let m = msgs
        .iter()
        .find(|m| m["content_type"] == json!("image"))
        .unwrap();
    assert_eq!(m["content_text"], json!("here it is"));
    let url = m["file_url"].as_str().expect("file_url");
    assert!(url.starts_with("/uploads/images/"), "{url}");
    let got = v
        .client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), jpg);

    let mut ogg = b"OggS\x00\x02".to_vec(); // an Ogg page with an OpusHead packet
    ogg.extend_from_slice(&[0u8; 8]);
    ogg.extend_from_slice(&0x1234u32.to_le_bytes());
    ogg.extend_from_slice(&[0u8; 8]);
    ogg.extend_from_slice(&[1, 19]);
    ogg.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00");
    tg.push(Incoming::media(ADMIN_CHAT, Media::Voice(ogg.clone()), None).reply_to(fwd));
    let msgs = wait_messages(&v, &tid, "the admin's voice note", |m| {
        m.iter()
            .any(|m| m["sender_type"] == json!("admin") && m["content_type"] == json!("audio"))
    })
    .await;
    let m = msgs
        .iter()
        .find(|m| m["content_type"] == json!("audio"))
        .unwrap();
    let url = m["file_url"].as_str().expect("file_url");
    assert!(url.starts_with("/uploads/audio/"), "{url}");
    let got = v
        .client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), ogg);
    // No error went back to the admin.
    assert_eq!(tg.sends_to(ADMIN_CHAT).len(), 1, "{}", tg.summary());
    app.finish().await;
}

/// Issue 8 item 1: a `file_url` in our format whose file does not exist is
/// refused when posted (contract error shape), and nothing is stored or
/// queued for Telegram.
async fn a_post_naming_a_missing_upload_is_refused_and_stores_nothing(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    for (kind, url) in [
        (
            "image",
            format!("/uploads/images/{}.png", uuid::Uuid::new_v4()),
        ),
        (
            "audio",
            format!("/uploads/audio/{}.ogg", uuid::Uuid::new_v4()),
        ),
    ] {
        let (s, r) = v
            .post(
                "/api/messages/send",
                json!({"type": kind, "file_url": url, "text": "look"}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(
            r["error"].as_str().unwrap().contains("no uploaded file"),
            "{r}"
        );
    }
    assert!(v.messages(&tid, "").await.is_empty(), "nothing stored");
    let (_, h) = health(&app).await;
    assert_eq!(h["checks"]["telegram_outbox_backlog"], json!(0), "{h}");
    // The thread's next message is forwarded, and was the first to be.
    send_and_forward(&tg, &v, &tid, "a text after the refusals").await;
    assert_eq!(
        send_calls(&tg),
        1,
        "only the text forwarded:\n{}",
        tg.summary()
    );
    app.finish().await;
}

/// Issue 8 item 1: a forward whose local file vanished after the post is a
/// permanent failure: `dead` after one try (never sent, never retried), and
/// the thread's next forward goes out behind it.
async fn a_forward_whose_file_vanished_ends_dead_after_one_try(backend: Backend) {
    let uploads = tempfile::tempdir().unwrap();
    let (pic, _) = png_upload(uploads.path());
    let dir = uploads.path().display().to_string();
    let tg = TelegramDouble::start().await;
    let db = KeptDb::new(backend).await;
    let app = spawn(wired(backend, &tg, &[("UPLOAD_DIR", &dir)]).db(&db)).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    wait_telegram_healthy(&app).await;

    // The worker is busy with the thread's first forward while the image
    // is posted and its file removed.
    tg.hold_sends_containing("#hold");
    assert_eq!(v.send(None, "#hold the line").await.0, 200);
    tg.wait_call("the held forward", WAIT, |c| {
        c.text().is_some_and(|t| t.contains("#hold"))
    })
    .await;
    let (s, r) = v
        .post(
            "/api/messages/send",
            json!({"type": "image", "file_url": format!("/uploads/{pic}"), "text": "gone soon"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    std::fs::remove_file(uploads.path().join(&pic)).unwrap();
    assert_eq!(v.send(None, "after the image").await.0, 200);
    tg.release();

    wait_forward(&tg, &tid, "after the image", WAIT).await;
    wait_backlog_empty(&app).await;
    let rows = outbox_rows(&db).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(statuses, ["sent", "dead", "sent"], "{rows:?}");
    assert_eq!(rows[1].1, 1, "one try: {rows:?}");
    assert!(
        rows[1].2.as_deref().is_some_and(|e| e.contains("missing")),
        "{rows:?}"
    );
    tg.with_calls(|calls| {
        assert!(
            !calls
                .iter()
                .any(|c| c.is("sendPhoto") || c.is("sendDocument")),
            "the missing file was not sent:\n{}",
            tg.summary()
        )
    });
    app.finish().await;
}

/// Review fix: an image whose caption is too long for Telegram goes out as
/// a photo, then the caption as text. When the first follow-up text fails
/// once (429), the retry sends exactly the parts not yet sent: every part
/// once, in order, and the row ends `sent`. (The retry used to count its
/// parts in the text-only list: with one follow-up nothing was left, the
/// row stayed due and the worker spun on it; with two, the first was lost.)
async fn a_failed_follow_up_of_a_long_caption_is_retried_in_place(backend: Backend) {
    let uploads = tempfile::tempdir().unwrap();
    let (pic, _) = png_upload(uploads.path());
    let dir = uploads.path().display().to_string();
    let tg = TelegramDouble::start().await;
    let db = KeptDb::new(backend).await;
    let app = spawn(wired(backend, &tg, &[("UPLOAD_DIR", &dir)]).db(&db)).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let name = display_name_for(&tid);
    wait_telegram_healthy(&app).await;

    // One follow-up text, then two (a caption longer than one text:
    // within the 4000 characters a message may have, but each emoji is two
    // UTF-16 units for Telegram).
    let captions = [
        format!("one-follow {}", "a".repeat(CAPTION_LIMIT + 10)),
        format!("two-follow {} end", "🎉".repeat(TEXT_LIMIT / 2 + 10)),
    ];
    let mut want: Vec<(String, String)> = Vec::new();
    for caption in &captions {
        let rest = sohbet::telegram::format::forward_texts(&name, caption);
        want.push(("sendphoto".into(), format!("[{name}]")));
        want.extend(rest.iter().map(|t| ("sendmessage".into(), t.clone())));
        tg.throttle("sendMessage", 1, 1);
        let (s, r) = v
            .post(
                "/api/messages/send",
                json!({"type": "image", "file_url": format!("/uploads/{pic}"), "text": caption}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let last = rest.last().unwrap().clone();
        tg.wait_text_to(ADMIN_CHAT, "the caption's last part", WAIT, |t| t == last)
            .await;
    }
    assert_eq!(want.iter().filter(|w| w.0 == "sendmessage").count(), 3);
    // A later forward of the thread: any resend of a part came before it.
    send_and_forward(&tg, &v, &tid, "after the captions").await;
    want.push(("sendmessage".into(), format!("[{name}] after the captions")));
    wait_backlog_empty(&app).await;
    let got: Vec<(String, String)> = tg
        .sends_to(ADMIN_CHAT)
        .iter()
        .map(|c| {
            let body = c.text().or_else(|| c.caption()).unwrap_or_default();
            (c.method.to_ascii_lowercase(), body)
        })
        .collect();
    assert!(got == want, "every part once, in order:\n{}", tg.summary());
    let throttled = tg.with_calls(|c| c.iter().filter(|c| c.status == 429).count());
    assert_eq!(throttled, 2, "{}", tg.summary());
    let rows = outbox_rows(&db).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(statuses, ["sent", "sent", "sent"], "{rows:?}");
    app.finish().await;
}
