//! Canned replies (issue 13): the admin's short named answers, stored in
//! the database and so shared by every instance. The rules live here, the
//! same for the JSON API, the panel and Telegram: a name is trimmed, 1 to
//! [`MAX_NAME_CHARS`] characters without control characters, and unique
//! without regard to case; a body is trimmed, 1 to [`MAX_BODY_CHARS`]
//! characters (a message's limit, since it is sent as one); at most
//! [`MAX_REPLIES`] replies. Every change is published as
//! [`ChatEvent::CannedUpdated`] (Socket.IO `canned_updated` to the admins of
//! every instance). Sending one ([`Chat::send_canned`]) goes through
//! [`Chat::post`] like any admin message. Knows no transport.

use crate::domain::ThreadId;
use serde::Serialize;

use super::{Chat, ChatEvent, MAX_TEXT_CHARS, PostRequest, Posted};
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::{CannedId, CannedWrite, NewCanned};
use crate::store::{self, canned as table};

pub use crate::domain::CannedReply;

/// Longest name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest body, in characters after trimming: a message's limit.
pub const MAX_BODY_CHARS: usize = MAX_TEXT_CHARS;
/// Most canned replies stored. One Telegram inline keyboard holds them all
/// (Bot API `InlineKeyboardMarkup`: at most 100 buttons).
pub const MAX_REPLIES: i64 = 100;

/// The error text of a name another reply has (409 `CONFLICT`).
pub const NAME_TAKEN: &str = "a canned reply with this name already exists";
/// The error text of an unknown id (404 `NOT_FOUND`).
pub const NOT_FOUND: &str = "Canned reply not found";

/// A reply as the admin writes it (`{name, body}` of the API).
#[derive(Clone, Debug)]
pub struct CannedInput {
    /// Raw name; trimmed here.
    pub name: String,
    /// Raw body; trimmed here.
    pub body: String,
}

/// What changed: `created` | `updated` | `deleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CannedAction {
    /// A new reply.
    Created,
    /// A reply's name or body changed.
    Updated,
    /// A reply was deleted.
    Deleted,
}

/// The payload of `canned_updated`: `{action, id, reply}`; `reply` is the
/// reply as stored now (`null` for `deleted`).
#[derive(Clone, Debug, Serialize)]
pub struct CannedChange {
    /// What happened.
    pub action: CannedAction,
    /// The reply's id.
    pub id: CannedId,
    /// The reply after the change; `None` once deleted.
    pub reply: Option<CannedReply>,
}

/// Checks a reply against the rules of the module doc.
///
/// # Errors
/// `Validation` naming the broken rule.
pub fn validate(input: CannedInput) -> ChatResult<NewCanned> {
    let name = input.name.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(ChatError::Validation("name must not be empty".into()));
    }
    if chars > MAX_NAME_CHARS {
        return Err(ChatError::Validation(format!(
            "name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ChatError::Validation(
            "name must be one line of printable characters".into(),
        ));
    }
    let body = input.body.trim().to_owned();
    let chars = body.chars().count();
    if chars == 0 {
        return Err(ChatError::Validation("body must not be empty".into()));
    }
    if chars > MAX_BODY_CHARS {
        return Err(ChatError::Validation(format!(
            "body must be at most {MAX_BODY_CHARS} characters"
        )));
    }
    Ok(NewCanned {
        name_key: name.to_lowercase(),
        name,
        body,
    })
}

impl Chat {
    /// Every canned reply, ordered by name (case-insensitive, then id).
    ///
    /// # Errors
    /// Database errors.
    pub async fn canned_replies(&self) -> ChatResult<Vec<CannedReply>> {
        Ok(table::list(&self.db).await?)
    }

    /// One canned reply.
    ///
    /// # Errors
    /// `NotFound` ([`NOT_FOUND`]) for an unknown id; database errors.
    pub async fn canned_reply(&self, id: CannedId) -> ChatResult<CannedReply> {
        table::get(&self.db, id)
            .await?
            .ok_or(ChatError::NotFound(NOT_FOUND))
    }

    /// Stores a new canned reply and publishes `created`.
    ///
    /// # Errors
    /// `Validation` ([`validate`], or [`MAX_REPLIES`] reached); `Conflict`
    /// ([`NAME_TAKEN`]); database errors. Nothing is stored then.
    #[tracing::instrument(skip_all)]
    pub async fn create_canned(&self, input: CannedInput) -> ChatResult<CannedReply> {
        let new = validate(input)?;
        match table::insert(&self.db, &new, MAX_REPLIES, store::now()).await? {
            CannedWrite::Stored(r) => {
                self.canned_changed(CannedAction::Created, r.id, Some(r.clone()))
                    .await;
                Ok(r)
            }
            CannedWrite::NameTaken => Err(ChatError::Conflict(NAME_TAKEN.into())),
            CannedWrite::Missing => Err(ChatError::Validation(format!(
                "at most {MAX_REPLIES} canned replies: delete one first"
            ))),
        }
    }

