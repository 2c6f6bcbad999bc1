//! Webhook mode (`TELEGRAM_WEBHOOK_URL` set): `setWebhook` with a
//! `secret_token`, and a route that refuses requests whose
//! `X-Telegram-Bot-Api-Secret-Token` differs (compared in constant time,
//! Telegram Bot API § setWebhook). Accepted updates are fed to the same
//! dispatcher as long polling.
//!
//! The route is public, so it is rate limited per client IP
//! (`TELEGRAM_WEBHOOK_PER_IP_PER_MINUTE`, checked before the secret and the
//! body) and its refusals are not logged one by one: the first refusal of an
//! episode is logged at once, later ones are counted and reported at most
//! once a minute ([`Refusals`]), so a flood of bad calls costs a few log
//! lines, not one per call.

use std::{
    convert::Infallible,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Request, State},
    response::{IntoResponse, Response},
    routing::post,
};
use governor::{Quota, RateLimiter};
use subtle::ConstantTimeEq;
use teloxide::{
    prelude::Requester,
    stop::{StopToken, mk_stop_token},
    types::Update,
    update_listeners::StatefulListener,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::Telegram;
use crate::http::error::AppError;

type Stream = UnboundedReceiverStream<Result<Update, Infallible>>;

/// What the webhook route feeds: updates for the dispatcher.
pub type WebhookListener = mpsc::UnboundedReceiver<Result<Update, Infallible>>;

/// The dispatcher's update listener over the webhook's updates.
pub fn listener(
    rx: WebhookListener,
) -> impl teloxide::update_listeners::UpdateListener<Err = Infallible> + Send {
    let (stop_token, _stop_flag) = mk_stop_token();
    StatefulListener::new(
        (UnboundedReceiverStream::new(rx), stop_token),
        stream_of,
        stop_of,
    )
}

/// Largest update body read, bytes (Telegram's updates are a few KiB).
const MAX_UPDATE_BYTES: usize = 1024 * 1024;
/// Refusals are reported at most this often.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Calls per client IP (GCRA, `governor`), keyed by
/// [`crate::limits::ip_key`] (IPv6 by its /64).
type Limiter = crate::limits::Keyed<IpAddr>;

#[derive(Clone)]
struct Hook {
    secret: String,
    tx: mpsc::UnboundedSender<Result<Update, Infallible>>,
    tg: Telegram,
    per_ip: Option<Arc<Limiter>>,
    trust_proxy: crate::limits::TrustedProxies,
    refusals: Arc<Refusals>,
}

/// Why a webhook call was refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// Missing or wrong `X-Telegram-Bot-Api-Secret-Token` (401).
    WrongSecret,
    /// The right secret, but a body that is not an update (200, ignored).
    Unreadable,
    /// Over `TELEGRAM_WEBHOOK_PER_IP_PER_MINUTE` (429).
    RateLimited,
}

/// Counts refused webhook calls and logs them as episodes: the first
/// refusal after a quiet minute is logged at once; the ones after it are
/// counted and reported in one line at most every [`REPORT_EVERY`] (by the
/// next refusal, or by the route's ticker when the flood stopped).
#[derive(Debug, Default)]
pub struct Refusals(Mutex<Tally>);

#[derive(Debug, Default)]
struct Tally {
    wrong_secret: u64,
    unreadable: u64,
    rate_limited: u64,
    last_report: Option<Instant>,
}

impl Refusals {
    fn note(&self, why: Refusal) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match why {
            Refusal::WrongSecret => t.wrong_secret += 1,
            Refusal::Unreadable => t.unreadable += 1,
            Refusal::RateLimited => t.rate_limited += 1,
        }
        if t.last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
            Self::report(&mut t);
        }
    }

    /// Logs what was counted since the last report, if anything.
    fn flush(&self) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if t.wrong_secret + t.unreadable + t.rate_limited > 0
            && t.last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY)
        {
            Self::report(&mut t);
        }
    }

    fn report(t: &mut Tally) {
        tracing::warn!(
            wrong_secret = t.wrong_secret,
            unreadable = t.unreadable,
            rate_limited = t.rate_limited,
            "Telegram webhook calls refused (counted; reported at most once a minute)"
        );
        *t = Tally {
            last_report: Some(Instant::now()),
            ..Tally::default()
        };
    }
}

