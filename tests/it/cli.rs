//! The command line of the real binary (issue 11): every subcommand, exit
//! codes, `--version` against Cargo.toml, unknown arguments refused, the
//! Flask Chat upgrade through `migrate` and `import-flask` run twice.

use crate::common;
use crate::flask_fixture;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use sqlx::Connection;

/// The binary with a clean environment (no `.env`: it runs in `dir`).
fn sohbet(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sohbet"));
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .env("HOST", "127.0.0.1")
        .env("STATIC_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
        .env("SQLITE_PATH", dir.join("chat.db"))
        .env("UPLOAD_DIR", dir.join("uploads"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = sohbet(dir, env, args).output().expect("run sohbet");
    (
        status.code().expect("exit code"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn version_matches_cargo_toml() {
    let manifest = include_str!("../../Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("package version");
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(dir.path(), &[], &["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("sohbet {version}"));
}

#[test]
fn help_lists_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(dir.path(), &[], &["--help"]);
    assert_eq!(code, 0);
    for cmd in [
        "serve",
        "migrate",
        "import-flask",
        "healthcheck",
        "check-config",
    ] {
        assert!(out.contains(cmd), "{cmd} missing in:\n{out}");
    }
    let (code, out, _) = run(dir.path(), &[], &["import-flask", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("<SOURCE>"), "{out}");
}

#[test]
fn unknown_arguments_are_an_error_not_a_server_start() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--bogus"][..],
        &["frobnicate"],
        &["serve", "extra"],
        &["import-flask"],
    ] {
        let mut child = sohbet(dir.path(), &[("PORT", "0")], args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{args:?} started something instead of failing");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("error:") && err.contains("Usage"),
            "{args:?}: {err}"
        );
        assert!(
            !dir.path().join("chat.db").exists(),
            "{args:?} opened the database"
        );
    }
}

#[test]
fn check_config_prints_the_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        ("SECRET_KEY", "s3cret-signing-key-0123456789abcdef"),
        ("ADMIN_PASSWORD", "hunter2-but-longer"),
        ("TELEGRAM_BOT_TOKEN", "123:AAbotTOKENsecret"),
        ("HEALTH_TOKEN", "health-token-0123456789"),
        ("CLOUDINARY_API_SECRET", "cloudinary-secret-value"),
    ];
    let mut env: Vec<(&str, &str)> = secrets.to_vec();
    env.extend([
        ("APP_ENV", "production"),
        (
            "DATABASE_URL",
            "postgres://app:db-password-xyz@db.example:5432/chat",
        ),
        ("REDIS_URL", "redis://:redis-password-xyz@cache:6379/0"),
        ("TELEGRAM_CHAT_ID", "4242"),
        ("CLOUDINARY_CLOUD_NAME", "demo"),
        ("CLOUDINARY_API_KEY", "1234"),
        ("PORT", "8123"),
    ]);
    let (code, out, err) = run(dir.path(), &env, &["check-config"]);
    assert_eq!(code, 0, "{out}{err}");
    for (name, value) in secrets {
        assert!(
            !out.contains(value) && !err.contains(value),
            "{name} leaked:\n{out}"
        );
        assert!(out.contains(&format!("{name}=********")), "{name}:\n{out}");
    }
    for leaked in ["db-password-xyz", "redis-password-xyz"] {
        assert!(!out.contains(leaked), "{out}");
    }
    for shown in [
        "APP_ENV=production",
        "PORT=8123",
        "DATABASE_URL=postgres://********@db.example:5432/chat",
        "TELEGRAM_CHAT_ID=4242",
        "CLOUDINARY_CLOUD_NAME=demo",
    ] {
        assert!(out.contains(shown), "{shown} missing:\n{out}");
    }
}

/// Issue 20 item 6: secrets inside any URL setting (user-info, a password
/// as a query parameter, tokens in a query) appear nowhere in the output.
#[test]
fn check_config_masks_every_secret_inside_urls() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "DATABASE_URL",
            "postgres://dbuser-xyz:dbpass-xyz@db.example:5432/chat?sslmode=require&password=hunter2xyz&sslpassword=sslpass-xyz",
        ),
        (
            "REDIS_URL",
            "rediss://cache.example:6380/0?password=redispass-xyz",
        ),
        ("TELEGRAM_BOT_TOKEN", "123:AAbotTOKENsecret"),
        ("TELEGRAM_CHAT_ID", "4242"),
        (
            "TELEGRAM_API_URL",
            "https://tguser-xyz:tgpass-xyz@tg-proxy.example/",
        ),
        (
            "TELEGRAM_WEBHOOK_URL",
            "https://chat.example/telegram/hook?token=hooktoken-xyz",
        ),
        ("CLOUDINARY_URL", "cloudinary://1234:cloudsecret-xyz@demo"),
        (
            "CLOUDINARY_API_URL",
            "https://cuser-xyz:cpass-xyz@cloudinary-proxy.example?api_key=ckey-xyz",
        ),
    ];
    let (code, out, err) = run(dir.path(), &env, &["check-config"]);
    assert_eq!(code, 0, "{out}{err}");
    for secret in [
        "dbuser-xyz",
        "dbpass-xyz",
        "hunter2xyz",
        "sslpass-xyz",
        "redispass-xyz",
        "tguser-xyz",
        "tgpass-xyz",
        "hooktoken-xyz",
        "cloudsecret-xyz",
        "cuser-xyz",
        "cpass-xyz",
        "ckey-xyz",
    ] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} leaked:\n{out}{err}"
        );
    }
    for shown in [
        "DATABASE_URL=postgres://********@db.example:5432/chat?sslmode=require&password=********&sslpassword=********",
        "TELEGRAM_API_URL=https://********@tg-proxy.example/",
        "TELEGRAM_WEBHOOK_URL=https://chat.example/telegram/hook?token=********",
        "REDIS_URL=rediss://cache.example:6380/0?password=********",
        "VISITOR_TOKEN_EPOCH=0",
    ] {
        assert!(out.contains(shown), "{shown} missing:\n{out}");
    }
}

