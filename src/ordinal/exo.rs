//! Sample statistics for ordinal items with observed exogenous covariates,
//! as lavaan's `conditional.x = TRUE` (its default with ordinal data and a
//! covariate such as `f ~ x1 + x2` in a MIMIC model): the statistics are
//! those of the items given the covariates.
//!
//! Stage 1 fits each ordinal item by a probit regression on all the
//! covariates (lavaan's `lav_uvord_fit` with `X`): thresholds and slopes.
//! Stage 2 gives each pair of items the correlation of their latent
//! responses given the covariates, by pairwise ML with the stage-1
//! parameters held fixed (`lav_bvord` with `eXo`: every case has its own
//! thresholds, shifted by its linear predictor). Stage 3 is the asymptotic
//! covariance of (thresholds, slopes, correlations) from the casewise scores
//! (`muthen1984` with `eXo`), the A11 blocks now spanning each item's
//! thresholds and slopes. The statistics are in lavaan's `wls.obs` order
//! with `conditional.x`: thresholds, `vec(slopes)` (covariate by covariate),
//! correlations (`vech`, column by column below the diagonal).
//!
//! Only ordinal endogenous variables are covered here: a continuous
//! endogenous variable with covariates (lavaan's linear regression and
//! polyserial correlation of residuals) is refused by the estimator.

use super::bivariate::solve_score;
use super::normal::{dbinorm, dnorm, pnorm, qnorm, Bvn};
use super::{gram, pseudo_inverse, OrdinalStats};
use nalgebra::{DMatrix, DVector};

/// lavaan's smallest likelihood of a case (`sqrt(.Machine$double.eps)`).
const MIN_PROB: f64 = 1.490_116_119_384_765_6e-8;

/// lavaan's stand-in for an infinite threshold in the regression
/// (`z1 = 100 - eta` for the top category, `z2 = -100 - eta` for the bottom).
const FAR: f64 = 100.0;

/// The covariates of one group, as lavaan keeps them with `conditional.x`.
#[derive(Debug, Clone)]
pub struct Covariates {
    pub names: Vec<String>,
    /// sample means
    pub mean: DVector<f64>,
    /// sample covariance matrix, denominator N - 1 (lavaan's `cov.x` with
    /// ordinal data, shown as the fixed `x ~~ x` rows)
    pub cov: DMatrix<f64>,
    /// the stage-1 slopes (items by covariates)
    pub slopes: DMatrix<f64>,
}

/// One item after its probit regression.
struct Probit {
    /// per case: 0-based category
    y: Vec<usize>,
    th: Vec<f64>,
    /// per case: the upper and lower bound of its category minus its
    /// linear predictor (lavaan's z1, z2)
    z1: Vec<f64>,
    z2: Vec<f64>,
    /// the casewise scores: thresholds then slopes
    scores: DMatrix<f64>,
    slopes: Vec<f64>,
}

/// Case probability Phi(z1) - Phi(z2), by the upper tails when both bounds
/// are high (as lavaan).
fn prob(z1: f64, z2: f64) -> f64 {
    if z2 > 1.0 {
        pnorm(-z2) - pnorm(-z1)
    } else {
        pnorm(z1) - pnorm(z2)
    }
}

/// z1, z2 of every case at (th, beta).
fn bounds(y: &[usize], x: &DMatrix<f64>, th: &[f64], beta: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let nth = th.len();
    let n = y.len();
    let (mut z1, mut z2) = (vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        let eta: f64 = (0..beta.len()).map(|k| x[(i, k)] * beta[k]).sum();
        let c = y[i];
        z1[i] = if c < nth { th[c] } else { FAR } - eta;
        z2[i] = if c > 0 { th[c - 1] } else { -FAR } - eta;
    }
    (z1, z2)
}

fn loglik(y: &[usize], x: &DMatrix<f64>, th: &[f64], beta: &[f64]) -> f64 {
    if th.windows(2).any(|w| w[0] > w[1]) {
        return f64::NEG_INFINITY;
    }
    let (z1, z2) = bounds(y, x, th, beta);
    z1.iter().zip(&z2).map(|(&a, &b)| prob(a, b).ln()).sum()
}

