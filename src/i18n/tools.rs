//! Strings of the admin's thread tools in the panel (issue 13): close and
//! reopen, block and unblock, the open / closed filter. Chosen with the
//! page's language tag (`tr` | `en`).

/// The thread tools' texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolStrings {
    /// Button: close the open thread.
    pub close: &'static str,
    /// Button: reopen the closed thread.
    pub reopen: &'static str,
    /// Button: block the thread's visitor.
    pub block: &'static str,
    /// Button: unblock the thread's visitor.
    pub unblock: &'static str,
    /// Name of the status filter group.
    pub filter_label: &'static str,
    /// Filter: open threads.
    pub filter_open: &'static str,
    /// Filter: closed threads.
    pub filter_closed: &'static str,
    /// Filter: threads whose visitor is blocked.
    pub filter_blocked: &'static str,
    /// Filter: every thread.
    pub filter_all: &'static str,
    /// Marker of a blocked visitor.
    pub blocked: &'static str,
    /// Marker of a closed thread.
    pub closed: &'static str,
    /// Confirmation before blocking.
    pub block_confirm: &'static str,
}

/// Turkish.
pub static TR: ToolStrings = ToolStrings {
    close: "Kapat",
    reopen: "Yeniden aç",
    block: "Engelle",
    unblock: "Engeli kaldır",
    filter_label: "Sohbet durumu",
    filter_open: "Açık",
    filter_closed: "Kapalı",
    filter_blocked: "Engelli",
    filter_all: "Tümü",
    blocked: "Engellendi",
    closed: "Kapalı",
    block_confirm: "Bu ziyaretçi engellensin mi? Mesajları reddedilir; hiçbir şey silinmez.",
};

/// English.
pub static EN: ToolStrings = ToolStrings {
    close: "Close",
    reopen: "Reopen",
    block: "Block",
    unblock: "Unblock",
    filter_label: "Conversation status",
    filter_open: "Open",
    filter_closed: "Closed",
    filter_blocked: "Blocked",
    filter_all: "All",
    blocked: "Blocked",
    closed: "Closed",
    block_confirm: "Block this visitor? Their messages will be refused; nothing is deleted.",
};

/// The tool strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static ToolStrings {
    if lang == "tr" { &TR } else { &EN }
}
