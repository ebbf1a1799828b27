//! Ordinal data against lavaan 0.6-14 (`tests/fixtures/ordinal/*`, made by
//! `make_fixtures.sh` with `../shared/reference/lavaan_reference.R`): WLSMV,
//! ULSMV, WLS, DWLS and ULS on Holzinger-Swineford cut into 4 categories,
//! WLSMV with std.lv, the theta parameterization, mixed ordinal and
//! continuous indicators, missing values (listwise, pairwise), two groups (configural; equal thresholds and
//! loadings), binary items, and the Bradford model on simulated
//! 5-point items; MIMIC models and Bradford with observed covariates (lavaan's
//! conditional.x: `mimic_*`, `bradford_x1`). Every row of `parameterEstimates()` (thresholds `|` and
//! scale factors `~*~` too) is compared on est, se, z, pvalue, ci, std_lv
//! and std_all; every fit measure lavaan reports must be there and match;
//! R-square of the latent responses; nobs.
//!
//! Tolerances (as `../shared/reference/compare.py`): parameters within
//! 0.1% relative or 5e-4 absolute; fit measures within 0.1% or 1e-3; p-values
//! within 1e-3 absolute.

mod common;

use clap::Parser;
use common::lavaan::{cases, differences, fit_case};
use sem::cli::{Cli, Command};
use serde_json::Value;
use std::path::Path;

const DIR: &str = "tests/fixtures/ordinal";

fn run_case(case: &str) -> Vec<String> {
    let (got, exp) = match fit_case(DIR, case) {
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let mut bad = differences(case, &got, &exp);
    let fit = got["fit"].as_object().unwrap();
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
    bad
}

#[test]
fn ordinal_fits_match_lavaan() {
    let cases = cases(DIR);
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

/// `std_all_se` against lavaan's `standardizedSolution()` `se` on every
/// ordinal fixture (`make_std_all_se.R`): loadings, thresholds, (latent
/// response) variances, scale factors, within 1e-3 relative or 1e-4.
#[test]
fn ordinal_std_all_se_matches_standardized_solution() {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("std_all_se.json")).unwrap()).unwrap();
    let (mut compared, mut bad) = (0, Vec::new());
    for (case, rows) in all.as_object().unwrap() {
        let (got, _) = fit_case(DIR, case).unwrap();
        let params = got["parameters"].as_array().unwrap();
        for w in rows.as_array().unwrap() {
            let (lhs, op, rhs) = (w["lhs"].as_str().unwrap(), w["op"].as_str().unwrap(), w["rhs"].as_str().unwrap());
            let g = w["group"].as_u64().unwrap();
            let Some(want) = w["se"].as_f64() else { continue };
            let p = params
                .iter()
                .find(|p| {
                    p["op"] == op
                        && p["group"].as_u64().unwrap_or(1).max(1) == g
                        && ((p["lhs"] == lhs && p["rhs"] == rhs) || (op == "~~" && p["lhs"] == rhs && p["rhs"] == lhs))
                })
                .unwrap_or_else(|| panic!("{case}: no row {lhs} {op} {rhs} group {g}"));
            let ours = p["std_all_se"].as_f64();
            if !ours.is_some_and(|a| (a - want).abs() <= 1e-4f64.max(1e-3 * want.abs())) {
                bad.push(format!(
                    "{case}: std_all_se of {lhs} {op} {rhs} (group {g}): ours {ours:?}, lavaan {want}"
                ));
            }
            compared += 1;
        }
    }
    assert!(bad.is_empty(), "{} of {compared} rows differ:\n{}", bad.len(), bad.join("\n"));
    assert!(compared > 1000, "{compared} rows");
}

/// Our report of fixture `case` with extra flags.
fn fit_with(case: &str, extra: &[&str]) -> Value {
    let d = Path::new(DIR).join(case);
    let args = std::fs::read_to_string(d.join("args")).unwrap();
    let mut argv: Vec<String> = vec![
        "sem".into(),
        "fit".into(),
        d.join("model.lav").display().to_string(),
        d.join("data.csv").display().to_string(),
    ];
    argv.extend(args.split_whitespace().map(String::from));
    argv.extend(extra.iter().map(|s| s.to_string()));
    let Command::Fit(a) = Cli::try_parse_from(&argv).unwrap().command else {
        unreachable!()
    };
    serde_json::to_value(sem::pipeline::fit(&a.model, &a.data, &a.options().unwrap()).unwrap()).unwrap()
}

