//! Model syntax: lavaan's model language read into a list of statements.
//! `lexer` makes tokens with byte spans, `parser` cuts them into statements
//! and parses each one, `diag` renders errors with file, line, column and a
//! caret. Checks that need only the text (an empty model, `y ~ y`) live here;
//! checks that need the whole model live in `model`.

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod parser;

pub use ast::{Expr, Lhs, ModKind, ModelSyntax, Op, Rhs, Statement, Term};
pub use diag::{Diagnostic, Span};

/// Parse a whole model file.
pub fn parse(src: &str) -> Result<ModelSyntax, Diagnostic> {
    let tokens = lexer::lex(src)?;
    let stmts = parser::split_statements(&tokens);
    if stmts.is_empty() {
        return Err(Diagnostic::new(
            "the model is empty: it holds no formula, only blank lines or comments",
            Span::new(0, 0),
            "expected at least one formula",
        )
        .help("write a model such as `f =~ x1 + x2 + x3`"));
    }
    let mut out = ModelSyntax::default();
    for s in stmts {
        let st = parser::parse_statement(src, s, &mut out.warnings)?;
        check_statement(&st)?;
        out.statements.push(st);
    }
    Ok(out)
}

fn check_statement(st: &Statement) -> Result<(), Diagnostic> {
    if let (Lhs::Names(lhs), Rhs::Terms(terms)) = (&st.lhs, &st.rhs) {
        for l in lhs {
            for t in terms {
                if t.var.as_deref() == Some(l.name.as_str()) && !matches!(st.op, Op::Covary | Op::Scale) {
                    let what = if st.op == Op::Regress {
                        "a variable cannot be regressed on itself"
                    } else if st.op == Op::Form {
                        "a composite cannot be formed by itself"
                    } else {
                        "a factor cannot be measured by itself"
                    };
                    return Err(Diagnostic::new(
                        format!("{what}: `{} {} {}`", l.name, st.op.as_str(), l.name),
                        t.var_span,
                        "the same name as on the left",
                    ));
                }
            }
        }
    }
    Ok(())
}