fn stream_of(s: &mut (Stream, StopToken)) -> &mut Stream {
    &mut s.0
}

fn stop_of(s: &mut (Stream, StopToken)) -> StopToken {
    s.1.clone()
}

/// The webhook route (at the path of `url`) and its listener; registers the
/// webhook with Telegram in the background (retrying until it succeeds).
/// `per_ip_per_minute` (0 = off) limits calls per client IP, found as
/// [`crate::limits::client_ip`] does with `trust_proxy`.
pub fn route(
    tg: Telegram,
    url: reqwest::Url,
    secret: String,
    per_ip_per_minute: u32,
    trust_proxy: crate::limits::TrustedProxies,
) -> (Router, WebhookListener) {
    let (tx, rx) = mpsc::unbounded_channel();
    let path = url.path().to_owned();
    let hook = Hook {
        secret: secret.clone(),
        tx,
        tg: tg.clone(),
        per_ip: NonZeroU32::new(per_ip_per_minute)
            .map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
        trust_proxy,
        refusals: Arc::default(),
    };
    tokio::spawn(register(tg, url, secret));
    tokio::spawn(tick(
        Arc::downgrade(&hook.refusals),
        hook.per_ip.as_ref().map(Arc::downgrade),
    ));
    let router = Router::new().route(&path, post(receive)).with_state(hook);
    (router, rx)
}

/// Every [`REPORT_EVERY`]: reports the refusals counted since the last line
/// and forgets idle IPs; ends when the route is dropped.
async fn tick(refusals: std::sync::Weak<Refusals>, limiter: Option<std::sync::Weak<Limiter>>) {
    let mut every =
        tokio::time::interval_at(tokio::time::Instant::now() + REPORT_EVERY, REPORT_EVERY);
    loop {
        every.tick().await;
        let Some(r) = refusals.upgrade() else { return };
        r.flush();
        if let Some(l) = limiter.as_ref().and_then(std::sync::Weak::upgrade) {
            l.retain_recent();
        }
    }
}

async fn register(tg: Telegram, url: reqwest::Url, secret: String) {
    use teloxide::payloads::SetWebhookSetters;
    let mut delay = Duration::from_millis(500);
    loop {
        let res = tg
            .bot
            .set_webhook(url.clone())
            .secret_token(secret.clone())
            // What the dispatcher handles (button presses too, issue 13;
            // edited answers, issue 23);
            // without it Telegram keeps the last setting.
            .allowed_updates(vec![
                teloxide::types::AllowedUpdate::Message,
                teloxide::types::AllowedUpdate::EditedMessage,
                teloxide::types::AllowedUpdate::CallbackQuery,
            ])
            .await;
        tg.health.record(res.is_ok());
        if res.is_err() {
            crate::metrics::telegram_error("setWebhook");
        }
        match res {
            Ok(_) => {
                tracing::info!(path = url.path(), "Telegram webhook registered");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %tg.describe(&e), "setWebhook failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn receive(State(hook): State<Hook>, req: Request) -> Response {
    let ip = crate::limits::request_ip(req.extensions(), req.headers(), hook.trust_proxy);
    if let Some(limiter) = &hook.per_ip
        && let Err(e) = crate::limits::rate_check(limiter, &crate::limits::ip_key(ip))
    {
        hook.refusals.note(Refusal::RateLimited);
        crate::metrics::rate_limited("webhook");
        return AppError::from(e).into_response();
    }
    let given = req
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        hook.refusals.note(Refusal::WrongSecret);
        return AppError::Unauthorized.into_response();
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_UPDATE_BYTES).await else {
        hook.refusals.note(Refusal::Unreadable);
        return AppError::PayloadTooLarge.into_response();
    };
    match serde_json::from_slice::<Update>(&body) {
        Ok(update) => {
            let _ = hook.tx.send(Ok(update));
            hook.tg.health.record(true);
        }
        // serde messages can quote the content: only counted.
        Err(_) => hook.refusals.note(Refusal::Unreadable),
    }
    axum::http::StatusCode::OK.into_response()
}
