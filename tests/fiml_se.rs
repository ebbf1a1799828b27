//! FIML standard errors on many missing-data patterns (issue 19): lavaan
//! 0.6-14's ML and MLR answers on prefixes of one data set
//! (`tests/fixtures/fiml_prefixes`, made by its `make.R`: the first N rows
//! of the public case fiml_se_many_patterns, N = 1500, 1525, ..., 2000, up
//! to 537 patterns), the expected-information SEs lavaan gives on all rows,
//! and two properties: one row more or less moves no SE by more than a few
//! percent, and observed- and expected-information SEs that disagree by more
//! than `SE_RATIO_WARN` never go without a warning.
//!
//! Tolerance: estimates and SEs within 1e-3 relative of lavaan's (lavaan's
//! own Hessian is a finite difference of its gradient, good to about 1e-6).

use sem::pipeline::{self, EstimatorKind, FitOptions, Prepared};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const DIR: &str = "tests/fixtures/fiml_prefixes";
const TOL: f64 = 1e-3;

fn opts(estimator: EstimatorKind) -> FitOptions {
    FitOptions {
        fiml: true,
        estimator,
        ..FitOptions::default()
    }
}

/// The first `n` rows of the fixture's data, as a CSV file of their own.
fn prefix(n: usize) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(DIR).join("data.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(n < lines.len(), "the fixture has {} rows", lines.len() - 1);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fiml_prefix_{n}.csv"));
    std::fs::write(&out, lines[..=n].join("\n") + "\n").unwrap();
    out
}

fn prepare(n: usize) -> Prepared {
    pipeline::prepare(&Path::new(DIR).join("model.lav"), &prefix(n), &opts(EstimatorKind::Ml)).unwrap()
}

