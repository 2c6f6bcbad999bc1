//! Secrets inside URLs, recognised in one place (issue 20 items 6 and 8):
//! which query parameters look secret, and the user-info of
//! `scheme://user:password@host`. `config::masked_url` (what
//! `check-config` and the logs show of a setting) and
//! `chat::visitors::redact_url` (what is stored and shown of a visitor's
//! page) differ only in what they do with a match. Imports nothing of the
//! crate. The widget's loader keeps its own copy of the word list in
//! JavaScript (`static/widget.js`, `static/js/embed.js`).

/// Words that make a query parameter secret when its name contains one
/// (case-insensitive, percent-decoded): tokens (`access_token`,
/// `reset_token`), codes (OAuth `code`), keys and signatures (`api_key`,
/// `X-Amz-Signature`, `sig`), passwords (`pass`, `pwd`), sessions and
/// cookies, JWTs, one-time codes, CAS tickets, SAML responses.
pub const SECRET_PARAM_WORDS: &[&str] = &[
    "token",
    "code",
    "key",
    "secret",
    "pass",
    "pwd",
    "sig",
    "auth",
    "session",
    "cookie",
    "jwt",
    "otp",
    "ticket",
    "credential",
    "nonce",
    "saml",
    "hash",
];

/// Does the raw (possibly percent-encoded) query parameter `name` contain
/// one of [`SECRET_PARAM_WORDS`]?
pub fn is_secret_param(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                decoded.push(b.to_ascii_lowercase());
                i += 3;
            }
            (b, _) => {
                decoded.push(b.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    SECRET_PARAM_WORDS
        .iter()
        .any(|w| decoded.windows(w.len()).any(|part| part == w.as_bytes()))
}

/// `query` (without its `?`) with the value of every secret-looking
/// parameter ([`is_secret_param`]) replaced by `mask`; names, order and the
/// other parameters' bytes kept.
pub fn mask_query(query: &str, mask: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(mask);
            }
            _ => out.push_str(pair),
        }
    }
    out
}

/// `url` split as `(scheme, has user-info, rest after the user-info)`:
/// the user-info ends at the last `@` before the first `/`, so a password
/// holding an unescaped `?` or `#` is still all of it. `None` for text
/// that is no `scheme://` URL (a file path).
pub fn split_user_info(url: &str) -> Option<(&str, bool, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let first_segment = &rest[..rest.find('/').unwrap_or(rest.len())];
    Some(match first_segment.rfind('@') {
        Some(at) => (scheme, true, &rest[at + 1..]),
        None => (scheme, false, rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_judged_decoded_and_case_blind() {
        for name in [
            "reset_token",
            "API_Key",
            "X-Amz-Signature",
            "reset%5F%74oken",
            "sslpassword",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["q", "page", "state", "sslmode", "application_name"] {
            assert!(!is_secret_param(name), "{name}");
        }
        assert_eq!(
            mask_query("a=1&token=x&flag&=y", "***"),
            "a=1&token=***&flag&=y"
        );
        assert_eq!(
            split_user_info("postgres://u:p@h/db"),
            Some(("postgres", true, "h/db"))
        );
        assert_eq!(split_user_info("data/chat.db"), None);
    }
}
