//! Cloudinary settings (`CLOUDINARY_URL`, or `CLOUDINARY_CLOUD_NAME` /
//! `_API_KEY` / `_API_SECRET`, plus `CLOUDINARY_API_URL`): parsed here,
//! used by `media::cloudinary`. The API secret never appears in `Debug`.

use super::ConfigError;

/// Default upload API base (`CLOUDINARY_API_URL`).
pub const DEFAULT_API_URL: &str = "https://api.cloudinary.com";
/// Where delivery URLs are fetched from unless `CLOUDINARY_DELIVERY_URL` says otherwise.
pub const DEFAULT_DELIVERY_URL: &str = "https://res.cloudinary.com";

/// Cloudinary account settings; present only when fully configured.
#[derive(Clone)]
pub struct CloudinaryConfig {
    /// Cloud name (the `<cloud>` of `res.cloudinary.com/<cloud>/…`).
    pub cloud_name: String,
    /// API key (public; sent with every upload).
    pub api_key: String,
    /// API secret (signs uploads; never sent, never logged).
    pub api_secret: String,
    /// Upload API base without a trailing `/` (`CLOUDINARY_API_URL`).
    pub api_url: String,
    /// Where delivery URLs (`https://res.cloudinary.com/<cloud>/…`) are
    /// fetched from by an export, without a trailing `/`
    /// (`CLOUDINARY_DELIVERY_URL`, default `https://res.cloudinary.com`;
    /// a test double).
    pub delivery_url: String,
}

impl std::fmt::Debug for CloudinaryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudinaryConfig")
            .field("cloud_name", &self.cloud_name)
            .field("api_key", &self.api_key)
            .field("api_url", &super::masked_url(&self.api_url))
            .field("delivery_url", &super::masked_url(&self.delivery_url))
            .finish_non_exhaustive()
    }
}

/// Reads the Cloudinary settings through `var` (trimmed, empty = unset).
///
/// `CLOUDINARY_URL` (`cloudinary://<api_key>:<api_secret>@<cloud_name>`, a
/// `?query` is ignored) wins over the three separate variables; those must
/// be set all together or not at all.
///
/// # Errors
/// [`ConfigError`] for a malformed `CLOUDINARY_URL` or a partial set of the
/// three variables (the message names what is missing, never the secret).
pub(super) fn from_vars(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<CloudinaryConfig>, ConfigError> {
    let api_url = var("CLOUDINARY_API_URL")
        .unwrap_or(DEFAULT_API_URL.into())
        .trim_end_matches('/')
        .to_owned();
    let delivery_url = var("CLOUDINARY_DELIVERY_URL")
        .unwrap_or(DEFAULT_DELIVERY_URL.into())
        .trim_end_matches('/')
        .to_owned();
    if let Some(url) = var("CLOUDINARY_URL") {
        let (api_key, api_secret, cloud_name) = parse_url(&url)?;
        return Ok(Some(CloudinaryConfig {
            cloud_name,
            api_key,
            api_secret,
            api_url,
            delivery_url,
        }));
    }
    let names = [
        "CLOUDINARY_CLOUD_NAME",
        "CLOUDINARY_API_KEY",
        "CLOUDINARY_API_SECRET",
    ];
    match names.map(&var) {
        [None, None, None] => Ok(None),
        [Some(cloud_name), Some(api_key), Some(api_secret)] => {
            if !is_cloud_name(&cloud_name) {
                return Err(ConfigError(format!(
                    "CLOUDINARY_CLOUD_NAME must be letters, digits, `-` or `_`, not `{cloud_name}`"
                )));
            }
            Ok(Some(CloudinaryConfig {
                cloud_name,
                api_key,
                api_secret,
                api_url,
                delivery_url,
            }))
        }
        some => {
            let missing: Vec<&str> = names
                .iter()
                .zip(some.iter())
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| *n)
                .collect();
            Err(ConfigError(format!(
                "Cloudinary needs CLOUDINARY_CLOUD_NAME, _API_KEY and _API_SECRET together; missing {}",
                missing.join(", ")
            )))
        }
    }
}

