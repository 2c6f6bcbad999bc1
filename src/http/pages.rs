//! Server-rendered pages (askama): the visitor chat `/`, the admin login
//! `/admin/login` and the panel `/admin`. Every page carries the CSRF token
//! in `<meta name="csrf-token">` and sets the visitor cookie when absent.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    http::{HeaderMap, header},
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::cookie::SignedCookieJar;

use super::extract::Caller;
use crate::{AppState, error::AppError, i18n};

/// What every page needs.
pub struct PageCommon {
    /// The browser's CSRF token.
    pub csrf_token: String,
    /// `tr` | `en`.
    pub lang: &'static str,
    /// UI strings.
    pub t: &'static i18n::Strings,
    /// `APP_TIMEZONE`, for showing times.
    pub timezone: String,
    /// Crate version, for cache busting.
    pub version: &'static str,
}

/// The visitor chat.
#[derive(Template)]
#[template(path = "visitor.html")]
pub struct VisitorPage {
    /// Common fields.
    pub page: PageCommon,
    /// The visitor's thread id.
    pub thread_id: String,
    /// The visitor's display name.
    pub display_name: String,
}

/// The admin login (password, then code).
#[derive(Template)]
#[template(path = "admin_login.html")]
pub struct LoginPage {
    /// Common fields.
    pub page: PageCommon,
}

/// The admin panel.
#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    /// Common fields.
    pub page: PageCommon,
    /// Logged-in admin.
    pub admin_name: String,
}

fn common(state: &AppState, caller: &Caller, headers: &HeaderMap) -> PageCommon {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let (lang, t) = i18n::pick(accept);
    PageCommon {
        csrf_token: state.auth.csrf_token(&caller.visitor_id),
        lang,
        t,
        timezone: state.config.timezone.name().to_owned(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn render(state: &AppState, caller: &Caller, tpl: &impl Template) -> Response {
    match tpl.render() {
        Ok(html) => {
            let jar = SignedCookieJar::new(state.auth.cookie_key().clone());
            let jar = if caller.new_visitor {
                jar.add(state.cookies.build(
                    state.cookies.visitor,
                    caller.visitor_id.clone(),
                    Some(365 * 24 * 3600),
                ))
            } else {
                jar
            };
            (jar, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
        }
        Err(e) => AppError::Internal(format!("template: {e}")).into_response(),
    }
}

/// `GET /`: the visitor page.
pub async fn visitor(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let page = VisitorPage {
        page: common(&state, &caller, &headers),
        thread_id: caller.visitor_id.clone(),
        display_name: crate::chat::display_name_for(&caller.visitor_id),
    };
    render(&state, &caller, &page)
}

/// `GET /admin/login`.
pub async fn login(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    if caller.admin.is_some() {
        return found("/admin");
    }
    render(
        &state,
        &caller,
        &LoginPage {
            page: common(&state, &caller, &headers),
        },
    )
}

/// `GET /admin`: the panel, or 302 to `/admin/login` without a session.
pub async fn admin(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    let Some(session) = caller.admin.clone() else {
        return found("/admin/login");
    };
    let page = AdminPage {
        page: common(&state, &caller, &headers),
        admin_name: session.username,
    };
    render(&state, &caller, &page)
}

/// 302 Found to `path` (the Flask app's redirect status).
fn found(path: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, path)]).into_response()
}
