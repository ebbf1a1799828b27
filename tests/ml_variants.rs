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
