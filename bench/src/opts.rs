//! Command-line options (`sohbet-bench --help`).

use std::{path::PathBuf, time::Duration};

use crate::server::Kind;

/// Usage text.
pub const USAGE: &str = "\
sohbet-bench: starts sohbet (and the Node socket.io reference in bench/node-ref)
on 127.0.0.1, drives Socket.IO clients open loop and prints one table.

  cargo build --release --workspace && target/release/sohbet-bench [options]

  --quick               tiny sizes, every scenario, both servers (a minute or two)
  --smoke               CI: tiny S0 S1 S3 S4 S5 S6 against target/debug/sohbet only;
                        exit 1 unless every message is acked and delivered
  --scenarios LIST      S0,S1,S2,S3,S4,S5,S6 (default all)
  --servers LIST        sohbet,node (default both)
  --server-bin PATH     sohbet binary, or `release` / `debug` (default release)
  --db sqlite|postgres  sohbet's database (the Node peer always uses SQLite)
  --pg-url URL          maintenance database for CREATE DATABASE
                        (default postgres://postgres@127.0.0.1:5432/test)
  --pin auto|on|off     server on the first allowed core, generator on the
                        second (auto: on for SQLite when there are ≥ 2 cores)
  --repeat N            interleaved repeats; the table shows medians (default 1)
  --visitors N          visitor sockets sending in S1 S2 S3 S5 (default 100)
  --rate R              S1 and S5's normal rate, msg/s (default 1500)
  --secs S              S1 and S3 duration (default 10)
  --step-secs S         S2 step duration (default 5)
  --warmup S            S2: seconds at half the step's rate before each step's
                        measured part, excluded from its figures (default 2)
  --knee-start R        S2 first rate (default 2000)
  --knee-max R          S2 highest rate tried (default 40000)
  --bisect N            S2 halvings after the first failing step (default 3)
  --knee R              S5's knee when S2 is not run (default 5000)
  --overload-secs S     S5 length of each phase (default 10)
  --eff-rates LIST      S6 rates, msg/s, `--secs` each (default 1000,5000)
  --admins LIST         S3 admin sockets (default 10,50,100)
  --fanout-rate R       S3 rate, msg/s (default 2000)
  --idle LIST           S0 sizes (default 1000,5000,10000)
  --idle-hold S         S0: keep the sockets open S seconds after measuring
                        (for a heap profile of the idle server; default 0)
  --storm N             S4 sockets (default 10000)
  --drain S             wait for late acks/receipts after the last send (default 5)
  --repo PATH           repository root (default: where the bench was built)
";

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Opts {
    /// CI mode: assert counts.
    pub smoke: bool,
    /// Scenarios to run (`S0`…`S6`).
    pub scenarios: Vec<String>,
    /// Servers, in the order of the first repeat.
    pub servers: Vec<Kind>,
    /// sohbet binary.
    pub sohbet_bin: PathBuf,
    /// Postgres maintenance URL when `--db postgres`.
    pub postgres: Option<String>,
    /// `(server CPU, generator CPU)` when pinned.
    pub pin: Option<(usize, usize)>,
    /// Repeats.
    pub repeat: usize,
    /// Sending visitor sockets.
    pub visitors: usize,
    /// Normal rate.
    pub rate: f64,
    /// S1/S3 seconds.
    pub secs: f64,
    /// S2 step seconds.
    pub step_secs: f64,
    /// S2 warm-up seconds before each step (half the step's rate, not measured).
    pub warmup_secs: f64,
    /// S2 start.
    pub knee_start: f64,
    /// S2 cap.
    pub knee_max: f64,
    /// S2 halvings.
    pub bisect: usize,
    /// S5 knee when S2 is not run.
    pub knee: f64,
    /// S5 phase seconds.
    pub overload_secs: f64,
    /// S6 rates.
    pub eff_rates: Vec<f64>,
    /// S3 admin counts.
    pub admins: Vec<usize>,
    /// S3 rate.
    pub fanout_rate: f64,
    /// S0 sizes.
    pub idle: Vec<usize>,
    /// S0: how long the sockets stay open after the RSS reading.
    pub idle_hold: Duration,
    /// S4 size.
    pub storm: usize,
    /// Drain window.
    pub drain: Duration,
    /// Repository root.
    pub repo: PathBuf,
}

fn list<T: std::str::FromStr>(v: &str) -> Result<Vec<T>, String> {
    v.split(',')
        .map(|x| x.trim().parse().map_err(|_| format!("bad list item {x:?}")))
        .collect()
}

impl Opts {
    /// Parses `args` (without the program name).
    pub fn parse(args: &[String]) -> Result<Opts, String> {
        let repo = crate::server::default_repo();
        let mut o = Opts {
            smoke: false,
            scenarios: ["S0", "S1", "S2", "S3", "S4", "S5", "S6"]
                .map(String::from)
                .to_vec(),
            servers: vec![Kind::Sohbet, Kind::Node],
            sohbet_bin: repo.join("target/release/sohbet"),
            postgres: None,
            pin: None,
            repeat: 1,
            visitors: 100,
            rate: 1500.0,
            secs: 10.0,
            step_secs: 5.0,
            warmup_secs: 2.0,
            knee_start: 2000.0,
            knee_max: 40000.0,
            bisect: 3,
            knee: 5000.0,
            overload_secs: 10.0,
            eff_rates: vec![1000.0, 5000.0],
            admins: vec![10, 50, 100],
            fanout_rate: 2000.0,
            idle: vec![1000, 5000, 10000],
            idle_hold: Duration::ZERO,
            storm: 10000,
            drain: Duration::from_secs(5),
            repo,
        };
        let mut pin = "auto".to_owned();
        let mut pg_url = "postgres://postgres@127.0.0.1:5432/test".to_owned();
        let mut db = "sqlite".to_owned();
        let mut bin: Option<String> = None;
        // Presets first, so explicit options override them.
        if args.iter().any(|a| a == "--quick" || a == "--smoke") {
            o.visitors = 20;
            o.rate = 300.0;
            o.secs = 2.0;
            o.step_secs = 2.0;
            o.warmup_secs = 1.0;
            o.knee_start = 500.0;
            o.knee_max = 4000.0;
            o.bisect = 1;
            o.knee = 500.0;
            o.overload_secs = 2.0;
            o.admins = vec![3, 10];
            o.eff_rates = vec![300.0];
            o.fanout_rate = 300.0;
            o.idle = vec![200];
            o.storm = 300;
        }
        if args.iter().any(|a| a == "--smoke") {
            o.smoke = true;
            o.servers = vec![Kind::Sohbet];
            o.scenarios = ["S0", "S1", "S3", "S4", "S5", "S6"]
                .map(String::from)
                .to_vec();
            o.secs = 1.0;
            o.overload_secs = 1.0;
            o.admins = vec![3];
            o.idle = vec![50];
            o.storm = 100;
            // A mild "overload" (500 then 300 msg/s): the smoke checks that the
            // scenario runs and counts, not where a debug build breaks.
            o.knee = 250.0;
            o.drain = Duration::from_secs(10);
            bin = Some("debug".into());
        }
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--quick" || a == "--smoke" {
                continue;
            }
            if a == "-h" || a == "--help" {
                return Err(String::new());
            }
            let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
            let num = |v: &str| {
                v.parse::<f64>()
                    .map_err(|_| format!("{a}: not a number: {v}"))
            };
            match a.as_str() {
                "--scenarios" => {
                    o.scenarios = v.split(',').map(|s| s.trim().to_uppercase()).collect()
                }
                "--servers" => {
                    o.servers = v
                        .split(',')
                        .map(|s| match s.trim() {
                            "sohbet" => Ok(Kind::Sohbet),
                            "node" => Ok(Kind::Node),
                            x => Err(format!("unknown server {x}")),
                        })
                        .collect::<Result<_, _>>()?
                }
                "--server-bin" => bin = Some(v.clone()),
                "--db" => db = v.clone(),
                "--pg-url" => pg_url = v.clone(),
                "--pin" => pin = v.clone(),
                "--repeat" => o.repeat = num(v)?.max(1.0) as usize,
                "--visitors" => o.visitors = num(v)?.max(1.0) as usize,
                "--rate" => o.rate = num(v)?,
                "--secs" => o.secs = num(v)?,
                "--step-secs" => o.step_secs = num(v)?,
                "--warmup" => o.warmup_secs = num(v)?,
                "--knee-start" => o.knee_start = num(v)?,
                "--knee-max" => o.knee_max = num(v)?,
                "--bisect" => o.bisect = num(v)? as usize,
                "--knee" => o.knee = num(v)?,
                "--overload-secs" => o.overload_secs = num(v)?,
                "--admins" => o.admins = list(v)?,
                "--eff-rates" => o.eff_rates = list(v)?,
                "--fanout-rate" => o.fanout_rate = num(v)?,
                "--idle" => o.idle = list(v)?,
                "--idle-hold" => o.idle_hold = Duration::from_secs_f64(num(v)?),
                "--storm" => o.storm = num(v)? as usize,
                "--drain" => o.drain = Duration::from_secs_f64(num(v)?),
                "--repo" => o.repo = PathBuf::from(v),
                _ => return Err(format!("unknown option {a}")),
            }
        }
        o.sohbet_bin = match bin.as_deref() {
            None | Some("release") => o.repo.join("target/release/sohbet"),
            Some("debug") => o.repo.join("target/debug/sohbet"),
            Some(p) => PathBuf::from(p),
        };
        o.postgres = match db.as_str() {
            "sqlite" => None,
            "postgres" => Some(pg_url),
            x => return Err(format!("--db {x}: sqlite or postgres")),
        };
        let cpus = crate::server::allowed_cpus();
        let two = (cpus.len() >= 2).then(|| (cpus[0], cpus[1]));
        o.pin = match pin.as_str() {
            "on" => Some(two.ok_or("--pin on needs two CPUs")?),
            "off" => None,
            "auto" => two.filter(|_| o.postgres.is_none()),
            x => return Err(format!("--pin {x}: auto, on or off")),
        };
        Ok(o)
    }
}
