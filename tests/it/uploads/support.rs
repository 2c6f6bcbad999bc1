//! Files made for the tests (real 1x1 images, audio headers) and upload
//! helpers.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{Backend, Browser, Opts, TestApp, spawn};

pub const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------- files

/// A real 1x1 PNG (RGB, red).
pub const PNG_1X1: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0cIDAT\x78\x9c\x63\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xae\x42\x60\x82";
/// A real 1x1 GIF87a.
pub const GIF_1X1: &[u8] = b"GIF87a\x01\x00\x01\x00\x81\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x08\x04\x00\x01\x04\x04\x00\x3b";
/// A real 1x1 lossless WebP.
pub const WEBP_1X1: &[u8] = b"RIFF\x1c\x00\x00\x00WEBPVP8L\x0f\x00\x00\x00\x2f\x00\x00\x00\x00\x07\x10\xfd\x8f\xfe\x07\x22\xa2\xff\x01\x00";
/// A real 1x1 grey baseline JPEG (JFIF), in hex.
pub const JPEG_1X1_HEX: &str = "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e\
    1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d7179\
    7064785c656763ffc0000b080001000101011100ffc40014000100000000000000000000000000000000ffc4001410\
    0100000000000000000000000000000000ffda0008010100003f003fffd9";

pub fn jpeg_1x1() -> Vec<u8> {
    hex::decode(JPEG_1X1_HEX).expect("hex")
}

/// CRC-32 (ISO-HDLC, as PNG chunks use).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG whose header claims `width` x `height` (correct CRCs; no pixels).
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut v, b"IHDR", &ihdr);
    png_chunk(&mut v, b"IEND", &[]);
    v
}

/// A PCM WAV (8 kHz, mono, 8-bit) of exactly `total` bytes (≥ 44).
pub fn wav(total: usize) -> Vec<u8> {
    let data = total - 44;
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&((total - 8) as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&8u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data as u32).to_le_bytes());
    v.extend((0..data).map(|i| if i % 16 < 8 { 0x60 } else { 0xA0 }));
    v
}

/// One MPEG-1 layer III frame (128 kbit/s, 44.1 kHz, 417 bytes), no ID3 tag.
pub fn mp3_frame() -> Vec<u8> {
    let mut v = vec![0xFF, 0xFB, 0x90, 0x64];
    v.resize(417, 0);
    v
}

/// An Ogg page carrying an `OpusHead` packet.
pub fn ogg_opus() -> Vec<u8> {
    let mut v = b"OggS\x00\x02".to_vec();
    v.extend_from_slice(&0u64.to_le_bytes()); // granule position
    v.extend_from_slice(&0x1234u32.to_le_bytes()); // serial
    v.extend_from_slice(&0u32.to_le_bytes()); // page sequence
    v.extend_from_slice(&0u32.to_le_bytes()); // checksum (not checked)
    v.extend_from_slice(&[1, 19]); // one segment of 19 bytes
    v.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00");
    v
}

