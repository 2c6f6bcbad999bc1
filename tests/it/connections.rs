//! Issue 20 items 1, 2 and 4: answers the client can read, many people
//! behind one address, and the metrics listener under the same caps.
//! Each test performs the failure against the real server over raw TCP.

use std::time::Duration;

use crate::common::{self, Backend, Opts, spawn};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

on_both_backends!(refusals_before_the_body_is_read_reach_the_client);

/// A raw HTTP/1.1 exchange's outcome: the answer's status, headers (lower
/// case) and JSON body.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Splits a whole HTTP/1.1 answer (read to EOF) into an [`Answer`].
fn parse(raw: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(raw);
    let Some(end) = text.find("\r\n\r\n") else {
        return Err(format!("no complete head in {} bytes: {text:?}", raw.len()));
    };
    let head = text[..end].to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status: {head:?}"))?;
    let body = serde_json::from_str(&text[end + 4..])
        .map_err(|e| format!("body is not whole JSON ({e}): {:?}", &text[end + 4..]))?;
    Ok(Answer { status, head, body })
}

/// Sends `head` and then `body_len` bytes of body (as a browser does, the
/// whole body before reading), then reads the answer to EOF. Any write or
/// read failure (a reset) is an `Err`.
async fn exchange(stream: &mut TcpStream, head: &str, body_len: usize) -> Result<Answer, String> {
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("writing the head: {e}"))?;
    let chunk = vec![b'x'; 16 * 1024];
    let mut left = body_len;
    while left > 0 {
        let n = left.min(chunk.len());
        stream.write_all(&chunk[..n]).await.map_err(|e| {
            format!(
                "writing the body ({} of {body_len} sent): {e}",
                body_len - left
            )
        })?;
        left -= n;
    }
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| "no EOF within 20 s".to_owned())?
        .map_err(|e| format!("reading the answer ({} bytes read): {e}", raw.len()))?;
    parse(&raw)
}

/// A client connection with a small send buffer (32 KiB, as on a busy
/// link): its body cannot all sit in the kernel before the server reads, so
/// a server that resets a connection with body bytes still coming fails
/// the client's write.
async fn connect_small(addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(32 * 1024).unwrap();
    socket.connect(addr).await.unwrap()
}

/// The visitor cookie header and CSRF token of a new browser.
async fn visitor_credentials(base: &str) -> (String, String) {
    let r = reqwest::get(format!("{base}/api/session")).await.unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let body: Value = r.json().await.unwrap();
    (
        cookies.join("; "),
        body["csrf_token"].as_str().unwrap().to_owned(),
    )
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{a:?}");
    assert_eq!(a.body["code"], code, "{a:?}");
    assert_eq!(a.body["status"], status, "{a:?}");
    assert_eq!(a.body["success"], false, "{a:?}");
}

