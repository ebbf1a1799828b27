//! Parser: tokens -> statements. First the token stream is cut into logical
//! statements (a line break ends a statement unless the line ends with an
//! operator, `+`, `*` or `,`, the next line starts with an operator, `+` or
//! `*`, or a parenthesis is still open: lavaan's continuation rules). Then each
//! statement is parsed on its own, so one error points at one line.

use super::ast::*;
use super::diag::{Diagnostic, Span};
use super::lexer::{Tok, Token};

/// Words that cannot name a variable: they mean something in a modifier.
/// R's reserved words: lavaan rejects them as variable names.
pub const RESERVED: &[&str] = &[
    "if",
    "else",
    "repeat",
    "while",
    "function",
    "for",
    "in",
    "next",
    "break",
    "TRUE",
    "FALSE",
    "NULL",
    "Inf",
    "NaN",
    "NA",
    "NA_integer_",
    "NA_real_",
    "NA_character_",
];

/// Split the token stream into statements (without the newline tokens).
pub fn split_statements(tokens: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    let joins_after = |t: &Tok| {
        matches!(
            t,
            Tok::Op(_) | Tok::Plus | Tok::Star | Tok::Comma | Tok::Minus | Tok::Slash | Tok::Caret
        )
    };
    let joins_before = |t: &Tok| matches!(t, Tok::Op(_) | Tok::Plus | Tok::Star);
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].tok {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Newline => {
                let prev = tokens[start..i].iter().rev().find(|t| t.tok != Tok::Newline);
                let next = tokens[i..].iter().find(|t| t.tok != Tok::Newline);
                // `f2 =~` at the end of a line followed by a formula of its own
                // (`f3 =~ x4 + ...`): the operator has nothing on its right, and
                // that is the error to report, on its line, not a "second
                // operator" on the next
                let next_line_is_formula = || {
                    let rest = &tokens[i + 1..];
                    let line_end = rest.iter().position(|t| t.tok == Tok::Newline).unwrap_or(rest.len());
                    let line = &rest[..line_end];
                    line.first().is_some_and(|t| !joins_before(&t.tok)) && line.iter().any(|t| matches!(t.tok, Tok::Op(_)))
                };
                let dangling_op = prev.is_some_and(|p| matches!(p.tok, Tok::Op(_))) && next_line_is_formula();
                let cont = depth > 0
                    || (prev.is_some_and(|p| joins_after(&p.tok)) && !dangling_op)
                    || (prev.is_some() && next.is_some_and(|n| joins_before(&n.tok)));
                if !cont {
                    out.push(&tokens[start..i]);
                    start = i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&tokens[start..]);
    out.into_iter().filter(|s| s.iter().any(|t| t.tok != Tok::Newline)).collect()
}

struct P<'a> {
    toks: Vec<&'a Token>,
    pos: usize,
    /// span used for "at the end of the statement" errors
    end: Span,
    /// current nesting of parentheses, signs and powers in an expression
    nest: usize,
    /// operations built so far: bounds the depth of expression trees, which
    /// are walked recursively (a hostile `1+1+...` must not overflow the stack)
    ops: usize,
}

/// Deeper than any model needs, shallow enough for any thread's stack.
const MAX_NESTING: usize = 64;
const MAX_OPERATIONS: usize = 1000;

type R<T> = Result<T, Diagnostic>;

impl<'a> P<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos).copied();
        self.pos += 1;
        t
    }
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }
    fn here(&self) -> Span {
        self.peek().map_or(self.end, |t| t.span)
    }
    fn found(&self) -> String {
        self.peek().map_or("the end of the statement".into(), |t| t.tok.describe())
    }
    fn enter(&mut self) -> R<()> {
        self.nest += 1;
        if self.nest > MAX_NESTING {
            return Err(Diagnostic::new(
                "the expression is nested too deeply",
                self.here(),
                format!("more than {MAX_NESTING} levels of parentheses, signs or powers"),
            ));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.nest = self.nest.saturating_sub(1);
    }
    fn op(&mut self) -> R<()> {
        self.ops += 1;
        if self.ops > MAX_OPERATIONS {
            return Err(Diagnostic::new(
                "the expression is too long",
                self.here(),
                format!("more than {MAX_OPERATIONS} operations"),
            )
            .help("split it into several defined parameters (`a := ...` then `b := a + ...`)"));
        }
        Ok(())
    }
}

