//! The effective settings as text, secrets masked (`sohbet check-config`).
//! Secrets (`SECRET_KEY`, `ADMIN_PASSWORD`, `TELEGRAM_BOT_TOKEN`,
//! `CLOUDINARY_API_SECRET`, `HEALTH_TOKEN`, `METRICS_TOKEN`,
//! `IDENTITY_SECRET`) are never printed, only whether they are set; every
//! URL setting (`DATABASE_URL`, `REDIS_URL`, `TELEGRAM_API_URL`,
//! `TELEGRAM_WEBHOOK_URL`, `CLOUDINARY_API_URL`) is shown through
//! [`masked_url`]: no user-info, no secret-looking query value.

use super::{Config, DatabaseConfig};

/// What a secret shows: `********` when set (not even its length), or `unset`.
fn secret(value: Option<&[u8]>) -> String {
    match value {
        Some(v) if !v.is_empty() => "********".into(),
        _ => "unset".into(),
    }
}

/// What a masked part of a URL shows.
const MASK: &str = "********";

/// `url` as `sohbet check-config` and the logs may show it (issue 20 item
/// 6): its whole user-info (user name and password) replaced by `********`
/// (`postgres://********@db.example:5432/chat`), the values of
/// secret-looking query parameters too (`?sslmode=require&password=********`,
/// [`crate::redact::is_secret_param`]), and a fragment dropped to `#********`. Text that
/// is no `scheme://` URL (a file path) is shown as it is.
pub fn masked_url(url: &str) -> String {
    let Some((scheme, has_user_info, rest)) = crate::redact::split_user_info(url) else {
        return url.to_owned();
    };
    let user_info = if has_user_info {
        format!("{MASK}@")
    } else {
        String::new()
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, _)) => (r, format!("#{MASK}")),
        None => (rest, String::new()),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, format!("?{}", crate::redact::mask_query(q, MASK))),
        None => (rest, String::new()),
    };
    format!("{scheme}://{user_info}{rest}{query}{fragment}")
}

