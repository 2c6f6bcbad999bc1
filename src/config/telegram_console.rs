//! Telegram console settings (issue 12): the admin chat's send pace
//! (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE`). Used by `telegram::console`.

use super::{ConfigError, whole_number};

/// How the bridge uses the admin chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Messages the bot sends to the admin chat per minute, all topics
    /// together (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE`, default 20: Telegram's
    /// limit for a bot in one group; 0 = no pacing).
    pub messages_per_minute: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            messages_per_minute: 20,
        }
    }
}

/// Reads the console settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming a variable that is not a whole number.
pub fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<ConsoleConfig, ConfigError> {
    let d = ConsoleConfig::default();
    Ok(ConsoleConfig {
        messages_per_minute: whole_number(
            var,
            "TELEGRAM_CHAT_MESSAGES_PER_MINUTE",
            d.messages_per_minute,
        )?,
    })
}
