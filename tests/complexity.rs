//! The parameter table must stay linear in its rows (issue 18: a linear
//! `exists()` scan inside the loops over pairs of factors made `sem check` on
//! 1000 factors take minutes). Timing a big model in a test is flaky and
//! slow, so this test reads the code instead: in the files that build the
//! table and the model matrices (`src/model/`), a linear search over a list
//! of names or rows (`.iter().any(..)`, `.iter().find(..)`,
//! `.iter().position(..)`, `names.ov.contains(..)`) is refused unless it is
//! listed below with the reason it is bounded. Lookups go through the hash
//! indexes of `VarNames` (`is_lv`, `is_ov`, `is_ov_x`, `first_indicator`,
//! `single_indicator_of`) and `Ram::index`. The time itself is measured by
//! the criterion group `partable` (benches/sem.rs; numbers in BENCHMARKS.md).

use std::path::Path;

/// Linear searches that are bounded by a constant or run once, not per row.
const ALLOWED: &[(&str, &str)] = &[
    ("[\"~~\", \"~1\", \"=~\", \"~\"].iter().position(", "four operators"),
    ("opt.group_equal.iter().any(", "the --group-equal keywords (at most 9)"),
    ("keys.iter().any(", "the --group-equal keywords (at most 9)"),
    ("OPERATORS.iter().any(", "three operators"),
    ("let any_label = rows.iter().any(", "one pass over the rows, outside any loop"),
    ("idx.iter().find(", "the rows tied by one label: each row is in one such list"),
    (
        "let borrowed = ls.iter().any(",
        "the loadings of one factor in one group: each row once",
    ),
    (
        "let categorical = !opt.ordered.is_empty() || syntax.statements.iter().any(",
        "one pass over the statements, outside any loop",
    ),
    (
        "if !rows.iter().any(|r| partial_names(r).contains(&p))",
        "once per --group-partial entry (a short list the user types)",
    ),
    (
        "if partial.iter().any(|p| pn.contains(p))",
        "the --group-partial entries (a short list the user types)",
    ),
];

const PATTERNS: &[&str] = &[
    ".iter().any(",
    ".iter().find(",
    ".iter().position(",
    ".ov.contains(",
    ".lv.contains(",
    ".ov_x.contains(",
    ".exo.contains(",
    ".ov_ord.contains(",
    ".ov_y.contains(",
    ".lv_x.contains(",
    ".lv_y.contains(",
    ".indicators.iter().filter(",
];

#[test]
fn the_parameter_table_path_has_no_unlisted_linear_searches() {
    let mut found = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(Path::new("src/model")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        // unit tests at the end of a file may search freely
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let t = line.trim();
            if t.starts_with("//") {
                continue;
            }
            for p in PATTERNS {
                // `self.index.lv.contains(..)` is a hash set
                if t.contains(p) && !t.contains(&format!(".index{p}")) && !ALLOWED.iter().any(|(a, _)| t.contains(a)) {
                    found.push(format!("{}:{}: `{p}` in `{t}`", path.display(), n + 1));
                }
            }
        }
    }
    assert!(files >= 4, "src/model/ has the table and matrix files");
    assert!(
        found.is_empty(),
        "linear searches on the parameter-table path (use the hash indexes of VarNames / Ram::index, or list the line in ALLOWED with why it is bounded):\n{}",
        found.join("\n")
    );
}

/// The indexes answer as the linear searches did: a model where names repeat
/// across roles (an indicator that is also regressed, a factor that is the
/// single indicator of another) classifies the same way.
#[test]
fn indexed_lookups_answer_as_the_lists_do() {
    use sem::model::vnames::VarNames;
    let rows = [
        ("f1", "=~", "x1"),
        ("f1", "=~", "x2"),
        ("f2", "=~", "x3"),
        ("f2", "=~", "x1"),
        ("g", "=~", "f1"),
        ("y", "~", "f2"),
        ("y", "~", "z"),
        ("z", "~~", "z"),
    ];
    let n = VarNames::from_flat(rows.iter().map(|&(a, b, c)| (a, b, c)), true);
    assert_eq!(n.lv, ["f1", "f2", "g"]);
    assert_eq!(n.ov, ["x1", "x2", "x3", "y", "z"]);
    for v in n.lv.iter().chain(&n.ov) {
        assert_eq!(n.is_lv(v), n.lv.contains(v), "{v}");
        assert_eq!(n.is_ov(v), n.ov.contains(v), "{v}");
        assert_eq!(n.is_ov_x(v), n.ov_x.contains(v), "{v}");
        let first = n
            .indicators
            .iter()
            .find(|(f, _)| f == v)
            .and_then(|(_, i)| i.first())
            .map(String::as_str);
        assert_eq!(n.first_indicator(v), first, "{v}");
        let loads = n.indicators.iter().filter(|(_, i)| i.contains(v)).count();
        let sole = n.indicators.iter().any(|(_, i)| i.len() == 1 && &i[0] == v);
        assert_eq!(n.single_indicator_of(v), loads == 1 && sole, "{v}");
    }
    assert!(n.single_indicator_of("f1"));
    assert!(!n.single_indicator_of("x1"), "x1 loads on two factors");
    assert!(n.exo_freed.contains(&"z".to_string()), "z has a variance formula");
}
