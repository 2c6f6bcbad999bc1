//! Limits on the wire (issue #8 items 6 and 8), with requests written by
//! hand on raw sockets: an over-limit upload always gets its 413 (answered
//! at once when `Content-Length` tells, the rest of the body drained so the
//! answer is never lost to a reset), and a trickled or stalled upload body
//! is ended with 408 instead of holding its connection.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::support::*;
use crate::common::{Backend, assert_error};

/// Sends the request with a pause after `first` bytes, and only then reads
/// the answer: the simplest client, the one an early close hurts (a write
/// into a closed connection fails before the answer is read). The pause
/// stands for a client slower than the server, as on a busy machine.
async fn send_all_then_read(
    addr: std::net::SocketAddr,
    request: &[u8],
    first: usize,
) -> Result<RawAnswer, String> {
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (a, b) = request.split_at(first);
    conn.write_all(a).await.map_err(|e| format!("write: {e}"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.write_all(b).await.map_err(|e| format!("write: {e}"))?;
    read_answer(&mut conn, Duration::from_secs(60)).await
}

#[tokio::test]
async fn forty_concurrent_over_limit_uploads_all_read_their_413() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let v = RawVisitor::new(&app).await;
    let body = multipart_body(&padded_png(6 * MIB));
    // Half declare their length (answered at once, the body drained), half
    // are chunked (cut off while streaming at the limit, then drained).
    let with_length = [
        v.head("/api/upload/image", Some(body.len()), false),
        body.clone(),
    ]
    .concat();
    let chunked_req = [v.head("/api/upload/image", None, false), chunked(&body)].concat();
    let addr = v.addr;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let req = if i % 2 == 0 {
                with_length.clone()
            } else {
                chunked_req.clone()
            };
            // The pause comes after 5.5 MiB: past the point where the file
            // is refused.
            tokio::spawn(async move { send_all_then_read(addr, &req, 5 * MIB + MIB / 2).await })
        })
        .collect();
    let mut failures = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.expect("task") {
            Ok(a) => {
                assert_error(a.status, &a.body, 413, "FILE_TOO_LARGE");
                assert!(a.head.contains("connection: close"), "{}", a.head);
            }
            Err(e) => failures.push(format!("upload {i}: {e}")),
        }
    }
    assert!(failures.is_empty(), "connection errors: {failures:?}");
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing kept");
    app.finish().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_answered_before_any_body_byte() {
    let (app, _dir) = app_with_uploads(Backend::Sqlite, &[]).await;
    let v = RawVisitor::new(&app).await;
    // With `Expect: 100-continue` the client waits: the answer must be the
    // 413, never `100 Continue`, and the body is never sent.
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(&v.head("/api/upload/image", Some(20 * MIB), true))
        .await
        .unwrap();
    let a = read_answer(&mut conn, Duration::from_secs(10))
        .await
        .unwrap();
    assert_error(a.status, &a.body, 413, "FILE_TOO_LARGE");
    assert!(
        closes_within(&mut conn, Duration::from_secs(10)).await,
        "the server keeps a connection whose body it refused"
    );
    // Without `Expect` the answer comes at once too, before any body byte.
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(&v.head("/api/upload/audio", Some(11 * MIB + 1), false))
        .await
        .unwrap();
    let a = read_answer(&mut conn, Duration::from_secs(10))
        .await
        .unwrap();
    assert_error(a.status, &a.body, 413, "FILE_TOO_LARGE");
    drop(conn);
    // The server is fine afterwards.
    let b = app.visitor().await;
    let (s, r) = upload(&b, "/api/upload/image", "ok.png", PNG_1X1.to_vec()).await;
    assert_uploaded(s, &r, "images", "png");
    app.finish().await;
}

/// Settings of the pacing tests: a 2 s grace and per-chunk timeout, then at
/// least 200 bytes/s.
const PACED: [(&str, &str); 2] = [
    ("UPLOAD_BODY_TIMEOUT_SECS", "2"),
    ("UPLOAD_BODY_MIN_RATE", "200"),
];

#[tokio::test]
async fn a_trickled_upload_body_is_ended_with_408() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &PACED).await;
    let v = RawVisitor::new(&app).await;
    let body = multipart_body(&padded_png(100_000));
    let conn = TcpStream::connect(app.addr).await.unwrap();
    let (mut rd, mut wr) = conn.into_split();
    wr.write_all(&v.head("/api/upload/image", Some(body.len()), false))
        .await
        .unwrap();
    wr.write_all(&body[..200]).await.unwrap();
    // One byte every 300 ms: each in time for the per-chunk timeout, far
    // below the minimum rate (the whole body would take 8 hours).
    let trickler = tokio::spawn(async move {
        let mut sent = 200;
        for b in &body[200..] {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if wr.write_all(std::slice::from_ref(b)).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let a = read_answer(&mut rd, Duration::from_secs(60)).await.unwrap();
    assert_error(a.status, &a.body, 408, "REQUEST_TIMEOUT");
    assert!(
        closes_within(&mut rd, Duration::from_secs(10)).await,
        "connection still open after the 408"
    );
    trickler.abort();
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing kept");
    app.finish().await;
}

#[tokio::test]
async fn a_stalled_upload_body_is_ended_with_408_and_a_steady_one_passes() {
    let (app, dir) = app_with_uploads(Backend::Sqlite, &PACED).await;
    let v = RawVisitor::new(&app).await;
    let body = multipart_body(&padded_png(30_000));
    // Half the body, then silence.
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(&v.head("/api/upload/image", Some(body.len()), false))
        .await
        .unwrap();
    conn.write_all(&body[..15_000]).await.unwrap();
    let a = read_answer(&mut conn, Duration::from_secs(60))
        .await
        .unwrap();
    assert_error(a.status, &a.body, 408, "REQUEST_TIMEOUT");
    assert!(closes_within(&mut conn, Duration::from_secs(10)).await);
    assert!(files_under(&uploads_of(&dir)).is_empty(), "nothing kept");
    // The same body in three parts a second apart (10 KB/s) is fine.
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(&v.head("/api/upload/image", Some(body.len()), false))
        .await
        .unwrap();
    for part in body.chunks(body.len().div_ceil(3)) {
        conn.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let a = read_answer(&mut conn, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{:?}", a);
    assert_eq!(a.body["success"], json!(true));
    assert_eq!(files_under(&uploads_of(&dir)).len(), 1);
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_millis(100), conn.read_to_end(&mut rest)).await;
    app.finish().await;
}
