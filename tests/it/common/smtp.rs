//! A test SMTP server on 127.0.0.1 (issue 26): speaks real SMTP (RFC 5321)
//! over TCP — greeting, EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA (dot
//! unstuffing), RSET, NOOP, QUIT — and keeps every message it accepted.
//! It answers as the test asks ([`Mode`]): accept, 4xx, 5xx, close
//! every connection at once, or take a message and never answer (a send
//! in flight); [`SmtpSink::down`] / [`SmtpSink::up`] close and reopen its
//! port. No TLS (sohbet connects with `?tls=none`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::Notify,
    task::JoinHandle,
};

/// How the sink answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 250 to everything.
    Accept,
    /// 451 after the message's data (try again later).
    Transient,
    /// 550 to RCPT (no such mailbox).
    Permanent,
    /// Closes each connection before the greeting (a server that is down).
    Refuse,
    /// Takes the whole message and never answers it.
    Stall,
}

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body, dot-unstuffed).
    pub data: String,
    pub at: Instant,
}

impl Mail {
    /// The value of header `name` (first one; folded lines joined).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = out.as_mut() {
                    v.push_str(line.trim_start());
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_owned());
            }
        }
        out
    }

    /// The decoded MIME part of `content_type` (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> String {
        for part in self.data.split("\r\n--") {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let lower = head.to_ascii_lowercase();
            if !lower.contains(&format!("content-type: {content_type}")) {
                continue;
            }
            let body = body.split("\r\n--").next().unwrap_or(body);
            return if lower.contains("content-transfer-encoding: base64") {
                String::from_utf8(base64(body)).unwrap()
            } else if lower.contains("content-transfer-encoding: quoted-printable") {
                String::from_utf8(quoted_printable(body)).unwrap()
            } else {
                body.to_owned()
            };
        }
        panic!("no {content_type} part in:\n{}", self.data)
    }

    /// The first URL in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.part("text/plain");
        let i = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
        text[i..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap()
            .to_owned()
    }
}

fn base64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = A.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let Some(h) = s.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(h, 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    mails: Vec<Mail>,
    /// Connections accepted (all modes).
    connections: usize,
    /// Messages whose data arrived whole (answered or not).
    data_done: usize,
    /// The AUTH PLAIN password wanted (`None`: AUTH not offered).
    password: Option<String>,
}

/// The sink: its port stays the same across [`SmtpSink::down`] / [`SmtpSink::up`].
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpSink {
    /// A sink that accepts everything, listening on a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = SmtpSink {
            port,
            state: Arc::new(Mutex::new(State {
                mode: Some(Mode::Accept),
                ..State::default()
            })),
            changed: Arc::new(Notify::new()),
            task: Mutex::new(None),
        };
        sink.serve(listener);
        sink
    }

    /// Offers AUTH PLAIN and takes only `password` (any user).
    pub fn require_password(&self, password: &str) {
        self.state.lock().unwrap().password = Some(password.to_owned());
    }

    fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        let changed = self.changed.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                let changed = changed.clone();
                tokio::spawn(async move {
                    let _ = session(conn, state, changed).await;
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// `SMTP_URL` for this sink (no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The env of a server that sends here (delays of 1 s, fast retries).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SMTP_URL".into(), self.url()),
            (
                "SMTP_FROM".into(),
                "Acme Support <support@acme.example>".into(),
            ),
            ("PUBLIC_URL".into(), "http://chat.acme.example".into()),
            ("EMAIL_NOTIFY_DELAY_SECS".into(), "1".into()),
            ("EMAIL_AGENT_DELAY_SECS".into(), "1".into()),
            ("EMAIL_RETRY_BASE_MS".into(), "100".into()),
        ]
    }

    /// How to answer from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    /// Closes the port (connections are refused) until [`SmtpSink::up`].
    pub async fn down(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
        // Let the aborted task drop its listener.
        tokio::task::yield_now().await;
    }

    /// Opens the port again.
    pub async fn up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot reopen port {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    /// Every message accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.state.lock().unwrap().mails.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Waits (up to 30 s) until `f` holds of the sink's state.
    async fn until(&self, what: &str, f: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let wait = self.changed.notified();
            if f(&self.state.lock().unwrap()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "SMTP sink: no {what} within 30 s");
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), wait).await;
        }
    }

    /// Waits until `n` messages were accepted; returns them all.
    pub async fn wait_mails(&self, n: usize) -> Vec<Mail> {
        self.until(&format!("{n} mails"), |s| s.mails.len() >= n)
            .await;
        self.mails()
    }

    /// Waits until an accepted message to `to` satisfies `f`; returns it.
    pub async fn wait_mail_to(&self, to: &str, f: impl Fn(&Mail) -> bool) -> Mail {
        let pick = |s: &State| {
            s.mails
                .iter()
                .find(|m| m.to.iter().any(|t| t == to) && f(m))
                .cloned()
        };
        self.until(&format!("mail to {to}"), |s| pick(s).is_some())
            .await;
        pick(&self.state.lock().unwrap()).unwrap()
    }

    /// Waits until `n` connections were made.
    pub async fn wait_connections(&self, n: usize) {
        self.until(&format!("{n} connections"), |s| s.connections >= n)
            .await;
    }

    /// Waits until the data of `n` messages arrived (answered or not).
    pub async fn wait_data(&self, n: usize) {
        self.until(&format!("{n} DATA"), |s| s.data_done >= n).await;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }
}

