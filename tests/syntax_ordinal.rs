//! Parameter tables of models with ordinal variables against lavaan 0.6-14:
//! each fixture in `tests/fixtures/syntax_ordinal` (made by `make.R` there:
//! `parTable(sem(model, data, ordered = ..., do.fit = FALSE))`) is built with
//! the same options and compared row by row (lhs, op, rhs, user, group,
//! free, ustart, exo, label, plabel, in lavaan's order), and on npar and
//! ndat: thresholds `|`, scale factors `~*~`, and lavaan's categorical
//! defaults (delta and theta, several groups with equal thresholds).

mod common;

use sem::model::partable::Parameterization;
use sem::model::{Model, TableOptions};
use serde_json::Value;
use std::path::Path;

const DIR: &str = "tests/fixtures/syntax_ordinal";

fn build(fx: &Value) -> Result<Model, String> {
    let src = fx["model"].as_str().unwrap();
    let syn = sem::syntax::parse(src).map_err(|d| d.render("model", src))?;
    let o = &fx["options"];
    let opt = TableOptions {
        std_lv: o["std_lv"].as_bool().unwrap(),
        ngroups: o["ngroups"].as_u64().unwrap() as usize,
        group_equal: match &o["group_equal"] {
            Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
            v => vec![v.as_str().unwrap().to_string()],
        },
        ordered: o["ordered"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
            .collect(),
        parameterization: match o["parameterization"].as_str().unwrap() {
            "theta" => Parameterization::Theta,
            _ => Parameterization::Delta,
        },
        ..TableOptions::sem()
    };
    Model::new(&syn, &opt).map_err(|e| format!("{e:?}"))
}

fn compare(name: &str, fx: &Value) -> Vec<String> {
    let mut bad = vec![];
    let m = match build(fx) {
        Ok(m) => m,
        Err(e) => return vec![format!("{name}: rejected: {e}")],
    };
    let want = fx["rows"].as_array().unwrap();
    bad.extend(common::partable::row_differences(name, want, &m.pt.rows));
    // lavaan's npar counts free rows; each implied `==` row ties two of them
    let ties = want.iter().filter(|w| w["op"] == "==" && w["user"] == 2).count() as u64;
    if m.npar() as u64 != fx["npar"].as_u64().unwrap() - ties {
        bad.push(format!("{name}: npar {} vs lavaan {} - {ties} equalities", m.npar(), fx["npar"]));
    }
    if m.ndat() as u64 != fx["ndat"].as_u64().unwrap() {
        bad.push(format!("{name}: ndat {} vs lavaan {}", m.ndat(), fx["ndat"]));
    }
    bad
}

#[test]
fn ordinal_parameter_tables_match_lavaan() {
    let mut files: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "only {} fixtures found", files.len());
    let mut bad = vec![];
    for f in &files {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join(f)).unwrap()).unwrap();
        bad.extend(compare(f, &fx));
    }
    assert!(
        bad.is_empty(),
        "{} of {} tables differ from lavaan:\n{}",
        bad.len(),
        files.len(),
        bad.join("\n")
    );
}

fn parse_build(src: &str, ordered: &[(&str, usize)]) -> Result<Model, String> {
    let syn = sem::syntax::parse(src).map_err(|d| d.render("model", src))?;
    let opt = TableOptions {
        ordered: ordered.iter().map(|(v, k)| (v.to_string(), *k)).collect(),
        ..TableOptions::sem()
    };
    Model::new(&syn, &opt).map_err(|e| format!("{e:?}"))
}

#[test]
fn threshold_syntax_errors_name_the_problem() {
    let e = parse_build("f =~ x1 + x2 + x3\nx1 | a1", &[("x1", 2)]).unwrap_err();
    assert!(e.contains("`a1` is not a threshold name"), "{e}");
    let e = parse_build("f =~ x1 + x2 + x3\nx1 | t0", &[("x1", 2)]).unwrap_err();
    assert!(e.contains("`t0` is not a threshold name"), "{e}");
    let e = parse_build("f =~ x1 + x2 + x3\nx1 | t3", &[("x1", 2)]).unwrap_err();
    assert!(e.contains("there is no t3"), "{e}");
    let e = parse_build("f =~ x1 + x2 + x3\nf | t1", &[("x1", 2)]).unwrap_err();
    assert!(e.contains("`f` is a latent variable"), "{e}");
    let e = parse_build("f =~ x1 + x2 + x3\nx1 ~*~ x2", &[("x1", 2)]).unwrap_err();
    assert!(e.contains("x1 ~*~ x1"), "{e}");
}

#[test]
fn threshold_rows_make_a_variable_ordinal() {
    // `x1 | t1` without --ordered: x1 is ordinal (lavaan's ov.ord), with the
    // thresholds written; its intercept fixed at 0, its residual variance at 1
    let m = parse_build("f =~ x1 + x2 + x3\nx1 | t1", &[]).unwrap();
    assert_eq!(m.pt.names.ov_ord, vec!["x1".to_string()]);
    let row = |op: &str, l: &str, r: &str| m.pt.rows.iter().find(|x| x.op == op && x.lhs == l && x.rhs == r).unwrap().clone();
    assert!(row("|", "x1", "t1").free > 0);
    assert_eq!(row("~1", "x1", "").ustart, Some(0.0));
    assert_eq!(row("~~", "x1", "x1").ustart, Some(1.0));
    assert_eq!(row("~*~", "x1", "x1").ustart, Some(1.0));
    assert!(row("~1", "x2", "").free > 0);
}
