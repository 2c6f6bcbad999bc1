//! Search (issue 13): the admin finds messages by their words and threads by
//! their display name. This module owns the rule (what a query is, its
//! limits, how matches are shown); `store::search` owns the SQL (SQLite
//! FTS5, Postgres `tsvector` with the `simple` configuration).
//!
//! A query is cut into words at every character that is not a letter or a
//! digit (so punctuation, quotes, `*`, `-`, `NEAR(` are separators, never
//! syntax); each word is case-folded ([`fold`]) and matches any word that
//! starts with it; a message matches when it has all the words. Diacritics
//! count: `şeker` does not find `seker`, `ılık` does not find `ilik`.
//! Case does not: `istanbul`, `İstanbul` and `ISTANBUL` are the same word;
//! the dotless `ı` is its own letter, and `I` folds to `i` (not to `ı`).
//! Results are newest first and paged by message id (`before`).

mod snippet;

use serde::Serialize;

pub use snippet::{Part, highlight, snippet};

use super::Chat;
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::{Message, MessageId};
use crate::store::search;

/// Results per page when `limit` is not given.
pub const LIMIT_DEFAULT: i64 = 20;
/// Largest `limit`.
pub const LIMIT_MAX: i64 = 100;
/// Longest query, in characters (before it is cut into words).
pub const QUERY_MAX_CHARS: usize = 200;
/// Most words in one query.
pub const MAX_TERMS: usize = 10;
/// Most threads matched by display name (first page only).
pub const THREADS_MAX: i64 = 20;
/// Length of a message's snippet, in characters (without the `…` marks).
pub const SNIPPET_CHARS: usize = 160;

/// The thread of a matched message: `{id, display_name, status}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadRef {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `open` | `closed`.
    pub status: crate::domain::ThreadStatus,
}

/// A matched message: `{message, thread, snippet}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MessageHit {
    /// The contract's `Message`.
    pub message: Message,
    /// Its thread.
    pub thread: ThreadRef,
    /// Its text around the first matched word, at most [`SNIPPET_CHARS`]
    /// characters plus `…` marks where it was cut.
    pub snippet: Vec<Part>,
}

/// A thread whose display name matched: `{id, display_name, status,
/// last_activity, highlight}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadHit {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `open` | `closed`.
    pub status: crate::domain::ThreadStatus,
    /// Last message at, RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub last_activity: String,
    /// The display name with its matched words marked.
    pub highlight: Vec<Part>,
}

/// One page of results (`GET /api/search`).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The words searched for, case-folded.
    pub terms: Vec<String>,
    /// Matched messages, newest first.
    pub results: Vec<MessageHit>,
    /// Threads matched by display name, most recently active first (only
    /// on the first page, i.e. without `before`; at most [`THREADS_MAX`]).
    pub threads: Vec<ThreadHit>,
    /// Pass as `before` for the next page; `null` when there is none.
    pub next_before: Option<MessageId>,
}

