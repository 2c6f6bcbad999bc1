//! Configuration: one [`Config`] read from the environment (and `.env`, loaded by
//! `main`), validated once at start. No globals: tests build their own `Config`.
//!
//! Variables and defaults follow `shared/DESIGN.md` § Configuration.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use rand::RngExt;

mod cloudinary;
pub use cloudinary::CloudinaryConfig;
mod connections;
mod metrics;
pub use metrics::MetricsConfig;
mod display;
mod email;
mod embed;
mod telegram_console;
mod uploads;
use crate::limits::ConnectionConfig;
pub use display::masked_url;
pub use email::EmailConfig;
pub use embed::EmbedConfig;
pub use telegram_console::{ConsoleConfig, GroupMembers};
pub use uploads::UploadConfig;

/// Which database the `DATABASE_URL` selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// SQLite file (created with its folder when missing).
    Sqlite(PathBuf),
    /// Postgres connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

/// Run-time environment (`APP_ENV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Default: relaxed cookies, random secret allowed.
    Development,
    /// Secure cookies and start-up refusals.
    Production,
}

impl Environment {
    /// The name reported by `/health` (`"development"` / `"production"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }
}

/// Telegram bridge settings; present only when both token and chat id are set.
#[derive(Clone)]
pub struct TelegramConfig {
    /// Bot token from BotFather (secret: never logged).
    pub bot_token: String,
    /// The admin chat id.
    pub chat_id: i64,
    /// Bot API base URL (`TELEGRAM_API_URL`).
    pub api_url: String,
    /// Public webhook URL; `None` → long polling.
    pub webhook_url: Option<String>,
    /// Webhook calls accepted per client IP and minute, good or bad
    /// (`TELEGRAM_WEBHOOK_PER_IP_PER_MINUTE`, 600; 0 = no limit).
    pub webhook_per_ip_per_minute: u32,
    /// Send pace and agent names (`config/telegram_console.rs`).
    pub console: ConsoleConfig,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("chat_id", &self.chat_id)
            .field("api_url", &masked_url(&self.api_url))
            .field("webhook_url", &self.webhook_url.as_deref().map(masked_url))
            .finish_non_exhaustive()
    }
}

/// Most messages a SQLite group-commit batch may hold to be run on the
/// caller's thread by default (`SQLITE_INLINE_BATCH`, read by
/// `store::sqlite_writer`): at 1,000 msg/s a batch holds one message, and
/// handing it to the writer thread and back cost two thread wake-ups per
/// message (docs/benchmarks.md, issue 25 item 4).
pub const INLINE_BATCH: usize = 4;

