//! Cloudinary storage against a double of its upload API on 127.0.0.1
//! that checks signatures as Cloudinary does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

use super::support::*;
use crate::common::{Backend, assert_error};

// ------------------------------------------------------------ Cloudinary

const CLOUD: &str = "testcloud";
const KEY: &str = "123456789012345";
const SECRET: &str = "test-secret-abc";

/// What the double received: (path, fields without the file, file bytes).
pub(crate) type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>, Vec<u8>)>>>;

/// Cloudinary's signature check ("Authentication signatures"): sorted
/// `key=value&…` of every parameter except file, api_key, resource_type,
/// cloud_name and the signature itself, secret appended, SHA-1 hex.
fn cloudinary_signature(fields: &HashMap<String, String>, secret: &str) -> String {
    use sha1::Digest;
    let mut keys: Vec<&String> = fields
        .keys()
        .filter(|k| {
            !matches!(
                k.as_str(),
                "file" | "api_key" | "resource_type" | "cloud_name" | "signature"
            )
        })
        .collect();
    keys.sort();
    let joined = keys
        .iter()
        .map(|k| format!("{k}={}", fields[*k]))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(sha1::Sha1::digest(format!("{joined}{secret}").as_bytes()))
}

/// A tiny Cloudinary upload API on 127.0.0.1 (and its `destroy`, which
/// answers `ok` for a signed request); `fail` makes it answer 500.
pub(crate) async fn cloudinary_double(fail: bool) -> (String, Seen) {
    use axum::{
        Json, Router,
        extract::{Multipart, Path as AxPath, State},
        http::StatusCode,
        routing::post,
    };
    async fn handle(
        State((seen, fail)): State<(Seen, bool)>,
        AxPath((cloud, resource)): AxPath<(String, String)>,
        mut form: Multipart,
    ) -> (StatusCode, Json<Value>) {
        let mut fields = HashMap::new();
        let mut file = vec![];
        while let Some(f) = form.next_field().await.unwrap() {
            let name = f.name().unwrap().to_owned();
            let data = f.bytes().await.unwrap();
            if name == "file" {
                file = data.to_vec();
            } else {
                fields.insert(name, String::from_utf8(data.to_vec()).unwrap());
            }
        }
        seen.lock().unwrap().push((
            format!("/v1_1/{cloud}/{resource}/upload"),
            fields.clone(),
            file.clone(),
        ));
        let err = |code: StatusCode, m: &str| (code, Json(json!({"error": {"message": m}})));
        if fail {
            return err(StatusCode::INTERNAL_SERVER_ERROR, "General Error");
        }
        if cloud != CLOUD || !matches!(resource.as_str(), "image" | "video") {
            return err(StatusCode::NOT_FOUND, "Invalid cloud or resource type");
        }
        if fields.get("api_key").map(String::as_str) != Some(KEY) {
            return err(StatusCode::UNAUTHORIZED, "Invalid api_key");
        }
        if fields.get("signature") != Some(&cloudinary_signature(&fields, SECRET)) {
            return err(StatusCode::UNAUTHORIZED, "Invalid Signature");
        }
        let ts: i64 = fields["timestamp"].parse().unwrap();
        if (chrono::Utc::now().timestamp() - ts).abs() > 3600 {
            return err(StatusCode::BAD_REQUEST, "Stale request");
        }
        let folder = fields.get("folder").cloned().unwrap_or_default();
        let public_id = format!("{folder}/{}", fields["public_id"]);
        let format = if resource == "image" { "png" } else { "webm" };
        (
            StatusCode::OK,
            Json(json!({
                "asset_id": "3515c6000a548515f1134043f9785c2f",
                "public_id": public_id,
                "version": 1,
                "version_id": "7d2cc533bee9ff39f7da7414b61fce7e",
                "signature": "d0b1009e3271a942836c25756ce3e04d205bf754",
                "width": 1,
                "height": 1,
                "format": format,
                "resource_type": resource,
                "created_at": "2026-01-01T00:00:00Z",
                "tags": [],
                "bytes": file.len(),
                "type": "upload",
                "etag": "0f4f8d6d6e2f6d1d5a4d5e6f7a8b9c0d",
                "placeholder": false,
                "url": format!("http://res.cloudinary.com/{cloud}/{resource}/upload/v1/{public_id}.{format}"),
                "secure_url": format!("https://res.cloudinary.com/{cloud}/{resource}/upload/v1/{public_id}.{format}"),
                "original_filename": "file",
            })),
        )
    }
    /// `destroy`: a urlencoded form, signed like an upload.
    async fn destroy(
        State((seen, fail)): State<(Seen, bool)>,
        AxPath((cloud, resource)): AxPath<(String, String)>,
        axum::extract::Form(fields): axum::extract::Form<HashMap<String, String>>,
    ) -> (StatusCode, Json<Value>) {
        seen.lock().unwrap().push((
            format!("/v1_1/{cloud}/{resource}/destroy"),
            fields.clone(),
            vec![],
        ));
        let err = |code: StatusCode, m: &str| (code, Json(json!({"error": {"message": m}})));
        if fail {
            return err(StatusCode::INTERNAL_SERVER_ERROR, "General Error");
        }
        if cloud != CLOUD || fields.get("api_key").map(String::as_str) != Some(KEY) {
            return err(StatusCode::UNAUTHORIZED, "Invalid api_key");
        }
        if fields.get("signature") != Some(&cloudinary_signature(&fields, SECRET)) {
            return err(StatusCode::UNAUTHORIZED, "Invalid Signature");
        }
        if !fields.contains_key("public_id") {
            return err(
                StatusCode::BAD_REQUEST,
                "Missing required parameter - public_id",
            );
        }
        (StatusCode::OK, Json(json!({"result": "ok"})))
    }
    /// Delivery (`res.cloudinary.com`, issue 27 exports): the bytes of
    /// an upload by its public id, 404 for any other.
    async fn deliver(
        State((seen, _)): State<(Seen, bool)>,
        AxPath((cloud, resource, rest)): AxPath<(String, String, String)>,
    ) -> (StatusCode, Vec<u8>) {
        let id = rest
            .strip_prefix("v1/")
            .and_then(|r| r.rsplit_once('.'))
            .map(|(id, _)| id.to_owned());
        let seen = seen.lock().unwrap();
        let found = seen.iter().find(|(p, f, _)| {
            *p == format!("/v1_1/{cloud}/{resource}/upload")
                && Some(format!(
                    "{}/{}",
                    f.get("folder").cloned().unwrap_or_default(),
                    f.get("public_id").cloned().unwrap_or_default()
                )) == id
        });
        match found {
            Some((_, _, bytes)) => (StatusCode::OK, bytes.clone()),
            None => (StatusCode::NOT_FOUND, vec![]),
        }
    }
    let seen: Seen = Arc::default();
    let router = Router::new()
        .route(
            "/{cloud}/{resource}/upload/{*rest}",
            axum::routing::get(deliver),
        )
        .route("/v1_1/{cloud}/{resource}/upload", post(handle))
        .route("/v1_1/{cloud}/{resource}/destroy", post(destroy))
        .with_state((seen.clone(), fail));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

pub(crate) fn cloudinary_env(api_url: &str) -> [(String, String); 3] {
    cloudinary_env_with(api_url, SECRET)
}

fn cloudinary_env_with(api_url: &str, secret: &str) -> [(String, String); 3] {
    [
        (
            "CLOUDINARY_URL".into(),
            format!("cloudinary://{KEY}:{secret}@{CLOUD}"),
        ),
        ("CLOUDINARY_API_URL".into(), api_url.into()),
        ("CLOUDINARY_DELIVERY_URL".into(), api_url.into()),
    ]
}

#[tokio::test]
async fn cloudinary_gets_signed_uploads_and_its_urls_are_accepted() {
    let (api, seen) = cloudinary_double(false).await;
    let env = cloudinary_env(&api);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (app, dir) = app_with_uploads(Backend::Sqlite, &env).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;

    let (s, r) = upload(&b, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["message"], json!("Image uploaded successfully"));
    let public_id = r["file_path"].as_str().unwrap().to_owned();
    assert!(public_id.starts_with("sohbet/images/"), "{r}");
    let url = r["file_url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("https://res.cloudinary.com/{CLOUD}/image/upload/v1/{public_id}.png")
    );
    let (s, r) = upload(&b, "/api/upload/audio", "v.webm", webm()).await;
    assert_eq!(s, 200, "{r}");
    let aurl = r["file_url"].as_str().unwrap().to_owned();
    assert!(aurl.starts_with(&format!("https://res.cloudinary.com/{CLOUD}/video/upload/")));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, format!("/v1_1/{CLOUD}/image/upload"));
        assert_eq!(seen[0].2, PNG_1X1, "the file's bytes, unchanged");
        assert_eq!(seen[1].0, format!("/v1_1/{CLOUD}/video/upload"));
        assert!(
            seen.iter()
                .all(|(_, f, _)| !f.values().any(|v| v.contains(SECRET))),
            "the secret is never sent"
        );
    }
    // Refused files never reach Cloudinary.
    let (s, r) = upload(
        &b,
        "/api/upload/image",
        "x.svg",
        b"<svg><script/></svg>".to_vec(),
    )
    .await;
    assert_error(s, &r, 415, "UNSUPPORTED_TYPE");
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing on disk");

    send_media(&b, "image", &url, "").await;
    send_media(&b, "audio", &aurl, "").await;
    let other_cloud = url.replace(CLOUD, "othercloud");
    let (s, r) = b
        .post(
            "/api/messages/send",
            json!({"text": "", "type": "image", "file_url": other_cloud}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let msgs = b.messages(&tid, "").await;
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["file_url"], json!(url));
    app.finish().await;
}