/// Stage 1 for one item: the probit regression of `y` (0-based categories,
/// `ncat` of them, each seen) on the columns of `x`, by Newton's method
/// from lavaan's start (thresholds at the normal quantiles of k/K, slopes 0).
fn probit(y: Vec<usize>, ncat: usize, x: &DMatrix<f64>, name: &str) -> Result<Probit, String> {
    let nth = ncat - 1;
    let q = x.ncols();
    let np = nth + q;
    let mut th: Vec<f64> = if nth == 1 {
        vec![0.0]
    } else {
        (1..=nth).map(|k| qnorm(k as f64 / (nth + 1) as f64)).collect()
    };
    let mut beta = vec![0.0; q];
    let mut ll = loglik(&y, x, &th, &beta);
    let mut converged = false;
    for _ in 0..500 {
        let (z1, z2) = bounds(&y, x, &th, &beta);
        let mut g = DVector::<f64>::zeros(np);
        let mut h = DMatrix::<f64>::zeros(np, np);
        let mut d1 = DVector::<f64>::zeros(np);
        let mut d2 = DVector::<f64>::zeros(np);
        for i in 0..y.len() {
            let c = y[i];
            let p = prob(z1[i], z2[i]);
            d1.fill(0.0);
            d2.fill(0.0);
            if c < nth {
                d1[c] = 1.0;
            }
            if c > 0 {
                d2[c - 1] = 1.0;
            }
            for k in 0..q {
                d1[nth + k] = -x[(i, k)];
                d2[nth + k] = -x[(i, k)];
            }
            let (f1, f2) = (dnorm(z1[i]), dnorm(z2[i]));
            let gi = (&d1 * f1 - &d2 * f2) / p;
            // d2 log P = (phi'(z1) dz1 dz1' - phi'(z2) dz2 dz2') / P - g g', phi'(z) = -z phi(z)
            h += (&d1 * d1.transpose()) * (-z1[i] * f1 / p) - (&d2 * d2.transpose()) * (-z2[i] * f2 / p) - &gi * gi.transpose();
            g += gi;
        }
        let step = match (-h).cholesky() {
            Some(c) => c.solve(&g),
            None => g.clone() * 0.1,
        };
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            let th2: Vec<f64> = (0..nth).map(|k| th[k] + t * step[k]).collect();
            let b2: Vec<f64> = (0..q).map(|k| beta[k] + t * step[nth + k]).collect();
            let ll2 = loglik(&y, x, &th2, &b2);
            if ll2.is_finite() && ll2 >= ll - 1e-12 * ll.abs() {
                th = th2;
                beta = b2;
                ll = ll2;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted || (step.amax() * t) < 1e-11 {
            converged = g.amax() < 1e-6 * (y.len() as f64).max(1.0);
            break;
        }
    }
    if !converged || th.iter().chain(&beta).any(|v| !v.is_finite()) {
        return Err(format!(
            "the probit regression of ordinal variable `{name}` on the covariates did not converge; the covariates may not be of full rank (lavaan: probit regression failed)"
        ));
    }
    let (z1, z2) = bounds(&y, x, &th, &beta);
    let n = y.len();
    let mut scores = DMatrix::<f64>::zeros(n, np);
    for i in 0..n {
        let c = y[i];
        let p = prob(z1[i], z2[i]);
        let (f1, f2) = (dnorm(z1[i]), dnorm(z2[i]));
        if c < nth {
            scores[(i, c)] += f1 / p;
        }
        if c > 0 {
            scores[(i, c - 1)] -= f2 / p;
        }
        for k in 0..q {
            scores[(i, nth + k)] = -x[(i, k)] * (f1 - f2) / p;
        }
    }
    Ok(Probit {
        y,
        th,
        z1,
        z2,
        scores,
        slopes: beta,
    })
}

/// The Pearson correlation of two category codings (lavaan's start, 0
/// when undefined).
fn code_cor(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().sum::<usize>() as f64 / n;
    let mb = b.iter().sum::<usize>() as f64 / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&u, &v) in a.iter().zip(b) {
        let (du, dv) = (u as f64 - ma, v as f64 - mb);
        sab += du * dv;
        saa += du * du;
        sbb += dv * dv;
    }
    let r = sab / (saa * sbb).sqrt();
    if r.is_finite() && r.abs() < 1.0 {
        r
    } else {
        0.0
    }
}