/// The validated configuration of one server.
#[derive(Clone)]
pub struct Config {
    /// Listen address (`HOST`, default `0.0.0.0`).
    pub host: IpAddr,
    /// Listen port (`PORT`, default 5000; 0 picks a free port).
    pub port: u16,
    /// Database selection from `DATABASE_URL` / `SQLITE_PATH`.
    pub database: DatabaseConfig,
    /// Key material for cookie signing, CSRF tokens and OTP hashing (`SECRET_KEY`).
    pub secret_key: Vec<u8>,
    /// Admin login name (`ADMIN_USERNAME`).
    pub admin_username: String,
    /// Admin password (`ADMIN_PASSWORD`); compared in constant time, never logged.
    pub admin_password: String,
    /// Telegram settings, when configured.
    pub telegram: Option<TelegramConfig>,
    /// Local upload folder (`UPLOAD_DIR`).
    pub upload_dir: PathBuf,
    /// Cloudinary storage for uploads, when configured (`CLOUDINARY_*`).
    pub cloudinary: Option<CloudinaryConfig>,
    /// Upload body pacing, sweep of unused files, disk quota (`UPLOAD_*`).
    pub uploads: UploadConfig,
    /// Time zone used to *show* times (`APP_TIMEZONE`).
    pub timezone: chrono_tz::Tz,
    /// `APP_ENV`.
    pub environment: Environment,
    /// Extra origins allowed for Socket.IO and CORS (`ALLOWED_ORIGINS`, comma separated).
    pub allowed_origins: Vec<String>,
    /// Peers believed about the client IP in `X-Forwarded-For`
    /// (`TRUSTED_PROXIES`, or `TRUST_PROXY=true` = the `private` preset;
    /// see [`crate::limits::proxies`]).
    pub trust_proxy: crate::limits::TrustedProxies,
    /// Redis URL for the Socket.IO adapter (`REDIS_URL`): broadcasts reach
    /// the sockets of every instance. Unset: one instance, in-memory adapter.
    pub redis_url: Option<String>,
    /// Prefix of the Redis pub/sub channels (`REDIS_PREFIX`, default
    /// `sohbet`); instances sharing it share broadcasts.
    pub redis_prefix: String,
    /// Group-commit writer tasks on Postgres (`POSTGRES_WRITERS`, default
    /// 1, 1–32); a thread's messages always go to the same one. SQLite
    /// always has one. More than one only pays off with cores to spare
    /// (docs/benchmarks.md: on 2 cores, 4 writers raised p99 sixfold).
    pub postgres_writers: usize,
    /// SQLite on the current-thread runtime (one CPU, `RUNTIME_WORKERS`):
    /// a group-commit batch of at most this many messages runs on the
    /// runtime's thread when the writing connection is idle and the
    /// database unlocked, saving the hand-off to the writer thread and back
    /// (`SQLITE_INLINE_BATCH`, default
    /// [`INLINE_BATCH`], 0–64; 0: every batch
    /// goes to the writer thread).
    pub sqlite_inline_batch: usize,
    /// Folder of static assets served at `/static` (`STATIC_DIR`, default `static`).
    pub static_dir: PathBuf,
    /// How long a login code lives.
    pub otp_ttl: Duration,
    /// Wrong tries after which a login code dies.
    pub otp_max_attempts: i32,
    /// Idle lifetime of an admin session (`SESSION_IDLE_SECS`, default 1800).
    pub session_idle: Duration,
    /// Absolute lifetime of an admin session (`SESSION_ABSOLUTE_SECS`, default 43200).
    pub session_absolute: Duration,
    /// Bearer token that unlocks the details of `GET /health` for callers
    /// that are not local (`HEALTH_TOKEN`, at least 16 characters; unset:
    /// details only for local callers). Never logged.
    pub health_token: Option<String>,
    /// Rate limits and socket caps (`RATE_LIMIT_*`, `LOGIN_FAILURES_PER_HOUR`, `MAX_SOCKETS_PER_IP`).
    pub limits: crate::limits::LimitConfig,
    /// CSP `frame-ancestors` sources (`FRAME_ANCESTORS`, default `'none'`;
    /// e.g. `https://www.example.com` for a site that embeds the chat).
    pub frame_ancestors: String,
    /// How long a client may take to send its request headers, counted from
    /// the connection's start (its first byte included) and, on a kept-alive
    /// connection, from the end of the previous answer
    /// (`HEADER_READ_TIMEOUT_SECS`, default 10).
    pub header_read_timeout: Duration,
    /// First retry delay of the Telegram outbox (`TELEGRAM_RETRY_BASE_MS`, default 1000).
    pub telegram_retry_base: Duration,
    /// Connection caps, body deadline, Socket.IO session gate
    /// (`MAX_CONNECTIONS*`, `BODY_READ_TIMEOUT_SECS`, `SOCKET_*`, `MAX_*SOCKETS*`).
    pub connections: ConnectionConfig,
    /// How the admin is named to visitors in `user_online` / `user_offline`
    /// (`ADMIN_DISPLAY_NAME`, default `Support`); never the login name.
    pub admin_display_name: String,
    /// Visitors see each agent's name on its answers
    /// (`AGENT_NAMES_VISIBLE`, default `true`); `false`: every answer is
    /// `ADMIN_DISPLAY_NAME` to them (agents still see the real names).
    pub agent_names_visible: bool,
    /// `/metrics` (`METRICS_TOKEN`, `METRICS_ADDR`); off by default.
    pub metrics: MetricsConfig,
    /// The embeddable widget: `EMBED_ORIGINS`, `PRECHAT_FIELDS`, `IDENTITY_SECRET`.
    pub embed: EmbedConfig,
    /// How new threads are assigned (`ASSIGNMENT`: `manual`, the default,
    /// or `round_robin`; issue 22 item 4).
    pub assignment: crate::domain::AssignmentMode,
    /// Days a closed thread is kept after its last activity before the
    /// retention job erases it (`RETENTION_DAYS`, 1–36500; unset or 0:
    /// off, threads are kept until erased). See `docs/your-data.md`.
    pub retention_days: Option<u32>,
    /// Outbound email (`SMTP_URL`, `SMTP_FROM`, `PUBLIC_URL`, `EMAIL_*`;
    /// issue 26); `None` when `SMTP_URL` is unset: email is off.
    pub email: Option<EmailConfig>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database_kind())
            .field("admin_username", &self.admin_username)
            .field("telegram", &self.telegram)
            .field("upload_dir", &self.upload_dir)
            .field("cloudinary", &self.cloudinary)
            .field("timezone", &self.timezone)
            .field("environment", &self.environment)
            .field("allowed_origins", &self.allowed_origins)
            .field("trust_proxy", &self.trust_proxy)
            .finish_non_exhaustive()
    }
}

