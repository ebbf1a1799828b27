//! The ML variants beside ML, MLM and MLR against lavaan 0.6-14
//! (`tests/fixtures/ml_variants/*`, made by `make_fixtures.sh` with
//! `../shared/reference/lavaan_reference.R`): estimators MLMV
//! (scaled.shifted test), MLMVS (mean.var.adjusted test), MLF (first-order
//! information); `--information expected|observed|first.order` with ML, MLR
//! and FIML; `--se robust.huber.white`; one and two groups, with and without
//! equality constraints and fixed.x covariates, Holzinger-Swineford and the
//! Bradford survey.
//!
//! Stricter than `tests/lavaan_fit.rs`: every estimate, standard error and
//! fit measure within 1e-3 relative (absolute 1e-6 only for values near
//! zero), p-values within 1e-4 absolute; every fit measure lavaan gives must
//! be in the report, and a measure lavaan gives as NA must be null.

mod common;

use common::lavaan::{cases, fit_case, key};
use serde_json::Value;

const DIR: &str = "tests/fixtures/ml_variants";
const REL: f64 = 1e-3;
const ABS: f64 = 1e-6;

fn close(a: Option<f64>, b: Option<f64>, abs: f64) -> bool {
    common::lavaan::close(a, b, REL, abs)
}

fn check(case: &str) -> Vec<String> {
    let (got, exp) = match fit_case(DIR, case) {
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let mut bad = vec![];
    if got["converged"] != exp["converged"] {
        bad.push(format!("{case}: converged {} vs {}", got["converged"], exp["converged"]));
    }
    let params = got["parameters"].as_array().unwrap();
    for p in exp["parameters"].as_array().unwrap() {
        let k = key(p);
        let Some(g) = params.iter().find(|g| key(g) == k) else {
            bad.push(format!("{case}: missing row {k:?}"));
            continue;
        };
        for f in ["est", "se", "z", "pvalue", "std_all"] {
            if p.get(f).is_none() {
                continue;
            }
            let abs = if f == "pvalue" { 1e-4 } else { ABS };
            if !close(g[f].as_f64(), p[f].as_f64(), abs) {
                bad.push(format!("{case}: {k:?} {f} {} vs lavaan {}", g[f], p[f]));
            }
        }
    }
    let fit = got["fit"].as_object().unwrap();
    for (k, v) in exp["fit"].as_object().unwrap() {
        let Some(g) = fit.get(k) else {
            // lavaan's ECVI is not reported by sem (a documented omission)
            if k != "ecvi" {
                bad.push(format!("{case}: fit {k} missing (lavaan {v})"));
            }
            continue;
        };
        let abs = if k.contains("pvalue") { 1e-4 } else { ABS };
        if v.is_null() && !g.is_null() {
            bad.push(format!("{case}: fit {k} {g} vs lavaan NA"));
        } else if !close(g.as_f64(), v.as_f64(), abs) {
            bad.push(format!("{case}: fit {k} {g} vs lavaan {v}"));
        }
    }
    bad
}

#[test]
fn ml_variants_match_lavaan() {
    let cases = cases(DIR);
    assert!(cases.len() >= 40, "fixtures missing: {cases:?}");
    let bad: Vec<String> = cases.iter().flat_map(|c| check(c)).collect();
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}

/// What the report says about the information matrix, as lavaan's summary.
#[test]
fn information_is_reported() {
    for (case, info, se) in [
        ("hs_mlf", "First.order", "Standard"),
        ("hs_ml_observed", "Observed", "Standard"),
        ("hs_mlr_expected", "Expected", "Robust.huber.white"),
        ("hs_ml_huber_white", "Observed", "Robust.huber.white"),
        ("hs_mlmv", "Expected", "Robust.sem"),
        ("fiml_hs_expected", "Expected", "Standard"),
        ("fiml_hs_firstorder", "First.order", "Standard"),
    ] {
        let (got, _) = fit_case(DIR, case).unwrap();
        assert_eq!(got["information"], Value::from(info), "{case}");
        assert_eq!(got["se_type"], Value::from(se), "{case}");
    }
}

fn sem(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sem")).args(args).output().unwrap()
}

/// `compare` and `invariance` with MLMV and MLMVS give lavTestLRT()'s
/// default for them, the scaled-shifted Satorra (2000) difference test
/// (`tests/fixtures/ml_variants_lrt/make_lrt.R`).
#[test]
fn difference_tests_match_lavtestlrt() {
    let d = "tests/fixtures/ml_variants_lrt";
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(format!("{d}/lrt.json")).unwrap()).unwrap();
    let (general, restricted, data) = (format!("{d}/general.lav"), format!("{d}/restricted.lav"), format!("{d}/data.csv"));
    for e in exp.as_array().unwrap() {
        let est = e["estimator"].as_str().unwrap();
        let out = if e["kind"] == "compare" {
            sem(&["compare", &general, &restricted, &data, "--estimator", est, "--format", "json"])
        } else {
            sem(&[
                "invariance",
                &general,
                &data,
                "--group",
                "school",
                "--estimator",
                est,
                "--format",
                "json",
            ])
        };
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = if e["kind"] == "compare" { &v["test"] } else { &v["tests"][0] };
        assert_eq!(t["method"], "satorra.2000", "{est}");
        for (k, abs) in [("chisq_diff", ABS), ("df_diff", ABS), ("pvalue", 1e-4)] {
            assert!(
                close(t[k].as_f64(), e[k].as_f64(), abs),
                "{est} {}: {k} {} vs lavaan {}",
                e["kind"],
                t[k],
                e[k]
            );
        }
    }
}