/// Parse one statement (its tokens, newlines inside it included).
pub fn parse_statement(src: &str, toks: &[Token], warnings: &mut Vec<Diagnostic>) -> R<Statement> {
    let toks: Vec<&Token> = toks.iter().filter(|t| t.tok != Tok::Newline).collect();
    let span = toks[0].span.to(toks[toks.len() - 1].span);
    let end = Span::new(span.end, span.end);
    // the operator: first Op token outside parentheses
    let mut depth = 0;
    let mut op_at = None;
    for (k, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Op(_) if depth == 0 => {
                op_at = Some(k);
                break;
            }
            _ => {}
        }
    }
    let Some(op_at) = op_at else {
        return Err(Diagnostic::new(
            "this line has no operator",
            span,
            "expected a formula such as `f =~ x1 + x2`, `y ~ x` or `x1 ~~ x2`",
        )
        .help("lavaan's operators are =~ <~ ~ ~~ := == < >"));
    };
    let op_tok = toks[op_at];
    let Tok::Op(op_str) = &op_tok.tok else { unreachable!() };
    // lavaan's block headers `level: 1` (multilevel) and `group: 1` (per-group
    // syntax): named, not called an unknown operator
    if op_str == ":" && op_at == 1 {
        if let Tok::Ident(word) = &toks[0].tok {
            let what = match word.to_ascii_lowercase().as_str() {
                "level" => Some((
                    "multilevel models (`level:` blocks, lavaan's `cluster=`) are not supported",
                    "sem fits single-level models; fit the within- and between-level models in lavaan or Mplus",
                )),
                "group" | "class" => Some((
                    "per-group model blocks (`group:` blocks) are not supported",
                    "write one model for all groups and use --group COL (with --group-equal or c() modifiers for differences)",
                )),
                _ => None,
            };
            if let Some((what, help)) = what {
                return Err(Diagnostic::new(what, toks[0].span.to(op_tok.span), "not supported by `sem`").help(help));
            }
        }
    }
    let op = Op::parse(op_str).ok_or_else(|| unknown_op(op_str, op_tok.span))?;
    let lhs_toks = &toks[..op_at];
    let rhs_toks = &toks[op_at + 1..];
    if lhs_toks.is_empty() {
        return Err(Diagnostic::new(
            format!("`{}` has nothing on its left", op.as_str()),
            op_tok.span,
            "expected a name before the operator",
        ));
    }
    if rhs_toks.is_empty() {
        return Err(Diagnostic::new(
            format!("`{}` has nothing on its right", op.as_str()),
            op_tok.span,
            "expected something after the operator",
        ));
    }
    let text_of = |ts: &[&Token]| -> String {
        let a = ts[0].span.start;
        let b = ts[ts.len() - 1].span.end;
        src[a..b].chars().filter(|c| !c.is_whitespace()).collect()
    };
    let lhs_text = text_of(lhs_toks);
    let rhs_text = text_of(rhs_toks);
    let mut lp = P {
        toks: lhs_toks.to_vec(),
        pos: 0,
        end: op_tok.span,
        nest: 0,
        ops: 0,
    };
    let mut rp = P {
        toks: rhs_toks.to_vec(),
        pos: 0,
        end,
        nest: 0,
        ops: 0,
    };
    let (lhs, rhs) = match op {
        Op::Measure | Op::Regress | Op::Covary | Op::Threshold | Op::Scale | Op::Form => {
            let names = parse_lhs_names(&mut lp, op, warnings)?;
            let terms = parse_terms(&mut rp, op, warnings)?;
            if op == Op::Threshold {
                check_threshold_names(&terms)?;
            }
            (Lhs::Names(names), Rhs::Terms(terms))
        }
        Op::Define => {
            let t = lp.next().unwrap();
            let name = match &t.tok {
                Tok::Ident(s) if !RESERVED.contains(&s.as_str()) => Name {
                    name: s.clone(),
                    span: t.span,
                },
                _ => {
                    return Err(Diagnostic::new(
                        format!("{} cannot be defined with `:=`", t.tok.describe()),
                        t.span,
                        "expected the name of the new parameter",
                    ))
                }
            };
            if !lp.at_end() {
                return Err(Diagnostic::new(
                    "a defined parameter has a single name on the left of `:=`",
                    lp.here(),
                    "unexpected here",
                ));
            }
            let e = parse_full_expr(&mut rp)?;
            (Lhs::Names(vec![name]), Rhs::Expr(e))
        }
        Op::Equal | Op::Less | Op::Greater => {
            let l = parse_full_expr(&mut lp)?;
            let r = parse_full_expr(&mut rp)?;
            (Lhs::Expr(l), Rhs::Expr(r))
        }
    };
    Ok(Statement {
        lhs,
        op,
        op_span: op_tok.span,
        rhs,
        rhs_text,
        lhs_text,
        span,
    })
}

