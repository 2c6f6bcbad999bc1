//! Visitor contexts (issue 14) as the chat core keeps them: where a
//! visitor is (page, referrer, browser…) and who it is (name, email, the
//! site's verified user). The HTTP adapter validates the fields; this
//! service stores and reads them, and keeps secrets out of the page URLs
//! it stores or shows ([`redact_url`], issue 20 item 8).

use crate::domain::ThreadId;
use std::sync::atomic::{AtomicI64, Ordering};

use super::ChatResult;
use crate::store::{self, Db};

pub use crate::domain::{PageReport, VisitorContext};

/// When contexts without a thread were last pruned (Unix seconds).
static LAST_PRUNE: AtomicI64 = AtomicI64::new(0);

/// The visitor-context service; cheap to clone.
#[derive(Clone)]
pub struct Visitors {
    db: Db,
}

impl Visitors {
    pub(super) fn new(db: Db) -> Self {
        Visitors { db }
    }

    /// Stores where the visitor of `thread_id` is; now and then (at most
    /// every 10 minutes) removes contexts of visitors who never wrote and
    /// were last seen more than a day ago.
    ///
    /// # Errors
    /// Database errors.
    pub async fn report_page(&self, thread_id: &ThreadId, report: &PageReport) -> ChatResult<()> {
        // The server is the authority: whatever client sent the report.
        let report = PageReport {
            page_url: report.page_url.as_deref().map(redact_url),
            referrer: report.referrer.as_deref().map(redact_url),
            ..report.clone()
        };
        store::visitors::report_page(&self.db, thread_id, &report, store::now()).await?;
        self.prune_now_and_then().await;
        Ok(())
    }

    async fn prune_now_and_then(&self) {
        let now = chrono::Utc::now();
        let last = LAST_PRUNE.load(Ordering::Relaxed);
        if now.timestamp() - last < 600
            || LAST_PRUNE
                .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let before = now - chrono::TimeDelta::days(1);
        if let Err(e) = store::visitors::prune_orphans(&self.db, before).await {
            tracing::warn!(error = %e, "could not prune visitor contexts");
        }
    }

    /// The context of a thread's visitor (`None`: nothing reported).
    ///
    /// # Errors
    /// Database errors.
    pub async fn get(&self, thread_id: &ThreadId) -> ChatResult<Option<VisitorContext>> {
        Ok(store::visitors::get(&self.db, thread_id)
            .await?
            .map(redacted))
    }

    /// The thread bound to the site's verified user `user_id`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread_of_user(&self, user_id: &str) -> ChatResult<Option<ThreadId>> {
        Ok(store::visitors::thread_of_user(&self.db, user_id).await?)
    }

    /// Stores an unverified name and email (never over verified ones).
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_unverified(
        &self,
        thread_id: &ThreadId,
        name: Option<&str>,
        email: Option<&str>,
    ) -> ChatResult<()> {
        Ok(store::visitors::set_unverified(&self.db, thread_id, name, email, store::now()).await?)
    }

    /// Binds `thread_id` to the verified user `user_id` with its name and
    /// email; `false` when another thread got that user first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bind_user(
        &self,
        thread_id: &ThreadId,
        user_id: &str,
        name: Option<&str>,
        email: Option<&str>,
    ) -> ChatResult<bool> {
        Ok(
            store::visitors::bind_user(&self.db, thread_id, user_id, name, email, store::now())
                .await?,
        )
    }
}

/// `c` with its URLs through [`redact_url`]: every context read to be shown
/// (the panel, the first Telegram forward) passes here, because rows stored
/// before issue 20 may hold secrets.
pub(crate) fn redacted(mut c: VisitorContext) -> VisitorContext {
    c.page_url = c.page_url.as_deref().map(redact_url);
    c.referrer = c.referrer.as_deref().map(redact_url);
    c
}

/// The mask that replaces a secret-looking query value.
pub const MASK: &str = "***";

/// `url` without what must not be stored or shown (issue 20 item 8): the
/// fragment (`#access_token=…` of OAuth implicit flows) is dropped, the
/// userinfo (`user:password@`) too, and the value of every query parameter
/// whose name contains one of [`crate::redact::SECRET_PARAM_WORDS`] becomes [`MASK`]
/// (`?reset_token=abc&q=shoes` → `?reset_token=***&q=shoes`): the name
/// stays, so the admin sees which parameter was there. Other parameters
/// keep their exact bytes.
pub fn redact_url(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let mut out = match crate::redact::split_user_info(head) {
        Some((scheme, true, rest)) => format!("{scheme}://{rest}"),
        _ => head.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        out.push_str(&crate::redact::mask_query(query, MASK));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_userinfo_and_secret_values_are_removed() {
        assert_eq!(
            redact_url("https://shop.example/reset?reset_token=abc123&q=shoes#access_token=xyz"),
            "https://shop.example/reset?reset_token=***&q=shoes"
        );
        assert_eq!(
            redact_url("https://a.example/cb?CODE=1&state=s&API_Key=k&X-Amz-Signature=f&page=2"),
            "https://a.example/cb?CODE=***&state=s&API_Key=***&X-Amz-Signature=***&page=2"
        );
        // Encoded names are matched decoded; other parameters keep their bytes.
        assert_eq!(
            redact_url("http://a.example/?reset%5F%74oken=abc&q=a+b%20c&flag&=x"),
            "http://a.example/?reset%5F%74oken=***&q=a+b%20c&flag&=x"
        );
        assert_eq!(
            redact_url("https://user:pw@a.example/p?x=1"),
            "https://a.example/p?x=1"
        );
        assert_eq!(
            redact_url("https://a.example/#/route"),
            "https://a.example/"
        );
        assert_eq!(redact_url("https://a.example/p"), "https://a.example/p");
        assert_eq!(
            redact_url("https://a.example/p?%zz=1"),
            "https://a.example/p?%zz=1"
        );
    }
}
