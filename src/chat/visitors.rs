//! Visitor contexts (issue 14) as the chat core keeps them: where a
//! visitor is (page, referrer, browser…) and who it is (name, email, the
//! site's verified user). The HTTP adapter validates the fields; this
//! service stores and reads them.

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
    pub async fn report_page(&self, thread_id: &str, report: &PageReport) -> ChatResult<()> {
        store::visitors::report_page(&self.db, thread_id, report, store::now()).await?;
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
    pub async fn get(&self, thread_id: &str) -> ChatResult<Option<VisitorContext>> {
        Ok(store::visitors::get(&self.db, thread_id).await?)
    }

    /// The thread bound to the site's verified user `user_id`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread_of_user(&self, user_id: &str) -> ChatResult<Option<String>> {
        Ok(store::visitors::thread_of_user(&self.db, user_id).await?)
    }

    /// Stores an unverified name and email (never over verified ones).
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_unverified(
        &self,
        thread_id: &str,
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
        thread_id: &str,
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
