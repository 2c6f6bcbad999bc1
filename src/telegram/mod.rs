//! The Telegram bridge (teloxide): the admin runs the chat from Telegram.
//! An adapter over the chat core (`shared/DESIGN.md` § Architecture):
//!
//! - forwards: every visitor message is queued in `telegram_outbox` in the
//!   transaction that stores it; [`outbox`] sends them in order per thread,
//!   several due messages of a thread in one Telegram message (coalesced),
//!   threads taken round robin with a fair share per client address
//!   ([`fair`]), paced per chat ([`console::Pacer`]);
//! - topic mode: in a forum supergroup each thread gets its own topic
//!   ([`topics`]) and any admin message in it goes to that visitor;
//!   elsewhere a Telegram reply to a forwarded message (or to any linked
//!   message of that thread) becomes an admin message ([`updates`]);
//! - inline buttons under a thread's first forward (Close / Block,
//!   [`buttons`]; Canned, which lists the canned replies and sends one,
//!   [`canned`]) and the commands `/close`, `/reopen`, `/block`,
//!   `/unblock` ([`updates`]), issue 13;
//! - receipts (👌 received, 👀 seen) on the admin's answers ([`receipts`]),
//!   typing actions, and `/selftest` ([`selftest`]);
//! - login codes go to the admin chat ([`Telegram::send_otp`]);
//! - updates arrive by long polling, or by webhook when
//!   `TELEGRAM_WEBHOOK_URL` is set ([`webhook`]).
//!
//! The bot token never reaches a log: error texts pass through
//! [`Telegram::redact`]. Message content never does either: Bot API errors
//! are logged through [`Telegram::describe`], which drops Telegram's raw
//! answer (it can echo the message sent).

pub mod buttons;
mod callbacks;
pub mod canned;
mod coalesce;
pub mod console;
mod ctx;
mod edits;
pub mod fair;
pub mod format;
mod incoming;
pub mod members;
pub mod outbox;
mod parts;
pub mod receipts;
pub mod selftest;
mod send;
pub mod topics;
pub mod updates;
pub mod webhook;

use crate::domain::ThreadId;
use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use teloxide::{Bot, prelude::Requester, types::ChatId};
use tokio::{sync::watch, task::JoinHandle};

use crate::{auth::AuthError, chat::Chat, config::TelegramConfig};

/// What the last Bot API call said (`/health` `checks.telegram`).
#[derive(Debug, Default)]
pub struct Health(AtomicU8);

impl Health {
    /// Records the outcome of a Bot API call.
    pub fn record(&self, ok: bool) {
        self.0.store(if ok { 1 } else { 2 }, Ordering::Release);
    }

    /// `healthy` after a successful call, `unhealthy` after a failed one or
    /// before the first.
    pub fn status(&self) -> &'static str {
        if self.0.load(Ordering::Acquire) == 1 {
            "healthy"
        } else {
            "unhealthy"
        }
    }
}

/// The bot and the admin chat; cheap to clone.
#[derive(Clone)]
pub struct Telegram {
    /// teloxide bot on `TELEGRAM_API_URL`.
    pub bot: Bot,
    /// The admin chat.
    pub chat_id: ChatId,
    /// Last-call health.
    pub health: Arc<Health>,
    token: Arc<str>,
    /// Where local uploads live (to send media files).
    pub upload_dir: PathBuf,
    /// Upload storage, for the media the admin replies with.
    pub media: crate::media::Media,
    /// First retry delay of the outbox (doubles up to 60 s).
    pub retry_base: Duration,
    /// Topic mode, self-test, pace, typing throttle.
    pub console: Arc<console::Console>,
    /// The bot's username (from `getMe`), once known.
    username: Arc<std::sync::RwLock<Option<String>>>,
    /// `APP_TIMEZONE`: the times on a coalesced forward's lines.
    pub timezone: chrono_tz::Tz,
    /// `TELEGRAM_ADDRESS_SHARE`: the outbox's fair share ([`fair`]).
    pub address_share: u32,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("chat_id", &self.chat_id)
            .finish_non_exhaustive()
    }
}

/// Errors of building the bridge.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// `TELEGRAM_API_URL` or `TELEGRAM_WEBHOOK_URL` is not a URL.
    #[error("{0} is not a valid URL")]
    BadUrl(&'static str),
}