/// The rectangle probability of case i for the pair (a, b) at rho.
fn rect(bvn: &Bvn, a: &Probit, b: &Probit, i: usize) -> f64 {
    bvn.cdf(a.z1[i], b.z1[i]) - bvn.cdf(a.z2[i], b.z1[i]) - bvn.cdf(a.z1[i], b.z2[i]) + bvn.cdf(a.z2[i], b.z2[i])
}

fn phi_sum(a: &Probit, b: &Probit, i: usize, rho: f64) -> f64 {
    dbinorm(a.z1[i], b.z1[i], rho) - dbinorm(a.z2[i], b.z1[i], rho) - dbinorm(a.z1[i], b.z2[i], rho) + dbinorm(a.z2[i], b.z2[i], rho)
}

/// Stage 2 for one pair: the correlation given the covariates.
fn polychoric_x(a: &Probit, b: &Probit) -> f64 {
    let score = |rho: f64| {
        let bvn = Bvn::new(rho);
        (0..a.y.len())
            .filter_map(|i| {
                let l = rect(&bvn, a, b, i);
                (l >= MIN_PROB).then(|| phi_sum(a, b, i, rho) / l)
            })
            .sum::<f64>()
    };
    solve_score(score, -0.999, 0.999, code_cor(&a.y, &b.y))
}

/// The casewise scores of a pair's log-likelihood at rho: for rho, for
/// the thresholds and slopes of the first item (a) and of the second (b);
/// 0 for a case whose likelihood is below lavaan's floor (its NA).
struct PairScores {
    rho: Vec<f64>,
    a: DMatrix<f64>,
    b: DMatrix<f64>,
}

fn pair_scores(a: &Probit, b: &Probit, x: &DMatrix<f64>, rho: f64) -> PairScores {
    let n = a.y.len();
    let q = x.ncols();
    let (na, nb) = (a.th.len(), b.th.len());
    let bvn = Bvn::new(rho);
    let r = (1.0 - rho * rho).sqrt();
    let mut out = PairScores {
        rho: vec![0.0; n],
        a: DMatrix::zeros(n, na + q),
        b: DMatrix::zeros(n, nb + q),
    };
    // dlog lik / d(bounds of u): the density at u's bound times the
    // conditional probability of v's interval
    let side = |u: &Probit, v: &Probit, i: usize| {
        let z = |zu: f64| {
            if r == 0.0 {
                dnorm(zu) * 0.5
            } else {
                dnorm(zu) * (pnorm((v.z1[i] - rho * zu) / r) - pnorm((v.z2[i] - rho * zu) / r))
            }
        };
        (z(u.z1[i]), z(u.z2[i]))
    };
    for i in 0..n {
        let lik = rect(&bvn, a, b, i);
        if lik.is_nan() || lik <= MIN_PROB {
            continue;
        }
        out.rho[i] = phi_sum(a, b, i, rho) / lik;
        for (u, v, m) in [(a, b, &mut out.a), (b, a, &mut out.b)] {
            let nth = u.th.len();
            let (zu1, zu2) = side(u, v, i);
            let c = u.y[i];
            if c < nth {
                m[(i, c)] += zu1 / lik;
            }
            if c > 0 {
                m[(i, c - 1)] -= zu2 / lik;
            }
            for k in 0..q {
                m[(i, nth + k)] = (zu2 - zu1) * x[(i, k)] / lik;
            }
        }
    }
    out
}

