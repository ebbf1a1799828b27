//! Lexer for lavaan model syntax. It turns the text into tokens with byte spans
//! and drops comments (`#` and `!` to the end of the line). A `;` is a line
//! break, exactly as in lavaan. Operators are read as one run of the operator
//! characters `~ = < > : | %` so that a typo such as `~~~` is reported as one
//! unknown operator instead of a confusing pair of known ones.

use super::diag::{Diagnostic, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(f64),
    Str(String),
    Op(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Question,
    LParen,
    RParen,
    Comma,
    /// A line break (`\n` or `;`); the parser decides whether it ends a statement.
    Newline,
}

impl Tok {
    /// How the token reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Number(_) => "a number".into(),
            Tok::Str(s) => format!("the string \"{s}\""),
            Tok::Op(s) => format!("`{s}`"),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Caret => "`^`".into(),
            Tok::Question => "`?`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Newline => "the end of the line".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '.'
}

/// Letters, digits, `_`, `.`, and combining marks (an accent typed as a
/// letter followed by U+0301): names are then normalized to NFC, so `é`
/// typed either way is one name, as it is in the data's header.
fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || unicode_normalization::char::is_combining_mark(c)
}

/// A name in Unicode's composed form (NFC).
pub fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if unicode_normalization::is_nfc(s) {
        s.to_string()
    } else {
        s.nfc().collect()
    }
}

const OP_CHARS: &[char] = &['~', '=', '<', '>', ':', '|', '%'];

/// Tokenize a whole model file.
pub fn lex(src: &str) -> Result<Vec<Token>, Diagnostic> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        let single = |tok: Tok| Token {
            tok,
            span: Span::new(i, i + c.len_utf8()),
        };
        match c {
            '\n' | ';' => {
                out.push(single(Tok::Newline));
                it.next();
            }
            '#' | '!' => {
                while let Some(&(_, c)) = it.peek() {
                    if c == '\n' {
                        break;
                    }
                    it.next();
                }
            }
            c if c.is_whitespace() || c == '\u{feff}' => {
                it.next();
            }
            '"' | '\'' => {
                let quote = c;
                it.next();
                let mut s = String::new();
                let mut end = None;
                for (j, d) in it.by_ref() {
                    if d == quote {
                        end = Some(j + 1);
                        break;
                    }
                    if d == '\n' {
                        break;
                    }
                    s.push(d);
                }
                match end {
                    Some(e) => out.push(Token {
                        tok: Tok::Str(nfc(&s)),
                        span: Span::new(i, e),
                    }),
                    None => {
                        return Err(Diagnostic::new(
                            "unterminated string",
                            Span::new(i, i + 1),
                            format!("this {quote} is never closed on its line"),
                        ))
                    }
                }
            }
            c if c.is_ascii_digit() || (c == '.' && src[i + 1..].chars().next().is_some_and(|d| d.is_ascii_digit())) => {
                let end = scan_number(src, i);
                let text = &src[i..end];
                let v: f64 = text
                    .parse()
                    .map_err(|_| Diagnostic::new(format!("`{text}` is not a number"), Span::new(i, end), "not a number"))?;
                if !v.is_finite() {
                    return Err(Diagnostic::new(
                        format!("`{text}` is too large to be a number"),
                        Span::new(i, end),
                        "beyond the largest finite number",
                    ));
                }
                // An identifier glued to a number (`1x`) is an error, not two tokens.
                if let Some(d) = src[end..].chars().next() {
                    if is_ident_start(d) {
                        let mut e2 = end;
                        for (k, d) in src[end..].char_indices() {
                            if !is_ident_continue(d) {
                                break;
                            }
                            e2 = end + k + d.len_utf8();
                        }
                        return Err(Diagnostic::new(
                            format!("`{}` is not a valid name or number", &src[i..e2]),
                            Span::new(i, e2),
                            "names must start with a letter, `.` or `_`",
                        ));
                    }
                }
                while it.peek().is_some_and(|&(j, _)| j < end) {
                    it.next();
                }
                out.push(Token {
                    tok: Tok::Number(v),
                    span: Span::new(i, end),
                });
            }
            '_' => {
                return Err(Diagnostic::new(
                    "a name cannot start with `_`",
                    Span::new(i, i + 1),
                    "names start with a letter or `.`",
                ))
            }
            c if is_ident_start(c) => {
                let mut end = i;
                loop {
                    while let Some(&(j, d)) = it.peek() {
                        if !is_ident_continue(d) {
                            break;
                        }
                        end = j + d.len_utf8();
                        it.next();
                    }
                    // an interaction term `x1:x2` (lavaan builds the product
                    // column) is one name; `:=` stays an operator
                    let rest = &src[end..];
                    let mut chars = rest.chars();
                    if chars.next() == Some(':') && chars.next().is_some_and(is_ident_start) {
                        it.next();
                        end += 1;
                        continue;
                    }
                    break;
                }
                out.push(Token {
                    tok: Tok::Ident(nfc(&src[i..end])),
                    span: Span::new(i, end),
                });
            }
            // `~*~` (scale factor) is the one operator with a `*` inside
            '~' if src[i..].starts_with("~*~") => {
                it.next();
                it.next();
                it.next();
                out.push(Token {
                    tok: Tok::Op("~*~".to_string()),
                    span: Span::new(i, i + 3),
                });
            }
            c if OP_CHARS.contains(&c) => {
                let mut end = i;
                while let Some(&(j, d)) = it.peek() {
                    if !OP_CHARS.contains(&d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push(Token {
                    tok: Tok::Op(src[i..end].to_string()),
                    span: Span::new(i, end),
                });
            }
            _ => {
                let tok = match c {
                    '+' => Tok::Plus,
                    '-' => Tok::Minus,
                    '*' => Tok::Star,
                    '/' => Tok::Slash,
                    '^' => Tok::Caret,
                    '?' => Tok::Question,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => {
                        return Err(Diagnostic::new(
                            format!("unexpected character `{c}`"),
                            Span::new(i, i + c.len_utf8()),
                            "not part of lavaan model syntax",
                        ))
                    }
                };
                out.push(single(tok));
                it.next();
            }
        }
    }
    Ok(out)
}

/// End of a decimal number starting at `i`: digits, fraction, exponent.
fn scan_number(src: &str, i: usize) -> usize {
    let b = src.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j < b.len() && b[j] == b'.' {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    j
}
