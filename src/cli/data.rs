//! `sohbet erase` and `sohbet backup` (issue 27): the operator's data from
//! the command line, on the configured database, through the same
//! [`sohbet::data::Data`] as the API. Both are recorded in the audit log
//! as the "command line".

use std::{path::Path, process::ExitCode};

use sohbet::{
    chat::{Chat, ChatError, ChatOptions},
    config::Config,
    data::{Data, EraseOptions, EraseReport, backup::BackupError},
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
