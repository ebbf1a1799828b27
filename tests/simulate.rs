//! `sem simulate`: the population it builds (against lavaan's simulateData()
//! moments in `tests/fixtures/simulate/`), determinism (same seed, same bytes),
//! the sample moments and the fitted paths at a large N, the Likert and
//! missing-value options, the refusals, and every shipped data set against the
//! command that `data/README.md` documents for it.

use clap::Parser;
use sem::cli::{Cli, Command as SemCommand};
use sem::model::ram::Implied;
use sem::pipeline::{self, FitOptions};
use sem::simulate::{self, Population, SimOptions, Source};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const POP: &str = "models/bradford_population.lav";

fn sem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sem")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sem-simulate-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts(n: usize, seed: u64) -> SimOptions {
    SimOptions {
        n,
        seed,
        ..SimOptions::default()
    }
}

fn population_of(src: &str, standardized: bool) -> Population {
    let syn = sem::syntax::parse(src).unwrap();
    let model = simulate::population_model(&syn).unwrap();
    simulate::population(&model, &syn, standardized).unwrap()
}

/// Cells of a CSV without its header; `None` for an empty cell.
fn cells(csv: &str) -> (Vec<String>, Vec<Vec<Option<f64>>>) {
    let mut lines = csv.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|c| if c.is_empty() { None } else { Some(c.parse().unwrap()) })
                .collect()
        })
        .collect();
    (header, rows)
}

// ------------------------------------------------------------------ population

#[test]
fn population_moments_match_lavaan_simulatedata() {
    let dir = Path::new("tests/fixtures/simulate");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let want: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = want["model"].as_str().unwrap();
        let model_path = if model.starts_with("models/") {
            PathBuf::from(model)
        } else {
            dir.join(model)
        };
        let pop = population_of(
            &std::fs::read_to_string(&model_path).unwrap(),
            want["standardized"].as_bool().unwrap(),
        );
        let names: Vec<&str> = want["ov"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let mut sorted_ours = pop.ov.clone();
        sorted_ours.sort();
        let mut sorted_theirs: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        sorted_theirs.sort();
        assert_eq!(sorted_ours, sorted_theirs, "{}", path.display());
        let at = |name: &str| pop.ov.iter().position(|v| v == name).unwrap();
        for (a, na) in names.iter().enumerate() {
            let mu = want["mu"][a].as_f64().unwrap();
            assert!(
                (pop.mu[at(na)] - mu).abs() < 1e-10,
                "{}: mean of {na}: {} vs lavaan {mu}",
                path.display(),
                pop.mu[at(na)]
            );
            for (b, nb) in names.iter().enumerate() {
                let s = want["sigma"][a][b].as_f64().unwrap();
                let ours = pop.sigma[(at(na), at(nb))];
                assert!((ours - s).abs() < 1e-10, "{}: cov({na}, {nb}) {ours} vs lavaan {s}", path.display());
            }
        }
        n += 1;
    }
    assert!(n >= 3, "fixtures missing: run tests/fixtures/simulate/make_fixtures.R");
}

#[test]
fn population_agrees_with_the_fitting_code_path() {
    // Sigma from simulate's fixed-order products equals Implied::new on the same RAM matrices
    let src = std::fs::read_to_string(POP).unwrap();
    let syn = sem::syntax::parse(&src).unwrap();
    let model = simulate::population_model(&syn).unwrap();
    let pop = simulate::population(&model, &syn, false).unwrap();
    let mut x = vec![0.0; model.ram.nx];
    for v in &pop.values {
        if let Some(k) = model.x_of_row[v.row] {
            x[k] = v.value;
        }
    }
    let (a, s, m) = model.ram.matrices(0, &x);
    let imp = Implied::new(&a, &s, &m, model.ram.p()).unwrap();
    assert!((imp.sigma - &pop.sigma).abs().max() < 1e-12);
    // every value is written in the file: no defaults but zero covariances
    for v in &pop.values {
        assert!(
            v.source == Source::Written || (v.op == "~~" && v.lhs != v.rhs && v.value == 0.0),
            "{} {} {} is {:?}",
            v.lhs,
            v.op,
            v.rhs,
            v.source
        );
    }
    assert!(pop.warnings.is_empty(), "{:?}", pop.warnings);
    // all variances about 1, as the file says
    for i in 0..pop.cov_all.nrows() {
        assert!((pop.cov_all[(i, i)] - 1.0).abs() < 1e-3, "variance {i} is {}", pop.cov_all[(i, i)]);
    }
}

