//! Exports (issue 27 items 1 and 2). One thread
//! ([`Data::export_thread`], `GET /api/threads/{id}/export`): a ZIP with
//! `thread.json` (the thread, its visitor context, its system events and
//! every message, internal notes flagged `internal`), the files its
//! messages carry under `media/` (local files read, Cloudinary files
//! fetched) and a readable `transcript.html` (every value escaped).
//! Everything ([`Data::export_all`], `sohbet export`): `manifest.json`,
//! `agents.json` (no password hashes), `canned_replies.json`,
//! `threads/<id>.json` per thread and the media, which `sohbet import`
//! reads back ([`super::import`]).
//!
//! Nothing is held whole: messages and events are read a page at a time
//! and written as they come ([`super::zip_stream`]), a file a chunk at a
//! time, so memory stays bounded whatever the thread's size.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::{
    Data,
    zip_stream::{Out, ZipError, ZipStream},
};
use crate::{
    domain::{
        ActedBy, AuditAction, EventId, MessageId, ThreadId,
        export::{EventRecord, MessageRecord},
    },
    store::{self, StoreError, export as rows},
};

/// Where progress lines go (`sohbet export` prints them).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Rows read at a time.
const PAGE: i64 = 500;
/// The `format` of an export's JSON files.
pub const FORMAT: &str = "sohbet-export";
/// The version of that format an import understands.
pub const VERSION: u32 = 1;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A malformed thread id or date.
    #[error("{0}")]
    Invalid(String),
    /// Nothing is stored under that thread id.
    #[error("Thread not found")]
    NotFound,
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The archive could not be written (the client went away, a full disk).
    #[error(transparent)]
    Zip(#[from] ZipError),
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Threads.
    pub threads: u64,
    /// Messages (internal notes included).
    pub messages: u64,
    /// Files written.
    pub media: u64,
    /// Files that could not be read (listed in `media_missing.json`).
    pub media_missing: u64,
    /// Bytes of the archive.
    pub bytes: u64,
}

/// A message as `thread.json` shows it: the stored row plus `file`, the
/// path of its file inside the archive.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    m: &'a MessageRecord,
    file: Option<String>,
}

impl Data {
    /// Checks that thread `id` may be exported (well formed, something
    /// stored under it) and records the export in the audit log by `by`.
    /// Called before the archive starts, so that the answer can still be
    /// an error.
    ///
    /// # Errors
    /// [`ExportError::Invalid`], [`ExportError::NotFound`], database errors.
    pub async fn begin_thread_export(
        &self,
        id: &ThreadId,
        by: &ActedBy,
    ) -> Result<(), ExportError> {
        if rows::thread(&self.db, id).await?.is_none()
            && rows::context(&self.db, id).await?.is_none()
        {
            return Err(ExportError::NotFound);
        }
        store::audit::record(
            &self.db,
            by,
            AuditAction::Export,
            Some(id.as_str()),
            Some(&json!({})),
            store::now(),
        )
        .await?;
        Ok(())
    }

    /// Writes the ZIP of thread `id` to `out` (see the module doc); call
    /// [`Data::begin_thread_export`] first.
    ///
    /// # Errors
    /// [`ExportError`]; the archive is cut short then.
    #[tracing::instrument(skip(self, out))]
    pub async fn export_thread(
        &self,
        id: &ThreadId,
        out: Out,
    ) -> Result<ExportReport, ExportError> {
        let mut z = ZipStream::new(out);
        let mut report = ExportReport {
            threads: 1,
            ..ExportReport::default()
        };
        report.messages = self.thread_json(&mut z, id, "thread.json").await?;
        let mut missing = vec![];
        self.media(&mut z, Some(id), None, &mut report, &mut missing)
            .await?;
        self.transcript(&mut z, id).await?;
        if !missing.is_empty() {
            z.start("media_missing.json", true).await?;
            z.json(&missing).await?;
        }
        report.bytes = z.finish().await?;
        tracing::info!(
            messages = report.messages,
            media = report.media,
            "thread exported"
        );
        Ok(report)
    }

