//! The command line (clap, derive): `sohbet [serve]`, `migrate`,
//! `import-flask <source>`, `healthcheck`, `check-config`, `agent
//! add|list|disable|reset-password` (issue 22), `erase`, `backup`,
//! `export`, `import` (issue 27, [`data`]), `--version`,
//! `--help`. Unknown arguments are an error (exit code 2), never a server
//! start. The configuration always comes from the environment and `.env`.
//!
//! Exit codes: 0 success; 1 failure (start-up, database, not ready);
//! 2 usage or configuration error.

mod data;

use std::{future::Future, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use sohbet::{
    App,
    auth::{
        Auth,
        agents::{AgentError, AgentRequest},
    },
    config::Config,
    domain::AgentRole,
    flask_import::{self, Source},
};

/// Self-hosted website live chat: visitor page, admin panel and Telegram
/// bridge in one binary. Settings come from the environment and `.env`
/// (see docs/configuration.md).
#[derive(Debug, Parser)]
#[command(name = "sohbet", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, `serve`.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the chat (the default): migrate (upgrading a Flask Chat
    /// database in place), then listen on HOST:PORT until SIGINT/SIGTERM.
    Serve,
    /// Apply migrations (and the in-place Flask Chat upgrade) to the
    /// configured database, then exit.
    Migrate,
    /// Copy a Flask Chat v2.x database (a SQLite file or a postgres:// URL)
    /// into the configured database; running it again adds nothing.
    ImportFlask {
        /// SQLite file path or postgres:// / postgresql:// URL of the Flask Chat database.
        source: String,
    },
    /// Ask GET /health/ready of the server on the configured port; exit 0
    /// when ready, 1 otherwise (for Docker's HEALTHCHECK).
    Healthcheck,
    /// Validate the environment as a start would and print the effective
    /// settings, secrets masked; exit 2 when invalid.
    CheckConfig,
    /// Manage the support team's agents in the configured database.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Erase a visitor: its thread(s), messages, context, search rows,
    /// Telegram links and files (see docs/your-data.md).
    #[command(group(clap::ArgGroup::new("which").required(true).args(["thread", "email"])))]
    Erase {
        /// The thread id to erase.
        #[arg(long)]
        thread: Option<String>,
        /// Erase every thread whose visitor gave this email address.
        #[arg(long)]
        email: Option<String>,
        /// Also delete the threads' Telegram forum topics.
        #[arg(long)]
        telegram_topic: bool,
    },
    /// Write a consistent copy of the SQLite database to FILE while the
    /// server keeps serving (never overwrites; Postgres: use pg_dump).
    Backup {
        /// The new file.
        file: PathBuf,
    },
    /// Export everything (threads, messages, internal notes, events,
    /// visitor contexts, canned replies, agents without passwords, media)
    /// to a new ZIP file (see docs/your-data.md).
    Export {
        /// The new ZIP file (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Only threads active since this date (YYYY-MM-DD, UTC) or time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
    },
    /// Import a ZIP of `sohbet export` into the configured database, which
    /// must hold no threads, messages or canned replies yet.
    Import {
        /// The ZIP file.
        file: PathBuf,
    },
}

/// `sohbet agent …`: a password is read from standard input with
/// `--password-stdin` (first line), else generated and printed once.
#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Add an agent (or an owner with `--role owner`).
    Add {
        /// Login name: 1-32 of a-z 0-9 . _ - @ (stored in lower case).
        username: String,
        /// Shown name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// `agent` or `owner`.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Read the password (at least 12 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the agents: id, username, role, state, display name.
    List,
    /// Disable an agent: its sessions end (its open sockets within 3 s).
    Disable {
        /// Login name.
        username: String,
    },
    /// Set a new password for an agent.
    ResetPassword {
        /// Login name.
        username: String,
        /// Read the password (at least 12 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

impl Cli {
    /// Parses the process arguments; prints help, version or the usage
    /// error and exits on its own for those.
    pub fn from_args() -> Cli {
        Cli::parse()
    }

    /// Runs the command. `shutdown` makes the future that stops `serve`
    /// (called only when serving, so other commands keep the default
    /// signal handling).
    pub async fn run<F>(self, shutdown: impl FnOnce() -> F) -> ExitCode
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let config = match Config::from_env() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("configuration error: {e}");
                if !matches!(self.command, None | Some(Command::Serve)) {
                    eprintln!("configuration error: {e}");
                }
                // Docker reserves exit code 2 of a health check: "unhealthy" is 1.
                if matches!(self.command, Some(Command::Healthcheck)) {
                    return ExitCode::FAILURE;
                }
                return ExitCode::from(2);
            }
        };
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config, shutdown()).await,
            Command::Migrate => migrate(config).await,
            Command::ImportFlask { source } => import_flask(config, &source).await,
            Command::Healthcheck => healthcheck(&config).await,
            Command::CheckConfig => check_config(&config),
            Command::Agent(cmd) => agent(config, cmd).await,
            Command::Erase {
                thread,
                email,
                telegram_topic,
            } => data::erase(config, thread, email, telegram_topic).await,
            Command::Backup { file } => data::backup(config, &file).await,
            Command::Export { out, since } => data::export(config, &out, since.as_deref()).await,
            Command::Import { file } => data::import(config, &file).await,
        }
    }
}