/// `lhs op rhs` -> (est, se) of the free parameters of a fitted report.
fn report_params(v: &Value) -> HashMap<String, (f64, f64)> {
    v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["free"].as_bool().unwrap_or(false))
        .map(|p| {
            let key = format!(
                "{} {} {}",
                p["lhs"].as_str().unwrap(),
                p["op"].as_str().unwrap(),
                p["rhs"].as_str().unwrap()
            );
            (key, (p["est"].as_f64().unwrap(), p["se"].as_f64().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// What the pipeline computes for a FIML fit, by the same functions but
/// without the fit measures (the baseline model, the saturated model's
/// information), which would make this test slow: the estimates, the
/// observed-information SEs and, with `mlr`, the sandwich SEs and scaled
/// chi-square. `lhs op rhs` -> (est, se), with chisq and chisq_scaled.
struct Fiml {
    params: HashMap<String, (f64, f64)>,
    chisq: f64,
    chisq_scaled: Option<f64>,
}

fn fiml(prep: &Prepared, mlr: bool) -> Fiml {
    let (model, f) = (&prep.model, prep.fiml.as_ref().unwrap());
    let est = sem::estimate::fiml::estimate(model, &prep.data, f, 10_000);
    assert!(est.converged);
    let x = &est.x;
    let ntot = f.ntotal() as f64;
    let chisq = ntot * sem::estimate::fiml::objective(&model.ram, x, f);
    let (vcov, chisq_scaled) = if mlr {
        let rows: Vec<Vec<Vec<f64>>> = prep
            .group_rows
            .iter()
            .map(|r| sem::inference::fiml::used_rows(&prep.dataset, r, &model.ram.x_ov))
            .collect();
        let bread = sem::estimate::fiml::observed_information(&model.ram, x, f).unwrap();
        let r = sem::inference::fiml::mlr(&model.ram, x, f, &prep.data, &rows, &model.ram.x_ov, &bread, false);
        (r.vcov.unwrap(), Some(chisq / (r.trace.unwrap() / model.df() as f64)))
    } else {
        (sem::inference::fiml::vcov(model, x, f).unwrap(), None)
    };
    let params = keys(prep)
        .into_iter()
        .enumerate()
        .map(|(k, key)| (key, (x[k], vcov[(k, k)].sqrt())))
        .collect();
    Fiml {
        params,
        chisq,
        chisq_scaled,
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// Within TOL relative of lavaan's value (false for NaN).
fn within(a: f64, b: f64) -> bool {
    rel(a, b) <= TOL
}

/// Differences between our numbers and one lavaan case of the fixture.
fn differences(case: &Value, got: &HashMap<String, (f64, f64)>, chisq: f64, chisq_scaled: Option<f64>) -> Vec<String> {
    let (n, name) = (&case["n"], case["estimator"].as_str().unwrap());
    let mut bad = vec![];
    for p in case["params"].as_array().unwrap() {
        let key = format!(
            "{} {} {}",
            p["lhs"].as_str().unwrap(),
            p["op"].as_str().unwrap(),
            p["rhs"].as_str().unwrap()
        );
        let (e, s) = (p["est"].as_f64().unwrap(), p["se"].as_f64().unwrap());
        match got.get(&key) {
            Some(&(ge, gs)) if within(ge, e) && within(gs, s) => {}
            Some(&(ge, gs)) => bad.push(format!("N={n} {name} {key}: est {ge} vs {e}, se {gs} vs {s}")),
            None => bad.push(format!("N={n} {name} {key}: missing")),
        }
    }
    if !within(chisq, case["chisq"].as_f64().unwrap()) {
        bad.push(format!("N={n} {name} chisq {chisq} vs {}", case["chisq"]));
    }
    if let Some(cs) = case["chisq_scaled"].as_f64() {
        let got = chisq_scaled.unwrap_or(f64::NAN);
        if !within(got, cs) {
            bad.push(format!("N={n} {name} chisq_scaled {got} vs {cs}"));
        }
    }
    bad
}

fn fixture() -> Value {
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("expected.json")).unwrap()).unwrap();
    assert_eq!(exp["lavaan_version"], "0.6.14");
    exp
}

fn case(exp: &Value, n: usize, estimator: &str) -> Value {
    exp["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["n"] == n && c["estimator"] == estimator)
        .unwrap_or_else(|| panic!("no case N={n} {estimator}"))
        .clone()
}

/// Every N of the fixture (1500, 1525, ..., 2000; two threads, the
/// machine's cores): est and se of every free parameter and chi-square,
/// ML at every N, MLR (sandwich SEs, scaled chi-square) at every 100th.
#[test]
fn prefixes_match_lavaan() {
    let exp = fixture();
    let mut ns: Vec<usize> = exp["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["n"].as_u64().unwrap() as usize)
        .collect();
    ns.dedup();
    assert_eq!(ns, (1500..=2000).step_by(25).collect::<Vec<_>>());
    let bad: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (ns, exp) = (&ns, &exp);
                s.spawn(move || {
                    let mut bad = vec![];
                    for &n in ns.iter().skip(w).step_by(2) {
                        let prep = prepare(n);
                        let ml = fiml(&prep, false);
                        bad.extend(differences(&case(exp, n, "ML"), &ml.params, ml.chisq, None));
                        if n % 100 == 0 {
                            let r = fiml(&prep, true);
                            bad.extend(differences(&case(exp, n, "MLR"), &r.params, r.chisq, r.chisq_scaled));
                        }
                    }
                    bad
                })
            })
            .collect();
        workers.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}

/// The public case itself (all 2000 rows, 537 patterns) through the whole
/// pipeline, ML and MLR: the report's numbers, and no warning about the
/// observed and expected information.
#[test]
fn public_case_through_the_pipeline() {
    let exp = fixture();
    let prep = prepare(2000);
    for (name, kind) in [("ML", EstimatorKind::Ml), ("MLR", EstimatorKind::Mlr)] {
        let v = serde_json::to_value(pipeline::fit_prepared(&prep, &opts(kind))).unwrap();
        let fit = &v["fit"];
        let bad = differences(
            &case(&exp, 2000, name),
            &report_params(&v),
            fit["chisq"].as_f64().unwrap(),
            fit["chisq_scaled"].as_f64(),
        );
        assert!(bad.is_empty(), "{}", bad.join("\n"));
        let w = v["warnings"].as_array().unwrap();
        assert!(!w.iter().any(|w| w.as_str().unwrap().contains("expected information")), "{w:?}");
    }
}

/// The free parameters' keys in the order of x.
fn keys(prep: &Prepared) -> Vec<String> {
    let m = &prep.model;
    m.ram
        .x_rows
        .iter()
        .map(|rows| {
            let r = &m.pt.rows[rows[0]];
            format!("{} {} {}", r.lhs, r.op, r.rhs)
        })
        .collect()
}

/// lavaan's information = "expected" SEs (structured, missing = "ml") on all
/// 2000 rows, from `estimate::fiml::expected_information`; with the
/// observed-information SEs they agree within 2% here (a correct model), so
/// the check stays silent.
#[test]
fn expected_information_matches_lavaan() {
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("expected_information.json")).unwrap()).unwrap();
    let prep = prepare(exp["n"].as_u64().unwrap() as usize);
    let f = prep.fiml.as_ref().unwrap();
    let est = sem::estimate::fiml::estimate(&prep.model, &prep.data, f, 10_000);
    assert!(est.converged);
    let info = sem::estimate::fiml::expected_information(&prep.model.ram, &est.x, f).unwrap();
    let v = sem::inference::invert_information(&prep.model, &est.x, &info, f.ntotal() as f64).unwrap();
    let keys = keys(&prep);
    for p in exp["params"].as_array().unwrap() {
        let key = format!(
            "{} {} {}",
            p["lhs"].as_str().unwrap(),
            p["op"].as_str().unwrap(),
            p["rhs"].as_str().unwrap()
        );
        let k = keys.iter().position(|q| *q == key).unwrap_or_else(|| panic!("{key} not free"));
        let se = v[(k, k)].sqrt();
        let want = p["se"].as_f64().unwrap();
        assert!(rel(se, want) <= TOL, "{key}: expected-information se {se} vs lavaan {want}");
    }
    let obs = sem::inference::fiml::vcov(&prep.model, &est.x, f).unwrap();
    let worst = (0..keys.len())
        .map(|k| (obs[(k, k)] / v[(k, k)]).sqrt())
        .fold(1.0f64, |m, r| m.max(r).max(1.0 / r));
    assert!(worst < 1.05, "observed vs expected SEs differ by a factor {worst}");
    assert_eq!(sem::inference::fiml::check_against_expected(&prep.model, &est.x, f, &obs), None);
    // SEs that disagree by more than the stated factor are flagged, naming the parameter
    let mut off = obs.clone();
    let k = keys.iter().position(|q| q == "f1 ~~ f1").unwrap();
    off[(k, k)] *= (sem::inference::fiml::SE_RATIO_WARN * 1.1).powi(2);
    let w = sem::inference::fiml::check_against_expected(&prep.model, &est.x, f, &off).expect("a warning");
    assert!(w.contains("`f1 ~~ f1`") && w.contains("expected information"), "{w}");
    off[(k, k)] = obs[(k, k)] / (sem::inference::fiml::SE_RATIO_WARN * 1.1).powi(2);
    assert!(sem::inference::fiml::check_against_expected(&prep.model, &est.x, f, &off).is_some());
}

/// Largest relative change of any SE between two fits of the same model.
fn max_jump(a: &Fiml, b: &Fiml) -> (f64, String) {
    a.params
        .iter()
        .map(|(k, (_, sa))| (rel(b.params[k].1, *sa), k.clone()))
        .fold((0.0, String::new()), |m, x| if x.0 > m.0 || x.0.is_nan() { x } else { m })
}

/// One row more or less: no FIML standard error moves by more than 3% for
/// N >= 500 (the jumps of issue 19 were 25-28%), around the N where `sem`
/// used to jump (1975 -> 1976, 1999 -> 2000) and elsewhere; ML at each,
/// MLR at two.
#[test]
fn one_row_more_or_less_moves_the_ses_smoothly() {
    let runs: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = [
            [(500, true), (1000, false), (1974, false)],
            [(1500, false), (1975, false), (1999, true)],
        ]
        .into_iter()
        .map(|ns| {
            s.spawn(move || {
                let mut bad = vec![];
                for (n, with_mlr) in ns {
                    let (a, b) = (prepare(n), prepare(n + 1));
                    for mlr in [false, true].into_iter().filter(|m| !m || with_mlr) {
                        let (jump, key) = max_jump(&fiml(&a, mlr), &fiml(&b, mlr));
                        if jump.is_nan() || jump >= 0.03 {
                            let what = if mlr { "MLR" } else { "ML" };
                            bad.push(format!("{what} N={n} -> {}: se of {key} moved by {:.2}%", n + 1, 100.0 * jump));
                        }
                    }
                }
                bad
            })
        })
        .collect();
        workers.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(runs.is_empty(), "{}", runs.join("\n"));
}
