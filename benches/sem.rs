//! criterion benches, grouped by model size (`cargo bench`, or
//! `cargo bench -- bradford` for one group):
//!
//! | group | model | p | free |
//! |---|---|---|---|
//! | `bradford` | models/bradford.lav on data/bradford_demo.csv (N = 300) | 25 | 59 |
//! | `cfa_5x20` | 5 factors x 20 indicators, N = 1000 | 100 | 205 |
//! | `cfa_10x20` | 10 factors x 20 indicators, N = 1000 | 200 | 455 |
//! | `csv` | moments of a 100,000 x 25 CSV file | 25 | |
//! | `sav` | the same numbers as a bytecode-compressed SPSS `.sav` | 25 | |
//! | `partable` | 500 and 1000 factors x 3 indicators; 1 factor x 3000 and 10,000 indicators; no data (`sem check`) | 3000 | 501,000 |
//! | `bradford_wlsmv` | the Bradford model on 25 five-point items (N = 400), WLSMV | 25 | 134 |
//! | `wide_1x500` | one factor x 500 indicators, N = 1000 (`fit` only) | 500 | 1000 |
//!
//! In each model group: `fit` (estimate, vcov, fit measures, standardized
//! solution: everything after reading the data), `gradient` and
//! `information` at the starting values, `vcov` at the estimate; the
//! Bradford group also times `bootstrap_draw` (the inner loop of a
//! bootstrap, see `common::Bootstrap`) and `batch_100` (`sem batch` over 100
//! resampled data sets). `csv` times the streaming moments against the
//! row-storing reader; `sav` times the SPSS reader's streaming moments on
//! the same numbers (issue 15: at least half the CSV reader's speed).
//! `partable` times `sem check` (parameter table,
//! model matrices, hypotheses) of wide models, whose factor covariances
//! grow as the square of the factors: linear in those rows, 1000 factors
//! should take well under a second.
//! `bradford_wlsmv` times `prepare` (CSV, thresholds,
//! polychoric correlations, the NACOV started in the background), `fit`
//! (DWLS estimate, robust vcov, scaled-shifted test, fit measures) and the
//! two together (`prepare_and_fit`, the whole job: `fit` alone finds the
//! NACOV ready) of the lavaan fixture
//! tests/fixtures/ordinal/bradford_likert5 with `--ordered all`.
//! `wide_1x500` times the whole fit of a wide measurement model, where the
//! O(p^3) and O(q^3) dense algebra dominates (issue 18: a one-factor model
//! with 3000 indicators must finish). The workloads come from `common`
//! (seeded).

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sem::data::{read_csv, stream::moments_csv, CsvOptions, SampleStats};
use sem::estimate::objective::{expected_information, gradient};
use sem::estimate::start::default_start;
use sem::pipeline::{fit_prepared, prepare, FitOptions};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// fit, gradient, information and vcov of one model and data set.
fn model_group(c: &mut Criterion, name: &str, model: &Path, data: &Path, samples: usize) {
    let opt = FitOptions::default();
    let prep = prepare(model, data, &opt).expect("a valid workload");
    let est = sem::estimate::estimate(&prep.model, &prep.data, opt.max_iter);
    assert!(est.converged);
    let x0 = default_start(&prep.model, &prep.data, false);
    let ram = &prep.model.ram;
    let mut g = c.benchmark_group(name);
    g.sample_size(samples)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("fit", |b| b.iter(|| black_box(fit_prepared(&prep, &opt))));
    g.bench_function("gradient", |b| b.iter(|| black_box(gradient(ram, &x0, &prep.data))));
    g.bench_function("information", |b| b.iter(|| black_box(expected_information(ram, &x0, &prep.data))));
    g.bench_function("vcov", |b| {
        b.iter(|| black_box(sem::inference::vcov(&prep.model, &est.x, &prep.data)))
    });
    g.finish();
}

