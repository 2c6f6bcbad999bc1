//! `sohbet-bench`: the project's benchmark (issue 9 §1, `docs/benchmarks.md`).
//! Starts the real sohbet binary and the Node socket.io reference peer
//! (`bench/node-ref/`) on 127.0.0.1, one at a time and interleaved, drives
//! them with the same open-loop Socket.IO load from this process (pinned to
//! core 1 while the server runs on core 0), and prints one Markdown table
//! with the sohbet / Node ratio of each scenario.

mod client;
mod load;
mod opts;
mod report;
mod scenarios;
mod server;

use std::process::{Command, ExitCode};

use opts::Opts;
use report::Row;
use server::{Kind, Launch};

fn describe(o: &Opts) -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = server::allowed_cpus().len();
    format!(
        "{cores} CPUs ({model}); sohbet {} on {}; {}; {} visitor sockets; {} repeat(s)",
        o.sohbet_bin.display(),
        if o.postgres.is_some() {
            "Postgres"
        } else {
            "SQLite"
        },
        match o.pin {
            Some((s, g)) => format!("server pinned to core {s}, generator to core {g}"),
            None => "not pinned".into(),
        },
        o.visitors,
        o.repeat
    )
}

/// Installs bench/node-ref's packages when they are missing (better-sqlite3
/// compiles from source when no prebuilt binary can be fetched: minutes).
fn node_ready(o: &Opts) -> Result<(), String> {
    let dir = o.repo.join("bench/node-ref");
    if dir.join("node_modules/better-sqlite3").exists()
        && dir.join("node_modules/socket.io").exists()
    {
        return Ok(());
    }
    eprintln!("installing bench/node-ref (npm ci; better-sqlite3 may compile for a few minutes)…");
    let st = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("npm: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err("npm ci in bench/node-ref failed".into())
    }
}

async fn one(l: &Launch, o: &Opts, scenario: &str, knee: &mut f64) -> Result<Vec<Row>, String> {
    match scenario {
        "S0" => scenarios::idle(l, o).await,
        "S1" => scenarios::steady(l, o).await,
        "S2" => {
            let (rows, k) = scenarios::knee(l, o).await?;
            *knee = k;
            Ok(rows)
        }
        "S3" => scenarios::fanout(l, o).await,
        "S4" => scenarios::storm(l, o).await,
        "S5" => scenarios::overload(l, o, if *knee > 0.0 { *knee } else { o.knee }).await,
        "S6" => scenarios::efficiency(l, o).await,
        x => Err(format!("unknown scenario {x}")),
    }
}

async fn run(o: &Opts) -> Result<Vec<Row>, String> {
    if !o.sohbet_bin.exists() && o.servers.contains(&Kind::Sohbet) {
        return Err(format!(
            "{} is missing: run `cargo build --release` (or pass --server-bin debug)",
            o.sohbet_bin.display()
        ));
    }
    if o.servers.contains(&Kind::Node) {
        node_ready(o)?;
    }
    let mut rows = Vec::new();
    for rep in 0..o.repeat {
        let mut order = o.servers.clone();
        if rep % 2 == 1 {
            order.reverse();
        }
        // The knee each server reached in this repeat, for its S5.
        let mut knees = vec![0.0; order.len()];
        for sc in &o.scenarios {
            for (i, &kind) in order.iter().enumerate() {
                eprintln!("[{}/{}] {sc} {}", rep + 1, o.repeat, kind.name());
                let l = Launch {
                    kind,
                    sohbet_bin: o.sohbet_bin.clone(),
                    repo: o.repo.clone(),
                    postgres: o.postgres.clone(),
                    pin: o.pin.map(|p| p.0),
                };
                rows.extend(one(&l, o, sc, &mut knees[i]).await?);
            }
        }
    }
    Ok(report::medians(&rows))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match Opts::parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{}", opts::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n\n{}", opts::USAGE);
            return ExitCode::from(2);
        }
    };
    let header = describe(&o);
    server::raise_nofile();
    if let Some((_, gen_cpu)) = o.pin
        && let Err(e) = server::pin_to(gen_cpu)
    {
        eprintln!("cannot pin the generator to core {gen_cpu}: {e}");
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&o)) {
        Ok(rows) => {
            println!("{header}\n");
            print!("{}", report::table(&rows));
            let bad: Vec<&Row> = rows.iter().filter(|r| !r.ok).collect();
            if o.smoke && !bad.is_empty() {
                for r in bad {
                    eprintln!(
                        "smoke FAILED: {} {}: {}/{} acked or connected, {} lost",
                        r.scenario, r.server, r.acked, r.sent, r.lost
                    );
                }
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sohbet-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