#[tokio::test]
async fn a_failing_cloudinary_gives_502_and_stores_nothing() {
    let (api, seen) = cloudinary_double(true).await;
    let env = cloudinary_env(&api);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (app, dir) = app_with_uploads(Backend::Sqlite, &env).await;
    let b = app.visitor().await;
    let (s, r) = upload(&b, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
    assert_error(s, &r, 502, "UPSTREAM_ERROR");
    assert_eq!(seen.lock().unwrap().len(), 1, "the double was asked");
    assert!(!r.to_string().contains(SECRET));
    // An unreachable Cloudinary is the same 502.
    let env = cloudinary_env("http://127.0.0.1:9");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (app2, dir2) = app_with_uploads(Backend::Sqlite, &env).await;
    let b2 = app2.visitor().await;
    let (s, r) = upload(&b2, "/api/upload/audio", "a.wav", wav(1000)).await;
    assert_error(s, &r, 502, "UPSTREAM_ERROR");
    // A wrong secret: the (healthy) double refuses the signature → 502.
    let (api, seen) = cloudinary_double(false).await;
    let env = cloudinary_env_with(&api, "not-the-secret");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (app3, dir3) = app_with_uploads(Backend::Sqlite, &env).await;
    let b3 = app3.visitor().await;
    let (s, r) = upload(&b3, "/api/upload/image", "p.png", PNG_1X1.to_vec()).await;
    assert_error(s, &r, 502, "UPSTREAM_ERROR");
    assert_eq!(seen.lock().unwrap().len(), 1);
    for d in [&dir, &dir2, &dir3] {
        assert!(files_under(&uploads_of(d)).is_empty());
    }
    app.finish().await;
    app2.finish().await;
    app3.finish().await;
}
