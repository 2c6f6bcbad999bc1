//! Embeddable widget settings (`EMBED_ORIGINS`, `PRECHAT_FIELDS`,
//! `IDENTITY_SECRET`, `VISITOR_TOKEN_EPOCH`): parsed here, used by `http::embed` (the `/embed`
//! view's `frame-ancestors`, the pre-chat form, identity verification) and
//! `realtime::handshake` (the Socket.IO `Origin` allowlist). Described in
//! docs/embedding.md.

use super::ConfigError;

/// Who may embed the chat and what the widget asks of the visitor.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EmbedConfig {
    /// Origins (`scheme://host[:port]`, no path) whose pages may frame
    /// `/embed` and open a Socket.IO connection (`EMBED_ORIGINS`, comma
    /// separated; empty = embedding off: `/embed` answers 404).
    pub origins: Vec<String>,
    /// Fields of the pre-chat form shown before the first message
    /// (`PRECHAT_FIELDS`, a comma list of `name` and `email`; empty = no form).
    pub prechat_fields: Vec<&'static str>,
    /// Key of the identity hash the site computes for a signed-in user,
    /// `hex(HMAC-SHA256(IDENTITY_SECRET, user_id))` (`IDENTITY_SECRET`, at
    /// least 16 characters; unset = every `identify` is unverified). Secret:
    /// never logged.
    pub identity_secret: Option<Vec<u8>>,
    /// The generation of visitor tokens (`VISITOR_TOKEN_EPOCH`, a whole
    /// number 0–4294967295, default 0): bound into every token's MAC
    /// ([`crate::auth::visitor_token`]), so raising it revokes every token
    /// issued under a lower one without rotating `SECRET_KEY` (issue 20
    /// item 9). Not a secret.
    pub token_epoch: u32,
}

impl std::fmt::Debug for EmbedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedConfig")
            .field("origins", &self.origins)
            .field("prechat_fields", &self.prechat_fields)
            .field("identity_secret", &self.identity_secret.is_some())
            .field("token_epoch", &self.token_epoch)
            .finish()
    }
}

impl EmbedConfig {
    /// Is embedding on (at least one origin listed)?
    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The CSP `frame-ancestors` sources of `/embed`: the origins,
    /// space separated (`'none'` when embedding is off).
    pub fn frame_ancestors(&self) -> String {
        if self.origins.is_empty() {
            "'none'".to_owned()
        } else {
            self.origins.join(" ")
        }
    }
}

/// Is `o` an origin as browsers send it: `http(s)://host[:port]`, no path,
/// query, user info or white space?
fn is_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Reads the embed settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming the variable: an `EMBED_ORIGINS` entry that is
/// not `http(s)://host[:port]`, a `PRECHAT_FIELDS` entry other than `name`
/// or `email`, an `IDENTITY_SECRET` shorter than 16 characters, a
/// `VISITOR_TOKEN_EPOCH` that is not a whole number 0–4294967295.
pub(super) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<EmbedConfig, ConfigError> {
    let mut origins = Vec::new();
    for o in var("EMBED_ORIGINS").unwrap_or_default().split(',') {
        let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
        if o.is_empty() {
            continue;
        }
        if !is_origin(&o) {
            return Err(ConfigError(format!(
                "EMBED_ORIGINS must be a comma list of origins like https://www.example.com (no path), not `{o}`"
            )));
        }
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    let mut prechat_fields = Vec::new();
    for f in var("PRECHAT_FIELDS").unwrap_or_default().split(',') {
        let field = match f.trim().to_ascii_lowercase().as_str() {
            "" => continue,
            "name" => "name",
            "email" => "email",
            other => {
                return Err(ConfigError(format!(
                    "PRECHAT_FIELDS may list only name and email, not `{other}`"
                )));
            }
        };
        if !prechat_fields.contains(&field) {
            prechat_fields.push(field);
        }
    }
    let identity_secret = match var("IDENTITY_SECRET") {
        Some(s) if s.len() < 16 => {
            return Err(ConfigError(
                "IDENTITY_SECRET must be at least 16 characters (or unset)".into(),
            ));
        }
        s => s.map(String::into_bytes),
    };
    let token_epoch = match var("VISITOR_TOKEN_EPOCH") {
        None => 0,
        Some(e) => e.parse().map_err(|_| {
            ConfigError(format!(
                "VISITOR_TOKEN_EPOCH must be a whole number 0-4294967295, not `{e}`"
            ))
        })?,
    };
    Ok(EmbedConfig {
        origins,
        prechat_fields,
        identity_secret,
        token_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<EmbedConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_vars(|k| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    }

    #[test]
    fn the_token_epoch_is_a_whole_number_default_zero() {
        assert_eq!(parse(&[]).unwrap().token_epoch, 0);
        assert_eq!(
            parse(&[("VISITOR_TOKEN_EPOCH", "7")]).unwrap().token_epoch,
            7
        );
        for bad in ["-1", "1.5", "x", "4294967296"] {
            let e = parse(&[("VISITOR_TOKEN_EPOCH", bad)]).unwrap_err();
            assert!(
                e.0.contains("VISITOR_TOKEN_EPOCH") && e.0.contains(bad),
                "{e}"
            );
        }
    }

    #[test]
    fn origins_are_normalised_and_checked() {
        let c = parse(&[(
            "EMBED_ORIGINS",
            " https://Shop.example.com/ , http://localhost:8080,https://shop.example.com",
        )])
        .unwrap();
        assert_eq!(
            c.origins,
            vec!["https://shop.example.com", "http://localhost:8080"]
        );
        assert_eq!(
            c.frame_ancestors(),
            "https://shop.example.com http://localhost:8080"
        );
        for bad in ["shop.example.com", "https://x.com/path", "https://a b", "*"] {
            let e = parse(&[("EMBED_ORIGINS", bad)]).err().unwrap();
            assert!(e.0.contains("EMBED_ORIGINS"), "{bad}: {e}");
        }
        let off = parse(&[]).unwrap();
        assert!(!off.enabled());
        assert_eq!(off.frame_ancestors(), "'none'");
    }

    #[test]
    fn prechat_fields_and_identity_secret() {
        let c = parse(&[
            ("PRECHAT_FIELDS", "Email, name,email"),
            ("IDENTITY_SECRET", "0123456789abcdef"),
        ])
        .unwrap();
        assert_eq!(c.prechat_fields, vec!["email", "name"]);
        assert!(c.identity_secret.is_some());
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        assert!(
            parse(&[("PRECHAT_FIELDS", "phone")])
                .err()
                .unwrap()
                .0
                .contains("PRECHAT_FIELDS")
        );
        assert!(
            parse(&[("IDENTITY_SECRET", "short")])
                .err()
                .unwrap()
                .0
                .contains("IDENTITY_SECRET")
        );
    }
}
