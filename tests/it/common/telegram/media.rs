//! Files: `sendPhoto` / `sendVoice` / `sendAudio` / `sendDocument` (a
//! multipart upload referenced as `attach://<name>`, a known `file_id`, or
//! a URL), captions (1024 UTF-16 units), `getFile`, and downloads at
//! `/file/bot<token>/<file_path>`.

use std::time::Instant;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{
    ApiResult, CAPTION_LIMIT, Call, St, StoredFile, TOKEN, Upload, bad,
    messages::{chat_of, finish_send, plain},
    param_str,
    server::{Shared, envelope},
    utf16_len,
};

/// The media sends and `getFile`; `None` for any other method.
pub(super) fn call(
    st: &mut St,
    m: &str,
    p: &Map<String, Value>,
    uploads: &[Upload],
) -> Option<ApiResult> {
    Some(match m {
        "sendphoto" | "sendvoice" | "sendaudio" | "senddocument" => send_media(st, m, p, uploads),
        "getfile" => {
            let id = param_str(p, "file_id").unwrap_or_default();
            match st.files.get(&id) {
                Some(f) => Ok(json!({
                    "file_id": id, "file_unique_id": f.unique_id,
                    "file_size": f.bytes.len(), "file_path": f.path,
                })),
                None => Err(bad("invalid file_id")),
            }
        }
        _ => return None,
    })
}

fn send_media(st: &mut St, m: &str, p: &Map<String, Value>, uploads: &[Upload]) -> ApiResult {
    let field = &m[4..];
    let chat = chat_of(st, p)?;
    let caption = plain(p, "caption")?;
    if utf16_len(&caption) > CAPTION_LIMIT {
        return Err(bad("message caption is too long"));
    }
    let Some(value) = param_str(p, field) else {
        return Err(bad(format!("there is no {field} in the request")));
    };
    let bytes = if let Some(id) = value.strip_prefix("attach://") {
        match uploads.iter().find(|u| u.name == id) {
            Some(u) if !u.bytes.is_empty() => u.bytes.clone(),
            Some(_) => return Err(bad("file must be non-empty")),
            None => return Err(bad(format!("there is no {field} in the request"))),
        }
    } else if let Some(f) = st.files.get(&value) {
        f.bytes.clone()
    } else if value.starts_with("http://") || value.starts_with("https://") {
        // Telegram would fetch the URL; the double pretends it did.
        value.clone().into_bytes()
    } else {
        return Err(bad(
            "wrong remote file identifier specified: Wrong string length",
        ));
    };
    let ext = match field {
        "photo" => "jpg",
        "voice" => "oga",
        "audio" => "mp3",
        _ => "bin",
    };
    let f = store_file(st, &format!("{field}s"), ext, bytes);
    let size = f.1.bytes.len();
    let mut body = Map::new();
    let media = match field {
        "photo" => json!([photo_size(&f, 90, 90), photo_size(&f, 800, 600)]),
        "voice" => json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "duration": 2,
                          "mime_type": "audio/ogg", "file_size": size}),
        "audio" => json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "duration": 3,
                          "mime_type": "audio/mpeg", "file_size": size, "file_name": "audio.mp3"}),
        _ => json!({"file_id": f.0, "file_unique_id": f.1.unique_id,
                    "file_name": "file.bin", "file_size": size}),
    };
    body.insert(field.to_owned(), media);
    if !caption.is_empty() {
        body.insert("caption".into(), json!(caption));
    }
    finish_send(st, p, chat, body)
}

/// Stores `bytes` as a Telegram file; returns its `file_id` and record.
pub(super) fn store_file(
    st: &mut St,
    dir: &str,
    ext: &str,
    bytes: Vec<u8>,
) -> (String, StoredFile) {
    let n = st.next_file;
    st.next_file += 1;
    let id = format!("AgACAgIAAxkBAAIB{n:06}");
    let f = StoredFile {
        unique_id: format!("AQAD{n:06}"),
        path: format!("{dir}/file_{n}.{ext}"),
        bytes,
    };
    st.files.insert(id.clone(), f.clone());
    (id, f)
}

/// A `PhotoSize` of a stored file.
pub(super) fn photo_size(f: &(String, StoredFile), w: u32, h: u32) -> Value {
    json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "width": w, "height": h, "file_size": f.1.bytes.len()})
}

/// `GET /file/bot<token>/<file_path>`: the file's bytes (recorded as a
/// call of method `file`).
pub(super) async fn download(
    State(d): State<Shared>,
    Path((bot, file_path)): Path<(String, String)>,
) -> Response {
    let mut st = d.lock();
    let found = if bot.strip_prefix("bot") == Some(TOKEN) && !st.down {
        st.files
            .values()
            .find(|f| f.path == file_path)
            .map(|f| f.bytes.clone())
    } else {
        None
    };
    let seq = st.calls.len();
    st.calls.push(Call {
        seq,
        at: Instant::now(),
        method: "file".into(),
        encoding: "none",
        params: Map::from_iter([("file_path".to_owned(), json!(file_path))]),
        uploads: vec![],
        status: if found.is_some() { 200 } else { 404 },
        answer: json!({"ok": found.is_some()}),
    });
    match found {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::from(bytes),
        )
            .into_response(),
        None => envelope(404, Err((404, "Not Found".into()))),
    }
}
