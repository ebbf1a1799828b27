//! The comment directives a model file uses to talk about its hypotheses
//! without leaving lavaan's syntax. lavaan drops everything after `#` (or
//! `!`) on a line, so
//!
//! ```text
//! CRQ ~ H1a*EOIS + H8*COS
//! # expect: H3 < 0, H8 < 0
//! # hypotheses: ind, total
//! # paper: bradford2019
//! ```
//!
//! is the same model to lavaan and to `sem`'s parser; only this module reads
//! the comments, from the raw model text. A directive is a comment whose
//! text starts with its keyword (on a line of its own or after a statement):
//!
//! - `expect:` comma-separated items `NAME < 0` (expected negative) or
//!   `NAME > 0` (expected positive, the default); a name listed here is a
//!   hypothesis whatever it is called;
//! - `hypotheses:` comma-separated names of labels or `:=` definitions that
//!   are hypotheses although not named like one (`H` + number + letter);
//! - `paper:` the name of a paper whose hypothesis table the model's labels
//!   are checked against (`bradford2019`, see `paper`).
//!
//! A malformed item, a name that is not a labelled `~` path or `:=`
//! definition of the model, two contradicting items and an unknown paper are
//! errors that point at the file, line and column.

use crate::syntax::diag::{Diagnostic, Span};

/// The direction a hypothesis predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sign {
    #[default]
    Positive,
    Negative,
}

impl Sign {
    /// `+` or `-`, as the reports print it.
    pub fn symbol(self) -> &'static str {
        match self {
            Sign::Positive => "+",
            Sign::Negative => "-",
        }
    }

    /// Whether an estimate points the expected way (zero never does).
    pub fn agrees(self, est: f64) -> bool {
        match self {
            Sign::Positive => est > 0.0,
            Sign::Negative => est < 0.0,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Sign::Positive => "positive",
            Sign::Negative => "negative",
        }
    }
}

/// One item of a directive, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub name: String,
    pub sign: Sign,
    /// byte span of the item in the model text
    pub span: Span,
}

/// Every directive of a model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// `# expect:` items
    pub items: Vec<Expectation>,
    /// `# hypotheses:` names, with where each was written
    pub listed: Vec<(String, Span)>,
    /// `# paper:` the paper to check the labels against, with its span
    pub paper: Option<(String, Span)>,
}

const KEYWORD: &str = "expect:";
const LIST_KEYWORD: &str = "hypotheses:";
const PAPER_KEYWORD: &str = "paper:";
const LIST_HELP: &str = "write `# hypotheses: NAME, NAME` with the labels of `~` paths or `:=` definitions that are hypotheses";
const HELP: &str = "write `# expect: NAME < 0` for an expected negative effect (or `NAME > 0`), several separated by commas, e.g. `# expect: H3 < 0, H8 < 0`";

