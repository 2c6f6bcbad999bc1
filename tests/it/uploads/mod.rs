//! Uploads (`docs/uploads.md`): `POST /api/upload/image|audio`, serving
//! `/uploads/…` and media messages on local disk; Cloudinary through an
//! HTTP test double in `cloudinary.rs`. Every file is made in `support.rs`
//! (no binaries in the repository).

pub(crate) mod cloudinary;
mod limits;
pub(crate) mod support;
mod sweep;

use crate::common::{Backend, assert_error};
use serde_json::{Value, json};
use support::*;

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn every_accepted_format_is_judged_by_its_bytes() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    // Names and declared types are deliberately wrong: only the bytes count.
    let images: [(Vec<u8>, &str); 4] = [
        (PNG_1X1.to_vec(), "png"),
        (GIF_1X1.to_vec(), "gif"),
        (jpeg_1x1(), "jpg"),
        (WEBP_1X1.to_vec(), "webp"),
    ];
    for (bytes, ext) in images {
        let (s, r) = upload_as(
            &b,
            "/api/upload/image",
            "file",
            "x.txt",
            "text/plain",
            bytes,
        )
        .await;
        assert_uploaded(s, &r, "images", ext);
    }
    let audio: [(Vec<u8>, &str); 6] = [
        (wav(4000), "wav"),
        (mp3_frame(), "mp3"),
        (
            [b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec(), mp3_frame()].concat(),
            "mp3",
        ),
        (ogg_opus(), "ogg"),
        (webm(), "webm"),
        (m4a(), "m4a"),
    ];
    for (bytes, ext) in audio {
        let (s, r) = upload_as(&b, "/api/upload/audio", "file", "a.png", "image/png", bytes).await;
        assert_uploaded(s, &r, "audio", ext);
    }
    // An image is no audio and the other way round.
    let (s, r) = upload(&b, "/api/upload/audio", "a.mp3", PNG_1X1.to_vec()).await;
    assert_error(s, &r, 415, "UNSUPPORTED_TYPE");
    let (s, r) = upload(&b, "/api/upload/image", "a.png", wav(100)).await;
    assert_error(s, &r, 415, "UNSUPPORTED_TYPE");
    let names = files_under(&uploads_of(&dir));
    assert_eq!(names.len(), 10, "{names:?}");
    app.finish().await;
}

#[tokio::test]
async fn markup_text_and_empty_files_are_refused_and_leave_nothing() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let refused: [(&str, &str, &[u8]); 4] = [
        ("photo.png", "image/png", b"<!DOCTYPE html><html><body><script>alert(1)</script>"),
        (
            "logo.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"><script>alert(1)</script></svg>",
        ),
        ("notes.txt", "text/plain", b"hello, just text\n"),
        ("empty.png", "image/png", b""),
    ];
    for (name, mime, bytes) in refused {
        for path in ["/api/upload/image", "/api/upload/audio"] {
            let (s, r) = upload_as(&b, path, "file", name, mime, bytes.to_vec()).await;
            assert_error(s, &r, 415, "UNSUPPORTED_TYPE");
        }
    }
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing kept");
    app.finish().await;
}

#[tokio::test]
async fn size_limits_hold_at_the_exact_boundary() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let padded_png = |len: usize| {
        let mut v = PNG_1X1.to_vec();
        v.resize(len, 0);
        v
    };
    let (s, r) = upload(&b, "/api/upload/image", "big.png", padded_png(5 * MIB)).await;
    assert_uploaded(s, &r, "images", "png");
    let (s, r) = upload(&b, "/api/upload/image", "big.png", padded_png(5 * MIB + 1)).await;
    assert_error(s, &r, 413, "FILE_TOO_LARGE");
    let (s, r) = upload(&b, "/api/upload/audio", "big.wav", wav(10 * MIB)).await;
    assert_uploaded(s, &r, "audio", "wav");
    let (s, r) = upload(&b, "/api/upload/audio", "big.wav", wav(10 * MIB + 1)).await;
    assert_error(s, &r, 413, "FILE_TOO_LARGE");
    // Only the two accepted files remain: no temporary files either.
    let files = files_under(&uploads_of(&dir));
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.file_name().unwrap().to_string_lossy().starts_with('.')),
        "{files:?}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_body_far_over_the_limit_is_cut_off_while_streaming() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let mut huge = PNG_1X1.to_vec();
    huge.resize(40 * MIB, 0);
    let part = reqwest::multipart::Part::bytes(huge).file_name("huge.png");
    let res = b
        .client
        .post(format!("{}/api/upload/image", b.base))
        .header("X-CSRFToken", &b.csrf)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await;
    // The declared length is over the limit: the server answers 413 at
    // once, discards at most 32 MiB more and closes the connection; a
    // client still sending after that may see a reset instead.
    if let Ok(r) = res {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_error(status, &body, 413, "FILE_TOO_LARGE");
    }
    assert!(files_under(&uploads_of(&dir)).is_empty());
    // The server is fine afterwards.
    let (s, r) = upload(&b, "/api/upload/image", "ok.png", PNG_1X1.to_vec()).await;
    assert_uploaded(s, &r, "images", "png");
    app.finish().await;
}

