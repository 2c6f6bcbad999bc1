//! The server under test as a child process: sohbet (the real binary) or the
//! Node reference peer (`bench/node-ref/server.mjs`), on 127.0.0.1 with a
//! fresh SQLite file (or a fresh Postgres database), optionally pinned to
//! core 0. Its log (stdout and stderr) is collected line by line: the port
//! comes from `listening on http://127.0.0.1:<port>` and the admin login code
//! from `OTP for admin login (Telegram not configured): NNNNNN`. CPU time and
//! RSS are read from `/proc/<pid>`.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The sohbet binary.
    Sohbet,
    /// Node socket.io 4 + better-sqlite3.
    Node,
}

impl Kind {
    /// Name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sohbet => "sohbet",
            Kind::Node => "node",
        }
    }
}

/// How to start a server.
#[derive(Clone, Debug)]
pub struct Launch {
    /// Which server.
    pub kind: Kind,
    /// The sohbet binary.
    pub sohbet_bin: PathBuf,
    /// The repository root (static files, `bench/node-ref`).
    pub repo: PathBuf,
    /// `Some(admin url)` for Postgres: `postgres://user@host:port/maintenance-db`.
    pub postgres: Option<String>,
    /// Pin the server to this CPU.
    pub pin: Option<usize>,
}

/// Admin credentials the bench starts every server with.
pub const ADMIN_USER: &str = "admin";
/// Admin password (bench only).
pub const ADMIN_PASSWORD: &str = "bench-password-123";

type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running server.
pub struct Server {
    child: Child,
    /// Its address.
    pub addr: SocketAddr,
    lines: Lines,
    tmp: PathBuf,
    pg_db: Option<(String, String)>,
}

fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `psql <url> -c <sql>`.
fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The CPUs this process may run on (sched_getaffinity), in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the kernel.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread (and what it later spawns or execs) to `cpu`.
pub fn pin_to(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
pub fn raise_nofile() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn collect(stream: impl Read + Send + 'static, lines: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let (m, cv) = &*lines;
            m.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            cv.notify_all();
        }
    });
}

impl Server {
    /// Starts the server and waits (≤ 60 s) for its listening line.
    pub fn start(l: &Launch) -> Result<Server, String> {
        let tmp = std::env::temp_dir().join(format!("sohbet-bench-{}", random_hex(6)));
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let mut pg_db = None;
        let mut cmd = match l.kind {
            Kind::Sohbet => Command::new(&l.sohbet_bin),
            Kind::Node => {
                let mut c = Command::new("node");
                c.arg(l.repo.join("bench/node-ref/server.mjs"));
                c
            }
        };
        cmd.current_dir(&l.repo)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &tmp)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("APP_ENV", "development")
            .env("RUST_LOG", "info,tower_http=warn")
            .env("SQLITE_PATH", tmp.join("chat.db"))
            .env("UPLOAD_DIR", tmp.join("uploads"))
            .env("STATIC_DIR", l.repo.join("static"))
            .env("DATABASE_URL", "")
            .env("TELEGRAM_BOT_TOKEN", "")
            .env("TELEGRAM_CHAT_ID", "")
            .env("TELEGRAM_WEBHOOK_URL", "")
            .env("CLOUDINARY_URL", "")
            .env("REDIS_URL", "")
            .env("ALLOWED_ORIGINS", "")
            .env("TRUST_PROXY", "false")
            .env("ADMIN_USERNAME", ADMIN_USER)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SECRET_KEY", random_hex(48))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Settings a run may vary (e.g. `POSTGRES_WRITERS=1`, `SQLITE_INLINE_BATCH=0`,
        // `RUNTIME_WORKERS=1` to compare).
        for v in ["POSTGRES_WRITERS", "SQLITE_INLINE_BATCH", "RUNTIME_WORKERS"] {
            if let Some(value) = std::env::var_os(v) {
                cmd.env(v, value);
            }
        }
        // 0 turns a limit off (src/limits.rs).
        for v in [
            "RATE_LIMIT_MESSAGES_PER_MINUTE",
            "RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE",
            "RATE_LIMIT_API_PER_IP_PER_MINUTE",
            "RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE",
            "MAX_SOCKETS_PER_IP",
            "LOGIN_FREE_FAILURES_PER_IP",
            // The connection and Engine.IO session gate (issue #8): the
            // load generator opens thousands of sockets from one address.
            "MAX_CONNECTIONS_PER_IP",
            "SOCKET_HANDSHAKES_PER_IP_PER_MINUTE",
            "MAX_PENDING_SOCKETS_PER_IP",
            "MAX_PENDING_SOCKETS",
            "MAX_SOCKETS",
            // `auto` is half the descriptor limit (9,968 here): S4's
            // 10,000 sockets plus the setup's HTTP connections went over it.
            "MAX_CONNECTIONS",
        ] {
            cmd.env(v, "0");
        }
        if let (Some(admin_url), Kind::Sohbet) = (&l.postgres, l.kind) {
            let name = format!("sohbet_bench_{}", random_hex(6));
            psql(admin_url, &format!("CREATE DATABASE {name}"))?;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            cmd.env("DATABASE_URL", format!("{base}/{name}"));
            pg_db = Some((admin_url.clone(), name));
        }
        if let Some(cpu) = l.pin {
            // SAFETY: only an async-signal-safe syscall runs between fork and
            // exec; a refused pin leaves the server unpinned.
            unsafe {
                cmd.pre_exec(move || {
                    let _ = pin_to(cpu);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", l.kind.name()))?;
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, lines.clone());
        }
        if let Some(err) = child.stderr.take() {
            collect(err, lines.clone());
        }
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            tmp,
            pg_db,
        };
        let port = server
            .wait_line(0, "listening on http://127.0.0.1:", Duration::from_secs(60))
            .and_then(|s| {
                s.rsplit(':')
                    .next()
                    .and_then(|p| p.trim().parse::<u16>().ok())
            });
        match port {
            Some(p) => server.addr.set_port(p),
            None => {
                let log = server.log_tail(30);
                server.stop();
                return Err(format!("server did not start; log tail:\n{log}"));
            }
        }
        Ok(server)
    }

