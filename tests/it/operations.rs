//! Operators' polish (issue 15): static caching and compression, CORS for
//! `ALLOWED_ORIGINS`, `TRUSTED_PROXIES`, `/metrics`.

use crate::common::{Backend, Opts, spawn};
use reqwest::header;
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The digest URL (`/static/<digest>/…`) the visitor page writes for its script.
async fn asset_url(base: &str) -> String {
    let html = client()
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let end = html.find("/js/visitor.js\"").expect("visitor.js URL") + "/js/visitor.js".len();
    let start = html[..end].rfind("\"/static/").expect("static URL") + 1;
    html[start..end].to_owned()
}

#[tokio::test]
async fn digest_urls_are_immutable_other_static_urls_and_pages_revalidate() {
    let app = spawn(Backend::Sqlite).await;
    let c = client();
    let page = c.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.headers()[header::CACHE_CONTROL], "private, no-cache");
    let url = asset_url(&app.base).await;
    let res = c.get(format!("{}{url}", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    for other in [
        "/static/js/visitor.js",
        "/static/js/visitor.js?v=000000000000",
        "/static/000000000000/js/visitor.js",
    ] {
        let res = c.get(format!("{}{other}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{other}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{other}");
    }
    let missing = c
        .get(format!("{}/static/nope.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
    app.finish().await;
}

#[tokio::test]
async fn answers_are_compressed_by_accept_encoding() {
    let app = spawn(Backend::Sqlite).await;
    let c = client();
    let url = format!("{}{}", app.base, asset_url(&app.base).await);
    let plain = c.get(&url).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = plain.bytes().await.unwrap();
    let gz = c
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    assert!(
        gz.headers()[header::VARY]
            .to_str()
            .unwrap()
            .contains("accept-encoding")
    );
    let gz = gz.bytes().await.unwrap();
    assert_eq!(&gz[..2], b"\x1f\x8b", "a gzip stream");
    assert!(
        gz.len() < plain.len() / 2,
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    let br = c
        .get(format!("{}/", app.base))
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
    // JSON answers too.
    let api = c
        .get(format!("{}/api/session", app.base))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    app.finish().await;
}

#[tokio::test]
async fn allowed_origins_get_cors_with_credentials_others_nothing() {
    let app =
        spawn(Opts::new(Backend::Sqlite).envs(&[("ALLOWED_ORIGINS", "https://shop.example")]))
            .await;
    let c = client();
    let preflight = c
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/messages/send", app.base),
        )
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,x-csrftoken",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let h = preflight.headers();
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-csrftoken"), "{allowed}");
    let get = c
        .get(format!("{}/api/session", app.base))
        .header(header::ORIGIN, "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        get.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    let foreign = c
        .get(format!("{}/api/session", app.base))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    // A cross-origin POST without the CSRF token is still refused.
    let post = c
        .post(format!("{}/api/messages/send", app.base))
        .header(header::ORIGIN, "https://shop.example")
        .json(&json!({"text": "hi", "type": "text"}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403);
    app.finish().await;
}

/// `GET /api/session` from 127.0.0.1 claiming `xff`; returns the status.
async fn session_as(base: &str, xff: &str) -> u16 {
    client()
        .get(format!("{base}/api/session"))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn trusted_proxies_presets_find_the_visitor_behind_a_cdn() {
    // Behind Cloudflare (104.16.0.1) and a private hop: with the presets,
    // each visitor has its own API budget (2 a minute here)…
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[
        ("TRUSTED_PROXIES", "cloudflare,private"),
        ("RATE_LIMIT_API_PER_IP_PER_MINUTE", "2"),
    ]))
    .await;
    for _ in 0..2 {
        assert_eq!(session_as(&app.base, "203.0.113.5, 104.16.0.1").await, 200);
    }
    assert_eq!(session_as(&app.base, "203.0.113.5, 104.16.0.1").await, 429);
    assert_eq!(session_as(&app.base, "203.0.113.6, 104.16.0.1").await, 200);
    app.finish().await;

    // …while `TRUST_PROXY=true` (private proxies only) sees Cloudflare's
    // address as the client: every visitor shares one bucket.
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[
        ("TRUST_PROXY", "true"),
        ("RATE_LIMIT_API_PER_IP_PER_MINUTE", "2"),
    ]))
    .await;
    for _ in 0..2 {
        assert_eq!(session_as(&app.base, "203.0.113.5, 104.16.0.1").await, 200);
    }
    assert_eq!(session_as(&app.base, "203.0.113.6, 104.16.0.1").await, 429);
    app.finish().await;

    // A peer outside the list is not believed at all.
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[
        ("TRUSTED_PROXIES", "198.51.100.0/24"),
        ("RATE_LIMIT_API_PER_IP_PER_MINUTE", "2"),
    ]))
    .await;
    assert_eq!(session_as(&app.base, "203.0.113.1").await, 200);
    assert_eq!(session_as(&app.base, "203.0.113.2").await, 200);
    assert_eq!(session_as(&app.base, "203.0.113.3").await, 429);
    app.finish().await;
}

async fn scrape(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

const TOKEN: &str = "metrics-token-0123456789";

async fn metrics_count_what_operators_watch(backend: Backend) {
    let mut app = spawn(Opts::new(backend).envs(&[
        ("METRICS_TOKEN", TOKEN),
        ("RATE_LIMIT_API_PER_IP_PER_MINUTE", "3"),
    ]))
    .await;
    let url = format!("{}/metrics", app.base);
    assert_eq!(scrape(&url, None).await.0, 401);
    assert_eq!(scrape(&url, Some("wrong-token-0123456789")).await.0, 401);
    let visitor = app.visitor().await;
    let (status, _) = visitor
        .post(
            "/api/messages/send",
            json!({"text": "hello", "type": "text"}),
        )
        .await;
    assert_eq!(status, 200);
    let admin = app.admin().await;
    let thread = visitor.thread_id().await;
    let (status, _) = admin
        .post(
            "/api/messages/send",
            json!({"thread_id": thread, "text": "hi", "type": "text"}),
        )
        .await;
    assert_eq!(status, 200);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"plain text".to_vec()).file_name("x.png"),
    );
    let up = visitor
        .client
        .post(format!("{}/api/upload/image", app.base))
        .header("x-csrftoken", &visitor.csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 415);
    let mut limited = false;
    for _ in 0..6 {
        limited |= visitor.get("/api/session").await.0 == 429;
    }
    assert!(limited);
    let (status, text) = scrape(&url, Some(TOKEN)).await;
    assert_eq!(status, 200);
    for want in [
        "sohbet_messages_stored_total{sender=\"visitor\"}",
        "sohbet_messages_stored_total{sender=\"admin\"}",
        "sohbet_commit_seconds_bucket{le=\"0.005\"}",
        "sohbet_commit_batch_size_bucket{le=\"1\"}",
        "sohbet_rate_limited_total{limit=\"api\"}",
        "sohbet_uploads_total{kind=\"image\",outcome=\"UNSUPPORTED_TYPE\"}",
        "sohbet_sockets{role=\"visitor\"}",
        "sohbet_outbox_backlog 0",
        "sohbet_outbox_oldest_age_seconds 0",
        "sohbet_http_requests_total{route=\"/api/messages/send\",status=\"200\"}",
        "sohbet_http_requests_total{route=\"/api/session\",status=\"429\"}",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
    assert!(!text.contains("hello"), "no message content in metrics");
    app.finish().await;
}

#[tokio::test]
async fn metrics_count_what_operators_watch_sqlite() {
    metrics_count_what_operators_watch(Backend::Sqlite).await;
}

#[tokio::test]
async fn metrics_count_what_operators_watch_postgres() {
    metrics_count_what_operators_watch(Backend::Postgres).await;
}

#[tokio::test]
async fn metrics_are_off_by_default_and_can_have_their_own_listener() {
    let app = spawn(Backend::Sqlite).await;
    assert_eq!(scrape(&format!("{}/metrics", app.base), None).await.0, 404);
    app.finish().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[("METRICS_ADDR", &addr)])).await;
    assert_eq!(scrape(&format!("{}/metrics", app.base), None).await.0, 404);
    let (status, text) = scrape(&format!("http://{addr}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(text.contains("sohbet_outbox_backlog"), "{text}");
    assert_eq!(scrape(&format!("http://{addr}/"), None).await.0, 404);
    app.finish().await;
    assert!(
        client()
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .is_err(),
        "the metrics listener stops with the server"
    );
}

/// The Docker image's dependency stage (the `COPY` lines and the first
/// `RUN` of the builder up to its `cargo build`, read from the Dockerfile
/// itself) leaves a workspace that cargo can load with the committed lock
/// file: a workspace member or a `[patch]` path the stage does not copy
/// makes `cargo metadata --locked` fail here, as it would in `docker build`.
#[test]
fn the_docker_dependency_stage_loads_the_workspace() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let stage: Vec<&str> = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("FROM ") || !l.contains(" AS builder"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut copied = 0;
    let mut run = String::new();
    let mut lines = stage.iter().skip(1);
    for line in lines.by_ref() {
        if let Some(rest) = line.strip_prefix("COPY ") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (dst, srcs) = parts.split_last().unwrap();
            for src in srcs {
                let from = root.join(src.trim_end_matches('/'));
                let to = if srcs.len() > 1 || dst.ends_with('/') && !src.ends_with('/') {
                    dir.path().join(dst).join(from.file_name().unwrap())
                } else {
                    dir.path().join(dst.trim_end_matches('/'))
                };
                // `COPY` creates the destination's folders; `cp` does not.
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                let status = std::process::Command::new("cp")
                    .arg("-a")
                    .arg(&from)
                    .arg(&to)
                    .status()
                    .unwrap();
                assert!(status.success(), "cp {from:?} {to:?}");
                copied += 1;
            }
        } else if let Some(rest) = line.strip_prefix("RUN ") {
            run.push_str(rest.trim_end_matches('\\'));
            break;
        }
    }
    for line in lines {
        let line = line.trim();
        run.push(' ');
        run.push_str(line.trim_end_matches('\\'));
        if !line.ends_with('\\') {
            break;
        }
    }
    assert!(
        copied >= 2,
        "the stage copies the manifest and the lock file"
    );
    // The set-up commands before the dependency build (mkdir, dummy mains).
    let setup: Vec<&str> = run
        .split("&&")
        .map(str::trim)
        .take_while(|c| !c.starts_with("cargo "))
        .collect();
    assert!(
        !setup.is_empty(),
        "the first RUN creates the dummy crate: {run}"
    );
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(setup.join(" && "))
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{setup:?}");
    // Only this machine's packages: `--offline` cannot fetch the crates of
    // other platforms the lock file lists, which a fresh cache lacks.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", host])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo refuses the Docker stage's workspace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
