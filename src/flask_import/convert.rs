//! Flask Chat rows → sohbet rows, with nothing lost silently: every row that
//! cannot be carried over is returned in [`Converted::skipped`] with its
//! table, its old id and the rule it breaks. Pure: reads the upload folder
//! only to see that a local file exists.
//!
//! Column meanings follow seed `flask-chat-v2.1-system-documentation.md`
//! § "database.py": `messages.sender` is `visitor` | `admin`, `type` is
//! `text` | `image` | `audio`, `file_path` names the upload (a local
//! `/uploads/<images|audio>/<name>` path or a Cloudinary URL).

use std::{collections::HashMap, path::Path};

use chrono::{DateTime, Utc};

use super::time::flask_time;
use crate::media::{Kind, parse_file_name};

/// A `threads` row as stored by Flask Chat (every column read as text).
#[derive(Clone, Debug, Default)]
pub struct FlaskThread {
    /// `id` (TEXT).
    pub id: String,
    /// `display_name`.
    pub display_name: Option<String>,
    /// `created_at`, naive UTC+3.
    pub created_at: Option<String>,
    /// `last_activity_at`, naive UTC+3.
    pub last_activity_at: Option<String>,
}

/// A `messages` row as stored by Flask Chat (every column read as text).
#[derive(Clone, Debug, Default)]
pub struct FlaskMessage {
    /// `id` (TEXT, a UUID in practice).
    pub id: String,
    /// `thread_id`.
    pub thread_id: Option<String>,
    /// `sender`.
    pub sender: Option<String>,
    /// `type`.
    pub kind: Option<String>,
    /// `content_text`.
    pub content_text: Option<String>,
    /// `file_path`.
    pub file_path: Option<String>,
    /// `created_at`, naive UTC+3.
    pub created_at: Option<String>,
}

/// A `telegram_links` row as stored by Flask Chat (every column read as text).
#[derive(Clone, Debug, Default)]
pub struct FlaskLink {
    /// `id`.
    pub id: String,
    /// `thread_id`.
    pub thread_id: Option<String>,
    /// `tg_chat_id`.
    pub tg_chat_id: Option<String>,
    /// `tg_message_id`.
    pub tg_message_id: Option<String>,
}

/// The three tables, each in the old row order (SQLite `rowid`, Postgres `ctid`).
#[derive(Clone, Debug, Default)]
pub struct FlaskData {
    /// `threads`.
    pub threads: Vec<FlaskThread>,
    /// `messages`.
    pub messages: Vec<FlaskMessage>,
    /// `telegram_links` (empty when the table does not exist).
    pub links: Vec<FlaskLink>,
}

/// A thread to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewThread {
    /// Kept from Flask.
    pub id: String,
    /// Kept from Flask.
    pub display_name: String,
    /// UTC.
    pub created_at: DateTime<Utc>,
    /// UTC.
    pub last_activity_at: DateTime<Utc>,
}

/// A message to insert; `flask_id` becomes its `client_id` as
/// `flask:<id>`, which makes a second import of the same row a no-op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// The old TEXT id.
    pub flask_id: String,
    /// Thread id.
    pub thread_id: String,
    /// `visitor` | `admin`.
    pub sender: &'static str,
    /// `text` | `image` | `audio`.
    pub kind: &'static str,
    /// The text as stored (a caption for media; may be empty there).
    pub text: String,
    /// The served URL for media.
    pub file_url: Option<String>,
    /// UTC.
    pub created_at: DateTime<Utc>,
}

/// A Telegram link to insert (`message_id` stays NULL: Flask linked threads only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// The old id.
    pub flask_id: String,
    /// Thread id.
    pub thread_id: String,
    /// The chat id as sohbet writes it (a decimal integer).
    pub tg_chat_id: String,
    /// The Telegram message id.
    pub tg_message_id: i64,
}

/// A row not carried over, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// `threads` | `messages` | `telegram_links`.
    pub table: &'static str,
    /// Its old id (or `row <n>` when it has none).
    pub id: String,
    /// The rule it breaks.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.table, self.id, self.reason)
    }
}

