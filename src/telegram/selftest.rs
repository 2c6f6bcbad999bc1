//! `/selftest`: what the bridge needs from Telegram, checked one line at a
//! time with the fix for each failure. Run at start (and again by the
//! command); its result decides the topic mode ([`super::console`]) and is
//! shown in `/health` (`checks.telegram_bridge`) and the admin panel.
//!
//! Checks (Bot API methods): the token (`getMe`), the admin chat
//! (`getChat`: reachable, forum or not), the bot's rights
//! (`getChatMember`: admin, "Manage topics", "Delete messages"), updates
//! (`getWebhookInfo`: webhook or polling, pending updates, last error) and
//! the outbox (backlog, age of the oldest pending forward).

use chrono::{DateTime, Utc};
use serde::Serialize;
use teloxide::{
    prelude::Requester,
    types::{ChatFullInfoKind, ChatFullInfoPublicKind, ChatMemberKind, UserId},
};

use super::Telegram;
use crate::chat::outbox::Outbox;

/// One line of a self-test.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Short name, e.g. `bot token`.
    pub name: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix a failure (`None` when it passed or has no fix).
    pub fix: Option<String>,
}

/// A whole self-test: its checks, the topic mode it implies and when.
#[derive(Clone, Debug, Serialize)]
pub struct SelfTest {
    /// When it ran (UTC).
    pub at: DateTime<Utc>,
    /// Forum topics will be used (forum supergroup + "Manage topics").
    pub topic_mode: bool,
    /// Why topics are on or off, in words.
    pub topic_reason: String,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl SelfTest {
    /// Every check passed (topic mode off is not a failure).
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Records that Telegram refused to create a topic for a reason that
    /// turns topic mode off (`reason`, e.g. "the chat is not a forum"):
    /// topic mode off and a failed "topic mode" check, with the fix.
    pub fn topics_refused(&mut self, reason: &str) {
        self.topic_mode = false;
        self.topic_reason = format!("{reason}: replies need Telegram's Reply");
        self.checks.retain(|c| c.name != "topic mode");
        self.checks.push(check(
            "topic mode",
            false,
            self.topic_reason.clone(),
            Some(
                "enable Topics in the group and make the bot an admin with Manage topics, then run /selftest",
            ),
        ));
    }

    /// The Telegram message: one `✓`/`✗` line per check, the fix under each
    /// `✗`; plain text (sent without a parse mode).
    pub fn text(&self) -> String {
        let mut out = String::from("sohbet self-test\n");
        for c in &self.checks {
            let mark = if c.ok { '✓' } else { '✗' };
            out.push_str(&format!("{mark} {}: {}\n", c.name, c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("   → {fix}\n"));
            }
        }
        out.push_str(&format!(
            "Topic mode: {} ({})",
            if self.topic_mode { "on" } else { "off" },
            self.topic_reason
        ));
        out
    }
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        name,
        ok,
        detail: detail.into(),
        fix: if ok { None } else { fix.map(str::to_owned) },
    }
}

/// Runs every check against Telegram and the outbox, records the result
/// in the console (turning topic mode on or off) and returns it.
#[tracing::instrument(skip_all)]
pub async fn run(tg: &Telegram, outbox: &Outbox) -> SelfTest {
    let mut checks = Vec::new();
    let me = tg.bot.get_me().await;
    tg.health.record(me.is_ok());
    let bot_id = match &me {
        Ok(me) => {
            checks.push(check(
                "bot token",
                true,
                format!("valid (@{})", me.username()),
                None,
            ));
            Some(me.id)
        }
        Err(e) => {
            checks.push(check(
                "bot token",
                false,
                tg.describe(e),
                Some("check TELEGRAM_BOT_TOKEN (from @BotFather) and that Telegram is reachable"),
            ));
            None
        }
    };
    let (is_forum, is_group) = chat_check(tg, &mut checks).await;
    let manage_topics = match bot_id {
        Some(id) => rights_check(tg, id, is_group, &mut checks).await,
        None => false,
    };
    let (topic_mode, topic_reason) = match (is_forum, manage_topics) {
        (true, true) => (true, "forum supergroup, the bot manages topics".to_owned()),
        (true, false) => (
            false,
            "the bot lacks the Manage topics right: replies need Telegram's Reply".to_owned(),
        ),
        (false, _) if is_group => (
            false,
            "topics are not enabled in this group: replies need Telegram's Reply".to_owned(),
        ),
        (false, _) => (
            false,
            "not a forum supergroup: replies need Telegram's Reply".to_owned(),
        ),
    };
    if is_group {
        checks.push(check(
            "topic mode",
            topic_mode,
            topic_reason.clone(),
            Some(if !is_forum {
                "enable Topics in the group settings (the group becomes a forum supergroup)"
            } else {
                "make the bot an admin with Manage topics"
            }),
        ));
    }
    updates_check(tg, &mut checks).await;
    outbox_check(outbox, &mut checks).await;
    let report = SelfTest {
        at: Utc::now(),
        topic_mode,
        topic_reason,
        checks,
    };
    tg.console.set_report(report.clone());
    tracing::info!(
        topic_mode = report.topic_mode,
        all_ok = report.all_ok(),
        "Telegram self-test ran"
    );
    report
}

