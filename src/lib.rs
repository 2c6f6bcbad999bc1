//! sohbet: a self-hosted website live chat in one binary.
//!
//! [`App::build`] wires configuration, database, chat core, HTTP and
//! Socket.IO on one listener; [`App::run_until_stopped`] serves until the
//! shutdown future resolves. `main` and the tests start the server the same
//! way (`shared/STYLE.md`).

pub mod auth;
pub mod chat;
pub mod config;
pub mod data;
pub mod domain;
pub mod email;
pub mod flask_import;
pub mod html;
pub mod http;
pub mod i18n;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod realtime;
pub mod redact;
pub mod runtime;
pub mod server;
pub mod store;
pub mod telegram;
pub mod telemetry;

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, atomic::AtomicBool},
};

use tokio::net::TcpListener;

use crate::{
    auth::{Auth, cookies::CookiePolicy, otp_delivery::OtpDelivery},
    chat::{Chat, ChatOptions, MediaUrls},
    config::{Config, Environment},
    realtime::presence::Presence,
    store::Db,
};

/// State shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The chat core.
    pub chat: Chat,
    /// The operator's data: erase, retention, backup, audit log.
    pub data: data::Data,
    /// Secrets, sessions, OTP.
    pub auth: Auth,
    /// Cookie names and flags.
    pub cookies: Arc<CookiePolicy>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Who is online.
    pub presence: Presence,
    /// Where login codes go.
    pub otp: OtpDelivery,
    /// Ready for traffic (`/health/ready`): true once the database is open
    /// and migrated (the state is built only then), false again from the
    /// moment a shutdown begins (so a load balancer stops sending new
    /// requests while in-flight ones finish).
    pub ready: Arc<AtomicBool>,
    /// The Telegram bot, when configured.
    pub telegram: Option<telegram::Telegram>,
    /// Rate limits and caps.
    pub limits: Arc<limits::Limits>,
    /// Uploads: judging and storing files (disk or Cloudinary).
    pub media: media::Media,
    /// Digest of `static/` for cache-busting URLs.
    pub asset_version: Arc<str>,
    /// Admin sockets follow their session (logout, expiry).
    pub admin_sockets: realtime::admin_sessions::AdminSockets,
    /// Outbound email (issue 26), when `SMTP_URL` is set.
    pub mailer: Option<email::Mailer>,
    /// Whether the Redis pub/sub link is down (`/health/ready` then
    /// answers `not_ready` with the reason); never down without Redis.
    pub redis: realtime::RedisHealth,
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::OpenError),
    /// A Flask Chat database could not be upgraded, or the database is
    /// neither sohbet's nor Flask Chat's ([`flask_import::FlaskError`]).
    #[error(transparent)]
    Flask(#[from] flask_import::FlaskError),
    /// The blocked threads could not be read at start (issue 13).
    #[error("cannot read the blocked threads")]
    Blocks(#[source] chat::ChatError),
    /// The bootstrap owner could not be created at start (issue 22).
    #[error("cannot create the bootstrap owner")]
    Agents(#[source] store::StoreError),
    /// The Telegram settings are unusable.
    #[error(transparent)]
    Telegram(#[from] telegram::TelegramError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The uploads store could not be set up.
    #[error("uploads: {0}")]
    Media(#[from] media::MediaError),
    /// The Socket.IO adapter (Redis) could not be set up.
    #[error(transparent)]
    Realtime(#[from] realtime::RealtimeError),
    /// `SMTP_URL` cannot be used.
    #[error("email: {0}")]
    Email(String),
}

/// A built server, bound and migrated, not yet serving.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    io: realtime::Io,
    db: Db,
    bridge: Option<telegram::Bridge>,
    serve: server::ServeOptions,
    ready: Arc<AtomicBool>,
    /// The email outbox worker, stopped with the server.
    email_worker: Option<tokio::task::JoinHandle<()>>,
}

impl App {
    /// Opens the database (upgrading a Flask Chat one), runs migrations, binds `HOST:PORT` and builds the routes.
    ///
    /// # Errors
    /// [`BuildError`].
    #[tracing::instrument(skip_all)]
    pub async fn build(config: Config) -> Result<App, BuildError> {
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BuildError::Bind { addr, source })?;
        Self::build_with(config, listener, OtpDelivery::Log).await
    }

    /// As [`App::build`] on an already bound listener, with login codes
    /// delivered by `otp` (tests capture them through a channel).
    ///
    /// # Errors
    /// [`BuildError`].
    pub async fn build_with(
        config: Config,
        listener: TcpListener,
        otp: OtpDelivery,
    ) -> Result<App, BuildError> {
        // Upgrades a Flask Chat database in place first (issue 11).
        let (db, _) = flask_import::open(&config.database, &config.upload_dir).await?;
        let media = media::Media::new(&config)?;
        media.start_upkeep(db.clone()).await;
        let telegram = match &config.telegram {
            Some(tc) => Some(
                telegram::Telegram::new(
                    tc,
                    config.upload_dir.clone(),
                    media.clone(),
                    config.telegram_retry_base,
                )?
                .with_timezone(config.timezone),
            ),
            None => None,
        };
        let chat = Chat::start(
            db.clone(),
            ChatOptions {
                forward_to_telegram: telegram.is_some(),
                postgres_writers: config.postgres_writers,
                sqlite_inline_batch: config.sqlite_inline_batch,
                assignment: config.assignment,
                media_urls: MediaUrls {
                    cloudinary_cloud: config.cloudinary.as_ref().map(|c| c.cloud_name.clone()),
                    upload_dir: Some(config.upload_dir.clone()),
                },
                names: crate::domain::SenderNames {
                    visible_to_visitors: config.agent_names_visible,
                    support: config.admin_display_name.clone(),
                },
                email: email::schedule(&config),
                email_transcript_on_close: config
                    .email
                    .as_ref()
                    .is_some_and(|e| e.transcript_on_close),
            },
        );
        chat.load_blocks().await.map_err(BuildError::Blocks)?;
        let auth = Auth::new(&config, db.clone());
        // The bootstrap owner (ADMIN_USERNAME), and the sessions of before agents.
        auth.bootstrap_owner().await.map_err(BuildError::Agents)?;
        let config_limits = config.limits.clone();
        let config_connections = config.connections.clone();
        let static_dir = config.static_dir.clone();
        let header_read_timeout = config.header_read_timeout;
        let otp = match (&telegram, otp) {
            (Some(tg), OtpDelivery::Log) => OtpDelivery::Telegram(tg.clone()),
            (_, otp) => otp,
        };
        let mailer =
            email::Mailer::new(&config, chat.clone(), auth.clone()).map_err(BuildError::Email)?;
        let mut bridge = match (&telegram, &config.telegram) {
            (Some(tg), Some(tc)) => Some(telegram::Bridge::start(
                tg.clone(),
                tc,
                chat.clone(),
                auth.clone(),
                mailer.clone(),
                auth.derive("telegram-webhook"),
                config.trust_proxy,
            )?),
            _ => None,
        };
        let data = data::Data::new(
            db.clone(),
            chat.clone(),
            media.clone(),
            telegram.clone(),
            config.retention_days,
        );
        data.start_retention();
        let email_worker = mailer.as_ref().map(email::Mailer::start);
        let state = AppState {
            mailer,
            data,
            chat,
            auth,
            cookies: Arc::new(CookiePolicy::new(
                config.environment == Environment::Production,
            )),
            config: Arc::new(config),
            presence: Presence::default(),
            otp,
            ready: Arc::new(AtomicBool::new(true)),
            telegram,
            limits: Arc::new(
                limits::Limits::new(config_limits).with_connections(&config_connections),
            ),
            media,
            asset_version: http::pages::asset_version(&static_dir).into(),
            admin_sockets: Default::default(),
            redis: Default::default(),
        };
        let pruned = Arc::downgrade(&state.limits);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                match pruned.upgrade() {
                    Some(l) => l.prune(),
                    None => break,
                }
            }
        });
        let mut router = http::router(state.clone());
        if let Some(webhook) = bridge.as_mut().and_then(|b| b.router.take()) {
            // Outside the CSRF layer: Telegram authenticates with its secret token.
            router = router.merge(webhook);
        }
        let serve = server::ServeOptions {
            header_read_timeout,
            limits: state.limits.clone(),
            trust_proxy: state.config.trust_proxy,
            allowed_origins: state.config.allowed_origins.clone(),
            metrics: http::metrics::side_listener(&state).await?,
        };
        let ready = state.ready.clone();
        let (router, io) = realtime::attach(router, state).await?;
        Ok(App {
            listener,
            router,
            io,
            db,
            bridge,
            serve,
            ready,
            email_worker,
        })
    }

    /// The bound address (useful with port 0).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; then stops accepting, closes every
    /// socket, lets in-flight requests finish and closes the database.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let App {
            listener,
            router,
            io,
            db,
            bridge,
            serve,
            ready,
            email_worker,
        } = self;
        let addr = listener.local_addr()?;
        tracing::info!("listening on http://{addr}");
        let close_sockets = async move {
            // `/health/ready` answers 503 from now on.
            ready.store(false, std::sync::atomic::Ordering::Release);
            tracing::info!("shutting down: closing sockets, finishing requests");
            io.close().await;
        };
        server::serve(listener, router, serve, shutdown, close_sockets).await?;
        if let Some(bridge) = bridge {
            bridge.stop().await;
        }
        if let Some(worker) = email_worker {
            worker.abort();
        }
        db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