#[tokio::test]
async fn oversized_dimensions_are_refused_from_the_header() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let (s, r) = upload(&b, "/api/upload/image", "wide.png", png_header(9000, 1)).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert!(r["error"].as_str().unwrap().contains("8192"), "{r}");
    let (s, r) = upload(&b, "/api/upload/image", "tall.png", png_header(1, 8193)).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = upload(&b, "/api/upload/image", "edge.png", png_header(8192, 8192)).await;
    assert_uploaded(s, &r, "images", "png");
    // PNG magic with a broken header is no image.
    let (s, r) = upload(
        &b,
        "/api/upload/image",
        "bad.png",
        b"\x89PNG\r\n\x1a\n".to_vec(),
    )
    .await;
    assert_error(s, &r, 415, "UNSUPPORTED_TYPE");
    assert_eq!(files_under(&uploads_of(&dir)).len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn the_client_file_name_never_reaches_a_path() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    for name in [
        "../../evil.png",
        "..\\..\\evil.png",
        "/etc/evil.png",
        ".htaccess",
    ] {
        let (s, r) = upload(&b, "/api/upload/image", name, PNG_1X1.to_vec()).await;
        let url = assert_uploaded(s, &r, "images", "png");
        assert!(!url.contains("evil"), "{url}");
    }
    let everything = files_under(dir.path());
    assert!(
        everything
            .iter()
            .all(|p| p.starts_with(uploads_of(&dir).join("images"))),
        "{everything:?}"
    );
    assert_eq!(everything.len(), 4);
    app.finish().await;
}

#[tokio::test]
async fn bad_forms_get_clear_errors() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    // No `file` field.
    let (s, r) = upload_as(
        &b,
        "/api/upload/image",
        "picture",
        "a.png",
        "image/png",
        PNG_1X1.to_vec(),
    )
    .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    // Not multipart at all.
    let (s, r) = b.post("/api/upload/image", json!({"file": "x"})).await;
    assert_error(s, &r, 400, "BAD_REQUEST");
    // No CSRF token.
    let part = reqwest::multipart::Part::bytes(PNG_1X1.to_vec()).file_name("a.png");
    let res = b
        .client
        .post(format!("{}/api/upload/image", b.base))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert_error(status, &res.json().await.unwrap(), 403, "CSRF_FAILED");
    // GET is not an upload.
    let (s, r) = b.get("/api/upload/image").await;
    assert_eq!(s, 405, "{r}");
    assert!(files_under(&uploads_of(&dir)).is_empty());
    app.finish().await;
}

#[tokio::test]
async fn two_uploads_at_once_both_succeed_under_different_names() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let mut big = PNG_1X1.to_vec();
    big.resize(2 * MIB, 7);
    let (one, two) = tokio::join!(
        upload(&b, "/api/upload/image", "same.png", big.clone()),
        upload(&b, "/api/upload/image", "same.png", big),
    );
    let u1 = assert_uploaded(one.0, &one.1, "images", "png");
    let u2 = assert_uploaded(two.0, &two.1, "images", "png");
    assert_ne!(u1, u2);
    assert_eq!(files_under(&uploads_of(&dir)).len(), 2);
    app.finish().await;
}

#[tokio::test]
async fn uploads_are_served_inert_with_ranges() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let (s, r) = upload(&b, "/api/upload/image", "a.png", PNG_1X1.to_vec()).await;
    let url = assert_uploaded(s, &r, "images", "png");
    let full = format!("{}{url}", app.base);
    let res = reqwest::get(&full).await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG_1X1);
    let res = reqwest::Client::new()
        .get(&full)
        .header("Range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 0-3/{}", PNG_1X1.len()).as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &PNG_1X1[..4]);
    // Audio keeps its sniffed type (WebM recorded as audio).
    let (s, r) = upload(&b, "/api/upload/audio", "v.bin", webm()).await;
    let aurl = assert_uploaded(s, &r, "audio", "webm");
    let res = reqwest::get(format!("{}{aurl}", app.base)).await.unwrap();
    assert_eq!(res.headers()["content-type"], "audio/webm");
    // Only our names are served: no listing, no dotfiles, no other folders.
    std::fs::write(uploads_of(&dir).join("images/.secret.png"), b"x").unwrap();
    std::fs::write(uploads_of(&dir).join("images/notes.png"), b"x").unwrap();
    let missing = format!("/uploads/images/{}.png", uuid::Uuid::new_v4());
    let name = url.rsplit('/').next().unwrap().to_owned();
    for path in [
        "/uploads/".to_owned(),
        "/uploads/images/".to_owned(),
        "/uploads/images".to_owned(),
        "/uploads/images/.secret.png".to_owned(),
        "/uploads/images/notes.png".to_owned(),
        "/uploads/images/..%2F..%2Fchat.db".to_owned(),
        format!("/uploads/audio/{name}"),
        format!("/uploads/other/{name}"),
        missing,
    ] {
        let res = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["code"], json!("NOT_FOUND"), "{path}");
    }
    app.finish().await;
}

