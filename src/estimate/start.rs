//! Starting values in lavaan's manner (`start = "default"`): loadings from a
//! one-factor FABIN 3 estimate per factor, residual variances at half the
//! sample variance, latent variances 0.05, regressions and covariances 0
//! (ordinary least squares for path models without latent variables),
//! intercepts at the sample means. A user's `start(v)` overrides. Fixed.x
//! rows take their sample values here too (they are fixed cells).
//! `simple` is the fallback for a retry: loadings 1, variances 1.

use super::objective::GroupData;
use crate::model::ram::Mat;
use crate::model::Model;
use nalgebra::DMatrix;

/// Put sample values in the fixed.x cells of every group.
pub fn bind_fixed_x(model: &mut Model, data: &[GroupData]) {
    let p = model.ram.p();
    for (g, gm) in model.ram.groups.iter_mut().enumerate() {
        for c in gm.cells.iter_mut() {
            if model.pt.rows[c.row].exo == 1 && c.i < p && c.j < p {
                c.fixed = match c.mat {
                    Mat::S => data[g].cov[(c.i, c.j)],
                    Mat::M => data[g].mean[c.i],
                    Mat::A => c.fixed,
                };
            }
        }
    }
}

/// lavaan-style starting values for the free parameters; 0.5 for a
/// parameter in no RAM matrix (`cell_start` leaves those to the caller).
pub fn default_start(model: &Model, data: &[GroupData], simple: bool) -> Vec<f64> {
    let mut x = cell_start(model, data, simple);
    for v in x.iter_mut() {
        if !v.is_finite() {
            *v = 0.5;
        }
    }
    x
}

/// lavaan-style starting values for the free parameters of the RAM
/// matrices; NaN for the others (thresholds, scale factors), which the
/// ordinal estimators start from the data.
pub fn cell_start(model: &Model, data: &[GroupData], simple: bool) -> Vec<f64> {
    let ram = &model.ram;
    let p = ram.p();
    let mut x = vec![f64::NAN; ram.nx];
    let no_latent = ram.lv.is_empty();
    for (g, gm) in ram.groups.iter().enumerate() {
        let d = &data[g];
        let s = &d.cov;
        let loadings = if simple { vec![] } else { fabin_loadings(model, s) };
        let ols = if no_latent && !simple { ols_start(model, g, s) } else { vec![] };
        for c in &gm.cells {
            let Some(xi) = c.x else { continue };
            if !x[xi].is_nan() {
                continue;
            }
            let row = &model.pt.rows[c.row];
            if let Some(v) = row.ustart {
                x[xi] = v;
                continue;
            }
            let v = match c.mat {
                Mat::A => {
                    if row.op == "=~" {
                        if simple {
                            1.0
                        } else {
                            loadings.iter().find(|(f, i, _)| *f == c.j && *i == c.i).map_or(1.0, |t| t.2)
                        }
                    } else {
                        ols.iter().find(|(i, j, _)| *i == c.i && *j == c.j).map_or(0.0, |t| t.2)
                    }
                }
                Mat::S if c.i == c.j => {
                    if c.i < p {
                        let resid = ols.iter().find(|(i, j, _)| *i == c.i && *j == usize::MAX).map(|t| t.2);
                        resid.unwrap_or(0.5 * s[(c.i, c.i)])
                    } else if simple || std_lv_like(model, c.i - p) {
                        1.0
                    } else {
                        lv_variance(model, s, c.i, &loadings).unwrap_or(0.05)
                    }
                }
                Mat::S => 0.0,
                Mat::M => {
                    if c.i < p {
                        d.mean[c.i]
                    } else {
                        0.0
                    }
                }
            };
            x[xi] = v;
        }
    }
    x
}

/// A factor whose loadings are all free is scaled by its variance (std.lv):
/// start that variance at 1 instead of 0.05.
fn std_lv_like(model: &Model, lv: usize) -> bool {
    let name = &model.ram.lv[lv];
    let loads: Vec<_> = model.pt.rows.iter().filter(|r| r.op == "=~" && r.lhs == *name).collect();
    !loads.is_empty() && loads.iter().all(|r| r.free > 0)
}

