//! The support team (issue 22 item 1): the bootstrap owner from
//! `ADMIN_USERNAME` / `ADMIN_PASSWORD`, agents with their own passwords,
//! the owner-only API, invites, disabling, per-agent limits, login codes
//! to a linked Telegram chat, the `sohbet agent` command line, and the
//! migration keeping the sessions and codes of before agents. Every test
//! runs on SQLite and Postgres. (The socket side of disabling is in
//! `tests/js/agents.test.mjs`: the Socket.IO client is Node's.)

use std::{io::Write, process::Stdio, time::Duration};

use serde_json::{Value, json};
use sohbet::{auth::otp_delivery::OtpDelivery, config::Config};
use sqlx::Connection;

use crate::common::{
    self, Backend, Browser, KeptDb, Opts, TestApp, assert_error, spawn,
    telegram::{ADMIN_CHAT, TelegramDouble},
};

on_both_backends!(
    the_bootstrap_owner_comes_from_the_environment,
    the_env_password_stops_working_after_a_change,
    an_owner_manages_agents,
    bad_input_is_refused_and_changes_nothing,
    the_last_owner_stays,
    two_owners_demoting_each_other_at_once_leave_one,
    an_agent_gets_403_on_every_owner_route,
    an_invite_is_single_use_and_expires,
    disabling_ends_the_sessions,
    the_code_budget_is_per_agent,
    the_code_goes_to_the_linked_telegram_chat,
    the_cli_manages_agents,
    the_migration_keeps_sessions_and_codes,
);

pub(crate) const PASSWORD: &str = "a long enough password";

pub(crate) async fn patch(b: &Browser, path: &str, body: Value) -> (u16, Value) {
    b.call("PATCH", path, Some(body)).await
}

/// A browser logged in as `username` (password, then the code).
pub(crate) async fn login(app: &mut TestApp, username: &str, password: &str) -> Browser {
    let b = app.visitor().await;
    let (s, r) = b.login(username, password).await;
    assert_eq!(s, 200, "{r}");
    let code = app.next_otp().await;
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    b
}

/// Adds an agent with a password (as the owner `owner`); returns its id.
pub(crate) async fn add(owner: &Browser, username: &str, role: &str) -> i64 {
    let (s, r) = owner
        .post(
            "/api/agents",
            json!({"username": username, "display_name": format!("{username} name"), "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r.get("invite_url").is_none(), "{r}");
    r["agent"]["id"].as_i64().unwrap()
}

async fn agents(b: &Browser) -> Vec<Value> {
    let (s, r) = b.get("/api/agents").await;
    assert_eq!(s, 200, "{r}");
    r["agents"].as_array().unwrap().clone()
}

/// Runs `sql` on a kept database.
pub(crate) async fn sql(db: &KeptDb, sql: &str) {
    let (_, target) = db.var();
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&target).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .unwrap();
        }
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&target);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

pub(crate) async fn count(db: &KeptDb, query: &str) -> i64 {
    let (_, target) = db.var();
    let q = sqlx::AssertSqlSafe(query.to_owned());
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&target).await.unwrap();
            sqlx::query_scalar(q).fetch_one(&mut c).await.unwrap()
        }
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&target);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            sqlx::query_scalar(q).fetch_one(&mut c).await.unwrap()
        }
    }
}

async fn the_bootstrap_owner_comes_from_the_environment(backend: Backend) {
    let mut app = spawn(backend).await;
    // Any case of the login name; the env password.
    let owner = login(&mut app, "ADMIN", "admin123").await;
    let list = agents(&owner).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    assert_eq!(a["username"], "admin");
    assert_eq!(a["display_name"], "admin");
    assert_eq!(a["role"], "owner");
    assert_eq!(a["disabled_at"], Value::Null);
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains("argon2") && !text.contains("hash") && !text.contains("invite_url"));
    let (s, me) = owner.get("/api/agents/me").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["agent"]["id"], a["id"]);
    let (_, session) = owner.get("/api/session").await;
    assert_eq!(session["role"], "admin");
    assert_eq!(session["display_name"], "admin");
    app.finish().await;
}

