//! Modification indices and residuals under FIML (`--missing fiml`)
//! against lavaan 0.6-14 (`tests/fixtures/fiml_diagnostics`, made by its
//! `make_fiml_diagnostics.R`): every modification index (mi, epc,
//! sepc.all) from the expected information under the missing-data
//! patterns, and the raw and correlation residuals against the EM estimates
//! of the saturated model; the standardized residuals are null (with a
//! warning) until the missing-data h1 covariance is in.

use serde_json::Value;
use std::path::Path;

const DIR: &str = "tests/fixtures/fiml_diagnostics";

fn fit() -> Value {
    let d = Path::new(DIR);
    let opt = sem::pipeline::FitOptions {
        fiml: true,
        meanstructure: true,
        modindices: true,
        residuals: true,
        ..Default::default()
    };
    let r = sem::pipeline::fit(&d.join("model.lav"), &d.join("data.csv"), &opt).unwrap();
    serde_json::to_value(&r).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-3f64.max(1e-3 * b.abs())
}

#[test]
fn fiml_modindices_and_residuals_match_lavaan() {
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("expected.json")).unwrap()).unwrap();
    let got = fit();
    let mis = got["modindices"].as_array().expect("modification indices under FIML");
    let mut bad = vec![];
    for m in exp["modindices"].as_array().unwrap() {
        let same = |g: &&Value| g["lhs"] == m["lhs"] && g["op"] == m["op"] && g["rhs"] == m["rhs"];
        let Some(g) = mis.iter().find(same) else {
            bad.push(format!("missing {m}"));
            continue;
        };
        for (f, ours) in [("mi", "mi"), ("epc", "epc"), ("sepc_all", "sepc_all")] {
            let (a, b) = (g[ours].as_f64().unwrap_or(f64::NAN), m[f].as_f64().unwrap_or(f64::NAN));
            if !close(a, b) {
                bad.push(format!("{} {} {} {f}: {a} vs lavaan {b}", m["lhs"], m["op"], m["rhs"]));
            }
        }
    }
    let r = &got["residuals"][0];
    assert_eq!(r["names"], exp["names"]);
    for (ours, theirs) in [("raw", "resid_cov"), ("cor", "resid_cor")] {
        for (i, row) in exp[theirs].as_array().unwrap().iter().enumerate() {
            for (j, v) in row.as_array().unwrap().iter().enumerate() {
                let (a, b) = (r[ours][i][j].as_f64().unwrap(), v.as_f64().unwrap());
                if (a - b).abs() > 1e-5 {
                    bad.push(format!("{ours}[{i}][{j}]: {a} vs lavaan {b}"));
                }
            }
        }
    }
    for (i, v) in exp["resid_mean"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (r["mean_raw"][i].as_f64().unwrap(), v.as_f64().unwrap());
        if (a - b).abs() > 1e-5 {
            bad.push(format!("mean[{i}]: {a} vs lavaan {b}"));
        }
    }
    assert!(bad.is_empty(), "{} differences:\n{}", bad.len(), bad.join("\n"));
    // standardized residuals: not computed under FIML, and said so
    assert!(r["standardized"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .all(Value::is_null));
    let w: Vec<&str> = got["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        w.iter().any(|w| w.contains("standardized residuals are not computed under FIML")),
        "{w:?}"
    );
}
