//! Measurement quality (`--validity`): the reliability and validity table a
//! paper shows before its structural results, with semTools 0.5-6's
//! definitions, per group. For a factor f with observed indicators I (its
//! `=~` rows with an observed right-hand side; second-order loadings do not
//! count, as in lavaan's LAMBDA), Lambda its loadings, phi its model-implied
//! variance (lavaan's `cov.lv`) and S the sample covariance matrix (the
//! N-denominator `sampstat`, lavaan's h1 moments):
//!
//! - alpha (`compRelSEM(tau.eq = TRUE)`): k/(k-1) (1 - tr S_II / sum S_II);
//! - omega (`compRelSEM()`): sum(Lambda phi Lambda') / sum(S_II);
//! - AVE (`AVE()`): phi sum(Lambda^2) / tr S_II, undefined (null) when one of
//!   the indicators also loads on another factor with two or more indicators;
//! - the largest squared model-implied correlation with another factor, and
//!   Fornell–Larcker: AVE above every one of them;
//! - HTMT (`htmt(model, data)`, its default `htmt2 = TRUE`): with R the
//!   absolute sample correlations, the geometric mean of the between-block
//!   correlations over the square root of the product of the two geometric
//!   means of the within-block ones.
//!
//! semTools drops factors with one indicator (`dropSingle`); here they stay
//! in the table with null measures and a warning saying why.
//!
//! Ordinal indicators (a factor whose indicators are all ordinal, delta
//! parameterization), as semTools 0.5-6 does with its default `ord.scale =
//! TRUE`: alpha as above on the covariance matrix of the observed codes;
//! omega is Green and Yang's (2009) categorical omega (semTools' `omegaCat`):
//! with tau_jc the model's thresholds, R = Lambda phi Lambda' and P the
//! sample polychoric correlations,
//! `sum_jj' [sum_cc' Phi2(tau_jc, tau_j'c'; R_jj') - sum_c Phi(tau_jc) sum_c' Phi(tau_j'c')]`
//! over the same sum with P_jj' in place of R_jj' (P_jj = 1); AVE is
//! phi sum(Lambda^2) over the sum of the polychoric variances (1 each), and
//! HTMT uses the polychoric (polyserial) correlations, as `htmt(ordered =)`.
//! A factor with both ordinal and continuous indicators has null measures
//! (semTools refuses its alpha and omega too), as has the theta
//! parameterization, with a warning.

use crate::estimate::objective::GroupData;
use crate::model::ram::Implied;
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// One factor's row of the table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FactorValidity {
    pub factor: String,
    pub group: usize,
    pub indicators: usize,
    pub alpha: Option<f64>,
    pub omega: Option<f64>,
    pub ave: Option<f64>,
    pub sqrt_ave: Option<f64>,
    pub max_squared_correlation: Option<f64>,
    /// the other factor with the largest squared correlation
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_squared_correlation_with: Option<String>,
    pub fornell_larcker: Option<bool>,
}

/// HTMT of one pair of factors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HtmtPair {
    pub a: String,
    pub b: String,
    pub group: usize,
    pub htmt: Option<f64>,
}

/// The `validity` key of the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Validity {
    pub factors: Vec<FactorValidity>,
    pub htmt: Vec<HtmtPair>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The table for every group, with warnings for what is not defined.
/// Ordinal data of a fit: the three-stage statistics of each group and
/// whether the parameterization is delta (the one the categorical measures
/// are computed for).
pub struct OrdinalData<'a> {
    pub stats: &'a [crate::ordinal::OrdinalStats],
    pub delta: bool,
    /// the estimated thresholds (`|` rows, in order) and scale factors
    /// (`~*~` rows) by (variable, group from 1): the estimators keep them
    /// outside the RAM matrices
    pub thresholds: std::collections::HashMap<(String, usize), Vec<f64>>,
    pub scales: std::collections::HashMap<(String, usize), f64>,
}

