//! The row-by-row comparison of a parameter table with lavaan's `parTable()`
//! that the syntax fixture tests share (`tests/fixtures/syntax`,
//! `tests/fixtures/syntax_ordinal`): lhs, op, rhs, user, group, free,
//! ustart, exo, label and plabel, in lavaan's order.

use sem::model::partable::ParRow;
use serde_json::Value;

/// The row count and the first row where `got` differs from lavaan's
/// `want`, as messages naming the fixture.
pub fn row_differences(name: &str, want: &[Value], got: &[ParRow]) -> Vec<String> {
    let mut bad = vec![];
    if want.len() != got.len() {
        bad.push(format!("{name}: {} rows, lavaan has {}", got.len(), want.len()));
    }
    for (w, g) in want.iter().zip(got) {
        let ws = format!(
            "{} {} {} user={} group={} free={} ustart={:?} exo={} label={} plabel={}",
            w["lhs"].as_str().unwrap(),
            w["op"].as_str().unwrap(),
            w["rhs"].as_str().unwrap(),
            w["user"],
            w["group"],
            w["free"],
            w["ustart"].as_f64(),
            w["exo"],
            w["label"].as_str().unwrap(),
            w["plabel"].as_str().unwrap()
        );
        let gs = format!(
            "{} {} {} user={} group={} free={} ustart={:?} exo={} label={} plabel={}",
            g.lhs, g.op, g.rhs, g.user, g.group, g.free, g.ustart, g.exo, g.label, g.plabel
        );
        if ws != gs {
            bad.push(format!("{name}: row {}\n   lavaan {ws}\n   sem    {gs}", w["id"]));
            break;
        }
    }
    bad
}
