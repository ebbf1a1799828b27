//! The `# expect:` directive: how a model file declares that a hypothesis
//! predicts a negative (or, explicitly, a positive) effect without leaving
//! lavaan's syntax. lavaan drops everything after `#` (or `!`) on a line, so
//!
//! ```text
//! CRQ ~ H1a*EOIS + H8*COS
//! # expect: H3 < 0, H8 < 0
//! ```
//!
//! is the same model to lavaan and to `sem`'s parser; only this module reads
//! the comment, from the raw model text. A directive is a comment whose text
//! starts with `expect:` (on a line of its own or after a statement), followed
//! by comma-separated items `NAME < 0` (expected negative) or `NAME > 0`
//! (expected positive, the default). A malformed item, a name that is not a
//! hypothesis of the model (a labelled `~` path or a `:=` definition) and two
//! contradicting items are errors that point at the file, line and column.

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

/// Every `# expect:` item of a model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    pub items: Vec<Expectation>,
}

const KEYWORD: &str = "expect:";
const HELP: &str = "write `# expect: NAME < 0` for an expected negative effect (or `NAME > 0`), several separated by commas, e.g. `# expect: H3 < 0, H8 < 0`";

impl Expectations {
    /// Read the directives of a model text. Errors are rendered against `file`.
    pub fn parse(src: &str, file: &str) -> Result<Expectations, String> {
        let mut items: Vec<Expectation> = Vec::new();
        let mut line_start = 0;
        for line in src.split_inclusive('\n') {
            let here = line_start;
            line_start += line.len();
            let Some(mark) = line.find(['#', '!']) else { continue };
            let comment = &line[mark + 1..];
            let body_at = here + mark + 1 + (comment.len() - comment.trim_start().len());
            let Some(rest) = comment.trim_start().strip_prefix(KEYWORD) else {
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
        Ok(Expectations { items })
    }

    /// Check that every name is one of the model's hypotheses.
    pub fn check_names(&self, hypotheses: &[String], src: &str, file: &str) -> Result<(), String> {
        for e in &self.items {
            if !hypotheses.contains(&e.name) {
                let known = if hypotheses.is_empty() {
                    "the model has no hypotheses (labelled `~` paths or `:=` definitions)".to_string()
                } else {
                    format!("the model's hypotheses are {}", hypotheses.join(", "))
                };
                return Err(Diagnostic::new(
                    format!("`# expect:` names `{}`, which is not a hypothesis of the model", e.name),
                    e.span,
                    "unknown hypothesis",
                )
                .help(format!(
                    "{known}; a hypothesis is a labelled regression path (`y ~ {}*x`) or a defined parameter (`{} := a*b`)",
                    e.name, e.name
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
}
