//! The three signed cookies and how a request's identity is read from them
//! (shared by the HTTP extractors and the Socket.IO handshake).
//!
//! | cookie | holds | lifetime |
//! | --- | --- | --- |
//! | `sohbet_vid` | visitor id = thread id | 1 year |
//! | `sohbet_admin` | admin session token | browser session (server: 30 min idle, 12 h) |
//! | `sohbet_login` | pending login id | 5 minutes |
//!
//! In production the names carry the `__Host-` prefix and `Secure`
//! (RFC 6265bis § 4.1.3.2).

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};

use super::AuthResult;
use super::{AdminSession, Auth, is_visitor_id};
use crate::domain::ThreadId;

/// Cookie names and flags for one environment.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    /// Visitor id cookie name.
    pub visitor: &'static str,
    /// Admin session cookie name.
    pub admin: &'static str,
    /// Pending login cookie name.
    pub login: &'static str,
    /// Set `Secure` (production).
    pub secure: bool,
}

impl CookiePolicy {
    /// `__Host-` names and `Secure` when `secure`.
    pub fn new(secure: bool) -> Self {
        if secure {
            CookiePolicy {
                visitor: "__Host-sohbet_vid",
                admin: "__Host-sohbet_admin",
                login: "__Host-sohbet_login",
                secure,
            }
        } else {
            CookiePolicy {
                visitor: "sohbet_vid",
                admin: "sohbet_admin",
                login: "sohbet_login",
                secure,
            }
        }
    }

    /// A cookie with this policy's flags: `Path=/`, HttpOnly, SameSite=Lax,
    /// `Secure` in production; `max_age` in seconds (`None`: browser session).
    pub fn build(
        &self,
        name: &'static str,
        value: impl Into<String>,
        max_age: Option<i64>,
    ) -> Cookie<'static> {
        let mut c = Cookie::build((name, value.into()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure);
        if let Some(secs) = max_age {
            c = c.max_age(cookie_duration(secs));
        }
        c.build()
    }

    /// A cookie that deletes `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut c = self.build(name, String::new(), Some(0));
        c.make_removal();
        c
    }
}

fn cookie_duration(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs)
}

/// Who a request or handshake is, from its cookies.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// The browser's visitor id (= its thread id), when it has a valid cookie.
    pub visitor_id: Option<ThreadId>,
    /// The admin session, when the cookie names a live one.
    pub admin: Option<AdminSession>,
    /// The pending login id, when present.
    pub login_id: Option<String>,
}

/// Reads and verifies the signed cookies of `headers`; looks the admin session up.
///
/// # Errors
/// Database errors from the session lookup.
pub async fn identify(
    auth: &Auth,
    policy: &CookiePolicy,
    headers: &HeaderMap,
) -> AuthResult<Identity> {
    let jar = SignedCookieJar::from_headers(headers, auth.cookie_key().clone());
    let visitor_id = jar
        .get(policy.visitor)
        .map(|c| c.value().to_owned())
        .filter(|v| is_visitor_id(v))
        .and_then(|v| ThreadId::parse(v).ok());
    let admin = match jar.get(policy.admin) {
        Some(c) => auth.session(c.value()).await?,
        None => None,
    };
    let login_id = jar.get(policy.login).map(|c| c.value().to_owned());
    Ok(Identity {
        visitor_id,
        admin,
        login_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_cookies_are_host_prefixed_and_secure() {
        let p = CookiePolicy::new(true);
        let c = p.build(p.admin, "t", None);
        let s = c.to_string();
        assert!(s.starts_with("__Host-sohbet_admin=t"), "{s}");
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(s.contains(attr), "{attr} in {s}");
        }
        assert!(
            !s.contains("Domain"),
            "__Host- cookies carry no Domain: {s}"
        );
        let dev = CookiePolicy::new(false);
        let s = dev.build(dev.visitor, "v", Some(60)).to_string();
        assert!(
            s.starts_with("sohbet_vid=v") && s.contains("HttpOnly") && !s.contains("Secure"),
            "{s}"
        );
        assert!(s.contains("Max-Age=60"), "{s}");
    }
}
