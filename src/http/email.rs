//! Email routes (issue 26; docs/api.md § Email):
//!
//! - `GET /c/{token}` (anyone holding the link): a signed continue link
//!   (`email::links`, purpose `c`, 30 days, current link generation). Sets
//!   the visitor cookie to that thread and opens the chat: `/`, or — when
//!   the conversation began in the widget on a page whose origin is in
//!   `EMBED_ORIGINS` — that page with `#sohbet_continue=<visitor token>`,
//!   which the widget loader takes and opens. A forged, expired or revoked
//!   link: 404 page, nothing set.
//! - `GET /email/unsubscribe/{token}`: a page with one button;
//!   `POST` the same URL (the button, or a mail client's RFC 8058 one-click
//!   `List-Unsubscribe=One-Click`): no more email for that thread (or
//!   agent). The token authenticates; no CSRF token (the CSRF layer lets
//!   this path through).
//! - `POST /api/visitor/transcript` (visitor, own thread): queues the
//!   conversation to the address stored for it, at most 3 a day (429).
//! - `GET /api/email/status` (agent): `{success, configured, smtp, dead,
//!   my_email}`; `POST /api/email/selftest` (agent) runs the SMTP check;
//!   `PUT /api/agents/me/email` `{email: "…" | null}` sets one's address.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post, put},
};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::Deserialize;

mod answers;

pub use answers::{EmailOn, EmailState, MyEmailSet, SmtpChecked, SmtpLast};

use super::{
    api::Done,
    error::{AppError, AppResult},
    extract::{AppJson, Caller},
};
use crate::{
    AppState,
    chat::email::TranscriptRefusal,
    domain::{AgentId, ThreadId},
    email::{Mailer, links},
    store,
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{token}", get(continue_link))
        .route(
            "/email/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/api/visitor/transcript", post(transcript))
        .route("/api/email/status", get(status))
        .route("/api/email/selftest", post(selftest))
        .route("/api/agents/me/email", put(set_my_email))
}

fn mailer(state: &AppState) -> AppResult<&Mailer> {
    state
        .mailer
        .as_ref()
        .ok_or(AppError::NotFound("Email is not configured"))
}

/// A small page of its own (no scripts), in Turkish when the browser asks.
fn page(status: StatusCode, tr: bool, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{t}</title><body style=\"font-family:sans-serif;\
         max-width:32rem;margin:3rem auto;padding:0 1rem\"><h1>{t}</h1>{body}</body></html>",
        if tr { "tr" } else { "en" },
        t = crate::email::compose::escape(title),
    );
    private((status, Html(html)).into_response())
}

/// `res` kept out of caches and sent with no `Referer` onwards: the
/// answers to a link that carries a token.
fn private(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

fn wants_turkish(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("tr"))
}

fn dead_link(tr: bool) -> Response {
    page(
        StatusCode::NOT_FOUND,
        tr,
        if tr {
            "Bağlantı geçersiz"
        } else {
            "This link does not work"
        },
        if tr {
            "<p>Bağlantının süresi dolmuş ya da iptal edilmiş. <a href=\"/\">Yeni bir sohbet başlatın</a>.</p>"
        } else {
            "<p>It has expired or was revoked. <a href=\"/\">Start a new conversation</a>.</p>"
        },
    )
}

/// `GET /c/{token}`.
///
/// # Errors
/// 503 when the database does not answer.
pub async fn continue_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let tr = wants_turkish(&headers);
    let Some(m) = state.mailer.as_ref() else {
        return Ok(dead_link(tr));
    };
    let now = store::now();
    let Some(v) = links::verify(m.auth(), links::Purpose::Continue, &token, now) else {
        return Ok(dead_link(tr));
    };
    let Ok(subject) = ThreadId::parse(v.subject) else {
        return Ok(dead_link(tr));
    };
    let thread = match state.chat.emails().thread(&subject).await? {
        Some(t) if t.email_link_gen == v.generation && t.email_unsubscribed_at.is_none() => t,
        _ => return Ok(dead_link(tr)),
    };
    let jar = SignedCookieJar::new(state.auth.cookie_key().clone()).add(state.cookies.build(
        state.cookies.visitor,
        thread.id.clone(),
        Some(365 * 24 * 3600),
    ));
    // Begun in the widget on an EMBED_ORIGINS page: open the widget there.
    let page_url = state
        .chat
        .visitors()
        .get(&thread.id)
        .await?
        .and_then(|c| c.page_url);
    let target = match page_url {
        Some(url) if from_embed_origin(&url, m.embed_origins()) => {
            let base = url.split('#').next().unwrap_or(&url);
            format!(
                "{base}#sohbet_continue={}",
                state.auth.visitor_token(&thread.id)
            )
        }
        _ => "/".to_owned(),
    };
    Ok(private((jar, Redirect::to(&target)).into_response()))
}

/// Is `url` an `http(s)` page of one of `origins`?
fn from_embed_origin(url: &str, origins: &[String]) -> bool {
    if url
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return false;
    }
    origins.iter().any(|o| {
        url.strip_prefix(o.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
    })
}

/// What a valid unsubscribe link stops: a thread's email, or an agent's.
enum Unsubscribe {
    /// Email about this thread (purpose `u`).
    Thread(ThreadId),
    /// `agent` emails to this agent (purpose `a`).
    Agent(AgentId),
}

