//! Webhook mode (`TELEGRAM_WEBHOOK_URL` set): `setWebhook` with a
//! `secret_token`, and a route that refuses requests whose
//! `X-Telegram-Bot-Api-Secret-Token` differs (compared in constant time,
//! Telegram Bot API § setWebhook). Accepted updates are fed to the same
//! dispatcher as long polling. Also: fetching media the admin replies with.

use std::{convert::Infallible, time::Duration};

use axum::{
    Router, body::Bytes, extract::State, http::HeaderMap, response::IntoResponse, routing::post,
};
use subtle::ConstantTimeEq;
use teloxide::{
    net::Download,
    prelude::Requester,
    stop::{StopToken, mk_stop_token},
    types::{Message, Update},
    update_listeners::StatefulListener,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::Telegram;
use crate::error::AppError;

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

#[derive(Clone)]
struct Hook {
    secret: String,
    tx: mpsc::UnboundedSender<Result<Update, Infallible>>,
    tg: Telegram,
}

fn stream_of(s: &mut (Stream, StopToken)) -> &mut Stream {
    &mut s.0
}

fn stop_of(s: &mut (Stream, StopToken)) -> StopToken {
    s.1.clone()
}

/// The webhook route (at the path of `url`) and its listener; registers the
/// webhook with Telegram in the background (retrying until it succeeds).
pub fn route(tg: Telegram, url: reqwest::Url, secret: String) -> (Router, WebhookListener) {
    let (tx, rx) = mpsc::unbounded_channel();
    let path = url.path().to_owned();
    let hook = Hook {
        secret: secret.clone(),
        tx,
        tg: tg.clone(),
    };
    tokio::spawn(register(tg, url, secret));
    let router = Router::new().route(&path, post(receive)).with_state(hook);
    (router, rx)
}

async fn register(tg: Telegram, url: reqwest::Url, secret: String) {
    use teloxide::payloads::SetWebhookSetters;
    let mut delay = Duration::from_millis(500);
    loop {
        let res = tg
            .bot
            .set_webhook(url.clone())
            .secret_token(secret.clone())
            .await;
        tg.health.record(res.is_ok());
        match res {
            Ok(_) => {
                tracing::info!(path = url.path(), "Telegram webhook registered");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %tg.redact(&e.to_string()), "setWebhook failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        tracing::warn!("Telegram webhook call with a wrong secret token refused");
        return AppError::Unauthorized.into_response();
    }
    match serde_json::from_slice::<Update>(&body) {
        Ok(update) => {
            let _ = hook.tx.send(Ok(update));
            hook.tg.health.record(true);
        }
        // serde messages can quote the content: log only where it failed.
        Err(e) => tracing::warn!(
            line = e.line(),
            column = e.column(),
            "unreadable Telegram update ignored"
        ),
    }
    axum::http::StatusCode::OK.into_response()
}

/// The media of an admin's Telegram message, fetched (`getFile` + download)
/// and stored through the upload storage, judged by its bytes like any
/// upload: `Ok(Some((kind, file_url)))`, `Ok(None)` when it has no photo,
/// voice or audio, `Err(text for the admin)` when it cannot be taken.
pub async fn incoming_media(
    tg: &Telegram,
    msg: &Message,
) -> Result<Option<(&'static str, String)>, String> {
    use crate::media::Kind;
    let (kind, file) = if let Some(p) = msg
        .photo()
        .and_then(|p| p.iter().max_by_key(|s| s.width * s.height))
    {
        (Kind::Image, &p.file)
    } else if let Some(v) = msg.voice() {
        (Kind::Audio, &v.file)
    } else if let Some(a) = msg.audio() {
        (Kind::Audio, &a.file)
    } else {
        return Ok(None);
    };
    if u64::from(file.size) > kind.max_bytes() {
        return Err(format!(
            "Not sent: the file is larger than {} MiB.",
            kind.max_bytes() / (1024 * 1024)
        ));
    }
    let file = tg.bot.get_file(file.id.clone()).await.map_err(|e| {
        tracing::warn!(error = %tg.redact(&e.to_string()), "getFile failed");
        "Could not fetch that file from Telegram. Please send it again.".to_owned()
    })?;
    let mut bytes: Vec<u8> = Vec::new();
    tg.bot
        .download_file(&file.path, &mut bytes)
        .await
        .map_err(|e| {
            tracing::warn!(error = %tg.redact(&e.to_string()), "file download failed");
            "Could not download that file from Telegram. Please send it again.".to_owned()
        })?;
    match tg.media.store_bytes(kind, &bytes).await {
        Ok(stored) => Ok(Some((kind.message_type(), stored.file_url))),
        Err(e) => {
            tracing::warn!(error = %e, "a Telegram media reply was refused");
            Err(format!("Not sent: {}", crate::error::AppError::from(e)))
        }
    }
}
