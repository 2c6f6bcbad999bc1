//! Posting a message: who may post where ([`Actor::target`]), the checks
//! of the contract (text, type, media URL, `client_id`), blocks, and the
//! hand-over to the group-commit writer.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::oneshot;

use super::{
    Actor, Chat, ChatError, ChatResult, MAX_TEXT_CHARS, MediaUrls, MessageType, Role, ThreadId,
    display_name_for, overload, writer,
};
use crate::{
    domain::{Message, NewMessage},
    store::threads,
};

/// How long a send may wait for room in the full writer queue before it is
/// refused with `SERVER_BUSY` (bounded waiting instead of accept-and-drop).
pub const ENQUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The error text for a visitor asking for an internal note: 403 `FORBIDDEN`.
pub const NOTE_FORBIDDEN: &str = "Only an agent can write an internal note";

/// The error text for a `file_url` of this server whose file does not exist
/// (never uploaded, or removed): 400 `VALIDATION_ERROR`.
pub const MISSING_UPLOAD: &str =
    "file_url names no uploaded file (it does not exist or was removed): upload the file first";

/// Who sends a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The visitor owning thread `thread_id` (the thread row is created at
    /// its first message).
    Visitor {
        /// The visitor's own thread.
        thread_id: ThreadId,
    },
    /// The admin (web panel or Telegram).
    Admin,
}

impl Sender {
    /// Its role, as stored in `messages.sender`.
    pub fn role(&self) -> Role {
        match self {
            Sender::Visitor { .. } => Role::Visitor,
            Sender::Admin => Role::Admin,
        }
    }
}

/// A message to post, as HTTP (`POST /api/messages/send`) and Socket.IO
/// (`message_from_visitor`, `message_to_admin`, `message_to_visitor`)
/// receive it alike: `{thread_id?, text, type, file_url?, client_id?,
/// internal?}` of the contract.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PostRequest {
    /// Target thread; a visitor may omit it (its own), see
    /// [`Actor::target`].
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    /// Raw text; trimmed here (1..=4000 characters for `text`).
    #[serde(default)]
    pub text: String,
    /// `text` (default) | `image` | `audio`; any other word is refused
    /// while the body is read (`VALIDATION_ERROR`).
    #[serde(rename = "type", default = "text_type")]
    pub kind: MessageType,
    /// Media URL for `image` / `audio` (this server's `/uploads/…`).
    #[serde(default)]
    pub file_url: Option<String>,
    /// Idempotency key (1..=64 characters).
    #[serde(default)]
    pub client_id: Option<String>,
    /// An internal note (issue 22): shown to agents only, never to the
    /// visitor. Only an agent may write one (a visitor's note is refused
    /// with `Forbidden`, nothing stored).
    #[serde(default)]
    pub internal: bool,
    /// Written in Telegram (an answer, a `/note`, a canned reply chosen
    /// there): not mirrored back into the thread's topic. Never from a
    /// client.
    #[serde(skip)]
    pub from_telegram: bool,
    /// The admin's Telegram message this post comes from: linked to the
    /// stored message in the same transaction (a reply to it then reaches
    /// this thread, and its receipts are shown on it). Never from a client.
    #[serde(skip)]
    pub telegram_link: Option<TelegramLink>,
}

fn text_type() -> MessageType {
    MessageType::Text
}

/// A Telegram message of the admin chat: `(chat id, message id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelegramLink {
    /// The chat (`TELEGRAM_CHAT_ID`).
    pub chat_id: i64,
    /// The message in it.
    pub message_id: i64,
}

/// The result of [`Chat::post`].
#[derive(Clone, Debug)]
pub struct Posted {
    /// The stored message (the earlier one for a repeated `client_id`).
    pub message: Message,
    /// `true` when the `client_id` had been stored before.
    pub duplicate: bool,
}

