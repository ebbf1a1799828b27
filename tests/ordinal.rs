//! Ordinal data against lavaan 0.6-14 (`tests/fixtures/ordinal/*`, made by
//! `make_fixtures.sh` with `../shared/reference/lavaan_reference.R`): WLSMV,
//! ULSMV, WLS, DWLS and ULS on Holzinger-Swineford cut into 4 categories,
//! WLSMV with std.lv, the theta parameterization, mixed ordinal and
//! continuous indicators, missing values (listwise, pairwise), two groups (configural; equal thresholds and
//! loadings), binary items, and the Bradford model on simulated
//! 5-point items. Every row of `parameterEstimates()` (thresholds `|` and
//! scale factors `~*~` too) is compared on est, se, z, pvalue, ci, std_lv
//! and std_all; every fit measure lavaan reports must be there and match;
//! R-square of the latent responses; nobs.
//!
//! Tolerances (as `../shared/reference/compare.py`): parameters within
//! 0.1% relative or 5e-4 absolute; fit measures within 0.1% or 1e-3; p-values
//! within 1e-3 absolute.

use clap::Parser;
use sem::cli::{Cli, Command};
use serde_json::Value;
use std::path::Path;

const DIR: &str = "tests/fixtures/ordinal";

fn close(a: Option<f64>, b: Option<f64>, rel: f64, abs: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= abs.max(rel * b.abs()),
        (None, None) => true,
        (None, Some(b)) => b.is_nan(),
        _ => false,
    }
}

fn key(p: &Value) -> (String, String, String, u64) {
    let (mut l, op, mut r) = (
        p["lhs"].as_str().unwrap().to_string(),
        p["op"].as_str().unwrap().to_string(),
        p["rhs"].as_str().unwrap_or("").to_string(),
    );
    if op == "~~" && r < l {
        std::mem::swap(&mut l, &mut r);
    }
    if op == ":=" {
        r.clear();
    }
    (l, op, r, p["group"].as_u64().unwrap_or(1).max(1))
}

fn run_case(case: &str) -> Vec<String> {
    let d = Path::new(DIR).join(case);
    let args = std::fs::read_to_string(d.join("args")).unwrap_or_default();
    let mut argv: Vec<String> = vec![
        "sem".into(),
        "fit".into(),
        d.join("model.lav").display().to_string(),
        d.join("data.csv").display().to_string(),
    ];
    argv.extend(args.split_whitespace().map(String::from));
    let cli = Cli::try_parse_from(&argv).unwrap();
    let Command::Fit(a) = cli.command else { unreachable!() };
    let report = match sem::pipeline::fit(&a.model, &a.data, &a.options().unwrap()) {
        Ok(r) => r,
        Err(e) => return vec![format!("{case}: failed: {e}")],
    };
    let got: Value = serde_json::to_value(&report).unwrap();
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(d.join("expected.json")).unwrap()).unwrap();
    let mut bad = vec![];
    if got["converged"] != exp["converged"] {
        bad.push(format!("{case}: converged {} vs {}", got["converged"], exp["converged"]));
    }
    if got["nobs"].as_f64() != exp["nobs"].as_f64() {
        bad.push(format!("{case}: nobs {} vs {}", got["nobs"], exp["nobs"]));
    }
    let params = got["parameters"].as_array().unwrap();
    for p in exp["parameters"].as_array().unwrap() {
        let k = key(p);
        let Some(g) = params.iter().find(|g| key(g) == k) else {
            bad.push(format!("{case}: missing row {k:?}"));
            continue;
        };
        for (f, abs) in [
            ("est", 5e-4),
            ("se", 5e-4),
            ("z", 5e-3),
            ("ci_lower", 5e-4),
            ("ci_upper", 5e-4),
            ("std_lv", 5e-4),
            ("std_all", 5e-4),
            ("pvalue", 1e-3),
        ] {
            if p.get(f).is_none() {
                continue;
            }
            let rel = if f == "pvalue" { 0.0 } else { 1e-3 };
            if !close(g[f].as_f64(), p[f].as_f64(), rel, abs) {
                bad.push(format!("{case}: {k:?} {f} {} vs lavaan {}", g[f], p[f]));
            }
        }
    }
    let fit = got["fit"].as_object().unwrap();
    for (k, v) in exp["fit"].as_object().unwrap() {
        if let Some(g) = fit.get(k) {
            if !close(g.as_f64(), v.as_f64(), 1e-3, 1e-3) {
                bad.push(format!("{case}: fit {k} {g} vs lavaan {v}"));
            }
        }
    }
    // every measure lavaan gives must be there (and match, above)
    for k in exp["fit"].as_object().unwrap().keys() {
        if !fit.contains_key(k) {
            bad.push(format!("{case}: fit {k} missing"));
        }
    }
    // no likelihood with these estimators
    for k in ["logl", "aic", "bic"] {
        if !fit.get(k).is_some_and(Value::is_null) {
            bad.push(format!("{case}: fit {k} should be null"));
        }
    }
    if let Some(r2) = exp["r2"].as_object() {
        for (v, val) in r2 {
            if !close(got["r2"][v].as_f64(), val.as_f64(), 1e-3, 5e-4) {
                bad.push(format!("{case}: r2 {v} {} vs lavaan {val}", got["r2"][v]));
            }
        }
    }
    bad
}

#[test]
fn ordinal_fits_match_lavaan() {
    let mut cases: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "fixtures missing: {cases:?}");
    let bad: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}

fn fit_err(args: &[&str]) -> String {
    let mut argv = vec![
        "sem",
        "fit",
        "tests/fixtures/ordinal/hs4_wlsmv/model.lav",
        "tests/fixtures/ordinal/hs4_wlsmv/data.csv",
    ];
    argv.extend(args);
    let cli = Cli::try_parse_from(&argv).unwrap();
    let Command::Fit(a) = cli.command else { unreachable!() };
    match a.options().and_then(|o| sem::pipeline::fit(&a.model, &a.data, &o)) {
        Ok(_) => String::new(),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn unsupported_ordinal_choices_are_refused_clearly() {
    assert!(fit_err(&["--ordered", "all", "--estimator", "mlr"]).contains("does not apply to ordinal data"));
    assert!(fit_err(&["--estimator", "wlsmv"]).contains("--ordered"));
    assert!(fit_err(&["--ordered", "x1,nope"]).contains("`nope`"));
}

/// `sem batch --ordered all` fits each data set as `sem fit` does (the
/// model check before the batch must not need the data's categories).
#[test]
fn batch_fits_ordinal_data_like_fit() {
    let model = Path::new(DIR).join("hs4_wlsmv/model.lav");
    let data = Path::new(DIR).join("hs4_wlsmv/data.csv");
    let cli = Cli::try_parse_from(["sem", "fit", "m", "d", "--ordered", "all"]).unwrap();
    let Command::Fit(a) = cli.command else { unreachable!() };
    let opt = a.options().unwrap();
    let r = sem::batch::run(
        &model,
        std::slice::from_ref(&data),
        &opt,
        &sem::gates::Gates::default(),
        Some(1),
        &|_| {},
    )
    .unwrap();
    let fit = sem::pipeline::fit(&model, &data, &opt).unwrap();
    assert_eq!(r.datasets[0].fit, fit.fit);
    assert!(fit.fit["chisq_scaled"].as_f64().is_some());
}
