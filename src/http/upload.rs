//! Uploads over HTTP (`docs/uploads.md`): `POST /api/upload/image` and
//! `POST /api/upload/audio` (multipart field `file`, read chunk by chunk into
//! `media`, which judges and stores it), and `GET /uploads/<folder>/<name>`
//! (local files, with headers that keep a browser from running them).
//! Thin handlers: the rules live in `crate::media`; the limits on the wire
//! (byte limit, pacing, draining after the answer) in [`body`].

pub mod body;

use axum::{
    Json,
    body::Body,
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use self::body::{BodyError, Pacing, UploadBody};
use super::extract::Caller;
use crate::{
    AppState,
    http::error::{AppError, AppResult},
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
/// Errors: 403 `BLOCKED` (the admin blocked this visitor; checked first,
/// nothing stored), 400 `BAD_REQUEST` (not multipart, broken framing), 400
/// `VALIDATION_ERROR` (no `file` field; image too wide or tall), 408
/// `REQUEST_TIMEOUT` (the body stalled or came below the minimum rate), 413
/// `FILE_TOO_LARGE` (also at once, before any body byte is read, when
/// `Content-Length` is over the limit), 415 `UNSUPPORTED_TYPE`, 429
/// `RATE_LIMITED`, 502 `UPSTREAM_ERROR` (Cloudinary), 507
/// `INSUFFICIENT_STORAGE` (`UPLOAD_QUOTA_MB`).
///
/// The answer is sent as soon as it is known; the rest of the body is then
/// drained in the background ([`UploadBody::drain`]), except when the
/// client waits for `100 Continue` and nothing was read (the body is then
/// never sent), or when the body was too slow.
pub async fn image(State(state): State<AppState>, caller: Caller, req: Request) -> Response {
    upload(&state, &caller, Kind::Image, req).await
}

/// `POST /api/upload/audio` (visitor or admin; MP3, WAV, OGG, WebM, M4A, AAC
/// ≤ 10 MiB) → `{success, file_path, file_url, message: "Audio uploaded successfully"}`;
/// errors and draining as [`image`].
pub async fn audio(State(state): State<AppState>, caller: Caller, req: Request) -> Response {
    upload(&state, &caller, Kind::Audio, req).await
}

#[tracing::instrument(skip_all, fields(kind = ?kind))]
async fn upload(state: &AppState, caller: &Caller, kind: Kind, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let pacing = Pacing::from(&state.config.uploads);
    let mut body = UploadBody::new(body, pacing, body_limit(kind) as u64);
    let result = accept(state, caller, kind, &parts.headers, &mut body).await;
    crate::metrics::upload(
        if kind == Kind::Image {
            "image"
        } else {
            "audio"
        },
        result.as_ref().map_or_else(AppError::code, |_| "stored"),
    );
    let awaits_continue = parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !awaits_continue || body.touched() {
        tokio::spawn(async move {
            let drained = body.drain().await;
            tracing::debug!(drained, "upload body drained");
        });
    }
    match result {
        Ok(Stored {
            file_path,
            file_url,
        }) => {
            let message = match kind {
                Kind::Image => "Image uploaded successfully",
                Kind::Audio => "Audio uploaded successfully",
            };
            Json(Uploaded {
                success: true,
                file_path,
                file_url,
                message,
            })
            .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `{success: true, file_path, file_url, message}` of the upload routes.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    /// Always `true`.
    pub success: bool,
    /// `/uploads/images/<uuid>.<ext>` (local storage), or the Cloudinary
    /// `public_id`.
    pub file_path: String,
    /// The URL to send as a message's `file_url`.
    pub file_url: String,
    /// `Image uploaded successfully` / `Audio uploaded successfully`.
    pub message: &'static str,
}

/// The checks that need no body byte, then the body itself.
async fn accept(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    headers: &HeaderMap,
    body: &mut UploadBody,
) -> AppResult<Stored> {
    // A blocked visitor is refused as its sends are (403 `BLOCKED`, issue
    // 20 item 7), before the rate limit and before any body byte: nothing
    // is stored, so nothing is left on disk or at Cloudinary.
    if let crate::auth::Actor::Visitor { thread } = &caller.actor
        && state.chat.is_blocked(thread)
    {
        return Err(AppError::Blocked);
    }
    // Uploads count against the contract's upload limit (5 files a minute
    // per session, 30 per client IP; `shared/DESIGN.md` § Rate limits),
    // checked before any byte of the body is read.
    state
        .limits
        .check(Action::Upload, caller.session_key(), caller.ip)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared {
        if n > body_limit(kind) as u64 {
            return Err(AppError::FileTooLarge(kind.max_bytes()));
        }
        if state
            .media
            .room()
            .is_some_and(|room| n.saturating_sub(MULTIPART_OVERHEAD) > room)
        {
            return Err(AppError::InsufficientStorage);
        }
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| {
            AppError::BadRequest("Invalid `boundary` for `multipart/form-data` request".into())
        })?;
    let mut multipart = multer::Multipart::new(body, boundary);
    receive(&state.media, kind, &mut multipart).await
}

/// Finds the field `file` and streams it into `media`; other fields are skipped.
async fn receive(
    media: &Media,
    kind: Kind,
    multipart: &mut multer::Multipart<'_>,
) -> AppResult<Stored> {
    let failed = |e: multer::Error| multipart_error(kind, e);
    let mut field = loop {
        match multipart.next_field().await.map_err(failed)? {
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
    while let Some(chunk) = field.chunk().await.map_err(failed)? {
        incoming.push(&chunk).await?;
    }
    Ok(media.finish(incoming).await?)
}

/// A body over the route limit → 413 `FILE_TOO_LARGE`; too slow → 408
/// `REQUEST_TIMEOUT`; broken multipart or connection → 400 `BAD_REQUEST`.
fn multipart_error(kind: Kind, e: multer::Error) -> AppError {
    if let multer::Error::StreamReadFailed(inner) = &e
        && let Some(b) = inner.downcast_ref::<BodyError>()
    {
        return match b {
            BodyError::TooLarge(_) => AppError::FileTooLarge(kind.max_bytes()),
            BodyError::TimedOut => AppError::RequestTimeout,
            BodyError::Read(_) => AppError::BadRequest("The request body could not be read".into()),
        };
    }
    AppError::BadRequest(format!("Malformed multipart body: {e}"))
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
