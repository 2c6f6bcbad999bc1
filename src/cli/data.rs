//! `sohbet erase`, `sohbet backup`, `sohbet export` and `sohbet import` (issue 27): the operator's data from
//! the command line, on the configured database, through the same
//! [`sohbet::data::Data`] as the API. Both are recorded in the audit log
//! as the "command line".

use std::{path::Path, process::ExitCode};

use sohbet::{
    chat::{Chat, ChatError, ChatOptions},
    config::Config,
    data::{Data, EraseOptions, EraseReport, backup::BackupError, import::ImportError},
    domain::ActedBy,
    flask_import,
    media::Media,
    store::Db,
    telegram::Telegram,
};

/// Opens the configured database (migrated) and builds the data service.
async fn open(config: &Config) -> Result<(Db, Data), ExitCode> {
    let db = match flask_import::open(&config.database, &config.upload_dir).await {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("cannot open the configured database: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    let media = match Media::new(config) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("uploads: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    let telegram = config.telegram.as_ref().and_then(|tc| {
        Telegram::new(
            tc,
            config.upload_dir.clone(),
            media.clone(),
            config.telegram_retry_base,
        )
        .ok()
    });
    let chat = Chat::start(db.clone(), ChatOptions::default());
    let data = Data::new(db.clone(), chat, media, telegram, config.retention_days);
    Ok((db, data))
}

fn print(r: &EraseReport) {
    println!(
        "erased thread {}: {} messages, {} files removed, {} files not removed, telegram topic {}",
        r.thread_id,
        r.messages,
        r.media_removed,
        r.media_failed,
        serde_json::to_value(r.telegram_topic)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
}

/// `sohbet erase --thread ID | --email ADDRESS [--telegram-topic]`.
/// Exit 0 when something was erased, 1 when nothing matched or on a
/// database error, 2 for a malformed id or address.
pub async fn erase(
    config: Config,
    thread: Option<String>,
    email: Option<String>,
    telegram_topic: bool,
) -> ExitCode {
    let (db, data) = match open(&config).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let by = ActedBy::cli();
    let opts = EraseOptions {
        telegram_topic,
        ..EraseOptions::default()
    };
    let res = match (thread, email) {
        (Some(id), None) => data.erase_thread(&id, &by, opts).await.map(|r| vec![r]),
        (None, Some(email)) => data.erase_email(&email, &by, opts).await,
        _ => Err(ChatError::Validation(
            "give exactly one of --thread ID and --email ADDRESS".into(),
        )),
    };
    db.close().await;
    match res {
        Ok(reports) if reports.is_empty() => {
            eprintln!("erase: no thread has that email address; nothing erased");
            ExitCode::FAILURE
        }
        Ok(reports) => {
            reports.iter().for_each(print);
            ExitCode::SUCCESS
        }
        Err(e @ ChatError::Validation(_)) => {
            eprintln!("erase: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("erase: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `sohbet backup FILE`: exit 0 with the copy written, 1 when it failed,
/// 2 when the file exists, its folder is missing, or the database is
/// Postgres (the message names the `pg_dump` recipe).
pub async fn backup(config: Config, file: &Path) -> ExitCode {
    let (db, data) = match open(&config).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let res = data.backup(file, &ActedBy::cli()).await;
    db.close().await;
    match res {
        Ok(bytes) => {
            println!(
                "backup written to {} ({bytes} bytes); copy the uploads folder {} too",
                file.display(),
                config.upload_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e @ BackupError::Failed(_)) => {
            eprintln!("backup: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("backup: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--since`: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("--since must be a date (YYYY-MM-DD) or an RFC 3339 time, not `{s}`")
        })
}

/// `sohbet export --out FILE.zip [--since DATE]`: exit 0 with the file
/// written, 1 when it failed (the partial file is removed), 2 for a bad
/// date or an existing file.
pub async fn export(config: Config, out: &Path, since: Option<&str>) -> ExitCode {
    let since = match since.map(parse_since).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("export: {e}");
            return ExitCode::from(2);
        }
    };
    let file = match tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("export: cannot create {}: {e}", out.display());
            return ExitCode::from(2);
        }
    };
    let (db, data) = match open(&config).await {
        Ok(x) => x,
        Err(code) => {
            let _ = std::fs::remove_file(out);
            return code;
        }
    };
    let progress = |s: &str| eprintln!("export: {s}");
    let res = data
        .export_all(
            sohbet::data::zip_stream::Out::File(file),
            since,
            &ActedBy::cli(),
            &progress,
        )
        .await;
    db.close().await;
    match res {
        Ok(r) => {
            println!(
                "exported {} threads, {} messages, {} files ({} not readable) to {} ({} bytes)",
                r.threads,
                r.messages,
                r.media,
                r.media_missing,
                out.display(),
                r.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::fs::remove_file(out);
            eprintln!("export: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `sohbet import FILE.zip`: exit 0 with everything stored, 2 for a file
/// that is not a readable export or a database that is not empty, 1 for a
/// database or disk failure; nothing is stored unless it succeeds.
pub async fn import(config: Config, file: &Path) -> ExitCode {
    let (db, data) = match open(&config).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let progress = |s: &str| eprintln!("import: {s}");
    let res = data.import(file, &ActedBy::cli(), &progress).await;
    db.close().await;
    match res {
        Ok(r) => {
            for (old, new) in &r.agent_ids_changed {
                println!("agent id {old} is now {new} (its id was taken)");
            }
            println!(
                "imported {} threads, {} messages, {} agents, {} canned replies, {} files ({} Cloudinary copies left in the archive)",
                r.threads, r.messages, r.agents, r.canned, r.media, r.media_skipped
            );
            println!(
                "agents have no password: `sohbet agent reset-password LOGIN` (ADMIN_USERNAME signs in with ADMIN_PASSWORD)"
            );
            ExitCode::SUCCESS
        }
        Err(e @ (ImportError::Bad(_) | ImportError::NotEmpty(_))) => {
            eprintln!("import: {e}; nothing was stored");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("import: {e}; nothing was stored");
            ExitCode::FAILURE
        }
    }
}