#[test]
fn unwritten_values_take_the_documented_defaults() {
    let pop = population_of("F =~ x1 + 0.5*x2 + x3\nG =~ 0.7*y1 + 0.8*y2\nG ~ F\nz ~ 0.3*G + w\n", false);
    assert_eq!(pop.value("F", "=~", "x1"), Some(1.0), "marker");
    assert_eq!(pop.value("F", "=~", "x3"), Some(1.0), "unwritten loading");
    assert_eq!(pop.value("G", "~", "F"), Some(0.0), "unwritten regression");
    assert_eq!(pop.value("z", "~", "w"), Some(0.0));
    assert_eq!(pop.value("x1", "~~", "x1"), Some(1.0), "residual variance");
    assert_eq!(pop.value("G", "~~", "G"), Some(1.0), "latent residual variance");
    assert_eq!(pop.value("F", "~~", "F"), Some(1.0), "exogenous factor variance");
    assert_eq!(pop.value("w", "~~", "w"), Some(1.0), "fixed.x covariate variance");
    assert_eq!(pop.mu.iter().copied().fold(0.0, f64::max), 0.0, "means 0 without intercepts");
    let w = pop.warnings.join("\n");
    for s in ["F =~ x3 (1)", "G ~ F (0)", "z ~ w (0)"] {
        assert!(w.contains(s), "warning lacks `{s}`: {w}");
    }
    assert!(!w.contains("F =~ x2"), "written values are not listed: {w}");
    // the marker is pointed out only next to written loadings of its factor
    let pop = population_of("F =~ x1 + 0.5*x2 + 0.6*x3\n", false);
    assert!(
        pop.warnings.iter().any(|w| w.contains("marker rule") && w.contains("F =~ x1")),
        "{:?}",
        pop.warnings
    );
    let pop = population_of("F =~ x1 + x2 + x3\n", false);
    assert!(!pop.warnings.iter().any(|w| w.contains("marker rule")), "{:?}", pop.warnings);
    // intercepts written: means follow
    let pop = population_of("F =~ 0.8*x1 + 0.7*x2\nx1 ~ 2*1\nF ~ 0.5*1\n", false);
    let mu: Vec<f64> = pop.mu.iter().copied().collect();
    assert!((mu[0] - 2.4).abs() < 1e-12 && (mu[1] - 0.35).abs() < 1e-12, "{mu:?}");
}

#[test]
fn standardized_gives_every_variable_variance_one() {
    // a chain of latent effects: lavaan 0.6-14 standardizes only the observed
    // variables exactly here; sem standardizes the latent ones too
    let src = "F =~ x1 + 0.8*x2 + 0.6*x3\nG =~ 0.7*y1 + 0.5*y2 + 0.6*y3\nH =~ 0.7*h1 + 0.7*h2\nG ~ 0.5*F\nH ~ 0.6*G\nz ~ 0.4*H\n";
    let pop = population_of(src, true);
    for i in 0..pop.cov_all.nrows() {
        assert!((pop.cov_all[(i, i)] - 1.0).abs() < 1e-12, "variance {i}: {}", pop.cov_all[(i, i)]);
    }
    assert_eq!(pop.value("F", "=~", "x1"), Some(0.7));
    assert!((pop.value("H", "~~", "H").unwrap() - 0.64).abs() < 1e-12);
    assert!((pop.value("z", "~~", "z").unwrap() - 0.84).abs() < 1e-12);
}

// ------------------------------------------------------------------ determinism

