//! Unused uploads are swept after a grace, files of a cleared thread go
//! too, and the upload folder's quota refuses with 507 and stores nothing
//! (issue #8 item 9). The referenced set is read from the database, so these
//! run on SQLite and Postgres.

use std::{path::Path, time::Duration};

use serde_json::json;

use super::support::*;
use crate::common::{Backend, Opts, TestApp, assert_error, spawn};

/// The test grace: short, yet long enough for a message to follow its upload.
const GRACE: (&str, &str) = ("UPLOAD_SWEEP_GRACE_SECS", "3");

/// The local file behind `/uploads/…` `url` under `root`.
fn file_of(root: &Path, url: &str) -> std::path::PathBuf {
    root.join(url.strip_prefix("/uploads/").expect("a local url"))
}

/// Waits (at most 30 s) until `path` is gone; `false` if it stays.
async fn gone(path: &Path) -> bool {
    for _ in 0..300 {
        if !path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Uploads `bytes` as an image and posts a message that carries it; its URL.
async fn post_image(b: &crate::common::Browser, bytes: Vec<u8>) -> String {
    send_image(b, bytes).await.1
}

crate::on_both_backends!(
    unused_uploads_are_swept_and_used_ones_stay,
    clearing_a_thread_lets_the_sweep_remove_its_files,
    the_quota_refuses_with_507_and_stores_nothing,
);

async fn unused_uploads_are_swept_and_used_ones_stay(backend: Backend) {
    let (app, dir) = app_with_uploads(backend, &[GRACE]).await;
    let root = uploads_of(&dir);
    let b = app.visitor().await;
    let used = post_image(&b, PNG_1X1.to_vec()).await;
    let (s, r) = upload(&b, "/api/upload/audio", "a.webm", webm()).await;
    let audio_used = assert_uploaded(s, &r, "audio", "webm");
    send_media(&b, "audio", &audio_used, "").await;
    // Files that are not ours: never touched, whatever their age.
    let foreign = [
        root.join("images/notes.png"),
        root.join("images/.hidden.png"),
        root.join("keep.txt"),
    ];
    for f in &foreign {
        std::fs::write(f, b"x").unwrap();
    }
    // Uploaded after the messages above: once it is swept, a pass ran in
    // which the used files were old enough too.
    let (s, r) = upload(&b, "/api/upload/image", "u.png", PNG_1X1.to_vec()).await;
    let unused = assert_uploaded(s, &r, "images", "png");
    assert!(file_of(&root, &unused).exists());
    assert!(
        gone(&file_of(&root, &unused)).await,
        "an unused upload outlived the grace"
    );
    assert!(file_of(&root, &used).exists(), "a used image was removed");
    assert!(
        file_of(&root, &audio_used).exists(),
        "a used audio file was removed"
    );
    for f in &foreign {
        assert!(f.exists(), "{f:?} removed");
    }
    let res = reqwest::get(format!("{}{used}", app.base)).await.unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}

async fn clearing_a_thread_lets_the_sweep_remove_its_files(backend: Backend) {
    let (mut app, dir) = app_with_uploads(backend, &[GRACE]).await;
    let root = uploads_of(&dir);
    let admin = app.admin().await;
    let cleared = app.visitor().await;
    let other = app.visitor().await;
    let gone_with_thread = [
        post_image(&cleared, PNG_1X1.to_vec()).await,
        post_image(&cleared, padded_png(2000)).await,
    ];
    let stays = post_image(&other, padded_png(3000)).await;
    // Used: kept past the grace (an unused upload made later is swept first).
    let (s, r) = upload(&other, "/api/upload/image", "u.png", PNG_1X1.to_vec()).await;
    let probe = assert_uploaded(s, &r, "images", "png");
    assert!(gone(&file_of(&root, &probe)).await);
    for url in &gone_with_thread {
        assert!(file_of(&root, url).exists(), "{url} removed while used");
    }
    let tid = cleared.thread_id().await;
    let (s, r) = admin
        .post("/api/messages/clear", json!({"thread_id": tid}))
        .await;
    assert_eq!(s, 200, "{r}");
    for url in &gone_with_thread {
        assert!(
            gone(&file_of(&root, url)).await,
            "{url} of a cleared thread stayed"
        );
    }
    assert!(
        file_of(&root, &stays).exists(),
        "another thread's file went"
    );
    app.finish().await;
}

async fn the_quota_refuses_with_507_and_stores_nothing(backend: Backend) {
    // A file already in the folder counts from the start.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("uploads");
    std::fs::create_dir_all(root.join("images")).unwrap();
    let old = root.join(format!("images/{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&old, padded_png(300 * 1024)).unwrap();
    let root_s = root.display().to_string();
    let mut app: TestApp = spawn(Opts::new(backend).envs(&[
        ("UPLOAD_DIR", root_s.as_str()),
        ("UPLOAD_QUOTA_MB", "1"),
        GRACE,
    ]))
    .await;
    let admin = app.admin().await;
    let b = app.visitor().await;
    let old_url = format!(
        "/uploads/images/{}",
        old.file_name().unwrap().to_string_lossy()
    );
    send_media(&b, "image", &old_url, "").await;
    // 300 KiB + 400 KiB fit in 1 MiB.
    let first = post_image(&b, padded_png(400 * 1024)).await;
    // 400 KiB more does not: refused while streaming, nothing kept.
    let (s, r) = upload(&b, "/api/upload/image", "p.png", padded_png(400 * 1024)).await;
    assert_error(s, &r, 507, "INSUFFICIENT_STORAGE");
    // Far over the room: refused from its Content-Length.
    let (s, r) = upload(
        &b,
        "/api/upload/image",
        "p.png",
        padded_png(2 * 1024 * 1024),
    )
    .await;
    assert_error(s, &r, 507, "INSUFFICIENT_STORAGE");
    let files = files_under(&root);
    assert_eq!(files.len(), 2, "only the two stored files: {files:?}");
    // Clearing the thread lets the sweep free both.
    let tid = b.thread_id().await;
    let (s, r) = admin
        .post("/api/messages/clear", json!({"thread_id": tid}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(gone(&old).await && gone(&file_of(&root, &first)).await);
    // The next sweep measured the folder again: there is room now.
    let mut ok = false;
    for _ in 0..50 {
        let (s, r) = upload(&b, "/api/upload/image", "p.png", padded_png(400 * 1024)).await;
        if s == 200 {
            ok = true;
            break;
        }
        assert_error(s, &r, 507, "INSUFFICIENT_STORAGE");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "no room after the sweep emptied the folder");
    app.finish().await;
}
