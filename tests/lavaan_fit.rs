//! Fitted models against lavaan 0.6-14 (`tests/fixtures/fit/*`, made by
//! `make_fit_fixtures.sh` with `../shared/reference/lavaan_reference.R`).
//! Every row of `parameterEstimates()` is compared on est, se, z, pvalue,
//! ci, std_lv and std_all; every fit measure lavaan reports and we report
//! too; R-square; nobs.
//!
//! Tolerances (as `../shared/reference/compare.py`): parameters within
//! 0.1% relative or 5e-4 absolute; fit measures within 0.1% or 1e-3; p-values
//! within 1e-3 absolute.

mod common;

use common::lavaan::{cases, differences, fit_case};
use std::path::Path;

const DIR: &str = "tests/fixtures/fit";

fn run_case(case: &str) -> Vec<String> {
    let (got, exp) = match fit_case(DIR, case) {
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let mut bad = differences(case, &got, &exp);
    let fit = got["fit"].as_object().unwrap();
    for k in [
        "chisq",
        "df",
        "pvalue",
        "cfi",
        "tli",
        "rmsea",
        "rmsea_ci_lower",
        "rmsea_ci_upper",
        "srmr",
        "aic",
        "bic",
        "bic2",
        "logl",
    ] {
        if exp["fit"].get(k).is_some() && !fit.contains_key(k) {
            bad.push(format!("{case}: fit {k} missing"));
        }
    }
    bad
}

#[test]
fn fits_match_lavaan() {
    let cases = cases(DIR);
    assert!(cases.len() >= 15, "fixtures missing: {cases:?}");
    let bad: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}

/// The shipped front-door model equals its fixture: `models/` and `data/`
/// are what the README's first command runs.
#[test]
fn shipped_bradford_model_is_the_fixture() {
    let a = std::fs::read_to_string("models/bradford.lav").unwrap();
    let b = std::fs::read_to_string(Path::new(DIR).join("bradford/model.lav")).unwrap();
    assert_eq!(a.trim(), b.trim());
}