#[test]
fn same_seed_same_bytes_from_the_binary() {
    let args = ["simulate", POP, "--n", "50", "--seed", "7"];
    let (a, b) = (sem(&args), sem(&args));
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    // --output writes the same bytes, atomically (no temporary file left behind)
    let dir = scratch("output");
    let out = dir.join("d.csv");
    let o = sem(&["simulate", POP, "--n", "50", "--seed", "7", "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), a.stdout);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let c = sem(&["simulate", POP, "--n", "50", "--seed", "8"]);
    assert_ne!(c.stdout, a.stdout, "another seed, other data");
}

#[test]
fn same_seed_same_bytes_from_the_library() {
    let a = simulate::simulate_file(Path::new(POP), &opts(200, 42)).unwrap().csv;
    let b = simulate::simulate_file(Path::new(POP), &opts(200, 42)).unwrap().csv;
    assert_eq!(a, b);
    let c = simulate::simulate_file(Path::new(POP), &opts(200, 43)).unwrap().csv;
    assert_ne!(a, c);
    // the first rows of a larger sample are the smaller sample
    let d = simulate::simulate_file(Path::new(POP), &opts(300, 42)).unwrap().csv;
    assert!(d.starts_with(&a));
    // the header: the observed variables in the model's order; 6 decimals
    let (header, rows) = cells(&a);
    assert_eq!(header[..4], ["allo1", "allo2", "allo3", "allo4"]);
    assert_eq!(header.len(), 25);
    assert_eq!(rows.len(), 200);
    let first = a.lines().nth(1).unwrap().split(',').next().unwrap();
    assert_eq!(first.split('.').nth(1).unwrap().len(), 6, "{first}");
    let two = simulate::simulate_file(Path::new(POP), &SimOptions { digits: 2, ..opts(5, 42) })
        .unwrap()
        .csv;
    assert!(
        two.lines()
            .skip(1)
            .flat_map(|l| l.split(','))
            .all(|c| c.split('.').nth(1).unwrap().len() == 2),
        "{two}"
    );
}

#[test]
fn the_normal_quantile_is_accurate() {
    for (p, q) in [
        (0.975, 1.959963984540054),
        (0.5, 0.0),
        (0.01, -2.3263478740408408),
        (1.0 / 7.0, -1.0675705238781414),
    ] {
        assert!(
            (simulate::qnorm(p) - q).abs() < 1e-14,
            "qnorm({p}) = {} not {q}",
            simulate::qnorm(p)
        );
    }
}

// ------------------------------------------------------------------ large samples

#[test]
fn a_large_sample_matches_the_population_and_recovers_the_paths() {
    let n = 20_000;
    let sim = simulate::simulate_file(Path::new(POP), &opts(n, 2024)).unwrap();
    let pop = &sim.population;
    let (_, rows) = cells(&sim.csv);
    let p = pop.ov.len();
    let nf = n as f64;
    let mean: Vec<f64> = (0..p).map(|j| rows.iter().map(|r| r[j].unwrap()).sum::<f64>() / nf).collect();
    for j in 0..p {
        let se = (pop.sigma[(j, j)] / nf).sqrt();
        assert!((mean[j] - pop.mu[j]).abs() < 5.0 * se, "mean of {}: {}", pop.ov[j], mean[j]);
        for k in 0..=j {
            let s = rows
                .iter()
                .map(|r| (r[j].unwrap() - mean[j]) * (r[k].unwrap() - mean[k]))
                .sum::<f64>()
                / (nf - 1.0);
            let sigma = pop.sigma[(j, k)];
            let se = ((pop.sigma[(j, j)] * pop.sigma[(k, k)] + sigma * sigma) / nf).sqrt();
            assert!(
                (s - sigma).abs() < 5.0 * se,
                "cov({}, {}) = {s}, population {sigma}",
                pop.ov[j],
                pop.ov[k]
            );
        }
    }
    // fit the labelled analysis model: every path within 4 SEs of its population value
    // (on the marker scale: value * first loading of the outcome / first loading of the predictor)
    let dir = scratch("large");
    let data = dir.join("large.csv");
    std::fs::write(&data, &sim.csv).unwrap();
    let r = pipeline::fit(Path::new("models/bradford.lav"), &data, &FitOptions::default()).unwrap();
    assert!(r.converged);
    let first = |f: &str| {
        let ind = pop.values.iter().find(|v| v.op == "=~" && v.lhs == f).unwrap();
        ind.value
    };
    assert_eq!(r.hypotheses.len(), 9);
    for h in &r.hypotheses {
        let truth = pop.value(&h.lhs, "~", &h.rhs).unwrap() * first(&h.lhs) / first(&h.rhs);
        let (est, se) = (h.est.unwrap(), h.se.unwrap());
        assert!((est - truth).abs() < 4.0 * se, "{}: {est} (se {se}) vs population {truth}", h.name);
        assert!(h.supported, "{}", h.name);
    }
}

// ------------------------------------------------------------------ likert, missing

#[test]
fn likert_gives_integers_one_to_k_cut_from_the_same_draws() {
    let cont = simulate::simulate_file(Path::new(POP), &opts(2000, 5)).unwrap();
    for k in [2u32, 7] {
        let lik = simulate::simulate_file(
            Path::new(POP),
            &SimOptions {
                likert: Some(k),
                ..opts(2000, 5)
            },
        )
        .unwrap();
        let (_, rows) = cells(&lik.csv);
        let (_, crow) = cells(&cont.csv);
        assert!(lik
            .csv
            .lines()
            .skip(1)
            .flat_map(|l| l.split(','))
            .all(|c| c.parse::<u32>().is_ok_and(|v| (1..=k).contains(&v))));
        for j in 0..25 {
            // categories are monotone in the continuous values of the same seed
            let mut pairs: Vec<(f64, f64)> = crow.iter().zip(&rows).map(|(c, l)| (c[j].unwrap(), l[j].unwrap())).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(pairs.windows(2).all(|w| w[0].1 <= w[1].1), "column {j}");
            // equal-probability categories
            for cat in 1..=k {
                let share = pairs.iter().filter(|p| p.1 == f64::from(cat)).count() as f64 / 2000.0;
                let expect = 1.0 / f64::from(k);
                assert!(
                    (share - expect).abs() < 5.0 * (expect * (1.0 - expect) / 2000.0).sqrt(),
                    "column {j} category {cat}: {share}"
                );
            }
        }
    }
}

#[test]
fn missing_blanks_cells_of_the_same_data_at_the_given_rate() {
    let full = simulate::simulate_file(Path::new(POP), &opts(2000, 9)).unwrap();
    let miss = simulate::simulate_file(
        Path::new(POP),
        &SimOptions {
            missing: 0.1,
            ..opts(2000, 9)
        },
    )
    .unwrap();
    let (_, f) = cells(&full.csv);
    let (_, m) = cells(&miss.csv);
    let (mut empty, mut total) = (0usize, 0usize);
    for (fr, mr) in f.iter().zip(&m) {
        for (fc, mc) in fr.iter().zip(mr) {
            total += 1;
            match mc {
                None => empty += 1,
                Some(v) => assert_eq!(Some(*v), *fc),
            }
        }
    }
    let rate = empty as f64 / total as f64;
    assert!((rate - 0.1).abs() < 0.01, "rate {rate}");
    // and with --likert too
    let both = simulate::simulate_file(
        Path::new(POP),
        &SimOptions {
            missing: 0.3,
            likert: Some(5),
            ..opts(500, 9)
        },
    )
    .unwrap();
    assert!(both
        .csv
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .all(|c| c.is_empty() || matches!(c, "1" | "2" | "3" | "4" | "5")));
}

// ------------------------------------------------------------------ refusals

#[test]
fn bad_options_and_impossible_populations_exit_2() {
    let dir = scratch("bad");
    let model = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--n".into(), "0".into()], "--n must be at least 1"),
        (
            vec!["--likert".into(), "1".into()],
            "--likert takes a number of categories from 2 to 100, not 1",
        ),
        (vec!["--likert".into(), "101".into()], "not 101"),
        (vec!["--missing".into(), "1".into()], "--missing takes the probability"),
        (vec!["--missing".into(), "-0.1".into()], "not -0.1"),
        (vec!["--digits".into(), "30".into()], "--digits"),
    ];
    for (extra, msg) in cases {
        let mut args = vec!["simulate".to_string(), POP.to_string(), "--seed".into(), "1".into()];
        if !extra.contains(&"--n".to_string()) {
            args.extend(["--n".into(), "10".into()]);
        }
        args.extend(extra);
        let o = sem(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    let models = [
        (
            model("negvar.lav", "F =~ 0.8*x1 + 0.7*x2\nx2 ~~ -0.5*x2\n"),
            "the (residual) variance of `x2` is negative",
        ),
        (
            model("corr.lav", "F =~ 0.8*x1 + 0.7*x2\nx1 ~~ 0.5*x2\nx1 ~~ 0.2*x1\nx2 ~~ 0.3*x2\n"),
            "a correlation beyond ±1",
        ),
        (
            model("singular.lav", "F =~ 1*x1 + 1*x2\nx1 ~~ 0*x1\nx2 ~~ 0*x2\n"),
            "the implied covariance matrix of the observed variables is not positive definite",
        ),
        (model("syntax.lav", "F =~ 0.8*x1 +\n"), "syntax.lav"),
    ];
    for (m, msg) in models {
        let o = sem(&["simulate", &m, "--n", "10", "--seed", "1"]);
        assert_eq!(o.status.code(), Some(2), "{m}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{m}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    // the message points at the line of the parameter at fault
    let o = sem(&[
        "simulate",
        &dir.join("negvar.lav").display().to_string(),
        "--n",
        "10",
        "--seed",
        "1",
    ]);
    assert!(stderr(&o).contains("negvar.lav:2:"), "{}", stderr(&o));
    // --standardized with paths that explain more than all the variance
    let m = model("r2.lav", "F =~ 0.9*x1 + 0.9*x2\nG =~ 0.8*y1 + 0.8*y2\nG ~ 1.2*F\n");
    let o = sem(&["simulate", &m, "--n", "10", "--seed", "1", "--standardized"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("explain more than all of its variance"), "{}", stderr(&o));
}

#[test]
fn warnings_name_unwritten_paths_and_help_documents_the_defaults() {
    let dir = scratch("warn");
    let m = dir.join("m.lav");
    std::fs::write(&m, "F =~ 0.8*x1 + 0.7*x2 + 0.6*x3\ny ~ F\n").unwrap();
    let o = sem(&["simulate", m.to_str().unwrap(), "--n", "3", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("warning: no population value is written for y ~ F (0)"),
        "{}",
        stderr(&o)
    );
    let h = sem(&["simulate", "--help"]);
    let text = String::from_utf8_lossy(&h.stdout);
    for s in [
        "simulateData",
        "regression  ~        0",
        "--likert K",
        "qnorm(k/K)",
        "u < RATE",
        "marker rule",
    ] {
        assert!(text.contains(s), "help lacks `{s}`");
    }
}

// ------------------------------------------------------------------ shipped data

/// Every `cargo run --release -- simulate ...` line of data/README.md, run as
/// the library runs it, writes exactly the shipped file.
#[test]
fn shipped_data_sets_are_what_their_documented_commands_produce() {
    let readme = std::fs::read_to_string("data/README.md").unwrap();
    let prefix = "cargo run --release -- ";
    let commands: Vec<&str> = readme.lines().filter(|l| l.starts_with(&format!("{prefix}simulate "))).collect();
    let dir = scratch("shipped");
    let mut made = Vec::new();
    for line in &commands {
        let args: Vec<&str> = std::iter::once("sem").chain(line[prefix.len()..].split_whitespace()).collect();
        let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
        let SemCommand::Simulate(mut a) = cli.command else {
            panic!("not a simulate command: {line}")
        };
        let shipped = a.output.clone().expect("the command names its --output");
        let out = dir.join(shipped.file_name().unwrap());
        a.output = Some(out.clone());
        assert_eq!(a.run().unwrap(), 0, "{line}");
        let want = std::fs::read(&shipped).unwrap();
        assert!(
            std::fs::read(&out).unwrap() == want,
            "{} differs from what `{line}` produces",
            shipped.display()
        );
        made.push(shipped.display().to_string());
    }
    made.sort();
    assert_eq!(
        made,
        [
            "data/bradford_b2b_small.csv",
            "data/bradford_likert7.csv",
            "data/bradford_missing.csv",
            "data/bradford_realestate.csv"
        ]
    );
}
