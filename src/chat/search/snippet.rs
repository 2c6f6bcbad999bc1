//! Snippets of matched texts (issue 13): a text cut into pieces with the
//! words that start with a search term marked, and a short window of a
//! long text around its first match. Plain text in, plain text out: the
//! panel shows the pieces with text nodes and `<mark>` elements.

use serde::Serialize;

use super::fold;

/// Characters shown before the first match when a snippet is cut.
const CONTEXT_BEFORE: usize = 40;

/// One piece of a snippet: text shown as is, `hit` when it is a matched word
/// (the panel wraps those in `<mark>`). The pieces, joined, are the shown text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Part {
    /// The text (plain, never HTML).
    pub text: String,
    /// A matched word.
    pub hit: bool,
}

/// `(start, end)` char indices of the words (letter and digit runs) of `chars`.
fn words(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, chars.len()));
    }
    out
}

fn is_hit(chars: &[char], (s, e): (usize, usize), terms: &[String]) -> bool {
    let word = fold(&chars[s..e].iter().collect::<String>());
    terms.iter().any(|t| word.starts_with(t.as_str()))
}

/// Appends `text` to `parts`, merged with the last part when both are plain.
fn push(parts: &mut Vec<Part>, text: String, hit: bool) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(last) if !last.hit && !hit => last.text.push_str(&text),
        _ => parts.push(Part { text, hit }),
    }
}

/// `chars[from..to]` cut into parts, each word that starts with a term marked.
fn mark(chars: &[char], from: usize, to: usize, terms: &[String], parts: &mut Vec<Part>) {
    let slice = &chars[from..to];
    let mut at = 0;
    for w in words(slice) {
        if is_hit(slice, w, terms) {
            push(parts, slice[at..w.0].iter().collect(), false);
            push(parts, slice[w.0..w.1].iter().collect(), true);
            at = w.1;
        }
    }
    push(parts, slice[at..].iter().collect(), false);
}

/// The whole of `text` with every word that starts with a term marked.
pub fn highlight(text: &str, terms: &[String]) -> Vec<Part> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    mark(&chars, 0, chars.len(), terms, &mut parts);
    parts
}

/// At most `max` characters of `text` around its first matched word (from
/// a little before it), cut at word boundaries, with `…` where it was cut;
/// matched words marked. A text without a marked word (the database matched
/// it in a way this module does not see) shows from its start.
pub fn snippet(text: &str, terms: &[String], max: usize) -> Vec<Part> {
    let chars: Vec<char> = text.trim().chars().collect();
    let n = chars.len();
    if n <= max {
        let mut parts = Vec::new();
        mark(&chars, 0, n, terms, &mut parts);
        return parts;
    }
    let first = words(&chars)
        .into_iter()
        .find(|&w| is_hit(&chars, w, terms))
        .unwrap_or((0, 0));
    let alnum = |i: usize| chars[i].is_alphanumeric();
    // Start a little before the hit, never so late that the window runs short.
    let mut s = first.0.saturating_sub(CONTEXT_BEFORE).min(n - max);
    while s > 0 && s < first.0 && alnum(s) && alnum(s - 1) {
        s += 1;
    }
    let mut e = (s + max).min(n);
    while e < n && e > first.1 && alnum(e) && alnum(e - 1) {
        e -= 1;
    }
    while s < e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e - 1].is_whitespace() {
        e -= 1;
    }
    let mut parts = Vec::new();
    if s > 0 {
        push(&mut parts, "…".into(), false);
    }
    mark(&chars, s, e, terms, &mut parts);
    if e < n {
        push(&mut parts, "…".into(), false);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terms of a query of plain words.
    fn t(q: &str) -> Vec<String> {
        q.split_whitespace().map(fold).collect()
    }

    fn shown(parts: &[Part]) -> String {
        parts
            .iter()
            .map(|p| {
                if p.hit {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn hits_are_marked_by_word_prefix() {
        let terms = t("ist şek");
        assert_eq!(
            shown(&highlight("İstanbul'da şekerci, pist.", &terms)),
            "[İstanbul]'da [şekerci], pist."
        );
        assert_eq!(shown(&highlight("no match", &terms)), "no match");
    }

    #[test]
    fn long_texts_are_cut_around_the_first_hit() {
        let text = format!(
            "{} needle {}",
            "lorem ipsum ".repeat(30),
            "dolor sit ".repeat(30)
        );
        let parts = snippet(&text, &t("needle"), 60);
        let s = shown(&parts);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[needle]"), "{s}");
        let inner = s.trim_matches('…');
        assert!(inner.chars().count() <= 62, "{s}");
        // Whole words only at both ends.
        assert!(
            inner.starts_with("lorem") || inner.starts_with("ipsum"),
            "{s}"
        );
        assert!(inner.ends_with("dolor") || inner.ends_with("sit"), "{s}");
        // A hit near the end still fills the window.
        let late = format!("{} needle", "word ".repeat(100));
        let s = shown(&snippet(&late, &t("needle"), 60));
        assert!(s.starts_with('…') && s.ends_with("[needle]"), "{s}");
        assert!(s.chars().count() > 50, "{s}");
        // No visible hit: the start.
        let s = shown(&snippet(&late, &t("zzz"), 20));
        assert!(s.starts_with("word") && s.ends_with('…'), "{s}");
    }
}
