//! Logging set-up (issue 15): `tracing` events to stdout, as text for
//! people or, with `LOG_FORMAT=json`, one JSON object a line for platforms
//! that parse logs (Railway, Render, Loki, Datadog…). The filter is
//! `RUST_LOG` (default `info`), which keeps the access log
//! (`sohbet::access`, one INFO line per request, [`crate::http::access_log`]).

use tracing_subscriber::EnvFilter;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default), coloured on a terminal.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`
    /// (`message` and the event's fields) and the current span.
    Json,
}

impl LogFormat {
    /// Reads `LOG_FORMAT`: `json`, or `text` / unset.
    ///
    /// # Errors
    /// Any other value, quoted in the message.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "LOG_FORMAT must be `text` or `json`, not `{other}`"
            )),
        }
    }
}

/// Installs the global subscriber from `LOG_FORMAT` and `RUST_LOG`; called
/// once by `main`, after `.env` is loaded. A malformed `LOG_FORMAT` falls
/// back to text and is reported as a warning (logging must work to report
/// configuration errors at all).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        Ok(LogFormat::Json) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        Ok(LogFormat::Text) | Err(_) => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
    }
    if let Err(e) = format {
        tracing::warn!("{e}; writing text");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_values() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert!(LogFormat::parse(Some("xml")).unwrap_err().contains("xml"));
    }
}
