//! Text tables for terminals: a cell's width is the number of terminal
//! columns it takes, not its number of characters (an East Asian wide
//! character takes two columns, a combining mark none), and a number wider
//! than its column still gets a space before it. Kept apart from the
//! renderers so that each of them can use it.

/// A number right-aligned in `w` columns, with at least one space before
/// it when it is as wide as the column (a wide value never runs into the
/// one before it).
pub fn cell(s: String, w: usize) -> String {
    // `{:>w$}` counts characters; a number's are ASCII, one byte each
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len() + w.max(n + 1) - n);
    out.extend(std::iter::repeat_n(' ', if n >= w { 1 } else { w - n }));
    out.push_str(&s);
    out
}

/// `s` padded with spaces to `w` terminal columns: East Asian wide
/// characters take two columns, combining marks none (`{:<w$}` counts
/// characters, which misaligns a table of CJK names).
pub fn pad_right(s: &str, w: usize) -> String {
    let used = width(s);
    let mut out = String::with_capacity(s.len() + w.saturating_sub(used));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out
}

/// Terminal columns of `s`: its length when it is ASCII (each character
/// one column, as nearly every name and number is), else Unicode's widths.
fn width(s: &str) -> usize {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.len()
    } else {
        unicode_width::UnicodeWidthStr::width(s)
    }
}

/// The longest start of `s` that fits in `w` terminal columns.
pub fn take_width(s: &str, w: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            used <= w
        })
        .collect()
}

/// `s` right-aligned in `w` terminal columns (see `pad_right`).
pub fn pad_left(s: &str, w: usize) -> String {
    let used = width(s);
    let mut out = String::with_capacity(s.len() + w.saturating_sub(used));
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out.push_str(s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_counts_terminal_columns() {
        // two columns per CJK character, none for a combining accent
        assert_eq!(pad_right("因子", 6), "因子  ");
        assert_eq!(pad_left("因子", 6), "  因子");
        assert_eq!(pad_right("e\u{301}", 3), "e\u{301}  ");
        assert_eq!(take_width("満足度指標", 7), "満足度");
        assert_eq!(cell("5.03e199".into(), 9), " 5.03e199");
        assert_eq!(cell("-5.033e199".into(), 9), " -5.033e199");
        assert_eq!(cell("1.5".into(), 9), "      1.5");
        assert_eq!(cell("".into(), 3), "   ");
        assert_eq!(cell("abc".into(), 0), " abc");
        // ASCII control characters take Unicode's widths, as before
        assert_eq!(
            pad_right("a\tb", 5),
            format!("a\tb{}", " ".repeat(5 - unicode_width::UnicodeWidthStr::width("a\tb")))
        );
        for (s, w) in [("x1", 8), ("loading", 3), ("", 4), ("f1 =~ x2", 12)] {
            assert_eq!(pad_right(s, w), format!("{s:<w$}"));
            assert_eq!(pad_left(s, w), format!("{s:>w$}"));
            assert_eq!(
                cell(s.to_string(), w),
                if s.len() >= w { format!(" {s}") } else { format!("{s:>w$}") }
            );
        }
    }
}
