//! The nonparametric bootstrap, as lavaan's `se = "bootstrap"` and
//! `test = "bollen.stine"` do it (lavaan 0.6-14, `lav_bootstrap_internal`,
//! `lav_model_nvcov_bootstrap`, `lav_model_test`, `parameterEstimates`).
//!
//! Draws. Within each group the complete rows (listwise, as the main fit:
//! lavaan resamples the rows it kept) are drawn n_g times with replacement.
//! Each draw gets its own ChaCha8 stream, `seed_from_u64(seed)` with stream
//! number = draw index, so a draw does not depend on which thread runs it or
//! in which order: the same seed gives the same output whatever the thread
//! count. Per draw: sample moments (mean, covariance with divisor n), a fit
//! warm-started from the full-sample estimates (one attempt, as lavaan's
//! `optim.attempts = 1`; fixed.x covariate moments re-bound to the draw's),
//! and the free parameters and chi-square kept. A draw fails when its
//! covariance matrix is singular (a column constant in the draw) or the fit
//! does not converge (within `DRAW_MAX_ITER` iterations, to a point where
//! the gradient vanishes); failed draws are counted, dropped and reported.
//!
//! Standard errors, with B the successful draws and theta_b the draw values:
//!
//!   free parameter:    se = sqrt( sum_b (theta_b - mean)^2 / B )        (lavaan: cov * (B-1)/B)
//!   defined (:=):      se = sqrt( sum_b (def(theta_b) - mean)^2 / (B-1) ) (lavaan: cov(BOOT.def))
//!
//! z = est / se and p = 2 (1 - Phi(|z|)), as lavaan.
//!
//! Intervals at level L, alpha = ((1-L)/2, (1+L)/2), for free and defined
//! parameters, from the B draws t sorted (the `boot` package's `norm.inter`,
//! which lavaan uses, not R's `quantile()`): rk = (B+1) alpha, k = floor(rk);
//! k = rk gives t_(k); k = 0 gives t_(1), k = B gives t_(B); otherwise
//! interpolation on the normal scale:
//!
//!   t_(k) + (qnorm(alpha) - qnorm(k/(B+1))) / (qnorm((k+1)/(B+1)) - qnorm(k/(B+1))) (t_(k+1) - t_(k))
//!
//! - `perc` (lavaan's default `boot.ci.type`): the two quantiles above.
//! - `bca.simple` (lavaan's name): bias-corrected, no acceleration: with
//!   w = qnorm(#{t_b < est} / B) the quantiles are taken at
//!   Phi(2 w + qnorm(alpha)). A free parameter whose draws do not vary keeps
//!   the interval [est, est], as in lavaan.
//! - `bca` (lavaan 0.6-12 on): bias-corrected and accelerated, the quantiles
//!   at Phi(w + (w + z) / (1 - a (w + z))), z = qnorm(alpha), with the
//!   acceleration a from the empirical influence values L: the coefficients
//!   of the least-squares regression of the draws on their case frequencies
//!   (an intercept, the first case of each group left out, a 0 for it),
//!   a = sum (L - mean L)^3 / (6 (sum (L - mean L)^2)^1.5) (`accelerations`).
//!   As lavaan it needs at least as many successful draws as cases. With
//!   several groups lavaan leaves out only the first case for the defined
//!   parameters (a rank-deficient regression); here it is one per group for
//!   both.
//!
//! Bollen-Stine. The data of each group are transformed so that their
//! moments equal the model-implied ones, X* = (X - 1 xbar') S^-1/2 Sigma^1/2
//! (+ 1 mu' with a mean structure; symmetric square roots, S with divisor
//! N), then resampled as above; the p-value is lavaan's share of successful
//! draws whose chi-square is strictly larger than the observed one,
//! #{T_b > T} / B (not (count + 1) / (B + 1)). As in lavaan, with both
//! `--se bootstrap` and `--test bollen-stine` one set of (transformed) draws
//! gives the standard errors and the test. One deliberate difference: with
//! fixed.x covariates lavaan 0.6-14 refits each draw from the parameter
//! table's estimates, so the covariates' (co)variances stay at the
//! full-sample values while the draw's own moments vary; that adds a positive
//! term to every T_b (not to T) and biases the p-value up. Here the draw's
//! covariate moments are used, as for T (the free parameters are the same
//! either way: with fixed.x the likelihood of y given x does not involve them).