    /// Writes everything (threads active since `since`, every canned
    /// reply and agent, the media) to `out`, printing progress through
    /// `progress`; recorded in the audit log by `by`.
    ///
    /// # Errors
    /// [`ExportError`].
    #[tracing::instrument(skip(self, out, progress, by))]
    pub async fn export_all(
        &self,
        out: Out,
        since: Option<DateTime<Utc>>,
        by: &ActedBy,
        progress: Progress<'_>,
    ) -> Result<ExportReport, ExportError> {
        let mut z = ZipStream::new(out);
        let mut report = ExportReport::default();
        z.start("manifest.json", true).await?;
        z.json(&json!({
            "format": FORMAT,
            "version": VERSION,
            "kind": "everything",
            "exported_at": store::now(),
            "since": since,
            "database": self.db.kind(),
        }))
        .await?;
        z.start("agents.json", true).await?;
        z.json(&rows::agents(&self.db).await?).await?;
        z.start("canned_replies.json", true).await?;
        z.json(&rows::canned(&self.db).await?).await?;
        let mut after = String::new();
        loop {
            let ids = rows::thread_ids(&self.db, since, &after, PAGE).await?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in &ids {
                report.messages += self
                    .thread_json(&mut z, id, &format!("threads/{id}.json"))
                    .await?;
                report.threads += 1;
                if report.threads.is_multiple_of(100) {
                    progress(&format!(
                        "{} threads, {} messages",
                        report.threads, report.messages
                    ));
                }
            }
            after = last.into_string();
        }
        progress(&format!(
            "{} threads, {} messages; now the media",
            report.threads, report.messages
        ));
        let mut missing = vec![];
        self.media(
            &mut z,
            None,
            Some((since, progress)),
            &mut report,
            &mut missing,
        )
        .await?;
        if !missing.is_empty() {
            z.start("media_missing.json", true).await?;
            z.json(&missing).await?;
        }
        report.bytes = z.finish().await?;
        let detail =
            json!({"threads": report.threads, "messages": report.messages, "media": report.media});
        store::audit::record(
            &self.db,
            by,
            AuditAction::Export,
            None,
            Some(&detail),
            store::now(),
        )
        .await?;
        Ok(report)
    }

