//! The emails themselves (issue 26): subject, plain text and HTML
//! alternatives, in the visitor's language (Turkish or English), times in
//! the visitor's time zone when known (else `APP_TIMEZONE`). Every
//! visitor- or agent-written text is HTML-escaped; no tracking pixel, no
//! remote image (an image message is a link). Headers: `List-Unsubscribe`
//! and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058); no
//! header value carries CR or LF (lettre encodes every value it is given,
//! and the raw ones here are built only from our URL and checked).

use chrono::{DateTime, Utc};
use lettre::message::{
    Mailbox, MultiPart,
    header::{HeaderName, HeaderValue},
};

use crate::domain::{Message, MessageType, Role};

/// An email ready for the outbox: its recipient and the whole message.
#[derive(Clone, Debug)]
pub struct Composed {
    /// The address it goes to.
    pub to: String,
    /// The RFC 5322 message (headers and MIME body).
    pub raw: String,
}

/// Why an email could not be composed (it is then cancelled).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The stored address is not one (e.g. typed before validation existed).
    #[error("the address is not a valid mailbox: {0}")]
    Address(String),
    /// A header value held CR or LF, or lettre refused the message.
    #[error("cannot build the email: {0}")]
    Build(String),
}

/// Turkish or English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Türkçe.
    Tr,
    /// English.
    En,
}

impl Lang {
    /// Turkish for a language tag starting with `tr`, else English.
    pub fn of(tag: Option<&str>) -> Lang {
        match tag {
            Some(t) if t.trim().to_ascii_lowercase().starts_with("tr") => Lang::Tr,
            _ => Lang::En,
        }
    }

    fn pick(self, tr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Tr => tr,
            Lang::En => en,
        }
    }
}

pub use crate::html::escape;

/// What every email shares: who sends, where links point.
pub struct Frame<'a> {
    /// `SMTP_FROM`.
    pub from: &'a Mailbox,
    /// The recipient's address.
    pub to: &'a str,
    /// The language.
    pub lang: Lang,
    /// The time zone times are shown in.
    pub tz: chrono_tz::Tz,
    /// The one-click unsubscribe URL (List-Unsubscribe and the footer).
    pub unsubscribe: &'a str,
    /// The host for the Message-ID (from `PUBLIC_URL`).
    pub host: &'a str,
    /// The outbox row id (Message-ID: a resend keeps the same one).
    pub row_id: crate::domain::EmailId,
}

