//! The visitor context API (issue 14): the visitor page and the embed view
//! report where the visitor is (`POST /api/visitor/context`) and who it is
//! (`POST /api/visitor/identify`); the admin reads it beside the thread
//! (`GET /api/threads/{thread_id}/context`). Browser and OS come from the
//! request's `User-Agent`, parsed with `woothee` (no regex database).
//!
//! Every field is bounded (see [`Limits`](self#limits)); an over-long or
//! malformed value is refused with 400 `VALIDATION_ERROR` and nothing is
//! stored. Rows of visitors who never wrote are pruned after a day.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::{Deserialize, Serialize};

use super::extract::{AppJson, Caller};
use crate::{
    AppState,
    auth::{self, visitor_token::identity_hash_ok},
    chat::visitors::PageReport,
    http::error::{AppError, AppResult},
};

/// Longest URL (page, referrer), characters.
pub const MAX_URL: usize = 2048;
/// Longest page title, characters.
pub const MAX_TITLE: usize = 300;
/// Longest name, characters.
pub const MAX_NAME: usize = 100;
/// Longest email (RFC 5321 § 4.5.3.1.3 path limit), characters.
pub const MAX_EMAIL: usize = 254;
/// Longest site user id, characters.
pub const MAX_USER_ID: usize = 128;

/// Body of `POST /api/visitor/context`; every field optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ContextBody {
    /// The page the visitor is on: `http(s)://…`, at most 2048 characters.
    pub url: Option<String>,
    /// Its title, at most 300 characters.
    pub title: Option<String>,
    /// Where the visitor came from: `http(s)://…`, at most 2048 characters.
    pub referrer: Option<String>,
    /// `navigator.language` (BCP 47, at most 35 characters).
    pub language: Option<String>,
    /// IANA time zone (at most 64 characters).
    pub timezone: Option<String>,
    /// The widget just told the visitor that replies may take a while.
    #[serde(default)]
    pub away: bool,
}

/// Trims `v`; empty → `None`; longer than `max` characters or holding a
/// control character → 400 `VALIDATION_ERROR` naming `field`.
fn bounded(v: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    let Some(v) = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(AppError::Validation(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::Validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(Some(v))
}

fn url(v: Option<String>, field: &str) -> AppResult<Option<String>> {
    let v = bounded(v, field, MAX_URL)?;
    match &v {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => Err(
            AppError::Validation(format!("{field} must be an http(s) URL")),
        ),
        _ => Ok(v),
    }
}

fn token_like(
    v: Option<String>,
    field: &str,
    max: usize,
    extra: &[char],
) -> AppResult<Option<String>> {
    let v = bounded(v, field, max)?;
    if let Some(s) = &v
        && !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    {
        return Err(AppError::Validation(format!("{field} is malformed")));
    }
    Ok(v)
}

/// `e` checked as `identify` checks an email (an agent's own address too).
///
/// # Errors
/// 400 `VALIDATION_ERROR` for a malformed or too long address.
pub(crate) fn checked_email(e: &str) -> AppResult<String> {
    email(Some(e.to_owned()))?.ok_or_else(|| AppError::Validation("email is empty".into()))
}

fn email(v: Option<String>) -> AppResult<Option<String>> {
    let v = bounded(v, "email", MAX_EMAIL)?;
    if let Some(e) = &v {
        let ok = matches!(e.split_once('@'), Some((a, b)) if !a.is_empty() && b.contains('.'))
            && !e.contains(char::is_whitespace);
        if !ok {
            return Err(AppError::Validation("email is not an email address".into()));
        }
    }
    Ok(v)
}

/// Browser (`name version`) and OS of a `User-Agent`, when `woothee` knows
/// them.
pub fn browser_and_os(ua: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(r) = ua.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return (None, None);
    };
    let known = |s: &str| (!s.is_empty() && s != "UNKNOWN").then(|| s.to_owned());
    let browser = known(r.name).map(|n| match known(r.version) {
        Some(v) => format!("{n} {v}"),
        None => n,
    });
    (browser, known(r.os))
}

/// `POST /api/visitor/context` (visitor: cookie + `X-CSRFToken`, or the
/// embed view's `Authorization: Bearer`) `{url?, title?, referrer?,
/// language?, timezone?, away?}` → `{success: true}`. Browser and OS are
/// taken from the request's `User-Agent`.
pub async fn context(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<ContextBody>,
) -> AppResult<Json<Success>> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (browser, os) = browser_and_os(ua);
    let report = PageReport {
        page_url: url(body.url, "url")?,
        page_title: bounded(body.title, "title", MAX_TITLE)?,
        referrer: url(body.referrer, "referrer")?,
        browser,
        os,
        language: token_like(body.language, "language", 35, &['-', '_'])?,
        timezone: token_like(body.timezone, "timezone", 64, &['/', '_', '-', '+'])?,
        away_shown: body.away,
    };
    state
        .chat
        .visitors()
        .report_page(&caller.visitor_id, &report)
        .await?;
    Ok(Json(Success { success: true }))
}

/// Body of `POST /api/visitor/identify`; every field optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IdentifyBody {
    /// Display name, at most 100 characters.
    pub name: Option<String>,
    /// Email address, at most 254 characters.
    pub email: Option<String>,
    /// The site's user id, at most 128 characters.
    pub user_id: Option<String>,
    /// `hex(HMAC-SHA256(IDENTITY_SECRET, user_id))`, computed by the site.
    pub user_hash: Option<String>,
}

