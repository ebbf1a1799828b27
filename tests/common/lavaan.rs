//! The comparison with a lavaan fixture folder that the fixture tests share
//! (`tests/fixtures/fit`, `tests/fixtures/ordinal`: model.lav, data.csv,
//! args and expected.json written by `../shared/reference/lavaan_reference.R`):
//! `sem fit` runs in-process with the folder's flags, and every row of
//! lavaan's `parameterEstimates()` is compared on est, se, z, pvalue, ci,
//! std_lv and std_all, every fit measure both report, R-square and nobs.
//!
//! Tolerances (as `../shared/reference/compare.py`): parameters within 0.1%
//! relative or 5e-4 absolute (z 5e-3); fit measures within 0.1% or 1e-3;
//! p-values within 1e-3 absolute.

use clap::Parser;
use sem::cli::{Cli, Command};
use serde_json::Value;
use std::path::Path;

/// `a` is within `abs` or `rel * |b|` of `b`; a missing value matches only a
/// missing (or NaN) one.
pub fn close(a: Option<f64>, b: Option<f64>, rel: f64, abs: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= abs.max(rel * b.abs()),
        (None, None) => true,
        (None, Some(b)) => b.is_nan(),
        _ => false,
    }
}

/// A parameter row's identity: (lhs, op, rhs, group), `~~` in either order,
/// `:=` by its name.
pub fn key(p: &Value) -> (String, String, String, u64) {
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

/// The fixture folders below `dir` (those with an expected.json), sorted.
pub fn cases(dir: &str) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    cases.sort();
    cases
}

/// `sem fit` on the fixture folder `dir/case` with the flags in its `args`:
/// our report as JSON and lavaan's answer, or why the fit failed.
pub fn fit_case(dir: &str, case: &str) -> Result<(Value, Value), String> {
    let d = Path::new(dir).join(case);
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
    let report = sem::pipeline::fit(&a.model, &a.data, &a.options().unwrap()).map_err(|e| format!("{case}: failed: {e}"))?;
    let got = serde_json::to_value(&report).unwrap();
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(d.join("expected.json")).unwrap()).unwrap();
    Ok((got, exp))
}

/// Every difference from lavaan: convergence, nobs, each parameter row,
/// each fit measure that both report, R-square. (Which measures must be
/// present is the caller's rule.)
pub fn differences(case: &str, got: &Value, exp: &Value) -> Vec<String> {
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
    if let Some(r2) = exp["r2"].as_object() {
        for (v, val) in r2 {
            if !close(got["r2"][v].as_f64(), val.as_f64(), 1e-3, 5e-4) {
                bad.push(format!("{case}: r2 {v} {} vs lavaan {val}", got["r2"][v]));
            }
        }
    }
    bad
}