/// The three-stage statistics of one group conditional on the covariates:
/// `cols[j]` item j's column (all ordinal, `levels[j]` its categories),
/// `xcols[k]` covariate k's column; listwise over items and covariates.
pub fn ordinal_stats_x(
    cols: &[Vec<f64>],
    names: &[String],
    levels: &[Vec<f64>],
    xcols: &[Vec<f64>],
    xnames: &[String],
) -> Result<OrdinalStats, String> {
    let p = cols.len();
    let q = xcols.len();
    let nrows = cols.first().map_or(0, Vec::len);
    let keep: Vec<usize> = (0..nrows).filter(|&i| cols.iter().chain(xcols).all(|c| !c[i].is_nan())).collect();
    let n = keep.len();
    if n < 2 {
        return Err(format!("only {n} complete case(s); the sample statistics need at least two"));
    }
    let x = DMatrix::from_fn(n, q, |i, k| xcols[k][keep[i]]);
    let mut fits = Vec::with_capacity(p);
    for j in 0..p {
        let lv = &levels[j];
        if lv.len() < 2 {
            return Err(format!(
                "ordinal variable `{}` has {} category; an ordinal variable needs at least two",
                names[j],
                lv.len()
            ));
        }
        let mut y = Vec::with_capacity(n);
        for &i in &keep {
            let v = cols[j][i];
            match lv.binary_search_by(|a| a.total_cmp(&v)) {
                Ok(k) => y.push(k),
                Err(_) => return Err(format!("ordinal variable `{}` has value {v}, not one of its categories", names[j])),
            }
        }
        let mut freq = vec![0usize; lv.len()];
        for &k in &y {
            freq[k] += 1;
        }
        if freq.contains(&0) {
            let f: Vec<String> = freq.iter().map(|f| f.to_string()).collect();
            return Err(format!(
                "some categories of ordinal variable `{}` are empty; frequencies are [{}] for categories [{}]",
                names[j],
                f.join(" "),
                lv.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")
            ));
        }
        fits.push(probit(y, lv.len(), &x, &names[j])?);
    }
    // layout: thresholds (item by item), slopes (covariate by covariate), correlations
    let mut th_start = Vec::with_capacity(p);
    let (mut th, mut th_idx) = (Vec::new(), Vec::new());
    for (j, f) in fits.iter().enumerate() {
        th_start.push(th.len());
        th.extend_from_slice(&f.th);
        th_idx.extend(std::iter::repeat_n(j + 1, f.th.len()));
    }
    let nth = th.len();
    let sl = |j: usize, k: usize| nth + k * p + j;
    let a11 = nth + p * q;
    let pstar = p * (p - 1) / 2;
    let total = a11 + pstar;
    let mut sc = DMatrix::<f64>::zeros(n, total);
    for (j, f) in fits.iter().enumerate() {
        let nt = f.th.len();
        for t in 0..nt {
            sc.column_mut(th_start[j] + t).copy_from(&f.scores.column(t));
        }
        for k in 0..q {
            sc.column_mut(sl(j, k)).copy_from(&f.scores.column(nt + k));
        }
    }
    let pairs: Vec<(usize, usize)> = (0..p).flat_map(|j| (j + 1..p).map(move |i| (j, i))).collect();
    let outs: Vec<(f64, PairScores)> = {
        use rayon::prelude::*;
        pairs
            .par_iter()
            .map(|&(j, i)| {
                let rho = polychoric_x(&fits[j], &fits[i]);
                (rho, pair_scores(&fits[i], &fits[j], &x, rho))
            })
            .collect()
    };
    let mut cor = DMatrix::<f64>::identity(p, p);
    let mut a21 = DMatrix::<f64>::zeros(pstar, a11);
    let mut warnings = Vec::new();
    for (qi, (&(j, i), (rho, s))) in pairs.iter().zip(&outs).enumerate() {
        cor[(i, j)] = *rho;
        cor[(j, i)] = *rho;
        if rho.abs() > 0.99 {
            warnings.push(format!("the correlation between {} and {} is (nearly) 1.0", names[i], names[j]));
        }
        sc.column_mut(a11 + qi).copy_from_slice(&s.rho);
        let dot = |m: &DMatrix<f64>, c: usize| s.rho.iter().zip(m.column(c).iter()).map(|(a, b)| a * b).sum::<f64>();
        for (v, m) in [(i, &s.a), (j, &s.b)] {
            let nt = fits[v].th.len();
            for t in 0..nt {
                a21[(qi, th_start[v] + t)] = dot(m, t);
            }
            for k in 0..q {
                a21[(qi, sl(v, k))] = dot(m, nt + k);
            }
        }
    }
    // the casewise influence F = SC B^-T (see `super::assemble`), NACOV = N F'F
    let mut inf = DMatrix::<f64>::zeros(n, total);
    for (j, f) in fits.iter().enumerate() {
        let mut idx: Vec<usize> = (th_start[j]..th_start[j] + f.th.len()).collect();
        idx.extend((0..q).map(|k| sl(j, k)));
        let sub = DMatrix::from_fn(n, idx.len(), |r, c| sc[(r, idx[c])]);
        let block = sub.transpose() * &sub;
        let a11_inv = block.clone().try_inverse().unwrap_or_else(|| pseudo_inverse(&block));
        let fi = sub * a11_inv.transpose();
        for (c, &col) in idx.iter().enumerate() {
            inf.column_mut(col).copy_from(&fi.column(c));
        }
    }
    for qi in 0..pstar {
        let d: f64 = sc.column(a11 + qi).norm_squared();
        let a22_inv = if d == 0.0 { 0.0 } else { 1.0 / d };
        let mut col = sc.column(a11 + qi).into_owned();
        for m in 0..a11 {
            let a = a21[(qi, m)];
            if a != 0.0 {
                col.axpy(-a, &inf.column(m), 1.0);
            }
        }
        inf.column_mut(a11 + qi).copy_from(&(col * a22_inv));
    }
    let mut nacov = gram(&inf);
    nacov *= n as f64;
    let slopes = DMatrix::from_fn(p, q, |j, k| fits[j].slopes[k]);
    let mut obs = th.clone();
    for k in 0..q {
        obs.extend(slopes.column(k).iter());
    }
    for j in 0..p {
        for i in j + 1..p {
            obs.push(cor[(i, j)]);
        }
    }
    let nf = n as f64;
    let mean = DVector::from_fn(q, |k, _| x.column(k).sum() / nf);
    let cov = DMatrix::from_fn(q, q, |a, b| {
        (0..n).map(|i| (x[(i, a)] - mean[a]) * (x[(i, b)] - mean[b])).sum::<f64>() / (nf - 1.0)
    });
    let stats = OrdinalStats {
        nobs: n,
        ordered: vec![true; p],
        levels: levels.to_vec(),
        th,
        th_idx,
        cov: cor,
        wls_obs: DVector::from_vec(obs),
        nacov,
        influence: inf,
        warnings,
        exo: Some(Covariates {
            names: xnames.to_vec(),
            mean,
            cov,
            slopes,
        }),
    };
    Ok(stats)
}

