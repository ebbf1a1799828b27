//! Interaction terms: a model that writes `y ~ x1:x2` has an observed
//! variable named `x1:x2`, and lavaan builds its column in the data as the
//! product of the columns `x1` and `x2` (missing when either is). The data
//! readers only know real columns, so the columns are asked for by their
//! components (`base_columns`) and the products are put in afterwards
//! (`with_products`), in the order of the model's variables.

use super::Dataset;

/// The components of an interaction term's name (`x1:x2` -> x1, x2), or
/// `None` for an ordinary name.
pub fn components(name: &str) -> Option<Vec<&str>> {
    name.contains(':').then(|| name.split(':').collect())
}

/// The columns to read for the variables `want`: each interaction term
/// replaced by its components, each name once, in order. lavaan 0.6-14
/// builds a product only of two observed variables of the model; any other
/// term is refused with a message naming it.
pub fn base_columns(want: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for w in want {
        let parts = components(w).unwrap_or_else(|| vec![w.as_str()]);
        if parts.len() > 1 {
            if parts.len() != 2 {
                return Err(format!(
                    "the interaction term `{w}` has {} parts; lavaan builds products of two variables (`x1:x2`) only: compute the product column in the data and use its name",
                    parts.len()
                ));
            }
            if let Some(p) = parts.iter().find(|p| !want.iter().any(|v| v == *p)) {
                return Err(format!(
                    "the interaction term `{w}` needs `{p}` as an observed variable of the model: lavaan builds the product column only of observed variables the model uses (latent interactions are not supported)"
                ));
            }
        }
        for p in parts {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    Ok(out)
}

/// The data set with the columns `want`, interaction terms computed as the
/// products of their components (read as `base_columns(want)`).
pub fn with_products(ds: Dataset, want: &[String]) -> Dataset {
    if !want.iter().any(|w| w.contains(':')) {
        return ds;
    }
    let at = |name: &str| ds.names.iter().position(|n| n == name);
    let cols: Vec<Vec<usize>> = want
        .iter()
        .map(|w| {
            components(w)
                .unwrap_or_else(|| vec![w.as_str()])
                .iter()
                .filter_map(|p| at(p))
                .collect()
        })
        .collect();
    let n = ds.nrows();
    let mut values = Vec::with_capacity(n * want.len());
    for i in 0..n {
        let row = ds.row(i);
        for c in &cols {
            values.push(c.iter().map(|&k| row[k]).product());
        }
    }
    Dataset {
        file: ds.file,
        names: want.to_vec(),
        values,
        lines: ds.lines,
        group: ds.group,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_in_model_order() {
        let ds = Dataset {
            file: "d.csv".into(),
            names: vec!["x1".into(), "x2".into(), "y".into()],
            values: vec![1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0],
            lines: vec![2, 3],
            group: None,
        };
        let want: Vec<String> = ["y", "x1", "x2", "x1:x2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(base_columns(&want).unwrap(), vec!["y", "x1", "x2"]);
        let bad = |w: &[&str]| base_columns(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_err();
        assert!(bad(&["y", "x1", "x1:f"]).contains("needs `f`"));
        assert!(bad(&["y", "a", "b", "c", "a:b:c"]).contains("3 parts"));
        let out = with_products(ds, &want);
        assert_eq!(out.names, want);
        assert_eq!(&out.values[..4], &[3.0, 1.0, 2.0, 2.0]);
        assert_eq!(&out.values[4..5], &[6.0]);
        assert!(out.values[6].is_nan() && out.values[7].is_nan());
    }
}