/// The right of `|` names thresholds: `t1`, `t2`, ... (lavaan's convention).
fn check_threshold_names(terms: &[Term]) -> R<()> {
    for t in terms {
        let ok = t.var.as_deref().is_some_and(|v| {
            v.strip_prefix('t')
                .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && k.parse::<usize>().is_ok_and(|k| k >= 1))
        });
        if !ok {
            return Err(Diagnostic::new(
                format!("`{}` is not a threshold name", t.var.as_deref().unwrap_or("1")),
                t.var_span,
                "expected t1, t2, ...",
            )
            .help("thresholds of an ordinal variable are written `x1 | t1 + t2 + t3`, one per category boundary"));
        }
    }
    Ok(())
}

fn unknown_op(s: &str, span: Span) -> Diagnostic {
    let guess = match s {
        "~~~" | "~~~~" => Some("~~"),
        "=" | "==~" | "~=" => Some("=~"),
        "=:" => Some(":="),
        ":" => Some(":="),
        "<-" | "->" => Some("~"),
        _ => None,
    };
    let d = Diagnostic::new(format!("unknown operator `{s}`"), span, "not a lavaan operator");
    match guess {
        Some(g) => d.help(format!("did you mean `{g}`? lavaan's operators are =~ <~ ~ ~~ := == < >")),
        None => d.help("lavaan's operators are =~ <~ ~ ~~ := == < >"),
    }
}

fn parse_lhs_names(p: &mut P, op: Op, warnings: &mut Vec<Diagnostic>) -> R<Vec<Name>> {
    let mut names = Vec::new();
    loop {
        // lavaan ignores a modifier on the left (`a*y ~ x`): skip to the last `*`
        let mut depth = 0;
        let mut last_star = None;
        for k in p.pos..p.toks.len() {
            match p.toks[k].tok {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                Tok::Plus if depth == 0 => break,
                Tok::Star if depth == 0 => last_star = Some(k),
                _ => {}
            }
        }
        if let Some(k) = last_star {
            // `efa("block")*f1 + efa("block")*f2 =~ ...` is lavaan's exploratory
            // block (rotated loadings): not a modifier to drop, a model `sem`
            // does not fit; refuse it by name rather than fit a plain CFA
            for j in p.pos..k {
                if let (Tok::Ident(name), Some(Tok::LParen)) = (&p.toks[j].tok, p.toks.get(j + 1).map(|t| &t.tok)) {
                    if *name == "efa" {
                        return Err(Diagnostic::new(
                            "exploratory factor blocks (`efa(\"...\")*` on the left of `=~`) are not supported",
                            p.toks[j].span,
                            "not supported by `sem`",
                        )
                        .help(
                            "sem fits confirmatory models only; write the loadings of each factor (a CFA), or run lavaan for the EFA block",
                        ));
                    }
                }
            }
            let span = p.toks[p.pos].span.to(p.toks[k].span);
            warnings.push(Diagnostic::new(
                format!("a modifier on the left of `{}` is ignored (as in lavaan)", op.as_str()),
                span,
                "ignored",
            ));
            p.pos = k + 1;
            if p.at_end() {
                return Err(Diagnostic::new(
                    "a dangling `*`: nothing follows it",
                    p.toks[k].span,
                    "expected a variable name after `*`",
                ));
            }
        }
        let t = p.next().unwrap_or_else(|| unreachable!());
        match &t.tok {
            Tok::Ident(s) if !RESERVED.contains(&s.as_str()) => names.push(Name {
                name: s.clone(),
                span: t.span,
            }),
            Tok::Ident(s) => {
                return Err(Diagnostic::new(
                    format!("`{s}` is a reserved word and cannot be on the left of `{}`", op.as_str()),
                    t.span,
                    "reserved word",
                ))
            }
            Tok::Number(_) => {
                return Err(Diagnostic::new(
                    format!("a number cannot be on the left of `{}`", op.as_str()),
                    t.span,
                    "expected a variable name",
                ))
            }
            other => {
                return Err(Diagnostic::new(
                    format!(
                        "expected a variable name on the left of `{}`, found {}",
                        op.as_str(),
                        other.describe()
                    ),
                    t.span,
                    "expected a variable name",
                ))
            }
        }
        if p.at_end() {
            return Ok(names);
        }
        let t = p.next().unwrap();
        if t.tok != Tok::Plus {
            return Err(Diagnostic::new(
                format!("expected `+` or `{}` after the name, found {}", op.as_str(), t.tok.describe()),
                t.span,
                "unexpected here",
            ));
        }
        if p.at_end() {
            return Err(Diagnostic::new(
                format!("`+` is followed by `{}`", op.as_str()),
                t.span,
                "expected a variable name after `+`",
            ));
        }
    }
}