/// A data-based start for a latent (residual) variance, where lavaan starts
/// at 0.05: with the marker m loading 1 and FABIN loadings l_j, each
/// cov(m, j) / l_j estimates the factor's variance; their mean, halved for a
/// dependent factor (whose residual variance is asked for), clamped to
/// [0.05, var(m)]. Only the starting point changes, not the estimate; it
/// saves a fifth of the Fisher-scoring iterations on the Bradford model.
fn lv_variance(model: &Model, s: &DMatrix<f64>, f: usize, loadings: &[(usize, usize, f64)]) -> Option<f64> {
    let ram = &model.ram;
    let name = &ram.lv[f - ram.p()];
    let (_, inds) = model.pt.names.indicators.iter().find(|(l, _)| l == name)?;
    let m = ram.index(&inds[0]).filter(|&m| m < ram.p())?;
    let marker_fixed_one = model
        .pt
        .rows
        .iter()
        .any(|r| r.op == "=~" && r.lhs == *name && r.rhs == inds[0] && r.free == 0 && r.ustart == Some(1.0));
    if !marker_fixed_one {
        return None;
    }
    let est: Vec<f64> = loadings
        .iter()
        // a loading that is not negligible in the variables' own units (a
        // loading of 1e-4 is ordinary when the marker is in units 1e4 times
        // smaller; an absolute bound left such factors at 0.05, far from
        // their variance, and FIML crawled there for hundreds of iterations)
        .filter(|(lf, j, l)| *lf == f && *j != m && l.abs() * (s[(m, m)] / s[(*j, *j)]).sqrt() > 1e-3)
        .map(|(_, j, l)| s[(m, *j)] / l)
        .collect();
    if est.is_empty() {
        return None;
    }
    let mut v = est.iter().sum::<f64>() / est.len() as f64;
    if model.pt.rows.iter().any(|r| r.op == "~" && r.lhs == *name) {
        v *= 0.5;
    }
    v.is_finite().then(|| v.clamp(0.05, s[(m, m)].max(0.05)))
}

/// From this many indicators of one factor on, FABIN 3 inverts their
/// covariance matrix once (`fabin_one_inverse`) instead of once per
/// indicator: O(k^3) instead of O(k^4), which for 3000 indicators is the
/// difference between seconds and days. Smaller factors keep the direct
/// formula (and so their bits).
const FABIN_ONE_INVERSE: usize = 30;

/// FABIN 3 loadings of indicators 1..k of `sub` (indicator 0 the marker)
/// from one inverse. For indicator i with instruments r = J \ {i}, J =
/// {1..k-1}, the loading is s_ir S_rr^-1 s_r0 / s_0r S_rr^-1 s_r0. With T =
/// S_JJ^-1, z = T s_J0 and c = T_ii, the inverse of S_rr is T_rr - T_ri
/// T_ir / c (the Schur complement), so S_rr^-1 s_r0 = z_r - T_ri z_i / c and
/// both sums are O(k) per indicator. `None` when S_JJ is not positive
/// definite (the caller then goes indicator by indicator).
fn fabin_one_inverse(sub: &DMatrix<f64>) -> Option<Vec<f64>> {
    let k = sub.nrows();
    let m = k - 1;
    let sjj = DMatrix::from_fn(m, m, |a, b| sub[(a + 1, b + 1)]);
    let t = super::chol::Chol::new(&sjj)?.inverse();
    let v: Vec<f64> = (0..m).map(|a| sub[(a + 1, 0)]).collect();
    let z: Vec<f64> = (0..m).map(|a| (0..m).map(|b| t[(a, b)] * v[b]).sum()).collect();
    let mut lam = vec![1.0; k];
    for i in 0..m {
        let c = t[(i, i)];
        let (mut num, mut den) = (0.0, 0.0);
        for j in (0..m).filter(|&j| j != i) {
            let mv = z[j] - t[(j, i)] * z[i] / c;
            num += sub[(i + 1, j + 1)] * mv;
            den += v[j] * mv;
        }
        lam[i + 1] = num / den;
    }
    Some(lam)
}

