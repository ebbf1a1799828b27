//! The model as written: one `Statement` per formula, with every name and
//! modifier kept next to the span it came from so that later stages (the
//! parameter table, identification checks) can point back into the file.

use super::diag::Span;

/// The operators of lavaan's model syntax that `sem` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=~` is measured by
    Measure,
    /// `~` is regressed on (with rhs `1`: intercept, op `~1` in the table)
    Regress,
    /// `~~` covaries with
    Covary,
    /// `:=` defined parameter
    Define,
    /// `==` equality constraint
    Equal,
    /// `<` inequality constraint
    Less,
    /// `>` inequality constraint
    Greater,
    /// `|` threshold of an ordinal variable (`x1 | t1 + t2`)
    Threshold,
    /// `~*~` scale factor of an ordinal variable (`x1 ~*~ x1`)
    Scale,
    /// `<~` is formed by (a composite: `f <~ 1*x1 + x2 + x3`)
    Form,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Measure => "=~",
            Op::Regress => "~",
            Op::Covary => "~~",
            Op::Define => ":=",
            Op::Equal => "==",
            Op::Less => "<",
            Op::Greater => ">",
            Op::Threshold => "|",
            Op::Scale => "~*~",
            Op::Form => "<~",
        }
    }
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=~" => Op::Measure,
            "~" => Op::Regress,
            "~~" => Op::Covary,
            ":=" => Op::Define,
            "==" => Op::Equal,
            "<" => Op::Less,
            ">" => Op::Greater,
            "|" => Op::Threshold,
            "~*~" => Op::Scale,
            "<~" => Op::Form,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

/// What precedes a `*` in a term. Vectors carry one value per group
/// (`c(...)`); a plain value is a vector of length one.
#[derive(Debug, Clone, PartialEq)]
pub enum ModKind {
    /// Fixed values; `None` is `NA` (free the parameter).
    Fixed(Vec<Option<f64>>),
    /// Labels; `None` is `NA` (no label in that group).
    Label(Vec<Option<String>>),
    /// Starting values.
    Start(Vec<Option<f64>>),
    /// `lower(v)`: lower bounds; `None` is `NA` (no bound in that group).
    Lower(Vec<Option<f64>>),
    /// `upper(v)`: upper bounds.
    Upper(Vec<Option<f64>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Modifier {
    pub kind: ModKind,
    pub span: Span,
}

/// One right-hand-side term: modifiers and a variable (or the constant `1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub mods: Vec<Modifier>,
    /// Variable name, or `None` for the intercept constant `1`.
    pub var: Option<String>,
    pub var_span: Span,
}

/// Arithmetic in `:=`, `==`, `<`, `>`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(Name),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Call(Name, Vec<Expr>),
}

impl Expr {
    /// Every name the expression refers to, in order of appearance.
    pub fn names<'a>(&'a self, out: &mut Vec<&'a Name>) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(n) => out.push(n),
            Expr::Neg(e) => e.names(out),
            Expr::Bin(_, a, b) => {
                a.names(out);
                b.names(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.names(out)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    Terms(Vec<Term>),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lhs {
    Names(Vec<Name>),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub lhs: Lhs,
    pub op: Op,
    pub op_span: Span,
    pub rhs: Rhs,
    /// The source text of the right-hand side (for `:=` rows, lavaan's `rhs`).
    pub rhs_text: String,
    /// The source text of the left-hand side expression (for `==`, `<`, `>`).
    pub lhs_text: String,
    pub span: Span,
}

impl ModelSyntax {
    /// The longest `c(...)` vector: a lower bound on the number of groups the
    /// model was written for.
    pub fn max_vector_len(&self) -> usize {
        let mut n = 1;
        for st in &self.statements {
            if let Rhs::Terms(ts) = &st.rhs {
                for m in ts.iter().flat_map(|t| &t.mods) {
                    n = n.max(match &m.kind {
                        ModKind::Fixed(v) | ModKind::Start(v) | ModKind::Lower(v) | ModKind::Upper(v) => v.len(),
                        ModKind::Label(v) => v.len(),
                    });
                }
            }
        }
        n
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelSyntax {
    pub statements: Vec<Statement>,
    /// things lavaan accepts but that probably do not mean what was intended
    pub warnings: Vec<super::Diagnostic>,
}
