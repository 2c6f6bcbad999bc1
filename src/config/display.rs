//! The effective settings as text, secrets masked (`sohbet check-config`).
//! Secrets (`SECRET_KEY`, `ADMIN_PASSWORD`, `TELEGRAM_BOT_TOKEN`,
//! `CLOUDINARY_API_SECRET`, `HEALTH_TOKEN`, passwords inside
//! `DATABASE_URL` / `REDIS_URL`) are never printed, only whether they are set.

use super::{Config, DatabaseConfig};

/// What a secret shows: `********` when set (not even its length), or `unset`.
fn secret(value: Option<&[u8]>) -> String {
    match value {
        Some(v) if !v.is_empty() => "********".into(),
        _ => "unset".into(),
    }
}

/// `url` with the password of its user-info replaced by `********`
/// (`postgres://user:********@host/db`); other URLs unchanged.
pub fn masked_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:********")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
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
        match &self.telegram {
            Some(t) => {
                out.push(("TELEGRAM_BOT_TOKEN", secret(Some(t.bot_token.as_bytes()))));
                out.push(("TELEGRAM_CHAT_ID", t.chat_id.to_string()));
                out.push(("TELEGRAM_API_URL", t.api_url.clone()));
                out.push((
                    "TELEGRAM_CHAT_MESSAGES_PER_MINUTE",
                    t.console.messages_per_minute.to_string(),
                ));
                out.push((
                    "TELEGRAM_WEBHOOK_URL",
                    t.webhook_url
                        .clone()
                        .unwrap_or_else(|| "unset (long polling)".into()),
                ));
            }
            None => out.push(("TELEGRAM", "off (login codes are logged)".into())),
        }
        out.push(("EMBED_ORIGINS", self.embed.origins.join(",")));
        out.push(("PRECHAT_FIELDS", self.embed.prechat_fields.join(",")));
        out.push((
            "IDENTITY_SECRET",
            secret(self.embed.identity_secret.as_deref()),
        ));
        match &self.cloudinary {
            Some(c) => {
                out.push(("CLOUDINARY_CLOUD_NAME", c.cloud_name.clone()));
                out.push(("CLOUDINARY_API_KEY", c.api_key.clone()));
                out.push((
                    "CLOUDINARY_API_SECRET",
                    secret(Some(c.api_secret.as_bytes())),
                ));
                out.push(("CLOUDINARY_API_URL", c.api_url.clone()));
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
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            masked_url("postgres://app:s3cret@db.example:5432/chat?sslmode=require"),
            "postgres://app:********@db.example:5432/chat?sslmode=require"
        );
        assert_eq!(
            masked_url("redis://:pw@h:6379/0"),
            "redis://:********@h:6379/0"
        );
        assert_eq!(masked_url("postgres://app@h/db"), "postgres://app@h/db");
        assert_eq!(masked_url("data/chat.db"), "data/chat.db");
    }
}