/// The result of [`convert`].
#[derive(Clone, Debug, Default)]
pub struct Converted {
    /// Threads, in the old order.
    pub threads: Vec<NewThread>,
    /// Messages by time (ties by the old row order): the order of their new ids.
    pub messages: Vec<NewMessage>,
    /// Links, in the old order.
    pub links: Vec<NewLink>,
    /// What was left out.
    pub skipped: Vec<Skipped>,
}

/// The client id under which a Flask message is stored.
pub fn client_id_of(flask_id: &str) -> String {
    format!("flask:{flask_id}")
}

/// Converts `data`; `upload_dir` is `UPLOAD_DIR`, where local media must exist.
pub fn convert(data: &FlaskData, upload_dir: &Path) -> Converted {
    let mut out = Converted::default();
    let mut skip = |table, id: &str, row: usize, reason: String| {
        let id = if id.is_empty() {
            format!("(row {})", row + 1)
        } else {
            id.to_owned()
        };
        out.skipped.push(Skipped { table, id, reason });
    };
    let mut kept: HashMap<&str, ()> = HashMap::new();
    let mut threads = Vec::new();
    for (row, t) in data.threads.iter().enumerate() {
        let times = (
            t.created_at.as_deref().and_then(flask_time),
            t.last_activity_at.as_deref().and_then(flask_time),
        );
        let reason = if t.id.is_empty() {
            Some("no id".to_owned())
        } else if kept.contains_key(t.id.as_str()) {
            Some("a second thread with this id".into())
        } else if t.display_name.is_none() {
            Some("no display_name".into())
        } else if times.0.is_none() {
            Some(format!("created_at {:?} is not a time", t.created_at))
        } else if times.1.is_none() {
            Some(format!(
                "last_activity_at {:?} is not a time",
                t.last_activity_at
            ))
        } else {
            None
        };
        match (reason, times) {
            (None, (Some(created_at), Some(last_activity_at))) => {
                kept.insert(&t.id, ());
                threads.push(NewThread {
                    id: t.id.clone(),
                    display_name: t.display_name.clone().unwrap_or_default(),
                    created_at,
                    last_activity_at,
                });
            }
            (reason, _) => skip("threads", &t.id, row, reason.unwrap_or_default()),
        }
    }
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut messages: Vec<(DateTime<Utc>, usize, NewMessage)> = Vec::new();
    for (row, m) in data.messages.iter().enumerate() {
        match message(m, &kept, &seen, upload_dir) {
            Ok(new) => {
                seen.insert(&m.id, ());
                messages.push((new.created_at, row, new));
            }
            Err(reason) => skip("messages", &m.id, row, reason),
        }
    }
    messages.sort_by_key(|(at, row, _)| (*at, *row));
    let mut linked: HashMap<(String, i64), String> = HashMap::new();
    let mut links = Vec::new();
    for (row, l) in data.links.iter().enumerate() {
        match link(l, &kept) {
            Ok(new) => {
                let key = (new.tg_chat_id.clone(), new.tg_message_id);
                if let Some(first) = linked.get(&key) {
                    // Flask answered a reply with the first matching row.
                    skip(
                        "telegram_links",
                        &l.id,
                        row,
                        format!("same Telegram message as link {first}"),
                    );
                } else {
                    linked.insert(key, l.id.clone());
                    links.push(new);
                }
            }
            Err(reason) => skip("telegram_links", &l.id, row, reason),
        }
    }
    out.threads = threads;
    out.messages = messages.into_iter().map(|(_, _, m)| m).collect();
    out.links = links;
    out
}

