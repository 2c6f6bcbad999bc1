//! The Telegram outbox under a flood of visitors (issue 23 item 4), on
//! SQLite and Postgres: visitors at their own addresses write steadily
//! over HTTP (open loop, each message timed from its acknowledgement);
//! the admin chat is a group without topics, paced like Telegram's limit
//! and enforced by the Bot API double (a 429 for any message over it).
//! Checked: every acknowledged message reaches Telegram exactly once, in
//! order per thread, and Telegram never answered 429. Printed (not
//! asserted, unless asked): the delay from acknowledgement to the Bot API
//! call that carried the message, p50 / p99 / max.
//!
//! The test size runs in seconds at a fast pace; the figure of
//! docs/benchmarks.md is the same test at Telegram's pace, e.g.
//!
//! ```sh
//! SOHBET_TG_LOAD_VISITORS=20 SOHBET_TG_LOAD_RATE=50 SOHBET_TG_LOAD_SECS=300 \
//! SOHBET_TG_LOAD_PACE=20 SOHBET_TG_LOAD_P99_LIMIT_S=75 \
//!   cargo test --test it telegram_load::sqlite -- --nocapture
//! ```
//!
//! Variables (defaults: the test size): `SOHBET_TG_LOAD_VISITORS` (6),
//! `SOHBET_TG_LOAD_RATE` (messages a second, all visitors together; 30),
//! `SOHBET_TG_LOAD_SECS` (4), `SOHBET_TG_LOAD_PACE` (sends a minute; 600),
//! `SOHBET_TG_LOAD_TEXT` (characters per message, at least 9; 12),
//! `SOHBET_TG_LOAD_P99_LIMIT_S` (unset: the delay is only printed).

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common::{
    Backend, Browser,
    bridge::{expand, forward_text, start},
    telegram::{Call, TelegramDouble, forum::FORUM_CHAT},
};

on_both_backends!(a_flood_of_visitors_reaches_telegram_complete_in_order_without_a_429);

/// The load, from the environment.
struct Load {
    visitors: usize,
    rate: f64,
    secs: f64,
    pace: u32,
    text: usize,
    p99_limit: Option<f64>,
}

fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Load {
    fn from_env() -> Load {
        Load {
            visitors: var("SOHBET_TG_LOAD_VISITORS", 6usize).clamp(1, 200),
            rate: var("SOHBET_TG_LOAD_RATE", 30.0f64).clamp(0.1, 1000.0),
            secs: var("SOHBET_TG_LOAD_SECS", 4.0f64).clamp(1.0, 3600.0),
            pace: var("SOHBET_TG_LOAD_PACE", 600u32).max(1),
            text: var("SOHBET_TG_LOAD_TEXT", 12usize).clamp(9, 4000),
            p99_limit: std::env::var("SOHBET_TG_LOAD_P99_LIMIT_S")
                .ok()
                .and_then(|v| v.parse().ok()),
        }
    }
}

/// The text of message `k` of visitor `i`: unique, `len` characters.
fn text(i: usize, k: usize, len: usize) -> String {
    let t = format!("v{i:02} #{k:04} ");
    format!("{t}{}", "o".repeat(len.saturating_sub(t.len())))
        .trim_end()
        .to_owned()
}