impl Chat {
    /// Validates and stores a message; returns once it is committed.
    ///
    /// # Errors
    /// `Blocked` when the visitor of the thread is blocked (checked in
    /// memory, before anything else: nothing is stored or forwarded);
    /// `Forbidden` ([`NOTE_FORBIDDEN`]) for an internal note of a visitor
    /// (also the agent's browser acting as its own visitor);
    /// `Validation` for empty / over-long text, an unknown type, a
    /// `client_id` another sender already used in this thread, a media type
    /// without a URL this server issued ([`MediaUrls::allows`]), a local
    /// upload that is not on disk ([`MISSING_UPLOAD`]) or a bad `client_id`; `NotFound` when
    /// the admin posts to a thread that does not exist; `Unavailable` /
    /// `Database` / `Media` on other failures (nothing is stored then).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn post(&self, actor: &Actor, req: PostRequest) -> ChatResult<Posted> {
        self.post_from(actor, req, None).await
    }

    /// [`Chat::post`] of a request from the client address whose key is
    /// `client_key` (the HTTP and Socket.IO adapters pass
    /// `limits::address_key` of the request's IP): a visitor's forward
    /// records it on its outbox row, where the Telegram outbox's fair share
    /// counts it (issue 23); it is kept only while the forward is pending.
    /// An agent's message records none.
    ///
    /// # Errors
    /// As [`Chat::post`].
    pub async fn post_from(
        &self,
        actor: &Actor,
        req: PostRequest,
        client_key: Option<String>,
    ) -> ChatResult<Posted> {
        let (sender, thread) = match actor.target(req.thread_id.as_ref().map(ThreadId::as_str)) {
            Ok(t) => t,
            // A blocked visitor hears that it is blocked, whatever it names.
            Err(_) if matches!(actor, Actor::Visitor { thread } if self.blocks.contains(thread)) => {
                return Err(ChatError::Blocked);
            }
            Err(e) => return Err(e),
        };
        if let Sender::Visitor { thread_id } = &sender
            && self.blocks.contains(thread_id)
        {
            return Err(ChatError::Blocked);
        }
        if req.internal && sender != Sender::Admin {
            return Err(ChatError::Forbidden(NOTE_FORBIDDEN));
        }
        // An agent's answer or note written outside Telegram is mirrored
        // into the thread's topic (the outbox skips it without topics).
        let mirror = sender == Sender::Admin && !req.from_telegram && req.telegram_link.is_none();
        let mut msg = validate(&self.options.media_urls, &sender, thread, req)?;
        // Who writes it, taken from the actor (no lookup): the stand-in
        // "Support" (no id) is stored without a name and shown as
        // `ADMIN_DISPLAY_NAME`.
        if sender == Sender::Admin
            && let Some(agent) = actor.agent()
            && agent.id.is_some()
        {
            msg.agent_id = agent.id;
            msg.agent_name = Some(agent.display_name.clone());
        }
        if let Some(url) = &msg.file_url {
            let exists = self
                .options
                .media_urls
                .exists(url)
                .await
                .map_err(|e| ChatError::Media(Arc::new(e)))?;
            if !exists {
                return Err(ChatError::Validation(MISSING_UPLOAD.into()));
            }
        }
        msg.forward = self.options.forward_to_telegram && (msg.sender == Role::Visitor || mirror);
        if msg.forward && msg.sender == Role::Visitor {
            msg.client_key = client_key;
        }
        if sender == Sender::Admin && threads::get(&self.db, &msg.thread_id).await?.is_none() {
            return Err(ChatError::NotFound("Thread not found"));
        }
        let (tx, rx) = oneshot::channel();
        self.enqueue(writer::Job { msg, reply: tx }).await?;
        let inserted = rx.await.map_err(|_| ChatError::Unavailable(None))??;
        if inserted.conflict {
            return Err(ChatError::Validation(
                "client_id is already used by another message of this thread".into(),
            ));
        }
        Ok(Posted {
            message: inserted.message,
            duplicate: inserted.duplicate,
        })
    }

    /// Hands a message to the group-commit writer. When its queue is full
    /// (the server cannot keep up), waits at most [`ENQUEUE_WAIT`], then
    /// refuses: nothing was stored, the client may retry.
    ///
    /// # Errors
    /// `Busy` after the wait; `Unavailable` when the writer stopped.
    async fn enqueue(&self, job: writer::Job) -> ChatResult<()> {
        use tokio::sync::mpsc::error::TrySendError;
        let writer = self.writer.for_thread(&job.msg.thread_id);
        match writer.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(ChatError::Unavailable(None)),
            Err(TrySendError::Full(job)) => {
                match tokio::time::timeout(ENQUEUE_WAIT, writer.send(job)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(ChatError::Unavailable(None)),
                    Err(_) => {
                        overload::refused();
                        Err(ChatError::Busy)
                    }
                }
            }
        }
    }
}