/// `--residuals` against lavaan's `residuals(fit, "raw")` and
/// `residuals(fit, "cor")` (cov, mean, th; `make_diagnostics.R`), 5e-4
/// absolute (as the estimates); standardized residuals are null (lavaan has none for
/// categorical data).
#[test]
fn ordinal_residuals_match_lavaan() {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("diagnostics.json")).unwrap()).unwrap();
    let mut bad = Vec::new();
    let near = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 5e-4;
    for (case, exp) in all.as_object().unwrap() {
        let got = fit_with(case, &["--residuals"]);
        let res = got["residuals"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: no residuals: {}", got["warnings"]));
        for (kind, ours) in [("raw", "raw"), ("cor", "cor")] {
            for (g, e) in exp[kind].as_array().unwrap().iter().enumerate() {
                let r = &res[g];
                for (i, row) in e["cov"].as_array().unwrap().iter().enumerate() {
                    for (j, v) in row.as_array().unwrap().iter().enumerate() {
                        if !near(&r[ours][i][j], v) {
                            bad.push(format!("{case} group {g} {kind} [{i},{j}]: {} vs lavaan {v}", r[ours][i][j]));
                        }
                    }
                }
                for (k, v) in e["th"].as_array().unwrap().iter().enumerate() {
                    if !near(&r["th_raw"][k], v) || r["th_names"][k] != e["th_names"][k] {
                        bad.push(format!(
                            "{case} group {g} th {k}: {} {} vs lavaan {} {v}",
                            r["th_names"][k], r["th_raw"][k], e["th_names"][k]
                        ));
                    }
                }
                for (k, v) in e["mean"].as_array().unwrap().iter().enumerate() {
                    if !near(&r["mean_raw"][k], v) {
                        bad.push(format!("{case} group {g} mean {k}: {} vs lavaan {v}", r["mean_raw"][k]));
                    }
                }
                assert!(r["standardized"][0][1].is_null());
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `--modindices` against lavaan's `modindices()` (`make_diagnostics.R`):
/// the same rows, mi, epc, sepc.lv and sepc.all within 1e-3 relative or
/// 1e-3 absolute.
#[test]
fn ordinal_modindices_match_lavaan() {
    modindices_match("diagnostics.json");
}

/// The same with observed covariates (lavaan's conditional.x,
/// `make_diagnostics_x.R`): no candidate makes a covariate dependent.
#[test]
fn ordinal_modindices_with_covariates_match_lavaan() {
    modindices_match("diagnostics_x.json");
}

fn modindices_match(file: &str) {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join(file)).unwrap()).unwrap();
    let mut bad = Vec::new();
    for (case, exp) in all.as_object().unwrap() {
        let got = fit_with(case, &["--modindices"]);
        let mis = got["modindices"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: no modindices: {}", got["warnings"]));
        let want: Vec<&Value> = exp["modindices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["mi"].as_f64().is_some())
            .collect();
        if mis.len() != want.len() {
            bad.push(format!("{case}: {} modification indices vs lavaan {}", mis.len(), want.len()));
        }
        for w in want {
            let same = |m: &&Value| {
                m["op"] == w["op"]
                    && m["group"] == w["group"]
                    && ((m["lhs"] == w["lhs"] && m["rhs"] == w["rhs"]) || (w["op"] == "~~" && m["lhs"] == w["rhs"] && m["rhs"] == w["lhs"]))
            };
            let Some(m) = mis.iter().find(same) else {
                bad.push(format!("{case}: no row {} {} {} group {}", w["lhs"], w["op"], w["rhs"], w["group"]));
                continue;
            };
            for k in ["mi", "epc", "sepc_lv", "sepc_all"] {
                let (a, b) = (m[k].as_f64(), w[k].as_f64());
                let ok = match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 0.001f64.max(0.001 * b.abs()),
                    (None, None) => true,
                    _ => false,
                };
                if !ok {
                    bad.push(format!(
                        "{case}: {} {} {} group {} {k}: {} vs lavaan {}",
                        w["lhs"], w["op"], w["rhs"], w["group"], m[k], w[k]
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
}

/// With observed covariates `--residuals` is left out with a warning that
/// says why (lavaan's residuals of thresholds, slopes and correlations are
/// not reported yet); the fit itself is unchanged.
#[test]
fn residuals_with_covariates_are_left_out_with_a_reason() {
    let got = fit_with("mimic_x2", &["--residuals"]);
    assert!(got.get("residuals").is_none_or(Value::is_null), "{}", got["residuals"]);
    let warnings = got["warnings"].to_string();
    assert!(
        warnings.contains("--residuals are not available yet") && warnings.contains("conditional.x"),
        "{warnings}"
    );
    let (plain, _) = fit_case(DIR, "mimic_x2").unwrap();
    assert_eq!(got["fit"]["chisq"], plain["fit"]["chisq"]);
}
