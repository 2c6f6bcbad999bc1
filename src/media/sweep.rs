//! Removing local uploads that no message refers to (`UPLOAD_SWEEP_GRACE_SECS`),
//! and measuring what `UPLOAD_DIR` holds for the quota.
//!
//! A stored file `UPLOAD_DIR/<images|audio>/<uuid>.<ext>` is *referenced*
//! when some message's `file_url` is `/uploads/<images|audio>/<uuid>.<ext>`.
//! A pass lists the two folders first; the stored files older than the
//! grace are the candidates. For each chunk of at most [`CHECK_CHUNK`]
//! candidates it then asks which are referenced
//! (`store::messages::referenced_among`, one query) and at once removes
//! the others. The grace is the time a client has between its upload and
//! the message that uses it; clearing a thread deletes its messages, so its
//! files go at the next pass after the grace.
//!
//! Remaining race: a message naming a candidate that is posted after that
//! chunk's query and before its file is removed (the chat core checked the
//! file exists a moment earlier) points at a file that is gone. The window
//! is one query's answer plus the removal of at most [`CHECK_CHUNK`] files,
//! and it is open only for a file older than the grace that no message
//! used so far (a client posting an upload it made long ago); the Telegram
//! forward of such a message then ends `dead` as "missing".
//!
//! Safety: only the `images` and `audio` folders directly under
//! `UPLOAD_DIR` are looked at (not followed when they are symbolic links),
//! only regular files (never a link) whose names this server gives
//! ([`super::parse_file_name`]) or its temporary files
//! (`.upload-<uuid>.part`, removed once older than the grace and at least
//! an hour: left by a crash), and a stored file is removed only after the
//! check of its chunk succeeded. It never writes to the database and never
//! reads a file.

use std::{
    path::{Path, PathBuf},
    sync::Weak,
    time::{Duration, SystemTime},
};

use super::{Kind, parse_file_name};
use crate::store::{Db, messages::referenced_among};

/// Least age of a temporary `.upload-*.part` file before a pass removes it
/// (an upload in progress keeps writing to it; a crash leaves it behind).
pub const TEMP_MIN_AGE: Duration = Duration::from_secs(3600);

/// Most candidates checked against the messages in one query right before
/// their removal (a smaller chunk narrows the race in the module doc).
pub const CHECK_CHUNK: usize = 64;

/// How often the folder is measured again when the sweep is off.
pub const MEASURE_EVERY: Duration = Duration::from_secs(15 * 60);

/// What one pass found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Files removed (unreferenced stored files and stale temporary files).
    pub removed: usize,
    /// Stored files kept.
    pub kept: usize,
    /// Bytes of the stored files kept (the quota's stored total).
    pub kept_bytes: u64,
}

/// One file found in a kind folder.
struct Found {
    path: PathBuf,
    /// `/uploads/<folder>/<name>`; `None` for a temporary file.
    url: Option<String>,
    bytes: u64,
    age: Duration,
}

/// How often the sweep runs for `grace`: a quarter of it, between 1 s and
/// 15 minutes.
pub fn interval(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_secs(1), Duration::from_secs(15 * 60))
}

/// Lists the stored and temporary files of both kind folders under `root`.
async fn list(root: &Path) -> std::io::Result<Vec<Found>> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for kind in [Kind::Image, Kind::Audio] {
        let dir = root.join(kind.folder());
        match tokio::fs::symlink_metadata(&dir).await {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                tracing::warn!(dir = %dir.display(), "not a plain folder; the sweep skips it");
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        let mut entries = tokio::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let url = if parse_file_name(kind, &name).is_some() {
                Some(format!("/uploads/{}/{name}", kind.folder()))
            } else if is_temp_name(&name) {
                None
            } else {
                continue;
            };
            // `DirEntry::metadata` does not follow symbolic links.
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if !meta.file_type().is_file() {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            out.push(Found {
                path: dir.join(&name),
                url,
                bytes: meta.len(),
                age,
            });
        }
    }
    Ok(out)
}

/// `.upload-<uuid>.part`, as `storage::TempFile` names them.
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".upload-")
        .and_then(|r| r.strip_suffix(".part"))
        .is_some_and(|id| uuid::Uuid::try_parse(id).is_ok())
}

/// Bytes of the stored files under `root` (temporary files not counted:
/// uploads in progress hold their own reservations).
///
/// # Errors
/// I/O errors reading the folders.
#[tracing::instrument(skip_all)]
pub async fn measure(root: &Path) -> std::io::Result<u64> {
    Ok(list(root)
        .await?
        .iter()
        .filter(|f| f.url.is_some())
        .map(|f| f.bytes)
        .sum())
}