impl Telegram {
    /// A bot for `config` (no network yet).
    ///
    /// # Errors
    /// [`TelegramError::BadUrl`].
    pub fn new(
        config: &TelegramConfig,
        upload_dir: PathBuf,
        media: crate::media::Media,
        retry_base: Duration,
    ) -> Result<Self, TelegramError> {
        let api = reqwest::Url::parse(&config.api_url)
            .map_err(|_| TelegramError::BadUrl("TELEGRAM_API_URL"))?;
        let client = teloxide::net::default_reqwest_settings()
            .timeout(Duration::from_secs(70))
            .build()
            .map_err(|_| TelegramError::BadUrl("TELEGRAM_API_URL"))?;
        let bot = Bot::with_client(config.bot_token.clone(), client).set_api_url(api);
        Ok(Telegram {
            bot,
            chat_id: ChatId(config.chat_id),
            health: Arc::default(),
            token: config.bot_token.as_str().into(),
            upload_dir,
            media,
            retry_base,
            // A private admin chat is paced apart from a group (issue 23).
            console: Arc::new(console::Console::new(
                config.console.pace_for(config.chat_id),
            )),
            username: Arc::default(),
            timezone: chrono_tz::UTC,
            address_share: config.console.address_share,
        })
    }

    /// The same bot, showing times in `tz` (`APP_TIMEZONE`; UTC until set).
    pub fn with_timezone(mut self, tz: chrono_tz::Tz) -> Self {
        self.timezone = tz;
        self
    }

    /// Shows the visitor of `thread_id` typing in its topic
    /// (`sendChatAction(typing)`), at most once every
    /// [`console::TYPING_EVERY`] per thread; only in topic mode and for a
    /// thread that has a topic. Failures are ignored (it is a hint).
    #[tracing::instrument(skip_all)]
    pub async fn visitor_typing(&self, chat: &Chat, thread_id: &ThreadId) {
        use teloxide::payloads::SendChatActionSetters;
        if !self.console.topics_on() || !self.console.typing_due(thread_id) {
            return;
        }
        let links = chat.telegram_links();
        let Ok(Some(topic)) = links.topic_of_thread(thread_id, self.chat_id.0).await else {
            return;
        };
        let Ok(topic) = i32::try_from(topic) else {
            return;
        };
        let thread = teloxide::types::ThreadId(teloxide::types::MessageId(topic));
        if let Err(e) = self
            .bot
            .send_chat_action(self.chat_id, teloxide::types::ChatAction::Typing)
            .message_thread_id(thread)
            .await
        {
            tracing::debug!(error = %self.describe(&e), "sendChatAction failed");
        }
    }

    /// Records the bot's username from a `getMe` answer.
    pub fn set_username(&self, me: &teloxide::types::Me) {
        if let (Ok(mut u), Some(name)) = (self.username.write(), me.user.username.as_ref()) {
            *u = Some(name.clone());
        }
    }

    /// The bot's username (`t.me/<username>`): as the dispatcher's `getMe`
    /// found it, else asked now (`getMe`); `None` when Telegram does not
    /// answer or the bot has none.
    #[tracing::instrument(skip_all)]
    pub async fn username(&self) -> Option<String> {
        if let Some(u) = self.username.read().ok().and_then(|u| u.clone()) {
            return Some(u);
        }
        match self.bot.get_me().await {
            Ok(me) => {
                self.set_username(&me);
                me.user.username.clone()
            }
            Err(e) => {
                tracing::warn!(error = %self.describe(&e), "getMe failed");
                None
            }
        }
    }

