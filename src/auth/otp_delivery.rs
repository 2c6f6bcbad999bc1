//! Where a login code goes. Without Telegram it is written to the server
//! log at WARN in one clear line (issue #2): the operator reads it there.

use tokio::sync::mpsc::UnboundedSender;

use crate::{error::AppError, telegram::Telegram};

/// How login codes reach the admin.
#[derive(Clone, Debug, Default)]
pub enum OtpDelivery {
    /// Log at WARN: `OTP for admin login (Telegram not configured): 123456`.
    #[default]
    Log,
    /// Send to the Telegram admin chat (when Telegram is configured).
    Telegram(Telegram),
    /// Hand the code to a channel (embedding and in-process tests), and log
    /// that a code was issued (without it).
    Channel(UnboundedSender<String>),
}

impl OtpDelivery {
    /// Delivers `code` (6 digits), valid for `minutes`.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when Telegram does not take it.
    pub async fn deliver(&self, code: &str, minutes: u64) -> Result<(), AppError> {
        match self {
            OtpDelivery::Log => {
                tracing::warn!("OTP for admin login (Telegram not configured): {code}");
            }
            OtpDelivery::Telegram(tg) => tg.send_otp(code, minutes).await?,
            OtpDelivery::Channel(tx) => {
                tracing::info!("OTP for admin login issued to the channel");
                let _ = tx.send(code.to_owned());
            }
        }
        Ok(())
    }
}
