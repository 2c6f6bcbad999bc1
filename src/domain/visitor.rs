//! Visitor contexts (issue 14): where the visitor of a thread is and who it
//! says or is verified to be ([`VisitorContext`]), and one report of its
//! page ([`PageReport`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ThreadId;

/// A thread's visitor context, as the admin sees it
/// (`GET /api/threads/{id}/context`). Times are RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VisitorContext {
    /// The thread.
    pub thread_id: ThreadId,
    /// URL of the page the visitor is on (updated as it navigates).
    pub page_url: Option<String>,
    /// Title of that page.
    pub page_title: Option<String>,
    /// The page the visitor came from (the first one reported).
    pub referrer: Option<String>,
    /// Browser name and version from the User-Agent, e.g. `Chrome 131.0.0.0`.
    pub browser: Option<String>,
    /// Operating system from the User-Agent, e.g. `Linux`.
    pub os: Option<String>,
    /// The browser's language (`navigator.language`), e.g. `tr-TR`.
    pub language: Option<String>,
    /// The browser's IANA time zone, e.g. `Europe/Istanbul`.
    pub timezone: Option<String>,
    /// Name from `identify` or the pre-chat form.
    pub name: Option<String>,
    /// Email from `identify`, the pre-chat or the away form.
    pub email: Option<String>,
    /// The site's user id: only set when its identity hash was valid.
    pub user_id: Option<String>,
    /// Name and email were vouched for by the site (identity hash).
    pub verified: bool,
    /// When the widget last told this visitor that replies may take a while.
    #[serde(serialize_with = "super::view::opt_rfc3339")]
    pub away_shown_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(serialize_with = "super::view::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl VisitorContext {
    /// The context of thread `thread_id` before anything was reported
    /// (every field empty, `updated_at` the Unix epoch).
    pub fn nothing_reported(thread_id: ThreadId) -> VisitorContext {
        VisitorContext {
            thread_id,
            page_url: None,
            page_title: None,
            referrer: None,
            browser: None,
            os: None,
            language: None,
            timezone: None,
            name: None,
            email: None,
            user_id: None,
            verified: false,
            away_shown_at: None,
            updated_at: DateTime::default(),
        }
    }
}

/// Where the visitor is, as one report of the page or the widget gives it.
#[derive(Clone, Debug, Default)]
pub struct PageReport {
    /// Page URL.
    pub page_url: Option<String>,
    /// Page title.
    pub page_title: Option<String>,
    /// Referrer (kept only when none is stored yet).
    pub referrer: Option<String>,
    /// Browser, parsed from the User-Agent.
    pub browser: Option<String>,
    /// OS, parsed from the User-Agent.
    pub os: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// The away notice was shown now.
    pub away_shown: bool,
}
