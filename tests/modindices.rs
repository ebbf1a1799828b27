//! Modification indices against lavaan 0.6-14's `modindices(fit, sort. = TRUE)`
//! (values as lavaan prints them, to 3 decimals; tolerance 1.5e-3).

#![allow(clippy::approx_constant)] // 0.318 is a lavaan value, not 1/pi
use std::process::Command;

fn mis(model: &str, data: &str) -> Vec<serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args(["fit", model, data, "--modindices", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["modindices"].as_array().unwrap().clone()
}

fn check(got: &[serde_json::Value], want: &[(&str, &str, &str, f64, f64, f64)]) {
    for (k, (l, op, r, mi, epc, sepc_all)) in want.iter().enumerate() {
        let g = &got[k];
        assert_eq!(
            (g["lhs"].as_str().unwrap(), g["op"].as_str().unwrap(), g["rhs"].as_str().unwrap()),
            (*l, *op, *r),
            "row {k}"
        );
        for (key, w) in [("mi", mi), ("epc", epc), ("sepc_all", sepc_all)] {
            let v = g[key].as_f64().unwrap();
            assert!((v - w).abs() < 1.5e-3, "{l} {op} {r} {key}: {v} vs lavaan {w}");
        }
    }
}

#[test]
fn holzinger_swineford_cfa() {
    let got = mis("models/holzinger_swineford.lav", "data/HolzingerSwineford1939.csv");
    assert_eq!(got.len(), 54, "lavaan lists 54");
    check(
        &got,
        &[
            ("visual", "=~", "x9", 36.411, 0.577, 0.515),
            ("x7", "~~", "x8", 34.145, 0.536, 0.859),
            ("visual", "=~", "x7", 18.631, -0.422, -0.349),
            ("x8", "~~", "x9", 14.946, -0.423, -0.805),
            ("textual", "=~", "x3", 9.151, -0.272, -0.238),
            ("x2", "~~", "x7", 8.918, -0.183, -0.192),
            ("textual", "=~", "x1", 8.903, 0.350, 0.297),
        ],
    );
}

/// fixed.x covariates: their moments get zero weight, so freeing their
/// variances gives no index, and `x ~ y` candidates match lavaan.
#[test]
fn path_model_with_fixed_x() {
    let dir = std::env::temp_dir().join(format!("sem-mi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = dir.join("p.lav");
    std::fs::write(&m, "y1 ~ x1 + x2\ny5 ~ y1\n").unwrap();
    let got = mis(m.to_str().unwrap(), "data/PoliticalDemocracy.csv");
    assert_eq!(got.len(), 5);
    check(
        &got,
        &[
            ("y5", "~", "x1", 15.446, 1.179, 0.331),
            ("y5", "~", "x2", 15.008, 0.550, 0.318),
            ("y1", "~", "y5", 14.341, -1.563, -1.557),
            ("x2", "~", "y5", 0.883, 0.042, 0.072),
            ("x1", "~", "y5", 0.643, 0.018, 0.063),
        ],
    );
}
