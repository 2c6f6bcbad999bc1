//! A real load balancer in front (issue 24 item 3): three instances of the
//! real binary on one Postgres database and one Redis, behind nginx with
//! exactly the configuration of `docs/scaling.md` § Behind nginx
//! ([`crate::common::nginx`]). Every request of the test goes through
//! nginx. A visitor and an agent who landed on different instances see each
//! other's messages and typing live; then the visitor's instance is killed
//! (`kill -9`): the visitor's browser reconnects through nginx, lands on
//! another instance and catches up on the answer given meanwhile, and the
//! conversation goes on live. Postgres only: several processes on one
//! SQLite file are not supported (docs/scaling.md).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{
    Backend, Browser, KeptDb,
    binary::{self, Binary},
    nginx::Nginx,
    services::free_port,
    socket::Socket,
};

/// The three instances share it (cookies and CSRF tokens work on any).
const SECRET: &str = "load-balancer-test-secret-key-0123456789abcdef";

/// The instances, killed when the test ends (also on a panic).
struct Instances(Vec<Option<Binary>>);

impl Drop for Instances {
    fn drop(&mut self) {
        for b in self.0.iter_mut().flatten() {
            let _ = b.child.kill();
            let _ = b.child.wait();
        }
    }
}

impl Instances {
    /// Every login code logged so far, in order, by any instance.
    fn otps(&self) -> Vec<String> {
        let mut out = vec![];
        for b in self.0.iter().flatten() {
            for line in b.log.lock().unwrap().iter() {
                if let Some(i) = line.find("configured): ") {
                    out.push(line[i + "configured): ".len()..][..6].to_owned());
                }
            }
        }
        out
    }

    /// `kill -9` of instance `i`.
    fn kill(&mut self, i: usize) {
        if let Some(mut b) = self.0[i].take() {
            b.child.kill().unwrap();
            b.child.wait().unwrap();
        }
    }
}

/// Connected Socket.IO sockets of each instance (its `/health` details,
/// asked directly, as a local caller); `None` for a dead one.
async fn sockets(ports: &[u16; 3]) -> [Option<i64>; 3] {
    let mut out = [None; 3];
    for (i, p) in ports.iter().enumerate() {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{p}/health")).await
            && let Ok(v) = r.json::<Value>().await
        {
            out[i] = v["checks"]["sockets"]["sockets"].as_i64();
        }
    }
    out
}

/// Connects `connect` and tells which instance took the socket (the one
/// whose count of sockets rose).
async fn placed<F: std::future::Future<Output = Socket>>(
    ports: &[u16; 3],
    connect: F,
) -> (Socket, usize) {
    let before = sockets(ports).await;
    let s = connect.await;
    let after = sockets(ports).await;
    let at = (0..3)
        .find(|&i| after[i].unwrap_or(0) > before[i].unwrap_or(0))
        .unwrap_or_else(|| panic!("no instance took the socket: {before:?} → {after:?}"));
    (s, at)
}

fn ok(ack: &Value) {
    assert_eq!(ack["success"], json!(true), "{ack}");
}

/// The next `event` on `s` whose text is `text`.
async fn message(s: &mut Socket, event: &str, text: &str) -> Value {
    loop {
        let m = s.next(event).await;
        if m["content_text"] == json!(text) {
            return m;
        }
    }
}

#[tokio::test]
async fn three_instances_behind_nginx() {
    let db = KeptDb::new(Backend::Postgres).await;
    let (k, url) = db.var();
    let uploads = tempfile::tempdir().unwrap();
    let prefix = format!("sohbet-lb-{}", uuid::Uuid::new_v4().simple());
    let ports = [free_port(), free_port(), free_port()];
    let mut instances = Instances(
        ports
            .iter()
            .map(|p| {
                let env = [
                    (k, url.clone()),
                    ("PORT", p.to_string()),
                    ("REDIS_URL", "redis://127.0.0.1:6379".into()),
                    ("REDIS_PREFIX", prefix.clone()),
                    ("SECRET_KEY", SECRET.into()),
                    ("TRUSTED_PROXIES", "private".into()),
                    ("UPLOAD_DIR", uploads.path().display().to_string()),
                ];
                Some(binary::spawn(binary::command(&env)))
            })
            .collect(),
    );
    let nginx = Nginx::start(&ports);

    // The agent logs in through nginx (the code is logged by whichever
    // instance took the login).
    let mut agent = Browser::new(&nginx.base);
    agent.init().await;
    let before = instances.otps().len();
    let (s, r) = agent.login("admin", "admin123").await;
    assert_eq!(s, 200, "{r}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(c) = instances.otps().get(before) {
            break c.clone();
        }
        assert!(Instant::now() < deadline, "no login code logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (s, r) = agent.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    let (mut a, agent_at) = placed(&ports, Socket::admin(&agent)).await;

    // Visitors arrive until one lands on another instance than the agent
    // (nginx places each browser by its cookie).
    let mut others = vec![];
    let (visitor, mut v, visitor_at) = loop {
        let mut b = Browser::new(&nginx.base);
        b.init().await;
        let (s, at) = placed(&ports, Socket::visitor(&b, None)).await;
        if at != agent_at {
            break (b, s, at);
        }
        others.push(s);
        assert!(others.len() < 30, "nginx put 30 visitors on one instance");
    };
    let tid = visitor.thread_id().await;

    // Live, both ways: messages and typing.
    ok(&v
        .emit(
            "message_from_visitor",
            json!({"text": "hello from the visitor"}),
        )
        .await);
    message(&mut a, "message_from_visitor", "hello from the visitor").await;
    ok(&v.emit("typing", json!({})).await);
    assert_eq!(a.next("typing").await["thread_id"], json!(tid));
    ok(&a.emit("typing", json!({"thread_id": tid})).await);
    assert_eq!(v.next("typing").await["sender_type"], json!("admin"));
    ok(&a
        .emit(
            "message_to_visitor",
            json!({"thread_id": tid, "text": "hello from the agent"}),
        )
        .await);
    let seen = message(&mut v, "message_to_visitor", "hello from the agent").await;
    let last_seen = seen["id"].as_i64().expect("id");

    // The visitor's instance dies; the agent answers meanwhile.
    instances.kill(visitor_at);
    drop(v);
    ok(&a
        .emit(
            "message_to_visitor",
            json!({"thread_id": tid, "text": "while you were away"}),
        )
        .await);
    let (s, r) = visitor.get("/health/ready").await;
    assert_eq!(s, 200, "nginx answers from a live instance: {r}");

    // The browser reconnects through nginx (as the page does, with the
    // last message it saw): another instance takes it, and it catches up.
    let (mut v, now_at) = placed(&ports, Socket::visitor(&visitor, Some(last_seen))).await;
    assert_ne!(now_at, visitor_at);
    message(&mut v, "message_to_visitor", "while you were away").await;
    let history = visitor.messages(&tid, "").await;
    assert_eq!(history.len(), 3, "{history:?}");

    // And live again, both ways.
    ok(&a
        .emit(
            "message_to_visitor",
            json!({"thread_id": tid, "text": "welcome back"}),
        )
        .await);
    message(&mut v, "message_to_visitor", "welcome back").await;
    ok(&v
        .emit("message_from_visitor", json!({"text": "thanks"}))
        .await);
    message(&mut a, "message_from_visitor", "thanks").await;
    drop(others);
    drop(nginx);
    drop(instances);
}