/// Folds case for matching: `İ` (U+0130) → `i`, everything else to lower
/// case (`I` → `i`, `Ş` → `ş`). The same folding as the indexes
/// (`migrations/*/0009_search.sql`).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c == 'İ' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The words of a query, folded, without repeats.
///
/// # Errors
/// 400 `BAD_REQUEST` when `q` is empty, longer than [`QUERY_MAX_CHARS`],
/// has no letter or digit, or more than [`MAX_TERMS`] words.
pub fn terms(q: &str) -> ChatResult<Vec<String>> {
    if q.chars().count() > QUERY_MAX_CHARS {
        return Err(ChatError::BadRequest(format!(
            "q must be at most {QUERY_MAX_CHARS} characters"
        )));
    }
    if q.trim().is_empty() {
        return Err(ChatError::BadRequest(
            "q is required: the words to search for".into(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for word in q.split(|c: char| !c.is_alphanumeric()) {
        let word = fold(word);
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
        }
    }
    if out.is_empty() {
        return Err(ChatError::BadRequest(
            "q must contain at least one letter or digit".into(),
        ));
    }
    if out.len() > MAX_TERMS {
        return Err(ChatError::BadRequest(format!(
            "q must have at most {MAX_TERMS} words"
        )));
    }
    Ok(out)
}

/// Checks `limit` (default [`LIMIT_DEFAULT`]) and `before`.
///
/// # Errors
/// 400 `VALIDATION_ERROR` for a `limit` outside 1..=[`LIMIT_MAX`] or a
/// `before` below 1.
fn page_bounds(limit: Option<i64>, before: Option<MessageId>) -> ChatResult<i64> {
    let limit = limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(ChatError::Validation(format!(
            "limit must be between 1 and {LIMIT_MAX}"
        )));
    }
    if before.is_some_and(|b| b.get() < 1) {
        return Err(ChatError::Validation(
            "before must be a message id (a positive integer)".into(),
        ));
    }
    Ok(limit)
}

impl Chat {
    /// Searches message text and thread display names (the admin's search;
    /// the caller checks that it is the admin). `q`: the words (see the
    /// module doc); `limit`: results per page, 1..=[`LIMIT_MAX`] (default
    /// [`LIMIT_DEFAULT`]); `before`: only messages with a smaller id (the
    /// previous page's `next_before`).
    ///
    /// # Errors
    /// `BadRequest` for a missing, empty, over-long or wordless `q` or too
    /// many words ([`terms`]); `Validation` for `limit` / `before` out of
    /// range; database errors.
    #[tracing::instrument(skip(self, q))]
    pub async fn search(
        &self,
        q: Option<&str>,
        limit: Option<i64>,
        before: Option<MessageId>,
    ) -> ChatResult<SearchResults> {
        let terms = terms(q.unwrap_or(""))?;
        let limit = page_bounds(limit, before)?;
        let mut rows = search::messages(&self.db, &terms, limit + 1, before).await?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for r in &mut rows {
            self.options
                .names
                .show(&mut r.message, crate::domain::Role::Admin);
        }
        let next_before = more.then(|| rows.last().map(|r| r.message.id)).flatten();
        let threads = if before.is_none() {
            search::threads(&self.db, &terms, limit.min(THREADS_MAX)).await?
        } else {
            Vec::new()
        };
        let results = rows
            .into_iter()
            .map(|r| MessageHit {
                snippet: snippet(&r.message.content_text, &terms, SNIPPET_CHARS),
                thread: ThreadRef {
                    id: r.message.thread_id.as_str().to_owned(),
                    display_name: r.display_name,
                    status: r.status,
                },
                message: r.message,
            })
            .collect();
        let threads = threads
            .into_iter()
            .map(|t| ThreadHit {
                highlight: highlight(&t.display_name, &terms),
                last_activity: crate::domain::rfc3339_string(&t.last_activity_at),
                id: t.id,
                display_name: t.display_name,
                status: t.status,
            })
            .collect();
        Ok(SearchResults {
            terms,
            results,
            threads,
            next_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(q: &str) -> Vec<String> {
        terms(q).unwrap()
    }

    #[test]
    fn folding_is_turkish_aware_for_the_dotted_capital() {
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("ŞEKER Ğ"), "şeker ğ");
        assert_eq!(fold("ILIK ılık"), "ilik ılık");
    }

    #[test]
    fn queries_are_words_never_syntax() {
        assert_eq!(t("  İstanbul  şeker "), ["istanbul", "şeker"]);
        assert_eq!(
            t("\"a* NEAR(b c) -d OR e\""),
            ["a", "near", "b", "c", "d", "or", "e"]
        );
        assert_eq!(t("x x X"), ["x"]);
        assert_eq!(t("NEAR("), ["near"]);
        for bad in ["", "   ", "\"", "*", "-", "()", "'\"*^:"] {
            let e = terms(bad);
            assert!(
                matches!(e, Err(ChatError::BadRequest(_))),
                "{bad:?} → {e:?}"
            );
        }
        assert!(terms(&"a".repeat(200)).is_ok());
        assert!(terms(&"a".repeat(201)).is_err());
        assert!(terms("a b c d e f g h i j").is_ok());
        assert!(terms("a b c d e f g h i j k").is_err());
    }

    #[test]
    fn bounds_of_a_page() {
        assert_eq!(page_bounds(None, None).unwrap(), LIMIT_DEFAULT);
        assert_eq!(page_bounds(Some(100), Some(MessageId(5))).unwrap(), 100);
        for (l, b) in [
            (Some(0), None),
            (Some(101), None),
            (None, Some(MessageId(0))),
            (None, Some(MessageId(-3))),
        ] {
            assert!(matches!(page_bounds(l, b), Err(ChatError::Validation(_))));
        }
    }
}
