//! Outbound email (issue 26), an adapter over the core like `telegram/`:
//! the SMTP client ([`smtp`]), the emails ([`compose`]), their signed
//! links ([`links`]) and the outbox worker ([`worker`]). It reads and
//! records through [`crate::chat::Chat::emails`]; the rows are scheduled
//! by the core (the group-commit writer, a transcript request, a close).
//!
//! Off when `SMTP_URL` is unset: nothing is scheduled, the worker does
//! not run, and the pages ask for no address.

pub mod compose;
pub mod links;
pub mod smtp;
pub mod worker;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{AgentId, ThreadId};
use crate::{
    auth::Auth,
    chat::Chat,
    config::{Config, EmailConfig},
    domain::{EmailSchedule, EmailThread},
};

/// What the group-commit writer schedules under `config`: answers when
/// email is on; agent alerts too when Telegram is not configured (issue 26
/// item 6: with Telegram, agents hear of visitor messages there).
pub fn schedule(config: &Config) -> EmailSchedule {
    let Some(e) = &config.email else {
        return EmailSchedule::OFF;
    };
    let delta = |d: std::time::Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
    EmailSchedule {
        answer_delay: Some(delta(e.notify_delay)),
        agent_delay: config.telegram.is_none().then(|| delta(e.agent_delay)),
    }
}

/// The email side of the server: SMTP, links, and the last self-test.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
    chat: Chat,
    smtp: smtp::Smtp,
}

struct Inner {
    config: EmailConfig,
    auth: Auth,
    timezone: chrono_tz::Tz,
    embed_origins: Vec<String>,
    last_check: Mutex<Option<(DateTime<Utc>, smtp::SmtpCheck)>>,
}

/// A [`compose::Frame`]'s owned parts.
pub(crate) struct FrameParts<'a> {
    m: &'a Mailer,
    to: String,
    /// The language.
    pub lang: compose::Lang,
    tz: chrono_tz::Tz,
    unsubscribe: String,
    row_id: crate::domain::EmailId,
}

impl FrameParts<'_> {
    pub(crate) fn frame(&self) -> compose::Frame<'_> {
        compose::Frame {
            from: &self.m.inner.config.from,
            to: &self.to,
            lang: self.lang,
            tz: self.tz,
            unsubscribe: &self.unsubscribe,
            host: self.m.host(),
            row_id: self.row_id,
        }
    }
}

impl Mailer {
    /// The mailer of `config` (`None` when email is off).
    ///
    /// # Errors
    /// An `SMTP_URL` lettre cannot use.
    pub fn new(config: &Config, chat: Chat, auth: Auth) -> Result<Option<Mailer>, String> {
        let Some(email) = &config.email else {
            return Ok(None);
        };
        Ok(Some(Mailer {
            smtp: smtp::Smtp::new(email)?,
            chat,
            inner: Arc::new(Inner {
                config: email.clone(),
                auth,
                timezone: config.timezone,
                embed_origins: config.embed.origins.clone(),
                last_check: Mutex::default(),
            }),
        }))
    }

    /// Starts the worker and a first self-test (logged).
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let m = self.clone();
        tokio::spawn(async move {
            let check = m.self_test().await;
            if check.ok {
                tracing::info!(detail = %check.detail, "SMTP self-test passed");
            } else {
                tracing::warn!(detail = %check.detail, fix = ?check.fix, "SMTP self-test failed");
            }
        });
        tokio::spawn(worker::run(self.clone()))
    }

    /// Runs the SMTP self-test now and keeps its result.
    pub async fn self_test(&self) -> smtp::SmtpCheck {
        let check = self.smtp.check().await;
        if let Ok(mut last) = self.inner.last_check.lock() {
            *last = Some((crate::store::now(), check.clone()));
        }
        check
    }

    /// The last self-test and when it ran.
    pub fn last_check(&self) -> Option<(DateTime<Utc>, smtp::SmtpCheck)> {
        self.inner.last_check.lock().ok().and_then(|l| l.clone())
    }

    /// The server's key holder (signing links).
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// `PUBLIC_URL`.
    pub fn public_url(&self) -> &str {
        &self.inner.config.public_url
    }

    /// `EMBED_ORIGINS`.
    pub fn embed_origins(&self) -> &[String] {
        &self.inner.embed_origins
    }

    /// The host of `PUBLIC_URL` (Message-IDs).
    fn host(&self) -> &str {
        let rest = self
            .public_url()
            .split_once("://")
            .map_or(self.public_url(), |(_, r)| r);
        let host = rest.split(['/', ':']).next().unwrap_or("localhost");
        if host.is_empty() { "localhost" } else { host }
    }

    fn agent_delay(&self) -> TimeDelta {
        TimeDelta::from_std(self.inner.config.agent_delay).unwrap_or(TimeDelta::MAX)
    }

    fn retry_base(&self) -> std::time::Duration {
        self.inner.config.retry_base
    }

    /// `PUBLIC_URL/c/<token>` for thread `thread_id` at link generation `generation`.
    pub fn continue_url(
        &self,
        thread_id: &ThreadId,
        generation: i32,
        now: DateTime<Utc>,
    ) -> String {
        let token = links::sign(
            self.auth(),
            links::Purpose::Continue,
            thread_id.as_str(),
            generation,
            now + links::CONTINUE_TTL,
        );
        format!("{}/c/{token}", self.public_url())
    }

    /// `PUBLIC_URL/email/unsubscribe/<token>` for a thread.
    pub fn unsubscribe_url(&self, thread_id: &ThreadId, now: DateTime<Utc>) -> String {
        let token = links::sign(
            self.auth(),
            links::Purpose::Unsubscribe,
            thread_id.as_str(),
            0,
            now + links::UNSUBSCRIBE_TTL,
        );
        format!("{}/email/unsubscribe/{token}", self.public_url())
    }

    fn agent_unsubscribe_url(&self, agent_id: AgentId, now: DateTime<Utc>) -> String {
        let token = links::sign(
            self.auth(),
            links::Purpose::AgentUnsubscribe,
            &agent_id.to_string(),
            0,
            now + links::UNSUBSCRIBE_TTL,
        );
        format!("{}/email/unsubscribe/{token}", self.public_url())
    }

    /// The panel's link to a thread.
    fn panel_url(&self, thread_id: &ThreadId) -> String {
        format!("{}/admin#{thread_id}", self.public_url())
    }

    fn frame(&self, to: &str, t: &EmailThread, row_id: crate::domain::EmailId) -> FrameParts<'_> {
        FrameParts {
            m: self,
            to: to.to_owned(),
            lang: compose::Lang::of(t.language.as_deref()),
            tz: t
                .timezone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(self.inner.timezone),
            unsubscribe: self.unsubscribe_url(&t.id, crate::store::now()),
            row_id,
        }
    }

    fn agent_frame(&self, to: &str, unsubscribe: &str) -> FrameParts<'_> {
        FrameParts {
            m: self,
            to: to.to_owned(),
            lang: compose::Lang::En,
            tz: self.inner.timezone,
            unsubscribe: unsubscribe.to_owned(),
            row_id: crate::domain::EmailId(0),
        }
    }
}
