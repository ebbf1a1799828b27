//! `--residuals` against lavaan 0.6-14's `residuals(fit, type = "cor")` and
//! `residuals(fit, type = "standardized")` on the HS CFA (6 decimals as R
//! printed them; tolerance 2e-6 on correlations, 1e-4 on z-values).

use std::process::Command;

#[test]
fn correlation_and_standardized_residuals() {
    let o = Command::new(env!("CARGO_BIN_EXE_sem"))
        .args([
            "fit",
            "models/holzinger_swineford.lav",
            "data/HolzingerSwineford1939.csv",
            "--residuals",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let g = &v["residuals"][0];
    let cor = [
        [0.0, -0.029624, -0.007897, 0.071319],
        [-0.029624, 0.0, 0.093681, -0.012468],
        [-0.007897, 0.093681, 0.0, -0.068268],
    ];
    let std = [
        [0.0, -1.996059, -0.996917, 2.679217],
        [-1.996059, 0.000001, 2.688983, -0.284151],
        [-0.996917, 2.688983, 0.0, -1.899358],
    ];
    for i in 0..3 {
        for j in 0..4 {
            let c = g["cor"][i][j].as_f64().unwrap();
            assert!((c - cor[i][j]).abs() < 2e-6, "cor[{i}][{j}] {c} vs {}", cor[i][j]);
            if i != j {
                let s = g["standardized"][i][j].as_f64().unwrap();
                assert!((s - std[i][j]).abs() < 1e-4, "std[{i}][{j}] {s} vs {}", std[i][j]);
            }
        }
    }
}