/// `getChat`: reachable, and forum or not. Returns (is_forum, is_group).
async fn chat_check(tg: &Telegram, checks: &mut Vec<Check>) -> (bool, bool) {
    match tg.bot.get_chat(tg.chat_id).await {
        Ok(chat) => {
            let (kind, forum, group) = match &chat.kind {
                ChatFullInfoKind::Private(_) => ("private chat", false, false),
                ChatFullInfoKind::Public(p) => match &p.kind {
                    ChatFullInfoPublicKind::Supergroup(s) => (
                        if s.is_forum {
                            "forum supergroup"
                        } else {
                            "supergroup"
                        },
                        s.is_forum,
                        true,
                    ),
                    ChatFullInfoPublicKind::Group(_) => ("group", false, true),
                    ChatFullInfoPublicKind::Channel(_) => ("channel", false, false),
                },
            };
            checks.push(check("chat", true, format!("reachable ({kind})"), None));
            (forum, group)
        }
        Err(e) => {
            checks.push(check(
                "chat",
                false,
                tg.describe(&e),
                Some(
                    "check TELEGRAM_CHAT_ID and add the bot to that chat (a private chat: press Start)",
                ),
            ));
            (false, false)
        }
    }
}

/// `getChatMember` of the bot: admin, Manage topics, Delete messages.
/// Returns whether it can manage topics. Only for groups.
async fn rights_check(tg: &Telegram, bot: UserId, is_group: bool, checks: &mut Vec<Check>) -> bool {
    if !is_group {
        return false;
    }
    match tg.bot.get_chat_member(tg.chat_id, bot).await {
        Ok(m) => {
            let (admin, topics, delete) = match &m.kind {
                ChatMemberKind::Owner(_) => (true, true, true),
                ChatMemberKind::Administrator(a) => {
                    (true, a.can_manage_topics, a.can_delete_messages)
                }
                _ => (false, false, false),
            };
            let fix = "make the bot an admin with Manage topics and Delete messages";
            checks.push(check(
                "bot is admin",
                admin,
                if admin { "yes" } else { "no" },
                Some(fix),
            ));
            checks.push(check(
                "can manage topics",
                topics,
                if topics { "yes" } else { "no" },
                Some("make the bot an admin with Manage topics"),
            ));
            checks.push(check(
                "can delete messages",
                delete,
                if delete { "yes" } else { "no" },
                Some("give the bot the Delete messages right"),
            ));
            topics
        }
        Err(e) => {
            checks.push(check(
                "bot rights",
                false,
                tg.describe(&e),
                Some("add the bot to the group"),
            ));
            false
        }
    }
}

/// `getWebhookInfo`: webhook or polling, pending updates, last error.
async fn updates_check(tg: &Telegram, checks: &mut Vec<Check>) {
    match tg.bot.get_webhook_info().await {
        Ok(info) => {
            let mode = match &info.url {
                Some(u) if !u.as_str().is_empty() => format!("webhook ({})", u.path()),
                _ => "long polling".to_owned(),
            };
            let recent_error = info
                .last_error_date
                .filter(|at| Utc::now() - *at < chrono::TimeDelta::minutes(10));
            let ok = recent_error.is_none();
            let mut detail = format!("{mode}, {} pending", info.pending_update_count);
            if let (Some(at), Some(msg)) = (info.last_error_date, &info.last_error_message) {
                detail.push_str(&format!(", last error {}: {msg}", at.format("%F %TZ")));
            }
            checks.push(check(
                "updates",
                ok,
                detail,
                Some("make TELEGRAM_WEBHOOK_URL reachable over HTTPS from Telegram"),
            ));
        }
        Err(e) => checks.push(check("updates", false, tg.describe(&e), None)),
    }
}

/// The outbox: backlog and the age of its oldest pending forward.
async fn outbox_check(outbox: &Outbox, checks: &mut Vec<Check>) {
    match outbox.backlog_age().await {
        Ok((0, _)) => checks.push(check("outbox", true, "empty", None)),
        Ok((n, oldest)) => {
            let age = oldest.map_or(0, |at| (Utc::now() - at).num_seconds().max(0));
            checks.push(check(
                "outbox",
                age < 300,
                format!("{n} pending, oldest {age} s"),
                Some("see the log for why forwards fail (Telegram down, 429, refused)"),
            ));
        }
        Err(e) => checks.push(check(
            "outbox",
            false,
            format!("database: {e}"),
            Some("check the database"),
        )),
    }
}

/// How often the self-test runs again by itself (a flaky start does not
/// leave topic mode off for long; the panel's backlog figures stay fresh).
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs the self-test every [`REFRESH_EVERY`] until `stop` turns true.
pub async fn refresh(tg: Telegram, outbox: Outbox, mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH_EVERY) => {
                let before = tg.console.topics_on();
                let report = run(&tg, &outbox).await;
                if report.topic_mode != before || !report.all_ok() {
                    tracing::warn!(report = %report.text(), "Telegram self-test changed or found problems");
                }
            }
            _ = stop.changed() => {}
        }
    }
}