impl Config {
    /// Every effective setting as `(name, value)`, secrets masked.
    pub fn effective_settings(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = vec![
            ("APP_ENV", self.environment.as_str().into()),
            ("HOST", self.host.to_string()),
            ("PORT", self.port.to_string()),
        ];
        match &self.database {
            DatabaseConfig::Sqlite(p) => {
                out.push(("DATABASE", "sqlite".into()));
                out.push(("SQLITE_PATH", p.display().to_string()));
            }
            DatabaseConfig::Postgres(url) => {
                out.push(("DATABASE", "postgres".into()));
                out.push(("DATABASE_URL", masked_url(url)));
            }
        }
        out.push(("SECRET_KEY", secret(Some(self.secret_key.as_slice()))));
        out.push(("ADMIN_USERNAME", self.admin_username.clone()));
        out.push((
            "ADMIN_PASSWORD",
            secret(Some(self.admin_password.as_bytes())),
        ));
        out.push(("ADMIN_DISPLAY_NAME", self.admin_display_name.clone()));
        out.push(("ASSIGNMENT", self.assignment.as_str().into()));
        out.push(("AGENT_NAMES_VISIBLE", self.agent_names_visible.to_string()));
        match &self.telegram {
            Some(t) => {
                out.push(("TELEGRAM_BOT_TOKEN", secret(Some(t.bot_token.as_bytes()))));
                out.push(("TELEGRAM_CHAT_ID", t.chat_id.to_string()));
                out.push(("TELEGRAM_API_URL", masked_url(&t.api_url)));
                out.push((
                    "TELEGRAM_CHAT_MESSAGES_PER_MINUTE",
                    t.console.messages_per_minute.to_string(),
                ));
                out.push((
                    "TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE",
                    t.console.private_messages_per_minute.to_string(),
                ));
                out.push((
                    "TELEGRAM_ADDRESS_SHARE",
                    t.console.address_share.to_string(),
                ));
                out.push((
                    "TELEGRAM_GROUP_MEMBERS",
                    t.console.group_members.as_str().into(),
                ));
                out.push((
                    "TELEGRAM_WEBHOOK_URL",
                    t.webhook_url
                        .as_deref()
                        .map_or_else(|| "unset (long polling)".into(), masked_url),
                ));
            }
            None => out.push(("TELEGRAM", "off (login codes are logged)".into())),
        }
        match &self.email {
            Some(e) => out.extend(e.settings()),
            None => out.push(("SMTP_URL", "unset (email off)".into())),
        }
        out.push(("EMBED_ORIGINS", self.embed.origins.join(",")));
        out.push(("PRECHAT_FIELDS", self.embed.prechat_fields.join(",")));
        out.push((
            "IDENTITY_SECRET",
            secret(self.embed.identity_secret.as_deref()),
        ));
        out.push(("VISITOR_TOKEN_EPOCH", self.embed.token_epoch.to_string()));
        match &self.cloudinary {
            Some(c) => {
                out.push(("CLOUDINARY_CLOUD_NAME", c.cloud_name.clone()));
                out.push(("CLOUDINARY_API_KEY", c.api_key.clone()));
                out.push((
                    "CLOUDINARY_API_SECRET",
                    secret(Some(c.api_secret.as_bytes())),
                ));
                out.push(("CLOUDINARY_API_URL", masked_url(&c.api_url)));
            }
            None => out.push(("CLOUDINARY", "off (uploads on local disk)".into())),
        }
        out.push(("UPLOAD_DIR", self.upload_dir.display().to_string()));
        out.push(("STATIC_DIR", self.static_dir.display().to_string()));
        out.push(("APP_TIMEZONE", self.timezone.to_string()));
        out.push(("ALLOWED_ORIGINS", self.allowed_origins.join(",")));
        out.push(("TRUSTED_PROXIES", self.trust_proxy.to_string()));
        out.push((
            "REDIS_URL",
            self.redis_url.as_deref().map_or("unset".into(), masked_url),
        ));
        out.push(("REDIS_PREFIX", self.redis_prefix.clone()));
        out.push(("POSTGRES_WRITERS", self.postgres_writers.to_string()));
        out.push(("SQLITE_INLINE_BATCH", self.sqlite_inline_batch.to_string()));
        out.push((
            "RETENTION_DAYS",
            self.retention_days.map_or_else(
                || "off (threads are kept until erased)".into(),
                |d| format!("{d} (closed threads erased {d} days after their last activity)"),
            ),
        ));
        out.push(("FRAME_ANCESTORS", self.frame_ancestors.clone()));
        out.push((
            "HEALTH_TOKEN",
            secret(self.health_token.as_deref().map(str::as_bytes)),
        ));
        out.push((
            "METRICS_TOKEN",
            secret(self.metrics.token.as_deref().map(str::as_bytes)),
        ));
        out.push((
            "METRICS_ADDR",
            self.metrics.addr.map_or("unset".into(), |a| a.to_string()),
        ));
        out.push(("SESSION_IDLE_SECS", self.session_idle.as_secs().to_string()));
        out.push((
            "SESSION_ABSOLUTE_SECS",
            self.session_absolute.as_secs().to_string(),
        ));
        out.push((
            "HEADER_READ_TIMEOUT_SECS",
            self.header_read_timeout.as_secs().to_string(),
        ));
        out.push((
            "TELEGRAM_RETRY_BASE_MS",
            self.telegram_retry_base.as_millis().to_string(),
        ));
        out.push(("limits", format!("{:?}", self.limits)));
        out.push(("connections", format!("{:?}", self.connections)));
        out.push(("uploads", format!("{:?}", self.uploads)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_secret_parameters_in_urls_are_masked() {
        assert_eq!(
            masked_url("postgres://app:s3cret@db.example:5432/chat?sslmode=require"),
            "postgres://********@db.example:5432/chat?sslmode=require"
        );
        assert_eq!(
            masked_url("redis://:pw@h:6379/0?password=x&db=1"),
            "redis://********@h:6379/0?password=********&db=1"
        );
        assert_eq!(
            masked_url("postgres://h/db?user=app&password=hunter2&sslpassword=a%40b&PassWord=c"),
            "postgres://h/db?user=app&password=********&sslpassword=********&PassWord=********"
        );
        assert_eq!(
            masked_url("https://u:p@proxy.example/tg?access_token=t&x_api_key=k&p%61ss=q#frag"),
            "https://********@proxy.example/tg?access_token=********&x_api_key=********&p%61ss=********#********"
        );
        // A password with unescaped `?` / `#` is masked whole.
        assert_eq!(
            masked_url("postgres://u:p?w#d@h/db?sig=a@b"),
            "postgres://********@h/db?sig=********"
        );
        assert_eq!(
            masked_url("https://api.example/x?sig=a@b/c"),
            "https://api.example/x?sig=********"
        );
        assert_eq!(
            masked_url("postgres://app@h/db"),
            "postgres://********@h/db"
        );
        assert_eq!(
            masked_url("https://api.telegram.org"),
            "https://api.telegram.org"
        );
        assert_eq!(masked_url("data/chat.db"), "data/chat.db");
    }

    #[test]
    fn the_settings_show_no_url_secret() {
        let vars = [
            (
                "DATABASE_URL",
                "postgres://app:pw-db@h/db?password=pw-query",
            ),
            ("REDIS_URL", "redis://:pw-redis@h:6379/0"),
            ("TELEGRAM_BOT_TOKEN", "123:pw-bot"),
            ("TELEGRAM_CHAT_ID", "1"),
            ("TELEGRAM_API_URL", "https://tg:pw-tg@proxy.example"),
            (
                "TELEGRAM_WEBHOOK_URL",
                "https://chat.example/hook?token=pw-hook",
            ),
        ];
        let c = Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let text = format!("{:?}", c.effective_settings());
        assert!(!text.contains("pw-"), "{text}");
        assert!(text.contains("proxy.example"), "{text}");
    }
}
