//! Hypotheses: which parameters a model states as hypotheses, which sign each
//! predicts, and whether a fit supports them. A labelled regression path
//! (`CRQ ~ H1a*EOIS`) or a defined parameter (`ind := a*b`) is a hypothesis,
//! named by its label; it predicts a positive effect unless the model file
//! says otherwise with a `# expect:` comment (`expect`). It is supported when
//! its estimate has the expected sign and its p-value is below alpha.
//! `paper` holds the hypotheses of the paper the shipped model comes from and
//! warns when a model's labels drift from them.

pub mod expect;
pub mod paper;

pub use expect::{Expectations, Sign};

use crate::model::ParRow;
use crate::report::{HypothesisOut, HypothesisSpec, ParamOut};

/// Whether a parameter row (by operator and label) is a hypothesis.
pub fn is_hypothesis(op: &str, label: &str) -> bool {
    (op == "~" && !label.is_empty()) || op == ":="
}

/// A model's hypotheses in parameter-table order, one per label, with their
/// expected signs.
pub fn declared(rows: &[ParRow], expect: &Expectations) -> Vec<HypothesisSpec> {
    let mut out: Vec<HypothesisSpec> = Vec::new();
    for r in rows {
        let name = if r.op == ":=" { &r.lhs } else { &r.label };
        if !is_hypothesis(&r.op, &r.label) || out.iter().any(|h| &h.name == name) {
            continue;
        }
        out.push(HypothesisSpec {
            name: name.clone(),
            lhs: r.lhs.clone(),
            op: r.op.clone(),
            rhs: r.rhs.clone(),
            expected_sign: expect.sign_of(name).symbol().into(),
        });
    }
    out
}

/// Read the `# expect:` directives of a model text and check them against
/// the model's hypotheses.
pub fn expectations(src: &str, file: &str, rows: &[ParRow]) -> Result<Expectations, String> {
    let e = Expectations::parse(src, file)?;
    let names: Vec<String> = declared(rows, &Expectations::default()).into_iter().map(|h| h.name).collect();
    e.check_names(&names, src, file)?;
    Ok(e)
}

/// A hypothesis whose estimate or p-value cannot be computed is
/// undetermined, not rejected.
pub fn decision(supported: bool, est: Option<f64>, pvalue: Option<f64>) -> &'static str {
    if supported {
        "supported"
    } else if est.is_none() || pvalue.is_none() {
        "undetermined"
    } else {
        "not supported"
    }
}

/// Test every hypothesis of a fitted model.
pub fn evaluate(params: &[ParamOut], expect: &Expectations, alpha: f64) -> Vec<HypothesisOut> {
    let mut out: Vec<HypothesisOut> = Vec::new();
    for p in params {
        let name = if p.op == ":=" { &p.lhs } else { &p.label };
        if !is_hypothesis(&p.op, &p.label) || out.iter().any(|h| &h.name == name) {
            continue;
        }
        let sign = expect.sign_of(name);
        let supported = matches!((p.est, p.pvalue), (Some(e), Some(pv)) if sign.agrees(e) && pv < alpha);
        out.push(HypothesisOut {
            name: name.clone(),
            lhs: p.lhs.clone(),
            op: p.op.clone(),
            rhs: p.rhs.clone(),
            expected_sign: sign.symbol().into(),
            est: p.est,
            se: p.se,
            z: p.z,
            pvalue: p.pvalue,
            std_all: p.std_all,
            supported,
            decision: decision(supported, p.est, p.pvalue).into(),
        });
    }
    out
}
