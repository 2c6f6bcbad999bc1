//! The HTTP adapter: pages, JSON API, health, static files and uploads on
//! one axum router, with CSRF checking, security headers, body limits and
//! error logging as layers.

pub mod access_log;
pub mod admin;
pub mod agents;
pub mod api;
pub mod assets;
pub mod assignment;
pub mod canned;
pub mod data;
pub mod embed;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod search;
pub mod telegram;
pub mod thread_admin;
pub mod upload;
pub mod visitor;

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use axum_extra::extract::cookie::SignedCookieJar;
use tower_http::trace::TraceLayer;

use crate::{
    AppState,
    http::error::{AppError, InternalDetail},
    media::Kind,
};

/// Largest JSON body accepted, in bytes.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The Content-Security-Policy of every page: no inline script, same-origin
/// connections (plus WebSocket), framing only by `frame_ancestors`
/// (`FRAME_ANCESTORS`, default `'none'`); images and audio also from
/// Cloudinary's delivery host when Cloudinary stores the media.
pub fn csp(frame_ancestors: &str, cloudinary: bool) -> String {
    let media = if cloudinary {
        " https://res.cloudinary.com"
    } else {
        ""
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:{media}; media-src 'self' blob:{media}; \
         connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

/// Builds the router (without the Socket.IO layer, which `lib` adds outermost).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::visitor))
        .route("/admin", get(pages::admin))
        .route("/admin/login", get(pages::login).post(admin::login))
        .route("/admin/verify-otp", post(admin::verify_otp))
        .route("/admin/logout", post(admin::logout))
        .route("/api/session", get(api::session))
        .route("/api/messages/send", post(api::send))
        .route("/api/messages/clear", post(api::clear))
        .route("/api/messages/{thread_id}", get(api::messages))
        .route("/api/threads", get(api::threads))
        .route(
            "/api/threads/{thread_id}",
            axum::routing::delete(data::erase),
        )
        .route("/api/threads/{thread_id}/export", get(data::export))
        .route("/api/threads/{thread_id}/close", post(thread_admin::close))
        .route(
            "/api/threads/{thread_id}/reopen",
            post(thread_admin::reopen),
        )
        .route(
            "/api/threads/{thread_id}/block",
            post(thread_admin::block).delete(thread_admin::unblock),
        )
        .route(
            "/api/threads/{thread_id}/unblock",
            post(thread_admin::unblock),
        )
        .route("/api/threads/{thread_id}/events", get(thread_admin::events))
        .route("/api/threads/{thread_id}/take", post(assignment::take))
        .route("/api/threads/{thread_id}/assign", post(assignment::assign))
        .route("/api/blocks", get(thread_admin::blocks))
        .route("/api/search", get(search::search))
        .route(
            "/api/upload/image",
            post(upload::image).layer(DefaultBodyLimit::max(upload::body_limit(Kind::Image))),
        )
        .route(
            "/api/upload/audio",
            post(upload::audio).layer(DefaultBodyLimit::max(upload::body_limit(Kind::Audio))),
        )
        .merge(embed::router(&state))
        .merge(canned::router())
        .merge(agents::router())
        .merge(data::router())
        .route("/admin/invite/{token}", get(pages::invite))
        .route("/api/{*rest}", any(api::not_found))
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .merge(assets::router(&state))
        .merge(metrics::router(&state))
        .merge(openapi::router())
        .route("/uploads/{folder}/{name}", get(upload::serve))
        .merge(telegram::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), body_deadline))
        .layer(middleware::from_fn_with_state(state.clone(), csrf))
        .layer(middleware::from_fn_with_state(state.clone(), api_limit))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(log_errors))
        .layer(TraceLayer::new_for_http())
        .layer(assets::compression())
        .layer(middleware::map_response_with_state(
            SecurityHeaders::new(&state),
            security_headers,
        ))
        .with_state(state)
}

/// The security headers of every answer, built once.
#[derive(Clone)]
struct SecurityHeaders {
    csp: HeaderValue,
    frame: HeaderValue,
}

impl SecurityHeaders {
    fn new(state: &AppState) -> SecurityHeaders {
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp(
                &state.config.frame_ancestors,
                state.config.cloudinary.is_some(),
            ))
            .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'")),
            frame: HeaderValue::from_static(if state.config.frame_ancestors == "'none'" {
                "DENY"
            } else {
                "SAMEORIGIN"
            }),
        }
    }
}

/// `X-Content-Type-Options: nosniff` on every answer; on a static file
/// ([`assets::StaticFile`]) the short [`assets::STATIC_CSP`]; on everything
/// else the pages' policy (unless the
/// handler set its own), `Referrer-Policy: same-origin` and
/// `X-Frame-Options`. A script or style sheet is no document: those three
/// mean nothing there, and the visitor page loads about fifteen such files
/// whose headers count against its 60 KB budget (issue 15).
async fn security_headers(
    axum::extract::State(h): axum::extract::State<SecurityHeaders>,
    mut res: axum::response::Response,
) -> axum::response::Response {
    let is_static = res.extensions().get::<assets::StaticFile>().is_some();
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_static {
        // The pages' policy (300 bytes) means nothing on a script, a style
        // sheet or an image; a file opened as a document gets none of its
        // powers instead.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::STATIC_CSP),
        );
    } else {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(h.csp);
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        headers
            .entry(HeaderName::from_static("x-frame-options"))
            .or_insert(h.frame);
    }
    res
}

