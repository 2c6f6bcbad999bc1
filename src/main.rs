//! `sohbet`: reads the configuration (environment and `.env`), starts
//! logging and runs the command of the command line ([`cli`]; `serve` by
//! default: serves until SIGINT or SIGTERM) on the runtime
//! [`sohbet::runtime::build`] sizes.

mod cli;

fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    // Sized from `RUNTIME_WORKERS` (docs/configuration.md).
    let runtime = match sohbet::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sohbet: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let cli = cli::Cli::from_args();
        sohbet::telemetry::init();
        cli.run(shutdown_signal).await
    })
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
