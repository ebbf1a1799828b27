//! lavaan 0.6-14's three-stage sample statistics for ordinal data
//! (thresholds, polychoric / polyserial / Pearson correlations, NACOV and
//! the WLS-family weights), reproduced by `sem::ordinal` on the fixtures
//! written by tests/fixtures/ordinal_stats/make.R.
//!
//! Tolerances: thresholds, means, variances and Pearson correlations are
//! closed forms (1e-12). lavaan finds each polychoric / polyserial
//! correlation with `nlminb` (default rel.tol 1e-10) while we solve the score
//! equation to machine precision, so correlations and everything computed
//! from them are compared at 1e-6 (relative to max(1, |value|)), which is
//! what lavaan's own optimizer precision allows.

use nalgebra::DMatrix;
use sem::ordinal::{ordinal_stats, OrdMissing, WeightKind};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ordinal_stats")
}

fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(dir().join(format!("{name}.csv"))).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    let mut cols = vec![Vec::new(); names.len()];
    for l in lines.filter(|l| !l.is_empty()) {
        for (j, v) in l.split(',').enumerate() {
            cols[j].push(if v == "NA" { f64::NAN } else { v.parse().unwrap() });
        }
    }
    (names, cols)
}

fn vec_of(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        x => vec![x.as_f64().unwrap()],
    }
}

fn mat_of(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(vec_of).collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn close(what: &str, ours: &[f64], theirs: &[f64], tol: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}[{k}]: ours {a}, lavaan {b} (tolerance {tol})"
        );
    }
}

