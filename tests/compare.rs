//! `sem compare` and `sem invariance` against lavaan's `lavTestLRT()`
//! (lavaan 0.6-14; values printed by R with 12 digits, tolerance 1e-6
//! relative on the statistics, 1e-9 absolute on p-values).

use std::process::Command;

/// The HS CFA with uncorrelated factors (a lavaan fixture): nested in the CFA.
const ORTHOGONAL: &str = "tests/fixtures/fit/hs_orthogonal/model.lav";

fn sem_json(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(args)
        .arg("--format")
        .arg("json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn close(a: &serde_json::Value, b: f64, tol: f64) {
    let a = a.as_f64().unwrap_or(f64::NAN);
    assert!(
        (a - b).abs() <= tol * b.abs().max(1e-300) || (a - b).abs() < 1e-9,
        "{a} vs lavaan {b}"
    );
}

#[test]
fn nested_models_lr_test() {
    let v = sem_json(&[
        "compare",
        "models/holzinger_swineford.lav",
        ORTHOGONAL,
        "data/HolzingerSwineford1939.csv",
    ]);
    let t = &v["test"];
    close(&t["chisq_diff"], 68.2215761732, 1e-6);
    close(&t["df_diff"], 3.0, 0.0);
    close(&t["pvalue"], 1.02566475608e-14, 1e-3);
    close(&t["rmsea"], 0.268752040191, 1e-6);
    close(&v["models"][1]["aic"], 7579.71142943, 1e-8);
    close(&v["models"][1]["bic"], 7646.43941419, 1e-8);
}

#[test]
fn invariance_sequence() {
    let v = sem_json(&[
        "invariance",
        "models/holzinger_swineford.lav",
        "data/HolzingerSwineford1939.csv",
        "--group",
        "school",
    ]);
    let steps: Vec<&str> = v["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["configural", "metric", "scalar", "strict"]);
    for (i, (chisq, df, aic)) in [
        (115.851343876, 48.0, 7484.39502415),
        (124.043544180, 54.0, 7480.58722445),
        (164.102830925, 60.0, 7508.64651120),
        (181.511345230, 69.0, 7508.05502550),
    ]
    .iter()
    .enumerate()
    {
        close(&v["steps"][i]["chisq"], *chisq, 1e-6);
        close(&v["steps"][i]["df"], *df, 0.0);
        close(&v["steps"][i]["aic"], *aic, 1e-8);
    }
    for (i, (d, p, r)) in [
        (8.19220030443, 2.24357746848e-01, 0.0492715519335),
        (40.05928674519, 4.43456618042e-07, 0.1942110334680),
        (17.40851430509, 4.26900108648e-02, 0.0787898237536),
    ]
    .iter()
    .enumerate()
    {
        close(&v["tests"][i]["chisq_diff"], *d, 1e-6);
        close(&v["tests"][i]["pvalue"], *p, 1e-4);
        close(&v["tests"][i]["rmsea"], *r, 1e-5);
    }
    assert_eq!(v["groups"], serde_json::json!(["Pasteur", "Grant-White"]));
}

#[test]
fn invariance_needs_a_group() {
    let o = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(["invariance", "models/holzinger_swineford.lav", "data/HolzingerSwineford1939.csv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--group"));
}

/// Robust estimators: the Satorra-Bentler (2001) scaled difference, as
/// lavTestLRT(method = "satorra.bentler.2001"), lavaan's default for MLM/MLR.
#[test]
fn scaled_difference_for_robust_estimators() {
    let v = sem_json(&[
        "compare",
        "models/holzinger_swineford.lav",
        ORTHOGONAL,
        "data/HolzingerSwineford1939.csv",
        "--estimator",
        "mlr",
    ]);
    assert_eq!(v["test"]["method"], "satorra.bentler.2001");
    close(&v["test"]["chisq_diff"], 44.62495933, 1e-5);
    close(&v["test"]["pvalue"], 1.111645798e-09, 1e-3);
    let v = sem_json(&[
        "invariance",
        "models/holzinger_swineford.lav",
        "data/HolzingerSwineford1939.csv",
        "--group",
        "school",
        "--estimator",
        "mlm",
    ]);
    close(&v["tests"][0]["chisq_diff"], 7.135912012, 1e-5);
    close(&v["tests"][0]["pvalue"], 3.084609229e-01, 1e-4);
    close(&v["tests"][1]["chisq_diff"], 54.933983465, 1e-4);
}
