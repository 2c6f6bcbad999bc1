//! The answer and request shapes of the HTTP API as OpenAPI schemas
//! (mirrors of the JSON the handlers write; see [`super`]).

use serde::Serialize;
use utoipa::ToSchema;

/// Every error answer: `{success: false, error, code, status}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable message.
    pub error: String,
    /// `UPPER_SNAKE` code, e.g. `RATE_LIMITED`, `CSRF_FAILED` (docs/api.md).
    pub code: String,
    /// The HTTP status again.
    pub status: u16,
}

pub use crate::domain::Role;

/// `GET /api/session`.
#[derive(Serialize, ToSchema)]
pub struct SessionDoc {
    /// `true`.
    pub success: bool,
    /// The caller's role.
    pub role: Role,
    /// The visitor's thread id (UUID v4; the admin's own visitor id too).
    pub thread_id: String,
    /// `Visitor 3F2A`, or the admin's login name.
    pub display_name: String,
    /// The signed-in agent's id (admins only; issue 22).
    pub agent_id: Option<i64>,
    /// The value for `X-CSRFToken`.
    pub csrf_token: String,
}

pub use crate::domain::MessageType as MessageKind;

/// A stored message.
#[derive(Serialize, ToSchema)]
pub struct MessageDoc {
    /// Grows with time.
    pub id: i64,
    /// The thread (UUID).
    pub thread_id: String,
    /// Text (1–4000 characters), or a caption (may be empty) for media.
    pub content_text: String,
    /// `text`, `image` or `audio`.
    pub content_type: MessageKind,
    /// Who sent it.
    pub sender_type: Role,
    /// Media URL (`/uploads/…` or Cloudinary's), `null` for text.
    pub file_url: Option<String>,
    /// RFC 3339 UTC with `Z`.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The sender's idempotency key, if any.
    pub client_id: Option<String>,
    /// An agent's internal note: only agents see it (never in a visitor's
    /// history, catch-up or socket).
    pub internal: bool,
    /// The agent who wrote an agent's message; `null` for a visitor's, an
    /// old row, an unlinked Telegram member's, and towards visitors while
    /// `AGENT_NAMES_VISIBLE=false`.
    pub agent_id: Option<i64>,
    /// The shown name of an agent's message (the agent's name when it
    /// wrote, else `ADMIN_DISPLAY_NAME`; always that towards visitors while
    /// `AGENT_NAMES_VISIBLE=false`); `null` for a visitor's message.
    pub sender_name: Option<String>,
    /// When an agent last edited it in Telegram (RFC 3339 UTC; issue 23):
    /// present only on an edited message.
    #[schema(format = DateTime)]
    pub edited_at: Option<String>,
}

/// `GET /api/messages/{thread_id}`.
#[derive(Serialize, ToSchema)]
pub struct MessagesDoc {
    /// `true`.
    pub success: bool,
    /// Oldest first.
    pub messages: Vec<MessageDoc>,
    /// With `after=ID` only (issue 23): the messages up to `ID` edited since
    /// message `ID` was stored, oldest first, at most `limit` (the
    /// catch-up's edits; a visitor never gets a note).
    pub edited: Option<Vec<MessageDoc>>,
}

/// Body of `POST /api/messages/send`.
#[derive(Serialize, ToSchema)]
pub struct SendBodyDoc {
    /// The admin's target thread; a visitor's own thread when absent.
    pub thread_id: Option<String>,
    /// The text (1–4000 characters for `text`).
    pub text: Option<String>,
    /// `text` (default), `image` or `audio`.
    #[serde(rename = "type")]
    pub kind: Option<MessageKind>,
    /// For media: a URL this server issued from an upload.
    pub file_url: Option<String>,
    /// Idempotency key: a repeat returns the stored message.
    pub client_id: Option<String>,
    /// `true`: an internal note for the agents (admin only; a visitor's
    /// note is refused, 403 `FORBIDDEN`). Default `false`.
    pub internal: Option<bool>,
}

/// `POST /api/messages/send`: answered after the commit.
#[derive(Serialize, ToSchema)]
pub struct SendDoc {
    /// `true`.
    pub success: bool,
    /// The stored message's id.
    pub message_id: i64,
    /// Its thread.
    pub thread_id: String,
    /// The stored message.
    pub message: MessageDoc,
}

/// One thread of the admin's list.
#[derive(Serialize, ToSchema)]
pub struct ThreadDoc {
    /// Thread id.
    pub id: String,
    /// `Visitor 3F2A`.
    pub display_name: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339: the last message.
    #[schema(format = DateTime)]
    pub last_activity: String,
    /// `open` | `closed` (`active` before issue 13 meant `open`).
    pub status: super::ThreadStatusDoc,
    /// Its visitor is blocked.
    pub blocked: bool,
    /// Messages in the thread.
    pub message_count: i64,
    /// Visitor messages the admin has not read.
    pub unread_count: i64,
    /// The newest message, if any.
    pub last_message: Option<MessageDoc>,
    /// Has the visitor a socket open on this instance?
    pub online: bool,
    /// When the visitor was last seen (RFC 3339), if known.
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// The assigned agent, or null (issue 22).
    pub assignee: Option<super::AssigneeDoc>,
}

/// `GET /api/threads`.
#[derive(Serialize, ToSchema)]
pub struct ThreadsDoc {
    /// `true`.
    pub success: bool,
    /// Open ones first, then most recently active first.
    pub threads: Vec<ThreadDoc>,
    /// How many threads are open and closed.
    pub counts: super::ThreadCountsDoc,
}