/// Splits `cloudinary://<api_key>:<api_secret>@<cloud_name>[?…]` into
/// `(api_key, api_secret, cloud_name)`.
fn parse_url(url: &str) -> Result<(String, String, String), ConfigError> {
    let bad = || {
        ConfigError(
            "CLOUDINARY_URL must look like cloudinary://<api_key>:<api_secret>@<cloud_name>".into(),
        )
    };
    let rest = url.strip_prefix("cloudinary://").ok_or_else(bad)?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    // The secret may not contain `@`, the cloud name never does: split at the last one.
    let (creds, cloud) = rest.rsplit_once('@').ok_or_else(bad)?;
    let (key, secret) = creds.split_once(':').ok_or_else(bad)?;
    let cloud = cloud.trim_end_matches('/');
    if key.is_empty() || secret.is_empty() || !is_cloud_name(cloud) {
        return Err(bad());
    }
    Ok((key.to_owned(), secret.to_owned(), cloud.to_owned()))
}

/// Cloud names are used in URLs and paths: letters, digits, `-`, `_`.
fn is_cloud_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<CloudinaryConfig>, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        from_vars(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn unset_means_local_disk() {
        assert!(parse(&[]).unwrap().is_none());
    }

    #[test]
    fn cloudinary_url_gives_key_secret_and_cloud() {
        let c = parse(&[("CLOUDINARY_URL", "cloudinary://123456:s3cr-et_X@my-cloud")])
            .unwrap()
            .unwrap();
        assert_eq!(c.api_key, "123456");
        assert_eq!(c.api_secret, "s3cr-et_X");
        assert_eq!(c.cloud_name, "my-cloud");
        assert_eq!(c.api_url, DEFAULT_API_URL);
        let c = parse(&[
            ("CLOUDINARY_URL", "cloudinary://k:s@cloud?secure=true"),
            ("CLOUDINARY_API_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.cloud_name, "cloud");
        assert_eq!(c.api_url, "http://127.0.0.1:9");
    }

    #[test]
    fn cloudinary_url_wins_over_the_three_variables() {
        let c = parse(&[
            ("CLOUDINARY_URL", "cloudinary://k:s@from-url"),
            ("CLOUDINARY_CLOUD_NAME", "from-vars"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.cloud_name, "from-url");
    }

    #[test]
    fn malformed_urls_are_refused_without_echoing_the_secret() {
        for bad in [
            "https://k:s@cloud",
            "cloudinary://k@cloud",
            "cloudinary://:s@cloud",
            "cloudinary://k:@cloud",
            "cloudinary://k:topsecret@",
            "cloudinary://k:topsecret@bad/cloud",
        ] {
            let e = parse(&[("CLOUDINARY_URL", bad)]).err().unwrap();
            assert!(e.0.contains("CLOUDINARY_URL"), "{bad}: {e}");
            assert!(!e.0.contains("topsecret"), "{e}");
        }
    }

    #[test]
    fn three_variables_must_come_together() {
        let c = parse(&[
            ("CLOUDINARY_CLOUD_NAME", "demo"),
            ("CLOUDINARY_API_KEY", "k"),
            ("CLOUDINARY_API_SECRET", "s"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.cloud_name.as_str(), c.api_secret.as_str()),
            ("demo", "s")
        );
        let e = parse(&[("CLOUDINARY_CLOUD_NAME", "demo")]).err().unwrap();
        assert!(e.0.contains("CLOUDINARY_API_KEY") && e.0.contains("CLOUDINARY_API_SECRET"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = parse(&[("CLOUDINARY_URL", "cloudinary://k:hunter2@c")])
            .unwrap()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cloud_name"));
    }
}
