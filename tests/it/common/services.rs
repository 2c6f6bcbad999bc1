//! A Redis and a Postgres of a test's own, on free ports in a temporary
//! folder, for tests that kill, restart or cut them (issue 24): the
//! shared ones (`127.0.0.1:6379`, `:5432`) are never touched. Both are
//! stopped when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Waits up to 20 s for `ok()`; panics with `what` otherwise.
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `redis-server` of the test's own.
pub struct OwnRedis {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts it on a free port and waits until it answers `PING`.
    pub fn start() -> OwnRedis {
        let mut r = OwnRedis {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        r.up();
        r
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli -p <port> args…`; its output (empty when Redis is away).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-services installs it)");
        self.child = Some(child);
        wait_for("redis-server answers PING", || {
            self.cli(&["PING"]).trim() == "PONG"
        });
    }

    /// Kills it (SIGKILL: every connection drops at once).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        self.stop();
        self.up();
    }

    /// The pub/sub channels with a subscriber.
    pub fn channels(&self) -> Vec<String> {
        self.cli(&["PUBSUB", "CHANNELS"])
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Postgres cluster of the test's own (`initdb` + `pg_ctl` of the
/// installed Postgres, trust auth, database `test`), for restarts.
pub struct OwnPostgres {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

/// Where the Postgres binaries are: on `PATH`, else Debian's folder.
fn pg_bin(name: &str) -> PathBuf {
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(p) = on_path.filter(|p| !p.is_empty()) {
        return p.into();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.flatten()
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| name.into())
}

/// `cmd` as the user that may run Postgres: the tests run as root in CI,
/// and Postgres refuses root, so then as `postgres`.
fn as_pg_user(program: PathBuf) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl OwnPostgres {
    /// `initdb` in a temporary folder, started on a free port, database
    /// `test` created.
    pub fn start() -> OwnPostgres {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = OwnPostgres {
            port: free_port(),
            dir,
        };
        pg.chown();
        let ok = as_pg_user(pg_bin("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.data())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb");
        assert!(ok.success(), "initdb failed");
        pg.up();
        let ok = Command::new(pg_bin("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(pg.port.to_string())
            .arg("test")
            .status()
            .expect("createdb");
        assert!(ok.success(), "createdb failed");
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temporary folder belongs to `postgres` when running as root.
    fn chown(&self) {
        let _ = Command::new("sh")
            .args([
                "-c",
                "[ \"$(id -u)\" = 0 ] && chown postgres \"$0\" || true",
            ])
            .arg(self.dir.path())
            .status();
    }

    /// `postgres://postgres@127.0.0.1:<port>/test`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }

    fn up(&self) {
        let ok = as_pg_user(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "-t", "30", "-l"])
            .arg(self.dir.path().join("log"))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(ok.success(), "pg_ctl start failed");
    }

    /// Stops it at once (`pg_ctl stop -m immediate`: every connection
    /// drops, as in a crash).
    pub fn stop(&self) {
        let _ = as_pg_user(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Stops and starts it again (the sessions, their advisory locks with
    /// them, are gone).
    pub fn restart(&self) {
        self.stop();
        self.up();
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
