//! Outbound email settings (issue 26): `SMTP_URL`, `SMTP_FROM`,
//! `PUBLIC_URL`, `EMAIL_NOTIFY_DELAY_SECS`, `EMAIL_AGENT_DELAY_SECS`,
//! `EMAIL_TRANSCRIPT_ON_CLOSE`, `EMAIL_RETRY_BASE_MS`. Unset `SMTP_URL`:
//! email is off (and the pages never ask for an address). Used by
//! `crate::email`.

use std::time::Duration;

use super::{ConfigError, whole_number};

/// Email settings; present only when `SMTP_URL` is set.
#[derive(Clone)]
pub struct EmailConfig {
    /// `smtp://user:pass@host:587` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS from the start), `smtp://host:25?tls=none` (a local relay, no
    /// TLS). Holds the password: shown only through [`super::masked_url`].
    pub smtp_url: String,
    /// The `From` mailbox, e.g. `Acme Support <support@acme.example>`.
    pub from: lettre::message::Mailbox,
    /// The base of every link in an email (`PUBLIC_URL`, no trailing `/`),
    /// e.g. `https://chat.acme.example`.
    pub public_url: String,
    /// How long an agent's answer may stay unseen before the visitor is
    /// emailed (`EMAIL_NOTIFY_DELAY_SECS`, default 120).
    pub notify_delay: Duration,
    /// How long a visitor's message may wait unanswered before agents with
    /// an email (and no Telegram bridge) are told (`EMAIL_AGENT_DELAY_SECS`,
    /// default 300).
    pub agent_delay: Duration,
    /// Email the whole conversation to the visitor when an agent closes
    /// the thread (`EMAIL_TRANSCRIPT_ON_CLOSE`, default `false`).
    pub transcript_on_close: bool,
    /// First retry delay after a transient SMTP failure
    /// (`EMAIL_RETRY_BASE_MS`, default 5000; doubled per try, at most an hour).
    pub retry_base: Duration,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &super::masked_url(&self.smtp_url))
            .field("from", &self.from.to_string())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl EmailConfig {
    /// Every email setting as `(name, value)` for `sohbet check-config`,
    /// the SMTP password masked.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMTP_URL", super::masked_url(&self.smtp_url)),
            ("SMTP_FROM", self.from.to_string()),
            ("PUBLIC_URL", self.public_url.clone()),
            (
                "EMAIL_NOTIFY_DELAY_SECS",
                self.notify_delay.as_secs().to_string(),
            ),
            (
                "EMAIL_AGENT_DELAY_SECS",
                self.agent_delay.as_secs().to_string(),
            ),
            (
                "EMAIL_TRANSCRIPT_ON_CLOSE",
                self.transcript_on_close.to_string(),
            ),
            (
                "EMAIL_RETRY_BASE_MS",
                self.retry_base.as_millis().to_string(),
            ),
        ]
    }
}

/// Reads the email settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming the variable: an `SMTP_URL` that is not
/// `smtp://` / `smtps://` with a host (or has an unknown `tls=`), a missing
/// or malformed `SMTP_FROM`, a missing `PUBLIC_URL` or one that is not
/// `http(s)://`, a delay that is not a whole number, or email settings
/// without `SMTP_URL`.
pub fn from_vars(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<EmailConfig>, ConfigError> {
    let Some(smtp_url) = var("SMTP_URL") else {
        if var("SMTP_FROM").is_some() {
            return Err(ConfigError(
                "SMTP_FROM is set but SMTP_URL is not: set SMTP_URL (e.g. smtp://user:pass@host:587) or unset SMTP_FROM".into(),
            ));
        }
        return Ok(None);
    };
    check_smtp_url(&smtp_url)?;
    let from = var("SMTP_FROM").ok_or_else(|| {
        ConfigError(
            "SMTP_FROM is required with SMTP_URL, e.g. `Acme Support <support@acme.example>`"
                .into(),
        )
    })?;
    if from.chars().any(|c| c.is_control()) {
        return Err(ConfigError(
            "SMTP_FROM must not hold control characters".into(),
        ));
    }
    let from: lettre::message::Mailbox = from.parse().map_err(|e| {
        ConfigError(format!(
            "SMTP_FROM must be an address or `Name <address>`, not `{from}` ({e})"
        ))
    })?;
    let public_url = var("PUBLIC_URL")
        .ok_or_else(|| {
            ConfigError(
                "PUBLIC_URL is required with SMTP_URL: the base of the links in emails, e.g. https://chat.acme.example".into(),
            )
        })?
        .trim_end_matches('/')
        .to_owned();
    let host_ok = public_url
        .split_once("://")
        .is_some_and(|(s, rest)| (s == "https" || s == "http") && !rest.is_empty());
    if !host_ok || public_url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ConfigError(format!(
            "PUBLIC_URL must be an http:// or https:// URL, not `{public_url}`"
        )));
    }
    let secs = |name: &str, default: u64| -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(whole_number(var, name, default)?))
    };
    Ok(Some(EmailConfig {
        smtp_url,
        from,
        public_url,
        notify_delay: secs("EMAIL_NOTIFY_DELAY_SECS", 120)?,
        agent_delay: secs("EMAIL_AGENT_DELAY_SECS", 300)?,
        transcript_on_close: match var("EMAIL_TRANSCRIPT_ON_CLOSE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "EMAIL_TRANSCRIPT_ON_CLOSE must be true or false, not `{other}`"
                )));
            }
        },
        retry_base: Duration::from_millis(
            whole_number(var, "EMAIL_RETRY_BASE_MS", 5000u64)?.max(1),
        ),
    }))
}

