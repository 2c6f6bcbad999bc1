//! `sohbet backup FILE` (issue 27 item 5): on SQLite a consistent copy of
//! the database made with `VACUUM INTO` while the server keeps serving
//! (one read transaction; in WAL mode writers go on). An existing file is
//! never overwritten. On Postgres nothing is copied: the command names the
//! `pg_dump` recipe of `docs/your-data.md` instead. Uploads are files in
//! `UPLOAD_DIR` (or on Cloudinary) and are copied separately.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::Data;
use crate::{
    chat::ChatError,
    domain::{ActedBy, AuditAction},
    store,
};

/// The recipe printed for Postgres.
pub const PG_DUMP_RECIPE: &str = "pg_dump --format=custom --file=sohbet.dump \"$DATABASE_URL\" \
     (restore: pg_restore --clean --if-exists --dbname=\"$DATABASE_URL\" sohbet.dump)";

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target exists: it is never overwritten.
    #[error("{0} exists; a backup never overwrites a file (choose a new name)")]
    Exists(PathBuf),
    /// The target's folder does not exist.
    #[error("the folder of {0} does not exist")]
    NoFolder(PathBuf),
    /// The path is not valid UTF-8 (SQLite takes a text file name).
    #[error("the backup path must be valid UTF-8")]
    BadPath,
    /// The database is Postgres: use `pg_dump`.
    #[error("the database is Postgres: back it up with pg_dump, e.g. {PG_DUMP_RECIPE}")]
    Postgres,
    /// The copy failed.
    #[error("backup failed: {0}")]
    Failed(#[from] ChatError),
}

impl Data {
    /// Writes a consistent copy of the SQLite database to `path` (which
    /// must not exist) and records it in the audit log by `by` (target:
    /// the file name without its folder). Returns the copy's size in bytes.
    ///
    /// # Errors
    /// [`BackupError`].
    #[tracing::instrument(skip(self, by))]
    pub async fn backup(&self, path: &Path, by: &ActedBy) -> Result<u64, BackupError> {
        if matches!(self.db, store::Db::Postgres(_)) {
            return Err(BackupError::Postgres);
        }
        if path.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(path.to_owned()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(BackupError::NoFolder(path.to_owned()));
        }
        let text = path.to_str().ok_or(BackupError::BadPath)?;
        store::erase::vacuum_into(&self.db, text)
            .await
            .map_err(ChatError::from)?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.audit(
            by,
            AuditAction::Backup,
            Some(&name),
            Some(&json!({"bytes": size})),
        )
        .await?;
        Ok(size)
    }
}
