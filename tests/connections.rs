//! Issue 20 items 1, 2 and 4: answers the client can read, many people
//! behind one address, and the metrics listener under the same caps.
//! Each test performs the failure against the real server over raw TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on what they assert

mod common;

use std::time::Duration;

use common::{Backend, Opts, spawn};
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
        stream
            .write_all(&chunk[..n])
            .await
            .map_err(|e| format!("writing the body ({} of {body_len} sent): {e}", body_len - left))?;
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
