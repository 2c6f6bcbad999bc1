//! Telegram console settings (issue 12): the admin chat's send pace
//! (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE`) and who of the admin group may act
//! (`TELEGRAM_GROUP_MEMBERS`, issue 22 item 2). Used by `telegram::console`
//! and `telegram::members`.

use super::{ConfigError, whole_number};

/// How the bridge uses the admin chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Messages the bot sends to the admin chat per minute, all topics
    /// together (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE`, default 20: Telegram's
    /// limit for a bot in one group; 0 = no pacing).
    pub messages_per_minute: u32,
    /// Who of the admin group may act (`TELEGRAM_GROUP_MEMBERS`).
    pub group_members: GroupMembers,
}

/// Who of the admin group may answer and act (`TELEGRAM_GROUP_MEMBERS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupMembers {
    /// `anyone` (default): a linked member acts as its agent, any other
    /// member as "Support" (`ADMIN_DISPLAY_NAME`).
    #[default]
    Anyone,
    /// `linked`: only members linked to an enabled agent; others are
    /// refused and nothing is done.
    Linked,
}

impl GroupMembers {
    /// The variable's value: `anyone` or `linked`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupMembers::Anyone => "anyone",
            GroupMembers::Linked => "linked",
        }
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            messages_per_minute: 20,
            group_members: GroupMembers::Anyone,
        }
    }
}

/// Reads the console settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming a variable that is not a whole number, or a
/// `TELEGRAM_GROUP_MEMBERS` other than `anyone` / `linked`.
pub fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<ConsoleConfig, ConfigError> {
    let d = ConsoleConfig::default();
    let group_members = match var("TELEGRAM_GROUP_MEMBERS")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("anyone") => GroupMembers::Anyone,
        Some("linked") => GroupMembers::Linked,
        Some(other) => {
            return Err(ConfigError(format!(
                "TELEGRAM_GROUP_MEMBERS must be anyone or linked, not `{other}`"
            )));
        }
    };
    Ok(ConsoleConfig {
        group_members,
        messages_per_minute: whole_number(
            var,
            "TELEGRAM_CHAT_MESSAGES_PER_MINUTE",
            d.messages_per_minute,
        )?,
    })
}