fn check(case: &str) {
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{case}.json"))).unwrap()).unwrap();
    let (names, cols) = read_csv(case);
    let ov: Vec<String> = fx["ov"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ordered_names: Vec<String> = match &fx["ordered"] {
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        v => vec![v.as_str().unwrap().to_string()],
    };
    let cols: Vec<Vec<f64>> = ov
        .iter()
        .map(|v| cols[names.iter().position(|n| n == v).unwrap()].clone())
        .collect();
    let ordered: Vec<bool> = ov.iter().map(|v| ordered_names.contains(v)).collect();
    let missing = match fx["missing"].as_str() {
        Some("pairwise") => OrdMissing::Pairwise,
        _ => OrdMissing::Listwise,
    };
    let st = ordinal_stats(&cols, &ov, &ordered, missing).unwrap();
    assert_eq!(st.nobs as f64, fx["nobs"].as_f64().unwrap());
    let th_idx: Vec<f64> = st.th_idx.iter().map(|&i| i as f64).collect();
    close("th.idx", &th_idx, &vec_of(&fx["th_idx"]), 0.0);
    // lavInspect(fit, "sampstat")$th lists the thresholds of the ordinal variables only
    let th: Vec<f64> = st.th.iter().zip(&st.th_idx).filter(|(_, &i)| i != 0).map(|(t, _)| *t).collect();
    close("th", &th, &vec_of(&fx["th"]), 1e-12);
    close("cov", st.cov.as_slice(), mat_of(&fx["cov"]).as_slice(), 1e-6);
    close("wls.obs", st.wls_obs.as_slice(), &vec_of(&fx["wls_obs"]), 1e-6);
    close("gamma", st.nacov.as_slice(), mat_of(&fx["gamma"]).as_slice(), 1e-6);
    let dw = st.weight(WeightKind::Dwls).unwrap();
    close("wls.v (DWLS)", dw.diagonal().as_slice(), &vec_of(&fx["wls_v_dwls"]), 1e-6);
    let w = st.weight(WeightKind::Wls).unwrap();
    let lw = mat_of(&fx["wls_v_wls"]);
    let scale = lw.amax();
    if scale < 1e8 {
        for (k, (a, b)) in w.iter().zip(lw.iter()).enumerate() {
            assert!((a - b).abs() <= 1e-6 * scale, "wls.v (WLS)[{k}]: ours {a}, lavaan {b}");
        }
    } else {
        // a (nearly) singular NACOV (condition number above 1e12): its
        // inverse is rounding noise in both programs; check the magnitude
        let ours = w.amax();
        assert!(
            ours.is_finite() && ours > 1e8,
            "wls.v (WLS) of a singular NACOV: max {ours}, lavaan {scale}"
        );
    }
    let u = st.weight(WeightKind::Uls).unwrap();
    assert_eq!(u, DMatrix::identity(st.wls_obs.len(), st.wls_obs.len()));
}

#[test]
fn hs_three_categories() {
    check("hs3");
}

#[test]
fn hs_five_sparse_categories() {
    check("hs5");
}

#[test]
fn binary_items() {
    check("binary");
}

#[test]
fn mixed_ordinal_and_continuous() {
    check("mixed");
}

#[test]
fn empty_cells_in_two_by_two_tables() {
    check("zerocell");
}

#[test]
fn missing_values_listwise() {
    check("hs3_na_listwise");
}

#[test]
fn missing_values_pairwise() {
    check("hs3_na_pairwise");
}

#[test]
fn missing_values_pairwise_mixed() {
    check("mixed_na_pairwise");
}

/// `pipeline::prepare` with `--ordered all` computes the same statistics
/// from the CSV (columns in the model's order, categories from the data).
#[test]
fn prepare_binds_the_ordinal_statistics() {
    let tmp = std::env::temp_dir().join(format!("sem-ordinal-prepare-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let model = tmp.join("m.lav");
    // the model lists the speed factor first: statistics follow the model's variable order
    std::fs::write(&model, "speed =~ x7 + x8 + x9\nvisual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n").unwrap();
    let opt = sem::pipeline::FitOptions {
        ordered: Some(sem::ordinal::columns::OrderedSpec::All),
        ..Default::default()
    };
    let prep = sem::pipeline::prepare(&model, &dir().join("hs3.csv"), &opt).unwrap();
    let st = &prep.ordinal.as_ref().unwrap()[0];
    let ov = &prep.model.pt.names.ov;
    assert_eq!(ov[0], "x7");
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("hs3.json")).unwrap()).unwrap();
    let lav_cov = mat_of(&fx["cov"]);
    let lav_ov: Vec<&str> = fx["ov"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let pos = |v: &str| lav_ov.iter().position(|x| *x == v).unwrap();
    for i in 0..ov.len() {
        for j in 0..ov.len() {
            let want = lav_cov[(pos(&ov[i]), pos(&ov[j]))];
            assert!((st.cov[(i, j)] - want).abs() < 1e-6, "cov {} {}", ov[i], ov[j]);
        }
    }
    assert_eq!(st.nobs, 301);
    assert_eq!(st.th.len(), 18);
    // thresholds of x7 first
    let lav_th = vec_of(&fx["th"]);
    assert!((st.th[0] - lav_th[12]).abs() < 1e-12);
    assert_eq!(prep.model.ndat(), 54);
}

/// `--missing pairwise` reaches the statistics through `prepare`.
#[test]
fn prepare_with_pairwise_deletion() {
    let tmp = std::env::temp_dir().join(format!("sem-ordinal-pairwise-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let model = tmp.join("m.lav");
    std::fs::write(&model, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n").unwrap();
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("hs3_na_pairwise.json")).unwrap()).unwrap();
    let opt = sem::pipeline::FitOptions {
        ordered: Some(sem::ordinal::columns::OrderedSpec::All),
        pairwise: true,
        ..Default::default()
    };
    let prep = sem::pipeline::prepare(&model, &dir().join("hs3_na_pairwise.csv"), &opt).unwrap();
    let st = &prep.ordinal.as_ref().unwrap()[0];
    assert_eq!(st.nobs as f64, fx["nobs"].as_f64().unwrap());
    close("gamma", st.nacov.as_slice(), mat_of(&fx["gamma"]).as_slice(), 1e-6);
    assert!(
        prep.warnings.iter().any(|w| w.contains("--missing pairwise")),
        "{:?}",
        prep.warnings
    );
    // listwise (the default) uses the complete rows only
    let opt = sem::pipeline::FitOptions { pairwise: false, ..opt };
    let prep = sem::pipeline::prepare(&model, &dir().join("hs3_na_pairwise.csv"), &opt).unwrap();
    let lw: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("hs3_na_listwise.json")).unwrap()).unwrap();
    assert_eq!(prep.ordinal.as_ref().unwrap()[0].nobs as f64, lw["nobs"].as_f64().unwrap());
}

#[test]
fn empty_cells_are_summarised_in_one_warning() {
    let (names, cols) = read_csv("hs5");
    let st = ordinal_stats(&cols, &names, &vec![true; names.len()], OrdMissing::Listwise).unwrap();
    let w: Vec<&String> = st.warnings.iter().filter(|w| w.contains("empty cells")).collect();
    assert_eq!(w.len(), 1, "{:?}", st.warnings);
    assert!(w[0].contains("x1 x x2") || w[0].contains(" x "), "{}", w[0]);
    let (names, cols) = read_csv("hs3");
    let st = ordinal_stats(&cols, &names, &vec![true; names.len()], OrdMissing::Listwise).unwrap();
    assert!(st.warnings.iter().all(|w| !w.contains("empty cells")), "{:?}", st.warnings);
}