    /// Replaces the name and body of reply `id` and publishes `updated`.
    ///
    /// # Errors
    /// `Validation` ([`validate`]); `NotFound`; `Conflict` ([`NAME_TAKEN`]);
    /// database errors. Nothing is changed then.
    #[tracing::instrument(skip(self, input))]
    pub async fn update_canned(&self, id: CannedId, input: CannedInput) -> ChatResult<CannedReply> {
        let new = validate(input)?;
        match table::update(&self.db, id, &new, store::now()).await? {
            CannedWrite::Stored(r) => {
                self.canned_changed(CannedAction::Updated, r.id, Some(r.clone()))
                    .await;
                Ok(r)
            }
            CannedWrite::NameTaken => Err(ChatError::Conflict(NAME_TAKEN.into())),
            CannedWrite::Missing => Err(ChatError::NotFound(NOT_FOUND)),
        }
    }

    /// Deletes reply `id` and publishes `deleted`.
    ///
    /// # Errors
    /// `NotFound`; database errors.
    #[tracing::instrument(skip(self))]
    pub async fn delete_canned(&self, id: CannedId) -> ChatResult<()> {
        if !table::delete(&self.db, id).await? {
            return Err(ChatError::NotFound(NOT_FOUND));
        }
        self.canned_changed(CannedAction::Deleted, id, None).await;
        Ok(())
    }

    /// Sends canned reply `id` to the visitor of `thread_id` as the admin,
    /// through [`Chat::post`]: stored, published and forwarded like any
    /// admin message (`client_id` makes a retry idempotent, e.g. a Telegram
    /// callback query delivered twice). It is the path of a reply chosen in
    /// Telegram (the panel sends the text itself), so it is not mirrored
    /// into the thread's topic ([`PostRequest::from_telegram`]).
    ///
    /// # Errors
    /// `NotFound` for an unknown reply or thread; the errors of [`Chat::post`].
    #[tracing::instrument(skip(self, client_id))]
    pub async fn send_canned(
        &self,
        thread_id: &ThreadId,
        id: CannedId,
        client_id: Option<String>,
    ) -> ChatResult<Posted> {
        self.send_canned_as(&super::Actor::admin(), thread_id, id, client_id)
            .await
    }

    /// [`Chat::send_canned`] written by `actor` (the agent a Telegram
    /// member acts as): stored with that agent's id and name.
    ///
    /// # Errors
    /// As [`Chat::send_canned`].
    #[tracing::instrument(skip(self, actor, client_id))]
    pub async fn send_canned_as(
        &self,
        actor: &super::Actor,
        thread_id: &ThreadId,
        id: CannedId,
        client_id: Option<String>,
    ) -> ChatResult<Posted> {
        let reply = self.canned_reply(id).await?;
        self.post(
            actor,
            PostRequest {
                thread_id: Some(thread_id.to_owned()),
                text: reply.body,
                kind: crate::domain::MessageType::Text,
                file_url: None,
                client_id,
                internal: false,
                // Chosen in Telegram (its only caller): not mirrored back.
                from_telegram: true,
                telegram_link: None,
            },
        )
        .await
    }

    async fn canned_changed(&self, action: CannedAction, id: CannedId, reply: Option<CannedReply>) {
        self.events
            .publish(ChatEvent::CannedUpdated(CannedChange { action, id, reply }))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, body: &str) -> CannedInput {
        CannedInput {
            name: name.into(),
            body: body.into(),
        }
    }

    #[test]
    fn names_are_trimmed_bounded_one_line_and_keyed_in_lower_case() {
        let ok = validate(input("  Kargo İade \t", " body ")).unwrap();
        assert_eq!(ok.name, "Kargo İade");
        assert_eq!(ok.name_key, "Kargo İade".to_lowercase());
        assert_eq!(ok.body, "body");
        assert!(validate(input("   ", "b")).is_err());
        assert!(validate(input(&"ş".repeat(64), "b")).is_ok());
        assert!(validate(input(&"ş".repeat(65), "b")).is_err());
        assert!(validate(input("a\nb", "b")).is_err());
    }

    #[test]
    fn bodies_are_bounded_like_messages() {
        assert!(validate(input("n", " \n ")).is_err());
        assert!(validate(input("n", &"é".repeat(MAX_TEXT_CHARS))).is_ok());
        assert!(validate(input("n", &"x".repeat(10_000))).is_err());
    }
}