fn parse_terms(p: &mut P, op: Op, warnings: &mut Vec<Diagnostic>) -> R<Vec<Term>> {
    let mut terms = Vec::new();
    loop {
        terms.push(parse_term(p, op, warnings)?);
        match p.next() {
            None => return Ok(terms),
            Some(t) if t.tok == Tok::Plus => {
                if p.at_end() {
                    return Err(Diagnostic::new("the formula ends with `+`", t.span, "expected a term after `+`"));
                }
            }
            Some(t) if matches!(t.tok, Tok::Op(_)) => {
                return Err(Diagnostic::new(
                    format!("{} has nothing on its left", t.tok.describe()),
                    t.span,
                    "a second operator in one formula",
                )
                .help("a line that starts with an operator continues the line before it; write the left-hand side first"))
            }
            Some(t) => {
                return Err(Diagnostic::new(
                    format!("expected `+` between terms, found {}", t.tok.describe()),
                    t.span,
                    "expected `+` or the end of the line",
                ))
            }
        }
    }
}

/// `mod * mod * ... * var`
fn parse_term(p: &mut P, op: Op, warnings: &mut Vec<Diagnostic>) -> R<Term> {
    let mut mods: Vec<Modifier> = Vec::new();
    loop {
        let start = p.here();
        let Some(t) = p.peek() else {
            return Err(Diagnostic::new("expected a term", start, "expected a variable name"));
        };
        // a term element: number, -number, NA, name, "string", f(...)
        let elem_span;
        enum Elem {
            Num(f64),
            Na,
            Name(String),
            Str(String),
            Mod(ModKind),
        }
        let elem = match &t.tok {
            Tok::Minus | Tok::Plus => {
                let neg = t.tok == Tok::Minus;
                p.next();
                match p.next() {
                    Some(Token { tok: Tok::Number(v), span }) => {
                        elem_span = t.span.to(*span);
                        Elem::Num(if neg { -v } else { *v })
                    }
                    _ => {
                        let msg = if t.tok == Tok::Plus {
                            "`+ +`: a term is missing between the two `+`"
                        } else {
                            "a `-` must be followed by a number"
                        };
                        return Err(Diagnostic::new(msg, t.span, "expected a variable name or a number"));
                    }
                }
            }
            Tok::Number(v) => {
                p.next();
                elem_span = t.span;
                Elem::Num(*v)
            }
            Tok::Str(s) => {
                p.next();
                elem_span = t.span;
                Elem::Str(s.clone())
            }
            Tok::Ident(s) => {
                p.next();
                if p.peek().is_some_and(|n| n.tok == Tok::LParen) {
                    let (kind, sp) = parse_modifier_call(p, s, t.span)?;
                    elem_span = sp;
                    Elem::Mod(kind)
                } else if s == "NA" {
                    elem_span = t.span;
                    Elem::Na
                } else {
                    elem_span = t.span;
                    Elem::Name(s.clone())
                }
            }
            Tok::LParen => {
                p.next();
                let e = parse_sum(p)?;
                let close = match p.next() {
                    Some(Token { tok: Tok::RParen, span }) => *span,
                    _ => return Err(Diagnostic::new("unbalanced parentheses", t.span, "this `(` is never closed")),
                };
                elem_span = t.span.to(close);
                let mut names = Vec::new();
                e.names(&mut names);
                match names.as_slice() {
                    [] => Elem::Num(
                        eval_const(&e).ok_or_else(|| Diagnostic::new("this value cannot be computed", elem_span, "not a number"))?,
                    ),
                    [n] => Elem::Name(n.name.clone()),
                    _ => {
                        return Err(Diagnostic::new(
                            "a modifier in parentheses may hold one label",
                            elem_span,
                            "more than one name",
                        ))
                    }
                }
            }
            Tok::Star => {
                return Err(Diagnostic::new(
                    "a `*` with nothing before it",
                    t.span,
                    "expected a modifier (number, label, start(...)) before `*`",
                ))
            }
            other => {
                return Err(Diagnostic::new(
                    format!("expected a variable name, found {}", other.describe()),
                    t.span,
                    "expected a variable name",
                ))
            }
        };
        // `*` or `?` makes this a modifier; otherwise it is the variable
        match p.peek().map(|t| &t.tok) {
            Some(Tok::Star) | Some(Tok::Question) => {
                let is_start = p.peek().unwrap().tok == Tok::Question;
                let star = p.next().unwrap();
                if p.at_end() || p.peek().is_some_and(|t| t.tok == Tok::Plus) {
                    return Err(Diagnostic::new(
                        "a dangling `*`: nothing follows it",
                        star.span,
                        "expected a variable name after `*`",
                    ));
                }
                let kind = match elem {
                    Elem::Num(v) if is_start => ModKind::Start(vec![Some(v)]),
                    Elem::Num(v) => ModKind::Fixed(vec![Some(v)]),
                    Elem::Na => ModKind::Fixed(vec![None]),
                    Elem::Name(s) | Elem::Str(s) => ModKind::Label(vec![Some(s)]),
                    Elem::Mod(k) => k,
                };
                mods.push(Modifier { kind, span: elem_span });
            }
            _ => {
                let var = match elem {
                    Elem::Name(s) => {
                        if RESERVED.contains(&s.as_str()) {
                            return Err(Diagnostic::new(
                                format!("`{s}` is a reserved word and cannot be a variable"),
                                elem_span,
                                "reserved word",
                            ));
                        }
                        Some(s)
                    }
                    Elem::Num(v) if v == 1.0 && op == Op::Regress => None,
                    Elem::Num(v) if v == 0.0 && op == Op::Measure && mods.is_empty() => {
                        // `f =~ 0`: a phantom latent (lavaan writes the row `f =~ f`, fixed at 0)
                        mods.push(Modifier {
                            kind: ModKind::Fixed(vec![Some(0.0)]),
                            span: elem_span,
                        });
                        None
                    }
                    Elem::Num(_) if op == Op::Regress && mods.is_empty() => {
                        // `y ~ 0 + x`: as in R formulas, lavaan fixes the intercept to zero
                        mods.push(Modifier {
                            kind: ModKind::Fixed(vec![Some(0.0)]),
                            span: elem_span,
                        });
                        None
                    }
                    Elem::Num(_) => {
                        let msg = if op == Op::Regress {
                            "a number can only be a term as the intercept `1`"
                        } else {
                            "a number cannot be a variable"
                        };
                        return Err(Diagnostic::new(msg, elem_span, "expected a variable name")
                            .help("to fix a parameter, write the value before `*`: `0.5*x`"));
                    }
                    Elem::Na => return Err(Diagnostic::new("`NA` cannot be a variable", elem_span, "expected a variable name")),
                    Elem::Str(s) => {
                        return Err(Diagnostic::new(
                            format!("the string \"{s}\" is not followed by `*`"),
                            elem_span,
                            "a quoted label must be followed by `*` and a variable",
                        ))
                    }
                    Elem::Mod(_) => {
                        return Err(Diagnostic::new(
                            "a modifier is not followed by `*` and a variable",
                            elem_span,
                            "expected `*` after this",
                        ))
                    }
                };
                let mods = combine_chain(mods, warnings)?;
                return Ok(Term {
                    mods,
                    var,
                    var_span: elem_span,
                });
            }
        }
    }
}

