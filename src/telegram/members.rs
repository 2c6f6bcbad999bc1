//! Who acts from Telegram (issue 22 item 2): the one function that turns
//! the sender of a message or a button press in the admin chat into the
//! agent who acts ([`acting`]), and linking a Telegram user to an agent
//! with a one-time code ([`link`], `/link CODE`, `/start CODE`).
//!
//! - A member linked to an enabled agent acts as that agent; a member
//!   linked to a disabled agent is refused ([`Refusal::Disabled`]).
//! - In a private admin chat (`TELEGRAM_CHAT_ID` is a user, the Flask
//!   set-up) an unlinked user is the bootstrap owner (`ADMIN_USERNAME`).
//! - Any other member acts as the stand-in "Support" (`ADMIN_DISPLAY_NAME`,
//!   no agent id) with `TELEGRAM_GROUP_MEMBERS=anyone` (default) and gets
//!   one hint on how to link ([`link_hint`], once per member and process,
//!   as its own message after its first message or command);
//!   with `linked` it is refused ([`Refusal::Unlinked`]) and nothing is done.
//!
//! Code tries are bounded per Telegram user ([`TRIES_BURST`], one more
//! every [`TRY_EVERY`]) and for the whole bot ([`ALL_TRIES_PER_MINUTE`]):
//! with about 59 bits per code and 10 minutes of life, guessing is hopeless.

use std::{
    collections::HashSet,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{Quota, RateLimiter};
use teloxide::types::User;

use crate::{
    auth::{Auth, telegram_link::parse_code},
    chat::Chat,
    config::GroupMembers,
    domain::{AgentRef, AgentRole},
    limits::Keyed,
    store::agent_links::Redeemed,
};

/// Link tries a Telegram user may make at once.
pub const TRIES_BURST: u32 = 5;
/// A Telegram user gets one more try this often.
pub const TRY_EVERY: Duration = Duration::from_secs(120);
/// Link tries of all users together per minute.
pub const ALL_TRIES_PER_MINUTE: u32 = 60;
/// Members remembered as hinted; beyond, no more hints (a bounded set).
const HINTED_MAX: usize = 10_000;

/// The hint an unlinked member gets once.
pub const LINK_HINT: &str = "Tip: you act here as Support. To answer under your own name, \
     open the panel (Team → Link Telegram) and send the /link code it shows.";

/// Why a member may not act.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Linked to a disabled agent.
    Disabled,
    /// Not linked, and `TELEGRAM_GROUP_MEMBERS=linked`.
    Unlinked,
    /// The agents could not be read (database): nothing was done.
    Unavailable,
}

impl Refusal {
    /// The short answer to the member.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::Disabled => "Your agent account is disabled: nothing was done.",
            Refusal::Unlinked => {
                "Only linked agents may act here. Link your Telegram account in the panel \
                 (Team → Link Telegram), then send /link CODE. Nothing was done."
            }
            Refusal::Unavailable => "Could not check who you are right now. Please try again.",
        }
    }
}

