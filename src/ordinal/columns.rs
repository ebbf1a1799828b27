//! From the data file to ordinal columns: which observed variables are
//! ordinal (`--ordered all|COL,COL` and the variables with `|` rows in the
//! model), their categories (the sorted distinct values of the column over
//! all groups, as lavaan takes an ordered factor's levels from the whole
//! column), and the per-group sample statistics of `super::ordinal_stats`.
//! Every refusal names the column and says what to do.

use super::{ordinal_stats_with_levels, OrdMissing, OrdinalStats};
use crate::data::read::did_you_mean;
use crate::data::Dataset;

/// An ordinal column may have at most this many categories.
pub const MAX_CATEGORIES: usize = 20;

/// What `--ordered` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderedSpec {
    /// every observed variable of the model
    All,
    /// these columns
    Cols(Vec<String>),
}

impl OrderedSpec {
    /// From the comma-separated values of `--ordered` (none: not given).
    pub fn parse(items: &[String]) -> Result<Option<OrderedSpec>, String> {
        let items: Vec<String> = items.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            return Ok(None);
        }
        if items.iter().any(|s| s == "all") {
            if items.len() > 1 {
                return Err("--ordered takes `all` alone, or a list of columns (--ordered x1,x2)".into());
            }
            return Ok(Some(OrderedSpec::All));
        }
        Ok(Some(OrderedSpec::Cols(items)))
    }
}

/// The ordinal variables of a model, in its observed-variable order `ov`:
/// those `spec` declares and those with `|` rows (`ov_ord`). Exogenous
/// covariates (`ov_x`) are not ordinal: the statistics are conditional on
/// them (lavaan's conditional.x, `super::exo`); one declared ordinal is
/// treated as numeric with a warning (as lavaan), unless it is all `spec` declares.
/// `is_column(name)` says whether a name that is not a model variable is a
/// column of the data file (such names are ignored with a warning, as lavaan
/// ignores `ordered =` names the model does not use).
pub fn ordinal_names(
    spec: Option<&OrderedSpec>,
    ov: &[String],
    ov_ord: &[String],
    ov_x: &[String],
    data_file: &str,
    is_column: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut declared: Vec<&str> = ov_ord.iter().map(String::as_str).collect();
    match spec {
        None => {}
        Some(OrderedSpec::All) => declared.extend(ov.iter().filter(|v| !ov_x.contains(v)).map(String::as_str)),
        Some(OrderedSpec::Cols(cols)) => {
            for c in cols {
                if ov.contains(c) {
                    declared.push(c);
                } else if is_column(c) {
                    warnings.push(format!("--ordered: `{c}` is not a variable of the model; ignored"));
                } else {
                    let mut msg = format!("--ordered: `{c}` is not a column of {data_file}");
                    if let Some(d) = did_you_mean(c, ov) {
                        msg.push_str(&format!("; did you mean `{d}`?"));
                    }
                    return Err(msg);
                }
            }
        }
    }
    let mut names: Vec<String> = ov.iter().filter(|v| declared.contains(&v.as_str())).cloned().collect();
    let exo: Vec<String> = names.iter().filter(|v| ov_x.contains(v)).cloned().collect();
    // lavaan treats an exogenous covariate declared ordered as numeric (and
    // warns), when other variables are ordinal; alone, it would be ML on
    // continuous data, which --ordered does not mean
    if let Some(x) = exo.first() {
        if exo.len() == names.len() || ov_ord.contains(x) {
            return Err(format!(
                "`{x}` is an exogenous covariate (a predictor only); a covariate cannot be ordinal (lavaan conditions on it as a number): leave it out of --ordered"
            ));
        }
        warnings.push(format!(
            "--ordered: exogenous covariate(s) {} declared ordinal are treated as numeric, as lavaan does (the statistics are conditional on them)",
            exo.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        ));
        names.retain(|v| !exo.contains(v));
    }
    Ok(names)
}

/// The categories of each ordinal column (the sorted distinct values over
/// all rows), with the refusals: more than `MAX_CATEGORIES` values, or only
/// one.
pub fn detect_levels(ds: &Dataset, names: &[String]) -> Result<Vec<(String, Vec<f64>)>, String> {
    let p = ds.names.len();
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let j = ds
            .names
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| format!("ordinal variable `{n}` was not read from {}", ds.file))?;
        let lv = super::categories_strided(&ds.values, j, p);
        if lv.len() > MAX_CATEGORIES {
            return Err(format!(
                "{}: the ordinal column `{n}` has {} distinct values; an ordinal variable may have at most {MAX_CATEGORIES} categories. Is it continuous? Leave it out of --ordered",
                ds.file,
                lv.len()
            ));
        }
        if lv.len() < 2 {
            let what = match lv.first() {
                Some(v) => format!("only one value ({v})"),
                None => "no values".to_string(),
            };
            return Err(format!(
                "{}: the ordinal column `{n}` has {what}; an ordinal variable needs at least two categories. Leave it out of the model or of --ordered",
                ds.file
            ));
        }
        out.push((n.clone(), lv));
    }
    Ok(out)
}

/// The sample statistics of each group: the model's observed variables `ov`
/// (ordinal where `levels` lists them), rows `group_rows[g]` of `ds`.
pub fn group_stats(
    ds: &Dataset,
    group_rows: &[Vec<usize>],
    group_names: &[String],
    ov: &[String],
    levels: &[(String, Vec<f64>)],
    missing: OrdMissing,
) -> Result<Vec<OrdinalStats>, String> {
    let idx = column_indices(ds, ov)?;
    let lv: Vec<Vec<f64>> = ov
        .iter()
        .map(|v| levels.iter().find(|(n, _)| n == v).map(|(_, l)| l.clone()).unwrap_or_default())
        .collect();
    per_group(ds, group_rows, group_names, |take| {
        ordinal_stats_with_levels(&take(&idx), ov, &lv, missing)
    })
}

/// The positions of `names` among the columns read from `ds`.
pub fn column_indices(ds: &Dataset, names: &[String]) -> Result<Vec<usize>, String> {
    names
        .iter()
        .map(|v| {
            ds.names
                .iter()
                .position(|c| c == v)
                .ok_or_else(|| format!("variable `{v}` was not read from {}", ds.file))
        })
        .collect()
}

/// `stats` of each group's rows of `ds` (given a function that takes
/// columns by position over those rows), an error prefixed with the file
/// and, with groups, the group it happened in.
pub fn per_group(
    ds: &Dataset,
    group_rows: &[Vec<usize>],
    group_names: &[String],
    mut stats: impl FnMut(&dyn Fn(&[usize]) -> Vec<Vec<f64>>) -> Result<OrdinalStats, String>,
) -> Result<Vec<OrdinalStats>, String> {
    let p = ds.names.len();
    let mut out = Vec::with_capacity(group_rows.len());
    for (g, rows) in group_rows.iter().enumerate() {
        let take = |idx: &[usize]| -> Vec<Vec<f64>> { idx.iter().map(|&j| rows.iter().map(|&i| ds.values[i * p + j]).collect()).collect() };
        let st = stats(&take).map_err(|e| match group_names.get(g) {
            Some(_) => format!(
                "{} ({}): {e}",
                ds.file,
                crate::data::groups::GroupLabels::new(None, group_names).describe(g, group_names.len())
            ),
            None => format!("{}: {e}", ds.file),
        })?;
        out.push(st);
    }
    Ok(out)
}
