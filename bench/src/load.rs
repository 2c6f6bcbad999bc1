//! The open-loop load: visitor sockets send `message_from_visitor` (with an
//! ack id and a `client_id` naming the message's sequence number) at send
//! times fixed before the run starts, so a slow server cannot slow the
//! generator (no coordinated omission: latency is measured from the planned
//! send time, not from when the generator got round to it). Admin sockets
//! record when each message reaches them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::watch;

use crate::{
    client::{self, Identity, Rx, Tx},
    server::Server,
};

/// The sockets of one run.
pub struct Fleet {
    /// Visitor sockets.
    pub visitors: Vec<(Tx, Rx)>,
    /// Admin sockets.
    pub admins: Vec<(Tx, Rx)>,
}

/// Runs `f` over `items` with at most `width` in flight.
pub async fn bounded<T, F, Fut, R>(items: Vec<T>, width: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R> + 'static,
    R: 'static,
{
    use futures_util::stream::{self, StreamExt};
    stream::iter(items.into_iter().map(f))
        .buffered(width.max(1))
        .collect()
        .await
}

/// `n` new visitors through `GET /` (cookie + CSRF), 32 requests in flight.
pub async fn visitors(
    http: &reqwest::Client,
    server: &Server,
    n: usize,
) -> Result<Vec<Identity>, String> {
    let addr = server.addr;
    let res = bounded((0..n).collect(), 32, |_| {
        let http = http.clone();
        async move { client::visitor(&http, addr).await }
    })
    .await;
    res.into_iter().collect()
}

/// Logs the admin in once and opens `admins` admin sockets and one visitor
/// socket per identity (16 handshakes in flight).
pub async fn fleet(
    http: &reqwest::Client,
    server: &Server,
    ids: &[Identity],
    admins: usize,
) -> Result<Fleet, String> {
    let admin = client::admin(http, server).await?;
    let addr = server.addr;
    let mut a = Vec::with_capacity(admins);
    for _ in 0..admins {
        a.push(client::connect(addr, &admin, "admin").await?);
    }
    let v = bounded(ids.to_vec(), 16, |id| async move {
        client::connect(addr, &id, "visitor").await
    })
    .await;
    Ok(Fleet {
        visitors: v.into_iter().collect::<Result<_, _>>()?,
        admins: a,
    })
}

/// Planned send offsets (ns from the start) for `phases` of `(rate msg/s,
/// seconds)`, back to back.
pub fn schedule(phases: &[(f64, f64)]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut start = 0.0f64;
    for &(rate, secs) in phases {
        let n = (rate * secs).round() as u64;
        for i in 0..n {
            out.push(((start + i as f64 / rate) * 1e9) as u64);
        }
        start += secs;
    }
    out
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Messages sent.
    pub sent: usize,
    /// Acks with `success: true`.
    pub acked: usize,
    /// Acks with `success: false` (refused: busy, rate limited…).
    pub refused: usize,
    /// Admin receipts per admin socket (distinct messages).
    pub received: Vec<usize>,
    /// Σ over admins of acknowledged messages that admin never saw.
    pub lost: usize,
    /// Send → admin receipt, ns, one per (admin, message).
    pub latencies: Vec<u64>,
    /// Per message: the worst latency over admins (ns), `u64::MAX` if lost/unseen.
    pub worst: Vec<u64>,
    /// First planned send → last receipt, s.
    pub span_s: f64,
    /// Server CPU seconds during the run (first send → end of drain).
    pub cpu_s: f64,
    /// Generator CPU seconds during the run.
    pub gen_cpu_s: f64,
    /// Largest delay of an actual send behind its planned time, ms.
    pub gen_lag_ms: f64,
    /// What the server spent during the run (first send → end of drain).
    pub spent: crate::server::Counters,
    /// Server RSS at the end (KiB) and its peak (KiB).
    pub rss_kib: (u64, u64),
    /// Server log lines written during the run.
    pub log_lines: usize,
}

fn admin_seq(text: &str) -> Option<usize> {
    if !text.starts_with("42[\"message_from_visitor\"") {
        return None;
    }
    let needle = "\"client_id\":\"b";
    let i = text.find(needle)? + needle.len();
    let digits = text[i..].split('"').next()?;
    digits.parse().ok()
}

/// `43<id>[{…"success":true…}]` → `(id, success)`.
fn ack(text: &str) -> Option<(usize, bool)> {
    let rest = text.strip_prefix("43")?;
    let end = rest.find('[')?;
    let id = rest[..end].parse().ok()?;
    Some((id, rest.contains("\"success\":true")))
}

/// Sends `plan` (offsets in ns) round-robin over the visitor sockets, then
/// waits until every message is acked and seen by every admin, or `drain`
/// after the last planned send.
pub async fn run(server: &Server, fleet: Fleet, plan: &[u64], drain: Duration) -> Outcome {
    let n = plan.len();
    let base = Instant::now();
    let start = Duration::from_millis(100);
    let (stop_tx, stop_rx) = watch::channel(false);
    let acks_seen = Arc::new(AtomicUsize::new(0));
    let receipts = Arc::new(AtomicUsize::new(0));
    let mut admin_tasks = Vec::new();
    for (tx, mut rx) in fleet.admins {
        let mut stop = stop_rx.clone();
        let receipts = receipts.clone();
        admin_tasks.push(tokio::spawn(async move {
            let mut got: Vec<(usize, u64)> = Vec::new();
            loop {
                tokio::select! {
                    p = client::next_text(&mut rx, &tx) => {
                        let Some(p) = p else { break };
                        if let Some(seq) = admin_seq(&p) {
                            got.push((seq, base.elapsed().as_nanos() as u64));
                            receipts.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
            drop(tx);
            got
        }));
    }
    let mut senders = Vec::new();
    let mut visitor_tasks = Vec::new();
    for (tx, mut rx) in fleet.visitors {
        senders.push(tx.clone());
        let mut stop = stop_rx.clone();
        let acks_seen = acks_seen.clone();
        visitor_tasks.push(tokio::spawn(async move {
            let mut acks: Vec<(usize, bool)> = Vec::new();
            loop {
                tokio::select! {
                    p = client::next_text(&mut rx, &tx) => {
                        let Some(p) = p else { break };
                        if let Some(a) = ack(&p) {
                            acks.push(a);
                            acks_seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
            drop(tx);
            acks
        }));
    }
    let admins = admin_tasks.len();
    let cpu0 = server.cpu_s();
    let counters0 = server.counters();
    let gen0 = crate::server::proc_cpu_s("/proc/self/stat");
    let log0 = server.mark();
    let t0 = base + start;
    let mut lag = Duration::ZERO;
    let mut i = 0;
    while i < n {
        let now = Instant::now();
        let due = t0 + Duration::from_nanos(plan[i]);
        if due > now {
            tokio::time::sleep_until(due.into()).await;
            continue;
        }
        lag = lag.max(now - due);
        let v = &senders[i % senders.len().max(1)];
        let _ = v.send(format!(
            "42{i}[\"message_from_visitor\",{{\"text\":\"bench message {i}\",\"client_id\":\"b{i}\"}}]"
        ));
        i += 1;
        if i % 64 == 0 {
            // Let the readers stamp their receipts while a backlog is sent.
            tokio::task::yield_now().await;
        }
    }
    let end = t0 + Duration::from_nanos(plan.last().copied().unwrap_or(0)) + drain;
    while Instant::now() < end
        && (acks_seen.load(Ordering::Relaxed) < n || receipts.load(Ordering::Relaxed) < n * admins)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu_s = server.cpu_s() - cpu0;
    let spent = server.counters().since(&counters0);
    let gen_cpu_s = crate::server::proc_cpu_s("/proc/self/stat") - gen0;
    let rss_kib = server.rss_kib();
    let log_lines = server.mark() - log0;
    let _ = stop_tx.send(true);
    drop(senders);

    let mut acked_ok = vec![false; n];
    let (mut acked, mut refused) = (0, 0);
    for t in visitor_tasks {
        for (id, ok) in t.await.unwrap_or_default() {
            if id < n {
                if ok {
                    acked += 1;
                    acked_ok[id] = true;
                } else {
                    refused += 1;
                }
            }
        }
    }
    let t0_ns = start.as_nanos() as u64;
    let mut out = Outcome {
        sent: n,
        acked,
        refused,
        worst: vec![0; n],
        cpu_s,
        spent,
        gen_cpu_s,
        gen_lag_ms: lag.as_secs_f64() * 1e3,
        rss_kib,
        log_lines,
        ..Outcome::default()
    };
    let mut last = 0u64;
    for t in admin_tasks {
        let mut seen = vec![false; n];
        let mut count = 0;
        for (seq, at) in t.await.unwrap_or_default() {
            if seq >= n || seen[seq] {
                continue;
            }
            seen[seq] = true;
            count += 1;
            let lat = at.saturating_sub(t0_ns + plan[seq]);
            out.latencies.push(lat);
            out.worst[seq] = out.worst[seq].max(lat);
            last = last.max(at);
        }
        for seq in 0..n {
            if !seen[seq] {
                out.worst[seq] = u64::MAX;
                if acked_ok[seq] {
                    out.lost += 1;
                }
            }
        }
        out.received.push(count);
    }
    out.span_s = last.saturating_sub(t0_ns) as f64 / 1e9;
    out
}

/// The `q` quantile (0..=1) of `v` (sorted in place), in ms.
pub fn quantile_ms(v: &mut [u64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)] as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_admin_event_and_ack() {
        let ev = r#"42["message_from_visitor",{"client_id":"b42","content_text":"x"}]"#;
        assert_eq!(admin_seq(ev), Some(42));
        assert_eq!(admin_seq(r#"42["user_online",{}]"#), None);
        assert_eq!(
            ack(r#"437[{"message":{},"success":true}]"#),
            Some((7, true))
        );
        assert_eq!(
            ack(r#"4312[{"success":false,"code":"x"}]"#),
            Some((12, false))
        );
    }

    #[test]
    fn schedule_is_evenly_spaced() {
        let s = schedule(&[(10.0, 1.0), (5.0, 2.0)]);
        assert_eq!(s.len(), 20);
        assert_eq!(s[1], 100_000_000);
        assert_eq!(s[10], 1_000_000_000);
        assert_eq!(s[11], 1_200_000_000);
    }
}
