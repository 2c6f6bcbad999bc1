//! Visitor tokens for the embed view (issue 14) and the identity hash of
//! `identify`.
//!
//! A page framed by another site cannot rely on cookies: with third-party
//! cookies blocked (Safari, Firefox, Chromium on request) the browser
//! neither stores nor sends them. The embed view therefore keeps a
//! **visitor token** in its own (partitioned) `localStorage` and sends it
//! explicitly: `Authorization: Bearer <token>` on HTTP, `auth.visitor_token`
//! in the Socket.IO handshake. Nothing is sent ambiently, so no CSRF token
//! is needed on that path, and a request carrying a token is judged by the
//! token alone (its cookies are ignored, it is never the admin).
//!
//! Format: `sv1.<thread id>.<hex HMAC-SHA256(SECRET_KEY, label + thread id)>`,
//! the label `"visitor-token:"` under `VISITOR_TOKEN_EPOCH` 0 (the default,
//! and every token issued before the setting existed) and
//! `"visitor-token:<epoch>:"` under a higher epoch. The thread id is a
//! server-chosen UUID v4 (122 random bits); the MAC (256 bits, compared in
//! constant time) makes a token unforgeable without `SECRET_KEY`, and binds
//! it to exactly one thread and one epoch. Tokens are stateless (any
//! instance sharing `SECRET_KEY` and the epoch accepts them) and do not
//! expire, like the one-year visitor cookie.
//!
//! Revocation (issue 20 item 9): raising `VISITOR_TOKEN_EPOCH` (e.g. after
//! emptying `EMBED_ORIGINS`, or after a leak) makes every token issued
//! under another epoch fail its MAC, without rotating `SECRET_KEY` (which
//! would also end admin sessions and visitor cookies). A revoked token is
//! refused like a forged one: 401 `UNAUTHORIZED` on HTTP, `auth_error` on
//! the Socket.IO handshake; the embed view then starts afresh with the
//! token its page carries. The conversations stay stored; the admin still
//! sees them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{Auth, is_visitor_id};
use crate::domain::ThreadId;

/// Prefix of every visitor token (format version 1).
pub const PREFIX: &str = "sv1.";

impl Auth {
    /// The MAC of thread `thread_id` under the configured epoch (module doc).
    fn visitor_token_mac(&self, thread_id: &str) -> super::HmacSha256 {
        match self.inner.token_epoch {
            0 => self.mac(&[b"visitor-token:", thread_id.as_bytes()]),
            epoch => self.mac(&[
                b"visitor-token:",
                epoch.to_string().as_bytes(),
                b":",
                thread_id.as_bytes(),
            ]),
        }
    }

    /// The visitor token of thread `thread_id` (see the module doc).
    pub fn visitor_token(&self, thread_id: &str) -> String {
        let mac = self.visitor_token_mac(thread_id).finalize().into_bytes();
        format!("{PREFIX}{thread_id}.{}", hex::encode(mac))
    }

    /// The thread a visitor token is bound to, when the token is one this
    /// server issued under the current `VISITOR_TOKEN_EPOCH` (checked in
    /// constant time); `None` otherwise (forged, malformed or revoked).
    pub fn verify_visitor_token(&self, token: &str) -> Option<ThreadId> {
        let rest = token.trim().strip_prefix(PREFIX)?;
        let (thread_id, mac) = rest.split_once('.')?;
        if !is_visitor_id(thread_id) {
            return None;
        }
        let raw = hex::decode(mac).ok()?;
        self.visitor_token_mac(thread_id).verify_slice(&raw).ok()?;
        ThreadId::parse(thread_id).ok()
    }
}

/// Does `user_hash` equal `hex(HMAC-SHA256(secret, user_id))` (the identity
/// hash the site's back end computes, as Intercom's and Chatwoot's identity
/// verification do)? Constant time; upper- or lower-case hex.
pub fn identity_hash_ok(secret: &[u8], user_id: &str, user_hash: &str) -> bool {
    let Ok(raw) = hex::decode(user_hash.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&raw).is_ok()
}

/// The identity hash of `user_id` under `secret`, hex (what the site's back
/// end computes; used by tests and documentation examples).
pub fn identity_hash(secret: &[u8], user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_hash_round_trip_and_refusals() {
        let h = identity_hash(b"site-secret-0123", "user-42");
        assert_eq!(h.len(), 64);
        assert!(identity_hash_ok(b"site-secret-0123", "user-42", &h));
        assert!(identity_hash_ok(
            b"site-secret-0123",
            "user-42",
            &h.to_uppercase()
        ));
        assert!(!identity_hash_ok(b"site-secret-0123", "user-43", &h));
        assert!(!identity_hash_ok(b"other-secret-000", "user-42", &h));
        assert!(!identity_hash_ok(b"site-secret-0123", "user-42", "zz"));
        assert!(!identity_hash_ok(b"site-secret-0123", "user-42", ""));
    }
}
