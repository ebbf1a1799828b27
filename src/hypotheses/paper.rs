//! The paper's hypotheses, in one place. Bradford et al. (2019) state nine
//! structural paths, H1a–H8 (`models/bradford.lav` labels each path with its
//! hypothesis). A model file that names its labels after these hypotheses
//! but leaves one out, or puts a label on another path, tests something other
//! than the paper says; `sem check` and `sem fit` warn about it. The check
//! runs only when the model asks for it with a `# paper: bradford2019`
//! comment: other models that happen to use H-labels are not the paper's.

use super::Expectations;
use crate::model::ParRow;
use crate::syntax::diag::Diagnostic;

/// One hypothesis of the paper: `lhs ~ rhs` (the dependent variable first, as
/// in lavaan syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperPath {
    pub label: &'static str,
    pub lhs: &'static str,
    pub rhs: &'static str,
}

const fn path(label: &'static str, lhs: &'static str, rhs: &'static str) -> PaperPath {
    PaperPath { label, lhs, rhs }
}

/// Bradford et al. (2019), hypotheses H1a–H8.
pub const BRADFORD_2019: &[PaperPath] = &[
    path("H1a", "CRQ", "EOIS"),
    path("H1b", "SP", "CRQ"),
    path("H2", "EOIS", "NET"),
    path("H3", "EOIS", "HELP"),
    path("H4", "NET", "HELP"),
    path("H5", "NET", "ALLO"),
    path("H6", "HELP", "ALLO"),
    path("H7", "COS", "ALLO"),
    path("H8", "CRQ", "COS"),
];

/// The papers `# paper:` can name, and their tables.
pub const PAPERS: &[(&str, &[PaperPath])] = &[("bradford2019", BRADFORD_2019)];

/// The table a model asked for, if any.
fn table(expect: &Expectations) -> Option<&'static [PaperPath]> {
    let (name, _) = expect.paper.as_ref()?;
    PAPERS.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
}

/// An unknown `# paper:` name is an error at its line and column.
pub fn check_directive(expect: &Expectations, src: &str, file: &str) -> Result<(), String> {
    match &expect.paper {
        Some((name, span)) if table(expect).is_none() => {
            let known: Vec<&str> = PAPERS.iter().map(|(n, _)| *n).collect();
            Err(Diagnostic::new(
                format!("unknown paper `{name}` in the `# paper:` directive"),
                *span,
                "not a paper sem knows",
            )
            .help(format!("the papers whose hypotheses sem can check are: {}", known.join(", ")))
            .render(file, src))
        }
        _ => Ok(()),
    }
}

/// `H` followed by digits and at most one lower-case letter (`^H\d+[a-z]?$`).
pub fn looks_like_hypothesis(label: &str) -> bool {
    let Some(rest) = label.strip_prefix('H') else {
        return false;
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let tail = &rest[digits..];
    digits > 0 && (tail.is_empty() || (tail.len() == 1 && tail.as_bytes()[0].is_ascii_lowercase()))
}

fn describe(r: &ParRow) -> String {
    format!("{} {} {}", r.lhs, r.op, r.rhs)
}

/// Warnings for a parameter table whose model asked (`# paper:`) to be
/// checked against a paper's hypotheses; none otherwise.
pub fn warnings(rows: &[ParRow], expect: &Expectations) -> Vec<String> {
    let Some(paper) = table(expect) else {
        return Vec::new();
    };
    let labelled: Vec<&ParRow> = rows.iter().filter(|r| looks_like_hypothesis(&r.label)).collect();
    let mut out = Vec::new();
    for p in paper {
        let on_it = |r: &&ParRow| r.op == "~" && r.lhs == p.lhs && r.rhs == p.rhs;
        let with_label: Vec<&&ParRow> = labelled.iter().filter(|r| r.label == p.label).collect();
        let paper = format!("the paper's {} is {} ~ {}", p.label, p.lhs, p.rhs);
        if with_label.is_empty() {
            let found = rows.iter().find(|r| on_it(r));
            let note = match found {
                Some(r) if r.label.is_empty() => "the model has that path without a label".to_string(),
                Some(r) => format!("the model has that path, labelled {}", r.label),
                None => "the model has no such path".to_string(),
            };
            out.push(format!("label {} is missing: {paper} ({note})", p.label));
            continue;
        }
        let (right, wrong): (Vec<&&ParRow>, Vec<&&ParRow>) = with_label.into_iter().partition(|r| on_it(r));
        if wrong.is_empty() {
            continue;
        }
        let elsewhere: Vec<String> = wrong.iter().map(|r| describe(r)).collect();
        if right.is_empty() {
            out.push(format!("label {} is on {}, but {paper}", p.label, elsewhere.join(" and ")));
        } else {
            out.push(format!(
                "label {} is on {} ~ {} as in the paper, and also on {}, which constrains them to be equal; the paper's {} is only {} ~ {}",
                p.label,
                p.lhs,
                p.rhs,
                elsewhere.join(" and "),
                p.label,
                p.lhs,
                p.rhs
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_pattern() {
        for ok in ["H1", "H1a", "H12", "H8"] {
            assert!(looks_like_hypothesis(ok), "{ok}");
        }
        for no in ["H", "Ha", "H1ab", "H1A", "h1", "xH1", "H1_"] {
            assert!(!looks_like_hypothesis(no), "{no}");
        }
    }

    #[test]
    fn the_table_has_nine_distinct_hypotheses() {
        let mut l: Vec<&str> = BRADFORD_2019.iter().map(|p| p.label).collect();
        l.dedup();
        assert_eq!(l.len(), 9);
        assert!(BRADFORD_2019.iter().all(|p| looks_like_hypothesis(p.label)));
    }
}
