//! Removing a stored file by the URL a message carried (issue 27: erasing
//! a thread): a local `/uploads/<images|audio>/<uuid>.<ext>` is deleted
//! from `UPLOAD_DIR`; a Cloudinary delivery URL of the configured account
//! is destroyed through Cloudinary's API. Any other URL names nothing this
//! server stores.

use super::{Media, MediaError, storage::Storage};

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// It was deleted.
    Removed,
    /// It was not there (already gone).
    Missing,
    /// Not a file of this server's storage (another host, or a Cloudinary
    /// URL while Cloudinary is not configured): it could not be removed.
    NotOurs,
}

impl Media {
    /// Removes the file behind `file_url` (see the module doc).
    ///
    /// # Errors
    /// [`MediaError::Io`] when a local file cannot be deleted,
    /// [`MediaError::Upstream`] when Cloudinary refuses or does not answer.
    #[tracing::instrument(skip(self))]
    pub async fn remove(&self, file_url: &str) -> Result<Removal, MediaError> {
        if let Some(rest) = file_url.strip_prefix("/uploads/") {
            let Some((folder, name)) = rest.split_once('/') else {
                return Ok(Removal::NotOurs);
            };
            let Some((path, _)) = self.local_file(folder, name) else {
                return Ok(Removal::NotOurs);
            };
            return match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(Removal::Removed),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Missing),
                Err(e) => Err(MediaError::Io(e)),
            };
        }
        let Storage::Cloudinary(c) = &self.inner.storage else {
            return Ok(Removal::NotOurs);
        };
        let Some((resource_type, public_id)) = c.public_id_of(file_url) else {
            return Ok(Removal::NotOurs);
        };
        Ok(if c.destroy(resource_type, &public_id).await? {
            Removal::Removed
        } else {
            Removal::Missing
        })
    }
}