/// (factor index, indicator index, loading) from FABIN 3 per factor.
fn fabin_loadings(model: &Model, s: &DMatrix<f64>) -> Vec<(usize, usize, f64)> {
    let ram = &model.ram;
    let p = ram.p();
    let mut out = Vec::new();
    for (f, inds) in &model.pt.names.indicators {
        let fi = ram.index(f).unwrap();
        let idx: Vec<usize> = inds.iter().filter_map(|v| ram.index(v)).collect();
        if idx.iter().any(|&i| i >= p) || idx.len() < 3 {
            continue;
        }
        let k = idx.len();
        let sub = DMatrix::from_fn(k, k, |a, b| s[(idx[a], idx[b])]);
        let mut lam = vec![1.0; k];
        if k == 3 {
            lam[1] = sub[(2, 1)] / sub[(2, 0)];
            lam[2] = sub[(2, 1)] / sub[(1, 0)];
        } else if let Some(l) = (k >= FABIN_ONE_INVERSE).then(|| fabin_one_inverse(&sub)).flatten() {
            lam = l;
        } else {
            for i in 1..k {
                let rest: Vec<usize> = (1..k).filter(|&j| j != i).collect();
                let r = rest.len();
                let srr = DMatrix::from_fn(r, r, |a, b| sub[(rest[a], rest[b])]);
                let Some(inv) = srr.try_inverse() else {
                    continue;
                };
                let s_ir = DMatrix::from_fn(1, r, |_, b| sub[(i, rest[b])]);
                let s_1r = DMatrix::from_fn(1, r, |_, b| sub[(0, rest[b])]);
                let s_r1 = s_1r.transpose();
                let num = (&s_ir * &inv * &s_r1)[(0, 0)];
                let den = (&s_1r * &inv * &s_r1)[(0, 0)];
                lam[i] = num / den;
            }
        }
        let any_bad = lam.iter().any(|v| !v.is_finite());
        for i in 1..k {
            let bound = (sub[(i, i)] / (0.1 * sub[(0, 0)])).sqrt();
            let v = if any_bad { 1.0 } else { lam[i].clamp(-bound, bound) };
            out.push((fi, idx[i], v));
        }
    }
    out
}

/// OLS starting values for `y ~ xs` in models without latent variables:
/// (y, x, beta) and (y, usize::MAX, residual variance).
fn ols_start(model: &Model, g: usize, s: &DMatrix<f64>) -> Vec<(usize, usize, f64)> {
    let ram = &model.ram;
    let mut out = Vec::new();
    let mut ys: Vec<usize> = ram.groups[g].cells.iter().filter(|c| c.mat == Mat::A).map(|c| c.i).collect();
    ys.sort_unstable();
    ys.dedup();
    for y in ys {
        let xs: Vec<usize> = ram.groups[g]
            .cells
            .iter()
            .filter(|c| c.mat == Mat::A && c.i == y)
            .map(|c| c.j)
            .collect();
        let r = xs.len();
        let sxx = DMatrix::from_fn(r, r, |a, b| s[(xs[a], xs[b])]);
        let sxy = DMatrix::from_fn(r, 1, |a, _| s[(xs[a], y)]);
        let Some(inv) = sxx.try_inverse() else {
            continue;
        };
        let beta = &inv * &sxy;
        for (k, &xj) in xs.iter().enumerate() {
            out.push((y, xj, beta[(k, 0)]));
        }
        let resid = s[(y, y)] - (beta.transpose() * &sxy)[(0, 0)];
        if resid > 0.01 * s[(y, y)] && resid < 0.99 * s[(y, y)] {
            out.push((y, usize::MAX, resid));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-inverse FABIN 3 gives the per-indicator formula's loadings.
    #[test]
    fn fabin_with_one_inverse_matches_the_direct_formula() {
        let k = 9;
        // a one-factor covariance matrix with unequal loadings, plus noise off the diagonal
        let lam: Vec<f64> = (0..k).map(|i| 0.5 + 0.07 * i as f64).collect();
        let sub = DMatrix::from_fn(k, k, |a, b| {
            lam[a] * lam[b] + if a == b { 0.6 } else { 0.01 * ((a * 7 + b * 7) % 5) as f64 }
        });
        let fast = fabin_one_inverse(&sub).unwrap();
        for i in 1..k {
            let rest: Vec<usize> = (1..k).filter(|&j| j != i).collect();
            let r = rest.len();
            let inv = DMatrix::from_fn(r, r, |a, b| sub[(rest[a], rest[b])]).try_inverse().unwrap();
            let s_ir = DMatrix::from_fn(1, r, |_, b| sub[(i, rest[b])]);
            let s_r1 = DMatrix::from_fn(r, 1, |a, _| sub[(rest[a], 0)]);
            let want = (&s_ir * &inv * &s_r1)[(0, 0)] / (s_r1.transpose() * &inv * &s_r1)[(0, 0)];
            assert!((fast[i] - want).abs() < 1e-10 * want.abs(), "indicator {i}: {} vs {want}", fast[i]);
        }
    }
}
