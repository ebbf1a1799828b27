//! Diagnostics a person can act on: a message, the byte span it points at, and
//! what was expected. Rendering turns the span into `file:line:column`, prints
//! the offending line and puts a caret under the token, the way lavaan's own
//! parser and rustc do. Everything that reads user text (model files, CSV
//! headers) reports through this one type so every message looks alike.

use std::fmt::Write as _;

/// A half-open byte range `start..end` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// One error in a model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// One sentence: what is wrong.
    pub message: String,
    pub span: Span,
    /// Short text printed after the caret (what was expected there).
    pub label: String,
    /// Optional advice on what to do.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span,
            label: label.into(),
            help: None,
        }
    }
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// 1-based line and column (in characters) of the span's start.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        line_col(src, self.span.start)
    }

    /// Render as `error: ...`, ` --> file:line:col`, the source line and a caret.
    pub fn render(&self, file: &str, src: &str) -> String {
        let (line, col) = self.line_col(src);
        let start = self.span.start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[line_start..].find('\n').map_or(src.len(), |i| line_start + i);
        let text = src[line_start..line_end].trim_end_matches('\r');
        let end = self.span.end.clamp(start, line_end);
        let width = src[start..end].chars().count().max(1);
        // a very long line is shown as a window around the caret
        let (shown, caret_at, width) = window(text, col - 1, width);
        let gutter = line.to_string().len();
        let mut out = String::new();
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "{:gutter$}--> {file}:{line}:{col}", "");
        let _ = writeln!(out, "{:gutter$} |", "");
        let _ = writeln!(out, "{line} | {}", shown.replace('\t', " "));
        let _ = writeln!(out, "{:gutter$} | {}{} {}", "", " ".repeat(caret_at), "^".repeat(width), self.label);
        if let Some(h) = &self.help {
            let _ = writeln!(out, "{:gutter$} = help: {h}", "");
        }
        out
    }
}

/// Lines longer than this many characters are cut around the caret.
const MAX_SHOWN: usize = 120;

/// The part of `text` to show, where the caret goes in it and how wide it
/// is: the whole line when it is short, else a window around character
/// `col` with `...` where text was cut.
fn window(text: &str, col: usize, width: usize) -> (String, usize, usize) {
    let n = text.chars().count();
    if n <= MAX_SHOWN {
        return (text.to_string(), col, width);
    }
    let from = col.saturating_sub(MAX_SHOWN / 3);
    let to = (from + MAX_SHOWN).min(n);
    let mut shown: String = text.chars().skip(from).take(to - from).collect();
    let mut caret_at = col - from;
    if from > 0 {
        shown.insert_str(0, "...");
        caret_at += 3;
    }
    if to < n {
        shown.push_str("...");
    }
    (shown, caret_at, width.min(to.saturating_sub(col)).max(1))
}

/// Old Mac line ends: a `\r` not followed by `\n` ends a line, as R's
/// `readLines()` (and so lavaan) reads it. Each becomes `\n` (one byte for
/// one, so every byte offset stays where it was); CRLF is left alone (the
/// `\r` is whitespace before the line break).
pub fn lone_cr_to_lf(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let b = text.as_bytes();
    let mut out = b.to_vec();
    for i in 0..b.len() {
        if b[i] == b'\r' && b.get(i + 1) != Some(&b'\n') {
            out[i] = b'\n';
        }
    }
    String::from_utf8(out).unwrap_or(text)
}

/// 1-based line and character column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..offset].chars().count() + 1;
    (line, col)
}
