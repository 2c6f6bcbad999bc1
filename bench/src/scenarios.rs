//! The scenarios (issue 9 §1): S0 idle sockets, S1 steady load, S2 knee
//! search, S3 fan-out to many admins, S4 connect storm, S5 overload then
//! normal load. Each starts its own fresh server and returns table rows.

use std::time::{Duration, Instant};

use crate::{
    load::{self, Outcome},
    opts::Opts,
    report::Row,
    server::{Launch, Server},
};

/// Latency bound of the knee (ms).
const KNEE_P99_MS: f64 = 50.0;

fn start(l: &Launch) -> Result<Server, String> {
    Server::start(l)
}

fn row_from(scenario: String, l: &Launch, offered: f64, o: &Outcome) -> Row {
    let mut lat = o.latencies.clone();
    let received: usize = o.received.iter().sum();
    let complete = o.acked == o.sent && o.received.iter().all(|&r| r == o.sent);
    Row {
        scenario,
        server: l.kind.name().into(),
        offered,
        delivered: if o.span_s > 0.0 {
            received as f64 / o.span_s
        } else {
            0.0
        },
        p50: load::quantile_ms(&mut lat, 0.50),
        p99: load::quantile_ms(&mut lat, 0.99),
        p999: load::quantile_ms(&mut lat, 0.999),
        sent: o.sent as f64,
        acked: o.acked as f64,
        lost: o.lost as f64,
        cpu_s: o.cpu_s,
        rss_mib: o.rss_kib.0 as f64 / 1024.0,
        key: ("CPU-s", o.cpu_s, false),
        note: format!(
            "gen CPU {:.0}%, gen lag {:.0} ms{}",
            100.0 * o.gen_cpu_s / o.span_s.max(1e-9),
            o.gen_lag_ms,
            if o.refused > 0 {
                format!(", {} refused", o.refused)
            } else {
                String::new()
            }
        ),
        ok: complete && o.lost == 0 && o.refused == 0,
    }
}

/// One run of `phases` with `visitors` visitor and `admins` admin sockets on
/// a fresh server.
async fn measured(
    l: &Launch,
    o: &Opts,
    admins: usize,
    phases: &[(f64, f64)],
    drain: Duration,
) -> Result<(Outcome, bool), String> {
    let http = crate::client::http()?;
    let mut server = start(l)?;
    let ids = load::visitors(&http, &server, o.visitors).await?;
    let fleet = load::fleet(&http, &server, &ids, admins).await?;
    let plan = load::schedule(phases);
    let out = load::run(&server, fleet, &plan, drain).await;
    let alive = server.alive();
    if !alive {
        eprintln!("  server died:\n{}", server.log_tail(20));
    }
    server.stop();
    Ok((out, alive))
}

/// S1: `--rate` msg/s for `--secs` s.
pub async fn steady(l: &Launch, o: &Opts) -> Result<Vec<Row>, String> {
    let (out, _) = measured(l, o, 1, &[(o.rate, o.secs)], o.drain).await?;
    Ok(vec![row_from("S1 steady".into(), l, o.rate, &out)])
}

/// S6 efficiency (issue 25 §1): `--eff-rates` msg/s (default 1,000 and
/// 5,000) for `--secs` s each; per acknowledged message, what the server
/// spent: CPU µs (the figure compared with Node), context switches, write
/// syscalls, bytes written and bytes sent to storage (WAL and checkpoints).
pub async fn efficiency(l: &Launch, o: &Opts) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for &rate in &o.eff_rates {
        let (out, _) = measured(l, o, 1, &[(rate, o.secs)], o.drain).await?;
        let mut row = row_from(format!("S6 efficiency {rate:.0} msg/s"), l, rate, &out);
        let per = |v: f64| v / (out.acked.max(1) as f64);
        let c = &out.spent;
        let cpu_us = per(c.cpu_s * 1e6);
        row.key = ("CPU µs/msg", cpu_us, false);
        row.note = format!(
            "per msg: {cpu_us:.0} µs CPU, {:.1} ctx sw ({:.1} vol + {:.1} invol), \
             {:.1} write syscalls, {:.0} B written, {:.0} B to storage; {}",
            per((c.ctx_voluntary + c.ctx_involuntary) as f64),
            per(c.ctx_voluntary as f64),
            per(c.ctx_involuntary as f64),
            per(c.syscw as f64),
            per(c.wchar as f64),
            per(c.disk_bytes as f64),
            row.note
        );
        rows.push(row);
    }
    Ok(rows)
}

