//! Upload hardening settings (`UPLOAD_BODY_TIMEOUT_SECS`,
//! `UPLOAD_BODY_MIN_RATE`, `UPLOAD_SWEEP_GRACE_SECS`, `UPLOAD_QUOTA_MB`):
//! parsed here, used by `http::upload` (body pacing) and `media` (sweep,
//! quota). Described in `docs/uploads.md` § Limits on the wire and on disk.

use std::time::Duration;

use super::{ConfigError, whole_number};

/// How an upload body must arrive, how long unused files are kept, and how
/// much the upload folder may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadConfig {
    /// Longest wait for the next chunk of an upload body, and the grace
    /// before [`UploadConfig::body_min_rate`] applies
    /// (`UPLOAD_BODY_TIMEOUT_SECS`, default 20 s, at least 1 s).
    pub body_timeout: Duration,
    /// Slowest average an upload body may arrive at after the grace, bytes
    /// per second (`UPLOAD_BODY_MIN_RATE`, default 4096; 0 = only the
    /// per-chunk timeout).
    pub body_min_rate: u32,
    /// Age after which a stored local file that no message refers to is
    /// removed (`UPLOAD_SWEEP_GRACE_SECS`, default 3600 s; 0 = never sweep).
    pub sweep_grace: Option<Duration>,
    /// Most bytes `UPLOAD_DIR` may hold, counting uploads in progress
    /// (`UPLOAD_QUOTA_MB`, MiB, default 1024; 0 = no quota).
    pub quota_bytes: Option<u64>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            body_timeout: Duration::from_secs(20),
            body_min_rate: 4096,
            sweep_grace: Some(Duration::from_secs(3600)),
            quota_bytes: Some(1024 * 1024 * 1024),
        }
    }
}

/// Reads the upload settings through `var` (trimmed, empty = unset).
///
/// # Errors
/// [`ConfigError`] naming the variable whose value is not a whole number.
pub(super) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<UploadConfig, ConfigError> {
    let num = |name: &str, default| whole_number(&var, name, default);
    let d = UploadConfig::default();
    let min_rate = num("UPLOAD_BODY_MIN_RATE", u64::from(d.body_min_rate))?;
    let quota_mb = num("UPLOAD_QUOTA_MB", 1024)?;
    Ok(UploadConfig {
        body_timeout: Duration::from_secs(num("UPLOAD_BODY_TIMEOUT_SECS", 20)?.max(1)),
        body_min_rate: u32::try_from(min_rate).map_err(|_| {
            ConfigError(format!(
                "UPLOAD_BODY_MIN_RATE must be at most {} bytes/s",
                u32::MAX
            ))
        })?,
        sweep_grace: match num("UPLOAD_SWEEP_GRACE_SECS", 3600)? {
            0 => None,
            s => Some(Duration::from_secs(s)),
        },
        quota_bytes: match quota_mb {
            0 => None,
            mb => Some(
                mb.checked_mul(1024 * 1024)
                    .ok_or_else(|| ConfigError(format!("UPLOAD_QUOTA_MB is too large: `{mb}`")))?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<UploadConfig, ConfigError> {
        from_vars(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_and_zero_means_off() {
        assert_eq!(read(&[]).unwrap(), UploadConfig::default());
        let c = read(&[
            ("UPLOAD_SWEEP_GRACE_SECS", "0"),
            ("UPLOAD_QUOTA_MB", "0"),
            ("UPLOAD_BODY_MIN_RATE", "0"),
            ("UPLOAD_BODY_TIMEOUT_SECS", "0"),
        ])
        .unwrap();
        assert_eq!(c.sweep_grace, None);
        assert_eq!(c.quota_bytes, None);
        assert_eq!(c.body_min_rate, 0);
        assert_eq!(c.body_timeout, Duration::from_secs(1));
        let c = read(&[("UPLOAD_QUOTA_MB", "3")]).unwrap();
        assert_eq!(c.quota_bytes, Some(3 * 1024 * 1024));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for name in [
            "UPLOAD_BODY_TIMEOUT_SECS",
            "UPLOAD_BODY_MIN_RATE",
            "UPLOAD_SWEEP_GRACE_SECS",
            "UPLOAD_QUOTA_MB",
        ] {
            let e = read(&[(name, "-1")]).unwrap_err();
            assert!(e.0.contains(name), "{e}");
        }
        let e = read(&[("UPLOAD_QUOTA_MB", &u64::MAX.to_string())]).unwrap_err();
        assert!(e.0.contains("UPLOAD_QUOTA_MB"), "{e}");
    }
}
