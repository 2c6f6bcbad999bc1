//! Signed links in emails (issue 26 § Security): `PUBLIC_URL/c/<token>`
//! (continue the conversation) and `PUBLIC_URL/email/unsubscribe/<token>`.
//!
//! Format: `e1.<purpose>.<subject>.<generation>.<expires>.<mac>` where
//! `purpose` is `c` (continue), `u` (unsubscribe a thread) or `a`
//! (unsubscribe an agent), `subject` the thread id (a UUID) or agent id,
//! `generation` the thread's `email_link_gen` (unsubscribing and clearing
//! raise it: every older continue link dies), `expires` Unix seconds, and
//! `mac` = hex HMAC-SHA256(`SECRET_KEY`, `"email-link:" + everything before
//! it`), compared in constant time. A token is bound to one thread (or
//! agent) and one purpose: a continue token does not unsubscribe, and an
//! unsubscribe token opens no conversation.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::Mac;

use crate::auth::Auth;

/// Format prefix.
const PREFIX: &str = "e1";

/// How long a continue link works (issue 26 item 2: 30 days).
pub const CONTINUE_TTL: TimeDelta = TimeDelta::days(30);

/// How long an unsubscribe link works: a year (the `List-Unsubscribe` of
/// an old email should still work).
pub const UNSUBSCRIBE_TTL: TimeDelta = TimeDelta::days(365);

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Open the chat on the thread.
    Continue,
    /// Stop email for the thread.
    Unsubscribe,
    /// Stop `agent` emails to an agent.
    AgentUnsubscribe,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Continue => "c",
            Purpose::Unsubscribe => "u",
            Purpose::AgentUnsubscribe => "a",
        }
    }
}

/// A verified link: its subject (thread id, or agent id as text) and generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Thread id or agent id.
    pub subject: String,
    /// The generation it was issued under.
    pub generation: i32,
}

fn mac_hex(auth: &Auth, signed: &str) -> hmac::Hmac<sha2::Sha256> {
    auth.mac(&[b"email-link:", signed.as_bytes()])
}

/// A token for `purpose` on `subject` at `generation`, valid until `expires`.
pub fn sign(
    auth: &Auth,
    purpose: Purpose,
    subject: &str,
    generation: i32,
    expires: DateTime<Utc>,
) -> String {
    let signed = format!(
        "{PREFIX}.{}.{subject}.{generation}.{}",
        purpose.tag(),
        expires.timestamp()
    );
    let mac = hex::encode(mac_hex(auth, &signed).finalize().into_bytes());
    format!("{signed}.{mac}")
}

/// The subject and generation of `token` when it is one this server
/// signed for `purpose` and it has not expired at `now`; `None` for a
/// forged, malformed, foreign-purpose or expired token. The caller checks
/// the generation against the thread's.
pub fn verify(auth: &Auth, purpose: Purpose, token: &str, now: DateTime<Utc>) -> Option<Verified> {
    if token.len() > 200 {
        return None;
    }
    let (signed, mac) = token.rsplit_once('.')?;
    let mut parts = signed.split('.');
    let (Some(PREFIX), Some(tag), Some(subject), Some(generation), Some(expires), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let raw = hex::decode(mac).ok()?;
    mac_hex(auth, signed).verify_slice(&raw).ok()?;
    if tag != purpose.tag() {
        return None;
    }
    let expires: i64 = expires.parse().ok()?;
    if expires <= now.timestamp() {
        return None;
    }
    Some(Verified {
        subject: subject.to_owned(),
        generation: generation.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth() -> Auth {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").display().to_string();
        let config = crate::config::Config::from_lookup(|k| match k {
            "SQLITE_PATH" => Some(path.clone()),
            "SECRET_KEY" => Some("k".repeat(40)),
            _ => None,
        })
        .unwrap();
        let a = Auth::open_for_tests(&config).await;
        std::mem::forget(dir);
        a
    }

    #[tokio::test]
    async fn tokens_are_bound_to_purpose_subject_and_time() {
        let a = auth().await;
        let now = Utc::now();
        let t = sign(&a, Purpose::Continue, "thread-1", 3, now + CONTINUE_TTL);
        let v = verify(&a, Purpose::Continue, &t, now).unwrap();
        assert_eq!(v.subject, "thread-1");
        assert_eq!(v.generation, 3);
        // Another purpose, expired, tampered: refused.
        assert!(verify(&a, Purpose::Unsubscribe, &t, now).is_none());
        assert!(verify(&a, Purpose::Continue, &t, now + CONTINUE_TTL).is_none());
        let forged = t.replace("thread-1", "thread-2");
        assert!(verify(&a, Purpose::Continue, &forged, now).is_none());
        let longer = t.replace(".3.", ".4.");
        assert!(verify(&a, Purpose::Continue, &longer, now).is_none());
        assert!(verify(&a, Purpose::Continue, "e1.c.x.0.99999999999.00", now).is_none());
    }
}