/// A configuration value that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

const DEFAULT_PASSWORD: &str = "admin123";

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is malformed, or, with
    /// `APP_ENV=production`, a default admin password or a `SECRET_KEY`
    /// shorter than 32 bytes.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get` (a variable name → its value).
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let environment = match var("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError(format!(
                    "APP_ENV must be `development` or `production`, not `{other}`"
                )));
            }
        };
        let host = match var("HOST") {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(h) => h
                .parse()
                .map_err(|_| ConfigError(format!("HOST must be an IP address, not `{h}`")))?,
        };
        let port = match var("PORT") {
            None => 5000,
            Some(p) => p
                .parse()
                .map_err(|_| ConfigError(format!("PORT must be a number 0-65535, not `{p}`")))?,
        };
        let database = match var("DATABASE_URL") {
            None => {
                DatabaseConfig::Sqlite(var("SQLITE_PATH").unwrap_or("data/chat.db".into()).into())
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseConfig::Postgres(url)
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
                DatabaseConfig::Sqlite(path.split('?').next().unwrap_or(path).into())
            }
            Some(_) => {
                return Err(ConfigError(
                    "DATABASE_URL must start with postgres://, postgresql:// or sqlite:".into(),
                ));
            }
        };
        let secret_key = match var("SECRET_KEY") {
            Some(k) if environment == Environment::Production && k.len() < 32 => {
                return Err(ConfigError(
                    "SECRET_KEY must be at least 32 bytes in production".into(),
                ));
            }
            Some(k) => k.into_bytes(),
            None if environment == Environment::Production => {
                return Err(ConfigError(
                    "SECRET_KEY is required in production (at least 32 random bytes)".into(),
                ));
            }
            None => {
                let mut key = vec![0u8; 64];
                rand::rng().fill(&mut key[..]);
                key
            }
        };
        let admin_password = var("ADMIN_PASSWORD").unwrap_or(DEFAULT_PASSWORD.into());
        if environment == Environment::Production && admin_password == DEFAULT_PASSWORD {
            return Err(ConfigError(
                "ADMIN_PASSWORD must be changed from the default in production".into(),
            ));
        }
        let telegram = match (var("TELEGRAM_BOT_TOKEN"), var("TELEGRAM_CHAT_ID")) {
            (Some(bot_token), Some(chat)) => Some(TelegramConfig {
                bot_token,
                chat_id: chat.parse().map_err(|_| {
                    ConfigError(format!("TELEGRAM_CHAT_ID must be an integer, not `{chat}`"))
                })?,
                api_url: var("TELEGRAM_API_URL").unwrap_or("https://api.telegram.org".into()),
                webhook_url: var("TELEGRAM_WEBHOOK_URL"),
                webhook_per_ip_per_minute: whole_number(
                    &var,
                    "TELEGRAM_WEBHOOK_PER_IP_PER_MINUTE",
                    600,
                )?,
                console: telegram_console::from_vars(&var)?,
            }),
            _ => None,
        };
        let tz_name = var("APP_TIMEZONE").unwrap_or("Europe/Istanbul".into());
        let timezone = tz_name.parse().map_err(|_| {
            ConfigError(format!(
                "APP_TIMEZONE must be an IANA time zone, not `{tz_name}`"
            ))
        })?;
        let trust_proxy = crate::limits::TrustedProxies::from_vars(
            var("TRUST_PROXY").as_deref(),
            var("TRUSTED_PROXIES").as_deref(),
        )
        .map_err(ConfigError)?;
        let num = |name: &str, default| whole_number(&var, name, default);
        let d = crate::limits::LimitConfig::default();
        let limits = crate::limits::LimitConfig {
            messages_per_session: num("RATE_LIMIT_MESSAGES_PER_MINUTE", d.messages_per_session)?,
            messages_per_ip: num("RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE", d.messages_per_ip)?,
            uploads_per_session: num("RATE_LIMIT_UPLOADS_PER_MINUTE", d.uploads_per_session)?,
            uploads_per_ip: num("RATE_LIMIT_UPLOADS_PER_IP_PER_MINUTE", d.uploads_per_ip)?,
            api_per_ip: num("RATE_LIMIT_API_PER_IP_PER_MINUTE", d.api_per_ip)?,
            events_per_ip: num("RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE", d.events_per_ip)?,
            login_failures_per_hour: num("LOGIN_FAILURES_PER_HOUR", d.login_failures_per_hour)?,
            sockets_per_ip: num("MAX_SOCKETS_PER_IP", d.sockets_per_ip)?,
            login_free_failures: num("LOGIN_FREE_FAILURES_PER_IP", d.login_free_failures)?,
        };
        let frame_ancestors = match var("FRAME_ANCESTORS") {
            None => "'none'".to_owned(),
            // `none`/`self` lose their quotes easily in .env files and shells.
            Some(v) if v == "none" || v == "self" => format!("'{v}'"),
            Some(v) => v,
        };
        if frame_ancestors
            .chars()
            .any(|c| c == ';' || c == ',' || c.is_control())
        {
            return Err(ConfigError(
                "FRAME_ANCESTORS must be space-separated CSP sources (no ; or ,)".into(),
            ));
        }
        let health_token = match var("HEALTH_TOKEN") {
            Some(t) if t.trim().len() < 16 => {
                return Err(ConfigError(
                    "HEALTH_TOKEN must be at least 16 characters (or unset)".into(),
                ));
            }
            t => t.map(|t| t.trim().to_owned()),
        };
        let header_read_timeout =
            Duration::from_secs(u64::from(num("HEADER_READ_TIMEOUT_SECS", 10)?.max(1)));
        let assignment = match var("ASSIGNMENT").as_deref() {
            None | Some("manual") => crate::domain::AssignmentMode::Manual,
            Some("round_robin") => crate::domain::AssignmentMode::RoundRobin,
            Some(other) => {
                return Err(ConfigError(format!(
                    "ASSIGNMENT must be `manual` or `round_robin`, not `{other}`"
                )));
            }
        };
        Ok(Config {
            assignment,
            connections: connections::from_vars(var)?,
            metrics: metrics::from_vars(var)?,
            embed: embed::from_vars(var)?,
            email: email::from_vars(&var)?,
            admin_display_name: var("ADMIN_DISPLAY_NAME").unwrap_or("Support".into()),
            agent_names_visible: match var("AGENT_NAMES_VISIBLE")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("true" | "1" | "yes") => true,
                Some("false" | "0" | "no") => false,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "AGENT_NAMES_VISIBLE must be true or false, not `{other}`"
                    )));
                }
            },
            limits,
            frame_ancestors,
            header_read_timeout,
            host,
            port,
            database,
            secret_key,
            admin_username: var("ADMIN_USERNAME").unwrap_or("admin".into()),
            admin_password,
            telegram,
            upload_dir: var("UPLOAD_DIR").unwrap_or("uploads".into()).into(),
            cloudinary: cloudinary::from_vars(var)?,
            uploads: uploads::from_vars(var)?,
            timezone,
            environment,
            allowed_origins: var("ALLOWED_ORIGINS")
                .map(|s| {
                    s.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            trust_proxy,
            redis_url: var("REDIS_URL"),
            redis_prefix: var("REDIS_PREFIX").unwrap_or("sohbet".into()),
            retention_days: match whole_number(&var, "RETENTION_DAYS", 0u32)? {
                0 => None,
                n @ 1..=36500 => Some(n),
                n => {
                    return Err(ConfigError(format!(
                        "RETENTION_DAYS must be between 1 and 36500 (0 = off), not {n}"
                    )));
                }
            },
            postgres_writers: match whole_number(&var, "POSTGRES_WRITERS", 1usize)? {
                n @ 1..=32 => n,
                n => {
                    return Err(ConfigError(format!(
                        "POSTGRES_WRITERS must be between 1 and 32, not {n}"
                    )));
                }
            },
            sqlite_inline_batch: match whole_number(&var, "SQLITE_INLINE_BATCH", INLINE_BATCH)? {
                n @ 0..=64 => n,
                n => {
                    return Err(ConfigError(format!(
                        "SQLITE_INLINE_BATCH must be between 0 and 64, not {n}"
                    )));
                }
            },
            static_dir: var("STATIC_DIR").unwrap_or("static".into()).into(),
            otp_ttl: Duration::from_secs(5 * 60),
            otp_max_attempts: 5,
            session_idle: Duration::from_secs(u64::from(num("SESSION_IDLE_SECS", 30 * 60)?.max(1))),
            session_absolute: Duration::from_secs(u64::from(
                num("SESSION_ABSOLUTE_SECS", 12 * 3600)?.max(1),
            )),
            health_token,
            telegram_retry_base: Duration::from_millis(match var("TELEGRAM_RETRY_BASE_MS") {
                None => 1000,
                Some(v) => v.parse().map_err(|_| {
                    ConfigError(format!(
                        "TELEGRAM_RETRY_BASE_MS must be milliseconds, not `{v}`"
                    ))
                })?,
            }),
        })
    }

    /// `"sqlite"` or `"postgres"`, for logs.
    pub fn database_kind(&self) -> &'static str {
        match self.database {
            DatabaseConfig::Sqlite(_) => "sqlite",
            DatabaseConfig::Postgres(_) => "postgres",
        }
    }
}

