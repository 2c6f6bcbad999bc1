//! Texts the bot sends: forwards split to Telegram's limits, sent without a
//! `parse_mode` so that no character of a visitor's text can break entity
//! parsing ("can't parse entities" would lose the message).
//!
//! Limits (Telegram Bot API, `sendMessage` / `sendPhoto`): text 1–4096
//! characters, caption 0–1024 characters, counted in UTF-16 code units.

/// Longest `sendMessage` text, in UTF-16 code units.
pub const TEXT_LIMIT: usize = 4096;
/// Longest media caption, in UTF-16 code units.
pub const CAPTION_LIMIT: usize = 1024;

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `text` into pieces of at most `limit` UTF-16 units, cutting at the
/// last newline or space of a piece when there is one, never inside a
/// character.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > limit {
        let mut units = 0;
        let mut cut = 0;
        let mut soft = None;
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > limit {
                break;
            }
            units += c.len_utf16();
            cut = i + c.len_utf8();
            if c == '\n' || c == ' ' {
                soft = Some(cut);
            }
        }
        let at = soft.filter(|&s| s > cut / 2).unwrap_or(cut);
        out.push(rest[..at].to_owned());
        rest = &rest[at..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// The longest prefix of `text` of at most `limit` UTF-16 units, never cut
/// inside a character (an astral character, e.g. most emoji, is two units).
pub fn cut(text: &str, limit: usize) -> &str {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return &text[..i];
        }
    }
    text
}

/// The head of a visitor's message in the admin chat: `[<name>]`.
pub fn visitor_head(display_name: &str) -> String {
    format!("[{display_name}]")
}

/// The head of an agent's message mirrored into the thread's topic: an
/// answer `Support:`, an internal note `📝 Note (Support):`. `agent` is the
/// agent's display name when one is known (then `<name>:` and
/// `📝 Note (<name>):`); the one place that words who wrote it.
pub fn agent_head(agent: Option<&str>, internal: bool) -> String {
    let who = agent
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Support");
    if internal {
        format!("📝 Note ({who}):")
    } else {
        format!("{who}:")
    }
}

/// The `sendMessage` texts of a visitor's text message: `[<name>] <text>`,
/// and `[<name>] (2/3) …` for the following pieces.
pub fn forward_texts(display_name: &str, text: &str) -> Vec<String> {
    headed_texts(&visitor_head(display_name), text)
}

/// The `sendMessage` texts of a message with `head` (e.g. [`visitor_head`],
/// [`agent_head`]): `<head> <text>`, and `<head> (2/3) …` for the
/// following pieces, each within [`TEXT_LIMIT`].
pub fn headed_texts(head: &str, text: &str) -> Vec<String> {
    let head = format!("{head} ");
    // Room for the head and a "(nn/nn) " counter.
    let body_limit = TEXT_LIMIT.saturating_sub(utf16_len(&head) + 10).max(1);
    let parts = split(text, body_limit);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            if n == 1 {
                format!("{head}{p}")
            } else {
                format!("{head}({}/{n}) {p}", i + 1)
            }
        })
        .collect()
}

/// One line of a coalesced forward (issue 23): the message's time as
/// `HH:MM` in the configured time zone (`APP_TIMEZONE`), then its text.
pub fn timed_line(at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz, text: &str) -> String {
    format!("{} {text}", at.with_timezone(&tz).format("%H:%M"))
}

/// A coalesced forward: `head` on the first line, then `lines` in order,
/// then `tail` (the visitor context of a thread's first forward), as many
/// of `lines` as fit in one `sendMessage` ([`TEXT_LIMIT`] UTF-16 units);
/// the rest waits for the next send. Returns the text and how many lines
/// it carries (0 when not even the first fits: that message goes alone,
/// split by [`headed_texts`]).
pub fn coalesced(head: &str, lines: &[String], tail: Option<&str>) -> (String, usize) {
    let tail_units = tail.map_or(0, |t| utf16_len(t) + 1);
    let mut units = utf16_len(head) + tail_units;
    let mut n = 0;
    for line in lines {
        let more = utf16_len(line) + 1;
        if units + more > TEXT_LIMIT {
            break;
        }
        units += more;
        n += 1;
    }
    if n == 0 {
        return (String::new(), 0);
    }
    let mut text = String::with_capacity(units * 2);
    text.push_str(head);
    for line in &lines[..n] {
        text.push('\n');
        text.push_str(line);
    }
    if let Some(t) = tail {
        text.push('\n');
        text.push_str(t);
    }
    (text, n)
}

/// A media caption `<head> <text>` (`head` as in [`headed_texts`]), cut to
/// the caption limit; the rest of a long caption is returned to be sent
/// as follow-up texts.
pub fn caption(head: &str, text: &str) -> (String, Vec<String>) {
    if text.is_empty() {
        return (head.to_owned(), vec![]);
    }
    let full = format!("{head} {text}");
    if utf16_len(&full) <= CAPTION_LIMIT {
        return (full, vec![]);
    }
    (head.to_owned(), headed_texts(head, text))
}

