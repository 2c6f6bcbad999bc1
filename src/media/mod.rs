//! Uploads: which files are accepted (judged from their bytes, never from
//! their name or declared type), how large they may be, and where they are
//! kept (local disk under `UPLOAD_DIR`, or Cloudinary).
//!
//! It knows no HTTP: the `http::upload` handlers read the multipart field
//! chunk by chunk into an [`Incoming`] (which counts bytes and refuses the
//! file as soon as it passes its limit or its first bytes are not an accepted
//! format) and answer with the [`Stored`] that [`Media::finish`] returns.
//! Contract: `shared/DESIGN.md` § HTTP contract (`/api/upload/image|audio`);
//! the full description is `docs/uploads.md`.

pub mod cloudinary;
pub mod export;
mod kinds;
pub mod quota;
pub mod remove;
mod sniff;
pub mod storage;
pub mod sweep;

use std::{path::PathBuf, sync::Arc, time::Duration};

use crate::{config::Config, store::Db};

pub use kinds::{Format, Kind, parse_file_name};
pub use sniff::sniff;
pub use storage::Stored;
use storage::{Sink, Storage};

/// Largest image, in bytes (5 MiB).
pub const IMAGE_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Largest audio file, in bytes (10 MiB).
pub const AUDIO_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Largest width or height of an image, in pixels (read from the header;
/// the picture is never decoded).
pub const MAX_IMAGE_SIDE: usize = 8192;
/// Bytes of the file's start kept for sniffing; the type is judged as soon
/// as this many arrived (or at the end of a shorter file).
pub const HEAD_LEN: usize = 4096;

/// Why an upload was refused or failed (the adapters map it to the
/// contract's error, the status named on each variant).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// More bytes than the kind allows (→ 413 `FILE_TOO_LARGE`).
    #[error("The file is larger than {} MiB", limit / (1024 * 1024))]
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// Not an accepted format for this endpoint (→ 415 `UNSUPPORTED_TYPE`).
    #[error("{0}")]
    Unsupported(String),
    /// An image wider or taller than [`MAX_IMAGE_SIDE`] (→ 400 `VALIDATION_ERROR`).
    #[error("The image is {width}x{height} px; at most {MAX_IMAGE_SIDE} px on a side")]
    Dimensions {
        /// Width, px.
        width: usize,
        /// Height, px.
        height: usize,
    },
    /// Cloudinary failed: non-2xx, timeout, unreadable answer (→ 502
    /// `UPSTREAM_ERROR`; the detail is logged by `cloudinary`, not sent).
    #[error("cloudinary: {0}")]
    Upstream(String),
    /// The file does not fit in `UPLOAD_QUOTA_MB` (→ 507 `INSUFFICIENT_STORAGE`).
    #[error("the upload folder is full")]
    QuotaExceeded,
    /// The local folder could not be written (→ 500).
    #[error("upload storage: {0}")]
    Io(#[from] std::io::Error),
}

/// The uploads service; cheap to clone.
#[derive(Clone)]
pub struct Media {
    inner: Arc<Inner>,
}

struct Inner {
    /// `UPLOAD_DIR`: served at `/uploads/`, even when new files go to Cloudinary.
    upload_dir: PathBuf,
    storage: Storage,
    /// Usage of `upload_dir` against `UPLOAD_QUOTA_MB` (local disk only).
    quota: Arc<quota::Quota>,
    /// `UPLOAD_SWEEP_GRACE_SECS`; `None`: unused files are kept.
    sweep_grace: Option<Duration>,
}

impl Media {
    /// Local disk under `config.upload_dir`, or Cloudinary when
    /// `config.cloudinary` is set. Folders are created at the first upload.
    ///
    /// # Errors
    /// [`MediaError::Upstream`] when the HTTP client cannot be built (TLS set-up).
    pub fn new(config: &Config) -> Result<Media, MediaError> {
        let storage = match &config.cloudinary {
            Some(c) => Storage::Cloudinary(cloudinary::Cloudinary::new(c.clone())?),
            None => Storage::Disk(storage::Disk::new(config.upload_dir.clone())),
        };
        Ok(Media {
            inner: Arc::new(Inner {
                upload_dir: config.upload_dir.clone(),
                storage,
                quota: quota::Quota::new(config.uploads.quota_bytes),
                sweep_grace: config.uploads.sweep_grace,
            }),
        })
    }

    /// `"disk"` or `"cloudinary"`, for logs.
    pub fn backend(&self) -> &'static str {
        match self.inner.storage {
            Storage::Disk(_) => "disk",
            Storage::Cloudinary(_) => "cloudinary",
        }
    }

    /// Starts receiving a file of `kind` (a temporary file in its final
    /// folder on disk, or memory for Cloudinary).
    ///
    /// # Errors
    /// [`MediaError::Io`] when the folder cannot be created or written.
    /// [`MediaError::QuotaExceeded`] when the local folder is already full.
    pub async fn begin(&self, kind: Kind) -> Result<Incoming, MediaError> {
        let reservation = match self.inner.storage {
            Storage::Disk(_) => Some(self.inner.quota.start()?),
            Storage::Cloudinary(_) => None,
        };
        Ok(Incoming {
            kind,
            received: 0,
            head: Vec::with_capacity(HEAD_LEN),
            format: None,
            sink: self.inner.storage.sink(kind).await?,
            reservation,
        })
    }

    /// Bytes a new local upload may still take under `UPLOAD_QUOTA_MB`;
    /// `None` when nothing limits it (no quota, or Cloudinary).
    pub fn room(&self) -> Option<u64> {
        match self.inner.storage {
            Storage::Disk(_) => self.inner.quota.room(),
            Storage::Cloudinary(_) => None,
        }
    }

    /// Measures `UPLOAD_DIR` for the quota, then keeps it tidy in a
    /// background task until this `Media` is dropped or the database is
    /// closed: every [`sweep::interval`] a [`sweep::sweep`] pass (or, with
    /// the sweep off, a new measurement). Local files are swept in
    /// Cloudinary mode too: those stored before the switch stay served.
    pub async fn start_upkeep(&self, db: Db) {
        sweep::start(Arc::downgrade(&self.inner), db).await;
    }

    /// Judges the received file (type, image dimensions) and stores it
    /// under a fresh UUID. When this fails nothing is kept.
    ///
    /// # Errors
    /// [`MediaError::Unsupported`] (including an empty file),
    /// [`MediaError::Dimensions`], [`MediaError::Upstream`], [`MediaError::Io`].
    /// The bytes of a local upload count as stored only once it is kept.
    #[tracing::instrument(skip_all, fields(kind = ?incoming.kind, bytes = incoming.received))]
    pub async fn finish(&self, incoming: Incoming) -> Result<Stored, MediaError> {
        let Incoming {
            kind,
            received,
            head,
            format,
            mut sink,
            reservation,
        } = incoming;
        if received == 0 {
            return Err(MediaError::Unsupported("The file is empty".into()));
        }
        let format = match format {
            Some(f) => f,
            None => sniff(kind, &head)?,
        };
        sink.flush().await?;
        if kind == Kind::Image {
            let (width, height) = sink.image_size().await?;
            if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
                return Err(MediaError::Dimensions { width, height });
            }
        }
        let stored = self.inner.storage.store(kind, format, sink).await?;
        if let Some(r) = reservation {
            r.commit();
        }
        tracing::info!(
            format = format.ext(),
            backend = self.backend(),
            "upload stored"
        );
        Ok(stored)
    }

    /// Judges and stores a whole file that is already in memory (such as a
    /// media reply downloaded from Telegram) exactly as an upload of `kind`.
    ///
    /// # Errors
    /// As [`Incoming::push`] and [`Media::finish`].
    pub async fn store_bytes(&self, kind: Kind, bytes: &[u8]) -> Result<Stored, MediaError> {
        let mut incoming = self.begin(kind).await?;
        for chunk in bytes.chunks(64 * 1024) {
            incoming.push(chunk).await?;
        }
        self.finish(incoming).await
    }

    /// The local file behind `/uploads/<folder>/<name>` and its format, when
    /// `folder` is `images` or `audio` and `name` is one of our names
    /// (see [`parse_file_name`]); whether it exists is not checked.
    pub fn local_file(&self, folder: &str, name: &str) -> Option<(PathBuf, Format)> {
        let kind = Kind::from_folder(folder)?;
        let format = parse_file_name(kind, name)?;
        Some((self.inner.upload_dir.join(kind.folder()).join(name), format))
    }
}

