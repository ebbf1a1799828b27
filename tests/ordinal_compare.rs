//! `sem compare` and `sem invariance` with ordinal variables against lavaan
//! 0.6-14 (`tests/fixtures/ordinal_compare`, made by its `make_fixtures.R`):
//! each model's or step's fit measures and `lavTestLRT()`'s difference test
//! (for WLSMV and ULSMV the scaled-shifted Satorra 2000 test, lavaan's
//! default there; for DWLS the standard difference), within 1e-3 relative
//! (1e-3 absolute for p-values and for values near 0).

use clap::Parser;
use sem::cli::{Cli, Command};
use serde_json::Value;
use std::path::Path;

const DIR: &str = "tests/fixtures/ordinal_compare";

fn close(a: Option<f64>, b: Option<f64>, rel: f64, abs: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= abs.max(rel * b.abs()),
        (None, None) => true,
        _ => false,
    }
}

/// Our comparison report of a fixture folder, as JSON, and lavaan's answer.
fn run(case: &str) -> (Value, Value) {
    let d = Path::new(DIR).join(case);
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(d.join("expected.json")).unwrap()).unwrap();
    let args = std::fs::read_to_string(d.join("args")).unwrap();
    let p = |f: &str| d.join(f).display().to_string();
    let mut argv: Vec<String> = match exp["kind"].as_str().unwrap() {
        "compare" => vec!["sem".into(), "compare".into(), p("a.lav"), p("b.lav"), p("data.csv")],
        _ => vec!["sem".into(), "invariance".into(), p("model.lav"), p("data.csv")],
    };
    argv.extend(args.split_whitespace().map(String::from));
    let got = match Cli::try_parse_from(&argv).unwrap().command {
        Command::Compare(a) => {
            let r = sem::compare::compare(&a.model_a, &a.model_b, &a.data, &a.flags.options().unwrap()).unwrap();
            serde_json::to_value(r).unwrap()
        }
        Command::Invariance(a) => {
            let r = sem::compare::invariance(&a.model, &a.data, &a.flags.options().unwrap()).unwrap();
            serde_json::to_value(r).unwrap()
        }
        _ => unreachable!(),
    };
    (got, exp)
}

/// Every difference from lavaan in the model lines and the tests.
fn differences(case: &str) -> Vec<String> {
    let (got, exp) = run(case);
    let mut bad = vec![];
    let (gl, el) = match exp["kind"].as_str().unwrap() {
        "compare" => (&got["models"], &exp["models"]),
        _ => (&got["steps"], &exp["steps"]),
    };
    let (gl, el) = (gl.as_array().unwrap(), el.as_array().unwrap());
    assert_eq!(gl.len(), el.len(), "{case}: number of models");
    for (i, (g, e)) in gl.iter().zip(el).enumerate() {
        for (k, v) in e.as_object().unwrap() {
            let abs = if k.starts_with("pvalue") { 1e-3 } else { 1e-6 };
            if !close(g[k].as_f64(), v.as_f64(), 1e-3, abs) {
                bad.push(format!("{case}: model {i} {k} {} vs lavaan {v}", g[k]));
            }
        }
    }
    let gt: Vec<&Value> = match got.get("tests") {
        Some(t) => t.as_array().unwrap().iter().collect(),
        None => vec![&got["test"]],
    };
    let et: Vec<&Value> = match exp.get("tests") {
        Some(t) => t.as_array().unwrap().iter().collect(),
        None => vec![&exp["test"]],
    };
    assert_eq!(gt.len(), et.len(), "{case}: number of tests");
    for (i, (g, e)) in gt.iter().zip(et).enumerate() {
        if g["method"] != e["method"] {
            bad.push(format!("{case}: test {i} method {} vs lavaan {}", g["method"], e["method"]));
        }
        for (k, abs) in [("chisq_diff", 1e-6), ("df_diff", 0.0), ("pvalue", 1e-3)] {
            if !close(g[k].as_f64(), e[k].as_f64(), 1e-3, abs) {
                bad.push(format!("{case}: test {i} {k} {} vs lavaan {}", g[k], e[k]));
            }
        }
    }
    bad
}

#[test]
fn ordinal_compare_and_invariance_match_lavaan() {
    let mut cases: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "fixtures: {cases:?}");
    let bad: Vec<String> = cases.iter().flat_map(|c| differences(c)).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn invariance_with_ordinal_items_constrains_thresholds_with_loadings() {
    let (got, _) = run("inv_hs4");
    let steps: Vec<&str> = got["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["configural", "metric", "scalar", "strict"]);
    // the delta parameterization: intercepts and residuals add nothing, and the report says so
    let w = got["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w.as_str().unwrap().contains("scalar step constrains nothing")),
        "{w:?}"
    );
    assert_eq!(got["tests"][0]["method"], "satorra.2000");
    assert!(got["tests"][0]["shift"].as_f64().is_some());
}