/// Body of `POST /api/messages/clear`.
#[derive(Serialize, ToSchema)]
pub struct ClearBodyDoc {
    /// The thread to clear.
    pub thread_id: String,
}

/// `{success, message}`.
#[derive(Serialize, ToSchema)]
pub struct DoneDoc {
    /// `true`.
    pub success: bool,
    /// What was done.
    pub message: String,
}

/// `{success}`.
#[derive(Serialize, ToSchema)]
pub struct SuccessDoc {
    /// `true`.
    pub success: bool,
}

/// Body of `POST /admin/login`.
#[derive(Serialize, ToSchema)]
pub struct LoginBodyDoc {
    /// `ADMIN_USERNAME`.
    pub username: String,
    /// `ADMIN_PASSWORD`.
    pub password: String,
}

/// `POST /admin/login`: the code went to Telegram (or the log).
#[derive(Serialize, ToSchema)]
pub struct LoginDoc {
    /// `true`.
    pub success: bool,
    /// `OTP sent to Telegram`, or `OTP written to the server log (Telegram
    /// is not configured)` when Telegram is not set up.
    pub message: String,
    /// `true`.
    pub otp_sent: bool,
}

/// Body of `POST /admin/verify-otp`.
#[derive(Serialize, ToSchema)]
pub struct OtpBodyDoc {
    /// The 6-digit code.
    pub otp: String,
}

/// `POST /admin/verify-otp`: the admin cookie is set.
#[derive(Serialize, ToSchema)]
pub struct OtpDoc {
    /// `true`.
    pub success: bool,
    /// `Login successful`.
    pub message: String,
    /// A public session identifier (the token stays in the cookie).
    pub session: String,
}

/// Multipart body of the upload routes.
#[derive(Serialize, ToSchema)]
pub struct UploadFormDoc {
    /// The file; its bytes decide its type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// An upload was stored.
#[derive(Serialize, ToSchema)]
pub struct UploadDoc {
    /// `true`.
    pub success: bool,
    /// `images/<uuid>.<ext>` or `audio/<uuid>.<ext>` (local), or the Cloudinary id.
    pub file_path: String,
    /// The URL to send as `file_url`.
    pub file_url: String,
    /// `Image uploaded successfully` / `Audio uploaded successfully`.
    pub message: String,
}

/// `/health/live`, `/health/ready`, and `/health` without details.
#[derive(Serialize, ToSchema)]
pub struct ProbeDoc {
    /// `alive`, `ready`/`not_ready`, or `healthy`/`degraded`/`unhealthy`.
    pub status: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// `/health/ready` only, when `not_ready` because the Redis pub/sub
    /// link is down: `redis: pub/sub connection lost, reconnecting`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /health` (the details only for a token holder or a local caller).
#[derive(Serialize, ToSchema)]
pub struct HealthDoc {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Crate version (details only).
    pub version: Option<String>,
    /// `development` / `production` (details only).
    pub environment: Option<String>,
    /// `database`, `database_kind`, `telegram`, `telegram_outbox_backlog`,
    /// `memory`, `disk`, `sockets` (details only; docs/api.md).
    #[schema(value_type = Option<Object>)]
    pub checks: Option<serde_json::Value>,
}

/// `GET /api/telegram/bridge`, `POST /api/telegram/selftest` (issue 12).
#[derive(Serialize, ToSchema)]
pub struct BridgeDoc {
    /// `true`.
    pub success: bool,
    /// Is Telegram configured?
    pub configured: bool,
    /// The last self-test `{at, topic_mode, topic_reason, checks: [{name,
    /// ok, detail, fix}]}`, or `null` before the first (or without Telegram).
    #[schema(value_type = Option<Object>)]
    pub bridge: Option<serde_json::Value>,
}

/// Body of `POST /api/visitor/context` (every field optional).
#[derive(Serialize, ToSchema)]
pub struct ContextBodyDoc {
    /// The host page's URL.
    pub url: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its referrer.
    pub referrer: Option<String>,
    /// The browser's language.
    pub language: Option<String>,
    /// The browser's IANA time zone.
    pub timezone: Option<String>,
    /// The visitor left the page.
    pub away: Option<bool>,
}

/// Body of `POST /api/visitor/identify` (every field optional).
#[derive(Serialize, ToSchema)]
pub struct IdentifyBodyDoc {
    /// Display name, at most 100 characters.
    pub name: Option<String>,
    /// Email address, at most 254 characters.
    pub email: Option<String>,
    /// The site's user id, at most 128 characters.
    pub user_id: Option<String>,
    /// `hex(HMAC-SHA256(IDENTITY_SECRET, user_id))`, computed by the site.
    pub user_hash: Option<String>,
}

/// `POST /api/visitor/identify`.
#[derive(Serialize, ToSchema)]
pub struct IdentifyDoc {
    /// `true`.
    pub success: bool,
    /// The identity hash was valid.
    pub verified: bool,
    /// The visitor's thread (another one when `switched`).
    pub thread_id: String,
    /// The user already had a thread: the client reloads into it.
    pub switched: bool,
    /// The switched thread's visitor token (token callers only).
    pub visitor_token: Option<String>,
}

/// `GET /api/threads/{thread_id}/context`.
#[derive(Serialize, ToSchema)]
pub struct ThreadContextDoc {
    /// `true`.
    pub success: bool,
    /// The visitor context (page, browser, identity, `online`), `null` when
    /// none was reported.
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}