    /// `text` with the bot token replaced by `<token>` (reqwest errors carry
    /// the request URL, which holds the token).
    pub fn redact(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(&*self.token, "<token>")
        }
    }

    /// A Bot API error as text for logs and `last_error`: the token
    /// redacted, and without the raw answer of an unreadable reply (teloxide
    /// quotes it, and an answer to `sendMessage` echoes the text sent — a
    /// visitor's message or a login code).
    pub fn describe(&self, e: &teloxide::RequestError) -> String {
        match e {
            teloxide::RequestError::InvalidJson { source, .. } => format!(
                "unreadable answer from the Bot API (invalid JSON at line {}, column {})",
                source.line(),
                source.column()
            ),
            other => self.redact(&other.to_string()),
        }
    }

    /// Sends `login`'s login code to its private chat `private_chat` (a
    /// linked agent: the chat id of a private chat is the user's id), else
    /// to the admin chat (`sendMessage`, no parse mode). The text says for
    /// whom the code is.
    ///
    /// # Errors
    /// [`AuthError::OtpUndelivered`] when Telegram does not take it; the code is
    /// then not logged (it would leak to whoever reads logs).
    #[tracing::instrument(skip_all)]
    pub async fn send_otp(
        &self,
        code: &str,
        minutes: u64,
        login: &str,
        private_chat: Option<i64>,
    ) -> Result<(), AuthError> {
        let text = format!(
            "🔐 Login code for {login}: {code}\nValid for {minutes} minutes, once. \
             If you did not try to log in, change your password."
        );
        let chat = private_chat.map_or(self.chat_id, ChatId);
        let res = self.bot.send_message(chat, text).await;
        self.health.record(res.is_ok());
        if res.is_err() {
            crate::metrics::telegram_error("sendMessage");
        }
        res.map(|_| ()).map_err(|e| {
            tracing::warn!(error = %self.describe(&e), "could not send the login code to Telegram");
            AuthError::OtpUndelivered
        })
    }
}

/// The running bridge: its tasks and, in webhook mode, the route to mount.
pub struct Bridge {
    /// The bot.
    pub telegram: Telegram,
    /// Webhook route (webhook mode only), to take and merge outside the CSRF
    /// layer; it holds the sender of the dispatcher's updates, so the
    /// dispatcher stops only once every copy of it is dropped.
    pub router: Option<axum::Router>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    dispatcher_stop: updates::Stopper,
}

impl Bridge {
    /// Starts the outbox worker and the update dispatcher (polling, or webhook
    /// when `webhook_url` is set; `trust_proxy` as `TRUSTED_PROXIES`, for the
    /// webhook's per-IP limit).
    ///
    /// # Errors
    /// [`TelegramError`] for a malformed webhook URL.
    pub fn start(
        telegram: Telegram,
        config: &TelegramConfig,
        chat: Chat,
        auth: crate::auth::Auth,
        mailer: Option<crate::email::Mailer>,
        webhook_secret: String,
        trust_proxy: crate::limits::TrustedProxies,
    ) -> Result<Bridge, TelegramError> {
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(outbox::run(
            telegram.clone(),
            chat.clone(),
            stop_rx.clone(),
        ))];
        let (router, listener) = match &config.webhook_url {
            Some(url) => {
                let url = reqwest::Url::parse(url)
                    .map_err(|_| TelegramError::BadUrl("TELEGRAM_WEBHOOK_URL"))?;
                let (router, listener) = webhook::route(
                    telegram.clone(),
                    url,
                    webhook_secret,
                    config.webhook_per_ip_per_minute,
                    trust_proxy,
                );
                (Some(router), Some(listener))
            }
            None => (None, None),
        };
        tasks.push(tokio::spawn(callbacks::follow(
            telegram.clone(),
            chat.clone(),
            chat.subscribe(),
        )));
        tasks.push(tokio::spawn(selftest::refresh(
            telegram.clone(),
            chat.outbox().clone(),
            stop_rx.clone(),
        )));
        let dispatcher_stop = updates::Stopper::default();
        let members =
            members::Members::new(config.console.group_members, chat.names().support.clone());
        tasks.push(tokio::spawn(updates::run(
            ctx::Ctx {
                tg: telegram.clone(),
                chat,
                auth,
                members,
                mailer,
            },
            listener,
            dispatcher_stop.clone(),
            stop_rx,
        )));
        Ok(Bridge {
            telegram,
            router,
            tasks,
            stop,
            dispatcher_stop,
        })
    }

    /// Stops the dispatcher and the outbox worker: waits at most
    /// [`updates::STOP_BUDGET`] for each, then aborts what is stuck in a Bot
    /// API call (nothing is lost: unsent parts stay in the outbox).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.dispatcher_stop.stop().await;
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(updates::STOP_BUDGET, t).await.is_err() {
                // Stuck in a Bot API call: cut it; its outbox row stays pending.
                abort.abort();
                tracing::warn!("a Telegram task did not stop in time and was aborted");
            }
        }
    }
}
