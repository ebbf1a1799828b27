//! Write the benchmark workloads (see `benches/common`) to a directory, for
//! `bench/compare_lavaan.sh`, or time the bootstrap inner loop:
//!
//!   cargo run --release --example workloads -- write DIR [--big-rows N]
//!   cargo run --release --example workloads -- bootstrap MODEL DATA DRAWS
//!
//! `write` makes `bradford/b001.csv`..`b100.csv` (bootstrap resamples of
//! data/bradford_demo.csv), `cfa5x20.lav` + `cfa5x20.csv` and `cfa10x20.lav` +
//! `cfa10x20.csv` (N = 1000), and `big.csv` (1,000,000 rows of the Bradford
//! population's 25 indicators unless `--big-rows` says otherwise).
//!
//! `bootstrap` fits DRAWS resamples of DATA in parallel on rayon's pool
//! (RAYON_NUM_THREADS threads, all cores by default), each one the inner
//! loop of a bootstrap: resample rows, listwise moments, Fisher scoring
//! warm-started at the full-sample estimate, vcov. It prints the wall time.

#[path = "../benches/common/mod.rs"]
mod common;

use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") if args.len() >= 2 => write(Path::new(&args[1]), &args[2..]),
        Some("bootstrap") if args.len() == 4 => bootstrap(
            Path::new(&args[1]),
            Path::new(&args[2]),
            args[3].parse().expect("DRAWS is a number"),
        ),
        _ => {
            eprintln!("usage: workloads write DIR [--big-rows N] | workloads bootstrap MODEL DATA DRAWS");
            std::process::exit(2);
        }
    }
}

fn write(dir: &Path, rest: &[String]) {
    let big_rows = match rest {
        [flag, n] if flag == "--big-rows" => n.parse().expect("--big-rows takes a number"),
        [] => 1_000_000,
        _ => panic!("unknown options {rest:?}"),
    };
    let bdir = dir.join("bradford");
    std::fs::create_dir_all(&bdir).expect("a writable directory");
    let (_, demo) = common::bradford();
    let demo = std::fs::read_to_string(demo).expect("data/bradford_demo.csv");
    for s in 1..=100 {
        common::write(&bdir, &format!("b{s:03}.csv"), &common::resample_csv(&demo, s));
    }
    for f in [5, 10] {
        common::write(dir, &format!("cfa{f}x20.lav"), &common::cfa_model(f, 20));
        common::write(
            dir,
            &format!("cfa{f}x20.csv"),
            &common::draw_csv(&common::cfa_population(f, 20), 1000, f as u64),
        );
    }
    let pop = std::fs::read_to_string(common::root().join("models/bradford_population.lav")).expect("the population model");
    // in pieces of 200,000 rows (sem simulate's cap is 50 million cells), one header
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("big.csv")).expect("a writable directory"));
    let mut left = big_rows;
    let mut seed = 7;
    while left > 0 {
        let n = left.min(200_000);
        let csv = common::draw_csv(&pop, n, seed);
        let body = if seed == 7 {
            &csv[..]
        } else {
            &csv[csv.find('\n').map_or(0, |i| i + 1)..]
        };
        std::io::Write::write_all(&mut out, body.as_bytes()).expect("a writable directory");
        left -= n;
        seed += 1;
    }
    println!("wrote the workloads to {}", dir.display());
}

fn bootstrap(model: &Path, data: &Path, draws: u64) {
    let t0 = Instant::now();
    let boot = common::Bootstrap::new(model, data);
    let setup = t0.elapsed();
    let t1 = Instant::now();
    let results: Vec<Option<u64>> = (1..=draws).into_par_iter().map(|s| boot.draw(s)).collect();
    let loop_time = t1.elapsed();
    let ok: Vec<u64> = results.iter().flatten().copied().collect();
    let iters = ok.iter().sum::<u64>() as f64 / ok.len().max(1) as f64;
    println!(
        "bootstrap inner loop: {draws} draws in {:.3} s on {} threads ({} converged, {:.1} iterations on average; setup {:.3} s)",
        loop_time.as_secs_f64(),
        rayon::current_num_threads(),
        ok.len(),
        iters,
        setup.as_secs_f64()
    );
}