fn addr(arg: &str) -> String {
    let a = arg.split_once(':').map_or(arg, |(_, v)| v).trim();
    let a = a.split_whitespace().next().unwrap_or_default();
    a.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn session(
    conn: TcpStream,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
) -> std::io::Result<()> {
    let mode = {
        let mut s = state.lock().unwrap();
        s.connections += 1;
        s.mode.clone().unwrap_or(Mode::Accept)
    };
    changed.notify_waiters();
    if mode == Mode::Refuse {
        return Ok(());
    }
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let mode = state.lock().unwrap().mode.clone().unwrap_or(Mode::Accept);
        let password = state.lock().unwrap().password.clone();
        let reply: String = if upper.starts_with("EHLO") {
            let auth = if password.is_some() {
                "250-AUTH PLAIN\r\n"
            } else {
                ""
            };
            format!("250-sink.test\r\n{auth}250-8BITMIME\r\n250 SMTPUTF8\r\n")
        } else if upper.starts_with("HELO") {
            "250 sink.test\r\n".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let mut arg = cmd["AUTH PLAIN".len()..].trim().to_owned();
            if arg.is_empty() {
                w.write_all(b"334 \r\n").await?;
                line.clear();
                r.read_line(&mut line).await?;
                arg = line.trim().to_owned();
            }
            let raw = base64(&arg);
            let pass = raw.split(|b| *b == 0).nth(2).unwrap_or_default();
            if password.as_deref().map(str::as_bytes) == Some(pass) {
                "235 2.7.0 Authentication successful\r\n".into()
            } else {
                "535 5.7.8 Authentication credentials invalid\r\n".into()
            }
        } else if upper.starts_with("MAIL FROM") {
            from = addr(&cmd);
            to.clear();
            "250 2.1.0 Ok\r\n".into()
        } else if upper.starts_with("RCPT TO") {
            if mode == Mode::Permanent {
                "550 5.1.1 No such mailbox here\r\n".into()
            } else {
                to.push(addr(&cmd));
                "250 2.1.5 Ok\r\n".into()
            }
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            state.lock().unwrap().data_done += 1;
            changed.notify_waiters();
            match mode {
                Mode::Stall => {
                    // In flight for good: the client's process is killed meanwhile.
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                Mode::Transient => "451 4.3.0 Try again later\r\n".into(),
                _ => {
                    state.lock().unwrap().mails.push(Mail {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                        at: Instant::now(),
                    });
                    changed.notify_waiters();
                    "250 2.0.0 Ok: queued\r\n".into()
                }
            }
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok\r\n".into()
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Command not recognized\r\n".into()
        };
        w.write_all(reply.as_bytes()).await?;
    }
}
