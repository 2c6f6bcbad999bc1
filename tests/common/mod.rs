//! Test harness: starts the real server (the same `App` as `main`) on
//! 127.0.0.1:0 with a fresh database per test — a new SQLite file, or a new
//! database on the Postgres at `TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`).
#![allow(dead_code)]

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use serde_json::{Value, json};
use sohbet::{App, auth::otp_delivery::OtpDelivery, config::Config};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Creates a fresh database on the test Postgres; returns its name and URL.
pub async fn create_pg_db() -> (String, String) {
    let name = format!("sohbet_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("postgres at TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let url = replace_db(&pg_admin_url(), &name);
    (name, url)
}

/// A running server and what a test needs to drive it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub backend: Backend,
    otp_rx: mpsc::UnboundedReceiver<String>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg_db: Option<String>,
    _dir: tempfile::TempDir,
}

/// Limits high enough for the contract tests (one address sends fast);
/// rate-limit tests override them.
pub fn relaxed_limits() -> Vec<(&'static str, &'static str)> {
    [
        "RATE_LIMIT_MESSAGES_PER_MINUTE",
        "RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE",
        "RATE_LIMIT_UPLOADS_PER_MINUTE",
        "RATE_LIMIT_UPLOADS_PER_IP_PER_MINUTE",
        "RATE_LIMIT_API_PER_IP_PER_MINUTE",
        "RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE",
        "LOGIN_FREE_FAILURES_PER_IP",
        "SOCKET_HANDSHAKES_PER_IP_PER_MINUTE",
        "MAX_PENDING_SOCKETS_PER_IP",
        "MAX_CONNECTIONS_PER_IP",
    ]
    .into_iter()
    .map(|k| (k, "100000"))
    .collect()
}

/// Starts a server on `backend` with the given extra environment.
pub async fn spawn_app_with(
    backend: Backend,
    env: &[(&str, &str)],
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_core(backend, env, tweak, None).await
}

/// The one way tests start a server: a fresh SQLite file or Postgres
/// database, relaxed limits, then `env`, then `tweak`; login codes go to
/// the test channel unless `otp` says otherwise.
async fn spawn_core(
    backend: Backend,
    env: &[(&str, &str)],
    tweak: impl FnOnce(&mut Config),
    otp: Option<OtpDelivery>,
) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("HOST".into(), "127.0.0.1".into());
    vars.insert("PORT".into(), "0".into());
    vars.insert(
        "SQLITE_PATH".into(),
        dir.path().join("chat.db").display().to_string(),
    );
    vars.insert(
        "UPLOAD_DIR".into(),
        dir.path().join("uploads").display().to_string(),
    );
    vars.insert(
        "STATIC_DIR".into(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/static").into(),
    );
    for (k, v) in relaxed_limits() {
        vars.insert(k.into(), v.into());
    }
    let mut pg_db = None;
    if backend == Backend::Postgres {
        let (name, url) = create_pg_db().await;
        vars.insert("DATABASE_URL".into(), url);
        pg_db = Some(name);
    }
    for (k, v) in env {
        vars.insert((*k).into(), (*v).into());
    }
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (otp_tx, otp_rx) = mpsc::unbounded_channel();
    let otp = otp.unwrap_or(OtpDelivery::Channel(otp_tx));
    let app = App::build_with(config, listener, otp)
        .await
        .expect("build app");
    let addr = app.local_addr().expect("addr");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        backend,
        otp_rx,
        stop: Some(stop_tx),
        handle: Some(handle),
        pg_db,
        _dir: dir,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[], |_| {}).await
}