/// The statistics of each group with covariates (`group_stats` with
/// `conditional.x`): items `ys` (all ordinal, categories in `levels`),
/// covariates `xs`, rows `group_rows[g]` of `ds`.
pub fn group_stats_x(
    ds: &crate::data::Dataset,
    group_rows: &[Vec<usize>],
    group_names: &[String],
    ys: &[String],
    xs: &[String],
    levels: &[(String, Vec<f64>)],
) -> Result<Vec<OrdinalStats>, String> {
    let p = ds.names.len();
    let col = |v: &String| {
        ds.names
            .iter()
            .position(|c| c == v)
            .ok_or_else(|| format!("variable `{v}` was not read from {}", ds.file))
    };
    let yi: Vec<usize> = ys.iter().map(col).collect::<Result<_, _>>()?;
    let xi: Vec<usize> = xs.iter().map(col).collect::<Result<_, _>>()?;
    let mut lv = Vec::with_capacity(ys.len());
    for v in ys {
        match levels.iter().find(|(n, _)| n == v) {
            Some((_, l)) => lv.push(l.clone()),
            None => {
                return Err(format!(
                    "`{v}` is continuous; with exogenous covariates ({}) every endogenous observed variable must be ordinal for now (lavaan's conditional.x with continuous variables is not supported yet): declare it ordinal or drop the covariates",
                    xs.join(", ")
                ))
            }
        }
    }
    let mut out = Vec::with_capacity(group_rows.len());
    for (g, rows) in group_rows.iter().enumerate() {
        let take = |idx: &[usize]| -> Vec<Vec<f64>> { idx.iter().map(|&j| rows.iter().map(|&i| ds.values[i * p + j]).collect()).collect() };
        let r = ordinal_stats_x(&take(&yi), ys, &lv, &take(&xi), xs).map_err(|e| match group_names.get(g) {
            Some(_) => format!(
                "{} ({}): {e}",
                ds.file,
                crate::data::groups::GroupLabels::new(None, group_names).describe(g, group_names.len())
            ),
            None => format!("{}: {e}", ds.file),
        })?;
        out.push(r);
    }
    Ok(out)
}

