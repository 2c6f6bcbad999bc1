//! Where accepted files go: [`Storage::Disk`] (`UPLOAD_DIR/images|audio/<uuid>.<ext>`,
//! written to a temporary file in the same folder and renamed into place, so
//! a refused or aborted upload leaves nothing) or [`Storage::Cloudinary`]
//! (received in memory, at most the kind's limit, then sent signed).
//!
//! The client's file name never reaches a path: every stored name is a
//! fresh UUID v4 with the extension of the sniffed format.

use std::{
    io::BufReader,
    path::{Path, PathBuf},
};

use tokio::io::AsyncWriteExt;

use super::{Format, Kind, MediaError, cloudinary::Cloudinary};

/// Where a stored file is: `file_path` (local `/uploads/…` path, or the
/// Cloudinary `public_id`) and `file_url` (what messages carry: the same
/// local path, or Cloudinary's `secure_url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// `/uploads/images/<uuid>.<ext>`, or the Cloudinary `public_id`.
    pub file_path: String,
    /// `/uploads/images/<uuid>.<ext>`, or `https://res.cloudinary.com/<cloud>/…`.
    pub file_url: String,
}

/// The configured store.
pub enum Storage {
    /// Local disk under `UPLOAD_DIR`.
    Disk(Disk),
    /// Cloudinary's upload API.
    Cloudinary(Cloudinary),
}

/// Local folder store.
pub struct Disk {
    root: PathBuf,
}

impl Disk {
    /// A store under `root` (`UPLOAD_DIR`); sub-folders are made on demand.
    pub fn new(root: PathBuf) -> Disk {
        Disk { root }
    }
}

impl Storage {
    /// Where the bytes of a new upload of `kind` are received.
    pub(super) async fn sink(&self, kind: Kind) -> Result<Sink, MediaError> {
        match self {
            Storage::Disk(disk) => {
                let dir = disk.root.join(kind.folder());
                tokio::fs::create_dir_all(&dir).await?;
                Ok(Sink::File(TempFile::create(&dir).await?))
            }
            Storage::Cloudinary(_) => Ok(Sink::Memory(Vec::new())),
        }
    }

    /// Keeps a received, judged file under a fresh name.
    ///
    /// # Errors
    /// [`MediaError::Io`] (rename), [`MediaError::Upstream`] (Cloudinary).
    pub(super) async fn store(
        &self,
        kind: Kind,
        format: Format,
        sink: Sink,
    ) -> Result<Stored, MediaError> {
        let id = uuid::Uuid::new_v4();
        match (self, sink) {
            (Storage::Disk(_), Sink::File(mut temp)) => {
                let name = format!("{id}.{}", format.ext());
                temp.persist(&name).await?;
                let path = format!("/uploads/{}/{name}", kind.folder());
                Ok(Stored {
                    file_path: path.clone(),
                    file_url: path,
                })
            }
            (Storage::Cloudinary(c), Sink::Memory(bytes)) => {
                c.upload(kind, format, id, bytes).await
            }
            _ => Err(MediaError::Io(std::io::Error::other(
                "upload sink does not match its storage",
            ))),
        }
    }
}

/// Received bytes: a temporary file (disk) or memory (Cloudinary).
pub(super) enum Sink {
    File(TempFile),
    Memory(Vec<u8>),
}

impl Sink {
    pub(super) async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::File(t) => t.file.write_all(chunk).await,
            Sink::Memory(v) => {
                v.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    pub(super) async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(t) => t.file.flush().await,
            Sink::Memory(_) => Ok(()),
        }
    }

    /// `(width, height)` in pixels from the image's header (JPEG, PNG, GIF,
    /// WebP), read with `imagesize`, which parses headers only and never
    /// decodes the picture.
    ///
    /// # Errors
    /// [`MediaError::Unsupported`] when the header cannot be read.
    pub(super) async fn image_size(&self) -> Result<(usize, usize), MediaError> {
        let size = match self {
            Sink::Memory(v) => imagesize::blob_size(v),
            Sink::File(t) => {
                let path = t.path.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::File::open(&path)
                        .map_err(imagesize::ImageError::from)
                        .and_then(|f| imagesize::reader_size(BufReader::new(f)))
                })
                .await
                .map_err(|e| MediaError::Io(std::io::Error::other(e)))?
            }
        };
        match size {
            Ok(s) if s.width > 0 && s.height > 0 => Ok((s.width, s.height)),
            _ => Err(MediaError::Unsupported(
                "The image header is damaged or incomplete".into(),
            )),
        }
    }
}

/// A file `.upload-<uuid>.part` in the final folder (a dotfile: never
/// served), removed on drop unless [`TempFile::persist`] renamed it.
pub(super) struct TempFile {
    path: PathBuf,
    file: tokio::fs::File,
    kept: bool,
}

impl TempFile {
    #[tracing::instrument(skip_all)]
    async fn create(dir: &Path) -> std::io::Result<TempFile> {
        let path = dir.join(format!(".upload-{}.part", uuid::Uuid::new_v4()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(TempFile {
            path,
            file,
            kept: false,
        })
    }

    /// Closes the file and renames it to `name` in the same folder.
    #[tracing::instrument(skip(self))]
    async fn persist(&mut self, name: &str) -> std::io::Result<()> {
        self.file.flush().await?;
        let target = self.path.with_file_name(name);
        tokio::fs::rename(&self.path, &target).await?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "temporary upload not removed");
        }
    }
}