impl Expectations {
    /// Read the directives of a model text. Errors are rendered against `file`.
    pub fn parse(src: &str, file: &str) -> Result<Expectations, String> {
        let mut items: Vec<Expectation> = Vec::new();
        let mut listed: Vec<(String, Span)> = Vec::new();
        let mut paper: Option<(String, Span)> = None;
        let mut line_start = 0;
        for line in src.split_inclusive('\n') {
            let here = line_start;
            line_start += line.len();
            let Some(mark) = line.find(['#', '!']) else { continue };
            let comment = &line[mark + 1..];
            let body_at = here + mark + 1 + (comment.len() - comment.trim_start().len());
            let body = comment.trim_start();
            if let Some(rest) = body.strip_prefix(LIST_KEYWORD) {
                read_list(rest, body_at + LIST_KEYWORD.len(), &mut listed).map_err(|d| d.render(file, src))?;
                continue;
            }
            if let Some(rest) = body.strip_prefix(PAPER_KEYWORD) {
                let lead = rest.len() - rest.trim_start().len();
                let name = rest.trim();
                let at = body_at + PAPER_KEYWORD.len() + lead;
                let span = Span::new(at, at + name.len().max(1));
                if let Some((prev, _)) = paper.as_ref().filter(|(p, _): &&(String, Span)| p != name) {
                    return Err(Diagnostic::new(
                        format!("a second `# paper:` directive (`{name}`, the first is `{prev}`)"),
                        span,
                        "one paper per model",
                    )
                    .render(file, src));
                }
                paper = Some((name.to_string(), span));
                continue;
            }
            let Some(rest) = body.strip_prefix(KEYWORD) else {
                continue;
            };
            let rest = rest.trim_end_matches(['\n', '\r']);
            let mut at = body_at + KEYWORD.len();
            if rest.trim().is_empty() {
                let span = Span::new(body_at, body_at + KEYWORD.len());
                return Err(
                    Diagnostic::new("the `# expect:` directive names no hypothesis", span, "nothing after this")
                        .help(HELP)
                        .render(file, src),
                );
            }
            for raw in rest.split(',') {
                let lead = raw.len() - raw.trim_start().len();
                let item = raw.trim();
                let span = Span::new(at + lead, at + lead + item.len().max(1));
                at += raw.len() + 1;
                let e = parse_item(item, span).map_err(|d| d.help(HELP).render(file, src))?;
                if let Some(prev) = items.iter().find(|p| p.name == e.name && p.sign != e.sign) {
                    let (line, _) = crate::syntax::diag::line_col(src, prev.span.start);
                    return Err(Diagnostic::new(
                        format!(
                            "`{}` is expected {} here but {} on line {line}",
                            e.name,
                            e.sign.word(),
                            prev.sign.word()
                        ),
                        span,
                        "contradicts the earlier directive",
                    )
                    .render(file, src));
                }
                items.push(e);
            }
        }
        Ok(Expectations { items, listed, paper })
    }

    /// Whether a directive names this label or definition as a hypothesis.
    pub fn names(&self, name: &str) -> bool {
        self.items.iter().any(|e| e.name == name) || self.listed.iter().any(|(n, _)| n == name)
    }

    /// Check that every name is a possible hypothesis of the model (the
    /// label of a `~` path or a `:=` definition: `candidates`).
    pub fn check_names(&self, candidates: &[String], src: &str, file: &str) -> Result<(), String> {
        let named = self
            .items
            .iter()
            .map(|e| ("# expect:", &e.name, e.span))
            .chain(self.listed.iter().map(|(n, s)| ("# hypotheses:", n, *s)));
        for (directive, name, span) in named {
            if !candidates.contains(name) {
                let known = if candidates.is_empty() {
                    "the model has no labelled `~` paths or `:=` definitions".to_string()
                } else {
                    format!("the model's labelled paths and definitions are {}", candidates.join(", "))
                };
                return Err(Diagnostic::new(
                    format!("`{directive}` names `{name}`, which is not a hypothesis of the model"),
                    span,
                    "unknown hypothesis",
                )
                .help(format!(
                    "{known}; a hypothesis is a labelled regression path (`y ~ {name}*x`) or a defined parameter (`{name} := a*b`)"
                ))
                .render(file, src));
            }
        }
        Ok(())
    }

    /// The declared sign of a hypothesis (positive unless declared otherwise).
    pub fn sign_of(&self, name: &str) -> Sign {
        self.items.iter().find(|e| e.name == name).map_or(Sign::Positive, |e| e.sign)
    }
}

/// The names of a `# hypotheses:` directive (`rest` starts at byte `at`).
fn read_list(rest: &str, mut at: usize, out: &mut Vec<(String, Span)>) -> Result<(), Diagnostic> {
    let rest = rest.trim_end_matches(['\n', '\r']);
    if rest.trim().is_empty() {
        let span = Span::new(at - LIST_KEYWORD.len(), at);
        return Err(Diagnostic::new("the `# hypotheses:` directive names no hypothesis", span, "nothing after this").help(LIST_HELP));
    }
    for raw in rest.split(',') {
        let lead = raw.len() - raw.trim_start().len();
        let item = raw.trim();
        let span = Span::new(at + lead, at + lead + item.len().max(1));
        at += raw.len() + 1;
        let ok = !item.is_empty() && item.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if !ok {
            return Err(Diagnostic::new(
                format!("cannot read `{item}` in the `# hypotheses:` directive"),
                span,
                "expected a label or a `:=` name",
            )
            .help(LIST_HELP));
        }
        if !out.iter().any(|(n, _)| n == item) {
            out.push((item.to_string(), span));
        }
    }
    Ok(())
}

