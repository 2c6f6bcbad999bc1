//! The parts of a forward (a media message with its caption, then texts)
//! and how one part is sent: in the thread's topic when there is one,
//! paced with every other message to the admin chat. Used by [`super::outbox`].

use std::path::PathBuf;

use teloxide::{
    RequestError,
    payloads::{
        SendAudioSetters, SendDocumentSetters, SendMessageSetters, SendPhotoSetters,
        SendVoiceSetters,
    },
    prelude::Requester,
    types::{InlineKeyboardMarkup, InputFile, ThreadId},
};

use super::{Telegram, format};
use crate::chat::{MessageType, outbox::OutboxItem};

/// One Telegram message of a forward.
pub(super) enum Part {
    Text(String),
    Photo(InputFile, String),
    Voice(InputFile, String),
    Audio(InputFile, String),
    Document(InputFile, String),
}

/// Where the media of a forward comes from.
pub(super) enum Source {
    /// A file under `UPLOAD_DIR`.
    Local(PathBuf),
    /// An HTTPS URL Telegram fetches itself (Cloudinary).
    Remote(reqwest::Url),
}

fn media_source(tg: &Telegram, url: &str) -> Option<Source> {
    if let Some(rel) = url.strip_prefix("/uploads/") {
        if rel
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'))
        {
            return None;
        }
        return Some(Source::Local(tg.upload_dir.join(rel)));
    }
    reqwest::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "https")
        .map(Source::Remote)
}

/// Where the media part of `item` comes from, or `None` when the forward
/// is text only (not an image or audio, or no usable `file_url`). It
/// depends on the row alone (the file is not looked at), so every try of a
/// forward sees the same parts.
pub(super) fn media_of(tg: &Telegram, item: &OutboxItem) -> Option<Source> {
    match item.content_type? {
        MessageType::Image | MessageType::Audio => media_source(tg, item.file_url.as_deref()?),
        MessageType::Text => None,
    }
}

/// The texts of a forward: with a media part, its caption and the texts
/// that follow it (the rest of a caption too long for Telegram); without,
/// no caption and all its texts. Part `i` of the forward is the media
/// (with the caption) when `i == 0` and there is media, else a text. A
/// visitor's message is headed `[<name>]`, an agent's mirrored answer or
/// note [`format::agent_head`].
pub(super) fn texts(item: &OutboxItem, with_media: bool) -> (Option<String>, Vec<String>) {
    let head = head_of(item);
    let text = item.content_text.as_deref().unwrap_or("");
    if with_media {
        let (caption, rest) = format::caption(&head, text);
        (Some(caption), rest)
    } else {
        (None, format::headed_texts(&head, text))
    }
}

/// Who a forward is from, as its head shows it: `[<name>]` for a
/// visitor's message, [`format::agent_head`] for an agent's answer or note.
/// Forwards with the same head may ride one coalesced message.
pub(super) fn head_of(item: &OutboxItem) -> String {
    if item.is_agents() {
        format::agent_head(item.agent_name.as_deref(), item.internal.unwrap_or(false))
    } else {
        format::visitor_head(item.display_name.as_deref().unwrap_or("Visitor"))
    }
}

/// The media part: a photo, or by the file's extension a voice note, an
/// audio file or a document.
pub(super) fn media_part(item: &OutboxItem, f: InputFile, caption: String) -> Part {
    let url = item.file_url.as_deref().unwrap_or("").to_ascii_lowercase();
    if item.content_type == Some(MessageType::Image) {
        Part::Photo(f, caption)
    } else if url.ends_with(".ogg") || url.ends_with(".oga") || url.ends_with(".opus") {
        Part::Voice(f, caption)
    } else if url.ends_with(".mp3") || url.ends_with(".m4a") {
        Part::Audio(f, caption)
    } else {
        Part::Document(f, caption)
    }
}

/// Sends one part, in the thread's topic when there is one, with `markup`
/// (inline buttons, [`super::buttons`]) when given, paced with every other
/// message to the admin chat ([`super::console::Pacer`]).
pub(super) async fn send(
    tg: &Telegram,
    part: Part,
    topic: Option<ThreadId>,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<i64, RequestError> {
    let (bot, chat) = (&tg.bot, tg.chat_id);
    let method = match &part {
        Part::Text(_) => "sendMessage",
        Part::Photo(..) => "sendPhoto",
        Part::Voice(..) => "sendVoice",
        Part::Audio(..) => "sendAudio",
        Part::Document(..) => "sendDocument",
    };
    // The topic and the buttons, when given, on any of the send requests.
    macro_rules! placed {
        ($req:expr) => {{
            let mut req = $req;
            if let Some(th) = topic {
                req = req.message_thread_id(th);
            }
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            req.await
        }};
    }
    let turn = tg.console.pace.turn().await;
    let msg = match part {
        Part::Text(t) => placed!(bot.send_message(chat, t)),
        Part::Photo(f, c) => placed!(bot.send_photo(chat, f).caption(c)),
        Part::Voice(f, c) => placed!(bot.send_voice(chat, f).caption(c)),
        Part::Audio(f, c) => placed!(bot.send_audio(chat, f).caption(c)),
        Part::Document(f, c) => placed!(bot.send_document(chat, f).caption(c)),
    };
    turn.done();
    if msg.is_err() {
        crate::metrics::telegram_error(method);
    }
    if let Err(RequestError::RetryAfter(s)) = &msg {
        tg.console.pace.hold_off(s.duration()).await;
    }
    Ok(i64::from(msg?.id.0))
}