/// `start(...)`, `equal("a")`, `label("a")`, `c(...)`, also `fixed(v)`.
/// `start(c(1.2, 0.6))`, `equal(c("a", "b"))`: one value per group; and
/// `as.numeric(NA)` (free the parameter, as `NA`).
fn parse_modifier_call(p: &mut P, fname: &str, fspan: Span) -> R<(ModKind, Span)> {
    match fname {
        "prior" | "efa" | "rv" => {
            return Err(Diagnostic::new(
                format!("the `{fname}()` modifier is not supported"),
                fspan,
                "not supported by `sem`",
            )
            .help("modifiers are a number, NA, a label, start(v), equal(\"lbl\"), label(\"lbl\") or c(...)"))
        }
        _ => {}
    }
    let open = p.next().unwrap(); // (
                                  // a vector or call inside: `start(c(...))`, `equal(c(...))`
    if let (
        Some(Token {
            tok: Tok::Ident(inner),
            span: ispan,
        }),
        Some(Token { tok: Tok::LParen, .. }),
    ) = (p.toks.get(p.pos).copied(), p.toks.get(p.pos + 1).copied())
    {
        p.next();
        p.enter()?;
        let (kind, ispan) = parse_modifier_call(p, inner, *ispan)?;
        p.leave();
        let close = match p.next() {
            Some(Token { tok: Tok::RParen, span }) => *span,
            Some(t) => {
                return Err(Diagnostic::new(
                    format!("expected `)` after `{inner}(...)`, found {}", t.tok.describe()),
                    t.span,
                    format!("`{fname}(...)` takes one vector"),
                ))
            }
            None => return Err(Diagnostic::new("unbalanced parentheses", open.span, "this `(` is never closed")),
        };
        let span = fspan.to(close);
        let kind = match (fname, kind) {
            // as in lavaan, a name inside a modifier makes it a label
            (_, ModKind::Label(v)) if matches!(fname, "start" | "equal" | "label" | "c") => ModKind::Label(v),
            ("start", ModKind::Fixed(v)) => ModKind::Start(v),
            ("lower", ModKind::Fixed(v)) => ModKind::Lower(v),
            ("upper", ModKind::Fixed(v)) => ModKind::Upper(v),
            ("equal" | "label", ModKind::Fixed(v)) if v.iter().all(Option::is_none) => ModKind::Label(v.iter().map(|_| None).collect()),
            ("fixed" | "c" | "as.numeric", ModKind::Fixed(v)) => ModKind::Fixed(v),
            _ => {
                return Err(
                    Diagnostic::new(format!("`{fname}(...)` cannot hold this `{inner}(...)`"), ispan, "unexpected value")
                        .help("per-group values are written `start(c(1.2, 0.6))*x`, `equal(c(\"a\", \"b\"))*x` or `c(a, b)*x`"),
                )
            }
        };
        return Ok((kind, span));
    }
    let mut items: Vec<(Tok, Span)> = Vec::new();
    let close_span;
    loop {
        let Some(t) = p.next() else {
            return Err(Diagnostic::new("unbalanced parentheses", open.span, "this `(` is never closed"));
        };
        match &t.tok {
            Tok::RParen if items.is_empty() => {
                close_span = t.span;
                break;
            }
            Tok::Minus => match p.next() {
                Some(Token { tok: Tok::Number(v), span }) => items.push((Tok::Number(-v), t.span.to(*span))),
                _ => return Err(Diagnostic::new("a `-` must be followed by a number", t.span, "expected a number")),
            },
            Tok::Number(_) | Tok::Str(_) | Tok::Ident(_) => items.push((t.tok.clone(), t.span)),
            other => {
                return Err(Diagnostic::new(
                    format!("unexpected {} inside `{fname}(...)`", other.describe()),
                    t.span,
                    "expected a number, NA or a label",
                ))
            }
        }
        match p.next() {
            Some(Token { tok: Tok::Comma, .. }) => continue,
            Some(Token { tok: Tok::RParen, span }) => {
                close_span = *span;
                break;
            }
            Some(t) => {
                if !p.toks[p.pos..].iter().any(|t| t.tok == Tok::RParen) {
                    return Err(Diagnostic::new("unbalanced parentheses", open.span, "this `(` is never closed"));
                }
                return Err(Diagnostic::new(
                    format!("expected `,` or `)`, found {}", t.tok.describe()),
                    t.span,
                    "expected `,` or `)`",
                ));
            }
            None => return Err(Diagnostic::new("unbalanced parentheses", open.span, "this `(` is never closed")),
        }
    }
    let span = fspan.to(close_span);
    let nums = |items: &[(Tok, Span)]| -> R<Vec<Option<f64>>> {
        items
            .iter()
            .map(|(t, s)| match t {
                Tok::Number(v) => Ok(Some(*v)),
                Tok::Ident(n) if n == "NA" => Ok(None),
                _ => Err(Diagnostic::new(
                    format!("`{fname}(...)` takes numbers"),
                    *s,
                    "expected a number or NA",
                )),
            })
            .collect()
    };
    let labels = |items: &[(Tok, Span)]| -> R<Vec<Option<String>>> {
        items
            .iter()
            .map(|(t, s)| match t {
                Tok::Ident(n) if n == "NA" => Ok(None),
                Tok::Str(n) | Tok::Ident(n) => Ok(Some(n.clone())),
                _ => Err(Diagnostic::new(format!("`{fname}(...)` takes labels"), *s, "expected a label")),
            })
            .collect()
    };
    if items.is_empty() {
        return Err(Diagnostic::new(
            format!("`{fname}()` is empty"),
            span,
            "expected at least one value",
        ));
    }
    // as in lavaan, a name inside a modifier makes it a label: `start(a)` is the label a
    let symbols: Vec<Option<String>> = items
        .iter()
        .filter_map(|(t, _)| match t {
            Tok::Ident(n) if n != "NA" => Some(Some(n.clone())),
            _ => None,
        })
        .collect();
    if !symbols.is_empty() {
        return Ok((ModKind::Label(symbols), span));
    }
    let kind = match fname {
        "start" => ModKind::Start(nums(&items)?),
        "lower" => ModKind::Lower(nums(&items)?),
        "upper" => ModKind::Upper(nums(&items)?),
        "equal" | "label" => ModKind::Label(labels(&items)?),
        "fixed" => ModKind::Fixed(nums(&items)?),
        "as.numeric" if items.len() == 1 => ModKind::Fixed(nums(&items)?),
        "c" => {
            let all_num = items
                .iter()
                .all(|(t, _)| matches!(t, Tok::Number(_)) || matches!(t, Tok::Ident(n) if n == "NA"));
            if all_num {
                ModKind::Fixed(nums(&items)?)
            } else {
                ModKind::Label(labels(&items)?)
            }
        }
        "sqrt" | "exp" | "log" | "abs" if items.len() == 1 && matches!(items[0].0, Tok::Number(_)) => {
            let Tok::Number(v) = items[0].0 else { unreachable!() };
            let f = match fname {
                "sqrt" => v.sqrt(),
                "exp" => v.exp(),
                "log" => v.ln(),
                _ => v.abs(),
            };
            ModKind::Fixed(vec![Some(f)])
        }
        _ => {
            return Err(
                Diagnostic::new(format!("unknown modifier `{fname}(...)`"), fspan, "not a lavaan modifier")
                    .help("modifiers are a number, NA, a label, start(v), lower(v), upper(v), equal(\"lbl\"), label(\"lbl\") or c(...)"),
            )
        }
    };
    Ok((kind, span))
}

