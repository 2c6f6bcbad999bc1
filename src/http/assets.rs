//! Static delivery (issue 15): `/static` from `STATIC_DIR` with
//! `Cache-Control` by URL, and the compression of every answer.
//!
//! - `/static/…?v=<digest>` with the current digest of the static files
//!   (the URLs the pages write, [`super::pages::asset_version`]):
//!   `public, max-age=31536000, immutable` — the URL changes whenever a
//!   file does;
//! - any other `/static/…` URL (no `v`, or an old digest: the file may have
//!   changed since): `no-cache` (revalidated with `Last-Modified`);
//! - pages: `private, no-cache` (set by [`super::pages`]; they carry the
//!   visitor's CSRF token, so no shared cache may keep them).
//!
//! Compression ([`compression`]): Brotli or gzip by `Accept-Encoding`, for
//! answers over 32 bytes except images, audio, video and ranges (already
//! compressed, or byte offsets that must stay true).

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::Response,
};
use tower_http::{
    compression::{
        CompressionLayer, DefaultPredicate, Predicate,
        predicate::{NotForContentType, SizeAbove},
    },
    services::ServeDir,
};

use crate::AppState;

/// `Cache-Control` of a static file under its digest URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of a static file under any other URL.
pub const REVALIDATE: &str = "no-cache";

/// `/static/{*path}` from `STATIC_DIR`, with `Cache-Control` as in the
/// module doc.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .nest_service("/static", ServeDir::new(&state.config.static_dir))
        .layer(middleware::from_fn_with_state(
            state.asset_version.clone(),
            cache_control,
        ))
}

async fn cache_control(
    State(version): State<std::sync::Arc<str>>,
    req: Request,
    next: Next,
) -> Response {
    let current = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.strip_prefix("v=") == Some(&*version))
    });
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if current { IMMUTABLE } else { REVALIDATE }),
        );
    }
    res
}

/// Brotli / gzip for every answer the predicate allows (see the module doc).
pub fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = DefaultPredicate::new()
        .and(SizeAbove::new(256))
        .and(NotForContentType::const_new("audio/"))
        .and(NotForContentType::const_new("video/"));
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .compress_when(predicate)
}