/// Green and Yang's categorical omega (semTools' `omegaCat` with unit
/// scales): `th[j]` the thresholds of indicator j, `truevar` and `denom` as
/// functions of (j, j').
fn omega_categorical(th: &[Vec<f64>], truevar: impl Fn(usize, usize) -> f64, denom: impl Fn(usize, usize) -> f64) -> f64 {
    use crate::ordinal::normal::{pbinorm, pnorm};
    let p2 = |a: f64, b: f64, r: f64| {
        if r >= 1.0 {
            pnorm(a.min(b))
        } else {
            pbinorm(a, b, r)
        }
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (j, t1) in th.iter().enumerate() {
        for (jp, t2) in th.iter().enumerate() {
            let (r, d) = (truevar(j, jp), denom(j, jp));
            let (mut sn, mut sd) = (0.0, 0.0);
            for &a in t1 {
                for &b in t2 {
                    sn += p2(a, b, r);
                    sd += p2(a, b, d);
                }
            }
            let m: f64 = t1.iter().map(|&a| pnorm(a)).sum::<f64>() * t2.iter().map(|&b| pnorm(b)).sum::<f64>();
            num += sn - m;
            den += sd - m;
        }
    }
    num / den
}

pub fn validity(
    model: &Model,
    x: &[f64],
    data: &[GroupData],
    labels: &crate::data::groups::GroupLabels,
    ordinal_data: Option<&OrdinalData>,
) -> (Validity, Vec<String>) {
    let ram = &model.ram;
    let p = ram.p();
    let values = super::row_values(model, x);
    let mut out = Validity::default();
    let mut warnings = Vec::new();
    let gname = |g: usize| labels.in_group(g, data.len());
    for (g, d) in data.iter().enumerate() {
        // factors in order of appearance, with their observed indicators and loadings
        let mut factors: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
        for (r, row) in model.pt.rows.iter().enumerate() {
            if row.op != "=~" || row.group.max(1) != g + 1 {
                continue;
            }
            let Some(i) = ram.index(&row.rhs).filter(|&i| i < p) else {
                continue;
            };
            let v = values[r];
            let k = match factors.iter().position(|(f, _)| *f == row.lhs) {
                Some(k) => k,
                None => {
                    factors.push((row.lhs.clone(), vec![]));
                    factors.len() - 1
                }
            };
            if v != 0.0 && v.is_finite() {
                factors[k].1.push((i, v));
            }
        }
        if factors.is_empty() {
            if g == 0 {
                warnings.push("--validity: the model has no factor measured by observed indicators (`f =~ x1 + x2 + x3`), so reliability (alpha, omega), AVE and HTMT are not defined; the validity table is empty".into());
            }
            continue;
        }
        let (a, s, m) = ram.matrices(g, x);
        let imp = Implied::new(&a, &s, &m, p);
        let lv = |f: &str| ram.index(f).filter(|&v| v >= p);
        let phi = |f1: &str, f2: &str| -> Option<f64> { finite(imp.as_ref()?.c[(lv(f1)?, lv(f2)?)]) };
        let cov = &d.cov;
        // with ordinal variables: the polychoric (polyserial, Pearson) matrix
        let poly = ordinal_data.and_then(|o| o.stats.get(g)).map(|s| &s.cov);
        let corr = poly.unwrap_or(cov);
        let delta = ordinal_data.is_none_or(|o| o.delta);
        let is_ord = |i: usize| model.pt.names.ov_ord.contains(&ram.ov[i]);
        // the model's thresholds of an ordinal indicator in this group, in order
        let thresholds = |i: usize| -> Vec<f64> {
            ordinal_data
                .and_then(|o| o.thresholds.get(&(ram.ov[i].clone(), g + 1)))
                .cloned()
                .unwrap_or_default()
        };
        // the scale factor of an ordinal indicator (`~*~`, lavaan's delta; 1
        // unless freed in later groups), semTools' getScales()
        let scale = |i: usize| -> f64 {
            ordinal_data
                .and_then(|o| o.scales.get(&(ram.ov[i].clone(), g + 1)))
                .copied()
                .filter(|s| s.is_finite())
                .unwrap_or(1.0)
        };
        // indicators of multi-indicator factors that load on more than one of them
        let multi: Vec<&(String, Vec<(usize, f64)>)> = factors.iter().filter(|(_, l)| l.len() > 1).collect();
        let crossloaded = |i: usize| {
            multi
                .iter()
                .filter(|(_, l)| l.iter().any(|(j, v)| *j == i && v.abs() >= 5e-6))
                .count()
                > 1
        };
        // ordinal indicators: semTools uses its categorical omega (omegaCat) and
        // alpha of the observed codes there, which sem does not compute yet
        let ordinal = |l: &[(usize, f64)]| l.iter().any(|(i, _)| is_ord(*i));
        let all_ordinal = |l: &[(usize, f64)]| l.iter().all(|(i, _)| is_ord(*i));
        for (f, loads) in &factors {
            let k = loads.len();
            let mut row = FactorValidity {
                factor: f.clone(),
                group: g + 1,
                indicators: k,
                alpha: None,
                omega: None,
                ave: None,
                sqrt_ave: None,
                max_squared_correlation: None,
                max_squared_correlation_with: None,
                fornell_larcker: None,
            };
            // largest squared correlation with another factor
            let vf = phi(f, f);
            for (o, _) in &factors {
                if o == f {
                    continue;
                }
                let r2 = match (vf, phi(o, o), phi(f, o)) {
                    (Some(a), Some(b), Some(c)) if a > 0.0 && b > 0.0 => finite(c * c / (a * b)),
                    _ => None,
                };
                if let Some(r2) = r2 {
                    if row.max_squared_correlation.is_none_or(|m| r2 > m) {
                        row.max_squared_correlation = Some(r2);
                        row.max_squared_correlation_with = Some(o.clone());
                    }
                }
            }
            if ordinal(loads) && !all_ordinal(loads) {
                warnings.push(format!(
                    "--validity: factor `{f}`{} has both ordinal and continuous indicators; alpha, omega and AVE are not defined for such a composite (semTools refuses them too), so they are null",
                    gname(g)
                ));
                out.factors.push(row);
                continue;
            }
            if ordinal(loads) && !delta {
                warnings.push(format!(
                    "--validity: factor `{f}`{} has ordinal indicators and the model uses --parameterization theta; the categorical omega and AVE are computed for the delta parameterization only, so they are null",
                    gname(g)
                ));
                out.factors.push(row);
                continue;
            }
            if k < 2 {
                warnings.push(format!(
                    "--validity: factor `{f}`{} has {} indicator{}, so alpha, omega and AVE are not defined (they need two or more indicators; semTools drops such factors); they are null",
                    gname(g),
                    k,
                    if k == 1 { "" } else { "s" }
                ));
                out.factors.push(row);
                continue;
            }
            let idx: Vec<usize> = loads.iter().map(|(i, _)| *i).collect();
            let total: f64 = idx
                .iter()
                .flat_map(|&i| idx.iter().map(move |&j| (i, j)))
                .map(|(i, j)| cov[(i, j)])
                .sum();
            let trace: f64 = idx.iter().map(|&i| cov[(i, i)]).sum();
            let kf = k as f64;
            row.alpha = finite(kf / (kf - 1.0) * (1.0 - trace / total));
            if let Some(v) = vf {
                let sl: f64 = loads.iter().map(|(_, l)| l).sum();
                let sl2: f64 = loads.iter().map(|(_, l)| l * l).sum();
                let trace = if ordinal(loads) {
                    idx.iter().map(|&i| corr[(i, i)] / scale(i).powi(2)).sum()
                } else {
                    trace
                };
                row.omega = if ordinal(loads) {
                    let sc: Vec<f64> = idx.iter().map(|&i| scale(i)).collect();
                    let th: Vec<Vec<f64>> = idx
                        .iter()
                        .zip(&sc)
                        .map(|(&i, s)| thresholds(i).iter().map(|t| t * s).collect())
                        .collect();
                    let denom = |a: usize, b: usize| corr[(idx[a], idx[b])] / (corr[(idx[a], idx[a])] * corr[(idx[b], idx[b])]).sqrt();
                    let truevar = |a: usize, b: usize| sc[a] * loads[a].1 * loads[b].1 * v * sc[b];
                    finite(omega_categorical(&th, truevar, denom))
                } else {
                    finite(sl * sl * v / total)
                };
                if idx.iter().any(|&i| crossloaded(i)) {
                    warnings.push(format!(
                        "--validity: factor `{f}`{} has an indicator that also loads on another factor, so its AVE is not defined (as in semTools' AVE()); it is null",
                        gname(g)
                    ));
                } else {
                    row.ave = finite(sl2 * v / trace);
                }
            } else {
                warnings.push(format!(
                    "--validity: the model-implied variance of factor `{f}`{} cannot be computed, so its omega and AVE are null",
                    gname(g)
                ));
            }
            row.sqrt_ave = row.ave.filter(|a| *a >= 0.0).map(f64::sqrt);
            row.fornell_larcker = match (row.ave, row.max_squared_correlation) {
                (Some(a), Some(m)) => Some(a > m),
                _ => None,
            };
            out.factors.push(row);
        }
        // HTMT from the absolute sample correlations (polychoric with ordinal data)
        let r = |i: usize, j: usize| (corr[(i, j)] / (corr[(i, i)] * corr[(j, j)]).sqrt()).abs();
        let geo = |pairs: Vec<(usize, usize)>| -> Option<f64> {
            if pairs.is_empty() {
                return None;
            }
            let n = pairs.len() as f64;
            finite((pairs.iter().map(|&(i, j)| r(i, j).ln()).sum::<f64>() / n).exp())
        };
        let within = |l: &[(usize, f64)]| {
            let mut v = vec![];
            for (a, (i, _)) in l.iter().enumerate() {
                for (j, _) in &l[a + 1..] {
                    v.push((*i, *j));
                }
            }
            geo(v)
        };
        let w: Vec<Option<f64>> = factors.iter().map(|(_, l)| within(l)).collect();
        for a in 0..factors.len() {
            for b in a + 1..factors.len() {
                let mut between = vec![];
                for (i, _) in &factors[a].1 {
                    for (j, _) in &factors[b].1 {
                        if i != j {
                            between.push((*i, *j));
                        }
                    }
                }
                if factors[a].1.iter().any(|(i, _)| factors[b].1.iter().any(|(j, _)| i == j)) {
                    warnings.push(format!(
                        "--validity: `{}` and `{}`{} share an indicator; their HTMT leaves out its correlation with itself (semTools' htmt() stops on such models)",
                        factors[a].0,
                        factors[b].0,
                        gname(g)
                    ));
                }
                let either_ordinal = poly.is_none() && (ordinal(&factors[a].1) || ordinal(&factors[b].1));
                let h = match (geo(between), w[a], w[b]) {
                    _ if either_ordinal => None,
                    (Some(ab), Some(wa), Some(wb)) if wa > 0.0 && wb > 0.0 => finite(ab / (wa * wb).sqrt()),
                    _ => None,
                };
                if either_ordinal {
                    warnings.push(format!(
                        "--validity: HTMT of `{}` and `{}`{} is null: ordinal indicators (semTools' htmt(ordered =) uses polychoric correlations, not computed here yet)",
                        factors[a].0,
                        factors[b].0,
                        gname(g)
                    ));
                } else if h.is_none() {
                    let one = [a, b]
                        .iter()
                        .filter(|&&k| factors[k].1.len() < 2)
                        .map(|&k| format!("`{}`", factors[k].0))
                        .collect::<Vec<_>>();
                    let why = if one.is_empty() {
                        "the correlations are zero or cannot be computed".to_string()
                    } else {
                        format!(
                            "{} has fewer than two indicators, so its within-factor correlation is not defined",
                            one.join(" and ")
                        )
                    };
                    warnings.push(format!(
                        "--validity: HTMT of `{}` and `{}`{} is null: {why}",
                        factors[a].0,
                        factors[b].0,
                        gname(g)
                    ));
                }
                out.htmt.push(HtmtPair {
                    a: factors[a].0.clone(),
                    b: factors[b].0.clone(),
                    group: g + 1,
                    htmt: h,
                });
            }
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One indicator with one threshold at 0: numerator and denominator are
    /// Phi2(0, 0; r) - 1/4, so omega = arcsin(r) / arcsin(1) for r = lambda^2 phi.
    #[test]
    fn categorical_omega_of_a_single_binary_item() {
        let th = vec![vec![0.0]];
        let r = 0.5;
        let w = omega_categorical(&th, |_, _| r, |_, _| 1.0);
        let want = r.asin() / 1f64.asin();
        assert!((w - want).abs() < 1e-10, "{w} vs {want}");
    }
}
