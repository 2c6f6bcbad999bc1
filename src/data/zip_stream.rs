//! A ZIP written as it goes (issue 27 items 1 and 2): the `zip` crate's
//! stream writer (local headers with data descriptors, so nothing is ever
//! sought back) over a small buffer that is handed on after every write —
//! to the HTTP body through a bounded channel (back-pressure: a slow
//! client slows the export, it never piles up in memory), or to a file.
//! Memory stays one chunk plus the deflate state whatever the archive's
//! size. JSON and HTML are deflated; media files (already compressed
//! formats) are stored.
//!
//! Why `zip` (zip-rs, `default-features = false`, `deflate-flate2`) and
//! not `async_zip`: it adds four small crates (`zip`, `typed-path`,
//! `constant_time_eq`, `zeroize_derive`; `flate2` and `crc32fast` were
//! already in the tree for response compression), is maintained and at
//! 1.0+, and also reads archives for `sohbet import`; `async_zip` (0.0.x)
//! would add `binrw` with its derive macros, `futures-lite` and
//! `pin-project`. Its writer is synchronous, but it writes only into
//! memory here; the awaiting is ours.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use tokio::{io::AsyncWriteExt, sync::mpsc};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions, write::StreamWriter};

/// Where the archive's bytes go.
pub enum Out {
    /// The HTTP body: a closed channel means the client went away.
    Channel(mpsc::Sender<std::io::Result<Vec<u8>>>),
    /// A file (`sohbet export`).
    File(tokio::fs::File),
}

/// Why writing the archive stopped.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// The client went away or the file could not be written.
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    /// The ZIP writer refused (an entry name, the archive's size).
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// The bytes the ZIP writer produced since they were last handed on.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A ZIP being written to an [`Out`].
pub struct ZipStream {
    zip: ZipWriter<StreamWriter<Pending>>,
    pending: Pending,
    out: Out,
    /// Bytes handed on so far.
    pub written: u64,
}

/// Bytes gathered before they are handed on (JSON is written in many
/// small pieces).
const HAND_ON: usize = 64 * 1024;

impl ZipStream {
    /// An empty archive writing to `out`.
    pub fn new(out: Out) -> ZipStream {
        let pending = Pending::default();
        ZipStream {
            zip: ZipWriter::new_stream(pending.clone()),
            pending,
            out,
            written: 0,
        }
    }

    /// Starts entry `name`; `deflate`: compressed, else stored.
    ///
    /// # Errors
    /// [`ZipError`].
    pub async fn start(&mut self, name: &str, deflate: bool) -> Result<(), ZipError> {
        let method = if deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let opts = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(false)
            .unix_permissions(0o644);
        self.zip.start_file(name, opts)?;
        self.hand_on(false).await
    }

    /// Appends `bytes` to the current entry.
    ///
    /// # Errors
    /// [`ZipError`].
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), ZipError> {
        self.zip.write_all(bytes)?;
        self.hand_on(false).await
    }

    /// Appends `v` as JSON to the current entry.
    ///
    /// # Errors
    /// [`ZipError`].
    pub async fn json<T: serde::Serialize>(&mut self, v: &T) -> Result<(), ZipError> {
        serde_json::to_writer(&mut self.zip, v).map_err(std::io::Error::from)?;
        self.hand_on(false).await
    }

    /// Writes the central directory and hands on the rest; a file is
    /// flushed to disk.
    ///
    /// # Errors
    /// [`ZipError`].
    pub async fn finish(self) -> Result<u64, ZipError> {
        let ZipStream {
            zip,
            pending,
            out,
            written,
        } = self;
        zip.finish()?;
        let mut rest = ZipStream {
            zip: ZipWriter::new_stream(Pending::default()),
            pending,
            out,
            written,
        };
        rest.hand_on(true).await?;
        let mut this = rest;
        if let Out::File(f) = &mut this.out {
            f.flush().await?;
            f.sync_all().await?;
        }
        Ok(this.written)
    }

    async fn hand_on(&mut self, all: bool) -> Result<(), ZipError> {
        let len = self.pending.0.lock().map(|b| b.len()).unwrap_or(0);
        if len == 0 || (!all && len < HAND_ON) {
            return Ok(());
        }
        let chunk = self.pending.take();
        self.written += chunk.len() as u64;
        match &mut self.out {
            Out::Channel(tx) => tx.send(Ok(chunk)).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            })?,
            Out::File(f) => f.write_all(&chunk).await?,
        }
        Ok(())
    }
}