/// `POST /api/visitor/identify` (visitor) `{name?, email?, user_id?,
/// user_hash?}` → `{success, verified, thread_id, switched, visitor_token?}`.
///
/// With `IDENTITY_SECRET` set and a valid `user_hash` for `user_id`, name
/// and email are stored as verified and the thread is bound to that user:
/// when the user already has a thread (another device), the answer names
/// it (`switched: true`) with its visitor token (token callers) or a new
/// visitor cookie (the page), and the client reloads. Without a valid hash
/// name and email are stored unverified, never over verified ones, and no
/// thread is ever switched or merged.
pub async fn identify(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<IdentifyBody>,
) -> AppResult<Response> {
    let name = bounded(body.name, "name", MAX_NAME)?;
    let email = email(body.email)?;
    let user_id = bounded(body.user_id, "user_id", MAX_USER_ID)?;
    let hash = bounded(body.user_hash, "user_hash", 128)?;
    let visitors = state.chat.visitors();
    let verified_user = match (&state.config.embed.identity_secret, user_id, hash) {
        (Some(secret), Some(u), Some(h)) if identity_hash_ok(secret, &u, &h) => Some(u),
        _ => None,
    };
    let Some(user_id) = verified_user else {
        visitors
            .set_unverified(&caller.visitor_id, name.as_deref(), email.as_deref())
            .await?;
        return Ok(Json(Identified {
            success: true,
            verified: false,
            switched: false,
            thread_id: caller.visitor_id,
            visitor_token: None,
        })
        .into_response());
    };
    let mut target = match visitors.thread_of_user(&user_id).await? {
        Some(t) => t,
        // The current thread belongs to another verified user: start afresh.
        None => match visitors.get(&caller.visitor_id).await? {
            Some(c) if c.user_id.as_deref().is_some_and(|u| u != user_id) => auth::new_visitor_id(),
            _ => caller.visitor_id.clone(),
        },
    };
    let bound = visitors
        .bind_user(&target, &user_id, name.as_deref(), email.as_deref())
        .await?;
    if !bound {
        // Another device bound this user at the same moment: join its thread.
        target = visitors
            .thread_of_user(&user_id)
            .await?
            .ok_or(AppError::Unavailable)?;
        visitors
            .bind_user(&target, &user_id, name.as_deref(), email.as_deref())
            .await?;
    }
    let switched = target != caller.visitor_id;
    let mut answer = Identified {
        success: true,
        verified: true,
        switched,
        thread_id: target.clone(),
        visitor_token: None,
    };
    if caller.by_token {
        answer.visitor_token = Some(state.auth.visitor_token(&target));
        return Ok(Json(answer).into_response());
    }
    if switched {
        let jar = SignedCookieJar::new(state.auth.cookie_key().clone()).add(state.cookies.build(
            state.cookies.visitor,
            target,
            Some(365 * 24 * 3600),
        ));
        return Ok((jar, Json(answer)).into_response());
    }
    Ok(Json(answer).into_response())
}

/// `GET /api/threads/{thread_id}/context` (admin) → `{success, context}`:
/// the visitor context (`null` when none was reported) and `online`.
pub async fn thread_context(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
) -> AppResult<Json<ThreadContext>> {
    caller.require_admin()?;
    let context = state
        .chat
        .visitors()
        .get(&super::extract::thread_id(&thread_id)?)
        .await?;
    Ok(Json(ThreadContext {
        success: true,
        context,
    }))
}

/// `{success: true}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Success {
    /// Always `true`.
    pub success: bool,
}

/// `{success, verified, switched, thread_id, visitor_token?}` of
/// `POST /api/visitor/identify`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Identified {
    /// Always `true`.
    pub success: bool,
    /// The site's `user_hash` was valid: the thread is bound to that user.
    pub verified: bool,
    /// The user's thread is another one than the caller's: reload.
    pub switched: bool,
    /// The thread to use.
    pub thread_id: crate::domain::ThreadId,
    /// Its visitor token (token callers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_token: Option<String>,
}

/// `{success: true, context}` of `GET /api/threads/{thread_id}/context`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadContext {
    /// Always `true`.
    pub success: bool,
    /// The visitor context, `null` when none was reported.
    pub context: Option<crate::chat::visitors::VisitorContext>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_and_os_come_from_the_user_agent() {
        let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/131.0.0.0 Safari/537.36";
        let (b, os) = browser_and_os(Some(ua));
        assert_eq!(b.as_deref(), Some("Chrome 131.0.0.0"));
        assert_eq!(os.as_deref(), Some("Linux"));
        assert_eq!(browser_and_os(Some("")), (None, None));
        assert_eq!(browser_and_os(None), (None, None));
    }

    #[test]
    fn fields_are_bounded_and_checked() {
        assert_eq!(bounded(Some("  ".into()), "x", 3).unwrap(), None);
        assert!(bounded(Some("abcd".into()), "x", 3).is_err());
        assert!(bounded(Some("a\u{7}".into()), "x", 3).is_err());
        assert!(url(Some("javascript:alert(1)".into()), "url").is_err());
        assert!(url(Some("https://shop.example/a?b=c".into()), "url").is_ok());
        assert!(email(Some("a@b.co".into())).is_ok());
        assert!(email(Some("not an email".into())).is_err());
        assert!(token_like(Some("Europe/Istanbul".into()), "tz", 64, &['/', '_']).is_ok());
        assert!(token_like(Some("<script>".into()), "tz", 64, &['/']).is_err());
    }
}