use super::defined::evaluate_definitions;
use super::{row_values, RowEstimate};
use crate::data::{Dataset, SampleStats};
use crate::estimate::objective::{eval_group, gradient, GroupData};
use crate::estimate::{minimize_tol, start::bind_fixed_x};
use crate::model::Model;
use nalgebra::DMatrix;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// lavaan's default number of draws.
pub const DEFAULT_DRAWS: usize = 1000;
/// The most draws `--bootstrap` takes. Percentile intervals need every
/// draw's estimates, so memory grows with the draws: this cap keeps it
/// bounded (100,000 draws of 100 parameters are 80 MB), far beyond the
/// 1,000 to 10,000 draws that intervals need.
pub const MAX_DRAWS: usize = 100_000;
/// The seed when `--seed` is not given, so that a run is reproducible.
pub const DEFAULT_SEED: u64 = 1;
/// A draw's fit has converged when no parameter moves by more than this
/// (1e-9 for the main fit): the draws' own spread is many orders larger.
pub const DRAW_XTOL: f64 = 1e-6;
/// ... and the gradient of F is this small in every parameter.
pub const DRAW_GTOL: f64 = 1e-4;
/// Iterations a draw may take from the warm start. Healthy draws need 10 to
/// a few hundred (Bradford: 8-23; HS mediation: at most 337); a draw still
/// moving after this many is an empirically under-identified resample whose
/// parameters run off to infinity, and fails, as lavaan's nlminb stops such
/// draws with non-convergence (HS CFA on 60 rows, `heywood_small`: 112 of
/// 300 draws fail here, 120 in lavaan).
pub const DRAW_MAX_ITER: u64 = 500;

/// lavaan's `boot.ci.type` values that `sem` implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiType {
    /// percentile interval
    Perc,
    /// bias-corrected percentile interval without acceleration
    BcaSimple,
    /// bias-corrected and accelerated (lavaan's "bca"): the acceleration
    /// from empirical influence values by regression on the draws' case
    /// frequencies
    Bca,
}

impl CiType {
    /// lavaan's name
    pub fn name(self) -> &'static str {
        match self {
            CiType::Perc => "perc",
            CiType::BcaSimple => "bca.simple",
            CiType::Bca => "bca",
        }
    }
}

/// What to bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct BootSettings {
    pub draws: usize,
    pub seed: u64,
    pub ci: CiType,
    /// bootstrap standard errors and intervals (`--se bootstrap`)
    pub se: bool,
    /// Bollen-Stine p-value of the model test (`--test bollen-stine`)
    pub bollen_stine: bool,
    /// a progress bar on stderr (hidden when stderr is not a terminal)
    pub progress: bool,
}

/// The report's record of a bootstrap.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BootstrapInfo {
    /// "ordinary" or "bollen.stine" (lavaan's names)
    #[serde(rename = "type")]
    pub kind: String,
    /// draws requested
    pub draws: usize,
    pub successful: usize,
    pub failed: usize,
    pub seed: u64,
    /// the interval type with `--se bootstrap`: "perc", "bca.simple" or "bca"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_type: Option<String>,
}

/// The successful draws, in draw order.
#[derive(Debug, Clone)]
pub struct Draws {
    pub requested: usize,
    /// free parameters of each successful draw
    pub x: Vec<Vec<f64>>,
    /// chi-square (sum_g n_g F_g) of each successful draw
    pub chisq: Vec<f64>,
    pub failed: usize,
    /// the draw number of each successful draw, the seed and the group
    /// sizes: enough to regenerate a draw's case frequencies (BCa)
    pub index: Vec<usize>,
    pub seed: u64,
    pub group_n: Vec<usize>,
}

/// The rows a group resamples: n rows of p values, row-major.
#[derive(Debug, Clone)]
pub struct GroupRows {
    pub p: usize,
    pub values: Vec<f64>,
}

impl GroupRows {
    pub fn n(&self) -> usize {
        self.values.len() / self.p.max(1)
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.p..(i + 1) * self.p]
    }
}

/// The complete rows of each group (the rows listwise deletion keeps).
pub fn complete_rows(ds: &Dataset, group_rows: &[Vec<usize>]) -> Vec<GroupRows> {
    let p = ds.names.len();
    group_rows
        .iter()
        .map(|rows| {
            let mut values = Vec::with_capacity(rows.len() * p);
            for &i in rows {
                let r = ds.row(i);
                if r.iter().all(|v| !v.is_nan()) {
                    values.extend_from_slice(r);
                }
            }
            GroupRows { p, values }
        })
        .collect()
}

