//! Test harness: starts the real server (the same `App` as `main`) on
//! 127.0.0.1:0 with a fresh database per test — a new SQLite file, or a new
//! database on the Postgres at `TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! One entry: [`spawn`] with an [`Opts`] (or just a [`Backend`]). The
//! [`TestApp`] it returns cleans up when dropped — also when the test
//! panics: the server task is stopped and its Postgres database dropped
//! (`DROP DATABASE … WITH (FORCE)` on a fresh connection). [`TestApp::finish`]
//! is the graceful stop that a test asserts on. [`KeptDb`] is a database
//! that outlives one server (restart tests), dropped with it.
#![allow(dead_code)]

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use serde_json::{Value, json};
use sohbet::{App, auth::otp_delivery::OtpDelivery, config::Config};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

pub mod binary;
pub mod bridge;
mod browser;
pub mod data;
pub mod embed;
pub mod logs;
pub mod nginx;
mod proxy;
pub mod services;
pub mod smtp;
pub mod socket;
pub mod telegram;

pub use browser::Browser;
#[allow(unused_imports)] // not every test binary uses it
pub use proxy::TcpProxy;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The Postgres that tests create their databases on.
fn pg_admin_url() -> String {
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
/// Only [`KeptDb`] and [`TestApp`] call it: they drop it ([`drop_pg_db`]).
async fn create_pg_db() -> (String, String) {
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

/// Drops test database `name` (`WITH (FORCE)`: open connections are cut)
/// on a fresh connection, from a thread with its own runtime: callable
/// from `Drop`, inside or outside a runtime, also while a test panics.
/// Errors are ignored (the database may be gone already).
fn drop_pg_db(name: String) {
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
                let _ = conn.close().await;
            }
        });
    })
    .join();
}

/// Limits high enough for the contract tests (one address sends fast);
/// rate-limit tests override them.
/// A thread id for a store-level test (panics on one that breaks the rule).
pub fn tid(s: &str) -> sohbet::domain::ThreadId {
    sohbet::domain::ThreadId::parse(s).expect("a valid thread id")
}

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

/// A change to the parsed `Config` ([`Opts::tweak`]).
type Tweak = Box<dyn FnOnce(&mut Config)>;

/// How to start a test server: the backend, then (applied in this order
/// over the defaults and [`relaxed_limits`]) extra environment and a tweak
/// of the parsed `Config`; where login codes go; an existing database.
///
/// `spawn(Backend::Sqlite)` is the plain case;
/// `spawn(Opts::new(b).env("K", "v").otp(OtpDelivery::Log).db(&kept))` the full one.
pub struct Opts {
    backend: Backend,
    env: Vec<(String, String)>,
    tweak: Option<Tweak>,
    otp: Option<OtpDelivery>,
    kept: bool,
}

impl Opts {
    /// A fresh database on `backend`, no extra environment.
    pub fn new(backend: Backend) -> Opts {
        Opts {
            backend,
            env: vec![],
            tweak: None,
            otp: None,
            kept: false,
        }
    }

    /// One environment variable (later ones win).
    pub fn env(mut self, key: &str, value: &str) -> Opts {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Several environment variables, as `(key, value)` pairs of any string type.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(mut self, vars: &[(K, V)]) -> Opts {
        for (k, v) in vars {
            self.env
                .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        }
        self
    }

    /// Changes the parsed `Config` before the server is built (for values
    /// no variable can set, e.g. sub-second lifetimes).
    pub fn tweak(mut self, f: impl FnOnce(&mut Config) + 'static) -> Opts {
        self.tweak = Some(Box::new(f));
        self
    }

    /// Login codes go to `otp` instead of the test channel
    /// (`OtpDelivery::Log` is what `main` passes: a configured Telegram
    /// takes them; [`TestApp::next_otp`] then has nothing).
    pub fn otp(mut self, otp: OtpDelivery) -> Opts {
        self.otp = Some(otp);
        self
    }

    /// Runs on `db` (which the server does not drop) instead of a fresh database.
    pub fn db(mut self, db: &KeptDb) -> Opts {
        let (k, v) = db.var();
        self.env.push((k.to_owned(), v));
        self.kept = true;
        self
    }
}

impl From<Backend> for Opts {
    fn from(backend: Backend) -> Opts {
        Opts::new(backend)
    }
}

/// A running server and what a test needs to drive it. Dropping it stops
/// the server and drops its own Postgres database.
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

/// The one way tests start a server: a fresh SQLite file or Postgres
/// database (unless [`Opts::db`]), relaxed limits, then the options.
pub async fn spawn(opts: impl Into<Opts>) -> TestApp {
    let opts = opts.into();
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
    if opts.backend == Backend::Postgres && !opts.kept {
        let (name, url) = create_pg_db().await;
        vars.insert("DATABASE_URL".into(), url);
        pg_db = Some(name);
    }
    vars.extend(opts.env);
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    if let Some(tweak) = opts.tweak {
        tweak(&mut config);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (otp_tx, otp_rx) = mpsc::unbounded_channel();
    let otp = opts.otp.unwrap_or(OtpDelivery::Channel(otp_tx));
    // From here on the database is dropped with the app, even if the build fails.
    let mut app = TestApp {
        addr: listener.local_addr().expect("addr"),
        base: String::new(),
        backend: opts.backend,
        otp_rx,
        stop: None,
        handle: None,
        pg_db,
        _dir: dir,
    };
    let server = App::build_with(config, listener, otp)
        .await
        .expect("build app");
    app.addr = server.local_addr().expect("addr");
    app.base = format!("http://{}", app.addr);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    app.stop = Some(stop_tx);
    app.handle = Some(tokio::spawn(server.run_until_stopped(async move {
        let _ = stop_rx.await;
    })));
    app
}

impl TestApp {
    /// A new browser: its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
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

    /// Stops the server gracefully and asserts it stopped cleanly within
    /// 10 s; the database goes when `self` drops (at the end of this call).
    pub async fn finish(self) {
        self.stop_within(Duration::from_secs(10)).await;
    }

    /// As [`TestApp::finish`], but waits up to 60 s and returns how long the
    /// graceful stop took, for tests that assert on it themselves.
    pub async fn finish_measured(self) -> Duration {
        let started = std::time::Instant::now();
        self.stop_within(Duration::from_secs(60)).await;
        started.elapsed()
    }

    async fn stop_within(mut self, within: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let res = tokio::time::timeout(within, h).await;
            assert!(
                matches!(res, Ok(Ok(Ok(())))),
                "server did not stop cleanly within {within:?}: {res:?}"
            );
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
        if let Some(name) = self.pg_db.take() {
            drop_pg_db(name);
        }
    }
}

/// A database that outlives one server, for restart tests: a SQLite file in
/// its own folder, or its own Postgres database. Servers started with
/// [`Opts::db`] leave it; dropping it removes it (also on a panic).
pub struct KeptDb {
    pub backend: Backend,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl KeptDb {
    /// A new, empty database on `backend`.
    pub async fn new(backend: Backend) -> KeptDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(create_pg_db().await),
        };
        KeptDb { backend, dir, pg }
    }

    /// The folder of this database (the SQLite file is `chat.db` in it;
    /// tests may put other files there).
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
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
}

impl Drop for KeptDb {
    fn drop(&mut self) {
        if let Some((name, _)) = self.pg.take() {
            drop_pg_db(name);
        }
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

/// Runs each listed `async fn name(Backend)` once on SQLite and once on
/// Postgres, as `sqlite::name` and `postgres::name`.
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
