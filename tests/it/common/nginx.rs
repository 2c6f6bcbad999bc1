//! nginx in front of several instances (issue 24 item 3), as the test's own
//! process on a free port, with exactly the configuration that
//! `docs/scaling.md` § Behind nginx gives operators: the block is read from
//! that page, its ports (`127.0.0.1:5001`…`5003`, `listen 8080`) replaced by
//! the test's, and wrapped in an `http {}` whose paths are in a temporary
//! folder. Debian's `nginx` package (`scripts/test-services` installs it).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::services::free_port;

/// A running nginx; stopped when dropped.
pub struct Nginx {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The nginx block of `docs/scaling.md` (the first ```` ```nginx ```` fence
/// after the marker comment).
pub fn documented_block() -> String {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scaling.md"))
        .expect("docs/scaling.md");
    let marker = page
        .find("tests/it/common/nginx.rs reads the next nginx block")
        .expect("the marker in docs/scaling.md");
    let rest = &page[marker..];
    let start = rest.find("```nginx\n").expect("an nginx block") + "```nginx\n".len();
    let end = rest[start..].find("```").expect("the end of the block");
    rest[start..start + end].to_owned()
}

impl Nginx {
    /// nginx with the documented block in front of the instances on
    /// `ports` (exactly three, as in the page).
    pub fn start(ports: &[u16; 3]) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut block = documented_block();
        for (doc, ours) in [5001, 5002, 5003].iter().zip(ports) {
            let doc = format!("127.0.0.1:{doc} ");
            assert!(block.contains(&doc), "{doc} in the documented block");
            block = block.replace(&doc, &format!("127.0.0.1:{ours} "));
        }
        assert!(block.contains("listen 8080;"));
        block = block.replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             {block}\n}}\n"
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        // The workers may run as another user (root starts them as nobody).
        let _ = Command::new("chmod").arg("777").arg(dir.path()).status();
        let child = Command::new(nginx_bin())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (scripts/test-services installs Debian's package)");
        let n = Nginx {
            base: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(n._dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        n
    }
}

/// `nginx` on `PATH`, else Debian's `/usr/sbin/nginx` (not on a user's PATH).
fn nginx_bin() -> String {
    let sbin = "/usr/sbin/nginx";
    if std::path::Path::new(sbin).exists() {
        sbin.into()
    } else {
        "nginx".into()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would leave
        // them running).
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
