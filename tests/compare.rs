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

fn sem_out(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sem")).args(args).output().unwrap()
}

fn read_csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h: Vec<String> = r.headers().unwrap().iter().map(|s| s.to_string()).collect();
    r.records()
        .map(|rec| h.iter().cloned().zip(rec.unwrap().iter().map(|s| s.to_string())).collect())
        .collect()
}

const HS: [&str; 2] = ["models/holzinger_swineford.lav", "data/HolzingerSwineford1939.csv"];

/// `invariance --modindices`: each step's modification indices, the scalar
/// step's against lavaan's `modindices()` (tests/fixtures/reports/make_invariance_mi.R).
#[test]
fn invariance_modindices_match_lavaan() {
    let v = sem_json(&["invariance", HS[0], HS[1], "--group", "school", "--modindices"]);
    let mis = v["modindices"].as_array().unwrap();
    let steps: Vec<&str> = mis.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["configural", "metric", "scalar", "strict"]);
    let scalar = mis[2]["modindices"].as_array().unwrap();
    let lavaan = read_csv(&std::fs::read_to_string("tests/fixtures/reports/invariance_scalar_mi.csv").unwrap());
    assert_eq!(scalar.len(), lavaan.len(), "as many modification indices as lavaan");
    for row in &lavaan {
        let m = scalar
            .iter()
            .find(|m| {
                m["lhs"] == row["lhs"].as_str()
                    && m["op"] == row["op"].as_str()
                    && m["rhs"] == row["rhs"].as_str()
                    && m["group"].as_u64().map(|g| g.to_string()).as_deref() == Some(row["group"].as_str())
            })
            .unwrap_or_else(|| panic!("{row:?} missing"));
        let mi: f64 = row["mi"].parse().unwrap();
        let epc: f64 = row["epc"].parse().unwrap();
        assert!((m["mi"].as_f64().unwrap() - mi).abs() <= 1e-3 * mi.abs().max(1.0), "{row:?}: {m}");
        assert!(
            (m["epc"].as_f64().unwrap() - epc).abs() <= 1e-3 * epc.abs().max(0.1),
            "{row:?}: {m}"
        );
    }
    assert_eq!(scalar[0]["lhs"], "visual", "largest first");
    // text and markdown show the largest of each step
    let t = String::from_utf8(sem_out(&["invariance", HS[0], HS[1], "--group", "school", "--modindices"]).stdout).unwrap();
    assert!(t.contains("Modification indices, scalar model (largest 10 of 114)"), "{t}");
    assert!(t.contains("19.548"), "{t}");
    let md = String::from_utf8(
        sem_out(&[
            "invariance",
            HS[0],
            HS[1],
            "--group",
            "school",
            "--modindices",
            "--format",
            "markdown",
        ])
        .stdout,
    )
    .unwrap();
    assert!(md.contains("### Modification indices, scalar model"), "{md}");
    // refused where it cannot be honoured
    let o = sem_out(&["invariance", HS[0], HS[1], "--group", "school", "--modindices", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--modindices"));
    let o = sem_out(&["compare", HS[0], ORTHOGONAL, HS[1], "--modindices"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sem fit MODEL DATA --modindices"));
}

/// With MLR every step has its scaled test and robust indices, labelled as
/// such in every format (lavaan's fitMeasures(), make_invariance_mi.R).
#[test]
fn invariance_scaled_columns_are_labelled_in_every_format() {
    let lavaan = read_csv(&std::fs::read_to_string("tests/fixtures/reports/invariance_mlr_steps.csv").unwrap());
    let args = ["invariance", HS[0], HS[1], "--group", "school", "--estimator", "mlr"];
    let v = sem_json(&args);
    for (i, row) in lavaan.iter().enumerate() {
        assert_eq!(v["steps"][i]["step"], row["step"].as_str());
        for (ours, theirs) in [
            ("chisq_scaled", "chisq.scaled"),
            ("chisq_scaling_factor", "chisq.scaling.factor"),
            ("cfi_robust", "cfi.robust"),
            ("tli_robust", "tli.robust"),
            ("rmsea_robust", "rmsea.robust"),
        ] {
            close(&v["steps"][i][ours], row[theirs].parse().unwrap(), 1e-4);
        }
    }
    let run = |fmt: &str| {
        let mut a = args.to_vec();
        a.extend(["--format", fmt]);
        let o = sem_out(&a);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let t = run("text");
    assert!(
        t.contains("Standard test:") && t.contains("Scaled test (Yuan-Bentler correction (Mplus variant)) and robust indices:"),
        "{t}"
    );
    let configural = t.lines().filter(|l| l.trim_start().starts_with("configural")).nth(1).unwrap();
    assert!(
        configural.contains("121.741") && configural.contains("0.952") && configural.contains("0.921"),
        "{configural}"
    );
    assert!(t.contains("scaled (Satorra-Bentler 2001)"), "{t}");
    let md = run("markdown");
    assert!(
        md.contains("### Standard test") && md.contains("| step | chisq (scaled) | df | p (scaled) |"),
        "{md}"
    );
    assert!(md.contains("| configural | 121.741 | 48 |"), "{md}");
    assert!(
        md.contains("| metric vs configural |") && md.contains("scaled (Satorra-Bentler 2001) |"),
        "{md}"
    );
    let csv = read_csv(&run("csv"));
    assert_eq!(csv.len(), 4);
    assert_eq!(csv[0]["name"], "configural");
    assert_eq!(csv[0]["tested_against"], "");
    assert_eq!(csv[1]["tested_against"], "configural");
    assert_eq!(csv[1]["diff_method"], "satorra.bentler.2001");
    let x: f64 = csv[0]["chisq_scaled"].parse().unwrap();
    assert!((x - 121.740693933875).abs() < 1e-3, "{x}");
}

#[test]
fn compare_markdown_and_csv_are_their_own_formats() {
    let o = sem_out(&["compare", HS[0], ORTHOGONAL, HS[1], "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("## Chi-square difference test"), "{md}");
    assert!(md.contains("| model | npar | chisq |") && md.contains("| 68.222 | 3 |"), "{md}");
    assert!(!md.contains("Scaled"), "no scaled table with ML: {md}");
    let csv =
        read_csv(&String::from_utf8(sem_out(&["compare", HS[0], ORTHOGONAL, HS[1], "--format", "csv", "--digits", "3"]).stdout).unwrap());
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1]["chisq_diff"], "68.222");
    assert_eq!(csv[1]["diff_method"], "standard");
    assert_eq!(csv[1]["rmsea_diff"], "0.269");
    assert_eq!(csv[0]["chisq_diff"], "");
}