/// Symmetric square root (power 1/2) or inverse square root (power -1/2).
fn sym_pow(m: &DMatrix<f64>, inverse: bool) -> Option<DMatrix<f64>> {
    // not nalgebra's SymmetricEigen, which can mismatch eigenvalues and vectors (see `eigen`)
    let e = super::eigen::symmetric_eigen(m);
    if e.values.iter().any(|v| v.is_nan() || *v <= 0.0) {
        return None;
    }
    Some(e.map(|v| if inverse { 1.0 / v.sqrt() } else { v.sqrt() }))
}

/// Bollen-Stine: rows whose moments are the model-implied ones at `x`.
pub fn bollen_stine_rows(model: &Model, x: &[f64], rows: &[GroupRows], data: &[GroupData]) -> Option<Vec<GroupRows>> {
    let mut out = Vec::with_capacity(rows.len());
    for (g, (r, d)) in rows.iter().zip(data).enumerate() {
        let e = eval_group(&model.ram, g, x, d)?;
        let m = sym_pow(&d.cov, true)? * sym_pow(&e.implied.sigma, false)?;
        let (n, p) = (r.n(), r.p);
        let mut xc = DMatrix::from_row_slice(n, p, &r.values);
        for j in 0..p {
            let mean = xc.column(j).sum() / n as f64;
            xc.column_mut(j).add_scalar_mut(-mean);
        }
        let mut t = xc * m;
        if model.ram.meanstructure {
            for j in 0..p {
                t.column_mut(j).add_scalar_mut(e.implied.mu[j]);
            }
        }
        let values = (0..n).flat_map(|i| t.row(i).iter().copied().collect::<Vec<_>>()).collect();
        out.push(GroupRows { p, values });
    }
    Some(out)
}