async fn the_env_password_stops_working_after_a_change(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    // A wrong current password changes nothing.
    let (s, r) = patch(
        &owner,
        "/api/agents/me",
        json!({"current_password": "wrong", "new_password": PASSWORD}),
    )
    .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = patch(&owner, "/api/agents/me", json!({"new_password": PASSWORD})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, _) = app.visitor().await.login("admin", "admin123").await;
    assert_eq!(s, 200);
    let _ = app.next_otp().await;
    // The change: from now on only the stored hash counts.
    let (s, r) = patch(
        &owner,
        "/api/agents/me",
        json!({"current_password": "admin123", "new_password": PASSWORD, "display_name": " Boss "}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["agent"]["display_name"], "Boss");
    let (s, r) = app.visitor().await.login("admin", "admin123").await;
    assert_error(s, &r, 401, "INVALID_CREDENTIALS");
    let b = login(&mut app, "admin", PASSWORD).await;
    let (_, session) = b.get("/api/session").await;
    assert_eq!(session["display_name"], "Boss");
    app.finish().await;
}

async fn an_owner_manages_agents(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    let id = add(&owner, "Ayse", "agent").await;
    let list = agents(&owner).await;
    assert_eq!(list.len(), 2);
    let ayse = list.iter().find(|a| a["id"] == id).unwrap();
    assert_eq!(ayse["username"], "ayse");
    assert_eq!(ayse["role"], "agent");
    assert_eq!(ayse["invite_pending"], false);
    // The agent logs in with its own password and is itself.
    let agent = login(&mut app, "ayse", PASSWORD).await;
    let (_, session) = agent.get("/api/session").await;
    assert_eq!(session["role"], "admin");
    assert_eq!(session["display_name"], "Ayse name");
    let (s, _) = agent.get("/api/threads").await;
    assert_eq!(s, 200);
    // Rename and promote.
    let (s, r) = patch(
        &owner,
        &format!("/api/agents/{id}"),
        json!({"display_name": "Ayşe", "role": "owner"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["agent"]["display_name"], "Ayşe");
    assert_eq!(r["agent"]["role"], "owner");
    // Her open session sees the change at once.
    let (s, _) = agent.get("/api/agents").await;
    assert_eq!(s, 200);
    // Disable and enable.
    let (s, r) = owner
        .post(&format!("/api/agents/{id}/disable"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["agent"]["disabled_at"].is_string(), "{r}");
    let (s, r) = owner
        .post(&format!("/api/agents/{id}/enable"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["agent"]["disabled_at"], Value::Null);
    let (s, r) = owner.post("/api/agents/999999/disable", json!({})).await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = patch(&owner, "/api/agents/abc", json!({"role": "agent"})).await;
    assert_error(s, &r, 404, "NOT_FOUND");
    app.finish().await;
}

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    let id = add(&owner, "mehmet", "agent").await;
    let before = agents(&owner).await;
    let ok = |u: &str| json!({"username": u, "display_name": "X", "role": "agent", "password": PASSWORD});
    for (body, status, code) in [
        (
            json!({"username": "x", "display_name": "X", "role": "agent", "password": "short"}),
            400,
            "VALIDATION_ERROR",
        ),
        (ok("has space"), 400, "VALIDATION_ERROR"),
        (ok(""), 400, "VALIDATION_ERROR"),
        (ok(&"a".repeat(33)), 400, "VALIDATION_ERROR"),
        (ok("<script>"), 400, "VALIDATION_ERROR"),
        (
            json!({"username": "x", "display_name": "  ", "role": "agent"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"username": "x", "display_name": "X\u{7}", "role": "agent"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"username": "x", "display_name": "X", "role": "king"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"username": "x", "display_name": "X"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"username": "x", "display_name": "X", "role": "agent", "extra": 1}),
            400,
            "VALIDATION_ERROR",
        ),
        (ok("MEHMET"), 409, "CONFLICT"),
        (ok("admin"), 409, "CONFLICT"),
    ] {
        let (s, r) = owner.post("/api/agents", body.clone()).await;
        assert_error(s, &r, status, code);
        assert_eq!(agents(&owner).await, before, "{body}");
    }
    for body in [
        json!({}),
        json!({"display_name": ""}),
        json!({"display_name": "x".repeat(65)}),
        json!({"role": "boss"}),
    ] {
        let (s, r) = patch(&owner, &format!("/api/agents/{id}"), body.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(agents(&owner).await, before, "{body}");
    }
    for body in [
        json!({}),
        json!({"display_name": ""}),
        json!({"current_password": "admin123", "new_password": "short"}),
    ] {
        let (s, r) = patch(&owner, "/api/agents/me", body.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(agents(&owner).await, before, "{body}");
    }
    // Malformed JSON: the contract's 400.
    let (s, r) = owner
        .post_raw(
            "/api/agents",
            "{".into(),
            "application/json",
            Some(&owner.csrf),
        )
        .await;
    assert_error(s, &r, 400, "BAD_REQUEST");
    // Without the CSRF token: 403 and nothing stored.
    let (s, r) = owner
        .post_raw(
            "/api/agents",
            ok("nocsrf").to_string(),
            "application/json",
            None,
        )
        .await;
    assert_error(s, &r, 403, "CSRF_FAILED");
    assert_eq!(agents(&owner).await, before);
    app.finish().await;
}

/// Two owners demote each other at the same moment, several times: each
/// time exactly one request wins and one owner is left (on Postgres the
/// owners' rows are locked first; without that both checks could see the
/// other still an owner, both pass, and nobody could manage the team).
async fn two_owners_demoting_each_other_at_once_leave_one(backend: Backend) {
    let mut app = spawn(backend).await;
    let first = app.admin().await;
    let first_id = agents(&first).await[0]["id"].as_i64().unwrap();
    let second_id = add(&first, "second", "owner").await;
    let second = login(&mut app, "second", PASSWORD).await;
    let demote = json!({"role": "agent"});
    let (to_second, to_first) = (
        format!("/api/agents/{second_id}"),
        format!("/api/agents/{first_id}"),
    );
    for round in 0..8 {
        let (a, b) = tokio::join!(
            patch(&first, &to_second, demote.clone()),
            patch(&second, &to_first, demote.clone()),
        );
        // The loser heard 409 (the last owner) or 403 (already demoted).
        let won: Vec<bool> = [&a, &b].iter().map(|(s, _)| *s == 200).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {a:?} {b:?}"
        );
        for (s, r) in [&a, &b] {
            assert!([200, 403, 409].contains(s), "round {round}: {s} {r}");
        }
        let (winner, loser_id) = if won[0] {
            (&first, second_id)
        } else {
            (&second, first_id)
        };
        let owners: Vec<i64> = agents(winner)
            .await
            .iter()
            .filter(|x| x["role"] == json!("owner"))
            .map(|x| x["id"].as_i64().unwrap())
            .collect();
        assert_eq!(owners.len(), 1, "round {round}: {owners:?}");
        // The winner makes the other an owner again.
        let (s, r) = patch(
            winner,
            &format!("/api/agents/{loser_id}"),
            json!({"role": "owner"}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
    }
    app.finish().await;
}

async fn the_last_owner_stays(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    let me = agents(&owner).await[0]["id"].as_i64().unwrap();
    let (s, r) = patch(
        &owner,
        &format!("/api/agents/{me}"),
        json!({"role": "agent"}),
    )
    .await;
    assert_error(s, &r, 409, "CONFLICT");
    let (s, r) = owner
        .post(&format!("/api/agents/{me}/disable"), json!({}))
        .await;
    assert_error(s, &r, 409, "CONFLICT");
    assert_eq!(agents(&owner).await[0]["role"], "owner");
    // A second owner: now the first may step down.
    let second = add(&owner, "second", "owner").await;
    let (s, r) = patch(
        &owner,
        &format!("/api/agents/{me}"),
        json!({"role": "agent"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    // ... and, as an agent, is refused the owner routes at once.
    let (s, r) = owner.get("/api/agents").await;
    assert_error(s, &r, 403, "FORBIDDEN");
    // The second, now the last owner, cannot be disabled.
    let b = login(&mut app, "second", PASSWORD).await;
    let (s, r) = b
        .post(&format!("/api/agents/{second}/disable"), json!({}))
        .await;
    assert_error(s, &r, 409, "CONFLICT");
    app.finish().await;
}

async fn an_agent_gets_403_on_every_owner_route(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    let id = add(&owner, "ayse", "agent").await;
    let agent = login(&mut app, "ayse", PASSWORD).await;
    let visitor = app.visitor().await;
    let before = agents(&owner).await;
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/agents".into(), None),
        (
            "POST",
            "/api/agents".into(),
            Some(
                json!({"username": "x", "display_name": "X", "role": "owner", "password": PASSWORD}),
            ),
        ),
        (
            "PATCH",
            format!("/api/agents/{id}"),
            Some(json!({"role": "owner"})),
        ),
        ("POST", format!("/api/agents/{id}/disable"), Some(json!({}))),
        ("POST", format!("/api/agents/{id}/enable"), Some(json!({}))),
        ("POST", "/api/agents/1/disable".into(), Some(json!({}))),
    ];
    for (method, path, body) in &routes {
        let (s, r) = agent.call(method, path, body.clone()).await;
        assert_error(s, &r, 403, "FORBIDDEN");
        let (s, r) = visitor.call(method, path, body.clone()).await;
        assert_error(s, &r, 401, "UNAUTHORIZED");
    }
    assert_eq!(agents(&owner).await, before);
    // Its own account is its own.
    let (s, r) = patch(&agent, "/api/agents/me", json!({"display_name": "Ayşe K."})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["agent"]["role"], "agent");
    let (s, r) = visitor.get("/api/agents/me").await;
    assert_error(s, &r, 401, "UNAUTHORIZED");
    app.finish().await;
}

async fn an_invite_is_single_use_and_expires(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = spawn(Opts::new(backend).db(&db)).await;
    let owner = app.admin().await;
    let (s, r) = owner
        .post(
            "/api/agents",
            json!({"username": "zeynep", "display_name": "Zeynep", "role": "agent"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["invite_expires_in"], 86400);
    let url = r["invite_url"].as_str().unwrap().to_owned();
    let path = url
        .strip_prefix(&app.base)
        .expect("an invite URL of this server")
        .to_owned();
    let token = path.strip_prefix("/admin/invite/").unwrap();
    assert_eq!(token.len(), 64);
    // Only a hash is stored, and the list never shows it.
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM agents WHERE invite_hash = '{token}'")
        )
        .await,
        0
    );
    let list = serde_json::to_string(&agents(&owner).await).unwrap();
    assert!(
        !list.contains(token) && list.contains("\"invite_pending\":true"),
        "{list}"
    );
    // No password yet: no login.
    let (s, _) = app.visitor().await.login("zeynep", "").await;
    assert_eq!(s, 401);
    // The page, then a too short password (the invite stays), then the real one.
    let page = owner.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Zeynep"));
    let invited = app.visitor().await;
    let (s, r) = invited.post(&path, json!({"password": "short"})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = invited.post(&path, json!({"password": PASSWORD})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["username"], "zeynep");
    // Single use.
    let (s, r) = invited
        .post(&path, json!({"password": "another long password"}))
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    assert_eq!(owner.client.get(&url).send().await.unwrap().status(), 404);
    let b = login(&mut app, "zeynep", PASSWORD).await;
    assert_eq!(b.get("/api/session").await.1["display_name"], "Zeynep");
    // Expiry: an invite past its 24 h is dead.
    let (_, r) = owner
        .post(
            "/api/agents",
            json!({"username": "late", "display_name": "Late", "role": "agent"}),
        )
        .await;
    let late = r["invite_url"]
        .as_str()
        .unwrap()
        .strip_prefix(&app.base)
        .unwrap()
        .to_owned();
    sql(
        &db,
        "UPDATE agents SET invite_expires_at = created_at WHERE login = 'late'",
    )
    .await;
    let (s, r) = invited.post(&late, json!({"password": PASSWORD})).await;
    assert_error(s, &r, 404, "NOT_FOUND");
    app.finish().await;
}

async fn disabling_ends_the_sessions(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = spawn(Opts::new(backend).db(&db)).await;
    let owner = app.admin().await;
    let id = add(&owner, "ayse", "agent").await;
    let agent = login(&mut app, "ayse", PASSWORD).await;
    let second = login(&mut app, "ayse", PASSWORD).await;
    let sessions = format!("SELECT COUNT(*) FROM admin_sessions WHERE agent_id = {id}");
    assert_eq!(count(&db, &sessions).await, 2);
    // A pending code dies with the agent too.
    let pending = app.visitor().await;
    assert_eq!(pending.login("ayse", PASSWORD).await.0, 200);
    let code = app.next_otp().await;
    let (s, r) = owner
        .post(&format!("/api/agents/{id}/disable"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(count(&db, &sessions).await, 0, "the rows are deleted");
    for b in [&agent, &second] {
        let (s, r) = b.get("/api/threads").await;
        assert_error(s, &r, 401, "UNAUTHORIZED");
        assert_eq!(b.get("/api/session").await.1["role"], "visitor");
    }
    let (s, r) = pending
        .post("/admin/verify-otp", json!({"otp": code}))
        .await;
    assert_error(s, &r, 401, "INVALID_OTP");
    let (s, r) = app.visitor().await.login("ayse", PASSWORD).await;
    assert_error(s, &r, 401, "INVALID_CREDENTIALS");
    // The owner's own session is untouched; enabled again, she logs in.
    assert_eq!(owner.get("/api/threads").await.0, 200);
    assert_eq!(
        owner
            .post(&format!("/api/agents/{id}/enable"), json!({}))
            .await
            .0,
        200
    );
    let again = login(&mut app, "ayse", PASSWORD).await;
    assert_eq!(again.get("/api/threads").await.0, 200);
    app.finish().await;
}

async fn the_code_budget_is_per_agent(backend: Backend) {
    let mut app = spawn(Opts::new(backend).env("LOGIN_FAILURES_PER_HOUR", "2")).await;
    let owner = app.admin().await;
    add(&owner, "ayse", "agent").await;
    let guesser = app.visitor().await;
    assert_eq!(guesser.login("ayse", PASSWORD).await.0, 200);
    let code = app.next_otp().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        let (s, r) = guesser
            .post("/admin/verify-otp", json!({"otp": wrong}))
            .await;
        assert_error(s, &r, 401, "INVALID_OTP");
    }
    // Ayşe's budget is spent: even her right code and a new login wait.
    let (s, r) = guesser
        .post("/admin/verify-otp", json!({"otp": code}))
        .await;
    assert_error(s, &r, 429, "RATE_LIMITED");
    let (s, r) = app.visitor().await.login("ayse", PASSWORD).await;
    assert_error(s, &r, 429, "RATE_LIMITED");
    // The owner's budget is its own.
    let b = login(&mut app, "admin", "admin123").await;
    assert_eq!(b.get("/api/threads").await.0, 200);
    app.finish().await;
}

pub(crate) fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}

async fn the_code_goes_to_the_linked_telegram_chat(backend: Backend) {
    const AYSE_TG: i64 = 770_077;
    let tg = TelegramDouble::start().await;
    tg.knows_private_chat(AYSE_TG);
    let db = KeptDb::new(backend).await;
    let opts = common::bridge::wired(backend, &tg, &[])
        .db(&db)
        .otp(OtpDelivery::Log);
    let app = spawn(opts).await;
    // The owner's code: the admin chat, saying for whom.
    let owner = app.visitor().await;
    assert_eq!(owner.login("admin", "admin123").await.0, 200);
    let call = tg
        .wait_text_to(
            ADMIN_CHAT,
            "the owner's code",
            Duration::from_secs(10),
            |t| t.contains("Login code for admin:"),
        )
        .await;
    let code = six_digits(&call.text().unwrap()).unwrap();
    assert_eq!(
        owner
            .post("/admin/verify-otp", json!({"otp": code}))
            .await
            .0,
        200
    );
    add(&owner, "ayse", "agent").await;
    sql(
        &db,
        &format!("UPDATE agents SET telegram_user_id = {AYSE_TG} WHERE login = 'ayse'"),
    )
    .await;
    // Ayşe's code: her private chat only.
    let agent = app.visitor().await;
    assert_eq!(agent.login("ayse", PASSWORD).await.0, 200);
    let call = tg
        .wait_text_to(AYSE_TG, "Ayşe's code", Duration::from_secs(10), |t| {
            t.contains("Login code for ayse:")
        })
        .await;
    assert_eq!(call.parse_mode(), None);
    let code = six_digits(&call.text().unwrap()).unwrap();
    tg.with_calls(|calls| {
        let with_code = calls
            .iter()
            .filter(|c| format!("{:?}", c.params).contains(&code))
            .count();
        assert_eq!(with_code, 1, "only her chat got it: {}", tg.summary());
    });
    let (s, r) = agent.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        agent.get("/api/session").await.1["display_name"],
        "ayse name"
    );
    app.finish().await;
}

/// `sohbet agent …` on `db`, with `stdin` written to its standard input.
fn cli(db: &KeptDb, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let (k, v) = db.var();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sohbet"));
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .env(k, v)
        .env("UPLOAD_DIR", db.path().join("uploads"))
        .current_dir(db.path())
        .arg("agent")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run sohbet agent");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn the_cli_manages_agents(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let (code, out, err) = cli(
        &db,
        &["add", "Ayse", "--name", "Ayşe", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("added agent ayse (Ayşe)") && !out.contains(PASSWORD),
        "{out}"
    );
    let (code, out, err) = cli(&db, &["add", "boss", "--role", "owner"], None);
    assert_eq!(code, 0, "{out}{err}");
    let generated = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    assert!(generated.len() >= 12);
    // Bad input: exit 2, nothing added.
    assert_eq!(
        cli(&db, &["add", "short", "--password-stdin"], Some("short\n")).0,
        2
    );
    assert_eq!(cli(&db, &["add", "bad name"], None).0, 2);
    assert_eq!(cli(&db, &["add", "x", "--role", "king"], None).0, 2);
    assert_eq!(cli(&db, &["add", "AYSE"], None).0, 2);
    assert_eq!(cli(&db, &["disable", "nobody"], None).0, 1);
    let (code, out, _) = cli(&db, &["list"], None);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "admin, boss, ayse: {out}");
    assert!(out.contains("\tayse\tagent\tenabled\tAyşe"), "{out}");
    assert!(out.contains("\tadmin\towner\tenabled\tadmin"), "{out}");
    // The server sees them: both log in.
    let mut app = spawn(Opts::new(backend).db(&db)).await;
    login(&mut app, "ayse", PASSWORD).await;
    let boss = login(&mut app, "boss", &generated).await;
    // reset-password: the old password stops working.
    let (code, out, _) = cli(&db, &["reset-password", "ayse"], None);
    assert_eq!(code, 0);
    let new = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    assert_eq!(app.visitor().await.login("ayse", PASSWORD).await.0, 401);
    let ayse = login(&mut app, "ayse", &new).await;
    assert_eq!(
        cli(
            &db,
            &["reset-password", "ayse", "--password-stdin"],
            Some("short\n")
        )
        .0,
        2
    );
    // disable: her session ends.
    let (code, out, _) = cli(&db, &["disable", "ayse"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 sessions ended"), "{out}");
    assert_eq!(ayse.get("/api/threads").await.0, 401);
    assert!(
        cli(&db, &["list"], None)
            .1
            .contains("\tayse\tagent\tdisabled\t")
    );
    assert_eq!(boss.get("/api/threads").await.0, 200);
    app.finish().await;
}

async fn the_migration_keeps_sessions_and_codes(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let (_, target) = db.var();
    let dir = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let mut m = sqlx::migrate::Migrator::new(std::path::Path::new(&format!(
        "{}/{dir}",
        env!("CARGO_MANIFEST_DIR")
    )))
    .await
    .unwrap();
    m.migrations = m
        .migrations
        .iter()
        .filter(|x| x.version <= 10)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    // The one admin's session and pending code, from before agents.
    let token = "f".repeat(64);
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let rows = format!(
        "INSERT INTO admin_sessions (token_hash, username, created_at, last_seen_at, expires_at) \
         VALUES ('{hash}', 'admin', {now}, {now}, {later}); \
         INSERT INTO login_otps (id, username, code_hash, attempts, expires_at, created_at) \
         VALUES ('login1', 'admin', 'x', 0, {later}, {now})",
        now = "CURRENT_TIMESTAMP",
        later = match backend {
            Backend::Sqlite => "'2999-01-01T00:00:00Z'",
            Backend::Postgres => "'2999-01-01T00:00:00Z'::timestamptz",
        },
    );
    let rows = match backend {
        Backend::Sqlite => {
            rows.replace("CURRENT_TIMESTAMP", "strftime('%Y-%m-%dT%H:%M:%fZ','now')")
        }
        Backend::Postgres => rows.replace("CURRENT_TIMESTAMP", "now()"),
    };
    match backend {
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&target)
                .create_if_missing(true);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            m.run(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&target).await.unwrap();
            m.run(&mut c).await.unwrap();
        }
    }
    sql(&db, &rows).await;
    // The server migrates (0011) and makes the bootstrap owner.
    let app = spawn(Opts::new(backend).db(&db)).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM admin_sessions").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM login_otps").await, 1);
    let owner = count(&db, "SELECT id FROM agents WHERE login = 'admin'").await;
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM admin_sessions WHERE agent_id = {owner}")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM login_otps WHERE agent_id = {owner}")
        )
        .await,
        1
    );
    app.finish().await;
    // The old session still opens: it is the owner's.
    let (k, v) = db.var();
    let config = Config::from_lookup(|key| (key == k).then(|| v.clone())).unwrap();
    let store = sohbet::store::Db::connect(&config.database).await.unwrap();
    let auth = sohbet::auth::Auth::new(&config, store.clone());
    let session = auth
        .session(&token)
        .await
        .unwrap()
        .expect("the old session lives");
    assert_eq!(session.username, "admin");
    assert_eq!(session.agent_id.get(), owner);
    assert!(session.agent.is_owner());
    store.close().await;
}