/// Why a pass did nothing.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The folders could not be read.
    #[error("reading the upload folder: {0}")]
    Io(#[from] std::io::Error),
    /// The references could not be read; no file of that chunk or later was removed.
    #[error("reading the referenced uploads: {0}")]
    Db(#[from] crate::store::StoreError),
}

impl Pass {
    /// Counts `f` as kept (a stored file; temporary files are not counted).
    fn keep(&mut self, f: &Found) {
        if f.url.is_some() {
            self.kept += 1;
            self.kept_bytes += f.bytes;
        }
    }
}

/// Removes `f`, counting it as removed, or as kept when it cannot be.
async fn remove_or_keep(f: Found, pass: &mut Pass) {
    match tokio::fs::remove_file(&f.path).await {
        Ok(()) => pass.removed += 1,
        // Another instance sharing the folder was first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %f.path.display(), error = %e, "unused upload not removed");
            pass.keep(&f);
        }
    }
}

/// One pass over `root` (see the module doc): removes stored files older
/// than `grace` that no message refers to (checked right before, per chunk
/// of [`CHECK_CHUNK`]), and temporary files older than `grace` and
/// [`TEMP_MIN_AGE`].
///
/// # Errors
/// [`SweepError`]; then no further file is removed in this pass (stale
/// temporary files and earlier chunks may have gone already).
#[tracing::instrument(skip_all)]
pub async fn sweep(root: &Path, db: &Db, grace: Duration) -> Result<Pass, SweepError> {
    let found = list(root).await?;
    let mut pass = Pass::default();
    let mut candidates = Vec::new();
    for f in found {
        let remove = match &f.url {
            Some(_) => f.age > grace,
            None => f.age > grace.max(TEMP_MIN_AGE),
        };
        if !remove {
            pass.keep(&f);
        } else if f.url.is_some() {
            candidates.push(f);
        } else {
            remove_or_keep(f, &mut pass).await;
        }
    }
    // Checked just before removing: a file a message took up since the
    // listing is kept. Temporary files were removed above.
    while !candidates.is_empty() {
        let chunk: Vec<Found> = candidates
            .drain(..CHECK_CHUNK.min(candidates.len()))
            .collect();
        let urls: Vec<String> = chunk.iter().filter_map(|f| f.url.clone()).collect();
        let referenced = referenced_among(db, &urls).await?;
        for f in chunk {
            if f.url.as_ref().is_some_and(|u| referenced.contains(u)) {
                pass.keep(&f);
            } else {
                remove_or_keep(f, &mut pass).await;
            }
        }
    }
    if pass.removed > 0 {
        tracing::info!(
            removed = pass.removed,
            kept = pass.kept,
            "unused uploads removed"
        );
    }
    Ok(pass)
}

/// Measures the folder now, then spawns the upkeep loop described at
/// [`super::Media::start_upkeep`].
pub(super) async fn start(media: Weak<super::Inner>, db: Db) {
    let Some(inner) = media.upgrade() else {
        return;
    };
    let root = inner.upload_dir.clone();
    let grace = inner.sweep_grace;
    match measure(&root).await {
        Ok(bytes) => inner.quota.set_stored(bytes),
        Err(e) => tracing::warn!(error = %e, "upload folder not measured"),
    }
    drop(inner);
    let every = grace.map_or(MEASURE_EVERY, interval);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(inner) = media.upgrade() else {
                break;
            };
            let measured = match grace {
                Some(grace) => sweep(&root, &db, grace).await.map(|p| p.kept_bytes),
                None => measure(&root).await.map_err(SweepError::from),
            };
            match measured {
                Ok(bytes) => inner.quota.set_stored(bytes),
                Err(SweepError::Db(e)) if e.is_closed() => break,
                Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_and_intervals() {
        assert!(is_temp_name(
            ".upload-0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.part"
        ));
        assert!(!is_temp_name(".upload-x.part"));
        assert!(!is_temp_name("0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.png"));
        assert_eq!(
            interval(Duration::from_secs(3600)),
            Duration::from_secs(900)
        );
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            interval(Duration::from_secs(86400)),
            Duration::from_secs(900)
        );
    }

    #[tokio::test]
    async fn measure_counts_only_our_names_and_skips_links() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        let ours = images.join("0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.png");
        std::fs::write(&ours, [0u8; 100]).unwrap();
        std::fs::write(images.join("notes.png"), [0u8; 1000]).unwrap();
        std::fs::write(
            images.join(".upload-0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.part"),
            [0u8; 10],
        )
        .unwrap();
        let outside = dir.path().join("outside.png");
        std::fs::write(&outside, [0u8; 5000]).unwrap();
        std::os::unix::fs::symlink(
            &outside,
            images.join("1b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.png"),
        )
        .unwrap();
        assert_eq!(measure(dir.path()).await.unwrap(), 100);
    }
}