/// What `token` unsubscribes when it is an unsubscribe link this server
/// signed, not expired, whose subject is well formed; `None` when email is
/// off, or the link is forged, expired or names nothing. Both the page
/// and its button ask it, so they never disagree on a link.
fn unsubscribe_target(state: &AppState, token: &str) -> Option<Unsubscribe> {
    let m = state.mailer.as_ref()?;
    let now = store::now();
    if let Some(v) = links::verify(m.auth(), links::Purpose::Unsubscribe, token, now) {
        return ThreadId::parse(v.subject).ok().map(Unsubscribe::Thread);
    }
    let v = links::verify(m.auth(), links::Purpose::AgentUnsubscribe, token, now)?;
    v.subject.parse().ok().map(Unsubscribe::Agent)
}

/// `GET /email/unsubscribe/{token}`: one button (mail scanners that follow
/// links do not unsubscribe anyone).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let tr = wants_turkish(&headers);
    if unsubscribe_target(&state, &token).is_none() {
        return dead_link(tr);
    }
    let (title, button) = if tr {
        ("E-posta aboneliği", "Bu sohbet için e-posta gönderme")
    } else {
        ("Email", "Send me no more email about this")
    };
    page(
        StatusCode::OK,
        tr,
        title,
        &format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">{}</button></form>",
            crate::email::compose::escape(button)
        ),
    )
}

/// `POST /email/unsubscribe/{token}` (RFC 8058 one-click, or the page's button).
///
/// # Errors
/// 503 when the database does not answer.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let tr = wants_turkish(&headers);
    let emails = state.chat.emails();
    let done = match unsubscribe_target(&state, &token) {
        Some(Unsubscribe::Thread(thread)) => emails.unsubscribe(&thread).await?,
        Some(Unsubscribe::Agent(agent)) => emails.set_agent_email(agent, None).await?,
        None => false,
    };
    if !done {
        return Ok(dead_link(tr));
    }
    tracing::info!("email unsubscribed by link");
    Ok(page(
        StatusCode::OK,
        tr,
        if tr {
            "Abonelik bırakıldı"
        } else {
            "Unsubscribed"
        },
        if tr {
            "<p>Bu sohbet için size artık e-posta gönderilmeyecek.</p>"
        } else {
            "<p>You will get no more email about this.</p>"
        },
    ))
}

/// `POST /api/visitor/transcript`: the visitor's own thread, to its stored address.
///
/// # Errors
/// 404 `NOT_FOUND` when email is off; 400 `VALIDATION_ERROR` when the thread
/// has no address or unsubscribed; 429 `RATE_LIMITED` after 3 in a day.
pub async fn transcript(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Done>> {
    mailer(&state)?;
    if caller.admin.is_some() && !caller.by_token {
        return Err(AppError::Forbidden(
            "Only a visitor asks for its transcript",
        ));
    }
    match state
        .chat
        .emails()
        .request_transcript(&caller.visitor_id)
        .await?
    {
        Ok(()) => Ok(Json(Done {
            success: true,
            message: "Transcript queued",
        })),
        Err(TranscriptRefusal::NoAddress) => Err(AppError::Validation(
            "No email address is stored for this conversation".into(),
        )),
        Err(TranscriptRefusal::Unsubscribed) => Err(AppError::Validation(
            "This conversation was unsubscribed from email".into(),
        )),
        Err(TranscriptRefusal::Limit(at)) => {
            let secs = (at - store::now()).num_seconds().max(1);
            Err(AppError::RateLimited(u64::try_from(secs).unwrap_or(1)))
        }
    }
}

/// `GET /api/email/status` (agent).
///
/// # Errors
/// 401/403 for a caller that is not an agent.
pub async fn status(State(state): State<AppState>, caller: Caller) -> AppResult<Json<EmailState>> {
    let session = caller.require_admin()?;
    let Some(m) = state.mailer.as_ref() else {
        return Ok(Json(EmailState::Off {
            success: true,
            configured: false,
        }));
    };
    let emails = state.chat.emails();
    Ok(Json(EmailState::On(EmailOn {
        success: true,
        configured: true,
        agent_alerts: state.telegram.is_none(),
        smtp: m.last_check().map(|(at, check)| SmtpLast {
            at: crate::domain::rfc3339_string(&at),
            check,
        }),
        dead: emails.dead().await?,
        my_email: emails.agent_email(session.agent_id).await?,
    })))
}

/// `POST /api/email/selftest` (agent): connect, EHLO, AUTH now.
///
/// # Errors
/// 401/403 for a caller that is not an agent; 404 when email is off.
pub async fn selftest(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<SmtpChecked>> {
    caller.require_admin()?;
    let check = mailer(&state)?.self_test().await;
    Ok(Json(SmtpChecked {
        success: true,
        check,
    }))
}

/// `PUT /api/agents/me/email` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MyEmail {
    /// The address, or `null` to remove it.
    pub email: Option<String>,
}

/// `PUT /api/agents/me/email` (agent): one's own address for alerts.
///
/// # Errors
/// 401/403 for a caller that is not an agent; 404 when email is off; 400
/// for a malformed address.
pub async fn set_my_email(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<MyEmail>,
) -> AppResult<Json<MyEmailSet>> {
    let session = caller.require_admin()?;
    mailer(&state)?;
    let email = match body.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(super::visitor::checked_email(e)?),
    };
    state
        .chat
        .emails()
        .set_agent_email(session.agent_id, email.as_deref())
        .await?;
    Ok(Json(MyEmailSet {
        success: true,
        email,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_embed_origins_open_the_widget() {
        let o = vec!["https://shop.example".to_owned()];
        assert!(from_embed_origin("https://shop.example/cart?x=1", &o));
        assert!(from_embed_origin("https://shop.example", &o));
        assert!(!from_embed_origin("https://shop.example.evil/x", &o));
        assert!(!from_embed_origin("https://other.example/", &o));
        assert!(!from_embed_origin("https://shop.example/\"><x", &o));
    }
}
