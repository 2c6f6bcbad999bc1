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
    /// Digest of the static files, for cache busting (`?v=`).
    pub version: String,
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
    /// Set for the embed view `/embed` (issue 14), `None` for `/`.
    pub embed: Option<EmbedInfo>,
}

/// What the embed view adds to the visitor page (`http::embed`).
pub struct EmbedInfo {
    /// A visitor token for a fresh thread, used when the view has none stored.
    pub fresh_token: String,
    /// The host page's origin when it is one of `EMBED_ORIGINS`, else empty
    /// (then the view talks to no parent).
    pub parent_origin: String,
    /// `PRECHAT_FIELDS`, comma separated (empty: no pre-chat form).
    pub prechat: String,
    /// Telegram is not configured: with no admin online, replies may take a while.
    pub away_possible: bool,
    /// The widget's strings.
    pub w: &'static i18n::widget::WidgetStrings,
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
    /// Strings of the visitor context box (issue 14).
    pub w: &'static i18n::widget::WidgetStrings,
    /// Strings of the canned replies (issue 13).
    pub c: &'static i18n::canned::CannedStrings,
    /// Strings of the thread tools (issue 13).
    pub tools: &'static i18n::tools::ToolStrings,
    /// Strings of the message search (issue 13).
    pub s: &'static i18n::search::SearchStrings,
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
        version: state.asset_version.to_string(),
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
            (
                jar,
                [(header::CACHE_CONTROL, "private, no-cache")],
                Html(html),
            )
                .into_response()
        }
        Err(e) => AppError::internal(e).into_response(),
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
        embed: None,
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
    let page = common(&state, &caller, &headers);
    let page = AdminPage {
        w: i18n::widget::pick(page.lang),
        c: i18n::canned::pick(page.lang),
        tools: i18n::tools::pick(page.lang),
        s: i18n::search::pick(page.lang),
        page,
        admin_name: session.username,
    };
    render(&state, &caller, &page)
}

/// 302 Found to `path` (the Flask app's redirect status).
fn found(path: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, path)]).into_response()
}

/// A short digest (12 hex digits) of every file under `dir` (names and
/// contents), so that `?v=` changes whenever a script or stylesheet does.
/// Falls back to the crate version when the folder cannot be read.
pub fn asset_version(dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    if walk(dir, &mut files).is_err() || files.is_empty() {
        return env!("CARGO_PKG_VERSION").to_owned();
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(h.finalize())[..12].to_owned()
}