impl TestApp {
    /// A new browser: its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
            csrf: String::new(),
        }
    }

    /// A browser that opened `/` (has its cookie and CSRF token).
    pub async fn visitor(&self) -> Browser {
        let mut b = self.browser();
        b.init().await;
        b
    }

    /// The next login code the server delivered.
    pub async fn next_otp(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(5), self.otp_rx.recv())
            .await
            .expect("an OTP within 5 s")
            .expect("otp channel open")
    }

    /// A browser logged in as the admin.
    pub async fn admin(&mut self) -> Browser {
        let b = self.visitor().await;
        let r = b.login("admin", "admin123").await;
        assert_eq!(r.0, 200, "{:?}", r.1);
        let code = self.next_otp().await;
        let r = b.post("/admin/verify-otp", json!({"otp": code})).await;
        assert_eq!(r.0, 200, "{:?}", r.1);
        b
    }

    /// Stops the server (graceful) and drops its Postgres database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let res = tokio::time::timeout(Duration::from_secs(10), h).await;
            assert!(
                matches!(res, Ok(Ok(Ok(())))),
                "server did not stop cleanly: {res:?}"
            );
        }
        if let Some(name) = self.pg_db.take()
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// One browser (cookie jar + CSRF token).
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Browser {
    /// Opens `/api/session`, keeping the cookie and CSRF token.
    pub async fn init(&mut self) -> Value {
        let (status, body) = self.get("/api/session").await;
        assert_eq!(status, 200);
        self.csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
        body
    }

    pub async fn thread_id(&self) -> String {
        self.get("/api/session").await.1["thread_id"]
            .as_str()
            .expect("thread_id")
            .to_owned()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_raw(path, body.to_string(), "application/json", Some(&self.csrf))
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: String,
        ctype: &str,
        csrf: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        if let Some(t) = csrf {
            req = req.header("X-CSRFToken", t);
        }
        let r = req.send().await.expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /admin/login` with these credentials; returns the answer.
    pub async fn login(&self, username: &str, password: &str) -> (u16, Value) {
        self.post(
            "/admin/login",
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// Sends a text message; returns the answer.
    pub async fn send(&self, thread_id: Option<&str>, text: &str) -> (u16, Value) {
        let mut body = json!({"text": text, "type": "text"});
        if let Some(t) = thread_id {
            body["thread_id"] = json!(t);
        }
        self.post("/api/messages/send", body).await
    }

    pub async fn messages(&self, thread_id: &str, query: &str) -> Vec<Value> {
        let (s, b) = self.get(&format!("/api/messages/{thread_id}{query}")).await;
        assert_eq!(s, 200, "{b}");
        b["messages"].as_array().expect("messages").clone()
    }
}

/// Asserts the contract's error shape and returns its code.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!(want_code), "{body}");
    assert_eq!(body["status"], json!(want_status), "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

/// Runs each listed `async fn name(Backend)` once on SQLite and once on Postgres.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::common::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::common::Backend::Postgres).await } )*
        }
    };
}

// ---- Telegram tests (tests/telegram.rs): the Bot API double and two spawn helpers ----

pub mod telegram_double;

/// A database that outlives one server, for restart tests: a SQLite file in
/// its own folder, or its own Postgres database. [`TestApp::finish`] leaves it;
/// [`KeptDb::drop_db`] removes it.
pub struct KeptDb {
    pub backend: Backend,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl KeptDb {
    pub async fn new(backend: Backend) -> KeptDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(create_pg_db().await),
        };
        KeptDb { backend, dir, pg }
    }

    /// The variable that selects this database: `SQLITE_PATH` or `DATABASE_URL`.
    pub fn var(&self) -> (&'static str, String) {
        match &self.pg {
            Some((_, url)) => ("DATABASE_URL", url.clone()),
            None => (
                "SQLITE_PATH",
                self.dir.path().join("chat.db").display().to_string(),
            ),
        }
    }

    /// Removes the database (the SQLite folder goes with `self`).
    pub async fn drop_db(self) {
        if let Some((name, _)) = &self.pg
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// As [`spawn_app_with`], with two options: `otp` replaces the test channel
/// for login codes (`Some(OtpDelivery::Log)` lets a configured Telegram take
/// them, as in production; [`TestApp::next_otp`] then has nothing), and `db`
/// runs the server on that database (which [`TestApp::finish`] does not drop).
pub async fn spawn_app_opts(
    backend: Backend,
    env: &[(&str, &str)],
    otp: Option<OtpDelivery>,
    db: Option<&KeptDb>,
) -> TestApp {
    let mut owned: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let backend_for_new_db = match db {
        Some(kept) => {
            let (k, v) = kept.var();
            owned.push((k.to_owned(), v));
            // The kept database is selected by the variable above: no new one.
            Backend::Sqlite
        }
        None => backend,
    };
    let vars: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match otp {
        None => {
            let mut app = spawn_app_with(backend_for_new_db, &vars, |_| {}).await;
            app.backend = backend;
            app
        }
        Some(otp) => {
            let mut app = spawn_core(backend_for_new_db, &vars, |_| {}, Some(otp)).await;
            app.backend = backend;
            app
        }
    }
}

impl TestApp {
    /// As [`TestApp::finish`], but waits up to 60 s and returns how long the
    /// graceful stop took, for tests that assert on it themselves.
    pub async fn finish_measured(mut self) -> Duration {
        let started = std::time::Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let res = tokio::time::timeout(Duration::from_secs(60), h).await;
            assert!(
                matches!(res, Ok(Ok(Ok(())))),
                "server did not stop cleanly within 60 s: {res:?}"
            );
        }
        let took = started.elapsed();
        self.finish().await;
        took
    }
}

/// A TCP proxy in front of a server (e.g. Postgres) that a test can cut
/// (`down`: open connections are dropped, new ones closed at once) and
/// restore (`up`), to simulate the database going away under a running app.
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            Default::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns2.lock().unwrap().push(task.abort_handle());
            }
        });
        TcpProxy {
            addr,
            up,
            conns,
            accept,
        }
    }

    pub fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.down();
        self.accept.abort();
    }
}
