//! In-process timing of an ordinal `sem fit` for `bench/compare_wlsmv.sh`,
//! the like-for-like counterpart of timing `lavaan::sem()` inside R: the
//! process start-up, which R's side does not count, is left out here too.
//! Each run reads the model and the CSV, computes the thresholds,
//! polychorics and NACOV, fits, and builds the whole report (estimates,
//! robust SEs, scaled test, fit measures, standardized solution), as
//! `sem fit MODEL DATA --ordered all` does before printing.
//!
//!     cargo run --release --example time_wlsmv -- MODEL DATA [RUNS]
//!
//! Prints the median wall time of one run and the mean CPU time (user +
//! system, all threads, from /proc/self/stat) per run, in seconds.

use sem::ordinal::columns::OrderedSpec;
use sem::pipeline::{fit_prepared, prepare, FitOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

/// User + system CPU time of this process so far, in clock ticks (Linux).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name in parentheses
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: time_wlsmv MODEL DATA [RUNS]");
        std::process::exit(2);
    }
    let (model, data) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]));
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(20).max(1);
    let opt = FitOptions {
        ordered: Some(OrderedSpec::All),
        ..FitOptions::default()
    };
    let once = || {
        let prep = match prepare(&model, &data, &opt) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        };
        black_box(fit_prepared(&prep, &opt));
    };
    once(); // warm-up: page cache, thread pool
    let ticks0 = cpu_ticks();
    let mut walls: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            once();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let cpu = match (ticks0, cpu_ticks()) {
        // clock ticks are 1/100 s on Linux (sysconf(_SC_CLK_TCK) = 100)
        (Some(a), Some(b)) => format!("{:.5}", (b - a) as f64 / 100.0 / runs as f64),
        _ => "NA".into(),
    };
    walls.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 {
        walls[runs / 2]
    } else {
        (walls[runs / 2 - 1] + walls[runs / 2]) / 2.0
    };
    println!("{median:.5} {cpu}");
}