/// What lavaan refuses (or `sem` does not build) is one message naming the
/// options, exit 2, and no report.
#[test]
fn bad_combinations_are_refused() {
    let d = "tests/fixtures/ml_variants/hs_mlmv";
    let fiml = "tests/fixtures/ml_variants/fiml_hs_expected";
    let (m, data) = (format!("{d}/model.lav"), format!("{d}/data.csv"));
    let (fm, fdata) = (format!("{fiml}/model.lav"), format!("{fiml}/data.csv"));
    let ord = "tests/fixtures/ordinal/bradford_likert5";
    let (om, odata) = (format!("{ord}/model.lav"), format!("{ord}/data.csv"));
    for (model, data, args, says) in [
        (
            &fm,
            &fdata,
            vec!["--missing", "fiml", "--estimator", "mlmv"],
            "not allowed for estimator MLMV",
        ),
        (
            &fm,
            &fdata,
            vec!["--missing", "fiml", "--estimator", "mlmvs"],
            "--missing fiml works with --estimator ml, mlr or mlf only",
        ),
        (
            &m,
            &data,
            vec!["--estimator", "mlr", "--information", "first.order"],
            "--information first.order does not work with --estimator mlr",
        ),
        (
            &m,
            &data,
            vec!["--estimator", "mlmv", "--information", "first.order"],
            "--information first.order does not work with --estimator mlmv",
        ),
        (
            &m,
            &data,
            vec!["--estimator", "mlm", "--information", "observed"],
            "--information observed with --estimator mlm",
        ),
        (
            &m,
            &data,
            vec!["--se", "robust.huber.white", "--estimator", "mlm"],
            "--se robust.huber.white works with --estimator ml",
        ),
        (
            &m,
            &data,
            vec!["--se", "robust.huber.white", "--information", "first.order"],
            "--information first.order does not work with --se robust.huber.white",
        ),
        (
            &fm,
            &fdata,
            vec!["--missing", "fiml", "--estimator", "mlr", "--information", "first.order"],
            "--information first.order does not work",
        ),
        (
            &m,
            &data,
            vec!["--estimator", "gls", "--information", "observed"],
            "apply to the ML family",
        ),
        (
            &om,
            &odata,
            vec!["--ordered", "all", "--information", "observed"],
            "not to ordinal data",
        ),
        (
            &m,
            &data,
            vec!["--se", "bootstrap", "--information", "observed"],
            "--information does not apply to --se bootstrap",
        ),
    ] {
        let mut argv = vec!["fit", model.as_str(), data.as_str()];
        argv.extend(&args);
        let out = sem(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: a refused fit prints no report");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// The text report's two columns for MLMV and MLMVS, as lavaan's
/// `summary(fit, fit.measures = TRUE)` prints them (lavaan 0.6-14 on
/// Holzinger-Swineford); MLMVS's scaled df is fractional and its robust
/// rows are NA (lavaan leaves them out), with a warning saying why.
#[test]
fn text_report_has_the_scaled_column() {
    let d = "tests/fixtures/ml_variants/hs_mlmv";
    let (m, data) = (format!("{d}/model.lav"), format!("{d}/data.csv"));
    let text = |est: &str| {
        let out = sem(&["fit", &m, &data, "--estimator", est]);
        assert_eq!(out.status.code(), Some(0));
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (mlmv, _) = text("mlmv");
    let mlmv = squash(&mlmv);
    for line in [
        "Standard Scaled Test Statistic 85.306 75.853 Degrees of freedom 24 24",
        "Scaling correction factor 1.157 Shift parameter 2.118 simple second-order correction",
        "Test statistic 918.852 401.858 Degrees of freedom 36 36 P-value 0.000 0.000 Scaling correction factor 2.397",
        "Comparative Fit Index (CFI) 0.931 0.858 Tucker-Lewis Index (TLI) 0.896 0.787 Robust Comparative Fit Index (CFI) 0.932 Robust Tucker-Lewis Index (TLI) 0.897",
        "RMSEA 0.092 0.085 90 Percent confidence interval - lower 0.071 0.064 90 Percent confidence interval - upper 0.114 0.107",
        "Robust RMSEA 0.091 90 Percent confidence interval - lower 0.068 90 Percent confidence interval - upper 0.115",
        "Standard errors Robust.sem Information Expected Information saturated (h1) model Structured",
    ] {
        assert!(mlmv.contains(line), "MLMV report lacks `{line}`:\n{mlmv}");
    }
    let (mlmvs, _) = text("mlmvs");
    let mlmvs = squash(&mlmvs);
    for line in [
        "Test Statistic 85.306 67.228 Degrees of freedom 24 19.951",
        "Scaling correction factor 1.269 mean and variance adjusted correction",
        "Test statistic 918.852 186.180 Degrees of freedom 36 8.492",
        "Comparative Fit Index (CFI) 0.931 0.734 Tucker-Lewis Index (TLI) 0.896 0.887",
        "Robust Comparative Fit Index (CFI) NA",
        "RMSEA 0.092 0.089",
        "lavaan 0.6-14 gives no robust CFI",
    ] {
        assert!(mlmvs.contains(line), "MLMVS report lacks `{line}`:\n{mlmvs}");
    }
    let (mlf, _) = text("mlf");
    assert!(squash(&mlf).contains("Standard errors Standard Information First.order Information saturated (h1) model Structured"));
}