/// Checks a post against the contract and turns it into a row to insert.
fn validate(
    media_urls: &MediaUrls,
    sender: &Sender,
    thread: ThreadId,
    req: PostRequest,
) -> ChatResult<NewMessage> {
    let kind = req.kind;
    let text = req.text.trim().to_owned();
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ChatError::Validation(format!(
            "text must be at most {MAX_TEXT_CHARS} characters"
        )));
    }
    let file_url = req
        .file_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if let Some(media) = crate::media::Kind::of_message(kind) {
        let url = file_url
            .as_deref()
            .ok_or_else(|| ChatError::Validation(format!("an {kind} message needs a file_url")))?;
        if !media_urls.allows(url, media) {
            return Err(ChatError::Validation(
                "file_url must be a file uploaded to this server".into(),
            ));
        }
    } else {
        if chars == 0 {
            return Err(ChatError::Validation("text must not be empty".into()));
        }
        if file_url.is_some() {
            return Err(ChatError::Validation(
                "file_url is only for image and audio".into(),
            ));
        }
    }
    if let Some(cid) = &req.client_id
        && (cid.is_empty() || cid.len() > 64 || cid.chars().any(|c| c.is_control()))
    {
        return Err(ChatError::Validation(
            "client_id must be 1 to 64 printable characters".into(),
        ));
    }
    let new_thread = match sender {
        Sender::Visitor { thread_id } => Some(display_name_for(thread_id.as_str())),
        Sender::Admin => None,
    };
    Ok(NewMessage {
        thread_id: thread,
        sender: sender.role(),
        kind,
        text,
        file_url,
        client_id: req.client_id,
        new_thread,
        forward: false,
        internal: req.internal,
        tg_link: req.telegram_link.map(|l| (l.chat_id, l.message_id)),
        agent_id: None,
        agent_name: None,
        client_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `super::validate` with local uploads only.
    fn validate(sender: &Sender, req: PostRequest) -> ChatResult<NewMessage> {
        let thread = ThreadId::parse("t1").expect("thread id");
        super::validate(&MediaUrls::default(), sender, thread, req)
    }

    fn req(text: &str, kind: &str, url: Option<&str>) -> PostRequest {
        PostRequest {
            thread_id: Some("t1".into()),
            text: text.into(),
            kind: kind.parse().expect("message type"),
            file_url: url.map(Into::into),
            client_id: None,
            internal: false,
            from_telegram: false,
            telegram_link: None,
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let v = Sender::Visitor {
            thread_id: "t1".into(),
        };
        assert_eq!(
            validate(&v, req("  hi \n", "text", None)).unwrap().text,
            "hi"
        );
        assert!(validate(&v, req("   ", "text", None)).is_err());
        assert!(validate(&v, req(&"é".repeat(4000), "text", None)).is_ok());
        assert!(validate(&v, req(&"é".repeat(4001), "text", None)).is_err());
        assert!(serde_json::from_str::<PostRequest>(r#"{"text":"x","type":"video"}"#).is_err());
        let default: PostRequest = serde_json::from_str(r#"{"text":"x"}"#).expect("no type");
        assert_eq!(default.kind, MessageType::Text);
    }

    #[test]
    fn media_needs_a_local_upload_url() {
        let a = Sender::Admin;
        let ours = "/uploads/images/0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.png";
        assert!(validate(&a, req("", "image", Some(ours))).is_ok());
        for bad in [
            "https://evil.example/p.png",
            "/uploads/images/../x.png",
            "/uploads/audio/a.mp3",
            "//evil/x.png",
        ] {
            assert!(validate(&a, req("", "image", Some(bad))).is_err(), "{bad}");
        }
        assert!(validate(&a, req("", "audio", None)).is_err());
    }
}