/// Item 1: answers written before the request body was read — 403
/// `CSRF_FAILED` (an upload from a new client without a token), 401
/// (an invalid visitor token), 413 (a JSON body over 64 KiB) — reach the
/// client every time: the server does not reset a connection that still
/// has body bytes coming, so the client can send its whole body and read
/// the answer.
async fn refusals_before_the_body_is_read_reach_the_client(backend: Backend) {
    let app = spawn(backend).await;
    let host = app.addr;
    let (cookie, csrf) = visitor_credentials(&app.base).await;
    const BODY: usize = 512 * 1024;
    let cases = [
        (
            format!(
                "POST /api/upload/image HTTP/1.1\r\nHost: {host}\r\n\
                 Content-Type: multipart/form-data; boundary=XyZ\r\n\
                 Content-Length: {BODY}\r\n\r\n"
            ),
            403,
            "CSRF_FAILED",
        ),
        (
            format!(
                "POST /api/messages/send HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bearer {}forged\r\nContent-Type: application/json\r\n\
                 Content-Length: {BODY}\r\n\r\n",
                sohbet::auth::visitor_token::PREFIX
            ),
            401,
            "UNAUTHORIZED",
        ),
        (
            format!(
                "POST /api/messages/send HTTP/1.1\r\nHost: {host}\r\n\
                 Cookie: {cookie}\r\nX-CSRFToken: {csrf}\r\nContent-Type: application/json\r\n\
                 Content-Length: {BODY}\r\n\r\n"
            ),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (head, status, code) in &cases {
        for round in 0..30 {
            let mut s = connect_small(app.addr).await;
            let a = exchange(&mut s, head, BODY)
                .await
                .unwrap_or_else(|e| panic!("{code}, round {round}: {e}"));
            assert_error(&a, *status, code);
        }
    }
    app.finish().await;
}

/// Reads one answer of a kept-alive connection (head, then
/// `Content-Length` bytes); an `Err` when the connection ends first.
async fn read_one(stream: &mut TcpStream) -> Result<Answer, String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if raw.len() >= end + 4 + len {
                    return parse(&raw[..end + 4 + len]);
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) => return Err(format!("closed after {} bytes", raw.len())),
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => return Err(format!("{e} after {} bytes", raw.len())),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .map_err(|_| "no answer within 20 s".to_owned())?
}

const LIVE: &str = "GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n";
const LIVE_CLOSE: &str = "GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// Item 2 (a): an address holding `MAX_CONNECTIONS_PER_IP` kept-alive
/// connections, all idle between requests, opens one more: its request is
/// served, and the longest-idle connection was closed for it (a browser
/// reconnects; the others keep working).
#[tokio::test]
async fn at_the_per_address_cap_an_idle_connection_makes_room() {
    let app = spawn(Opts::new(Backend::Sqlite).env("MAX_CONNECTIONS_PER_IP", "8")).await;
    let mut held = vec![];
    for _ in 0..8 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(LIVE.as_bytes()).await.unwrap();
        assert_eq!(read_one(&mut s).await.unwrap().status, 200);
        held.push(s);
    }
    let mut newcomers = vec![];
    for round in 0..3 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(LIVE.as_bytes()).await.unwrap();
        let a = read_one(&mut s)
            .await
            .unwrap_or_else(|e| panic!("newcomer {round}: {e}"));
        assert_eq!(a.status, 200, "{a:?}");
        newcomers.push(s);
    }
    // The three newcomers took the places of the three longest idle.
    let mut served = 0;
    let mut closed = 0;
    for s in &mut held {
        let answer = match s.write_all(LIVE.as_bytes()).await {
            Ok(()) => read_one(s).await,
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(a) if a.status == 200 => served += 1,
            Ok(a) => panic!("{a:?}"),
            Err(_) => closed += 1,
        }
    }
    assert_eq!((served, closed), (5, 3));
    drop((held, newcomers));
    app.finish().await;
}

