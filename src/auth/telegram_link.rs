//! Linking a Telegram user to an agent (issue 22 item 2): a one-time code
//! the panel asks for (`POST /api/agents/{id}/telegram-link`) and the agent
//! sends to the bot (`/link CODE`, or `/start CODE` from the link). The code
//! is [`CODE_CHARS`] characters of a 31-letter alphabet (about 59 bits)
//! from the CSPRNG, lives [`CODE_TTL_MINUTES`], is stored only as SHA-256,
//! and dies at its first use (a wrong guess costs the bot's per-user try
//! limit, `telegram::members`). Also: who a Telegram user is
//! ([`Auth::agent_by_telegram`]). Transport-free.

use chrono::TimeDelta;
use rand::RngExt;

use super::{Auth, sha256};
use crate::{
    domain::{AgentId, AgentRef},
    store::{
        self, StoreError,
        agent_links::{self, Redeemed},
    },
};

/// How long a link code lives.
pub const CODE_TTL_MINUTES: i64 = 10;
/// Characters of a link code.
pub const CODE_CHARS: usize = 12;
/// The letters of a code: lower case, without look-alikes (`0 1 i l o`).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A linked agent as Telegram sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramAgent {
    /// Who acts.
    pub agent: AgentRef,
    /// Its login name.
    pub login: String,
    /// It is disabled: it may not act.
    pub disabled: bool,
}

/// A code as typed: trimmed, lower case; `None` unless it has exactly the
/// shape of a code (so junk never reaches the database).
pub fn parse_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_lowercase();
    (code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn code_hash(code: &str) -> String {
    hex::encode(sha256(code.as_bytes()))
}

impl Auth {
    /// A new link code for agent `agent_id` (its former code dies):
    /// `(code, minutes it lives)`.
    ///
    /// # Errors
    /// Database errors (an unknown agent too).
    #[tracing::instrument(skip(self))]
    pub async fn telegram_link_code(&self, agent_id: AgentId) -> Result<String, StoreError> {
        let code: String = {
            let mut rng = rand::rng();
            (0..CODE_CHARS)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        };
        let now = store::now();
        let expires = now + TimeDelta::minutes(CODE_TTL_MINUTES);
        agent_links::issue(&self.inner.db, agent_id, &code_hash(&code), expires, now).await?;
        Ok(code)
    }

    /// Uses `code` (already [`parse_code`]d) for Telegram user `user`.
    ///
    /// # Errors
    /// Database errors; then nothing changed.
    #[tracing::instrument(skip(self, code))]
    pub async fn redeem_telegram_link(
        &self,
        code: &str,
        user: i64,
    ) -> Result<Redeemed, StoreError> {
        agent_links::redeem(&self.inner.db, &code_hash(code), user, store::now()).await
    }

    /// The agent linked to Telegram user `user`, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn agent_by_telegram(&self, user: i64) -> Result<Option<TelegramAgent>, StoreError> {
        let cred = store::agents::credentials_by_telegram(&self.inner.db, user).await?;
        Ok(cred.map(telegram_agent))
    }

    /// The bootstrap owner (`ADMIN_USERNAME`), if it exists: the user of a
    /// private admin chat.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bootstrap_agent(&self) -> Result<Option<TelegramAgent>, StoreError> {
        let cred = store::agents::credentials(&self.inner.db, &self.inner.username).await?;
        Ok(cred.map(telegram_agent))
    }
}

fn telegram_agent(cred: store::agents::Credentials) -> TelegramAgent {
    TelegramAgent {
        disabled: cred.disabled_at.is_some(),
        login: cred.login,
        agent: AgentRef {
            id: Some(cred.id),
            role: cred.role,
            display_name: cred.display_name,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_one_shape() {
        assert_eq!(parse_code(" ABCDEFGHJKMN "), Some("abcdefghjkmn".into()));
        assert_eq!(parse_code("abcdefghjkm"), None);
        assert_eq!(parse_code("abcdefghjkm0"), None);
        assert_eq!(parse_code("abcdefghjkmnp"), None);
        assert_eq!(parse_code("abcdéfghjkm"), None);
    }
}