fn parse_item(item: &str, span: Span) -> Result<Expectation, Diagnostic> {
    let bad = || {
        Diagnostic::new(
            format!("cannot read `{item}` in the `# expect:` directive"),
            span,
            "expected NAME < 0 or NAME > 0",
        )
    };
    let Some(op_at) = item.find(['<', '>']) else {
        return Err(bad());
    };
    let name = item[..op_at].trim();
    let sign = if item[op_at..].starts_with('<') {
        Sign::Negative
    } else {
        Sign::Positive
    };
    let value = item[op_at + 1..].trim();
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    if !name_ok || value.parse::<f64>() != Ok(0.0) {
        return Err(bad());
    }
    Ok(Expectation {
        name: name.to_string(),
        sign,
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_items_on_own_lines_and_after_statements() {
        let src = "y ~ H1*x + H2*z\n# expect: H1 < 0, H2 > 0\nw ~ H3*x  # expect: H3<0\n# a plain comment\n";
        let e = Expectations::parse(src, "m.lav").unwrap();
        assert_eq!(e.sign_of("H1"), Sign::Negative);
        assert_eq!(e.sign_of("H2"), Sign::Positive);
        assert_eq!(e.sign_of("H3"), Sign::Negative);
        assert_eq!(e.sign_of("other"), Sign::Positive);
    }

    #[test]
    fn bad_items_point_at_line_and_column() {
        let err = Expectations::parse("y ~ a*x\n# expect: a < 0, b negative\n", "m.lav").unwrap_err();
        assert!(err.contains("m.lav:2:18"), "{err}");
        assert!(err.contains("b negative"), "{err}");
        let err = Expectations::parse("# expect:\n", "m.lav").unwrap_err();
        assert!(err.contains("m.lav:1:3") && err.contains("names no hypothesis"), "{err}");
        let err = Expectations::parse("# expect: a < 0\n# expect: a > 0\n", "m.lav").unwrap_err();
        assert!(err.contains("m.lav:2:") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn unknown_names_are_errors() {
        let src = "y ~ a*x\n# expect: H9 < 0\n";
        let e = Expectations::parse(src, "m.lav").unwrap();
        let err = e.check_names(&["a".into()], src, "m.lav").unwrap_err();
        assert!(err.contains("m.lav:2:11") && err.contains("`H9`") && err.contains("are a"), "{err}");
    }

    #[test]
    fn hypotheses_and_paper_directives() {
        let src = "y ~ a*x + b*z\nind := a*b  # hypotheses: ind, a\n# paper: bradford2019\n";
        let e = Expectations::parse(src, "m.lav").unwrap();
        assert!(e.names("ind") && e.names("a") && !e.names("b"));
        assert_eq!(e.paper.as_ref().map(|p| p.0.as_str()), Some("bradford2019"));
        let err = Expectations::parse("# hypotheses: a b\n", "m.lav").unwrap_err();
        assert!(err.contains("m.lav:1:15") && err.contains("`a b`"), "{err}");
        let err = Expectations::parse("# hypotheses:\n", "m.lav").unwrap_err();
        assert!(err.contains("names no hypothesis"), "{err}");
        let e = Expectations::parse("y ~ a*x\n# hypotheses: zz\n", "m.lav").unwrap();
        let err = e.check_names(&["a".into()], "y ~ a*x\n# hypotheses: zz\n", "m.lav").unwrap_err();
        assert!(
            err.contains("m.lav:2:15") && err.contains("# hypotheses:") && err.contains("`zz`"),
            "{err}"
        );
    }
}