fn parse_full_expr(p: &mut P) -> R<Expr> {
    let e = parse_sum(p)?;
    if let Some(t) = p.peek() {
        let msg = if t.tok == Tok::RParen {
            "unbalanced parentheses: a `)` without its `(`".to_string()
        } else {
            format!("unexpected {} in the expression", t.tok.describe())
        };
        return Err(Diagnostic::new(
            msg,
            t.span,
            "expected an operator (+ - * / ^) or the end of the expression",
        ));
    }
    Ok(e)
}

fn parse_sum(p: &mut P) -> R<Expr> {
    p.enter()?;
    let e = parse_sum_inner(p)?;
    p.leave();
    Ok(e)
}

fn parse_sum_inner(p: &mut P) -> R<Expr> {
    let mut e = parse_product(p)?;
    while let Some(t) = p.peek() {
        let c = match t.tok {
            Tok::Plus => '+',
            Tok::Minus => '-',
            _ => break,
        };
        p.next();
        p.op()?;
        let r = parse_product(p)?;
        e = Expr::Bin(c, Box::new(e), Box::new(r));
    }
    Ok(e)
}

fn parse_product(p: &mut P) -> R<Expr> {
    let mut e = parse_unary(p)?;
    while let Some(t) = p.peek() {
        let c = match t.tok {
            Tok::Star => '*',
            Tok::Slash => '/',
            _ => break,
        };
        p.next();
        p.op()?;
        let r = parse_unary(p)?;
        e = Expr::Bin(c, Box::new(e), Box::new(r));
    }
    Ok(e)
}