fn bradford(c: &mut Criterion) {
    let (model, data) = common::bradford();
    model_group(c, "bradford", &model, &data, 50);
    let boot = common::Bootstrap::new(&model, &data);
    let dir = common::scratch("batch");
    let demo = std::fs::read_to_string(&data).expect("the demo data");
    let files: Vec<std::path::PathBuf> = (1..=100)
        .map(|s| common::write(&dir, &format!("b{s:03}.csv"), &common::resample_csv(&demo, s)))
        .collect();
    let mut g = c.benchmark_group("bradford");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut seed = 0;
    g.bench_function("bootstrap_draw", |b| {
        b.iter(|| {
            seed += 1;
            black_box(boot.draw(seed))
        })
    });
    let gates = sem::gates::Gates::default();
    g.bench_function("batch_100", |b| {
        b.iter(|| black_box(sem::batch::run(&model, &files, &FitOptions::default(), &gates, None, &|_| {})))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn cfa(c: &mut Criterion) {
    let dir = common::scratch("cfa");
    let (m5, d5) = common::cfa_files(&dir, 5, 20, 1000, 1);
    model_group(c, "cfa_5x20", &m5, &d5, 20);
    let (m10, d10) = common::cfa_files(&dir, 10, 20, 1000, 1);
    model_group(c, "cfa_10x20", &m10, &d10, 10);
    let _ = std::fs::remove_dir_all(dir);
}

fn wide(c: &mut Criterion) {
    let dir = common::scratch("wide");
    let (m, d) = common::cfa_files(&dir, 1, 500, 1000, 1);
    let opt = FitOptions::default();
    let prep = prepare(&m, &d, &opt).expect("a valid workload");
    let mut g = c.benchmark_group("wide_1x500");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("fit", |b| b.iter(|| black_box(fit_prepared(&prep, &opt))));
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn csv(c: &mut Criterion) {
    let dir = common::scratch("csv");
    let pop = std::fs::read_to_string(common::root().join("models/bradford_population.lav")).expect("the population model");
    let rows = 100_000;
    let file = common::write(&dir, "big.csv", &common::draw_csv(&pop, rows, 7));
    let want: Vec<String> = std::fs::read_to_string(&file)
        .expect("the file")
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    let opt = CsvOptions::default();
    let mut g = c.benchmark_group("csv");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_with_input(BenchmarkId::new("moments_streaming", rows), &file, |b, f| {
        b.iter(|| black_box(moments_csv(f, &want, &opt).expect("moments")))
    });
    g.bench_with_input(BenchmarkId::new("moments_rows", rows), &file, |b, f| {
        b.iter(|| {
            let ds = read_csv(f, &want, None, &opt).expect("rows");
            black_box(SampleStats::listwise(&ds, None).expect("moments"))
        })
    });
    g.finish();
    // the same numbers as an SPSS file
    let sav = dir.join("big.sav");
    std::fs::write(&sav, common::csv_to_sav(&std::fs::read_to_string(&file).expect("the file"))).expect("the .sav");
    let mut g = c.benchmark_group("sav");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let (a, _, _) = sem::data::formats::moments(&sav, &want, &opt).expect("moments");
    let (b, _, _) = moments_csv(Path::new(&file), &want, &opt).expect("moments");
    assert!((&a.cov - &b.cov).amax() < 1e-9, "the .sav holds the CSV's numbers");
    g.bench_with_input(BenchmarkId::new("moments_streaming", rows), &sav, |b, f| {
        b.iter(|| black_box(sem::data::formats::moments(f, &want, &opt).expect("moments")))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn partable(c: &mut Criterion) {
    let dir = common::scratch("partable");
    let mut g = c.benchmark_group("partable");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for factors in [500, 1000] {
        let model = common::write(&dir, &format!("f{factors}.lav"), &common::cfa_model(factors, 3));
        let opt = FitOptions::default();
        g.bench_with_input(BenchmarkId::new("check", factors), &model, |b, m| {
            b.iter(|| black_box(sem::pipeline::check(m, None, &opt).expect("a valid model")))
        });
    }
    // one factor with many indicators: few rows, many variables (the name
    // lookups of the table, not its covariance rows, dominate)
    for indicators in [3000, 10000] {
        let model = common::write(&dir, &format!("one{indicators}.lav"), &common::cfa_model(1, indicators));
        let opt = FitOptions::default();
        g.bench_with_input(BenchmarkId::new("check_one_factor", indicators), &model, |b, m| {
            b.iter(|| black_box(sem::pipeline::check(m, None, &opt).expect("a valid model")))
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// WLSMV on ordinal data: the three-stage statistics, then the fit.
fn bradford_wlsmv(c: &mut Criterion) {
    let dir = common::root().join("tests/fixtures/ordinal/bradford_likert5");
    let (model, data) = (dir.join("model.lav"), dir.join("data.csv"));
    let opt = FitOptions {
        ordered: Some(sem::ordinal::columns::OrderedSpec::All),
        ..FitOptions::default()
    };
    let prep = prepare(&model, &data, &opt).expect("a valid workload");
    let mut g = c.benchmark_group("bradford_wlsmv");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("prepare", |b| b.iter(|| black_box(prepare(&model, &data, &opt).expect("prepared"))));
    // `fit` reuses one `prep`, whose NACOV (formed in the background by
    // `prepare`) is then ready: the whole job is `prepare_and_fit`
    g.bench_function("fit", |b| b.iter(|| black_box(fit_prepared(&prep, &opt))));
    g.bench_function("prepare_and_fit", |b| {
        b.iter(|| black_box(fit_prepared(&prepare(&model, &data, &opt).expect("prepared"), &opt)))
    });
    g.finish();
}

criterion_group!(benches, bradford, cfa, csv, partable, bradford_wlsmv, wide);
criterion_main!(benches);
