//! Telegram console settings (issue 12): the admin chat's send pace
//! (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE` for a group,
//! `TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE` for a private chat, issue
//! 23), the outbox's fair share per client address
//! (`TELEGRAM_ADDRESS_SHARE`, issue 23) and who of the admin group may act
//! (`TELEGRAM_GROUP_MEMBERS`, issue 22 item 2). Used by `telegram::console`,
//! `telegram::fair` and `telegram::members`.

use super::{ConfigError, whole_number};

/// How the bridge uses the admin chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Messages the bot sends to the admin chat per minute, all topics
    /// together (`TELEGRAM_CHAT_MESSAGES_PER_MINUTE`, default 20: Telegram's
    /// limit for a bot in one group; 0 = no pacing).
    pub messages_per_minute: u32,
    /// Messages the bot sends per minute when the admin chat is a private
    /// chat (a positive chat id: a user's own chat with the bot)
    /// (`TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE`, default 60: Telegram
    /// asks for about one message a second in one chat; 0 = no pacing).
    pub private_messages_per_minute: u32,
    /// Of every `address_share` sends, the threads of one client address
    /// (an IPv4 address, an IPv6 /64) together get at most one while
    /// other addresses' forwards wait (`TELEGRAM_ADDRESS_SHARE`, default
    /// 4, at least 1; 1 = no cap, plain round robin).
    pub address_share: u32,
    /// Who of the admin group may act (`TELEGRAM_GROUP_MEMBERS`).
    pub group_members: GroupMembers,
}

impl ConsoleConfig {
    /// The pace for admin chat `chat_id`, in messages a minute: a private
    /// chat (positive id, Bot API: a private chat's id is its user's id)
    /// gets [`ConsoleConfig::private_messages_per_minute`], a group or
    /// supergroup (negative id) [`ConsoleConfig::messages_per_minute`].
    pub fn pace_for(&self, chat_id: i64) -> u32 {
        if chat_id > 0 {
            self.private_messages_per_minute
        } else {
            self.messages_per_minute
        }
    }
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
            private_messages_per_minute: 60,
            address_share: 4,
            group_members: GroupMembers::Anyone,
        }
    }
}

/// Reads the console settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming a variable that is not a whole number, a
/// `TELEGRAM_ADDRESS_SHARE` of 0, or a `TELEGRAM_GROUP_MEMBERS` other
/// than `anyone` / `linked`.
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
    let address_share = match var("TELEGRAM_ADDRESS_SHARE") {
        None => d.address_share,
        Some(v) => v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ConfigError(format!(
                "TELEGRAM_ADDRESS_SHARE must be a whole number of at least 1 \
                 (1 = no cap per address), not `{v}`"
            ))
        })?,
    };
    Ok(ConsoleConfig {
        group_members,
        messages_per_minute: whole_number(
            var,
            "TELEGRAM_CHAT_MESSAGES_PER_MINUTE",
            d.messages_per_minute,
        )?,
        private_messages_per_minute: whole_number(
            var,
            "TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE",
            d.private_messages_per_minute,
        )?,
        address_share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<ConsoleConfig, ConfigError> {
        from_vars(&|k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_pace_follows_the_kind_of_chat() {
        let d = parse(&[]).expect("defaults");
        assert_eq!((d.pace_for(-1_001_234), d.pace_for(4242)), (20, 60));
        assert_eq!(d.address_share, 4);
        let c = parse(&[
            ("TELEGRAM_CHAT_MESSAGES_PER_MINUTE", "15"),
            ("TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE", "30"),
            ("TELEGRAM_ADDRESS_SHARE", "1"),
        ])
        .expect("set");
        assert_eq!(
            (c.pace_for(-5), c.pace_for(5), c.address_share),
            (15, 30, 1)
        );
        for bad in [
            ("TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE", "fast"),
            ("TELEGRAM_ADDRESS_SHARE", "0"),
            ("TELEGRAM_ADDRESS_SHARE", "-2"),
        ] {
            let e = parse(&[bad]).expect_err("refused");
            assert!(e.0.contains(bad.0), "{e:?}");
        }
    }
}