/// Issue 20 item 6: sqlx logs a connect parameter it does not know with
/// its value; the server connects with such a URL and logs the name only.
#[test]
fn the_database_url_secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::KeptDb::new(common::Backend::Postgres));
    let url = db.var().1;
    // The test Postgres trusts local connections: the passwords are not checked.
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let base = match base
        .strip_prefix("postgres://")
        .and_then(|r| r.split_once('@'))
    {
        Some((user, host)) if !user.contains(':') => {
            format!("postgres://{user}:userpass-xyz@{host}")
        }
        _ => base.to_owned(),
    };
    let secret_url = format!(
        "{base}?{query}{}sslpassword=sslpass-xyz&password=querypass-xyz",
        if query.is_empty() { "" } else { "&" }
    );
    let (code, out, err) = run(dir.path(), &[("DATABASE_URL", &secret_url)], &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("sslpassword"),
        "the ignored name is reported:\n{out}"
    );
    for secret in ["userpass-xyz", "sslpass-xyz", "querypass-xyz"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} leaked:\n{out}{err}"
        );
    }
}

#[test]
fn check_config_refuses_what_production_start_up_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &[("APP_ENV", "production")], &["check-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("SECRET_KEY"), "{err}");
    let env = [
        ("APP_ENV", "production"),
        ("SECRET_KEY", "k-0123456789abcdef0123456789abcdef"),
    ];
    let (code, _, err) = run(dir.path(), &env, &["check-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("ADMIN_PASSWORD"), "{err}");
    let (code, _, err) = run(dir.path(), &[("PORT", "http")], &["check-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("PORT"), "{err}");
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port().to_string()
}

#[test]
fn serve_is_the_default_and_healthcheck_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = [("PORT", port.as_str())];
    // Nothing listens yet: not ready.
    let (code, _, err) = run(dir.path(), &env, &["healthcheck"]);
    assert_eq!(code, 1, "{err}");
    for args in [&[][..], &["serve"]] {
        let mut server = sohbet(dir.path(), &env, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, out, _) = run(dir.path(), &env, &["healthcheck"]);
            if code == 0 {
                assert!(out.contains("/health/ready"), "{out}");
                break;
            }
            assert!(Instant::now() < deadline, "{args:?}: never ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        assert!(server.wait().unwrap().success(), "{args:?}");
    }
    let (code, _, _) = run(dir.path(), &env, &["healthcheck"]);
    assert_eq!(code, 1);
}

#[test]
fn migrate_upgrades_a_flask_file_reports_skipped_rows_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    flask_fixture::write_uploads(&dir.path().join("uploads"));
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(flask_fixture::create(&db.display().to_string()));
    let (code, out, err) = run(dir.path(), &[], &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("upgraded the Flask Chat database: 3 threads, 10 messages, 2 Telegram links added, 6 rows skipped"),
        "{out}"
    );
    for skipped in flask_fixture::SKIPPED {
        assert!(
            out.contains(&format!("Flask Chat row skipped: {skipped}: ")),
            "{skipped}:\n{out}"
        );
    }
    assert!(out.contains("unknown sender Some(\"bot\")"), "{out}");
    assert!(out.contains("backup: "), "{out}");
    let (code, out, _) = run(dir.path(), &[], &["migrate"]);
    assert_eq!(code, 0);
    assert!(out.contains("sqlite database is up to date"), "{out}");
}

#[test]
fn migrate_refuses_an_unknown_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY); CREATE TABLE messages (id INTEGER)",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    });
    let before = std::fs::read(&db).unwrap();
    let (code, _, err) = run(dir.path(), &[], &["migrate"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("messages, orders") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(std::fs::read(&db).unwrap() == before);
}

async fn count(url_or_path: &str, table: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    if url_or_path.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url_or_path).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(url_or_path);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

/// `import-flask` from a SQLite file into Postgres and from Postgres into
/// SQLite: the first run imports, the second adds nothing.
#[tokio::test]
async fn import_flask_twice_imports_once() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    flask_fixture::write_uploads(&uploads);
    let flask_file = dir.path().join("flask.db").display().to_string();
    flask_fixture::create(&flask_file).await;
    // Both Postgres databases are dropped with these guards (also on a panic).
    let flask_db = common::KeptDb::new(common::Backend::Postgres).await;
    let flask_pg = flask_db.var().1;
    flask_fixture::create(&flask_pg).await;
    let target_db = common::KeptDb::new(common::Backend::Postgres).await;
    let target_pg = target_db.var().1;
    let target_file = dir.path().join("chat.db").display().to_string();

    let cases = [
        (flask_file.as_str(), ("DATABASE_URL", target_pg.as_str())),
        (flask_pg.as_str(), ("SQLITE_PATH", target_file.as_str())),
    ];
    for (source, target) in cases {
        let env = [target];
        let (code, out, err) = run(dir.path(), &env, &["import-flask", source]);
        assert_eq!(code, 0, "{source}: {out}{err}");
        assert!(
            out.contains(": 3 threads, 10 messages, 2 Telegram links added, 6 rows skipped"),
            "{out}"
        );
        assert!(out.contains("skipped messages p2: unknown sender"), "{out}");
        assert!(!out.contains("flask-pw"), "{out}");
        let (code, out, err) = run(dir.path(), &env, &["import-flask", source]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains(": 0 threads, 0 messages, 0 Telegram links added, 15 rows already there, 6 rows skipped"),
            "{out}"
        );
        assert_eq!(count(target.1, "threads").await, 3);
        assert_eq!(count(target.1, "messages").await, 10);
        assert_eq!(count(target.1, "telegram_links").await, 2);
    }
    // The source was only read.
    assert_eq!(count(&flask_file, "messages").await, 15);
    assert_eq!(count(&flask_pg, "messages").await, 15);

    // A source that is not Flask Chat's is refused, naming its tables.
    let (code, _, err) = run(
        dir.path(),
        &[("DATABASE_URL", &target_pg)],
        &["import-flask", &target_file],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("is not a Flask Chat v2.x database") && err.contains("_sqlx_migrations"),
        "{err}"
    );
}
