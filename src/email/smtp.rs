//! The SMTP client (lettre, tokio + rustls): one connection per email
//! (a few emails an hour need no pool), the outcome of a send classified
//! for the outbox, and the self-test (connect, EHLO, STARTTLS, AUTH).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor, address::Envelope,
    transport::smtp::Error as SmtpError,
};
use serde::Serialize;

use crate::config::EmailConfig;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The transport of `SMTP_URL`.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::Address,
    shown: String,
}

/// What a send came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted it (2xx after DATA).
    Sent,
    /// Try again later: a 4xx answer, or no connection / TLS / timeout.
    Transient(String),
    /// Never again: a 5xx answer (e.g. unknown mailbox).
    Permanent(String),
}

impl Smtp {
    /// The transport for `config` (the URL was checked when read).
    ///
    /// # Errors
    /// The URL lettre cannot use (text names no secret).
    pub fn new(config: &EmailConfig) -> Result<Smtp, String> {
        let shown = crate::config::masked_url(&config.smtp_url);
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(&config.smtp_url))
                .map_err(|e| format!("SMTP_URL {shown} cannot be used: {e}"))?
                .timeout(Some(TIMEOUT))
                .build();
        Ok(Smtp {
            transport,
            from: config.from.email.clone(),
            shown,
        })
    }

    /// Sends `raw` (a whole RFC 5322 message) to `to`.
    #[tracing::instrument(skip_all)]
    pub async fn send(&self, to: &str, raw: &str) -> Outcome {
        let rcpt: lettre::Address = match to.parse() {
            Ok(a) => a,
            Err(e) => return Outcome::Permanent(format!("not an address: {e}")),
        };
        let envelope = match Envelope::new(Some(self.from.clone()), vec![rcpt]) {
            Ok(e) => e,
            Err(e) => return Outcome::Permanent(e.to_string()),
        };
        match self.transport.send_raw(&envelope, raw.as_bytes()).await {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_permanent() => Outcome::Permanent(describe(&e)),
            Err(e) => Outcome::Transient(describe(&e)),
        }
    }

    /// The self-test: connect, EHLO, STARTTLS when asked, AUTH when the URL
    /// has credentials, NOOP, QUIT (lettre's `test_connection`), with the
    /// fix for a failure.
    pub async fn check(&self) -> SmtpCheck {
        match self.transport.test_connection().await {
            Ok(true) => SmtpCheck {
                ok: true,
                detail: format!("{}: connected, EHLO and login accepted", self.shown),
                fix: None,
            },
            Ok(false) => SmtpCheck {
                ok: false,
                detail: format!("{}: the server closed the connection", self.shown),
                fix: Some("check that SMTP_URL names an SMTP server and its port".into()),
            },
            Err(e) => SmtpCheck {
                ok: false,
                detail: format!("{}: {}", self.shown, describe(&e)),
                fix: Some(fix_for(&e)),
            },
        }
    }
}

/// The SMTP self-test line (panel, `GET /api/email/status`, `/health`).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SmtpCheck {
    /// Passed.
    pub ok: bool,
    /// What was found (no secret: the URL is masked).
    pub detail: String,
    /// How to fix a failure.
    pub fix: Option<String>,
}

/// `SMTP_URL` as lettre reads it. Ours: `smtp://` is STARTTLS (required)
/// unless `?tls=none` (plain, a local relay) or `?tls=opportunistic`;
/// `smtps://` (or `?tls=wrapper`) is TLS from the start. lettre's plain
/// `smtp://` has no TLS at all, so `tls=required` is added for it.
fn lettre_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = None;
    let mut rest: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("tls=") {
            Some(v) => tls = Some(v),
            None => rest.push(pair),
        }
    }
    let (base, tls) = match (base.split_once("://"), tls) {
        (Some(("smtp", r)), Some("wrapper")) => (format!("smtps://{r}"), None),
        (Some(("smtp", _)), None) => (base.to_owned(), Some("required")),
        (Some(("smtp", _)), Some("none")) => (base.to_owned(), None),
        (Some(("smtps", _)), _) => (base.to_owned(), None),
        (_, t) => (base.to_owned(), t),
    };
    if let Some(t) = tls {
        rest.push(if t == "required" {
            "tls=required"
        } else {
            "tls=opportunistic"
        });
    }
    if rest.is_empty() {
        base
    } else {
        format!("{base}?{}", rest.join("&"))
    }
}

/// A lettre error in words, with the server's code when there is one.
fn describe(e: &SmtpError) -> String {
    let mut s = e.to_string();
    if let Some(code) = e.status() {
        s = format!("{code} {s}");
    }
    // Never more than a line, never a credential (lettre does not echo them).
    s.replace(['\r', '\n'], " ").chars().take(300).collect()
}

/// What to do about a failed self-test.
fn fix_for(e: &SmtpError) -> String {
    let code = e.status().map(|c| c.to_string());
    match code.as_deref() {
        Some("535" | "534" | "530") => {
            "the server refused the login: check the user and password in SMTP_URL (URL-encode @ : / in them), or an app password".into()
        }
        Some(c) if c.starts_with('5') => {
            "the server refused us: check SMTP_URL's port (587 STARTTLS, 465 smtps://, 25 relay) and that this host may relay".into()
        }
        Some(_) => "the server answered with a temporary error: try again later".into(),
        None if e.is_tls() => {
            "TLS failed: use smtps:// for port 465, smtp:// (STARTTLS) for 587, or ?tls=none only for a local relay".into()
        }
        None if e.is_timeout() => {
            "no answer in time: check the host and port, and that a firewall lets this server out on it".into()
        }
        None => {
            "cannot connect: check the host and port in SMTP_URL and that the server runs (e.g. Postfix on 127.0.0.1:25)".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lettre_url;

    #[test]
    fn urls_mean_starttls_unless_told_otherwise() {
        assert_eq!(
            lettre_url("smtp://u:p@h:587"),
            "smtp://u:p@h:587?tls=required"
        );
        assert_eq!(lettre_url("smtp://h:25?tls=none"), "smtp://h:25");
        assert_eq!(
            lettre_url("smtp://h?tls=opportunistic"),
            "smtp://h?tls=opportunistic"
        );
        assert_eq!(lettre_url("smtps://u:p@h:465"), "smtps://u:p@h:465");
        assert_eq!(lettre_url("smtp://h:465?tls=wrapper"), "smtps://h:465");
    }
}