/// An EBML header with DocType `webm` and a Segment start, as Chrome's
/// MediaRecorder writes for `audio/webm;codecs=opus`.
pub fn webm() -> Vec<u8> {
    let mut v = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F];
    v.extend_from_slice(b"\x42\x86\x81\x01\x42\xF7\x81\x01\x42\xF2\x81\x04\x42\xF3\x81\x08");
    v.extend_from_slice(b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02");
    v.extend_from_slice(b"\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
    v.resize(400, 0xEC);
    v
}

/// An `ftyp M4A ` box followed by an empty `mdat`.
pub fn m4a() -> Vec<u8> {
    let mut v = 0x20u32.to_be_bytes().to_vec();
    v.extend_from_slice(b"ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00\x00\x00");
    v.extend_from_slice(&8u32.to_be_bytes());
    v.extend_from_slice(b"mdat");
    v
}

// ---------------------------------------------------------------- helpers

/// A server whose `UPLOAD_DIR` the test can look into.
pub async fn app_with_uploads(
    backend: Backend,
    env: &[(&str, &str)],
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let uploads = dir.path().join("uploads").display().to_string();
    let mut vars: Vec<(&str, &str)> = vec![("UPLOAD_DIR", &uploads)];
    vars.extend_from_slice(env);
    let app = spawn(Opts::new(backend).envs(&vars)).await;
    (app, dir)
}

pub fn uploads_of(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("uploads")
}

/// Every file under `root` (recursively), sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `POST` a multipart form with one file part named `field`.
pub async fn upload_as(
    b: &Browser,
    path: &str,
    field: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part(field.to_owned(), part);
    let r = b
        .client
        .post(format!("{}{path}", b.base))
        .header("X-CSRFToken", &b.csrf)
        .multipart(form)
        .send()
        .await
        .expect("POST multipart");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn upload(b: &Browser, path: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    upload_as(b, path, "file", name, "application/octet-stream", bytes).await
}

/// Uploads `bytes` as an image (`p.png`) as `b` and sends a message that
/// carries it (asserting both 200); returns the upload's `(file_path,
/// file_url)`.
pub async fn send_image(b: &Browser, bytes: Vec<u8>) -> (String, String) {
    let (s, r) = upload(b, "/api/upload/image", "p.png", bytes).await;
    assert_eq!(s, 200, "{r}");
    let path = r["file_path"].as_str().expect("file_path").to_owned();
    let url = r["file_url"].as_str().expect("file_url").to_owned();
    send_media(b, "image", &url, "").await;
    (path, url)
}

/// Sends a message of `kind` (`image`, `audio`) carrying `url` with
/// caption `text` as `b`, asserting a 200.
pub async fn send_media(b: &Browser, kind: &str, url: &str, text: &str) {
    let (s, r) = b
        .post(
            "/api/messages/send",
            json!({"text": text, "type": kind, "file_url": url}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
}

pub fn assert_uploaded(status: u16, body: &Value, folder: &str, ext: &str) -> String {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    let url = body["file_url"].as_str().expect("file_url").to_owned();
    assert_eq!(body["file_path"], json!(url), "{body}");
    let name = url
        .strip_prefix(&format!("/uploads/{folder}/"))
        .unwrap_or_else(|| panic!("{url} under /uploads/{folder}/"));
    let (stem, got_ext) = name.split_once('.').expect("extension");
    assert!(uuid::Uuid::parse_str(stem).is_ok(), "{name}");
    assert_eq!(got_ext, ext, "{url}");
    let want = if folder == "images" {
        "Image uploaded successfully"
    } else {
        "Audio uploaded successfully"
    };
    assert_eq!(body["message"], json!(want));
    url
}

// ------------------------------------------------------------ raw HTTP

/// A visitor's cookie and CSRF token, for requests written by hand.
pub struct RawVisitor {
    pub addr: std::net::SocketAddr,
    pub cookie: String,
    pub csrf: String,
}

impl RawVisitor {
    pub async fn new(app: &TestApp) -> RawVisitor {
        let r = reqwest::get(format!("{}/api/session", app.base))
            .await
            .expect("GET /api/session");
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .expect("cookie pair")
            .to_owned();
        let csrf = r.json::<Value>().await.expect("json")["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        RawVisitor {
            addr: app.addr,
            cookie,
            csrf,
        }
    }

    /// The request head of an upload to `path`: `Content-Length: n` or
    /// chunked (`None`), with `Expect: 100-continue` when `expect`.
    pub fn head(&self, path: &str, length: Option<usize>, expect: bool) -> Vec<u8> {
        let mut h = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\nX-CSRFToken: {}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n",
            self.cookie, self.csrf
        );
        match length {
            Some(n) => h.push_str(&format!("Content-Length: {n}\r\n")),
            None => h.push_str("Transfer-Encoding: chunked\r\n"),
        }
        if expect {
            h.push_str("Expect: 100-continue\r\n");
        }
        h.push_str("\r\n");
        h.into_bytes()
    }
}

pub const BOUNDARY: &str = "RawBoundary7MA4YWxk";

/// The multipart framing before the bytes of a `file` part.
pub fn part_start() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes()
}

/// The multipart framing after the file's bytes.
pub fn part_end() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// A whole multipart body with `file` as its only part.
pub fn multipart_body(file: &[u8]) -> Vec<u8> {
    [part_start(), file.to_vec(), part_end()].concat()
}

/// A PNG padded with zeros to `len` bytes.
pub fn padded_png(len: usize) -> Vec<u8> {
    let mut v = PNG_1X1.to_vec();
    v.resize(len, 0);
    v
}

/// `bytes` in HTTP/1.1 chunked encoding, 64 KiB a chunk, with the last chunk.
pub fn chunked(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 1000 + 16);
    for c in bytes.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// An answer read by hand: status, head (lower-case), JSON body.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: Value,
}

/// Parses the first complete answer in `buf` (a `Content-Length` body), or
/// `None` while incomplete.
pub fn parse_answer(buf: &[u8]) -> Option<RawAnswer> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + len)?;
    Some(RawAnswer {
        status,
        head,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    })
}

/// Reads until one answer is complete; `Err` on a connection error, or
/// when the connection closes or `within` passes before that.
pub async fn read_answer(
    conn: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> Result<RawAnswer, String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    tokio::time::timeout(within, async {
        loop {
            if let Some(a) = parse_answer(&buf) {
                return Ok(a);
            }
            match conn.read(&mut chunk).await {
                Ok(0) => {
                    return Err(format!(
                        "closed before a whole answer: {:?}",
                        String::from_utf8_lossy(&buf)
                    ));
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    })
    .await
    .map_err(|_| format!("no answer within {within:?}"))?
}

/// Whether the server closes the connection (EOF or reset) within `within`
/// after the answer, reading and discarding anything else.
pub async fn closes_within(
    conn: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> bool {
    use tokio::io::AsyncReadExt;
    let mut chunk = vec![0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}