/// A file being received: counts bytes, keeps the first [`HEAD_LEN`] for
/// sniffing, writes the rest through. Dropping it discards what was written.
pub struct Incoming {
    kind: Kind,
    received: u64,
    head: Vec<u8>,
    format: Option<Format>,
    sink: Sink,
    /// Its bytes against the quota (local disk only).
    reservation: Option<quota::Reservation>,
}

impl Incoming {
    /// Adds the next chunk of the file.
    ///
    /// # Errors
    /// [`MediaError::TooLarge`] as soon as the total passes the kind's limit;
    /// [`MediaError::Unsupported`] as soon as the first [`HEAD_LEN`] bytes are
    /// not an accepted format; [`MediaError::QuotaExceeded`] as soon as the
    /// chunk does not fit in the local folder's quota; [`MediaError::Io`].
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        self.received += chunk.len() as u64;
        let limit = self.kind.max_bytes();
        if self.received > limit {
            return Err(MediaError::TooLarge { limit });
        }
        if let Some(r) = &mut self.reservation {
            r.grow(chunk.len() as u64)?;
        }
        if self.head.len() < HEAD_LEN {
            let take = chunk.len().min(HEAD_LEN - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == HEAD_LEN {
                self.format = Some(sniff(self.kind, &self.head)?);
            }
        }
        self.sink.write(chunk).await?;
        Ok(())
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_bytes_judges_and_stores_like_an_upload() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let config = Config::from_lookup(|k| (k == "UPLOAD_DIR").then(|| root.clone())).unwrap();
        let media = Media::new(&config).unwrap();
        let ogg = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        let stored = media.store_bytes(Kind::Audio, &ogg).await.unwrap();
        let name = stored.file_url.strip_prefix("/uploads/audio/").unwrap();
        assert_eq!(parse_file_name(Kind::Audio, name), Some(Format::Ogg));
        let (path, _) = media.local_file("audio", name).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), ogg);
        assert!(matches!(
            media.store_bytes(Kind::Image, b"<svg/>").await,
            Err(MediaError::Unsupported(_))
        ));
        let mut big = b"RIFF\x00\x00\x00\x00WAVEfmt ".to_vec();
        big.resize(AUDIO_MAX_BYTES as usize + 1, 0);
        assert!(matches!(
            media.store_bytes(Kind::Audio, &big).await,
            Err(MediaError::TooLarge { .. })
        ));
        let left = std::fs::read_dir(dir.path().join("audio")).unwrap().count();
        assert_eq!(left, 1, "refused files leave nothing");
    }
}