fn passes(out: &Outcome, p99: f64) -> bool {
    out.lost == 0
        && out.acked == out.sent
        && out.received.iter().all(|&r| r == out.sent)
        && p99 <= KNEE_P99_MS
}

/// S2: the highest rate with p99 ≤ 50 ms, everything acked and nothing lost:
/// ×1.5 steps from `--knee-start` until a step fails, then `--bisect` halvings.
/// Returns the rows and the knee (msg/s, 0 when even the first step fails).
pub async fn knee(l: &Launch, o: &Opts) -> Result<(Vec<Row>, f64), String> {
    let step = |rate: f64| async move {
        // A warm-up at half the rate first (threads created, caches and the
        // database file grown), left out of the step's figures.
        let warm = (rate / 2.0, o.warmup_secs);
        let phases: &[(f64, f64)] = if o.warmup_secs > 0.0 {
            &[warm, (rate, o.step_secs)]
        } else {
            &[(rate, o.step_secs)]
        };
        let (all, _) = measured(l, o, 1, phases, o.drain).await?;
        let first = if phases.len() > 1 {
            load::schedule(&phases[..1]).len()
        } else {
            0
        };
        let mut part = after_warmup(&all, &load::schedule(phases), first);
        let p99 = load::quantile_ms(&mut part.latencies, 0.99);
        // Counts are the whole run's: a message lost in the warm-up fails too.
        let ok = passes(&all, p99);
        eprintln!(
            "  S2 {} {rate:.0} msg/s: p99 {p99:.1} ms, acked {}/{}, lost {} → {}",
            l.kind.name(),
            all.acked,
            all.sent,
            all.lost,
            if ok { "pass" } else { "fail" }
        );
        Ok::<_, String>(((all, part), ok))
    };
    let mut best: Option<(f64, (Outcome, Measured))> = None;
    let mut rate = o.knee_start;
    let mut fail = None;
    while rate <= o.knee_max {
        let (out, ok) = step(rate).await?;
        if !ok {
            fail = Some(rate);
            break;
        }
        best = Some((rate, out));
        rate *= 1.5;
    }
    if let Some(mut hi) = fail {
        let mut lo = best.as_ref().map_or(0.0, |b| b.0);
        for _ in 0..o.bisect {
            let mid = ((lo + hi) / 2.0).round();
            if mid - lo < 50.0 {
                break;
            }
            let (out, ok) = step(mid).await?;
            if ok {
                lo = mid;
                best = Some((mid, out));
            } else {
                hi = mid;
            }
        }
    }
    let label = format!(
        "S2 knee ({} s steps after {} s warm-up)",
        o.step_secs, o.warmup_secs
    );
    let (knee, mut row) = match &best {
        Some((r, (all, part))) => {
            let mut row = row_from(label, l, *r, all);
            let mut lat = part.latencies.clone();
            row.p50 = load::quantile_ms(&mut lat, 0.50);
            row.p99 = load::quantile_ms(&mut lat, 0.99);
            row.p999 = load::quantile_ms(&mut lat, 0.999);
            row.delivered = part.delivered;
            (*r, row)
        }
        None => (0.0, Row::empty(label, l.kind.name())),
    };
    row.key = ("knee msg/s", knee, true);
    row.note = format!("knee {knee:.0} msg/s; {}", row.note);
    Ok((vec![row], knee))
}

/// What a knee step measures after its warm-up.
struct Measured {
    /// Send → admin receipt of the messages after the warm-up, ns.
    latencies: Vec<u64>,
    /// Their receipts per second since the first of them was planned.
    delivered: f64,
}

/// The part of a one-admin run from planned send `first` on (after the
/// warm-up), from the per-message latencies in `worst`.
fn after_warmup(all: &Outcome, plan: &[u64], first: usize) -> Measured {
    let first = first.min(all.worst.len());
    let tail: Vec<usize> = (first..all.worst.len())
        .filter(|&i| all.worst[i] != u64::MAX)
        .collect();
    let latencies: Vec<u64> = tail.iter().map(|&i| all.worst[i]).collect();
    let last = tail
        .iter()
        .map(|&i| plan[i] + all.worst[i])
        .max()
        .unwrap_or(0);
    let span = last.saturating_sub(plan.get(first).copied().unwrap_or(0)) as f64 / 1e9;
    Measured {
        delivered: if span > 0.0 {
            latencies.len() as f64 / span
        } else {
            0.0
        },
        latencies,
    }
}

