//! The synthetic workloads of the benchmarks, shared by `benches/sem.rs`
//! and `examples/workloads.rs` (which writes them to files for
//! `bench/compare_lavaan.sh`). Everything is seeded, so the same files come
//! out on every machine:
//!
//! - the Bradford model (`models/bradford.lav`, 25 indicators, 7 factors)
//!   on bootstrap resamples of `data/bradford_demo.csv` (N = 300);
//! - CFAs with `f` factors of `k` indicators each, loadings 0.6-0.78 and
//!   factor correlations 0.3, drawn with `sem::simulate` (standardized);
//! - a large file drawn from `models/bradford_population.lav`.
//!
//! The bootstrap inner loop (`bootstrap_draw`) is what a bootstrap does per
//! draw, written here for timing while the real one is built elsewhere:
//! resample rows, listwise moments, Fisher scoring warm-started at the
//! full-sample estimate, vcov.

#![allow(dead_code)]

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sem::data::{read_csv, CsvOptions, Dataset, SampleStats};
use sem::estimate::objective::GroupData;
use sem::model::Model;
use sem::simulate::{simulate_source, SimOptions};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The crate's root, for the shipped models and data.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `F1 =~ x1_1 + ... + x1_k` for `f` factors (lavaan's defaults do the rest).
pub fn cfa_model(f: usize, k: usize) -> String {
    let mut s = String::new();
    for a in 1..=f {
        let ind: Vec<String> = (1..=k).map(|i| format!("x{a}_{i}")).collect();
        let _ = writeln!(s, "F{a} =~ {}", ind.join(" + "));
    }
    s
}

/// The population of `cfa_model(f, k)`: loadings 0.60-0.78, factor
/// correlations 0.3, residual variances such that every indicator has variance 1.
pub fn cfa_population(f: usize, k: usize) -> String {
    let mut s = String::new();
    for a in 1..=f {
        let ind: Vec<String> = (1..=k)
            .map(|i| format!("{:.2}*x{a}_{i}", 0.6 + 0.02 * ((i * 7 + a) % 10) as f64))
            .collect();
        let _ = writeln!(s, "F{a} =~ {}", ind.join(" + "));
    }
    for a in 1..=f {
        for b in a + 1..=f {
            let _ = writeln!(s, "F{a} ~~ 0.3*F{b}");
        }
    }
    s
}

/// Draw `n` rows from a population model (lavaan syntax with values).
pub fn draw_csv(population: &str, n: usize, seed: u64) -> String {
    let opt = SimOptions {
        n,
        seed,
        standardized: true,
        ..SimOptions::default()
    };
    simulate_source(population, "population", &opt).expect("a valid population").csv
}

/// A bootstrap resample (rows drawn with replacement) of a CSV text with a
/// header and no quoted line breaks.
pub fn resample_csv(csv: &str, seed: u64) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::with_capacity(csv.len());
    out.push_str(header);
    out.push('\n');
    for _ in 0..rows.len() {
        out.push_str(rows[(rng.next_u64() % rows.len() as u64) as usize]);
        out.push('\n');
    }
    out
}

/// A directory for the workload files of this process.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sem-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("a writable temp dir");
    d
}

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("a writable temp dir");
    p
}

/// The Bradford model and its demo data.
pub fn bradford() -> (PathBuf, PathBuf) {
    (root().join("models/bradford.lav"), root().join("data/bradford_demo.csv"))
}

/// A model and a data file for a CFA of `f` x `k` indicators with `n` rows.
pub fn cfa_files(dir: &Path, f: usize, k: usize, n: usize, seed: u64) -> (PathBuf, PathBuf) {
    let m = write(dir, &format!("cfa{f}x{k}.lav"), &cfa_model(f, k));
    let d = write(dir, &format!("cfa{f}x{k}_n{n}.csv"), &draw_csv(&cfa_population(f, k), n, seed));
    (m, d)
}

/// What a bootstrap needs once: the rows and the full-sample estimate.
pub struct Bootstrap {
    pub model: Model,
    pub rows: Dataset,
    pub x0: Vec<f64>,
}

