//! The embeddable widget (issue 14): the loader `GET /widget.js`, the embed
//! view `GET /embed` (the visitor page without page chrome, framed by the
//! sites of `EMBED_ORIGINS`), and the visitor context API
//! ([`super::visitor`]).
//!
//! The embed view works with third-party cookies blocked: it carries a
//! fresh visitor token ([`crate::auth::visitor_token`]) that the page keeps
//! in its own partitioned `localStorage` when it has none yet, and sends as
//! `Authorization: Bearer` and Socket.IO `auth.visitor_token`. Its
//! `Content-Security-Policy: frame-ancestors` lists `EMBED_ORIGINS` only;
//! with none, `/embed` answers 404 (embedding off).

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_http::{services::ServeFile, set_header::SetResponseHeaderLayer};

use super::pages::{EmbedInfo, PageCommon, VisitorPage};
use crate::{AppState, auth, http::error::AppError, i18n};

/// The routes of the widget: `/widget.js`, `/embed` and the visitor context
/// API (`POST /api/visitor/context`, `POST /api/visitor/identify`,
/// `GET /api/threads/{thread_id}/context`).
pub fn router(state: &AppState) -> Router<AppState> {
    let loader = ServeFile::new(state.config.static_dir.join("widget.js"));
    Router::new()
        .route_service(
            "/widget.js",
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ))
                .service(loader),
        )
        .route("/embed", get(embed))
        .route("/api/visitor/context", post(super::visitor::context))
        .route("/api/visitor/identify", post(super::visitor::identify))
        .route(
            "/api/threads/{thread_id}/context",
            get(super::visitor::thread_context),
        )
}

/// Query of `GET /embed`.
#[derive(Debug, Default, Deserialize)]
pub struct EmbedQuery {
    /// `tr` | `en` (the loader's `data-lang`); else from `Accept-Language`.
    pub lang: Option<String>,
    /// The host page's origin (the loader's `location.origin`): the only
    /// origin the view talks to with `postMessage`, and only when it is
    /// one of `EMBED_ORIGINS`.
    pub origin: Option<String>,
}

/// `GET /embed`: the visitor chat for an iframe. 404 when `EMBED_ORIGINS`
/// is empty. `Content-Security-Policy: frame-ancestors` = `EMBED_ORIGINS`;
/// `Cache-Control: no-store` (the page carries a fresh visitor token).
pub async fn embed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EmbedQuery>,
) -> Response {
    let cfg = &state.config.embed;
    if !cfg.enabled() {
        return AppError::NotFound("Embedding is off (EMBED_ORIGINS is empty)").into_response();
    }
    let accept = match q.lang.as_deref() {
        Some(l @ ("tr" | "en")) => Some(l),
        _ => headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    };
    let (lang, t) = i18n::pick(accept);
    let parent_origin = q
        .origin
        .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
        .filter(|o| cfg.origins.contains(o))
        .unwrap_or_default();
    // A fresh identity, used only when the view has no stored token yet.
    let fresh_thread = auth::new_visitor_id();
    let page = VisitorPage {
        page: PageCommon::new(&state, (lang, t), String::new(), |c| {
            c.widget = Some(i18n::widget::pick(lang));
        }),
        display_name: crate::chat::display_name_for(&fresh_thread),
        embed: Some(EmbedInfo {
            fresh_token: state.auth.visitor_token(&fresh_thread),
            parent_origin,
            // Without SMTP no page asks for an address it cannot use (issue 26).
            prechat: cfg
                .prechat_fields
                .iter()
                .copied()
                .filter(|f| state.mailer.is_some() || *f != "email")
                .collect::<Vec<_>>()
                .join(","),
            away_possible: state.telegram.is_none(),
            email: state.mailer.is_some(),
            w: i18n::widget::pick(lang),
        }),
        thread_id: fresh_thread,
        new_thread: false,
    };
    let csp = super::csp(&cfg.frame_ancestors(), state.config.cloudinary.is_some());
    match askama::Template::render(&page) {
        Ok(html) => {
            let mut res = axum::response::Html(html).into_response();
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&csp) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => AppError::internal(e).into_response(),
    }
}