fn parse_unary(p: &mut P) -> R<Expr> {
    match p.peek().map(|t| &t.tok) {
        Some(Tok::Minus) => {
            p.next();
            p.op()?;
            p.enter()?;
            let e = parse_unary(p)?;
            p.leave();
            Ok(Expr::Neg(Box::new(e)))
        }
        Some(Tok::Plus) => {
            p.next();
            p.enter()?;
            let e = parse_unary(p)?;
            p.leave();
            Ok(e)
        }
        _ => parse_power(p),
    }
}

fn parse_power(p: &mut P) -> R<Expr> {
    let base = parse_primary(p)?;
    if p.peek().is_some_and(|t| t.tok == Tok::Caret) {
        p.next();
        p.op()?;
        p.enter()?;
        let exp = parse_unary(p)?;
        p.leave();
        return Ok(Expr::Bin('^', Box::new(base), Box::new(exp)));
    }
    Ok(base)
}

const FUNCTIONS: &[&str] = &["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "pnorm", "qnorm"];

fn parse_primary(p: &mut P) -> R<Expr> {
    let here = p.here();
    let found = p.found();
    let Some(t) = p.next() else {
        return Err(Diagnostic::new(
            "the expression is incomplete",
            here,
            "expected a number, a label or `(`",
        ));
    };
    match &t.tok {
        Tok::Number(v) => Ok(Expr::Num(*v)),
        Tok::Ident(s) => {
            if p.peek().is_some_and(|n| n.tok == Tok::LParen) {
                if !FUNCTIONS.contains(&s.as_str()) {
                    return Err(
                        Diagnostic::new(format!("unknown function `{s}`"), t.span, "not a supported function")
                            .help(format!("supported: {}", FUNCTIONS.join(", "))),
                    );
                }
                let open = p.next().unwrap();
                let mut args = vec![];
                if p.peek().is_some_and(|n| n.tok == Tok::RParen) {
                    return Err(Diagnostic::new(
                        format!("`{s}()` needs an argument"),
                        open.span,
                        "expected an argument",
                    ));
                }
                p.op()?;
                loop {
                    args.push(parse_sum(p)?);
                    match p.next() {
                        Some(Token { tok: Tok::Comma, .. }) => continue,
                        Some(Token { tok: Tok::RParen, .. }) => break,
                        Some(t) => {
                            return Err(Diagnostic::new(
                                format!("expected `,` or `)`, found {}", t.tok.describe()),
                                t.span,
                                "expected `)`",
                            ))
                        }
                        None => return Err(Diagnostic::new("unbalanced parentheses", open.span, "this `(` is never closed")),
                    }
                }
                Ok(Expr::Call(
                    Name {
                        name: s.clone(),
                        span: t.span,
                    },
                    args,
                ))
            } else {
                Ok(Expr::Var(Name {
                    name: s.clone(),
                    span: t.span,
                }))
            }
        }
        Tok::LParen => {
            if p.at_end() {
                return Err(Diagnostic::new("unbalanced parentheses", t.span, "this `(` is never closed"));
            }
            let e = parse_sum(p)?;
            match p.next() {
                Some(Token { tok: Tok::RParen, .. }) => Ok(e),
                _ => Err(Diagnostic::new("unbalanced parentheses", t.span, "this `(` is never closed")),
            }
        }
        _ => Err(Diagnostic::new(
            format!("the expression is incomplete: found {found}"),
            t.span,
            "expected a number, a label or `(`",
        )),
    }
}

/// A chain of modifiers (`a*start(0.5)*x`, `0.5*2*x`) means what it means
/// to lavaan: with a label in it, only the label is kept; a chain of plain
/// numbers is their product; anything else is ambiguous and rejected.
fn combine_chain(mods: Vec<Modifier>, warnings: &mut Vec<Diagnostic>) -> R<Vec<Modifier>> {
    if mods.len() < 2 {
        return Ok(mods);
    }
    let span = mods[0].span.to(mods[mods.len() - 1].span);
    let labels: Vec<&Modifier> = mods.iter().filter(|m| matches!(m.kind, ModKind::Label(_))).collect();
    if labels.len() > 1 {
        return Err(Diagnostic::new("this term has two labels", labels[1].span, "a second label")
            .help("a parameter has one label; write `a*x` and refer to it as `a`"));
    }
    if let Some(l) = labels.first() {
        let l = (*l).clone();
        warnings.push(
            Diagnostic::new(
                "lavaan keeps only the label of a chained modifier; the other modifiers here are ignored",
                span,
                "only the label counts",
            )
            .help("to give a start value or fixed value as well, repeat the term: `a*x + start(0.5)*x`"),
        );
        return Ok(vec![l]);
    }
    let mut prod = 1.0;
    for m in &mods {
        match &m.kind {
            ModKind::Fixed(v) if v.len() == 1 && v[0].is_some() => prod *= v[0].unwrap(),
            _ => {
                return Err(
                    Diagnostic::new("these modifiers cannot be combined in one chain", span, "ambiguous chain")
                        .help("repeat the term with one modifier each: `x + start(0.5)*x`"),
                )
            }
        }
    }
    Ok(vec![Modifier {
        kind: ModKind::Fixed(vec![Some(prod)]),
        span,
    }])
}

/// The value of an expression without names (`(-1)`, `(2/3)`).
fn eval_const(e: &Expr) -> Option<f64> {
    Some(match e {
        Expr::Num(v) => *v,
        Expr::Var(_) => return None,
        Expr::Neg(a) => -eval_const(a)?,
        Expr::Bin(op, a, b) => {
            let (a, b) = (eval_const(a)?, eval_const(b)?);
            match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                '/' => a / b,
                _ => a.powf(b),
            }
        }
        Expr::Call(f, args) => {
            let a = eval_const(args.first()?)?;
            match f.name.as_str() {
                "sqrt" => a.sqrt(),
                "exp" => a.exp(),
                "log" => a.ln(),
                "abs" => a.abs(),
                _ => return None,
            }
        }
    })
    .filter(|v| v.is_finite())
}
