//! General constraints against lavaan 0.6-14 (`tests/fixtures/constraints/*`,
//! made by `make_constraint_fixtures.sh` with
//! `../shared/reference/lavaan_reference.R`): linear `==` between
//! expressions of labels, `:=` names and numbers (estimated in the null
//! space of their Jacobian), nonlinear `==` and inequalities (augmented
//! Lagrangian), each compared on every row of `parameterEstimates()` (est,
//! se, z, pvalue, ci, std_lv, std_all) and every fit measure, npar and df
//! included, at the tolerances of `tests/common/lavaan.rs`.

mod common;

use common::lavaan::{cases, differences, fit_case};

const DIR: &str = "tests/fixtures/constraints";

fn run(case: &str) -> Vec<String> {
    let (got, exp) = match fit_case(DIR, case) {
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let mut bad = differences(case, &got, &exp);
    for k in ["npar", "df", "chisq", "cfi", "rmsea", "srmr", "aic", "bic"] {
        if exp["fit"].get(k).is_some() && got["fit"].get(k).is_none() {
            bad.push(format!("{case}: fit {k} missing"));
        }
    }
    bad
}

#[test]
fn constraint_fixtures_match_lavaan() {
    let cases = cases(DIR);
    assert!(cases.len() >= 11, "fixtures missing: {cases:?}");
    let bad: Vec<String> = cases.iter().flat_map(|c| run(c)).collect();
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}
