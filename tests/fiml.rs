//! Full-information ML (`--missing fiml`): the analytic gradient and the
//! observed information against finite differences, FIML on complete data
//! against complete-data ML, and what the report says about missing data.
//! The numbers themselves are checked against lavaan by `lavaan_fit.rs`
//! (the `fiml_*` fixtures).

use sem::estimate::fiml::{gradient, objective, observed_information, observed_information_numeric};
use sem::pipeline::{self, FitOptions, Prepared};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const FIX: &str = "tests/fixtures/fit";

fn prepared(case: &str, group: Option<&str>, group_equal: &[&str]) -> Prepared {
    let d = Path::new(FIX).join(case);
    let opt = FitOptions {
        fiml: true,
        group: group.map(str::to_string),
        group_equal: group_equal.iter().map(|s| s.to_string()).collect(),
        ..FitOptions::default()
    };
    pipeline::prepare(&d.join("model.lav"), &d.join("data.csv"), &opt).unwrap()
}

/// The start values moved a little, so the gradient is not zero.
fn point(prep: &Prepared) -> Vec<f64> {
    sem::estimate::start::default_start(&prep.model, &prep.data, false)
        .iter()
        .enumerate()
        .map(|(i, v)| v * (1.0 + 0.05 * ((i % 5) as f64 - 2.0)) + 0.01)
        .collect()
}

fn check_gradient(prep: &Prepared) {
    let (ram, f) = (&prep.model.ram, prep.fiml.as_ref().unwrap());
    let x = point(prep);
    let g = gradient(ram, &x, f).unwrap();
    for k in 0..x.len() {
        let h = 1e-6 * (1.0 + x[k].abs());
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[k] += h;
        xm[k] -= h;
        let fd = (objective(ram, &xp, f) - objective(ram, &xm, f)) / (2.0 * h);
        assert!(
            (fd - g[k]).abs() < 1e-6 * (1.0 + fd.abs()),
            "parameter {k}: analytic {} vs numeric {fd}",
            g[k]
        );
    }
}

#[test]
fn gradient_matches_finite_differences() {
    // factor model; two groups with shared loadings; path model with fixed.x covariates
    check_gradient(&prepared("fiml_hs_cfa", None, &[]));
    check_gradient(&prepared("fiml_hs_groups", Some("school"), &["loadings"]));
    check_gradient(&prepared("fiml_path", None, &[]));
}

#[test]
fn observed_information_matches_the_numeric_hessian() {
    for prep in [
        prepared("fiml_hs_groups", Some("school"), &["loadings"]),
        prepared("fiml_path", None, &[]),
    ] {
        let (ram, f) = (&prep.model.ram, prep.fiml.as_ref().unwrap());
        let x = point(&prep);
        let a = observed_information(ram, &x, f).unwrap();
        let n = observed_information_numeric(ram, &x, f).unwrap();
        let scale = n.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!((&a - &n).abs().max() < 1e-6 * scale, "max difference {}", (&a - &n).abs().max());
    }
}

fn sem_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Without missing values FIML is ML with a mean structure: same estimates,
/// same chi-square (standard errors differ: observed, not expected, information).
#[test]
fn fiml_on_complete_data_is_ml_with_means() {
    let d = Path::new(FIX).join("hs_meanstructure");
    let (m, data) = (d.join("model.lav"), d.join("data.csv"));
    let (m, data) = (m.to_str().unwrap(), data.to_str().unwrap());
    let ml = sem_json(&["fit", m, data, "--meanstructure"]);
    let fiml = sem_json(&["fit", m, data, "--missing", "fiml"]);
    for k in ["chisq", "df", "logl", "unrestricted_logl", "baseline_chisq", "cfi", "rmsea", "srmr"] {
        let (a, b) = (ml["fit"][k].as_f64().unwrap(), fiml["fit"][k].as_f64().unwrap());
        assert!((a - b).abs() < 1e-5 * (1.0 + a.abs()), "{k}: {a} vs {b}");
    }
    for (p, q) in ml["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .zip(fiml["parameters"].as_array().unwrap())
    {
        let (a, b) = (p["est"].as_f64().unwrap(), q["est"].as_f64().unwrap());
        assert!(
            (a - b).abs() < 1e-5 * (1.0 + a.abs()),
            "{} {} {}: {a} vs {b}",
            p["lhs"],
            p["op"],
            p["rhs"]
        );
    }
    assert_eq!(fiml["missing_patterns"], 1);
}

#[test]
fn report_counts_rows_and_patterns() {
    let d = Path::new(FIX).join("fiml_path");
    let (m, data) = (d.join("model.lav"), d.join("data.csv"));
    let r = sem_json(&[
        "fit",
        m.to_str().unwrap(),
        data.to_str().unwrap(),
        "--missing",
        "fiml",
        "--modindices",
    ]);
    assert_eq!(r["nobs"], 60);
    assert_eq!(r["rows_dropped"], 15);
    assert_eq!(r["missing_patterns"], 3);
    let warnings: Vec<&str> = r["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    let has = |s: &str| warnings.iter().any(|w| w.contains(s));
    assert!(has("1 of 75 rows"), "{warnings:?}");
    assert!(has("14 of 75 rows") && has("exogenous covariate"), "{warnings:?}");
    assert!(has("3 missing-data patterns"), "{warnings:?}");
    // modification indices under FIML (checked against lavaan in tests/fiml_diagnostics.rs)
    assert!(r["modindices"].as_array().is_some_and(|m| !m.is_empty()), "{}", r["modindices"]);
    // the text report says how the standard errors were computed
    let out = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(["fit", m.to_str().unwrap(), data.to_str().unwrap(), "--missing", "fiml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Number of missing patterns") && text.contains("Observed information based on"),
        "{text}"
    );
}

#[test]
fn fiml_is_refused_with_another_estimator() {
    let d = Path::new(FIX).join("fiml_path");
    let out = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(["fit", d.join("model.lav").to_str().unwrap(), d.join("data.csv").to_str().unwrap()])
        .args(["--missing", "fiml", "--estimator", "mlm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--missing fiml works with --estimator ml, mlr or mlf only"));
}
