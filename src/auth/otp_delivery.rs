//! Where a login code goes. Without Telegram it is written to the server
//! log at WARN in one clear line (issue #2): the operator reads it there.
//! The login answer and page say which of the two it was (issue 21 item 7).
//!
//! With several agents (issue 22 item 1) each code says for whom it is
//! ("Login code for ayse: 123456"), and an agent with a linked Telegram
//! user (`agents.telegram_user_id`) gets its code in its own private chat
//! with the bot (for a private chat, the chat id is the user id), never in
//! the shared admin chat; when that send fails the login answers 503 (no
//! fall-back to the shared chat, which the other agents read).

use tokio::sync::mpsc::UnboundedSender;

use super::{AuthError, LoginAgent};
use crate::telegram::Telegram;

/// How login codes reach the admin.
#[derive(Clone, Debug, Default)]
pub enum OtpDelivery {
    /// Log at WARN: `OTP for admin login (Telegram not configured): 123456
    /// (login code for ayse)`.
    #[default]
    Log,
    /// Send to the Telegram admin chat (when Telegram is configured).
    Telegram(Telegram),
    /// Hand the code to a channel (embedding and in-process tests), and log
    /// that a code was issued (without it).
    Channel(UnboundedSender<String>),
}

/// `POST /admin/login`'s `message` when the code went to Telegram (the
/// Flask contract's text, `shared/DESIGN.md` § HTTP contract).
pub const ANSWER_TELEGRAM: &str = "OTP sent to Telegram";
/// `POST /admin/login`'s `message` when the code went to the server log
/// (Telegram not configured; a departure from the contract's text, which
/// would send the admin looking in Telegram for it).
pub const ANSWER_LOG: &str = "OTP written to the server log (Telegram is not configured)";

impl OtpDelivery {
    /// The code is written to the server log (Telegram is not configured):
    /// the login page then tells the admin to look there.
    pub fn in_server_log(&self) -> bool {
        matches!(self, OtpDelivery::Log)
    }

    /// The `message` of `POST /admin/login`'s answer: [`ANSWER_LOG`] for
    /// [`OtpDelivery::Log`], else [`ANSWER_TELEGRAM`] (a channel's embedder
    /// decides where the code goes; it keeps the contract's text).
    pub fn answer(&self) -> &'static str {
        if self.in_server_log() {
            ANSWER_LOG
        } else {
            ANSWER_TELEGRAM
        }
    }

    /// Delivers `code` (6 digits), valid for `minutes`, for `agent`: to its
    /// private Telegram chat when linked, else to the admin chat; or to the
    /// log or the channel.
    ///
    /// # Errors
    /// [`AuthError::OtpUndelivered`] when Telegram does not take it.
    pub async fn deliver(
        &self,
        code: &str,
        minutes: u64,
        agent: &LoginAgent,
    ) -> Result<(), AuthError> {
        let login = &agent.login;
        match self {
            OtpDelivery::Log => {
                tracing::warn!(
                    "OTP for admin login (Telegram not configured): {code} (login code for {login})"
                );
            }
            OtpDelivery::Telegram(tg) => {
                tg.send_otp(code, minutes, login, agent.telegram_user_id)
                    .await?
            }
            OtpDelivery::Channel(tx) => {
                tracing::info!(%login, "OTP for admin login issued to the channel");
                let _ = tx.send(code.to_owned());
            }
        }
        Ok(())
    }
}