/// The statistics of each group for a model with covariates (the
/// pipeline's entry): the items are the model's observed variables other
/// than its covariates `ov_x`; a missing-data option other than listwise is
/// refused (lavaan: pairwise deletion with conditional.x is not supported).
pub fn prepare(
    ds: &crate::data::Dataset,
    group_rows: &[Vec<usize>],
    group_names: &[String],
    model: &crate::model::Model,
    levels: &[(String, Vec<f64>)],
    pairwise: bool,
) -> Result<Vec<OrdinalStats>, String> {
    let names = &model.pt.names;
    let xs = &names.ov_x;
    if pairwise {
        return Err(format!(
            "--missing pairwise with exogenous covariates ({}) is not supported (lavaan conditions on them and refuses missing = \"pairwise\" then); use listwise deletion",
            xs.join(", ")
        ));
    }
    let ys: Vec<String> = names.ov.iter().filter(|v| !xs.contains(v)).cloned().collect();
    group_stats_x(ds, group_rows, group_names, &ys, xs, levels)
}

/// Fix the covariates' variances, covariances and means in the model at
/// their sample values (lavaan's fixed `x ~~ x` and `x ~1` rows with
/// conditional.x: covariances with denominator N - 1).
pub fn bind_covariates(model: &mut crate::model::Model, stats: &[OrdinalStats]) {
    use crate::model::ram::Mat;
    let pos = |name: &str, c: &Covariates| c.names.iter().position(|v| v == name);
    let ram = &mut model.ram;
    let names: Vec<String> = ram.ov.iter().chain(&ram.lv).cloned().collect();
    for (g, gm) in ram.groups.iter_mut().enumerate() {
        let Some(c) = stats.get(g).and_then(|s| s.exo.as_ref()) else {
            continue;
        };
        for cell in gm.cells.iter_mut().filter(|cell| cell.x.is_none()) {
            match cell.mat {
                Mat::S => {
                    if let (Some(a), Some(b)) = (pos(&names[cell.i], c), pos(&names[cell.j], c)) {
                        cell.fixed = c.cov[(a, b)];
                    }
                }
                Mat::M => {
                    if let Some(a) = pos(&names[cell.i], c) {
                        cell.fixed = c.mean[a];
                    }
                }
                Mat::A => {}
            }
        }
    }
}

/// Why --modindices and --residuals are left out with covariates.
pub const NO_DIAGNOSTICS: &str =
    "--modindices and --residuals are not available yet for ordinal data with exogenous covariates (conditional.x); they were left out";

/// The estimator's refusals for a model with covariates: lavaan's
/// conditional.x is covered with the delta parameterization, fixed.x, and
/// ordinal endogenous variables.
pub fn check(prep: &crate::pipeline::Prepared, theta: bool) -> Result<(), String> {
    let names = &prep.model.pt.names;
    let conditional = prep.ordinal.iter().flatten().any(|s| s.exo.is_some());
    if !conditional {
        if let Some(x) = names.exo.first() {
            return Err(format!(
                "`{x}` is an exogenous covariate with fixed.x = FALSE: with ordinal data lavaan conditions on the covariates (conditional.x), which needs them fixed; drop --fixed-x false"
            ));
        }
        return Ok(());
    }
    if theta {
        return Err(format!(
            "--parameterization theta with exogenous covariates ({}) is not supported yet (the statistics are conditional on them); use the delta parameterization",
            names.ov_x.join(", ")
        ));
    }
    Ok(())
}

