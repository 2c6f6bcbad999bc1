//! Table rows, medians over repeats, the sohbet / Node ratio, printing.

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Scenario label (rows of one label are compared across servers).
    pub scenario: String,
    /// `sohbet` | `node`.
    pub server: String,
    /// Offered rate (msg/s) or socket count.
    pub offered: f64,
    /// Admin receipts per second (Σ over admin sockets), or connects/s.
    pub delivered: f64,
    /// Send → admin receipt quantiles, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
    /// Messages sent (or sockets attempted).
    pub sent: f64,
    /// Acked with success (or sockets connected).
    pub acked: f64,
    /// Acked but never seen by an admin (Σ over admins).
    pub lost: f64,
    /// Server CPU seconds during the measurement.
    pub cpu_s: f64,
    /// Server RSS at the end, MiB.
    pub rss_mib: f64,
    /// The figure compared with Node: (name, value, higher is better).
    pub key: (&'static str, f64, bool),
    /// Free text.
    pub note: String,
    /// Every message acked and delivered (every socket connected).
    pub ok: bool,
}

impl Row {
    /// A row with no figures yet.
    pub fn empty(scenario: String, server: &str) -> Row {
        Row {
            scenario,
            server: server.into(),
            offered: 0.0,
            delivered: 0.0,
            p50: f64::NAN,
            p99: f64::NAN,
            p999: f64::NAN,
            sent: 0.0,
            acked: 0.0,
            lost: 0.0,
            cpu_s: 0.0,
            rss_mib: 0.0,
            key: ("", f64::NAN, true),
            note: String::new(),
            ok: true,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Median of every figure over the repeats of each (scenario, server), in
/// order of first appearance. `ok` only if every repeat was.
pub fn medians(rows: &[Row]) -> Vec<Row> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.scenario.clone(), r.server.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    // Rows of one scenario side by side, in order of first appearance.
    let first = |s: &str| rows.iter().position(|r| r.scenario == s);
    keys.sort_by_key(|(s, _)| first(s));
    keys.into_iter()
        .map(|(s, srv)| {
            let g: Vec<&Row> = rows
                .iter()
                .filter(|r| r.scenario == s && r.server == srv)
                .collect();
            let f = |get: fn(&Row) -> f64| median(g.iter().map(|r| get(r)).collect());
            let mut m = g[0].clone();
            m.offered = f(|r| r.offered);
            m.delivered = f(|r| r.delivered);
            m.p50 = f(|r| r.p50);
            m.p99 = f(|r| r.p99);
            m.p999 = f(|r| r.p999);
            m.sent = f(|r| r.sent);
            m.acked = f(|r| r.acked);
            m.lost = f(|r| r.lost);
            m.cpu_s = f(|r| r.cpu_s);
            m.rss_mib = f(|r| r.rss_mib);
            m.key.1 = f(|r| r.key.1);
            m.ok = g.iter().all(|r| r.ok);
            if g.len() > 1 {
                m.note = format!("median of {}; first run: {}", g.len(), m.note);
            }
            m
        })
        .collect()
}

fn num(v: f64, prec: usize) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.prec$}")
    }
}

/// The table (Markdown, so it can be pasted into docs/benchmarks.md).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | server | offered | delivered/s | p50 ms | p99 ms | p99.9 ms | acked/sent | lost | CPU-s | RSS MiB | sohbet/node | note |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n",
    );
    for r in rows {
        let ratio = if r.server == "sohbet" {
            rows.iter()
                .find(|n| n.server == "node" && n.scenario == r.scenario)
                .filter(|n| n.key.1.is_finite() && n.key.1 != 0.0 && r.key.1.is_finite())
                .map(|n| {
                    let better = if r.key.2 { "higher" } else { "lower" };
                    format!("{} {:.2}× ({better} is better)", r.key.0, r.key.1 / n.key.1)
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.server,
            num(r.offered, 0),
            num(r.delivered, 0),
            num(r.p50, 1),
            num(r.p99, 1),
            num(r.p999, 1),
            num(r.acked, 0),
            num(r.sent, 0),
            num(r.lost, 0),
            num(r.cpu_s, 2),
            num(r.rss_mib, 1),
            ratio,
            r.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_runs() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![f64::NAN]).is_nan());
    }
}