impl Bootstrap {
    pub fn new(model: &Path, data: &Path) -> Bootstrap {
        let opt = sem::pipeline::FitOptions::default();
        let prep = sem::pipeline::prepare(model, data, &opt).expect("a valid workload");
        let est = sem::estimate::estimate(&prep.model, &prep.data, opt.max_iter);
        assert!(est.converged, "the full sample converges");
        let rows = read_csv(data, &prep.model.ram.ov, None, &CsvOptions::default()).expect("readable data");
        Bootstrap {
            model: prep.model,
            rows,
            x0: est.x,
        }
    }

    /// One draw: resample rows, moments, warm-started estimate, vcov.
    /// Returns the iterations, or `None` when the draw did not converge.
    pub fn draw(&self, seed: u64) -> Option<u64> {
        let n = self.rows.nrows();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let idx: Vec<usize> = (0..n).map(|_| (rng.next_u64() % n as u64) as usize).collect();
        let stats = SampleStats::listwise(&self.rows, Some(&idx)).ok()?;
        let data = [GroupData::new(&stats)];
        let est = sem::estimate::minimize(&self.model.ram, &data, self.x0.clone(), 500);
        if !est.converged {
            return None;
        }
        sem::inference::vcov(&self.model, &est.x, &data).ok()?;
        Some(est.iterations)
    }
}

/// A CSV text with a header row and numeric cells (empty = missing) as an
/// SPSS `.sav` file, bytecode-compressed as SPSS and haven write it by
/// default: the `sav` bench reads the same numbers as the `csv` one.
pub fn csv_to_sav(csv: &str) -> Vec<u8> {
    let mut lines = csv.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|c| c.trim().parse::<f64>().unwrap_or(f64::NAN)).collect())
        .collect();
    let mut o: Vec<u8> = Vec::new();
    let i32le = |o: &mut Vec<u8>, v: i32| o.extend(v.to_le_bytes());
    let pad = |o: &mut Vec<u8>, s: &str, n: usize| {
        let mut b = s.as_bytes().to_vec();
        b.resize(n, b' ');
        o.extend(&b[..n]);
    };
    o.extend(b"$FL2");
    pad(&mut o, "@(#) SPSS DATA FILE - sem bench", 60);
    for v in [2, names.len() as i32, 1, 0, rows.len() as i32] {
        i32le(&mut o, v);
    }
    o.extend(100f64.to_le_bytes());
    pad(&mut o, "28 Nov 26", 9);
    pad(&mut o, "00:00:00", 8);
    pad(&mut o, "", 64 + 3);
    let short: Vec<String> = (0..names.len()).map(|i| format!("V{i}")).collect();
    for s in &short {
        for v in [2, 0, 0, 0, 0x050802, 0x050802] {
            i32le(&mut o, v);
        }
        pad(&mut o, s, 8);
    }
    let long: Vec<String> = short.iter().zip(&names).map(|(s, n)| format!("{s}={n}")).collect();
    let long = long.join("\t");
    for v in [7, 13, 1, long.len() as i32] {
        i32le(&mut o, v);
    }
    o.extend(long.as_bytes());
    i32le(&mut o, 999);
    i32le(&mut o, 0);
    let (mut codes, mut raw): (Vec<u8>, Vec<u8>) = (vec![], vec![]);
    let flush = |o: &mut Vec<u8>, codes: &mut Vec<u8>, raw: &mut Vec<u8>| {
        codes.resize(8, 0);
        o.append(codes);
        o.append(raw);
    };
    for r in &rows {
        for &v in r {
            if v.is_nan() {
                codes.push(255);
            } else if v.fract() == 0.0 && (-99.0..=151.0).contains(&v) {
                codes.push((v + 100.0) as u8);
            } else {
                codes.push(253);
                raw.extend(v.to_le_bytes());
            }
            if codes.len() == 8 {
                flush(&mut o, &mut codes, &mut raw);
            }
        }
    }
    if !codes.is_empty() {
        flush(&mut o, &mut codes, &mut raw);
    }
    o
}
