//! Strings of the admin panel's message search (issue 13): the results
//! list under the search box and what it says while searching. Chosen with
//! the page's language tag (`tr` | `en`); `{n}` is filled in by the script.

/// The search texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchStrings {
    /// Heading of the results list.
    pub heading: &'static str,
    /// Hint under the search box: what the search covers.
    pub hint: &'static str,
    /// While a search runs.
    pub searching: &'static str,
    /// How many messages were found (`{n}`; more pages may follow).
    pub count: &'static str,
    /// As `count`, when there are more results than shown.
    pub count_more: &'static str,
    /// Nothing found.
    pub none: &'static str,
    /// Loads the next page of results.
    pub more: &'static str,
    /// The search failed (network, server).
    pub failed: &'static str,
    /// Tag of a result that is a conversation matched by its display name.
    pub thread_tag: &'static str,
    /// The chosen message is no longer in its thread (cleared).
    pub gone: &'static str,
}

/// Turkish.
pub static TR: SearchStrings = SearchStrings {
    heading: "Mesajlar",
    hint: "Mesajlarda ve ziyaretçi adlarında arar",
    searching: "Aranıyor…",
    count: "{n} mesaj bulundu",
    count_more: "{n} mesaj gösteriliyor, daha fazlası var",
    none: "Bu sözcüklerle mesaj bulunamadı",
    more: "Daha fazla sonuç",
    failed: "Arama yapılamadı",
    thread_tag: "Sohbet",
    gone: "Bu mesaj artık yok (sohbet temizlenmiş olabilir)",
};

/// English.
pub static EN: SearchStrings = SearchStrings {
    heading: "Messages",
    hint: "Searches messages and visitor names",
    searching: "Searching…",
    count: "{n} messages found",
    count_more: "Showing {n} messages, there are more",
    none: "No messages with these words",
    more: "More results",
    failed: "Search failed",
    thread_tag: "Conversation",
    gone: "This message is no longer there (the conversation may have been cleared)",
};

/// The search strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static SearchStrings {
    if lang == "tr" { &TR } else { &EN }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_fill_the_count() {
        for s in [&TR, &EN] {
            assert!(s.count.contains("{n}") && s.count_more.contains("{n}"));
        }
        assert_eq!(pick("tr").more, "Daha fazla sonuç");
        assert_eq!(pick("de").more, "More results");
    }
}