fn time(tz: chrono_tz::Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// One message as text and as HTML (`who` names its sender).
fn line(frame: &Frame<'_>, m: &Message, who: &str) -> (String, String) {
    let when = time(frame.tz, m.created_at);
    let body = match m.content_type {
        MessageType::Text => m.content_text.clone(),
        MessageType::Image | MessageType::Audio => {
            let what = if m.content_type == MessageType::Image {
                frame.lang.pick("[görsel]", "[image]")
            } else {
                frame.lang.pick("[ses]", "[audio]")
            };
            if m.content_text.is_empty() {
                what.to_owned()
            } else {
                format!("{what} {}", m.content_text)
            }
        }
    };
    let text = format!("{who} · {when}\n{body}\n");
    let html = format!(
        "<p style=\"margin:0 0 4px;color:#555;font-size:13px\"><strong>{}</strong> · {}</p>\
         <p style=\"margin:0 0 16px;white-space:pre-wrap\">{}</p>",
        escape(who),
        escape(&when),
        escape(&body)
    );
    (text, html)
}

/// The answers a visitor did not see, with the continue link.
pub fn answers(
    frame: &Frame<'_>,
    answers: &[Message],
    support: &str,
    continue_url: &str,
) -> Result<Composed, ComposeError> {
    let lang = frame.lang;
    let subject = lang.pick("Mesajınıza yanıt geldi", "You have a reply");
    let intro = lang.pick(
        "Sohbetten ayrıldıktan sonra size yanıt yazıldı:",
        "You were answered after you left the chat:",
    );
    let button = lang.pick("Sohbete devam et", "Continue the conversation");
    let mut text = format!("{intro}\n\n");
    let mut html = format!("<p>{}</p>", escape(intro));
    for m in answers {
        let who = m.sender_name.as_deref().unwrap_or(support);
        let (t, h) = line(frame, m, who);
        text.push_str(&t);
        text.push('\n');
        html.push_str(&h);
    }
    text.push_str(&format!("{button}: {continue_url}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background:#4f46e5;color:#fff;\
         border-radius:6px;text-decoration:none\">{}</a></p>",
        escape(continue_url),
        escape(button)
    ));
    build(frame, subject, text, html)
}

/// The whole visible conversation (no notes: the caller reads only those).
pub fn transcript(
    frame: &Frame<'_>,
    messages: &[Message],
    support: &str,
    visitor: &str,
    continue_url: &str,
) -> Result<Composed, ComposeError> {
    let lang = frame.lang;
    let subject = lang.pick("Sohbetinizin kaydı", "Your conversation");
    let button = lang.pick("Sohbete devam et", "Continue the conversation");
    let mut text = String::new();
    let mut html = String::new();
    for m in messages.iter().filter(|m| !m.internal) {
        let who = if m.sender_type == Role::Visitor {
            visitor
        } else {
            m.sender_name.as_deref().unwrap_or(support)
        };
        let (t, h) = line(frame, m, who);
        text.push_str(&t);
        text.push('\n');
        html.push_str(&h);
    }
    text.push_str(&format!("{button}: {continue_url}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p>",
        escape(continue_url),
        escape(button)
    ));
    build(frame, subject, text, html)
}

/// An agent told which threads wait (each with its panel link).
pub fn agent(
    frame: &Frame<'_>,
    waiting: &[(String, DateTime<Utc>, String)],
) -> Result<Composed, ComposeError> {
    let subject = format!("{} visitor message(s) wait for an answer", waiting.len());
    let mut text = String::from("These conversations wait for an answer:\n\n");
    let mut html = String::from("<p>These conversations wait for an answer:</p><ul>");
    for (name, since, url) in waiting {
        let when = time(frame.tz, *since);
        text.push_str(&format!("- {name} (since {when}): {url}\n"));
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a> (since {})</li>",
            escape(url),
            escape(name),
            escape(&when)
        ));
    }
    html.push_str("</ul>");
    build(frame, &subject, text, html)
}

/// Refuses a header value with CR or LF (header injection).
fn header_safe(v: &str) -> Result<&str, ComposeError> {
    if v.contains(['\r', '\n']) {
        return Err(ComposeError::Build("a header value holds CR or LF".into()));
    }
    Ok(v)
}

fn build(
    frame: &Frame<'_>,
    subject: &str,
    mut text: String,
    mut html: String,
) -> Result<Composed, ComposeError> {
    let lang = frame.lang;
    let stop = lang.pick(
        "Bu sohbet için e-posta almak istemiyorsanız",
        "To receive no more email about this conversation",
    );
    text.push_str(&format!("\n--\n{stop}: {}\n", frame.unsubscribe));
    html.push_str(&format!(
        "<hr><p style=\"color:#777;font-size:12px\">{}: <a href=\"{}\">{}</a></p>",
        escape(stop),
        escape(frame.unsubscribe),
        lang.pick("aboneliği bırak", "unsubscribe")
    ));
    let html = format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><body style=\"font-family:sans-serif;\
         max-width:600px\">{html}</body></html>",
        lang.pick("tr", "en")
    );
    let to: Mailbox = header_safe(frame.to)?
        .parse()
        .map_err(|e| ComposeError::Address(format!("{e}")))?;
    let unsubscribe = header_safe(frame.unsubscribe)?;
    let message = lettre::Message::builder()
        .from(frame.from.clone())
        .to(to)
        .subject(header_safe(subject)?)
        .message_id(Some(format!(
            "<sohbet-email-{}@{}>",
            frame.row_id, frame.host
        )))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    let raw =
        String::from_utf8(message.formatted()).map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed {
        to: frame.to.to_owned(),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_value_with_a_line_break_is_refused() {
        let from: Mailbox = "S <s@x.example>".parse().unwrap();
        let frame = Frame {
            from: &from,
            to: "v@x.example\r\nBcc: evil@x.example",
            lang: Lang::En,
            tz: chrono_tz::UTC,
            unsubscribe: "https://x.example/u",
            host: "x.example",
            row_id: crate::domain::EmailId(1),
        };
        assert!(answers(&frame, &[], "Support", "https://x.example/c").is_err());
    }
}
