//! Hypotheses: which parameters a model states as hypotheses, which sign each
//! predicts, and whether a fit supports them. A labelled regression path
//! (`CRQ ~ H1a*EOIS`) or a defined parameter (`H5 := a*b`) is a hypothesis
//! when it is named like one (`H` + number + an optional lower-case letter:
//! H1, H1a, H12) or listed in a `# expect:` or `# hypotheses:` comment
//! (`expect`); every other label is a plain label (`total := c + a*b` is no
//! claim that can be "not supported"). A hypothesis predicts a positive
//! effect unless `# expect:` says otherwise; it is supported when its estimate
//! has the expected sign and its p-value is below alpha. `paper` holds the
//! hypotheses of the paper the shipped model comes from and, when the model
//! asks for it (`# paper: bradford2019`), warns when its labels drift from
//! them.

pub mod expect;
pub mod paper;

pub use expect::{Expectations, Sign};

use crate::model::ParRow;
use crate::report::{HypothesisOut, HypothesisSpec, ParamOut};

/// Whether a parameter row (by operator and label) can be a hypothesis: a
/// labelled regression path or a defined parameter.
pub fn is_candidate(op: &str, label: &str) -> bool {
    (op == "~" && !label.is_empty()) || op == ":="
}

/// Whether a parameter row is a hypothesis: a candidate named like one
/// (`paper::looks_like_hypothesis`) or named by a directive. `name` is the
/// label, or the `:=` name.
pub fn is_hypothesis(op: &str, label: &str, name: &str, expect: &Expectations) -> bool {
    is_candidate(op, label) && (paper::looks_like_hypothesis(name) || expect.names(name))
}

/// The names that a directive may call hypotheses: labels of `~` paths and
/// `:=` names, in parameter-table order.
pub fn candidates(rows: &[ParRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let name = if r.op == ":=" { &r.lhs } else { &r.label };
        if is_candidate(&r.op, &r.label) && !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// A model's hypotheses in parameter-table order, one per label, with their
/// expected signs.
pub fn declared(rows: &[ParRow], expect: &Expectations) -> Vec<HypothesisSpec> {
    let mut out: Vec<HypothesisSpec> = Vec::new();
    for r in rows {
        let name = if r.op == ":=" { &r.lhs } else { &r.label };
        if !is_hypothesis(&r.op, &r.label, name, expect) || out.iter().any(|h| &h.name == name) {
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

/// A label that nearly follows the hypothesis naming (`h1`, `H1A`, `H_2`)
/// is probably meant as one; since it is not, say so rather than silently
/// leave it out of the hypotheses.
pub fn near_miss(name: &str) -> bool {
    if paper::looks_like_hypothesis(name) {
        return false;
    }
    let squeezed: String = name.chars().filter(|c| *c != '_' && *c != '.').collect();
    let mut chars = squeezed.chars();
    let Some(first) = chars.next() else { return false };
    let fixed = first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase();
    paper::looks_like_hypothesis(&fixed)
}

/// Warnings about a model's hypotheses: labels that look almost like
/// hypothesis names but are not hypotheses, and, when the model asks for it
/// (`# paper:`), labels that drift from the paper's.
pub fn warnings(rows: &[ParRow], expect: &Expectations) -> Vec<String> {
    let mut out: Vec<String> = candidates(rows)
        .into_iter()
        .filter(|n| near_miss(n) && !expect.names(n))
        .map(|n| {
            format!(
                "label `{n}` is not a hypothesis: hypotheses are named H, a number and an optional lower-case letter (H1, H1a); rename it or list it in a `# hypotheses: {n}` comment"
            )
        })
        .collect();
    out.extend(paper::warnings(rows, expect));
    out
}

/// Read the directives of a model text and check them against the model:
/// every name a labelled path or definition, the paper one `sem` knows.
pub fn expectations(src: &str, file: &str, rows: &[ParRow]) -> Result<Expectations, String> {
    let e = Expectations::parse(src, file)?;
    e.check_names(&candidates(rows), src, file)?;
    paper::check_directive(&e, src, file)?;
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
        if !is_hypothesis(&p.op, &p.label, name, expect) || out.iter().any(|h| &h.name == name) {
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

#[cfg(test)]
mod tests {
    use super::near_miss;

    #[test]
    fn near_misses_of_hypothesis_names() {
        for yes in ["h1", "H1A", "H_2", "h12b", "H1.a"] {
            assert!(near_miss(yes), "{yes}");
        }
        for no in ["H1", "H1a", "a", "total", "ind", "Hx", "help"] {
            assert!(!near_miss(no), "{no}");
        }
    }
}