    /// Writes `name`: `{format, version, exported_at, thread, context,
    /// events: [..], messages: [..]}`, a page at a time; answers the
    /// number of messages.
    async fn thread_json(
        &self,
        z: &mut ZipStream,
        id: &ThreadId,
        name: &str,
    ) -> Result<u64, ExportError> {
        let thread = rows::thread(&self.db, id).await?;
        let context = rows::context(&self.db, id).await?;
        z.start(name, true).await?;
        z.write(br#"{"format":"#).await?;
        z.json(&FORMAT).await?;
        z.write(br#","version":"#).await?;
        z.json(&VERSION).await?;
        z.write(br#","exported_at":"#).await?;
        z.json(&store::now()).await?;
        z.write(br#","thread":"#).await?;
        z.json(&thread).await?;
        z.write(br#","context":"#).await?;
        z.json(&context).await?;
        z.write(br#","events":["#).await?;
        let mut after = EventId(0);
        let mut first = true;
        loop {
            let page = rows::events(&self.db, id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in &page {
                if !std::mem::take(&mut first) {
                    z.write(b",").await?;
                }
                z.json(e).await?;
            }
        }
        z.write(br#"],"messages":["#).await?;
        let (mut after, mut first, mut n) = (MessageId(0), true, 0);
        loop {
            let page = rows::messages(&self.db, id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for m in &page {
                if !std::mem::take(&mut first) {
                    z.write(b",").await?;
                }
                let file = m
                    .file_url
                    .as_deref()
                    .and_then(|u| self.media.export_name(u));
                z.json(&Shown { m, file }).await?;
                n += 1;
            }
        }
        z.write(b"]}").await?;
        Ok(n)
    }

    /// Writes the files that the messages of thread `thread` (or, with
    /// `None`, of every thread active since `all.0`) carry, each once.
    async fn media(
        &self,
        z: &mut ZipStream,
        thread: Option<&ThreadId>,
        all: Option<(Option<DateTime<Utc>>, Progress<'_>)>,
        report: &mut ExportReport,
        missing: &mut Vec<serde_json::Value>,
    ) -> Result<(), ExportError> {
        let since = all.and_then(|(s, _)| s);
        let mut after = String::new();
        loop {
            let urls = rows::media_urls(&self.db, thread, since, &after, PAGE).await?;
            let Some(last) = urls.last().cloned() else {
                break;
            };
            for url in &urls {
                let Some(name) = self.media.export_name(url) else {
                    missing.push(json!({"url": url, "why": "not a file of this server's storage"}));
                    report.media_missing += 1;
                    continue;
                };
                let mut reader = match self.media.open(url).await {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        missing.push(json!({"url": url, "file": name, "why": "gone"}));
                        report.media_missing += 1;
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an exported file could not be read");
                        missing.push(json!({"url": url, "file": name, "why": e.to_string()}));
                        report.media_missing += 1;
                        continue;
                    }
                };
                z.start(&name, false).await?;
                loop {
                    match reader.chunk().await {
                        Ok(Some(c)) => z.write(&c).await?,
                        Ok(None) => {
                            report.media += 1;
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "an exported file broke off");
                            missing.push(json!({"url": url, "file": name, "why": format!("incomplete: {e}")}));
                            report.media_missing += 1;
                            break;
                        }
                    }
                }
                if let Some((_, progress)) = all
                    && report.media.is_multiple_of(100)
                    && report.media > 0
                {
                    progress(&format!("{} files", report.media));
                }
            }
            after = last;
        }
        Ok(())
    }

    /// Writes `transcript.html`: the thread's messages and system events
    /// in the order they happened, every value escaped.
    async fn transcript(&self, z: &mut ZipStream, id: &ThreadId) -> Result<(), ExportError> {
        let thread = rows::thread(&self.db, id).await?;
        let context = rows::context(&self.db, id).await?;
        let title = thread
            .as_ref()
            .map_or(id.as_str(), |t| t.display_name.as_str());
        z.start("transcript.html", true).await?;
        let head = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}\
             .m{{margin:.6rem 0;padding:.5rem .8rem;border-radius:.5rem;background:#f1f3f5}}\
             .admin{{background:#e7f0ff}}.note{{background:#fff4d6;border:1px dashed #c9a227}}\
             .event{{background:none;color:#555;font-style:italic}}.who{{font-weight:600}}\
             time{{color:#666;font-size:.85em;margin-left:.5rem}}img{{max-width:100%}}</style></head><body>\n\
             <h1>{t}</h1>\n<p>Thread <code>{id}</code>; times in UTC; exported {now}.</p>\n",
            t = escape(title),
            id = escape(id.as_str()),
            now = escape(&store::now().to_rfc3339()),
        );
        z.write(head.as_bytes()).await?;
        if let Some(c) = &context {
            let mut dl = String::from("<dl>\n");
            for (k, v) in [
                ("Name", &c.name),
                ("Email", &c.email),
                ("User id", &c.user_id),
                ("Page", &c.page_url),
                ("Page title", &c.page_title),
                ("Referrer", &c.referrer),
                ("Browser", &c.browser),
                ("OS", &c.os),
                ("Language", &c.language),
                ("Time zone", &c.timezone),
            ] {
                if let Some(v) = v {
                    dl.push_str(&format!("<dt>{k}</dt><dd>{}</dd>\n", escape(v)));
                }
            }
            dl.push_str("</dl>\n");
            z.write(dl.as_bytes()).await?;
        }
        let (mut msgs, mut evs) = (VecDeque::new(), VecDeque::new());
        let (mut m_after, mut e_after, mut m_done, mut e_done) =
            (MessageId(0), EventId(0), false, false);
        loop {
            if msgs.is_empty() && !m_done {
                let page = rows::messages(&self.db, id, m_after, PAGE).await?;
                m_done = page.len() < PAGE as usize;
                if let Some(l) = page.last() {
                    m_after = l.id;
                }
                msgs.extend(page);
            }
            if evs.is_empty() && !e_done {
                let page = rows::events(&self.db, id, e_after, PAGE).await?;
                e_done = page.len() < PAGE as usize;
                if let Some(l) = page.last() {
                    e_after = l.id;
                }
                evs.extend(page);
            }
            let html = match (msgs.front(), evs.front()) {
                (None, None) => break,
                (Some(m), Some(e)) if e.created_at < m.created_at => {
                    evs.pop_front().map(|e| event_html(&e))
                }
                (Some(_), _) => msgs.pop_front().map(|m| self.message_html(&m)),
                (None, Some(_)) => evs.pop_front().map(|e| event_html(&e)),
            };
            if let Some(h) = html {
                z.write(h.as_bytes()).await?;
            }
        }
        z.write(b"</body></html>\n").await?;
        Ok(())
    }

    fn message_html(&self, m: &MessageRecord) -> String {
        let (class, who) = match (m.sender.as_str(), m.internal) {
            (_, true) => (
                "m note",
                format!(
                    "Internal note · {}",
                    m.agent_name.as_deref().unwrap_or("Support")
                ),
            ),
            ("visitor", _) => ("m visitor", "Visitor".to_owned()),
            _ => (
                "m admin",
                m.agent_name.clone().unwrap_or_else(|| "Support".into()),
            ),
        };
        let mut h = format!(
            "<div class=\"{class}\"><span class=\"who\">{}</span><time>{}</time>",
            escape(&who),
            escape(&m.created_at.to_rfc3339())
        );
        if !m.content_text.is_empty() {
            h.push_str(&format!(
                "<p>{}</p>",
                escape(&m.content_text).replace('\n', "<br>")
            ));
        }
        if let Some(url) = &m.file_url {
            match self.media.export_name(url) {
                Some(f) if m.kind == crate::domain::MessageType::Image => h.push_str(&format!(
                    "<p><img src=\"{}\" alt=\"image\"></p>",
                    escape(&f)
                )),
                Some(f) => h.push_str(&format!(
                    "<p><audio controls src=\"{f}\"></audio> <a href=\"{f}\">{f}</a></p>",
                    f = escape(&f)
                )),
                None => h.push_str(&format!("<p>File: {}</p>", escape(url))),
            }
        }
        h.push_str("</div>\n");
        h
    }
}

fn event_html(e: &EventRecord) -> String {
    format!(
        "<div class=\"m event\">System event: {} by {}<time>{}</time></div>\n",
        escape(&e.action),
        escape(&e.agent_name),
        escape(&e.created_at.to_rfc3339())
    )
}

pub use crate::html::escape;
