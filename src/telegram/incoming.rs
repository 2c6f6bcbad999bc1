//! The media of an admin's Telegram message (a photo, a voice note, an
//! audio file, an image or audio document): fetched from the Bot API and
//! stored through the upload storage. Used by the dispatcher's message
//! handler, whether its updates come by long polling or by the webhook.

use teloxide::{net::Download, prelude::Requester, types::Message};

use super::Telegram;
use crate::{http::error::AppError, media::Kind};

/// The media of an admin's Telegram message, fetched (`getFile` + download)
/// and stored through the upload storage, judged by its bytes like any
/// upload: `Ok(Some((kind, file_url)))`, `Ok(None)` when it has no photo,
/// voice, audio or document, `Err(text for the admin)` when it cannot be taken.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
pub async fn media(
    tg: &Telegram,
    msg: &Message,
) -> Result<Option<(crate::domain::MessageType, String)>, String> {
    let (kind, file) = if let Some(p) = msg
        .photo()
        .and_then(|p| p.iter().max_by_key(|s| s.width * s.height))
    {
        (Kind::Image, &p.file)
    } else if let Some(v) = msg.voice() {
        (Kind::Audio, &v.file)
    } else if let Some(a) = msg.audio() {
        (Kind::Audio, &a.file)
    } else if let Some(d) = msg.document() {
        // A photo or a recording sent "as a file": taken when its bytes
        // are an image or audio this server accepts (judged below).
        match d.mime_type.as_ref().map(|m| m.type_().as_str()) {
            Some("image") => (Kind::Image, &d.file),
            Some("audio") => (Kind::Audio, &d.file),
            _ => {
                return Err(
                    "Not sent: only image and audio documents can be sent to visitors.".into(),
                );
            }
        }
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
        tracing::warn!(error = %tg.describe(&e), "getFile failed");
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
            Err(format!("Not sent: {}", AppError::from(e)))
        }
    }
}