/// Reads `name` through `var` as a whole number (`0` usually means off),
/// or `default` when it is unset.
///
/// # Errors
/// [`ConfigError`] naming the variable when its value is not a whole number
/// of the type asked for.
pub(crate) fn whole_number<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ConfigError(format!(
                "{name} must be a whole number (0 = off), not `{v}`"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_select_sqlite_and_port_5000() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 5000);
        assert_eq!(c.database, DatabaseConfig::Sqlite("data/chat.db".into()));
        assert_eq!(c.timezone, chrono_tz::Europe::Istanbul);
        assert_eq!(c.secret_key.len(), 64);
    }

    #[test]
    fn retention_is_off_unless_set() {
        assert_eq!(cfg(&[]).unwrap().retention_days, None);
        assert_eq!(
            cfg(&[("RETENTION_DAYS", "0")]).unwrap().retention_days,
            None
        );
        assert_eq!(
            cfg(&[("RETENTION_DAYS", "90")]).unwrap().retention_days,
            Some(90)
        );
        for bad in ["-1", "abc", "36501", "1.5"] {
            let e = cfg(&[("RETENTION_DAYS", bad)]).unwrap_err();
            assert!(e.0.contains("RETENTION_DAYS"), "{e}");
        }
    }

    #[test]
    fn postgres_writers_between_1_and_32() {
        assert_eq!(cfg(&[]).unwrap().postgres_writers, 1);
        assert_eq!(
            cfg(&[("POSTGRES_WRITERS", "8")]).unwrap().postgres_writers,
            8
        );
        for bad in ["0", "33", "four"] {
            let e = cfg(&[("POSTGRES_WRITERS", bad)]).unwrap_err();
            assert!(e.0.contains("POSTGRES_WRITERS"), "{bad}: {}", e.0);
        }
    }

    #[test]
    fn postgres_urls_select_postgres() {
        for url in ["postgres://u@h/db", "postgresql://u@h/db"] {
            let c = cfg(&[("DATABASE_URL", url)]).unwrap();
            assert_eq!(c.database, DatabaseConfig::Postgres(url.into()));
        }
        assert!(cfg(&[("DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn production_refuses_default_password_and_short_secret() {
        let long = "k".repeat(32);
        let e = cfg(&[("APP_ENV", "production"), ("SECRET_KEY", &long)])
            .err()
            .unwrap();
        assert!(e.0.contains("ADMIN_PASSWORD"), "{e}");
        let e = cfg(&[
            ("APP_ENV", "production"),
            ("ADMIN_PASSWORD", "s3cret-long"),
            ("SECRET_KEY", "short"),
        ])
        .err()
        .unwrap();
        assert!(e.0.contains("SECRET_KEY"), "{e}");
        assert!(
            cfg(&[
                ("APP_ENV", "production"),
                ("ADMIN_PASSWORD", "x"),
                ("SECRET_KEY", &long)
            ])
            .is_ok()
        );
    }

    #[test]
    fn assignment_is_manual_unless_round_robin() {
        use crate::domain::AssignmentMode;
        assert_eq!(cfg(&[]).unwrap().assignment, AssignmentMode::Manual);
        assert_eq!(
            cfg(&[("ASSIGNMENT", "round_robin")]).unwrap().assignment,
            AssignmentMode::RoundRobin
        );
        let e = cfg(&[("ASSIGNMENT", "random")]).err().unwrap();
        assert!(e.0.contains("ASSIGNMENT"), "{e}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert!(cfg(&[("PORT", "http")]).err().unwrap().0.contains("PORT"));
        assert!(
            cfg(&[("APP_TIMEZONE", "Mars/Base")])
                .err()
                .unwrap()
                .0
                .contains("APP_TIMEZONE")
        );
    }
}