async fn serve(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> ExitCode {
    tracing::info!(
        database = config.database_kind(),
        env = config.environment.as_str(),
        "starting sohbet"
    );
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: Config) -> ExitCode {
    match flask_import::open(&config.database, &config.upload_dir).await {
        Ok((db, report)) => {
            db.close().await;
            match report {
                Some(r) => println!("upgraded the Flask Chat database: {}", r.summary()),
                None => println!("{} database is up to date", config.database_kind()),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("migrate failed: {e}");
            eprintln!("migrate failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import_flask(config: Config, source: &str) -> ExitCode {
    let source = Source::parse(source);
    let db = match flask_import::open(&config.database, &config.upload_dir).await {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("cannot open the configured database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = flask_import::import(&db, &source, &config.upload_dir).await;
    db.close().await;
    match res {
        Ok(r) => {
            for s in &r.skipped {
                println!("skipped {s}");
            }
            println!("imported {}: {}", source.shown(), r.summary());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("import failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET http://<HOST or loopback>:<PORT>/health/ready` with a 5 s timeout.
async fn healthcheck(config: &Config) -> ExitCode {
    let ip = match config.host {
        h if h.is_unspecified() && h.is_ipv4() => std::net::IpAddr::from([127, 0, 0, 1]),
        h if h.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        h => h,
    };
    let url = format!(
        "http://{}/health/ready",
        std::net::SocketAddr::new(ip, config.port)
    );
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => {
            println!("ready ({url})");
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("not ready: {url} answered {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("not ready: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(config: &Config) -> ExitCode {
    println!("configuration is valid; effective settings:");
    for (name, value) in config.effective_settings() {
        println!("{name}={value}");
    }
    ExitCode::SUCCESS
}

/// The password of `--password-stdin` (first line of standard input), or a
/// new random one (printed once by the caller): `(password, generated)`.
fn password_from(stdin: bool) -> Result<(String, bool), String> {
    if !stdin {
        return Ok((sohbet::auth::random_token()[..24].to_owned(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}

async fn agent(config: Config, cmd: AgentCommand) -> ExitCode {
    let db = match flask_import::open(&config.database, &config.upload_dir).await {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("cannot open the configured database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let auth = Auth::new(&config, db.clone());
    let res = match auth.bootstrap_owner().await {
        Ok(_) => agent_command(&auth, &db, cmd).await,
        Err(e) => Err(AgentError::Store(e)),
    };
    db.close().await;
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ (AgentError::Invalid(_) | AgentError::LoginTaken | AgentError::LastOwner)) => {
            eprintln!("agent: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("agent: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn agent_command(
    auth: &Auth,
    db: &sohbet::store::Db,
    cmd: AgentCommand,
) -> Result<(), AgentError> {
    match cmd {
        AgentCommand::Add {
            username,
            name,
            role,
            password_stdin,
        } => {
            let role: AgentRole = role
                .parse()
                .map_err(|_| AgentError::Invalid("role must be agent or owner".into()))?;
            let (password, generated) =
                password_from(password_stdin).map_err(AgentError::Invalid)?;
            let created = auth
                .add_agent(AgentRequest {
                    display_name: name.unwrap_or_else(|| username.clone()),
                    username,
                    role,
                    password: Some(password.clone()),
                })
                .await?;
            let a = created.agent;
            println!(
                "added {} {} ({}) id {}",
                a.role, a.username, a.display_name, a.id
            );
            if generated {
                println!("password: {password}");
            }
        }
        AgentCommand::List => {
            for a in auth.agents().await? {
                let state = match (a.disabled_at, a.invite_pending) {
                    (Some(_), _) => "disabled",
                    (None, true) => "invited",
                    (None, false) => "enabled",
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.id, a.username, a.role, state, a.display_name
                );
            }
        }
        AgentCommand::Disable { username } => {
            let a = auth.agent_by_login(&username).await?;
            let (_, ended) = auth.disable_agent(a.id).await?;
            println!("disabled {} ({} sessions ended)", a.username, ended.len());
            let detail = serde_json::json!({"sessions_ended": ended.len()});
            let by = sohbet::domain::ActedBy::cli();
            let target = a.id.to_string();
            let action = sohbet::domain::AuditAction::AgentDisable;
            let now = sohbet::store::now();
            sohbet::store::audit::record(db, &by, action, Some(&target), Some(&detail), now)
                .await
                .map_err(AgentError::Store)?;
        }
        AgentCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let a = auth.agent_by_login(&username).await?;
            let (password, generated) =
                password_from(password_stdin).map_err(AgentError::Invalid)?;
            auth.set_agent_password(a.id, &password).await?;
            println!("new password set for {}", a.username);
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}