/// The members' state of one process: the policy, the try limits, who was
/// hinted.
pub struct Members {
    policy: GroupMembers,
    support: String,
    tries: Keyed<i64>,
    all_tries: Keyed<()>,
    hinted: Mutex<HashSet<i64>>,
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Members {
    /// Members under `policy`; `support` names the stand-in
    /// (`ADMIN_DISPLAY_NAME`).
    pub fn new(policy: GroupMembers, support: String) -> Arc<Members> {
        let burst = NonZeroU32::new(TRIES_BURST).unwrap_or(NonZeroU32::MIN);
        let per_user = Quota::with_period(TRY_EVERY)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(burst);
        let all = NonZeroU32::new(ALL_TRIES_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Arc::new(Members {
            policy,
            support,
            tries: RateLimiter::keyed(per_user),
            all_tries: RateLimiter::keyed(Quota::per_minute(all)),
            hinted: Mutex::new(HashSet::new()),
        })
    }

    /// The stand-in an unlinked member acts as.
    fn support(&self) -> AgentRef {
        AgentRef {
            id: None,
            role: AgentRole::Owner,
            display_name: self.support.clone(),
        }
    }

    /// Counts one link try of `user`: `false` when over its limit.
    fn try_link(&self, user: i64) -> bool {
        if self.tries.len() > HINTED_MAX {
            self.tries.retain_recent();
        }
        self.tries.check_key(&user).is_ok() && self.all_tries.check_key(&()).is_ok()
    }
}

/// A Telegram user's id as stored (`agents.telegram_user_id`).
fn user_id(u: &User) -> Option<i64> {
    i64::try_from(u.id.0).ok()
}

/// The agent the sender `user` of a message or press in the admin chat
/// acts as (see the module doc), through `auth` (the agents) and `chat`
/// (round robin's activity); `private_chat`: the admin chat is a user's
/// private chat. The one place of this rule: answers, `/note`, thread
/// commands and buttons, canned replies (and `/take`); handlers call it
/// as `Ctx::acting`.
///
/// # Errors
/// [`Refusal`]: the caller answers [`Refusal::text`] and does nothing.
pub async fn acting(
    members: &Members,
    auth: &Auth,
    chat: &Chat,
    private_chat: bool,
    user: Option<&User>,
) -> Result<AgentRef, Refusal> {
    let unavailable = |e: crate::store::StoreError| {
        tracing::warn!(error = %e, "cannot read the agent of a Telegram member");
        Refusal::Unavailable
    };
    let mut linked = match user.and_then(user_id) {
        Some(id) => auth.agent_by_telegram(id).await.map_err(unavailable)?,
        None => None,
    };
    // A private admin chat: its only user is the bootstrap owner.
    if linked.is_none() && private_chat {
        linked = auth.bootstrap_agent().await.map_err(unavailable)?;
    }
    match linked {
        Some(a) if a.disabled => Err(Refusal::Disabled),
        Some(a) => {
            // A linked agent writing or pressing in Telegram is active
            // (round robin, `ASSIGNMENT=round_robin`).
            if let Some(id) = a.agent.id {
                chat.note_agent_active(id);
            }
            Ok(a.agent)
        }
        None if members.policy == GroupMembers::Linked => Err(Refusal::Unlinked),
        None => Ok(members.support()),
    }
}

/// [`LINK_HINT`] when `agent` is the stand-in and member `user` has not
/// had it yet in this process (then it is marked as hinted).
pub fn link_hint(members: &Members, agent: &AgentRef, user: Option<&User>) -> Option<&'static str> {
    if agent.id.is_some() {
        return None;
    }
    let id = user.and_then(user_id)?;
    let mut hinted = members.hinted.lock().ok()?;
    (hinted.len() < HINTED_MAX && hinted.insert(id)).then_some(LINK_HINT)
}

/// The code of a link request in a private chat: `/start CODE`,
/// `/link CODE` (also `/link@bot CODE`); `None` for anything else.
pub fn link_request(text: &str) -> Option<&str> {
    let (head, code) = text.trim().split_once(char::is_whitespace)?;
    let cmd = head.split_once('@').map_or(head, |(c, _)| c);
    (cmd.eq_ignore_ascii_case("/start") || cmd.eq_ignore_ascii_case("/link"))
        .then(|| code.trim())
        .filter(|c| !c.is_empty())
}

/// Links Telegram user `user` with code `raw` (as typed) through `auth`
/// (the agents), counting the try against `members`' limits; returns the
/// answer: `Linked to <login>`, or why nothing changed (bad, expired or
/// used code, disabled agent, too many tries).
#[tracing::instrument(skip_all)]
pub async fn link(members: &Members, auth: &Auth, user: Option<&User>, raw: &str) -> String {
    let Some(id) = user.filter(|u| !u.is_bot).and_then(user_id) else {
        return "Send /link CODE from your own Telegram account.".into();
    };
    if !members.try_link(id) {
        return "Too many tries. Wait a few minutes, then send the code again.".into();
    }
    let Some(code) = parse_code(raw) else {
        return "That is not a link code. Ask for a new one in the panel (Team → Link Telegram)."
            .into();
    };
    match auth.redeem_telegram_link(&code, id).await {
        Ok(Redeemed::Linked { login, .. }) => {
            tracing::info!(agent = %login, "a Telegram user was linked to an agent");
            format!("Linked to {login}")
        }
        Ok(Redeemed::Unknown) => {
            "This code is unknown, used or expired. Ask for a new one in the panel.".into()
        }
        Ok(Redeemed::Disabled) => "This agent is disabled: nothing was linked.".into(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot link a Telegram user");
            "Could not link right now. Please try again.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_requests_are_start_or_link_with_a_code() {
        assert_eq!(link_request("/start abc"), Some("abc"));
        assert_eq!(link_request("/link  abc "), Some("abc"));
        assert_eq!(link_request("/LINK@sohbet_bot abc"), Some("abc"));
        assert_eq!(link_request("/start"), None);
        assert_eq!(link_request("/help abc"), None);
        assert_eq!(link_request("hello /link abc"), None);
        assert_eq!(link_request("/linked abc"), None);
    }
}
