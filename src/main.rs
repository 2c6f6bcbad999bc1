//! `sohbet`: reads the configuration (environment and `.env`), starts
//! logging and serves until SIGINT or SIGTERM.

use sohbet::{App, config::Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    sohbet::telemetry::init();
    let shutdown = shutdown_signal();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing::info!(
        database = config.database_kind(),
        env = config.environment.as_str(),
        "starting sohbet"
    );
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called (before the server starts), so a signal that arrives just
/// after start-up is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
}
