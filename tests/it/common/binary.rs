//! The real `sohbet` binary as a child process, for what an in-process
//! server cannot show: kill -9, SIGTERM, a lowered `RLIMIT_NOFILE`. One
//! way to start it for every such test (crash tests in `hardening` and
//! `telegram_outbox`, the descriptor test in `connections`).

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

/// A started binary: the child, its base URL (`http://127.0.0.1:<port>`)
/// and its stdout lines, collected as they come.
pub struct Binary {
    pub child: Child,
    pub base: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The binary's command with a clean environment: `PATH`, `HOST`
/// 127.0.0.1, `PORT` 0, `RUST_LOG` info, the tests' relaxed limits, then
/// `env`; run in the repository, stdout piped, stderr dropped.
pub fn command<K: AsRef<OsStr>, V: AsRef<OsStr>>(env: &[(K, V)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sohbet"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in super::relaxed_limits() {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Spawns `cmd` (from [`command`]) and waits up to 30 s for its
/// "listening on" line; panics with the log so far when it does not come.
pub fn spawn(mut cmd: Command) -> Binary {
    let mut child = cmd.spawn().expect("spawn sohbet");
    let out = child.stdout.take().expect("stdout piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let _ = tx.send(line[i + "listening on ".len()..].trim().to_owned());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("server did not start: {:?}", log.lock().unwrap()));
    Binary { child, base, log }
}
