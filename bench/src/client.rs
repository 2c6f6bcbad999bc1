//! What a browser does, minimally: the HTTP flow (visitor page → cookie and
//! CSRF token; admin password → code from the server log → session cookie)
//! and a Socket.IO v5 / Engine.IO v4 client over one WebSocket (open packet
//! `0{…}`, `40{auth}` connect, `42[…]` events with ack ids `42<id>[…]` /
//! `43<id>[…]`, ping `2` → pong `3`).
//!
//! Own code rather than a Socket.IO client crate: `rust_socketio` (the only
//! maintained one) brings native-tls, its own tungstenite and rand versions,
//! and a callback API that clones per event; a load generator needs only
//! these few packet kinds, over `tokio-tungstenite` that is already in
//! Cargo.lock (socketioxide uses it).

use std::{net::SocketAddr, time::Duration};

use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::server::{ADMIN_PASSWORD, ADMIN_USER, Server};

/// A browser's identity: its cookies and CSRF token.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// `name=value; name2=value2`.
    pub cookie: String,
    /// The page's `<meta name="csrf-token">`.
    pub csrf: String,
}

/// One HTTP client (keep-alive pool, no proxy).
pub fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

fn merge_cookies(id: &mut Identity, res: &reqwest::Response) {
    for sc in res.headers().get_all(reqwest::header::SET_COOKIE) {
        let Ok(sc) = sc.to_str() else { continue };
        let pair = sc.split(';').next().unwrap_or("").trim();
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let mut jar: Vec<(String, String)> = id
            .cookie
            .split("; ")
            .filter_map(|p| p.split_once('='))
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        if !value.is_empty() && !sc.contains("Max-Age=0") {
            jar.push((name.to_owned(), value.to_owned()));
        }
        id.cookie = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
    }
}

/// `GET /` as a new visitor: the visitor cookie and the page's CSRF token.
pub async fn visitor(http: &reqwest::Client, addr: SocketAddr) -> Result<Identity, String> {
    let res = http
        .get(format!("http://{addr}/"))
        .send()
        .await
        .map_err(|e| format!("GET /: {e}"))?;
    let mut id = Identity::default();
    merge_cookies(&mut id, &res);
    let status = res.status();
    let body = res.text().await.map_err(|e| e.to_string())?;
    let needle = "<meta name=\"csrf-token\" content=\"";
    id.csrf = body
        .find(needle)
        .map(|i| &body[i + needle.len()..])
        .and_then(|r| r.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("GET / → {status}: no csrf-token meta"))?;
    if id.cookie.is_empty() {
        return Err(format!("GET / → {status}: no visitor cookie"));
    }
    Ok(id)
}

async fn post(
    http: &reqwest::Client,
    server: &Server,
    id: &mut Identity,
    path: &str,
    body: serde_json::Value,
) -> Result<(), String> {
    let res = http
        .post(format!("http://{}{path}", server.addr))
        .header("content-type", "application/json")
        .header("cookie", &id.cookie)
        .header("x-csrftoken", &id.csrf)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("POST {path}: {e}"))?;
    merge_cookies(id, &res);
    let status = res.status();
    if !status.is_success() {
        let text = res.text().await.unwrap_or_default();
        return Err(format!("POST {path} → {status}: {text}"));
    }
    Ok(())
}

/// The admin login: `GET /`, `POST /admin/login`, the code from the server
/// log, `POST /admin/verify-otp`.
pub async fn admin(http: &reqwest::Client, server: &Server) -> Result<Identity, String> {
    let mut id = visitor(http, server.addr).await?;
    let mark = server.mark();
    let body = serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD});
    post(http, server, &mut id, "/admin/login", body).await?;
    let otp = server
        .wait_line(
            mark,
            "OTP for admin login (Telegram not configured): ",
            Duration::from_secs(10),
        )
        .map(|s| s.chars().take(6).collect::<String>())
        .ok_or("no OTP line in the server log")?;
    post(
        http,
        server,
        &mut id,
        "/admin/verify-otp",
        serde_json::json!({ "otp": otp }),
    )
    .await?;
    Ok(id)
}

/// The receiving half of a connected socket.
pub type Rx = SplitStream<WebSocketStream<TcpStream>>;
/// Sends one Engine.IO text packet (the writer task batches what is queued).
pub type Tx = mpsc::UnboundedSender<String>;

async fn writer(
    mut sink: SplitSink<WebSocketStream<TcpStream>, Message>,
    mut rx: mpsc::UnboundedReceiver<String>,
) {
    while let Some(first) = rx.recv().await {
        if sink.feed(Message::text(first)).await.is_err() {
            return;
        }
        while let Ok(more) = rx.try_recv() {
            if sink.feed(Message::text(more)).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// The next text packet; answers pings (`2` → `3`) on the way. `None` when
/// the socket closed.
pub async fn next_text(rx: &mut Rx, tx: &Tx) -> Option<String> {
    loop {
        match rx.next().await? {
            Ok(Message::Text(t)) => {
                if t.as_str() == "2" {
                    let _ = tx.send("3".into());
                    continue;
                }
                return Some(t.as_str().to_owned());
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Opens a Socket.IO connection on `/` with `auth` (`{"csrf_token": …,
/// "role": …}`), waiting for the server's CONNECT (`40…`).
///
/// # Errors
/// The connect error (`44{"message": …}`) or the transport failure, as text.
pub async fn connect(addr: SocketAddr, id: &Identity, role: &str) -> Result<(Tx, Rx), String> {
    connect_from(addr, None, id, role).await
}

/// [`connect`] from the source address `from` (port chosen by the kernel),
/// e.g. `127.0.0.2`: one address has about 28,000 ephemeral ports
/// (`net.ipv4.ip_local_port_range`), so S0 spreads 100,000 sockets over
/// several loopback addresses.
///
/// # Errors
/// As [`connect`]; also when `from` cannot be bound.
pub async fn connect_from(
    addr: SocketAddr,
    from: Option<std::net::IpAddr>,
    id: &Identity,
    role: &str,
) -> Result<(Tx, Rx), String> {
    let tcp = match from {
        None => TcpStream::connect(addr).await.map_err(|e| e.to_string())?,
        Some(ip) => {
            let sock = if ip.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            }
            .map_err(|e| e.to_string())?;
            sock.bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
            sock.connect(addr).await.map_err(|e| e.to_string())?
        }
    };
    let _ = tcp.set_nodelay(true);
    let mut req = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "cookie",
        HeaderValue::from_str(&id.cookie).map_err(|e| e.to_string())?,
    );
    let (ws, _) = tokio_tungstenite::client_async(req, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (sink, mut rx) = ws.split();
    let (tx, wrx) = mpsc::unbounded_channel();
    tokio::spawn(writer(sink, wrx));
    let open = next_text(&mut rx, &tx).await.ok_or("closed before open")?;
    if !open.starts_with('0') {
        return Err(format!("unexpected open packet {open:?}"));
    }
    let auth = serde_json::json!({"csrf_token": id.csrf, "role": role});
    let _ = tx.send(format!("40{auth}"));
    loop {
        let p = next_text(&mut rx, &tx)
            .await
            .ok_or("closed before connect")?;
        if p.starts_with("40") {
            return Ok((tx, rx));
        }
        if let Some(e) = p.strip_prefix("44") {
            return Err(format!("connect_error {e}"));
        }
    }
}
