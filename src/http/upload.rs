//! Uploads over HTTP (`docs/uploads.md`): `POST /api/upload/image` and
//! `POST /api/upload/audio` (multipart field `file`, read chunk by chunk into
//! `media`, which judges and stores it), and `GET /uploads/<folder>/<name>`
//! (local files, with headers that keep a browser from running them).
//! Thin handlers: the rules live in `crate::media`.

use axum::{
    Json,
    body::Body,
    extract::{
        Path, Request, State,
        multipart::{Multipart, MultipartError, MultipartRejection},
    },
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::extract::Caller;
use crate::{
    AppState,
    error::{AppError, AppResult},
    limits::Action,
    media::{Kind, Media, Stored},
};

/// Room for the multipart framing (boundaries, part headers) above a kind's
/// file limit, in bytes: the route's body limit is `max_bytes + this`.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// `Content-Security-Policy` of served uploads: nothing loads, nothing runs,
/// even when a file is opened as a page.
pub const UPLOAD_CSP: &str = "default-src 'none'; sandbox";

/// `Cache-Control` of served uploads: a stored name never changes content.
pub const UPLOAD_CACHE: &str = "public, max-age=31536000, immutable";

/// The request body limit of the upload route for `kind`, bytes.
pub fn body_limit(kind: Kind) -> usize {
    usize::try_from(kind.max_bytes() + MULTIPART_OVERHEAD).unwrap_or(usize::MAX)
}

/// `POST /api/upload/image` (visitor or admin; JPEG, PNG, GIF, WebP ≤ 5 MiB,
/// ≤ 8192 px a side) → `{success, file_path, file_url, message: "Image uploaded successfully"}`.
///
/// Errors: 400 `BAD_REQUEST` (not multipart), 400 `VALIDATION_ERROR` (no
/// `file` field; image too wide or tall), 413 `FILE_TOO_LARGE`, 415
/// `UNSUPPORTED_TYPE`, 429 `RATE_LIMITED`, 502 `UPSTREAM_ERROR` (Cloudinary).
pub async fn image(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<Value>> {
    upload(&state, &caller, Kind::Image, multipart).await
}

/// `POST /api/upload/audio` (visitor or admin; MP3, WAV, OGG, WebM, M4A, AAC
/// ≤ 10 MiB) → `{success, file_path, file_url, message: "Audio uploaded successfully"}`;
/// errors as [`image`].
pub async fn audio(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<Value>> {
    upload(&state, &caller, Kind::Audio, multipart).await
}

#[tracing::instrument(skip_all, fields(kind = ?kind))]
async fn upload(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<Value>> {
    // Uploads count against the contract's upload limit (5 files a minute
    // per session, 30 per client IP; `shared/DESIGN.md` § Rate limits),
    // checked before any byte of the body is read.
    state
        .limits
        .check(Action::Upload, caller.session_key(), caller.ip)?;
    let mut multipart = multipart.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let result = receive(&state.media, kind, &mut multipart).await;
    // Read what is left of the body (bounded by the route's body limit) so
    // the client gets our answer instead of a reset connection.
    drain(&mut multipart).await;
    let Stored {
        file_path,
        file_url,
    } = result?;
    let message = match kind {
        Kind::Image => "Image uploaded successfully",
        Kind::Audio => "Audio uploaded successfully",
    };
    Ok(Json(json!({
        "success": true,
        "file_path": file_path,
        "file_url": file_url,
        "message": message,
    })))
}

/// Finds the field `file` and streams it into `media`; other fields are skipped.
async fn receive(media: &Media, kind: Kind, multipart: &mut Multipart) -> AppResult<Stored> {
    let too_large = |e: MultipartError| multipart_error(kind, e);
    let mut field = loop {
        match multipart.next_field().await.map_err(too_large)? {
            Some(f) if f.name() == Some("file") => break f,
            Some(_) => continue,
            None => {
                return Err(AppError::Validation(
                    "multipart field `file` is required".into(),
                ));
            }
        }
    };
    let mut incoming = media.begin(kind).await?;
    while let Some(chunk) = field.chunk().await.map_err(too_large)? {
        incoming.push(&chunk).await?;
    }
    Ok(media.finish(incoming).await?)
}

/// Discards the rest of the body; stops at its end or at the first error
/// (such as the route's body limit).
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// A body over the route limit → 413 `FILE_TOO_LARGE`; broken multipart → 400.
fn multipart_error(kind: Kind, e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::FileTooLarge(kind.max_bytes())
    } else {
        AppError::BadRequest(e.body_text())
    }
}

/// `GET /uploads/{folder}/{name}`: a stored local file, only for `images` /
/// `audio` and names of the form `<uuid>.<ext>` (no listing, no dotfiles,
/// no temporary files). Range and conditional requests as
/// `tower_http::services::ServeFile` answers them; `Content-Type` from the
/// sniffed format the name records, plus `X-Content-Type-Options: nosniff`,
/// [`UPLOAD_CSP`] and [`UPLOAD_CACHE`]. Anything else → 404 `NOT_FOUND`.
pub async fn serve(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Response {
    let Some((file, format)) = path
        .ok()
        .and_then(|Path((folder, name))| state.media.local_file(&folder, &name))
    else {
        return AppError::NotFound("Not found").into_response();
    };
    let res = match ServeFile::new(file).oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    if res.status() == StatusCode::NOT_FOUND {
        return AppError::NotFound("Not found").into_response();
    }
    let mut res = res.map(Body::new);
    let ok = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let headers = res.headers_mut();
    if ok {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.mime()),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(UPLOAD_CACHE),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UPLOAD_CSP),
    );
    res
}