/// The scales of the standardized thresholds: 1 / sd of each latent
/// response over the whole model (covariates included, as lavaan's std.all
/// with conditional.x); without covariates the delta scale factors `d`.
pub fn std_scales(lay: &crate::estimate::wls::Layout, full: &crate::model::ram::Implied, d: Vec<f64>) -> Vec<f64> {
    if lay.x.is_empty() {
        return d;
    }
    (0..d.len()).map(|j| 1.0 / full.sigma[(j, j)].sqrt()).collect()
}

/// Start values with covariates: the covariance of all observed variables
/// (items and covariates) implied by the stage-1 slopes and the conditional
/// correlations, Sigma_yy = R + Pi Sxx Pi', Sigma_yx = Pi Sxx, with the
/// covariates' means; `gd` (the statistics' own moments) is kept without them.
pub fn start_data(
    model: &crate::model::Model,
    stats: &[OrdinalStats],
    gd: Vec<crate::estimate::objective::GroupData>,
) -> Vec<crate::estimate::objective::GroupData> {
    let ram = &model.ram;
    let p = ram.p();
    let xs = &ram.x_ov;
    let ys: Vec<usize> = (0..p).filter(|j| !xs.contains(j)).collect();
    gd.into_iter()
        .zip(stats)
        .map(|(g, s)| {
            let Some(c) = &s.exo else { return g };
            let pi = &c.slopes;
            let pis = pi * &c.cov;
            let yy = &s.cov + &pis * pi.transpose();
            let mut cov = DMatrix::zeros(p, p);
            let mut mean = DVector::zeros(p);
            for (a, &i) in ys.iter().enumerate() {
                for (b, &j) in ys.iter().enumerate() {
                    cov[(i, j)] = yy[(a, b)];
                }
                for (b, &k) in xs.iter().enumerate() {
                    cov[(i, k)] = pis[(a, b)];
                    cov[(k, i)] = pis[(a, b)];
                }
            }
            for (a, &k) in xs.iter().enumerate() {
                mean[k] = c.mean[a];
                for (b, &l) in xs.iter().enumerate() {
                    cov[(k, l)] = c.cov[(a, b)];
                }
            }
            crate::estimate::objective::GroupData { cov, mean, ..g }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probit regression's thresholds without covariates are the
    /// margins' normal quantiles, and its slopes recover a simulated effect.
    #[test]
    fn probit_regression_recovers_margins_and_slopes() {
        let y: Vec<usize> = (0..400).map(|i| [0, 1, 1, 2, 2, 2, 1, 0][i % 8]).collect();
        let empty = DMatrix::<f64>::zeros(400, 0);
        let f = probit(y.clone(), 3, &empty, "y").unwrap();
        assert!((f.th[0] - qnorm(0.25)).abs() < 1e-8, "{:?}", f.th);
        assert!((f.th[1] - qnorm(0.625)).abs() < 1e-8, "{:?}", f.th);
        // y* = 0.8 x + e, e deterministic normal quantiles in shuffled order
        let n = 2000;
        let xs: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
        let e: Vec<f64> = (0..n).map(|i| qnorm(((i * 7919) % n) as f64 / n as f64 + 0.5 / n as f64)).collect();
        let y: Vec<usize> = (0..n).map(|i| usize::from(0.8 * xs[i] + e[i] > 0.3)).collect();
        let x = DMatrix::from_fn(n, 1, |i, _| xs[i]);
        let f = probit(y, 2, &x, "y").unwrap();
        assert!((f.slopes[0] - 0.8).abs() < 0.15, "slope {:?}", f.slopes);
        assert!((f.th[0] - 0.3).abs() < 0.15, "threshold {:?}", f.th);
    }
}
