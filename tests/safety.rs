//! Regression tests of the adversarial review (issue 18) that are not about
//! `--output` (see `output_safety.rs`): numbers that must not be silently
//! wrong, names that lavaan refuses, inputs that must not hang or exhaust
//! memory, and messages that must say what they mean.

mod common;
use common::*;

const HS_DATA: &str = "data/HolzingerSwineford1939.csv";

fn json(o: &std::process::Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn param<'a>(r: &'a serde_json::Value, lhs: &str, op: &str) -> &'a serde_json::Value {
    r["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lhs"] == lhs && p["op"] == op)
        .unwrap_or_else(|| panic!("no row {lhs} {op}"))
}

#[test]
fn defined_parameters_are_scale_safe() {
    let d = scratch("defined-scale");
    let m = write(
        &d,
        "m.lav",
        "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ a*visual\nbig := 1e200*a\nsmall := 1e-170*a\nu := sqrt(a - a)\n",
    );
    let r = json(&sem(&["fit", &m, HS_DATA, "--format", "json"]));
    let a = param(&r, "textual", "~");
    let za = a["z"].as_f64().unwrap();
    for (name, k) in [("big", 1e200), ("small", 1e-170)] {
        let p = param(&r, name, ":=");
        let z = p["z"].as_f64().unwrap_or_else(|| panic!("{name}: no z"));
        assert!((z / za - 1.0).abs() < 1e-9, "{name}: z {z} vs {za}");
        let se = p["se"].as_f64().unwrap();
        assert!((se / (k * a["se"].as_f64().unwrap()) - 1.0).abs() < 1e-9, "{name}: se {se:e}");
        assert!(
            p["ci_upper"].as_f64().unwrap() > p["ci_lower"].as_f64().unwrap(),
            "{name}: a real interval"
        );
    }
    // an SE that cannot be computed: no z, p or interval, and the hypothesis is undetermined
    let u = param(&r, "u", ":=");
    for k in ["se", "z", "pvalue", "ci_lower", "ci_upper"] {
        assert!(u[k].is_null(), "u: {k} = {}", u[k]);
    }
    let h = r["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == "u").unwrap();
    assert_eq!(h["decision"], "undetermined");
    assert_eq!(h["supported"], false);
    let big = r["hypotheses"].as_array().unwrap().iter().find(|h| h["name"] == "big").unwrap();
    assert_eq!(big["decision"], "supported");
    let text = stdout(&sem(&["fit", &m, HS_DATA]));
    let line = text.lines().find(|l| l.contains("u := ")).unwrap();
    assert!(line.ends_with("undetermined"), "{line}");
    // a huge estimate is printed in scientific notation, not 200 digits
    let line = text.lines().find(|l| l.contains("big := ")).unwrap();
    assert!(line.len() < 120 && line.contains("e199"), "{line}");
}

/// Display width of a line in terminal columns (CJK characters take two).
fn width(s: &str) -> usize {
    s.chars().map(|c| if ('\u{3000}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum()
}

#[test]
fn cjk_names_are_aligned_by_display_width() {
    let d = scratch("cjk");
    let hs = std::fs::read_to_string(HS_DATA).unwrap();
    let (head, rest) = hs.split_once('\n').unwrap();
    let head = head.replace("x1", "視覚1").replace("x2", "視覚2").replace("x3", "視覚3");
    let data = write(&d, "cjk.csv", format!("{head}\n{rest}"));
    let m = write(
        &d,
        "cjk.lav",
        "視覚 =~ 視覚1 + 視覚2 + 視覚3\ntextual =~ x4 + x5 + x6\ntextual ~ 仮説*視覚\nd := 2*仮説\n",
    );
    let o = sem(&["fit", &m, &data]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    // rows of one table end in the same terminal column, whatever the script of the name
    let rows = |a: &str, b: &str| {
        let la = text.lines().find(|l| l.trim_start().starts_with(a)).unwrap();
        let lb = text.lines().find(|l| l.trim_start().starts_with(b)).unwrap();
        assert_eq!(width(la), width(lb), "\n{la}\n{lb}");
    };
    rows("視覚2 ", "x5 ");
    rows(".視覚2", ".x5");
    rows("仮説 ", "d        d := ");
}