/// Item 2 (b): when every connection of the address is in the middle of a
/// request (uploads waiting for their body), a new connection is not reset:
/// it reads a 503 `SERVER_BUSY` with `Retry-After` and the error JSON, and
/// is served again once a place is free. Another address is answered
/// throughout.
#[tokio::test]
async fn at_the_per_address_cap_with_every_connection_busy_the_answer_is_a_readable_503() {
    let app = spawn(Opts::new(Backend::Sqlite).env("MAX_CONNECTIONS_PER_IP", "8")).await;
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let r = other
        .get(format!("{}/api/session", app.base))
        .send()
        .await
        .unwrap();
    let cookie: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = format!(
        "POST /api/upload/image HTTP/1.1\r\nHost: t\r\nCookie: {}\r\nX-CSRFToken: {csrf}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 4000\r\n\
         Expect: 100-continue\r\n\r\n",
        cookie.join("; ")
    );
    let mut busy = vec![];
    for _ in 0..8 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(upload.as_bytes()).await.unwrap();
        // `100 Continue`: the upload handler is reading the body.
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
                .await
                .expect("100 Continue within 20 s")
                .unwrap();
            assert!(n > 0, "closed before 100 Continue");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 100"), "{got:?}");
        busy.push(s);
    }
    for round in 0..5 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        let a = exchange(&mut s, LIVE, 0)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_error(&a, 503, "SERVER_BUSY");
        assert!(a.head.contains("\r\nretry-after: 1"), "{}", a.head);
        assert!(a.head.contains("\r\nconnection: close"), "{}", a.head);
        let r = other
            .get(format!("{}/health/live", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // One upload gives up: a new connection is served again.
    drop(busy.pop());
    let mut served = None;
    for _ in 0..50 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        match exchange(&mut s, LIVE_CLOSE, 0).await {
            Ok(a) if a.status == 200 => {
                served = Some(a);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(served.is_some(), "served again once a place was free");
    drop(busy);
    app.finish().await;
}

/// The real binary under `RLIMIT_NOFILE` = `nofile` (soft and hard, as
/// `ulimit -n` sets them), with `env`.
fn start_binary(nofile: u64, env: &[(&str, String)]) -> common::binary::Binary {
    use std::os::unix::process::CommandExt;
    let mut cmd = common::binary::command(env);
    // SAFETY: only setrlimit (async-signal-safe) runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::resource::setrlimit(
                nix::sys::resource::Resource::RLIMIT_NOFILE,
                nofile,
                nofile,
            )
            .map_err(std::io::Error::from)
        });
    }
    common::binary::spawn(cmd)
}

/// `GET /health/live` on a new connection from `from` (another loopback
/// address than the attacker's), within 5 s.
async fn live_from(from: &str, addr: &str) -> Result<u16, String> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let run = async {
        let mut s = socket
            .connect(addr.parse().unwrap())
            .await
            .map_err(|e| e.to_string())?;
        exchange(&mut s, LIVE_CLOSE, 0).await.map(|a| a.status)
    };
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .map_err(|_| "no answer within 5 s".to_owned())?
}

/// Item 4: under `ulimit -n 512`, 600 idle connections to `METRICS_ADDR`
/// neither starve the main port of descriptors (the metrics listener is
/// under the same caps and first-byte timeout: the total cap refuses the
/// excess, a health probe still gets a reserve slot) nor flood the log
/// (at most one "accept failed" line per episode).
#[tokio::test]
async fn idle_connections_to_the_metrics_listener_cannot_take_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let env = [
        ("SQLITE_PATH", dir.path().join("c.db").display().to_string()),
        ("METRICS_ADDR", metrics.clone()),
        ("HEADER_READ_TIMEOUT_SECS", "60".to_owned()),
    ];
    let common::binary::Binary {
        mut child,
        base,
        log,
    } = start_binary(512, &env);
    let addr = base.trim_start_matches("http://").to_owned();
    assert_eq!(live_from("127.0.0.2", &addr).await, Ok(200));
    let mut idle = vec![];
    for i in 0..600 {
        // A refused connection may be reset before or after connect returns.
        if let Ok(s) = TcpStream::connect(&metrics).await {
            idle.push(s);
        }
        if i % 50 == 49 {
            let probe = live_from("127.0.0.2", &addr).await;
            assert_eq!(
                probe,
                Ok(200),
                "after {} connections to METRICS_ADDR",
                i + 1
            );
        }
    }
    for from in ["127.0.0.3", "127.0.0.4"] {
        assert_eq!(live_from(from, &addr).await, Ok(200));
    }
    drop(idle);
    let _ = child.kill();
    let _ = child.wait();
    let log = log.lock().unwrap();
    let failed = log.iter().filter(|l| l.contains("accept failed")).count();
    assert!(failed <= 1, "{failed} \"accept failed\" lines: {log:#?}");
    assert!(
        !log.iter().any(|l| l.contains("Too many open files")),
        "{log:#?}"
    );
}