/// One line of visitor context for a thread's first forward (issue 14):
/// `🌐 <page without query> · <browser> (<os>) · <language>`, the parts that are known;
/// `None` when none is.
pub fn context_line(c: &crate::chat::visitors::VisitorContext) -> Option<String> {
    let page = c.page_url.as_deref().map(|u| without_query(u).to_owned());
    let browser = match (&c.browser, &c.os) {
        (Some(b), Some(os)) => Some(format!("{b} ({os})")),
        (b, os) => b.clone().or_else(|| os.clone()),
    };
    let parts: Vec<String> = [page, browser, c.language.clone()]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| format!("🌐 {}", parts.join(" · ")))
}

/// `url` without its query string and fragment: they can carry tokens, so
/// they do not leave sohbet (the panel shows the admin the whole URL).
pub fn without_query(url: &str) -> &str {
    &url[..url.find(['?', '#']).unwrap_or(url.len())]
}

/// `text` followed by the context line on its own line (just the line for
/// a media message without text).
pub fn with_context(text: &str, line: Option<&str>) -> String {
    match line {
        Some(l) if text.is_empty() => l.to_owned(),
        Some(l) => format!("{text}\n{l}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_message_exactly_as_typed() {
        let t = "_*[<&>]*_ `code` 🎉";
        assert_eq!(
            forward_texts("Visitor AB12", t),
            vec![format!("[Visitor AB12] {t}")]
        );
    }

    #[test]
    fn long_text_is_split_within_the_limit_and_loses_nothing() {
        let text = "word ".repeat(1700) + &"🎉".repeat(3000);
        let parts = forward_texts("Visitor AB12", &text);
        assert!(parts.len() >= 3);
        for p in &parts {
            assert!(utf16_len(p) <= TEXT_LIMIT, "{}", utf16_len(p));
        }
        let rebuilt: String = split(&text, TEXT_LIMIT - 30).concat();
        assert_eq!(rebuilt, text);
        assert!(parts[1].starts_with("[Visitor AB12] (2/"));
    }

    #[test]
    fn split_never_cuts_a_surrogate_pair() {
        let parts = split(&"😀".repeat(5), 3);
        assert_eq!(parts, vec!["😀", "😀", "😀", "😀", "😀"]);
    }

    #[test]
    fn context_line_has_the_known_parts() {
        let mut c = crate::chat::visitors::VisitorContext {
            page_url: Some("https://shop.example/cart".into()),
            browser: Some("Firefox 133.0".into()),
            os: Some("Windows 10".into()),
            language: Some("tr-TR".into()),
            ..crate::domain::VisitorContext::nothing_reported("t".into())
        };
        assert_eq!(
            context_line(&c).as_deref(),
            Some("🌐 https://shop.example/cart · Firefox 133.0 (Windows 10) · tr-TR")
        );
        c.page_url = None;
        c.os = None;
        assert_eq!(
            context_line(&c).as_deref(),
            Some("🌐 Firefox 133.0 · tr-TR")
        );
        assert_eq!(
            context_line(&crate::domain::VisitorContext::nothing_reported("t".into())),
            None
        );
        assert_eq!(with_context("hi", Some("🌐 x")), "hi\n🌐 x");
        assert_eq!(with_context("", Some("🌐 x")), "🌐 x");
        assert_eq!(with_context("hi", None), "hi");
    }

    #[test]
    fn a_coalesced_forward_keeps_the_order_and_the_limit() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-02T09:05:00Z")
            .expect("a time")
            .to_utc();
        let line = timed_line(at, chrono_tz::Europe::Istanbul, "hi");
        assert_eq!(line, "12:05 hi");
        let lines = vec!["12:05 a".to_owned(), "12:06 b".to_owned()];
        assert_eq!(
            coalesced("[V]", &lines, Some("🌐 x")),
            ("[V]\n12:05 a\n12:06 b\n🌐 x".to_owned(), 2)
        );
        // 🎉 is two UTF-16 units: three lines of 1,402 units (4,206) do not fit.
        let big: Vec<String> = (0..3)
            .map(|i| format!("{i} {}", "🎉".repeat(700)))
            .collect();
        let (text, n) = coalesced("[V]", &big, None);
        assert_eq!(n, 2);
        assert!(utf16_len(&text) <= TEXT_LIMIT);
        let (rest, m) = coalesced("[V]", &big[n..], None);
        assert_eq!((m, rest.starts_with("[V]\n2 ")), (1, true));
        let huge = vec!["x".repeat(TEXT_LIMIT)];
        assert_eq!(coalesced("[V]", &huge, None).1, 0);
    }

    #[test]
    fn long_caption_moves_to_texts() {
        let (c, rest) = caption(&visitor_head("V"), &"x".repeat(2000));
        assert_eq!(c, "[V]");
        assert_eq!(rest.concat().matches('x').count(), 2000);
        assert_eq!(caption("[V]", "hi"), ("[V] hi".to_owned(), vec![]));
    }

    #[test]
    fn agents_messages_are_headed_by_who_wrote_them() {
        assert_eq!(agent_head(None, false), "Support:");
        assert_eq!(agent_head(None, true), "📝 Note (Support):");
        assert_eq!(agent_head(Some(" Ayşe "), true), "📝 Note (Ayşe):");
        assert_eq!(agent_head(Some(""), false), "Support:");
        assert_eq!(
            headed_texts(&agent_head(None, false), "on its way"),
            ["Support: on its way"]
        );
    }
}