#[tokio::test]
async fn uploads_are_rate_limited_per_session_before_the_body_is_read() {
    let (app, dir) =
        app_with_uploads(Backend::Sqlite, &[("RATE_LIMIT_UPLOADS_PER_MINUTE", "2")]).await;
    let b = app.visitor().await;
    for _ in 0..2 {
        let (s, r) = upload(&b, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
        assert_uploaded(s, &r, "images", "png");
    }
    let (s, r) = upload(&b, "/api/upload/audio", "a.wav", wav(100)).await;
    assert_error(s, &r, 429, "RATE_LIMITED");
    assert_eq!(files_under(&uploads_of(&dir)).len(), 2);
    // Another browser has its own budget.
    let other = app.visitor().await;
    let (s, r) = upload(&other, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
    assert_uploaded(s, &r, "images", "png");
    app.finish().await;
}

// ------------------------------------------------------- media messages

on_both_backends!(a_media_message_needs_an_uploaded_url);

async fn a_media_message_needs_an_uploaded_url(backend: Backend) {
    let (app, _dir) = app_with_uploads(backend, &[]).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    let (s, r) = upload(&b, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
    let url = assert_uploaded(s, &r, "images", "png");
    send_media(&b, "image", &url, "").await;
    let (s, r) = upload(&b, "/api/upload/audio", "v.webm", webm()).await;
    let aurl = assert_uploaded(s, &r, "audio", "webm");
    send_media(&b, "audio", &aurl, "listen").await;
    for (kind, foreign) in [
        ("image", "https://evil.example/p.png".to_owned()),
        (
            "image",
            format!("/uploads/images/{}.svg", uuid::Uuid::new_v4()),
        ),
        ("image", aurl.clone()),
        (
            "audio",
            "https://res.cloudinary.com/any/video/upload/v1/a.webm".into(),
        ),
    ] {
        let (s, r) = b
            .post(
                "/api/messages/send",
                json!({"text": "", "type": kind, "file_url": foreign}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    let msgs = b.messages(&tid, "").await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0]["content_type"], json!("image"));
    assert_eq!(msgs[0]["file_url"], json!(url));
    assert_eq!(msgs[1]["content_type"], json!("audio"));
    assert_eq!(msgs[1]["file_url"], json!(aurl));
    assert_eq!(msgs[1]["content_text"], json!("listen"));
    app.finish().await;
}

/// Multipart names that are not UTF-8 (issue #5 § Bad input): a clear 4xx,
/// or the file stored under our own name; never a 5xx, never the client's name.
#[tokio::test]
async fn invalid_utf8_in_multipart_names_is_handled() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let b = app.visitor().await;
    let raw = |field: &[u8], filename: &[u8]| {
        let mut body = Vec::new();
        body.extend_from_slice(b"--XbOuNdArY\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(field);
        body.extend_from_slice(b"\"; filename=\"");
        body.extend_from_slice(filename);
        body.extend_from_slice(b"\"\r\nContent-Type: image/png\r\n\r\n");
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(b"\r\n--XbOuNdArY--\r\n");
        body
    };
    let post = |body: Vec<u8>| {
        b.client
            .post(format!("{}/api/upload/image", b.base))
            .header("X-CSRFToken", &b.csrf)
            .header("content-type", "multipart/form-data; boundary=XbOuNdArY")
            .body(body)
            .send()
    };
    // A field name that is not UTF-8: no `file` field.
    let res = post(raw(b"fi\xffle", b"a.png")).await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert!(matches!(status, 400 | 415), "{status} {body}");
    assert_eq!(body["success"], json!(false));
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing stored");
    // A file name that is not UTF-8 (and tries to climb): stored under a UUID, or refused cleanly.
    let res = post(raw(b"file", b"..\xfe\xff/../evil.png")).await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert!(status < 500, "{status} {body}");
    if status == 200 {
        let url = body["file_url"].as_str().unwrap();
        assert!(
            !url.contains("evil") && url.starts_with("/uploads/images/"),
            "{url}"
        );
    } else {
        assert_eq!(body["success"], json!(false));
    }
    for f in files_under(&uploads_of(&dir)) {
        assert!(!f.to_string_lossy().contains("evil"), "{f:?}");
    }
    app.finish().await;
}