/// S3: `--fanout-rate` msg/s delivered to 10 / 50 / 100 admin sockets.
pub async fn fanout(l: &Launch, o: &Opts) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for &admins in &o.admins {
        let (out, _) = measured(l, o, admins, &[(o.fanout_rate, o.secs)], o.drain).await?;
        let mut row = row_from(
            format!("S3 fan-out {admins} admins"),
            l,
            o.fanout_rate,
            &out,
        );
        row.key = ("admin frames/s", row.delivered, true);
        rows.push(row);
    }
    Ok(rows)
}

/// S5: 2× `knee` for `--overload-secs`, then `--rate` for as long: what was
/// lost in each phase and how long until latency is back under 50 ms.
pub async fn overload(l: &Launch, o: &Opts, knee: f64) -> Result<Vec<Row>, String> {
    let hot = (2.0 * knee).max(1.0);
    let phases = [(hot, o.overload_secs), (o.rate, o.overload_secs)];
    let drain = o.drain.max(Duration::from_secs(10));
    let (out, alive) = measured(l, o, 1, &phases, drain).await?;
    let split = (hot * o.overload_secs).round() as usize;
    let plan = load::schedule(&phases);
    let bad = |w: u64| w == u64::MAX || w > (KNEE_P99_MS * 1e6) as u64;
    let lost_hot = out.worst[..split.min(out.sent)]
        .iter()
        .filter(|&&w| w == u64::MAX)
        .count();
    let lost_after = out.worst[split.min(out.sent)..]
        .iter()
        .filter(|&&w| w == u64::MAX)
        .count();
    let last_bad = (split..out.sent).rev().find(|&i| bad(out.worst[i]));
    let recovery = match last_bad {
        None => "recovered at once".to_owned(),
        Some(i) if i + 1 == out.sent => "not recovered by the end".to_owned(),
        Some(i) => format!(
            "recovered after {:.1} s",
            (plan[i] - plan[split]) as f64 / 1e9
        ),
    };
    let mut row = row_from(
        format!("S5 overload {hot:.0}→{:.0} msg/s", o.rate),
        l,
        hot,
        &out,
    );
    row.key = ("lost", out.lost as f64, false);
    row.note = format!(
        "unseen: {lost_hot} in overload, {lost_after} after; {recovery}; \
         peak RSS {:.0} MiB; {} log lines; {}; {}",
        out.rss_kib.1 as f64 / 1024.0,
        out.log_lines,
        if alive { "server up" } else { "SERVER DIED" },
        row.note
    );
    row.ok = row.ok && alive;
    Ok(vec![row])
}

/// Sockets per loopback source address in [`open_idle`]: well below the
/// default ephemeral port range (32768–60999, about 28,000 ports).
const PER_SOURCE: usize = 10_000;

/// S0's sockets: one visitor socket per identity, 64 handshakes in flight,
/// each then read by a task that answers the server's pings (an idle page
/// does so; without it the server's heartbeat would close the first
/// sockets of a long run). Above [`PER_SOURCE`] sockets the first
/// [`PER_SOURCE`] come from 127.0.0.1, the next from 127.0.0.2, and so on
/// (Linux routes all of 127.0.0.0/8 to the loopback). Returns the reader tasks (abort them to
/// close the sockets) and the failures.
async fn open_idle(
    server: &Server,
    ids: Vec<crate::client::Identity>,
) -> (Vec<tokio::task::JoinHandle<()>>, usize) {
    let addr = server.addr;
    let spread = ids.len() > PER_SOURCE;
    let items: Vec<_> = ids.into_iter().enumerate().collect();
    let results = load::bounded(items, 64, |(i, id)| async move {
        let from = spread.then(|| {
            let k = u8::try_from(1 + i / PER_SOURCE).unwrap_or(u8::MAX);
            std::net::IpAddr::from([127, 0, 0, k])
        });
        let (tx, mut rx) = crate::client::connect_from(addr, from, &id, "visitor").await?;
        Ok::<_, String>(tokio::spawn(async move {
            while crate::client::next_text(&mut rx, &tx).await.is_some() {}
        }))
    })
    .await;
    split_results(results)
}