async fn not_found() -> AppError {
    AppError::NotFound("Not found")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Every state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) must carry
/// `X-CSRFToken` equal to its browser's token, else 403 `CSRF_FAILED`.
///
/// Except an `/api/` request with `Authorization: Bearer <visitor token>`
/// (the embed view): a browser never adds that header by itself, and such
/// a request is judged by its token alone, cookies ignored
/// ([`extract::Caller`]), so there is no ambient authority to forge. An
/// invalid visitor token → 401 `UNAUTHORIZED`.
async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if req.uri().path().starts_with("/api/")
        && let Some(token) = extract::bearer(req.headers())
    {
        return match state.auth.verify_visitor_token(token) {
            Some(_) => next.run(req).await,
            None => AppError::Unauthorized.into_response(),
        };
    }
    let jar = SignedCookieJar::from_headers(req.headers(), state.auth.cookie_key().clone());
    let vid = jar.get(state.cookies.visitor).map(|c| c.value().to_owned());
    let token = req
        .headers()
        .get("x-csrftoken")
        .and_then(|v| v.to_str().ok());
    match (vid, token) {
        (Some(vid), Some(token)) if state.auth.csrf_ok(&vid, token) => next.run(req).await,
        _ => AppError::Csrf.into_response(),
    }
}

/// Every request body except the uploads' (`/api/upload/…`, which have
/// their own minimum rate in [`upload`]) must arrive whole within
/// `BODY_READ_TIMEOUT_SECS` (default 10 s) of the end of its headers,
/// else 408 `REQUEST_TIMEOUT` and the connection is closed: a body trickled
/// a byte at a time cannot hold a connection (issue #8 item 6). The body
/// is read here, at most [`JSON_BODY_LIMIT`] bytes (413
/// `PAYLOAD_TOO_LARGE` beyond); runs after the CSRF check, so a refused
/// request's body is never waited for. Engine.IO polling bodies get the
/// same deadline in `realtime::gate` (the Socket.IO layer is outside this
/// router).
async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !has_body(&req) || req.uri().path().starts_with("/api/upload/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match read_body_within(
        body,
        JSON_BODY_LIMIT,
        state.config.connections.body_read_timeout,
    )
    .await
    {
        Ok(BodyRead::Whole(bytes)) => next.run(Request::from_parts(parts, bytes.into())).await,
        Ok(BodyRead::TooLong(_)) => AppError::PayloadTooLarge.into_response(),
        Err(res) => res,
    }
}

/// Does `req` announce a body (`Transfer-Encoding`, or a `Content-Length`
/// other than 0)?
pub fn has_body<B>(req: &axum::http::Request<B>) -> bool {
    req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// A body read by [`read_body_within`].
pub enum BodyRead {
    /// The whole body, at most the limit.
    Whole(Vec<u8>),
    /// The first bytes of a body longer than the limit (more than `limit`
    /// of them; the rest was not read).
    TooLong(Vec<u8>),
}

/// Reads `body` (up to a little more than `limit` bytes) within `deadline`.
///
/// # Errors
/// The answer to send instead: 408 `REQUEST_TIMEOUT` with `Connection:
/// close` when the deadline passed (the rest of the body is never read, so
/// the connection cannot be reused), 400 `BAD_REQUEST` when the body could
/// not be read.
pub async fn read_body_within(
    body: axum::body::Body,
    limit: usize,
    deadline: Duration,
) -> Result<BodyRead, Response> {
    use tokio_stream::StreamExt;
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
            if buf.len() > limit {
                return Ok(BodyRead::TooLong(buf));
            }
        }
        Ok::<_, axum::Error>(BodyRead::Whole(buf))
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => {
            Err(AppError::BadRequest("Could not read the request body".into()).into_response())
        }
        Err(_) => {
            let mut res = AppError::RequestTimeout.into_response();
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(res)
        }
    }
}

/// `/api/` calls other than sends and uploads: at most
/// `RATE_LIMIT_API_PER_IP_PER_MINUTE` per client IP, else 429 `RATE_LIMITED`.
async fn api_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/")
        && path != "/api/messages/send"
        && !path.starts_with("/api/upload/")
    {
        let ip =
            crate::limits::request_ip(req.extensions(), req.headers(), state.config.trust_proxy);
        if let Err(e) = state.limits.check(crate::limits::Action::Api, "", ip) {
            return AppError::from(e).into_response();
        }
    }
    next.run(req).await
}

/// Logs the hidden detail of 500 answers (never sent to the client).
///
/// An error answer to a request that had a body may leave part of that body
/// unread (refused before or while reading it), and then the server cannot
/// reuse the connection: such answers say `Connection: close` so that the
/// client does not send its next request into a closing connection.
async fn log_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let had_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let mut res = next.run(req).await;
    if let Some(InternalDetail(detail)) = res.extensions().get::<InternalDetail>() {
        tracing::error!(%path, %detail, "request failed");
    }
    if had_body && (res.status().is_client_error() || res.status().is_server_error()) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
