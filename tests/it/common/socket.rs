//! A Socket.IO client for the tests, spoken over Engine.IO v4 long polling
//! (the transport every client starts with; socketioxide serves it on
//! `/socket.io/`): the handshake with `auth`, events received in order,
//! `emit` with an ack, and the ping/pong that keeps the session up. It
//! rides a [`Browser`]'s HTTP client, so a visitor socket carries that
//! browser's cookies and an admin socket its session.
//!
//! Packets (Socket.IO protocol v5 over Engine.IO v4): `0{…}` open, `2`/`3`
//! ping/pong, `40{…}` connect (answered `40{"sid"}` or `44{"message"}`),
//! `41` the server ended the socket (the `disconnect` event here),
//! `42[event, data]` an event, `42<id>[…]` one that wants an ack, `43<id>[…]`
//! the ack; one poll answer holds several packets split by `\x1e`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Browser;

/// One connected socket.
pub struct Socket {
    client: reqwest::Client,
    url: String,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    acks: mpsc::UnboundedReceiver<(u64, Value)>,
    next_ack: u64,
    poller: tokio::task::JoinHandle<()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

/// What the server answered a handshake.
pub enum Connect {
    Accepted(Socket),
    /// `connect_error` with this message (`csrf_error`, `auth_error`, …).
    Refused(String),
}

impl Socket {
    /// Connects with `auth` (e.g. `{"csrf_token": …, "role": "visitor"}`);
    /// panics when refused.
    pub async fn connect(b: &Browser, auth: Value) -> Socket {
        match Socket::try_connect(b, auth).await {
            Connect::Accepted(s) => s,
            Connect::Refused(why) => panic!("socket refused: {why}"),
        }
    }

    /// A visitor socket of browser `b` (its CSRF token); `last_message_id`
    /// asks for the catch-up replay of a reconnect.
    pub async fn visitor(b: &Browser, last_message_id: Option<i64>) -> Socket {
        let mut auth = json!({"csrf_token": b.csrf, "role": "visitor"});
        if let Some(id) = last_message_id {
            auth["last_message_id"] = json!(id);
        }
        Socket::connect(b, auth).await
    }

    /// An admin socket of a logged-in browser `b`.
    pub async fn admin(b: &Browser) -> Socket {
        Socket::connect(b, json!({"csrf_token": b.csrf, "role": "admin"})).await
    }

    /// The handshake: open a session, send CONNECT, read the answer.
    pub async fn try_connect(b: &Browser, auth: Value) -> Connect {
        let client = b.client.clone();
        let open = client
            .get(format!("{}/socket.io/?EIO=4&transport=polling", b.base))
            .send()
            .await
            .expect("Engine.IO open")
            .text()
            .await
            .expect("open body");
        let opened: Value =
            serde_json::from_str(open.strip_prefix('0').expect("OPEN packet")).expect("open JSON");
        let sid = opened["sid"].as_str().expect("sid");
        let url = format!("{}/socket.io/?EIO=4&transport=polling&sid={sid}", b.base);
        post(&client, &url, format!("40{auth}")).await;
        let (ev_tx, events) = mpsc::unbounded_channel();
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let deadline = Instant::now() + Duration::from_secs(10);
        // Packets before the CONNECT answer are kept, in order.
        let accepted = loop {
            assert!(Instant::now() < deadline, "no CONNECT answer");
            let body = poll(&client, &url).await.expect("poll");
            let mut answer = None;
            for p in body.split('\u{1e}') {
                if let Some(rest) = p.strip_prefix("44") {
                    let v: Value = serde_json::from_str(rest).unwrap_or(Value::Null);
                    return Connect::Refused(v["message"].as_str().unwrap_or(rest).to_owned());
                }
                if p.starts_with("40") {
                    answer = Some(());
                    continue;
                }
                dispatch(&client, &url, p, &ev_tx, &ack_tx).await;
            }
            if answer.is_some() {
                break true;
            }
        };
        assert!(accepted);
        let poller = {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                while let Some(body) = poll(&client, &url).await {
                    for p in body.split('\u{1e}') {
                        if p == "1" {
                            return;
                        }
                        // The server ended the socket (a logout, a disabled
                        // agent): told as a `disconnect` event, and the
                        // client stops polling, as the official one does.
                        if p.starts_with("41") {
                            let _ = ev_tx.send(("disconnect".to_owned(), Value::Null));
                            return;
                        }
                        dispatch(&client, &url, p, &ev_tx, &ack_tx).await;
                    }
                }
            })
        };
        Connect::Accepted(Socket {
            client,
            url,
            events,
            acks,
            next_ack: 1,
            poller,
        })
    }

    /// Emits `event` with `data` and waits for its ack (the handler's answer).
    pub async fn emit(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        post(
            &self.client,
            &self.url,
            format!("42{id}{}", json!([event, data])),
        )
        .await;
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some((got, v)) = self.acks.recv().await {
                if got == id {
                    return v;
                }
            }
            panic!("socket closed before the ack of {event}");
        });
        wait.await.unwrap_or_else(|_| panic!("no ack for {event}"))
    }

    /// The next event named `name` (others before it are passed over),
    /// within 10 s.
    pub async fn next(&mut self, name: &str) -> Value {
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some((event, data)) = self.events.recv().await {
                if event == name {
                    return data;
                }
            }
            panic!("socket closed while waiting for {name}");
        });
        wait.await
            .unwrap_or_else(|_| panic!("no {name} event within 10 s"))
    }

    /// Leaves the namespace (the `41` DISCONNECT packet), as a closed tab
    /// does; the server drops the socket.
    pub async fn close(self) {
        post(&self.client, &self.url, "41".into()).await;
    }

    /// The server ended the socket or stopped answering (the poller stopped).
    pub fn is_closed(&self) -> bool {
        self.poller.is_finished()
    }

    /// Every event received so far (not waiting).
    pub fn drain(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

async fn post(client: &reqwest::Client, url: &str, body: String) {
    let r = client
        .post(url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("Engine.IO POST");
    assert_eq!(r.status(), 200, "Engine.IO POST refused");
}

/// One long poll; `None` when the session is gone.
async fn poll(client: &reqwest::Client, url: &str) -> Option<String> {
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().await.ok()
}

/// Handles one packet: answers a ping, queues an event or an ack.
async fn dispatch(
    client: &reqwest::Client,
    url: &str,
    p: &str,
    events: &mpsc::UnboundedSender<(String, Value)>,
    acks: &mpsc::UnboundedSender<(u64, Value)>,
) {
    if p == "2" {
        post(client, url, "3".into()).await;
    } else if let Some(rest) = p.strip_prefix("42") {
        // An event; a numeric id before the array asks for an ack (unused here).
        let json = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if let Ok(Value::Array(mut a)) = serde_json::from_str::<Value>(json)
            && !a.is_empty()
        {
            let name = a.remove(0).as_str().unwrap_or_default().to_owned();
            let data = a.into_iter().next().unwrap_or(Value::Null);
            let _ = events.send((name, data));
        }
    } else if let Some(rest) = p.strip_prefix("43") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let json = &rest[digits.len()..];
        if let (Ok(id), Ok(Value::Array(a))) = (digits.parse(), serde_json::from_str(json)) {
            let _ = acks.send((id, a.into_iter().next().unwrap_or(Value::Null)));
        }
    }
}