/// Checks the shape of `SMTP_URL` (the connection itself is the
/// self-test's): scheme `smtp` or `smtps`, a host, `tls` (when given) one
/// of `none`, `opportunistic`, `required`, `wrapper`.
fn check_smtp_url(url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| {
        ConfigError(format!(
            "SMTP_URL {why}: `{}` (e.g. smtp://user:pass@host:587, smtps://user:pass@host:465, smtp://host:25?tls=none)",
            super::masked_url(url)
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("is no URL"))?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err(bad("must start with smtp:// or smtps://"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some(v) = pair.strip_prefix("tls=")
                && !matches!(v, "none" | "opportunistic" | "required" | "wrapper")
            {
                return Err(bad(
                    "has tls= other than none, opportunistic, required, wrapper",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Option<EmailConfig>, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_vars(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn unset_is_off_and_half_set_is_refused() {
        assert!(read(&[]).unwrap().is_none());
        assert!(read(&[("SMTP_FROM", "a@b.example")]).is_err());
        let e = read(&[("SMTP_URL", "smtp://h:25")]).err().unwrap();
        assert!(e.0.contains("SMTP_FROM"), "{e}");
        let e = read(&[("SMTP_URL", "smtp://h:25"), ("SMTP_FROM", "a@b.example")])
            .err()
            .unwrap();
        assert!(e.0.contains("PUBLIC_URL"), "{e}");
    }

    #[test]
    fn a_full_setting_reads_and_masks_the_password() {
        let c = read(&[
            ("SMTP_URL", "smtp://user:s3cret@mail.example:587"),
            ("SMTP_FROM", "Acme Support <support@acme.example>"),
            ("PUBLIC_URL", "https://chat.acme.example/"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.public_url, "https://chat.acme.example");
        assert_eq!(c.notify_delay, Duration::from_secs(120));
        assert_eq!(c.agent_delay, Duration::from_secs(300));
        let shown = format!("{:?} {:?}", c, c.settings());
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let base = [
            ("SMTP_FROM", "a@b.example"),
            ("PUBLIC_URL", "https://x.example"),
        ];
        for (k, v) in [
            ("SMTP_URL", "http://h"),
            ("SMTP_URL", "smtp://"),
            ("SMTP_URL", "smtp://h?tls=maybe"),
            ("SMTP_FROM", "not an address"),
            ("PUBLIC_URL", "chat.example"),
            ("EMAIL_NOTIFY_DELAY_SECS", "soon"),
            ("EMAIL_TRANSCRIPT_ON_CLOSE", "perhaps"),
        ] {
            let mut pairs: Vec<(&str, &str)> = vec![("SMTP_URL", "smtp://h:25?tls=none")];
            pairs.extend(base);
            pairs.retain(|(name, _)| *name != k);
            pairs.push((k, v));
            let e = read(&pairs)
                .err()
                .unwrap_or_else(|| panic!("{k}={v} accepted"));
            assert!(e.0.contains(k), "{k}: {e}");
        }
    }
}