/// The sockets that opened and how many failed (the first failure is
/// printed).
fn split_results<T>(results: Vec<Result<T, String>>) -> (Vec<T>, usize) {
    let mut ok = Vec::new();
    let mut failed = 0;
    for r in results {
        match r {
            Ok(s) => ok.push(s),
            Err(e) => {
                if failed == 0 {
                    eprintln!("  socket failed: {e}");
                }
                failed += 1;
            }
        }
    }
    (ok, failed)
}

/// Opens one visitor socket per identity with `width` handshakes in flight
/// (0 = all at once). Returns the sockets (kept open) and the failures.
async fn open_all(
    server: &Server,
    ids: Vec<crate::client::Identity>,
    width: usize,
) -> (Vec<(crate::client::Tx, crate::client::Rx)>, usize) {
    let addr = server.addr;
    let results = if width == 0 {
        let handles: Vec<_> = ids
            .into_iter()
            .map(|id| {
                tokio::spawn(async move { crate::client::connect(addr, &id, "visitor").await })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.map_err(|e| e.to_string()).and_then(|r| r));
        }
        out
    } else {
        load::bounded(ids, width, |id| async move {
            crate::client::connect(addr, &id, "visitor").await
        })
        .await
    };
    split_results(results)
}

/// One admin socket whose events are read and dropped (it gets a
/// `user_online` per visitor).
async fn drained_admin(http: &reqwest::Client, server: &Server) -> Result<(), String> {
    let admin = crate::client::admin(http, server).await?;
    let (tx, mut rx) = crate::client::connect(server.addr, &admin, "admin").await?;
    tokio::spawn(async move { while crate::client::next_text(&mut rx, &tx).await.is_some() {} });
    Ok(())
}

/// S0: RSS per idle visitor socket at each `--idle` size.
pub async fn idle(l: &Launch, o: &Opts) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for &n in &o.idle {
        let http = crate::client::http()?;
        let server = start(l)?;
        drained_admin(&http, &server).await?;
        let ids = load::visitors(&http, &server, n).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = server.rss_kib().0;
        let cpu0 = server.cpu_s();
        let t = Instant::now();
        let (socks, failed) = open_idle(&server, ids).await;
        let open_s = t.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = server.rss_kib().0;
        let per = after.saturating_sub(before) as f64 / socks.len().max(1) as f64;
        let mut row = Row::empty(format!("S0 idle {n} sockets"), l.kind.name());
        row.offered = n as f64;
        row.sent = n as f64;
        row.acked = socks.len() as f64;
        row.cpu_s = server.cpu_s() - cpu0;
        row.rss_mib = after as f64 / 1024.0;
        row.key = ("KiB/socket", per, false);
        row.note = format!(
            "{per:.1} KiB per socket over the idle process ({:.0} MiB before, {:.0} MiB after); \
             opened in {open_s:.1} s; {failed} failed",
            before as f64 / 1024.0,
            after as f64 / 1024.0
        );
        row.ok = failed == 0;
        if !o.idle_hold.is_zero() {
            eprintln!(
                "  holding {} idle sockets for {:.0} s (server pid {})",
                socks.len(),
                o.idle_hold.as_secs_f64(),
                server.pid()
            );
            tokio::time::sleep(o.idle_hold).await;
        }
        for s in socks {
            s.abort();
        }
        rows.push(row);
    }
    Ok(rows)
}

/// S4: `--storm` visitor sockets handshaking at once (HTTP flow done first).
pub async fn storm(l: &Launch, o: &Opts) -> Result<Vec<Row>, String> {
    let http = crate::client::http()?;
    let server = start(l)?;
    drained_admin(&http, &server).await?;
    let ids = load::visitors(&http, &server, o.storm).await?;
    let cpu0 = server.cpu_s();
    let t = Instant::now();
    let (socks, failed) = open_all(&server, ids, 0).await;
    let secs = t.elapsed().as_secs_f64();
    let mut row = Row::empty(format!("S4 storm {} sockets", o.storm), l.kind.name());
    row.offered = o.storm as f64;
    row.delivered = socks.len() as f64 / secs;
    row.sent = o.storm as f64;
    row.acked = socks.len() as f64;
    row.cpu_s = server.cpu_s() - cpu0;
    row.rss_mib = server.rss_kib().0 as f64 / 1024.0;
    row.key = ("connect s", secs, false);
    row.note = format!("all connected in {secs:.2} s; {failed} failed");
    row.ok = failed == 0;
    drop(socks);
    Ok(vec![row])
}
