//! How a message names a group of a multiple-group analysis. A group is a
//! value of the `--group` column, and a bare "group 2" leaves the reader
//! guessing whether 2 is that value or a position (the value might be "2"
//! and be the first group). Every message therefore names the group by its
//! value, quoted, and adds its position among the groups:
//! `group school = "Pasteur" (1st of 2)`.

/// The group column and its values in order of first appearance (lavaan's
/// group order); empty values mean a single-group analysis.
#[derive(Debug, Clone, Default)]
pub struct GroupLabels {
    pub column: Option<String>,
    pub values: Vec<String>,
}

/// 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, ...
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl GroupLabels {
    pub fn new(column: Option<&str>, values: &[String]) -> GroupLabels {
        GroupLabels {
            column: column.map(str::to_string),
            values: values.to_vec(),
        }
    }

    /// `group school = "Pasteur" (1st of 2)` for group index `g` (from 0) of
    /// `ngroups`; without a known value, `the 2nd of 3 groups`.
    pub fn describe(&self, g: usize, ngroups: usize) -> String {
        let n = ngroups.max(self.values.len());
        match (self.values.get(g), &self.column) {
            (Some(v), Some(c)) => format!("group {c} = {v:?} ({} of {n})", ordinal(g + 1)),
            (Some(v), None) => format!("group {v:?} ({} of {n})", ordinal(g + 1)),
            (None, _) => format!("the {} of {n} groups", ordinal(g + 1)),
        }
    }

    /// ` in group ...` for a multiple-group model, empty for a single group.
    pub fn in_group(&self, g: usize, ngroups: usize) -> String {
        if ngroups.max(self.values.len()) > 1 {
            format!(" in {}", self.describe(g, ngroups))
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_group_by_value_and_position() {
        let l = GroupLabels::new(Some("g"), &["16".to_string(), "3".to_string()]);
        assert_eq!(l.describe(0, 2), "group g = \"16\" (1st of 2)");
        assert_eq!(l.in_group(1, 2), " in group g = \"3\" (2nd of 2)");
        assert_eq!(GroupLabels::default().in_group(0, 1), "");
        assert_eq!(GroupLabels::default().describe(2, 3), "the 3rd of 3 groups");
        let o: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].iter().map(|&n| ordinal(n)).collect();
        assert_eq!(
            o,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
        );
    }
}
