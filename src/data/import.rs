//! `sohbet import FILE.zip` (issue 27 item 2): an export of everything
//! ([`super::export`]) read back into an empty database. The archive is
//! checked whole first (every entry read, its CRC-32 compared; the
//! manifest's format and version), so a corrupt or foreign file is refused
//! before anything is written; then every row goes in one transaction
//! with its id (agents: same login → the agent already there; a taken id →
//! a new one, and every reference follows), and the local media files are
//! written under temporary names, renamed only after the commit. A failure
//! at any step leaves the database and the upload folder as they were.
//! The `zip` reader is synchronous: it runs on the blocking pool.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use serde_json::json;
use zip::ZipArchive;

use super::{
    Data,
    export::{FORMAT, VERSION},
};
use crate::{
    domain::{
        ActedBy, AgentId, AuditAction, ThreadId,
        export::{AgentRecord, CannedRecord, ThreadFile},
    },
    store::{self, StoreError, export::Importer},
};

/// Why an import was refused or failed; nothing is stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a readable export (not a ZIP, corrupt, truncated,
    /// another format or version, a malformed row).
    #[error("{0}")]
    Bad(String),
    /// The database already holds data (table, rows).
    #[error("the database is not empty ({}); import into a new, empty database", list(.0))]
    NotEmpty(Vec<(&'static str, i64)>),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The upload folder could not be written.
    #[error("upload folder: {0}")]
    Io(#[from] std::io::Error),
}

fn list(tables: &[(&'static str, i64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{n} rows in {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an import stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Threads.
    pub threads: u64,
    /// Messages.
    pub messages: u64,
    /// Agents added (those already there by login are kept).
    pub agents: u64,
    /// Agents whose id was taken and changed: `(old id, new id)`.
    pub agent_ids_changed: Vec<(AgentId, AgentId)>,
    /// Canned replies.
    pub canned: u64,
    /// Local media files written under `UPLOAD_DIR`.
    pub media: u64,
    /// Cloudinary copies left in the archive (their URLs stay Cloudinary's).
    pub media_skipped: u64,
}

#[derive(Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    kind: String,
}

type Archive = ZipArchive<std::fs::File>;

fn bad(what: impl std::fmt::Display) -> ImportError {
    ImportError::Bad(what.to_string())
}

/// Runs `f` on the archive on the blocking pool.
async fn blocking<T: Send + 'static>(
    archive: Archive,
    f: impl FnOnce(&mut Archive) -> Result<T, ImportError> + Send + 'static,
) -> Result<(Archive, T), ImportError> {
    tokio::task::spawn_blocking(move || {
        let mut archive = archive;
        let r = f(&mut archive);
        r.map(|v| (archive, v))
    })
    .await
    .map_err(|e| bad(format!("reading the archive: {e}")))?
}

/// Opens `path` and checks every entry (see the module doc): the names of
/// the thread files and of the media entries.
fn check(path: PathBuf) -> Result<(Archive, Vec<String>, Vec<String>), ImportError> {
    let file = std::fs::File::open(&path)
        .map_err(|e| bad(format!("cannot open {}: {e}", path.display())))?;
    let mut archive = ZipArchive::new(file).map_err(|e| {
        bad(format!(
            "{} is not a readable ZIP file: {e}",
            path.display()
        ))
    })?;
    let manifest: Manifest = read_json(&mut archive, "manifest.json")?;
    if manifest.format != FORMAT || manifest.kind != "everything" {
        return Err(bad(
            "manifest.json does not describe an export of everything made by `sohbet export`",
        ));
    }
    if manifest.version != VERSION {
        return Err(bad(format!(
            "this export is of version {}; this sohbet reads version {VERSION}",
            manifest.version
        )));
    }
    let (mut threads, mut media) = (vec![], vec![]);
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("the archive is corrupt: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("the archive is corrupt: {e}")))?
            .into_owned();
        std::io::copy(&mut entry, &mut std::io::sink())
            .map_err(|e| bad(format!("the archive is corrupt at {name}: {e}")))?;
        if name.starts_with("threads/") && name.ends_with(".json") {
            threads.push(name);
        } else if name.starts_with("media/") {
            media.push(name);
        }
    }
    for needed in ["agents.json", "canned_replies.json"] {
        if archive.index_for_name(needed).is_none() {
            return Err(bad(format!("the archive has no {needed}")));
        }
    }
    Ok((archive, threads, media))
}

fn read_json<T: serde::de::DeserializeOwned>(
    archive: &mut Archive,
    name: &str,
) -> Result<T, ImportError> {
    let mut entry = archive
        .by_name(name)
        .map_err(|e| bad(format!("{name}: {e}")))?;
    let mut text = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
    entry
        .read_to_end(&mut text)
        .map_err(|e| bad(format!("{name}: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| bad(format!("{name} is malformed: {e}")))
}

/// Temporary files written for the media; removed unless kept.
struct Written(Vec<(PathBuf, PathBuf)>);

impl Drop for Written {
    fn drop(&mut self) {
        for (tmp, _) in &self.0 {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Data {
    /// Imports the export `path` into this (empty) database; `progress`
    /// hears how far it got. Recorded in the audit log by `by`.
    ///
    /// # Errors
    /// [`ImportError`]; nothing is stored then.
    #[tracing::instrument(skip(self, by, progress))]
    pub async fn import(
        &self,
        path: &Path,
        by: &ActedBy,
        progress: super::export::Progress<'_>,
    ) -> Result<ImportReport, ImportError> {
        let owned = path.to_owned();
        progress("checking the archive");
        let (archive, threads, media) = tokio::task::spawn_blocking(move || check(owned))
            .await
            .map_err(|e| bad(format!("reading the archive: {e}")))??;
        let filled = store::export::filled_tables(&self.db).await?;
        if !filled.is_empty() {
            return Err(ImportError::NotEmpty(filled));
        }
        let mut report = ImportReport::default();
        let mut tx = Importer::begin(&self.db).await?;
        let (archive, agents) =
            blocking(archive, |a| read_json::<Vec<AgentRecord>>(a, "agents.json")).await?;
        let mut ids: HashMap<AgentId, AgentId> = HashMap::new();
        for a in &agents {
            let now = tx.agent(a).await?;
            if now != a.id {
                report.agent_ids_changed.push((a.id, now));
            }
            ids.insert(a.id, now);
            report.agents += 1;
        }
        let agent = |id: Option<AgentId>| id.and_then(|i| ids.get(&i).copied());
        let (mut archive, canned) = blocking(archive, |a| {
            read_json::<Vec<CannedRecord>>(a, "canned_replies.json")
        })
        .await?;
        for c in &canned {
            tx.canned(c).await?;
            report.canned += 1;
        }
        for name in threads {
            let (a, file) = blocking(archive, move |a| read_json::<ThreadFile>(a, &name)).await?;
            archive = a;
            let ThreadFile {
                thread,
                context,
                events,
                messages,
            } = file;
            // Erased while it was exported: nothing of it to restore.
            let Some(mut thread) = thread else { continue };
            let id = ThreadId::parse(&thread.id)
                .map_err(|e| bad(format!("a thread file has a bad thread id: {e}")))?;
            thread.assignee_agent_id = agent(thread.assignee_agent_id);
            tx.thread(&thread).await?;
            if let Some(c) = context {
                if c.thread_id != id.as_str() {
                    return Err(bad(format!(
                        "thread {id}: its context names another thread"
                    )));
                }
                tx.context(&c).await?;
            }
            for mut e in events {
                if e.thread_id != id.as_str() {
                    return Err(bad(format!("thread {id}: an event names another thread")));
                }
                e.agent_id = agent(e.agent_id);
                tx.event(&e).await?;
            }
            for mut m in messages {
                if m.thread_id != id.as_str() {
                    return Err(bad(format!("thread {id}: a message names another thread")));
                }
                m.agent_id = agent(m.agent_id);
                tx.message(&m).await?;
                report.messages += 1;
            }
            report.threads += 1;
            if report.threads.is_multiple_of(100) {
                progress(&format!(
                    "{} threads, {} messages",
                    report.threads, report.messages
                ));
            }
        }
        progress(&format!(
            "{} threads, {} messages; now the media",
            report.threads, report.messages
        ));
        let targets: Vec<(String, PathBuf)> = media
            .iter()
            .filter_map(|n| self.media.import_path(n).map(|(p, _)| (n.clone(), p)))
            .collect();
        report.media_skipped = (media.len() - targets.len()) as u64;
        let (_, written) = blocking(archive, move |a| {
            let mut written = Written(vec![]);
            for (name, path) in targets {
                let dir = path
                    .parent()
                    .ok_or_else(|| bad("a media path has no folder"))?;
                std::fs::create_dir_all(dir)?;
                let tmp = dir.join(format!(".import-{}.tmp", uuid::Uuid::new_v4().simple()));
                let mut entry = a.by_name(&name).map_err(|e| bad(format!("{name}: {e}")))?;
                let mut out = std::fs::File::create(&tmp)?;
                written.0.push((tmp, path));
                std::io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{name}: {e}")))?;
                out.sync_all()?;
            }
            Ok(written)
        })
        .await?;
        report.media = written.0.len() as u64;
        tx.commit().await?;
        let mut written = written;
        for (tmp, path) in std::mem::take(&mut written.0) {
            if let Err(e) = std::fs::rename(&tmp, &path) {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(error = %e, "an imported file could not be put in place");
            }
        }
        let detail =
            json!({"threads": report.threads, "messages": report.messages, "media": report.media});
        store::audit::record(
            &self.db,
            by,
            AuditAction::Import,
            None,
            Some(&detail),
            store::now(),
        )
        .await?;
        Ok(report)
    }
}