/// A uniform integer in [0, n) (Lemire's multiply-and-reject: unbiased and
/// the same on every platform).
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let t = n.wrapping_neg() % n;
        while (m as u64) < t {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// Moments of the rows `idx` (divisor n), or `None` when their covariance
/// matrix is singular (lavaan fails such a draw too).
fn moments(rows: &GroupRows, idx: &[usize]) -> Option<GroupData> {
    let (n, p) = (idx.len(), rows.p);
    let mut mean = nalgebra::DVector::zeros(p);
    for &i in idx {
        for (k, v) in rows.row(i).iter().enumerate() {
            mean[k] += v;
        }
    }
    mean /= n as f64;
    let mut cov = DMatrix::zeros(p, p);
    let mut d = vec![0.0; p];
    for &i in idx {
        for (k, v) in rows.row(i).iter().enumerate() {
            d[k] = v - mean[k];
        }
        for a in 0..p {
            for b in 0..=a {
                cov[(a, b)] += d[a] * d[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..=a {
            let v = cov[(a, b)] / n as f64;
            cov[(a, b)] = v;
            cov[(b, a)] = v;
        }
    }
    // a column (almost) constant in the draw, or a linear dependence
    if (0..p).any(|k| cov[(k, k)] <= 1e-12 * (1.0 + mean[k] * mean[k])) || cov.clone().cholesky().is_none() {
        return None;
    }
    let gd = GroupData::new(&SampleStats {
        nobs: n,
        mean,
        cov,
        dropped: 0,
    });
    gd.logdet_s.is_finite().then_some(gd)
}

/// The rows a draw takes from a group of n (with replacement).
fn draw_indices(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    (0..n).map(|_| below(rng, n as u64) as usize).collect()
}

/// The case frequencies of draw `b` (groups one after the other), as
/// `one_draw` drew them.
fn draw_frequencies(seed: u64, b: usize, group_n: &[usize]) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(b as u64);
    let mut out = vec![0.0; group_n.iter().sum()];
    let mut off = 0;
    for &n in group_n {
        for i in draw_indices(&mut rng, n) {
            out[off + i] += 1.0;
        }
        off += n;
    }
    out
}

/// The BCa acceleration of each column of `values` (one row per successful
/// draw), as lavaan's `boot.ci.type = "bca"`: the empirical influence values
/// are the coefficients of the regression of the draws on their case
/// frequencies (intercept, first case of each group left out, then a 0 in
/// its place), L centred, a = sum L^3 / (6 (sum L^2)^1.5). `Err` when the
/// draws are too few (lavaan needs at least as many as cases) or the cases
/// too many for the regression.
pub fn accelerations(draws: &Draws, values: &[Vec<f64>]) -> Result<Vec<f64>, String> {
    let n: usize = draws.group_n.iter().sum();
    let b = values.len();
    if b < n {
        return Err(format!(
            "BCa intervals need at least as many successful bootstrap draws ({b}) as cases ({n}), as in lavaan; use --bootstrap {n} or more"
        ));
    }
    if n > 5000 {
        return Err(format!(
            "BCa intervals are not computed for more than 5000 cases ({n}): use --boot-ci perc or bca.simple"
        ));
    }
    let first: Vec<usize> = draws
        .group_n
        .iter()
        .scan(0, |off, &g| {
            let f = *off;
            *off += g;
            Some(f)
        })
        .collect();
    let keep: Vec<usize> = (0..n).filter(|i| !first.contains(i)).collect();
    let q = keep.len() + 1;
    let k = values.first().map_or(0, |v| v.len());
    // normal equations X'X beta = X'Y with X = [1, FREQ[, keep]]
    let mut xtx = DMatrix::zeros(q, q);
    let mut xty = DMatrix::zeros(q, k);
    for (r, &bi) in draws.index.iter().enumerate().take(b) {
        let f = draw_frequencies(draws.seed, bi, &draws.group_n);
        let row: Vec<f64> = std::iter::once(1.0).chain(keep.iter().map(|&i| f[i])).collect();
        for i in 0..q {
            if row[i] == 0.0 {
                continue;
            }
            for j in 0..q {
                xtx[(i, j)] += row[i] * row[j];
            }
            for c in 0..k {
                xty[(i, c)] += row[i] * values[r][c];
            }
        }
    }
    let beta = xtx
        .clone()
        .cholesky()
        .map(|c| c.solve(&xty))
        .or_else(|| xtx.lu().solve(&xty))
        .ok_or("BCa intervals: the regression on the case frequencies is singular")?;
    Ok((0..k)
        .map(|c| {
            let l: Vec<f64> = std::iter::once(0.0).chain((1..q).map(|i| beta[(i, c)])).collect();
            let mean = l.iter().sum::<f64>() / l.len() as f64;
            let (s2, s3) = l
                .iter()
                .fold((0.0, 0.0), |(a, b), v| (a + (v - mean).powi(2), b + (v - mean).powi(3)));
            if s2 > 0.0 {
                s3 / (6.0 * s2.powf(1.5))
            } else {
                0.0
            }
        })
        .collect())
}

/// One draw: its free parameters and chi-square, or `None` when it fails.
fn one_draw(model: &Model, rows: &[GroupRows], x0: &[f64], seed: u64, b: usize, max_iter: u64, fixed_x: bool) -> Option<(Vec<f64>, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(b as u64);
    let mut data = Vec::with_capacity(rows.len());
    for r in rows {
        let n = r.n();
        if n < 2 {
            return None;
        }
        let idx = draw_indices(&mut rng, n);
        data.push(moments(r, &idx)?);
    }
    let rebound;
    let m = if fixed_x {
        let mut m = model.clone();
        bind_fixed_x(&mut m, &data);
        rebound = m;
        &rebound
    } else {
        model
    };
    let est = minimize_tol(&m.ram, &data, x0.to_vec(), max_iter.min(DRAW_MAX_ITER), DRAW_XTOL);
    if !est.converged || est.x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // a tiny step can also mean a line search that no longer gets anywhere
    let g = gradient(&m.ram, &est.x, &data)?;
    // under constraints, the gradient along the directions they leave free
    let g: Vec<f64> = match m.ram.constraints.as_deref().and_then(|c| c.tangent_basis(&est.x)) {
        Some(k) => (k.transpose() * nalgebra::DVector::from_vec(g)).iter().copied().collect(),
        None => g,
    };
    if g.iter().any(|v| v.is_nan() || v.abs() > DRAW_GTOL) {
        return None;
    }
    let chisq = chisq(m, &est.x, &data)?;
    Some((est.x, chisq))
}

/// The ML chi-square sum_g n_g max(F_g, 0), as `fit::measures` computes it.
pub fn chisq(model: &Model, x: &[f64], data: &[GroupData]) -> Option<f64> {
    let mut t = 0.0;
    for (g, d) in data.iter().enumerate() {
        t += d.n as f64 * eval_group(&model.ram, g, x, d)?.f.max(0.0);
    }
    Some(t)
}

/// Run `draws` bootstrap draws of `rows` in parallel, warm-started at `x0`;
/// `on_draw` is called after each draw (for a progress bar).
pub fn resample(
    model: &Model,
    rows: &[GroupRows],
    x0: &[f64],
    draws: usize,
    seed: u64,
    max_iter: u64,
    on_draw: &(dyn Fn() + Sync),
) -> Draws {
    let fixed_x = model.pt.rows.iter().any(|r| r.exo == 1);
    let results: Vec<Option<(Vec<f64>, f64)>> = (0..draws)
        .into_par_iter()
        .map(|b| {
            let r = one_draw(model, rows, x0, seed, b, max_iter, fixed_x);
            on_draw();
            r
        })
        .collect();
    let mut out = Draws {
        requested: draws,
        x: Vec::with_capacity(draws),
        chisq: Vec::with_capacity(draws),
        failed: 0,
        index: Vec::with_capacity(draws),
        seed,
        group_n: rows.iter().map(|r| r.n()).collect(),
    };
    for (b, r) in results.into_iter().enumerate() {
        match r {
            Some((x, t)) => {
                out.x.push(x);
                out.chisq.push(t);
                out.index.push(b);
            }
            None => out.failed += 1,
        }
    }
    out
}

/// The `boot` package's `norm.inter` for one probability, on sorted finite
/// draws `t` (see the module docs); `extreme` is set when an end point is
/// the smallest or largest draw.
pub fn norm_inter(t: &[f64], alpha: f64, extreme: &mut bool) -> f64 {
    let r = t.len();
    let normal = Normal::new(0.0, 1.0).unwrap();
    let rk = (r as f64 + 1.0) * alpha;
    if !(rk > 1.0 && rk < r as f64) {
        *extreme = true;
    }
    let k = rk.trunc();
    if k <= 0.0 {
        return t[0];
    }
    if k >= r as f64 {
        return t[r - 1];
    }
    let ku = k as usize;
    if k == rk {
        return t[ku - 1];
    }
    let q = |v: f64| normal.inverse_cdf(v);
    let (z, zk, zk1) = (q(alpha), q(k / (r as f64 + 1.0)), q((k + 1.0) / (r as f64 + 1.0)));
    let (tk, tk1) = (t[ku - 1], t[ku]);
    tk + (z - zk) / (zk1 - zk) * (tk1 - tk)
}

/// Standard error and interval of one parameter from its draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootRow {
    pub se: Option<f64>,
    pub ci: Option<(f64, f64)>,
}

/// SE (divisor `B - ddof`) and interval of one parameter with estimate `est`.
pub fn summarize_one(est: f64, draws: &[f64], ddof: f64, level: f64, ci: CiType, free: bool, extreme: &mut bool) -> BootRow {
    summarize_accelerated(est, draws, ddof, level, ci, free, 0.0, extreme)
}

/// `summarize_one` with the BCa acceleration `a` (used by `CiType::Bca`).
#[allow(clippy::too_many_arguments)]
pub fn summarize_accelerated(
    est: f64,
    draws: &[f64],
    ddof: f64,
    level: f64,
    ci: CiType,
    free: bool,
    a: f64,
    extreme: &mut bool,
) -> BootRow {
    let mut t: Vec<f64> = draws.iter().copied().filter(|v| v.is_finite()).collect();
    let b = t.len() as f64;
    if t.is_empty() || b - ddof <= 0.0 {
        return BootRow { se: None, ci: None };
    }
    // a draw that is not finite makes lavaan's cov() NA
    let se = (t.len() == draws.len())
        .then(|| {
            // deviations divided by the largest one: draws near 1e200 (`d := 1e200*a`)
            // do not overflow their squares, draws near 1e-170 do not underflow them
            let mean = t.iter().sum::<f64>() / b;
            let s = t.iter().fold(0.0f64, |m, v| m.max((v - mean).abs()));
            if s == 0.0 {
                return 0.0;
            }
            s * (t.iter().map(|v| ((v - mean) / s).powi(2)).sum::<f64>() / (b - ddof)).sqrt()
        })
        .filter(|se| se.is_finite());
    t.sort_by(f64::total_cmp);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let alpha = [(1.0 - level) / 2.0, (1.0 + level) / 2.0];
    let interval = match ci {
        CiType::Perc => (norm_inter(&t, alpha[0], extreme), norm_inter(&t, alpha[1], extreme)),
        CiType::BcaSimple | CiType::Bca => {
            if free && t[0] == t[t.len() - 1] {
                (est, est)
            } else {
                let below = t.iter().filter(|v| **v < est).count() as f64;
                let w = normal.inverse_cdf(below / b);
                let acc = if ci == CiType::Bca { a } else { 0.0 };
                let adj = |al: f64| {
                    let za = normal.inverse_cdf(al);
                    let z = w + (w + za) / (1.0 - acc * (w + za));
                    if z.is_nan() {
                        al
                    } else {
                        normal.cdf(z)
                    }
                };
                (norm_inter(&t, adj(alpha[0]), extreme), norm_inter(&t, adj(alpha[1]), extreme))
            }
        }
    };
    BootRow { se, ci: Some(interval) }
}

/// Standard errors and intervals of every parameter-table row that has
/// draws (free and defined parameters); `None` for the others. The warnings
/// say when intervals rest on extreme draws.
pub fn summarize(model: &Model, x: &[f64], draws: &Draws, level: f64, ci: CiType) -> (Vec<Option<BootRow>>, Vec<String>) {
    let nrows = model.pt.rows.len();
    let mut out = vec![None; nrows];
    let mut warnings = Vec::new();
    let mut extreme = false;
    let values = row_values(model, x);
    // BCa: the accelerations, or why there are none (then no intervals)
    let accel = |vals: &[Vec<f64>], warnings: &mut Vec<String>| -> Option<Vec<f64>> {
        if ci != CiType::Bca {
            return None;
        }
        match accelerations(draws, vals) {
            Ok(a) => Some(a),
            Err(e) => {
                if !warnings.contains(&e) {
                    warnings.push(e);
                }
                None
            }
        }
    };
    let no_interval = |r: BootRow| BootRow { ci: None, ..r };
    let acc_free = accel(&draws.x, &mut warnings);
    for (i, row) in model.pt.rows.iter().enumerate() {
        if !matches!(row.op.as_str(), "=~" | "~" | "~~" | "~1") {
            continue;
        }
        if let Some(k) = model.x_of_row[i] {
            let col: Vec<f64> = draws.x.iter().map(|d| d[k]).collect();
            let a = acc_free.as_ref().map_or(0.0, |a| a[k]);
            let r = summarize_accelerated(values[i], &col, 0.0, level, ci, true, a, &mut extreme);
            out[i] = Some(if ci == CiType::Bca && acc_free.is_none() {
                no_interval(r)
            } else {
                r
            });
        }
    }
    let def_rows: Vec<usize> = (0..nrows).filter(|&i| model.pt.rows[i].op == ":=").collect();
    if !def_rows.is_empty() {
        if let Ok(defs) = evaluate_definitions(model, &values) {
            let per_draw: Vec<Vec<f64>> = draws
                .x
                .iter()
                .map(|xb| match evaluate_definitions(model, &row_values(model, xb)) {
                    Ok(d) => d.iter().map(|(_, v)| v.v).collect(),
                    Err(_) => vec![f64::NAN; defs.len()],
                })
                .collect();
            let acc_def = accel(&per_draw, &mut warnings);
            for (k, (row, d)) in defs.iter().enumerate() {
                if d.v.is_finite() {
                    let col: Vec<f64> = per_draw.iter().map(|v| v[k]).collect();
                    let a = acc_def.as_ref().map_or(0.0, |a| a[k]);
                    let r = summarize_accelerated(d.v, &col, 1.0, level, ci, false, a, &mut extreme);
                    out[*row] = Some(if ci == CiType::Bca && acc_def.is_none() {
                        no_interval(r)
                    } else {
                        r
                    });
                }
            }
        }
    }
    if extreme {
        warnings.push(format!(
            "some bootstrap confidence intervals use the smallest or largest of the {} successful draws as an end point; use more --bootstrap draws",
            draws.x.len()
        ));
    }
    (out, warnings)
}

/// Put bootstrap standard errors, z, p and intervals into the rows of
/// `parameterEstimates()`; rows without draws (fixed ones) keep theirs.
pub fn apply(rows: &mut [RowEstimate], boot: &[Option<BootRow>]) {
    let normal = Normal::new(0.0, 1.0).unwrap();
    for (r, b) in rows.iter_mut().zip(boot) {
        let (Some(b), Some(est)) = (b, r.est) else { continue };
        r.se = b.se;
        (r.z, r.pvalue) = match b.se {
            Some(se) if se > 0.0 => {
                let z = est / se;
                (Some(z), Some(2.0 * (1.0 - normal.cdf(z.abs()))))
            }
            _ => (None, None),
        };
        (r.ci_lower, r.ci_upper) = match b.ci {
            Some((l, u)) => (Some(l), Some(u)),
            None => (None, None),
        };
    }
}

/// lavaan's Bollen-Stine p-value: #{T_b > T} / B over the successful draws.
pub fn bollen_stine_pvalue(observed: f64, draws: &Draws) -> Option<f64> {
    let b = draws.chisq.len();
    (b > 0).then(|| draws.chisq.iter().filter(|t| **t > observed).count() as f64 / b as f64)
}

/// Everything the pipeline needs from a bootstrap of a fitted model.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub info: BootstrapInfo,
    /// per parameter-table row, with `--se bootstrap`
    pub rows: Option<Vec<Option<BootRow>>>,
    /// with `--test bollen-stine`
    pub bollen_stine_pvalue: Option<f64>,
    pub warnings: Vec<String>,
    /// the successful draws, with `--se bootstrap` (for `--effects`)
    pub draws: Option<Draws>,
}

/// A progress bar on stderr for the draws; indicatif hides it when stderr
/// is not a terminal.
fn progress_bar(draws: usize, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(draws as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} bootstrap [{bar:30}] {pos}/{len} draws, {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    if !bar.is_hidden() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    bar
}

/// Bootstrap a model fitted at `x` (converged, identified) to the complete
/// rows of `ds` in `group_rows`, whose moments are `data`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    model: &Model,
    ds: &Dataset,
    group_rows: &[Vec<usize>],
    data: &[GroupData],
    x: &[f64],
    s: &BootSettings,
    max_iter: u64,
    level: f64,
) -> Outcome {
    let mut warnings = Vec::new();
    let mut rows = complete_rows(ds, group_rows);
    let mut kind = "ordinary";
    if s.bollen_stine {
        match bollen_stine_rows(model, x, &rows, data) {
            Some(t) => {
                rows = t;
                kind = "bollen.stine";
            }
            None => warnings.push(
                "the Bollen-Stine transformation failed (implied or sample covariance matrix not positive definite); ordinary bootstrap draws were used and no Bollen-Stine p-value is reported".into(),
            ),
        }
    }
    let bar = progress_bar(s.draws, s.progress);
    let draws = resample(model, &rows, x, s.draws, s.seed, max_iter, &|| bar.inc(1));
    bar.finish_and_clear();
    let ok = draws.x.len();
    if draws.failed > 0 {
        warnings.push(format!(
            "{} of {} bootstrap draws failed (singular covariance matrix or no convergence) and were dropped; {ok} draws used",
            draws.failed, draws.requested
        ));
    }
    let rows = s.se.then(|| {
        let (r, w) = summarize(model, x, &draws, level, s.ci);
        warnings.extend(w);
        r
    });
    let observed = chisq(model, x, data);
    let bs = (kind == "bollen.stine")
        .then(|| observed.and_then(|t| bollen_stine_pvalue(t, &draws)))
        .flatten();
    Outcome {
        info: BootstrapInfo {
            kind: kind.into(),
            draws: draws.requested,
            successful: ok,
            failed: draws.failed,
            seed: s.seed,
            ci_type: s.se.then(|| s.ci.name().to_string()),
        },
        rows,
        bollen_stine_pvalue: bs,
        warnings,
        draws: s.se.then_some(draws),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_reproducible() {
        let mut a = ChaCha8Rng::seed_from_u64(7);
        a.set_stream(3);
        let mut b = ChaCha8Rng::seed_from_u64(7);
        b.set_stream(3);
        let xs: Vec<u64> = (0..1000).map(|_| below(&mut a, 37)).collect();
        let ys: Vec<u64> = (0..1000).map(|_| below(&mut b, 37)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|v| *v < 37));
        // every value turns up
        assert!((0..37).all(|v| xs.contains(&v)));
    }

    #[test]
    fn norm_inter_matches_the_boot_package() {
        // R: t <- (1:20)^1.5; boot:::norm.inter(t, c(0.025, 0.975, 0.5, 0.1, 4/21))
        // gives 1, 89.4427191, 34.052824648, 3.099108449, 8
        let t: Vec<f64> = (1..=20).map(|i| (i as f64).powf(1.5)).collect();
        let mut ext = false;
        assert_eq!(norm_inter(&t, 0.025, &mut ext), t[0]);
        assert!(ext, "rk = 0.525 uses the smallest draw");
        assert_eq!(norm_inter(&t, 0.975, &mut ext), t[19]);
        ext = false;
        // rk = 10.5: between t_10 and t_11 on the normal scale
        let v = norm_inter(&t, 0.5, &mut ext);
        assert!((v - 34.052824648).abs() < 1e-8, "{v}");
        let v = norm_inter(&t, 0.1, &mut ext);
        assert!((v - 3.099108449).abs() < 1e-8, "{v}");
        assert!(!ext);
        // an integer rank gives the order statistic itself: rk = 21 * 4/21 = 4
        assert_eq!(norm_inter(&t, 4.0 / 21.0, &mut ext), t[3]);
    }

    /// For the mean of one group the statistic is linear in the case
    /// frequencies, so the regression recovers the influence values exactly
    /// and a is the skewness formula sum d^3 / (6 (sum d^2)^1.5), d = x - mean.
    #[test]
    fn bca_acceleration_of_a_mean_is_the_skewness_formula() {
        let xs: Vec<f64> = (0..12).map(|i| ((i * i) as f64 * 0.37).exp().ln_1p()).collect();
        let n = xs.len();
        let (seed, b) = (7, 40);
        let group_n = vec![n];
        let values: Vec<Vec<f64>> = (0..b)
            .map(|k| {
                let f = draw_frequencies(seed, k, &group_n);
                vec![f.iter().zip(&xs).map(|(f, x)| f * x).sum::<f64>() / n as f64]
            })
            .collect();
        let draws = Draws {
            requested: b,
            x: values.clone(),
            chisq: vec![0.0; b],
            failed: 0,
            index: (0..b).collect(),
            seed,
            group_n,
        };
        let a = accelerations(&draws, &values).unwrap()[0];
        let mean = xs.iter().sum::<f64>() / n as f64;
        let (s2, s3) = xs
            .iter()
            .fold((0.0, 0.0), |(p, q), x| (p + (x - mean).powi(2), q + (x - mean).powi(3)));
        let want = s3 / (6.0 * s2.powf(1.5));
        assert!(want.abs() > 1e-3, "a skewed sample: {want}");
        assert!((a - want).abs() < 1e-9, "{a} vs {want}");
        // fewer draws than cases: refused, as lavaan
        let few = Draws {
            index: (0..5).collect(),
            ..draws
        };
        assert!(accelerations(&few, &values[..5]).unwrap_err().contains("at least as many"));
    }

    #[test]
    fn bca_simple_equals_perc_when_unbiased() {
        // draws symmetric around the estimate: w = qnorm(1/2) = 0
        let t: Vec<f64> = (0..999).map(|i| (i as f64 - 499.0) / 100.0).collect();
        let mut e = false;
        let p = summarize_one(0.0, &t, 0.0, 0.95, CiType::Perc, true, &mut e);
        let b = summarize_one(0.0, &t, 0.0, 0.95, CiType::BcaSimple, true, &mut e);
        // 499 of 999 draws below 0: w = qnorm(0.4995), a small shift
        let (pl, pu) = p.ci.unwrap();
        let (bl, bu) = b.ci.unwrap();
        assert!((pl - bl).abs() < 0.02 && (pu - bu).abs() < 0.02, "{p:?} {b:?}");
        assert!(bl < pl && bu < pu, "fewer draws below est shift the interval down");
        // se with divisor B
        let m = t.iter().sum::<f64>() / 999.0;
        let sd = (t.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 999.0).sqrt();
        assert!((p.se.unwrap() - sd).abs() < 1e-12);
    }

    #[test]
    fn constant_draws_keep_the_estimate_as_interval() {
        let t = vec![1.5; 50];
        let mut e = false;
        let b = summarize_one(1.5, &t, 0.0, 0.95, CiType::BcaSimple, true, &mut e);
        assert_eq!(b.ci, Some((1.5, 1.5)));
        assert_eq!(b.se, Some(0.0));
    }

    #[test]
    fn singular_draw_fails() {
        // column 2 is constant except in row 0: a draw without row 0 is singular
        let rows = GroupRows {
            p: 2,
            values: vec![1.0, 5.0, 2.0, 0.0, 3.0, 0.0, 4.0, 0.0],
        };
        assert!(moments(&rows, &[1, 2, 3, 1]).is_none());
        assert!(moments(&rows, &[0, 1, 2, 3]).is_some());
    }
}
