//! The disk quota of `UPLOAD_DIR` (`UPLOAD_QUOTA_MB`): bytes of stored
//! files plus bytes of uploads still arriving may not pass the limit. An
//! upload reserves its bytes chunk by chunk before they are written, so
//! parallel uploads cannot overshoot together; a refused or failed upload
//! gives its reservation back when it is dropped.
//!
//! The stored total is learned from a scan of the folder at start and after
//! each sweep (`super::sweep`), and kept up to date in between by the
//! uploads themselves. Files put there or removed by hand, or by another
//! instance sharing the folder, count from the next scan on.

use std::sync::{Arc, Mutex, PoisonError};

use super::MediaError;

/// Usage of the upload folder against an optional limit; shared by every
/// upload of one server.
#[derive(Debug)]
pub struct Quota {
    /// The limit in bytes; `None` counts without refusing.
    limit: Option<u64>,
    usage: Mutex<Usage>,
}

#[derive(Debug, Default)]
struct Usage {
    /// Bytes of files stored under their final names.
    stored: u64,
    /// Bytes reserved by uploads in progress (their temporary files).
    in_flight: u64,
}

impl Quota {
    /// A quota of `limit` bytes (`None`: no limit), nothing counted yet.
    pub fn new(limit: Option<u64>) -> Arc<Quota> {
        Arc::new(Quota {
            limit,
            usage: Mutex::new(Usage::default()),
        })
    }

    fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        // The guarded section never panics; a poisoned lock still holds
        // consistent numbers.
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stored plus in-flight bytes.
    pub fn used(&self) -> u64 {
        let u = self.usage();
        u.stored + u.in_flight
    }

    /// Bytes still free under the limit (`None` when there is no limit).
    pub fn room(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used()))
    }

    /// Sets the stored total found by a scan of the folder.
    pub fn set_stored(&self, bytes: u64) {
        self.usage().stored = bytes;
    }

    /// A new, empty reservation for one upload.
    ///
    /// # Errors
    /// [`MediaError::QuotaExceeded`] when the folder is already full.
    pub fn start(self: &Arc<Quota>) -> Result<Reservation, MediaError> {
        if self.room() == Some(0) {
            return Err(MediaError::QuotaExceeded);
        }
        Ok(Reservation {
            quota: Arc::clone(self),
            bytes: 0,
        })
    }
}

/// The bytes one upload in progress holds against the [`Quota`]; released
/// on drop unless [`Reservation::commit`]ted.
#[derive(Debug)]
pub struct Reservation {
    quota: Arc<Quota>,
    bytes: u64,
}

impl Reservation {
    /// Reserves `n` more bytes.
    ///
    /// # Errors
    /// [`MediaError::QuotaExceeded`] when they do not fit; nothing is
    /// reserved then.
    pub fn grow(&mut self, n: u64) -> Result<(), MediaError> {
        let mut u = self.quota.usage();
        if let Some(limit) = self.quota.limit
            && u.stored + u.in_flight + n > limit
        {
            return Err(MediaError::QuotaExceeded);
        }
        u.in_flight += n;
        self.bytes += n;
        Ok(())
    }

    /// The upload was stored: its bytes count as stored from now on.
    pub fn commit(mut self) {
        let mut u = self.quota.usage();
        u.in_flight = u.in_flight.saturating_sub(self.bytes);
        u.stored += self.bytes;
        self.bytes = 0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            let mut u = self.quota.usage();
            u.in_flight = u.in_flight.saturating_sub(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back_on_drop() {
        let q = Quota::new(Some(100));
        q.set_stored(40);
        let mut a = q.start().unwrap();
        let mut b = q.start().unwrap();
        a.grow(30).unwrap();
        assert!(matches!(b.grow(31), Err(MediaError::QuotaExceeded)));
        b.grow(30).unwrap();
        assert_eq!(q.room(), Some(0));
        assert!(q.start().is_err(), "full: refused before any byte");
        drop(b);
        assert_eq!(q.used(), 70);
        a.commit();
        assert_eq!(q.used(), 70);
        q.set_stored(10);
        assert_eq!(q.room(), Some(90));
    }

    #[test]
    fn no_limit_counts_but_never_refuses() {
        let q = Quota::new(None);
        let mut r = q.start().unwrap();
        r.grow(u64::from(u32::MAX)).unwrap();
        assert_eq!(q.room(), None);
        r.commit();
        assert_eq!(q.used(), u64::from(u32::MAX));
    }
}