    /// Number of log lines so far (a mark for [`Server::wait_line`]).
    pub fn mark(&self) -> usize {
        self.lines.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The text after `needle` in the first line at index ≥ `from` that
    /// contains it (ANSI colours stripped), waiting up to `timeout`.
    pub fn wait_line(&self, from: usize, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.lines;
        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            for line in g.iter().skip(from) {
                let clean = strip_ansi(line);
                if let Some(i) = clean.find(needle) {
                    return Some(clean[i + needle.len()..].to_owned());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = cv
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The last `n` log lines.
    pub fn log_tail(&self, n: usize) -> String {
        let g = self.lines.0.lock().unwrap_or_else(|p| p.into_inner());
        g[g.len().saturating_sub(n)..].join("\n")
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Is it still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// CPU seconds used so far (user + system, `/proc/<pid>/stat`).
    pub fn cpu_s(&self) -> f64 {
        proc_cpu_s(&format!("/proc/{}/stat", self.pid()))
    }

    /// The process's counters so far (every thread of it): CPU, context
    /// switches, write syscalls and bytes (see [`Counters`]).
    pub fn counters(&self) -> Counters {
        Counters::of(self.pid())
    }

    /// `(VmRSS, VmHWM)` in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM, up to 10 s for the exit, then SIGKILL; removes the temporary
    /// folder and database.
    pub fn stop(&mut self) {
        if self.alive() {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.alive() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.alive() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
        if let Some((url, name)) = self.pg_db.take() {
            let _ = psql(
                &url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a process has spent so far, from `/proc/<pid>` (Linux, proc(5)).
/// Differences of two readings are what a run cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// user + system CPU seconds (`stat`).
    pub cpu_s: f64,
    /// Voluntary context switches, Σ over its live threads
    /// (`task/*/status`: `voluntary_ctxt_switches`; a thread that exited
    /// takes its count with it).
    pub ctx_voluntary: u64,
    /// Involuntary context switches, likewise (`nonvoluntary_ctxt_switches`).
    pub ctx_involuntary: u64,
    /// Write-class syscalls (`io`: `syscw`: write, pwrite64, writev… on
    /// files and sockets; `sendto`/`sendmsg` are not counted).
    pub syscw: u64,
    /// Bytes passed to those syscalls (`io`: `wchar`).
    pub wchar: u64,
    /// Bytes it caused to be sent to storage (`io`: `write_bytes`, counted
    /// when pages are dirtied: the WAL and the database file's checkpoints).
    pub disk_bytes: u64,
}

impl Counters {
    /// Reads process `pid`'s counters (zeros for what cannot be read).
    pub fn of(pid: u32) -> Counters {
        let field = |text: &str, name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        let (mut vol, mut invol) = (0, 0);
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let st = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                vol += field(&st, "voluntary_ctxt_switches:");
                invol += field(&st, "nonvoluntary_ctxt_switches:");
            }
        }
        Counters {
            cpu_s: proc_cpu_s(&format!("/proc/{pid}/stat")),
            ctx_voluntary: vol,
            ctx_involuntary: invol,
            syscw: field(&io, "syscw:"),
            wchar: field(&io, "wchar:"),
            disk_bytes: field(&io, "write_bytes:"),
        }
    }

    /// `self - earlier`, saturating (a thread that exited can lower a sum).
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            cpu_s: (self.cpu_s - earlier.cpu_s).max(0.0),
            ctx_voluntary: self.ctx_voluntary.saturating_sub(earlier.ctx_voluntary),
            ctx_involuntary: self.ctx_involuntary.saturating_sub(earlier.ctx_involuntary),
            syscw: self.syscw.saturating_sub(earlier.syscw),
            wchar: self.wchar.saturating_sub(earlier.wchar),
            disk_bytes: self.disk_bytes.saturating_sub(earlier.disk_bytes),
        }
    }
}

/// user + system CPU seconds from a `/proc/.../stat` file.
pub fn proc_cpu_s(path: &str) -> f64 {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) as f64 / hz
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The repository root this bench was built from.
pub fn default_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