fn message(
    m: &FlaskMessage,
    threads: &HashMap<&str, ()>,
    seen: &HashMap<&str, ()>,
    upload_dir: &Path,
) -> Result<NewMessage, String> {
    if m.id.is_empty() {
        return Err("no id".into());
    }
    if seen.contains_key(m.id.as_str()) {
        return Err("a second message with this id".into());
    }
    let thread_id = m.thread_id.clone().unwrap_or_default();
    if !threads.contains_key(thread_id.as_str()) {
        return Err(format!(
            "its thread {thread_id:?} does not exist or was skipped"
        ));
    }
    let sender = match m.sender.as_deref() {
        Some("visitor") => "visitor",
        Some("admin") => "admin",
        other => return Err(format!("unknown sender {other:?}")),
    };
    let created_at = m
        .created_at
        .as_deref()
        .and_then(flask_time)
        .ok_or_else(|| format!("created_at {:?} is not a time", m.created_at))?;
    let file_path = m
        .file_path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let text = m.content_text.clone().unwrap_or_default();
    let (kind, file_url) = match m.kind.as_deref() {
        Some("text") => {
            if text.trim().is_empty() {
                return Err("empty text".into());
            }
            if let Some(p) = file_path {
                return Err(format!("a text message with a file_path {p:?}"));
            }
            ("text", None)
        }
        Some(k @ ("image" | "audio")) => {
            let (kind, word) = match k {
                "image" => (Kind::Image, "image"),
                _ => (Kind::Audio, "audio"),
            };
            let path = file_path.ok_or_else(|| format!("an {k} message without file_path"))?;
            (word, Some(media_url(path, kind, upload_dir)?))
        }
        other => return Err(format!("unknown type {other:?}")),
    };
    Ok(NewMessage {
        flask_id: m.id.clone(),
        thread_id,
        sender,
        kind,
        text,
        file_url,
        created_at,
    })
}

/// The served URL of a Flask `file_path`: Cloudinary's `https://res.cloudinary.com/…`
/// kept as it is; a local path (`/uploads/images/x.jpg`, `uploads/images/x.jpg`,
/// `images/x.jpg`, `/app/uploads/images/x.jpg`) becomes `/uploads/<folder>/<name>`
/// when the folder fits the message type, the name is one sohbet serves
/// (`<uuid>.<ext>`, [`parse_file_name`]) and the file exists under `upload_dir`.
///
/// # Errors
/// The rule it breaks, as text.
pub fn media_url(path: &str, kind: Kind, upload_dir: &Path) -> Result<String, String> {
    if path.starts_with("https://res.cloudinary.com/") {
        return Ok(path.to_owned());
    }
    if path.contains("://") {
        return Err(format!(
            "file_path {path:?} is neither a local upload nor a Cloudinary https URL"
        ));
    }
    let rel = path.rsplit_once("uploads/").map_or(path, |(_, rest)| rest);
    let rel = rel.trim_start_matches('/');
    let (folder, name) = rel.split_once('/').unwrap_or(("", rel));
    if folder != kind.folder() {
        return Err(format!(
            "file_path {path:?} is not under uploads/{}/",
            kind.folder()
        ));
    }
    if parse_file_name(kind, name).is_none() {
        return Err(format!(
            "file name {name:?} is not one sohbet serves (<uuid>.<extension>)"
        ));
    }
    if !upload_dir.join(folder).join(name).is_file() {
        return Err(format!(
            "file {folder}/{name} is not in UPLOAD_DIR ({})",
            upload_dir.display()
        ));
    }
    Ok(format!("/uploads/{folder}/{name}"))
}

fn link(l: &FlaskLink, threads: &HashMap<&str, ()>) -> Result<NewLink, String> {
    let thread_id = l.thread_id.clone().unwrap_or_default();
    if !threads.contains_key(thread_id.as_str()) {
        return Err(format!(
            "its thread {thread_id:?} does not exist or was skipped"
        ));
    }
    let chat = l.tg_chat_id.as_deref().map(str::trim).unwrap_or_default();
    let tg_chat_id: i64 = chat
        .parse()
        .map_err(|_| format!("tg_chat_id {chat:?} is not a chat id"))?;
    let msg = l
        .tg_message_id
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    let tg_message_id: i64 = msg
        .parse()
        .map_err(|_| format!("tg_message_id {msg:?} is not a message id"))?;
    Ok(NewLink {
        flask_id: l.id.clone(),
        thread_id,
        tg_chat_id: tg_chat_id.to_string(),
        tg_message_id,
    })
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
