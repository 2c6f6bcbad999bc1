//! Unit tests of the Flask → sohbet conversion rules.

use super::*;

const ID: &str = "0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b";

fn thread(id: &str) -> FlaskThread {
    FlaskThread {
        id: id.into(),
        display_name: Some(format!("Ziyaretçi {id}")),
        created_at: Some("2024-10-31 23:50:00".into()),
        last_activity_at: Some("2024-11-01 00:20:00".into()),
    }
}

fn text(id: &str, thread: &str, at: &str, body: &str) -> FlaskMessage {
    FlaskMessage {
        id: id.into(),
        thread_id: Some(thread.into()),
        sender: Some("visitor".into()),
        kind: Some("text".into()),
        content_text: Some(body.into()),
        file_path: None,
        created_at: Some(at.into()),
    }
}

fn reasons(c: &Converted) -> Vec<String> {
    c.skipped.iter().map(|s| s.to_string()).collect()
}

#[test]
fn messages_are_ordered_by_time_then_old_row() {
    let data = FlaskData {
        threads: vec![thread("a")],
        messages: vec![
            text("z", "a", "2024-11-01 00:10:00", "second"),
            text("b", "a", "2024-11-01 00:10:00", "third"),
            text("c", "a", "2024-10-31 23:55:00", "first 📦"),
        ],
        links: vec![],
    };
    let c = convert(&data, Path::new("/nonexistent"));
    let texts: Vec<&str> = c.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first 📦", "second", "third"]);
    assert_eq!(
        c.messages[0].created_at.to_rfc3339(),
        "2024-10-31T20:55:00+00:00"
    );
    assert!(c.skipped.is_empty());
}

#[test]
fn rule_breakers_are_skipped_and_named() {
    let mut bot = text("m2", "a", "2024-11-01 00:00:00", "hi");
    bot.sender = Some("bot".into());
    let mut video = text("m3", "a", "2024-11-01 00:00:00", "clip");
    video.kind = Some("video".into());
    let mut no_time = text("m6", "a", "soon", "x");
    no_time.created_at = Some("soon".into());
    let data = FlaskData {
        threads: vec![thread("a"), thread("a")],
        messages: vec![
            text("m1", "a", "2024-11-01 00:00:00", "ok"),
            bot,
            video,
            text("m4", "a", "2024-11-01 00:00:00", "  "),
            text("m5", "ghost", "2024-11-01 00:00:00", "orphan"),
            text("m1", "a", "2024-11-01 00:00:00", "again"),
            no_time,
        ],
        links: vec![
            FlaskLink {
                id: "1".into(),
                thread_id: Some("a".into()),
                tg_chat_id: Some(" 4242".into()),
                tg_message_id: Some("7".into()),
            },
            FlaskLink {
                id: "2".into(),
                thread_id: Some("a".into()),
                tg_chat_id: Some("4242".into()),
                tg_message_id: Some("7".into()),
            },
            FlaskLink {
                id: "3".into(),
                thread_id: Some("a".into()),
                tg_chat_id: Some("@admin".into()),
                tg_message_id: Some("8".into()),
            },
        ],
    };
    let c = convert(&data, Path::new("/nonexistent"));
    assert_eq!(c.threads.len(), 1);
    assert_eq!(c.messages.len(), 1);
    assert_eq!(c.links.len(), 1);
    assert_eq!(c.links[0].tg_chat_id, "4242");
    assert_eq!(
        reasons(&c),
        [
            "threads a: a second thread with this id",
            "messages m2: unknown sender Some(\"bot\")",
            "messages m3: unknown type Some(\"video\")",
            "messages m4: empty text",
            "messages m5: its thread \"ghost\" does not exist or was skipped",
            "messages m1: a second message with this id",
            "messages m6: created_at Some(\"soon\") is not a time",
            "telegram_links 2: same Telegram message as link 1",
            "telegram_links 3: tg_chat_id \"@admin\" is not a chat id",
        ]
    );
}

#[test]
fn media_paths_become_served_urls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    std::fs::write(dir.path().join(format!("images/{ID}.jpg")), b"x").unwrap();
    let want = format!("/uploads/images/{ID}.jpg");
    for path in [
        format!("/uploads/images/{ID}.jpg"),
        format!("uploads/images/{ID}.jpg"),
        format!("images/{ID}.jpg"),
        format!("/app/uploads/images/{ID}.jpg"),
    ] {
        assert_eq!(
            media_url(&path, Kind::Image, dir.path()),
            Ok(want.clone()),
            "{path}"
        );
    }
    let cloud = "https://res.cloudinary.com/demo/video/upload/v1/a.webm";
    assert_eq!(media_url(cloud, Kind::Audio, dir.path()), Ok(cloud.into()));
    for bad in [
        format!("/uploads/audio/{ID}.jpg"),
        format!("/uploads/images/{ID}.png"),
        "/uploads/images/photo.jpg".into(),
        format!("https://evil.example/{ID}.jpg"),
        format!("/uploads/images/../{ID}.jpg"),
    ] {
        assert!(media_url(&bad, Kind::Image, dir.path()).is_err(), "{bad}");
    }
}
