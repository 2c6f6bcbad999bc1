//! Postgres connect options from a URL without echoing secrets (issue 20
//! item 6). sqlx logs every query parameter it does not know together with
//! its value (`ignoring unrecognized connect parameter`, key and value, in
//! `sqlx_postgres::options::parse`), so a secret given as an unknown
//! parameter (`?sslpassword=…`, a misspelt `?passwd=…`) would reach the
//! logs. [`pg_options`] parses with sqlx's events captured and logs the
//! parameter's name only.

use std::{
    str::FromStr,
    sync::{Arc, Mutex},
};

use sqlx::postgres::PgConnectOptions;
use tracing::field::{Field, Visit};
use tracing_subscriber::{Layer, layer::SubscriberExt};

/// What sqlx said while parsing: names of ignored parameters, other messages.
#[derive(Default)]
struct Said {
    ignored: Vec<String>,
    other: Vec<String>,
}

/// Records sqlx's events during one parse (values never kept).
struct Capture(Arc<Mutex<Said>>);

/// The `key` and `message` fields of one event.
#[derive(Default)]
struct Fields {
    key: Option<String>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "key" => self.key = Some(format!("{value:?}").trim_matches('"').to_owned()),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut said = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match (f.message.as_deref(), f.key) {
            (Some(m), Some(key)) if m.contains("unrecognized connect parameter") => {
                said.ignored.push(key);
            }
            // Other parse warnings carry no URL value; sqlx's debug chatter
            // (e.g. "`.pgpass` file not found") stays out of the log.
            (Some(m), _) if *event.metadata().level() <= tracing::Level::WARN => {
                said.other.push(m.to_owned());
            }
            _ => {}
        }
    }
}

/// `url` as sqlx's [`PgConnectOptions`]; each parameter sqlx ignores is
/// logged once by name (WARN, never its value).
///
/// # Errors
/// sqlx's configuration error for a malformed URL (it names the setting,
/// e.g. `sslmode`, not a password).
pub fn pg_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let said = Arc::new(Mutex::new(Said::default()));
    let capture = tracing_subscriber::registry().with(Capture(said.clone()));
    let opts = tracing::subscriber::with_default(capture, || PgConnectOptions::from_str(url));
    let said = std::mem::take(&mut *said.lock().unwrap_or_else(|p| p.into_inner()));
    for parameter in said.ignored {
        tracing::warn!(
            %parameter,
            "ignoring a Postgres connect parameter sqlx does not know (its value is not shown)"
        );
    }
    for message in said.other {
        tracing::warn!("postgres connect options: {message}");
    }
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parameters_are_dropped_by_sqlx_and_known_ones_kept() {
        let o =
            pg_options("postgres://u@h:5433/db?sslpassword=hunter2&application_name=x").unwrap();
        assert_eq!(o.get_port(), 5433);
        assert_eq!(o.get_application_name(), Some("x"));
        assert!(pg_options("postgres://u@h/db?sslmode=nonsense").is_err());
    }
}
