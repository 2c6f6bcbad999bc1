//! Static delivery (issue 15, issue 10): `/static` from `STATIC_DIR` with
//! `Cache-Control` by URL, and the compression of every answer.
//!
//! - `/static/<digest>/…` with the current digest of the static tree
//!   ([`super::pages::asset_version`], the prefix every page writes,
//!   `PageCommon::static_base`): `public, max-age=31536000, immutable`. The
//!   whole tree is cache-busted at once, so a module's relative `import`
//!   resolves under the same digest and never mixes versions;
//! - `/static/…?v=<digest>` (the URLs of earlier releases): immutable too;
//! - any other `/static/…` URL (no digest, or an old one: the file may have
//!   changed since): `no-cache` (revalidated with `Last-Modified`). An old
//!   digest prefix is stripped like the current one, so a page cached before
//!   a deploy still finds its files;
//! - pages: `private, no-cache` (set by [`super::pages`]; they carry the
//!   visitor's CSRF token, so no shared cache may keep them).
//!
//! Every static file carries the short policy [`STATIC_CSP`] instead of the
//! pages' one, and no `Last-Modified` under its digest URL: the visitor page
//! loads about fifteen small files, and their headers count against its
//! 60 KB budget (issue 15).
//!
//! `/widget.js` keeps its stable URL ([`super::embed`]).
//!
//! Compression ([`compression`]): Brotli or gzip by `Accept-Encoding`, for
//! answers over 256 bytes except audio, video and ranges (already
//! compressed, or byte offsets that must stay true).

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tower::ServiceExt;
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

/// What the static handler needs: the folder and the current digest.
#[derive(Clone)]
struct Assets {
    dir: ServeDir,
    version: Arc<str>,
}

/// `/static/{*path}` from `STATIC_DIR`, with `Cache-Control` as in the
/// module doc.
pub fn router(state: &AppState) -> Router<AppState> {
    let assets = Assets {
        dir: ServeDir::new(&state.config.static_dir),
        version: state.asset_version.clone(),
    };
    Router::new().route("/static/{*path}", get(serve).head(serve).with_state(assets))
}

/// Whether `segment` looks like a digest: 12 hex digits, or the
/// crate version used when the folder could not be read.
fn is_digest(segment: &str, current: &str) -> bool {
    segment == current || (segment.len() == 12 && segment.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn serve(State(assets): State<Assets>, req: Request) -> Response {
    let path = req.uri().path().strip_prefix("/static").unwrap_or("/");
    let query = req.uri().query();
    let (digest, rest) = match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((first, rest)) if is_digest(first, &assets.version) => (Some(first), rest),
        _ => (None, path.trim_start_matches('/')),
    };
    let current = digest == Some(&*assets.version)
        || query.is_some_and(|q| {
            q.split('&')
                .any(|kv| kv.strip_prefix("v=") == Some(&*assets.version))
        });
    let target = match query {
        Some(q) => format!("/{rest}?{q}"),
        None => format!("/{rest}"),
    };
    let Ok(uri) = target.parse::<Uri>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = uri;
    let Ok(res) = assets.dir.oneshot(Request::from_parts(parts, body)).await;
    let mut res = res.map(axum::body::Body::new);
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        res.extensions_mut().insert(StaticFile);
        let h = res.headers_mut();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if current { IMMUTABLE } else { REVALIDATE }),
        );
        if current {
            // Never revalidated under its digest: the date is dead weight
            // (HTTP/1.1 headers are most of a small module's transfer).
            h.remove(header::LAST_MODIFIED);
        }
    }
    res
}

/// Marks an answer as a static file, for the router's security headers
/// (`http::security_headers`): no page headers on it.
#[derive(Clone, Copy, Debug)]
pub struct StaticFile;

/// `Content-Security-Policy` of a static file: nothing may run or load
/// when a file is opened as a document (an SVG, say).
pub const STATIC_CSP: &str = "default-src 'none'";

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