/// The `q`-quantile (0..=1) of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn a_flood_of_visitors_reaches_telegram_complete_in_order_without_a_429(backend: Backend) {
    let load = Load::from_env();
    // A group (negative id, paced by TELEGRAM_CHAT_MESSAGES_PER_MINUTE)
    // without topics; Telegram's per-chat limit at the same pace.
    let tg = TelegramDouble::start_forum().await;
    tg.set_is_forum(false);
    if load.pace.is_multiple_of(60) {
        tg.set_chat_limit((load.pace / 60) as usize, Duration::from_secs(1));
    } else {
        tg.set_chat_limit(load.pace as usize, Duration::from_secs(60));
    }
    let pace = load.pace.to_string();
    let app = start(
        backend,
        &tg,
        &[
            ("TELEGRAM_CHAT_MESSAGES_PER_MINUTE", pace.as_str()),
            ("APP_TIMEZONE", "UTC"),
        ],
    )
    .await;

    // Each visitor at its own address, writing every `period`, staggered.
    let period = Duration::from_secs_f64(load.visitors as f64 / load.rate);
    let per_visitor = (load.secs * load.rate / load.visitors as f64).ceil() as usize;
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut threads = vec![];
    let mut tasks = vec![];
    let t0 = Instant::now() + Duration::from_millis(500);
    for i in 0..load.visitors {
        let ip = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            1 + (i / 200) as u8,
            10 + (i % 200) as u8,
        ));
        let mut b = Browser::from_address(&app.base, ip);
        b.init().await;
        let tid = b.thread_id().await;
        threads.push(tid.clone());
        let (acked, len) = (acked.clone(), load.text);
        let start = t0 + period.mul_f64(i as f64 / load.visitors as f64);
        tasks.push(tokio::spawn(async move {
            for k in 0..per_visitor {
                tokio::time::sleep_until((start + period * k as u32).into()).await;
                let t = text(i, k, len);
                let (s, r) = b.send(None, &t).await;
                assert_eq!(s, 200, "{r}");
                acked
                    .lock()
                    .unwrap()
                    .insert(forward_text(&tid, &t), Instant::now());
            }
        }));
    }
    for t in tasks {
        t.await.expect("a visitor failed");
    }
    let sent_for = t0.elapsed();
    let acked = acked.lock().unwrap().clone();
    let total = acked.len();
    assert_eq!(
        total,
        per_visitor * load.visitors,
        "every message acknowledged"
    );

    // Until every acknowledged message is in Telegram (polled slowly: the
    // call record holds every line).
    let drain = Duration::from_secs_f64(load.secs.max(60.0) * 2.0);
    let deadline = Instant::now() + drain;
    let delivered = loop {
        let got: Vec<(String, Instant)> = tg.with_calls(|c| {
            c.iter()
                .filter(|c| c.is("sendMessage") && c.ok() && c.chat_id() == Some(FORUM_CHAT))
                .flat_map(|c| {
                    let at = c.at;
                    c.text()
                        .map(|t| expand(&t))
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |f| (f, at))
                })
                .collect()
        });
        let n = got.iter().filter(|(f, _)| acked.contains_key(f)).count();
        if n >= total {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{n} of {total} messages in Telegram after {drain:?}; 429s: {}",
            tg.limit_refusals()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let sends = tg.with_calls(|c| {
        c.iter()
            .filter(|c| c.is("sendMessage") && c.chat_id() == Some(FORUM_CHAT))
            .count()
    });
    let refused_429 = tg.with_calls(|c| c.iter().filter(|c: &&Call| c.status == 429).count());

    // Each once, in order per thread; no 429.
    let ours: Vec<&(String, Instant)> = delivered
        .iter()
        .filter(|(f, _)| acked.contains_key(f))
        .collect();
    assert_eq!(ours.len(), total, "a message was forwarded twice");
    for (i, tid) in threads.iter().enumerate() {
        let got: Vec<&str> = ours
            .iter()
            .map(|(f, _)| f.as_str())
            .filter(|f| f.starts_with(&forward_text(tid, "")))
            .collect();
        let want: Vec<String> = (0..per_visitor)
            .map(|k| forward_text(tid, &text(i, k, load.text)))
            .collect();
        assert_eq!(got, want, "visitor {i}: in order");
    }
    assert_eq!(refused_429, 0, "Telegram answered 429");
    assert_eq!(tg.limit_refusals(), 0, "over Telegram's limit");

    let mut delays: Vec<f64> = ours
        .iter()
        .map(|(f, at)| at.saturating_duration_since(acked[f]).as_secs_f64())
        .collect();
    delays.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        quantile(&delays, 0.5),
        quantile(&delays, 0.99),
        quantile(&delays, 1.0),
    );
    let over_75 = delays.iter().filter(|d| **d > 75.0).count();
    println!(
        "telegram load ({backend:?}): {} visitors at {} msg/s for {:.0} s ({:.1} s to send), \
         {}-character texts, pace {}/min: {total} messages in {sends} sends; \
         ack → Telegram p50 {p50:.1} s, p99 {p99:.1} s, max {max:.1} s, {over_75} over 75 s; \
         429s: {refused_429}",
        load.visitors,
        load.rate,
        load.secs,
        sent_for.as_secs_f64(),
        load.text,
        load.pace,
    );
    if let Some(limit) = load.p99_limit {
        assert!(p99 <= limit, "p99 {p99:.1} s over {limit} s");
    }
    app.finish().await;
}
