//! What the double recorded: every call with its parameters, files and
//! answer ([`Call`]), and the ways a test reads or waits for them.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{TelegramDouble, param_str};

/// A file part of a multipart request.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The form field (teloxide: a random id referenced as `attach://<id>`).
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// One recorded request and what the double answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// Position in the record (a call is recorded when it is answered; a
    /// held send when it was accepted).
    pub seq: usize,
    /// When it arrived.
    pub at: Instant,
    /// The method as sent (`sendMessage`), or `file` for a download.
    pub method: String,
    /// `json`, `multipart`, `form` or `none`.
    pub encoding: &'static str,
    /// The parameters (multipart and form fields are strings, as sent).
    pub params: Map<String, Value>,
    /// Multipart file parts.
    pub uploads: Vec<Upload>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The answer: the Bot API envelope, or the HTML page of a 502.
    pub answer: Value,
}

impl Call {
    /// Same method (Telegram's method names are case-insensitive).
    pub fn is(&self, method: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
    }

    /// Telegram answered `ok: true`.
    pub fn ok(&self) -> bool {
        self.answer["ok"] == json!(true)
    }

    pub fn str_param(&self, name: &str) -> Option<String> {
        param_str(&self.params, name)
    }

    pub fn text(&self) -> Option<String> {
        self.str_param("text")
    }

    pub fn caption(&self) -> Option<String> {
        self.str_param("caption")
    }

    pub fn parse_mode(&self) -> Option<String> {
        self.str_param("parse_mode")
    }

    pub fn chat_id(&self) -> Option<i64> {
        self.str_param("chat_id").and_then(|c| c.parse().ok())
    }

    /// The `message_id` of the message Telegram answered with.
    pub fn message_id(&self) -> Option<i64> {
        self.answer["result"]["message_id"].as_i64()
    }

    /// The file sent in `field` (`photo`, `voice`, …), following `attach://`.
    pub fn file(&self, field: &str) -> Option<&Upload> {
        let v = self.str_param(field)?;
        let name = v.strip_prefix("attach://").unwrap_or(&v);
        self.uploads.iter().find(|u| u.name == name)
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        let mut what = self
            .text()
            .or_else(|| self.caption())
            .or_else(|| self.str_param("offset").map(|o| format!("offset={o}")))
            .unwrap_or_default();
        if what.chars().count() > 80 {
            what = what.chars().take(80).collect::<String>() + "…";
        }
        format!(
            "#{} {} chat={:?} parse_mode={:?} → {} {:?}",
            self.seq,
            self.method,
            self.chat_id(),
            self.parse_mode(),
            self.status,
            what
        )
    }
}

impl TelegramDouble {
    /// The most `send*` calls that were ever handled at the same time.
    pub fn max_sends_in_flight(&self) -> usize {
        self.inner.lock().max_sends_in_flight
    }

    /// Every call so far, in order of arrival.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// Runs `f` over the calls so far (no copy).
    pub fn with_calls<T>(&self, f: impl FnOnce(&[Call]) -> T) -> T {
        f(&self.inner.lock().calls)
    }

    /// Accepted `send*` calls to `chat`, in order.
    pub fn sends_to(&self, chat: i64) -> Vec<Call> {
        self.with_calls(|c| {
            c.iter()
                .filter(|c| {
                    c.method.to_ascii_lowercase().starts_with("send")
                        && c.chat_id() == Some(chat)
                        && c.ok()
                })
                .cloned()
                .collect()
        })
    }

    /// Texts of accepted `sendMessage` calls to `chat`, in order.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.sends_to(chat)
            .iter()
            .filter(|c| c.is("sendMessage"))
            .filter_map(Call::text)
            .collect()
    }

    /// All calls, one line each (for failure messages).
    pub fn summary(&self) -> String {
        self.with_calls(|c| c.iter().map(Call::summary).collect::<Vec<_>>().join("\n"))
    }

    /// Polls (every 20 ms) until `f` over the calls gives `Some`; panics
    /// with `what` and the call list after `within`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&[Call]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(t) = self.with_calls(&mut f) {
                return t;
            }
            if Instant::now() >= deadline {
                panic!(
                    "Telegram double: {what}: not seen within {within:?}. Calls:\n{}",
                    self.summary()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the first call matching `pred`.
    pub async fn wait_call(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Call) -> bool,
    ) -> Call {
        self.wait_for(what, within, |calls| {
            calls.iter().find(|c| pred(c)).cloned()
        })
        .await
    }

    /// Waits for an accepted `sendMessage` to `chat` whose text satisfies `pred`.
    pub async fn wait_text_to(
        &self,
        chat: i64,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Call {
        self.wait_call(what, within, |c| {
            c.is("sendMessage")
                && c.ok()
                && c.chat_id() == Some(chat)
                && c.text().is_some_and(|t| pred(&t))
        })
        .await
    }
}
