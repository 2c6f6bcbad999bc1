//! Reading a stored file back by the URL a message carried (issue 27:
//! exports): a local `/uploads/<images|audio>/<uuid>.<ext>` is read from
//! `UPLOAD_DIR`; a Cloudinary delivery URL of the configured account is
//! fetched (`GET`, from `CLOUDINARY_DELIVERY_URL`). Both are read chunk by
//! chunk, so a file is never held whole in memory. Any other URL names
//! nothing this server stores and is never fetched (no request to a host a
//! message names).

use tokio::io::AsyncReadExt;

use super::{Media, MediaError, storage::Storage};

/// Bytes read from a local file at a time.
const CHUNK: usize = 64 * 1024;

/// A stored file being read.
pub enum MediaReader {
    /// A local file.
    Local(tokio::fs::File),
    /// A Cloudinary answer being received.
    Remote(reqwest::Response),
}

impl MediaReader {
    /// The next chunk; `None` at the end.
    ///
    /// # Errors
    /// [`MediaError::Io`] reading a local file, [`MediaError::Upstream`]
    /// when Cloudinary's answer breaks off.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, MediaError> {
        match self {
            MediaReader::Local(f) => {
                let mut buf = vec![0; CHUNK];
                let n = f.read(&mut buf).await?;
                buf.truncate(n);
                Ok((n > 0).then_some(buf))
            }
            MediaReader::Remote(r) => r
                .chunk()
                .await
                .map(|c| c.map(|b| b.to_vec()))
                .map_err(|e| MediaError::Upstream(format!("reading the file: {e}"))),
        }
    }
}

impl Media {
    /// The path a file gets inside an export: `media/images/<name>` or
    /// `media/audio/<name>` for a local file, `media/cloudinary/<image|video>/<public_id>.<ext>`
    /// for one of this account's Cloudinary files; `None` for a URL that
    /// names nothing this server stores.
    pub fn export_name(&self, file_url: &str) -> Option<String> {
        if let Some(rest) = file_url.strip_prefix("/uploads/") {
            let (folder, name) = rest.split_once('/')?;
            self.local_file(folder, name)?;
            return Some(format!("media/{folder}/{name}"));
        }
        let Storage::Cloudinary(c) = &self.inner.storage else {
            return None;
        };
        let (resource_type, public_id) = c.public_id_of(file_url)?;
        let ext = file_url
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| {
                !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .unwrap_or("bin");
        Some(format!(
            "media/cloudinary/{resource_type}/{public_id}.{ext}"
        ))
    }

    /// Opens the file behind `file_url` for reading (see the module doc).
    /// `Ok(None)` when it names nothing this server stores or the local
    /// file is gone.
    ///
    /// # Errors
    /// [`MediaError::Io`] when a local file cannot be opened,
    /// [`MediaError::Upstream`] when Cloudinary does not answer or answers
    /// other than 200 (404: `Ok(None)`).
    #[tracing::instrument(skip(self))]
    pub async fn open(&self, file_url: &str) -> Result<Option<MediaReader>, MediaError> {
        if let Some(rest) = file_url.strip_prefix("/uploads/") {
            let Some((path, _)) = rest
                .split_once('/')
                .and_then(|(folder, name)| self.local_file(folder, name))
            else {
                return Ok(None);
            };
            return match tokio::fs::File::open(&path).await {
                Ok(f) => Ok(Some(MediaReader::Local(f))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(MediaError::Io(e)),
            };
        }
        let Storage::Cloudinary(c) = &self.inner.storage else {
            return Ok(None);
        };
        Ok(c.fetch(file_url).await?.map(MediaReader::Remote))
    }
}

impl Media {
    /// Where the archive entry `entry` (`media/images/<name>` or
    /// `media/audio/<name>`, one of our file names) is restored under
    /// `UPLOAD_DIR`, with the URL messages carry for it; `None` for any
    /// other entry (Cloudinary copies stay in the archive: their URLs
    /// still name Cloudinary).
    pub fn import_path(&self, entry: &str) -> Option<(std::path::PathBuf, String)> {
        let (folder, name) = entry.strip_prefix("media/")?.split_once('/')?;
        let (path, _) = self.local_file(folder, name)?;
        Some((path, format!("/uploads/{folder}/{name}")))
    }
}
