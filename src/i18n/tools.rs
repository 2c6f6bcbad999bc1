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
    /// Thread event lines (issue 22 item 7), `{name}`: the agent.
    pub event_close: &'static str,
    /// `{name}` reopened the thread.
    pub event_reopen: &'static str,
    /// `{name}` blocked the visitor.
    pub event_block: &'static str,
    /// `{name}` unblocked the visitor.
    pub event_unblock: &'static str,
    /// `{name}` cleared the messages.
    pub event_clear: &'static str,
    /// `{name}` assigned the thread to `{detail}`.
    pub event_assign: &'static str,
    /// Button: take the open thread (issue 22 item 4).
    pub take: &'static str,
    /// Name of the assignee picker.
    pub assignee_label: &'static str,
    /// The picker's choice (and the list's word) for no assignee.
    pub unassigned: &'static str,
    /// Name of the assignee filter group.
    pub assignee_filter_label: &'static str,
    /// Filter: my threads.
    pub filter_mine: &'static str,
    /// Filter: threads nobody has.
    pub filter_unassigned: &'static str,
    /// Filter: every agent's threads.
    pub filter_everyone: &'static str,
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
    event_close: "{name} konuşmayı kapattı",
    event_reopen: "{name} konuşmayı yeniden açtı",
    event_block: "{name} ziyaretçiyi engelledi",
    event_unblock: "{name} ziyaretçinin engelini kaldırdı",
    event_clear: "{name} mesajları temizledi",
    event_assign: "{name} konuşmayı atadı: {detail}",
    take: "Üstlen",
    assignee_label: "Atanan temsilci",
    unassigned: "Atanmamış",
    assignee_filter_label: "Atanan",
    filter_mine: "Benim",
    filter_unassigned: "Atanmamış",
    filter_everyone: "Herkes",
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
    event_close: "{name} closed the thread",
    event_reopen: "{name} reopened the thread",
    event_block: "{name} blocked the visitor",
    event_unblock: "{name} unblocked the visitor",
    event_clear: "{name} cleared the messages",
    event_assign: "{name} assigned the thread to {detail}",
    take: "Take",
    assignee_label: "Assignee",
    unassigned: "Unassigned",
    assignee_filter_label: "Assignee",
    filter_mine: "Mine",
    filter_unassigned: "Unassigned",
    filter_everyone: "All",
};

/// The tool strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static ToolStrings {
    if lang == "tr" { &TR } else { &EN }
}
