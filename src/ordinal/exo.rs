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
//! A continuous endogenous variable gets a linear regression on the
//! covariates (intercept, slopes, residual variance; `lav_uvreg_fit`), and
//! its pairs the polyserial (`lav_bvmix`) or Pearson (`lav_bvreg`)
//! correlation of the residuals, turned into covariances as lavaan does.

use super::bivariate::solve_score;
use super::normal::{dbinorm, dnorm, pnorm, qnorm, Bvn};
use super::univariate::MISSING;
use super::OrdinalStats;
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
        let c = y[i];
        if c == MISSING {
            continue;
        }
        let eta: f64 = (0..beta.len()).map(|k| x[(i, k)] * beta[k]).sum();
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
    (0..y.len()).filter(|&i| y[i] != MISSING).map(|i| prob(z1[i], z2[i]).ln()).sum()
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
            if c == MISSING {
                continue;
            }
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
        if c == MISSING {
            continue;
        }
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
    let both: Vec<(usize, usize)> = a
        .iter()
        .zip(b)
        .filter(|(&u, &v)| u != MISSING && v != MISSING)
        .map(|(&u, &v)| (u, v))
        .collect();
    let n = both.len() as f64;
    let ma = both.iter().map(|t| t.0).sum::<usize>() as f64 / n;
    let mb = both.iter().map(|t| t.1).sum::<usize>() as f64 / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for &(u, v) in &both {
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
            .filter(|&i| a.y[i] != MISSING && b.y[i] != MISSING)
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
        if a.y[i] == MISSING || b.y[i] == MISSING {
            continue;
        }
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

/// One continuous endogenous variable after its linear regression on the
/// covariates (lavaan's `lav_uvreg_fit`): intercept, slopes, residual
/// variance (denominator N), residuals.
struct Reg {
    res: Vec<f64>,
    intercept: f64,
    slopes: Vec<f64>,
    var: f64,
    /// casewise scores: intercept, slopes, variance
    scores: DMatrix<f64>,
}

fn regression(y: &[f64], x: &DMatrix<f64>, name: &str) -> Result<Reg, String> {
    let (n, q) = (y.len(), x.ncols());
    // missing values (pairwise deletion) have no row
    let x1 = DMatrix::from_fn(n, q + 1, |i, k| match (y[i].is_nan(), k) {
        (true, _) => 0.0,
        (false, 0) => 1.0,
        (false, k) => x[(i, k - 1)],
    });
    let y0: Vec<f64> = y.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect();
    let nobs = y.iter().filter(|v| !v.is_nan()).count();
    let xtx = x1.transpose() * &x1;
    let xty = x1.transpose() * DVector::from_vec(y0);
    let beta = xtx
        .cholesky()
        .map(|c| c.solve(&xty))
        .filter(|b| b.iter().all(|v| v.is_finite()))
        .ok_or_else(|| format!("the linear regression of `{name}` on the covariates failed; the covariates may not be of full rank"))?;
    let yhat = &x1 * &beta;
    let res: Vec<f64> = (0..n).map(|i| y[i] - yhat[i]).collect();
    let var = res.iter().filter(|r| !r.is_nan()).map(|r| r * r).sum::<f64>() / nobs as f64;
    if var.is_nan() || var <= 0.0 {
        return Err(format!(
            "continuous variable `{name}` has no residual variance given the covariates"
        ));
    }
    let mut scores = DMatrix::zeros(n, q + 2);
    for i in (0..n).filter(|&i| !y[i].is_nan()) {
        for k in 0..=q {
            scores[(i, k)] = x1[(i, k)] * res[i] / var;
        }
        scores[(i, q + 1)] = -1.0 / (2.0 * var) + res[i] * res[i] / (2.0 * var * var);
    }
    Ok(Reg {
        res,
        intercept: beta[0],
        slopes: beta.iter().skip(1).copied().collect(),
        var,
        scores,
    })
}

/// Stage 1 of one endogenous variable.
enum Uni1 {
    Ord(Probit),
    Num(Reg),
}

impl Uni1 {
    /// the threshold-block entries: thresholds, or the intercept
    fn nth(&self) -> usize {
        match self {
            Uni1::Ord(o) => o.th.len(),
            Uni1::Num(_) => 1,
        }
    }
    fn slopes(&self) -> &[f64] {
        match self {
            Uni1::Ord(o) => &o.slopes,
            Uni1::Num(r) => &r.slopes,
        }
    }
}

/// Stage 2 for a continuous (a) and an ordinal (b) variable given the
/// covariates (lavaan's `lav_bvmix` with `eXo`): the polyserial correlation
/// of the residual of a with the latent response of b, and the casewise
/// scores (rho; a's intercept, slopes, variance; b's thresholds, slopes).
struct MixOut {
    rho: f64,
    sc_rho: Vec<f64>,
    a: DMatrix<f64>,
    b: DMatrix<f64>,
}

fn polyserial_x(a: &Reg, b: &Probit, x: &DMatrix<f64>) -> MixOut {
    let n = a.res.len();
    let q = x.ncols();
    let sd = a.var.sqrt();
    let z: Vec<f64> = a.res.iter().map(|r| r / sd).collect();
    let eps = f64::EPSILON;
    let cond = |i: usize, rho: f64| {
        let r = (1.0 - rho * rho).sqrt();
        let t1 = (b.z1[i] - rho * z[i]) / r;
        let t2 = (b.z2[i] - rho * z[i]) / r;
        let p = (pnorm(t1) - pnorm(t2)).max(eps);
        (r, t1, t2, p)
    };
    let both: Vec<usize> = (0..n).filter(|&i| !z[i].is_nan() && b.y[i] != MISSING).collect();
    // lavaan's start: cor(Z, y) sd(y) / sum(dnorm(th)), halved above 0.9
    let start = {
        let nf = both.len() as f64;
        let ycode = |i: usize| b.y[i] as f64;
        let mz = both.iter().map(|&i| z[i]).sum::<f64>() / nf;
        let my = both.iter().map(|&i| ycode(i)).sum::<f64>() / nf;
        let (mut szy, mut szz, mut syy) = (0.0, 0.0, 0.0);
        for &i in &both {
            szy += (z[i] - mz) * (ycode(i) - my);
            szz += (z[i] - mz).powi(2);
            syy += (ycode(i) - my).powi(2);
        }
        let cor = szy / (szz * syy).sqrt();
        let sdy = (syy / nf).sqrt();
        let r0 = cor * sdy / b.th.iter().map(|&t| dnorm(t)).sum::<f64>();
        if r0.is_nan() {
            0.0
        } else if r0.abs() > 0.9 {
            r0 / 2.0
        } else {
            r0
        }
    };
    let score = |rho: f64| {
        both.iter()
            .filter_map(|&i| {
                let (r, t1, t2, p) = cond(i, rho);
                let lik = dnorm(z[i]) / sd * p;
                (lik >= MIN_PROB).then(|| (dnorm(t1) * (b.z1[i] * rho - z[i]) - dnorm(t2) * (b.z2[i] * rho - z[i])) / (p * r * r * r))
            })
            .sum::<f64>()
    };
    let rho = solve_score(score, -0.995, 0.995, start);
    let nth = b.th.len();
    let mut out = MixOut {
        rho,
        sc_rho: vec![0.0; n],
        a: DMatrix::zeros(n, q + 2),
        b: DMatrix::zeros(n, nth + q),
    };
    for &i in &both {
        let (r, t1, t2, p) = cond(i, rho);
        let (y1, y2) = (dnorm(t1), dnorm(t2));
        let mu = (z[i] + rho / r * (y1 - y2) / p) / sd;
        out.a[(i, 0)] = mu;
        for k in 0..q {
            out.a[(i, 1 + k)] = mu * x[(i, k)];
        }
        out.a[(i, q + 1)] = ((z[i] * z[i] - 1.0) + rho * z[i] / r * (y1 - y2) / p) / (2.0 * a.var);
        let c = b.y[i];
        if c < nth {
            out.b[(i, c)] += y1 / (r * p);
        }
        if c > 0 {
            out.b[(i, c - 1)] -= y2 / (r * p);
        }
        for k in 0..q {
            out.b[(i, nth + k)] = (y2 - y1) * x[(i, k)] / (r * p);
        }
        out.sc_rho[i] = (y1 * (b.z1[i] * rho - z[i]) - y2 * (b.z2[i] * rho - z[i])) / (p * r * r * r);
    }
    out
}

/// Stage 2 for two continuous variables given the covariates (lavaan's
/// `lav_bvreg` with `eXo`, complete data): the correlation of the residuals,
/// and the casewise scores (rho; a's and b's intercept, slopes, variance).
fn pearson_x(a: &Reg, b: &Reg, x: &DMatrix<f64>) -> MixOut {
    let n = a.res.len();
    let q = x.ncols();
    let (e1, e2) = (&a.res, &b.res);
    let both: Vec<usize> = (0..n).filter(|&i| !e1[i].is_nan() && !e2[i].is_nan()).collect();
    let nf = both.len() as f64;
    let m1 = both.iter().map(|&i| e1[i]).sum::<f64>() / nf;
    let m2 = both.iter().map(|&i| e2[i]).sum::<f64>() / nf;
    let (mut s12, mut s11, mut s22) = (0.0, 0.0, 0.0);
    for &i in &both {
        s12 += (e1[i] - m1) * (e2[i] - m2);
        s11 += (e1[i] - m1).powi(2);
        s22 += (e2[i] - m2).powi(2);
    }
    let mut rho = s12 / (s11 * s22).sqrt();
    if !rho.is_finite() || rho.abs() >= 1.0 {
        rho = 0.0;
    }
    let (v1, v2) = (a.var, b.var);
    let (sd1, sd2) = (v1.sqrt(), v2.sqrt());
    let rho_score = |rho: f64, y1: f64, y2: f64| {
        let r = 1.0 - rho * rho;
        let zz = y1 * y1 / v1 - 2.0 * rho * y1 * y2 / (sd1 * sd2) + y2 * y2 / v2;
        rho / r + (y1 * y2 / (sd1 * sd2 * r) - zz * rho / (r * r))
    };
    // with missing values lavaan maximises the bivariate likelihood (means
    // and variances fixed) instead of taking the residuals' correlation
    if both.len() < n {
        rho = solve_score(|rho| both.iter().map(|&i| rho_score(rho, e1[i], e2[i])).sum(), -0.999, 0.999, rho);
    }
    let r = 1.0 - rho * rho;
    let mut out = MixOut {
        rho,
        sc_rho: vec![0.0; n],
        a: DMatrix::zeros(n, q + 2),
        b: DMatrix::zeros(n, q + 2),
    };
    for &i in &both {
        let (y1, y2) = (e1[i], e2[i]);
        let mu1 = (2.0 * y1 / v1 - 2.0 * rho * y2 / (sd1 * sd2)) / (2.0 * r);
        let mu2 = -(2.0 * rho * y1 / (sd1 * sd2) - 2.0 * y2 / v2) / (2.0 * r);
        let var1 = -(0.5 / v1 - (y1 * y1 / (v1 * v1) - rho * y1 * y2 / (v1 * sd1 * sd2)) / (2.0 * r));
        let var2 = -(0.5 / v2 + (rho * y1 * y2 / (v2 * sd1 * sd2) - y2 * y2 / (v2 * v2)) / (2.0 * r));
        out.sc_rho[i] = rho_score(rho, y1, y2);
        for (m, mu, var) in [(&mut out.a, mu1, var1), (&mut out.b, mu2, var2)] {
            m[(i, 0)] = mu;
            for k in 0..q {
                m[(i, 1 + k)] = mu * x[(i, k)];
            }
            m[(i, q + 1)] = var;
        }
    }
    out
}

/// The three-stage statistics of one group conditional on the covariates:
/// `cols[j]` endogenous variable j's column (`levels[j]` its categories when
/// ordinal, empty when continuous), `xcols[k]` covariate k's column;
/// listwise over all of them, or (`pairwise`, lavaan's `missing =
/// "pairwise"`) each statistic from the rows where its variables are
/// observed, rows missing a covariate left out.
pub fn ordinal_stats_x(
    cols: &[Vec<f64>],
    names: &[String],
    levels: &[Vec<f64>],
    xcols: &[Vec<f64>],
    xnames: &[String],
    pairwise: bool,
) -> Result<OrdinalStats, String> {
    let p = cols.len();
    let q = xcols.len();
    let nrows = cols.first().map_or(0, Vec::len);
    // rows with every covariate (lavaan deletes the others under fixed.x) and
    // every endogenous value (listwise) or at least one (pairwise)
    let keep: Vec<usize> = (0..nrows)
        .filter(|&i| xcols.iter().all(|c| !c[i].is_nan()))
        .filter(|&i| match pairwise {
            false => cols.iter().all(|c| !c[i].is_nan()),
            true => cols.iter().any(|c| !c[i].is_nan()),
        })
        .collect();
    let n = keep.len();
    if n < 2 {
        return Err(format!("only {n} complete case(s); the sample statistics need at least two"));
    }
    let mut warnings = Vec::new();
    let x_missing = (0..nrows).filter(|&i| xcols.iter().any(|c| c[i].is_nan())).count();
    if pairwise && x_missing > 0 {
        warnings.push(format!(
            "{x_missing} row(s) with a missing value on the covariate(s) {} were left out (as lavaan deletes them with fixed.x)",
            xnames.join(", ")
        ));
    }
    let x = DMatrix::from_fn(n, q, |i, k| xcols[k][keep[i]]);
    let ordered: Vec<bool> = levels.iter().map(|l| !l.is_empty()).collect();
    let mut fits = Vec::with_capacity(p);
    for j in 0..p {
        let lv = &levels[j];
        if !ordered[j] {
            let y: Vec<f64> = keep.iter().map(|&i| cols[j][i]).collect();
            fits.push(Uni1::Num(regression(&y, &x, &names[j])?));
            continue;
        }
        if lv.len() < 2 {
            return Err(format!(
                "ordinal variable `{}` has {} category; an ordinal variable needs at least two",
                names[j],
                lv.len()
            ));
        }
        let y = super::univariate::codes(keep.iter().map(|&i| cols[j][i]), lv, &names[j])?;
        fits.push(Uni1::Ord(probit(y, lv.len(), &x, &names[j])?));
    }
    // layout: thresholds (intercepts of continuous variables), slopes
    // (covariate by covariate), variances of continuous variables, correlations
    let mut th_start = Vec::with_capacity(p);
    let (mut th, mut th_idx) = (Vec::new(), Vec::new());
    for (j, f) in fits.iter().enumerate() {
        th_start.push(th.len());
        match f {
            Uni1::Ord(o) => {
                th.extend_from_slice(&o.th);
                th_idx.extend(std::iter::repeat_n(j + 1, o.th.len()));
            }
            Uni1::Num(r) => {
                th.push(r.intercept);
                th_idx.push(0);
            }
        }
    }
    let nth = th.len();
    let sl = |j: usize, k: usize| nth + k * p + j;
    let num: Vec<usize> = (0..p).filter(|&j| !ordered[j]).collect();
    let var_pos = |j: usize| num.iter().position(|&v| v == j).map(|k| nth + p * q + k);
    let a11 = nth + p * q + num.len();
    let pstar = p * (p - 1) / 2;
    let total = a11 + pstar;
    // the columns of variable j's stage-1 block: threshold block, slopes, variance
    let block = |j: usize| -> Vec<usize> {
        let mut idx: Vec<usize> = (th_start[j]..th_start[j] + fits[j].nth()).collect();
        idx.extend((0..q).map(|k| sl(j, k)));
        idx.extend(var_pos(j));
        idx
    };
    let mut sc = DMatrix::<f64>::zeros(n, total);
    for (j, f) in fits.iter().enumerate() {
        let m = match f {
            Uni1::Ord(o) => &o.scores,
            Uni1::Num(r) => &r.scores,
        };
        for (c, col) in block(j).into_iter().enumerate() {
            sc.column_mut(col).copy_from(&m.column(c));
        }
    }
    let sd: Vec<f64> = fits.iter().map(|f| if let Uni1::Num(r) = f { r.var.sqrt() } else { 1.0 }).collect();
    let pairs: Vec<(usize, usize)> = (0..p).flat_map(|j| (j + 1..p).map(move |i| (j, i))).collect();
    // per pair (i > j): rho, the rho scores, the scores of i's and j's stage-1 blocks
    let outs: Vec<MixOut> = {
        use rayon::prelude::*;
        pairs
            .par_iter()
            .map(|&(j, i)| match (&fits[i], &fits[j]) {
                (Uni1::Ord(a), Uni1::Ord(b)) => {
                    let rho = polychoric_x(b, a);
                    let s = pair_scores(a, b, &x, rho);
                    MixOut {
                        rho,
                        sc_rho: s.rho,
                        a: s.a,
                        b: s.b,
                    }
                }
                (Uni1::Num(a), Uni1::Ord(b)) => polyserial_x(a, b, &x),
                (Uni1::Ord(a), Uni1::Num(b)) => {
                    let o = polyserial_x(b, a, &x);
                    MixOut {
                        rho: o.rho,
                        sc_rho: o.sc_rho,
                        a: o.b,
                        b: o.a,
                    }
                }
                (Uni1::Num(a), Uni1::Num(b)) => pearson_x(a, b, &x),
            })
            .collect()
    };
    let mut cor = DMatrix::<f64>::identity(p, p);
    let mut a21 = DMatrix::<f64>::zeros(pstar, a11);
    let mut h21 = DMatrix::<f64>::zeros(pstar, a11);
    let mut h22 = vec![1.0; pstar];
    for (qi, (&(j, i), s)) in pairs.iter().zip(&outs).enumerate() {
        let rho = s.rho;
        cor[(i, j)] = rho;
        cor[(j, i)] = rho;
        if rho.abs() > 0.99 {
            warnings.push(format!("the correlation between {} and {} is (nearly) 1.0", names[i], names[j]));
        }
        sc.column_mut(a11 + qi).copy_from_slice(&s.sc_rho);
        let dot = |m: &DMatrix<f64>, c: usize| s.sc_rho.iter().zip(m.column(c).iter()).map(|(a, b)| a * b).sum::<f64>();
        for (v, m) in [(i, &s.a), (j, &s.b)] {
            for (c, col) in block(v).into_iter().enumerate() {
                a21[(qi, col)] = dot(m, c);
            }
        }
        // correlations to covariances where continuous variables are involved
        match (var_pos(i), var_pos(j)) {
            (Some(vi), Some(vj)) => {
                h21[(qi, vi)] = sd[j] * rho / (2.0 * sd[i]);
                h21[(qi, vj)] = sd[i] * rho / (2.0 * sd[j]);
                h22[qi] = sd[i] * sd[j];
            }
            (Some(v), None) | (None, Some(v)) => {
                let k = if var_pos(i).is_some() { i } else { j };
                h21[(qi, v)] = rho / (2.0 * sd[k]);
                h22[qi] = sd[k];
            }
            (None, None) => {}
        }
    }
    // the casewise influence F = SC B^-T H', NACOV = N F'F
    let blocks: Vec<Vec<usize>> = (0..p).map(block).collect();
    let (a21, h21) = (super::sparse_rows(&a21), super::sparse_rows(&h21));
    let h2 = (!num.is_empty()).then_some((h22.as_slice(), &h21));
    let nacov = super::casewise_nacov(sc, &blocks, a11, &a21, h2, &th_idx);
    let slopes = DMatrix::from_fn(p, q, |j, k| fits[j].slopes()[k]);
    let cov = DMatrix::from_fn(p, p, |r, c| cor[(r, c)] * sd[r] * sd[c]);
    let mut obs: Vec<f64> = th.iter().zip(&th_idx).map(|(&t, &i)| if i == 0 { -t } else { t }).collect();
    for k in 0..q {
        obs.extend(slopes.column(k).iter());
    }
    obs.extend(num.iter().map(|&j| sd[j] * sd[j]));
    for j in 0..p {
        for i in j + 1..p {
            obs.push(cov[(i, j)]);
        }
    }
    let nf = n as f64;
    let mean = DVector::from_fn(q, |k, _| x.column(k).sum() / nf);
    let xcov = DMatrix::from_fn(q, q, |a, b| {
        (0..n).map(|i| (x[(i, a)] - mean[a]) * (x[(i, b)] - mean[b])).sum::<f64>() / (nf - 1.0)
    });
    Ok(OrdinalStats {
        nobs: n,
        ordered,
        levels: levels.to_vec(),
        th,
        th_idx,
        cov,
        wls_obs: DVector::from_vec(obs),
        nacov,
        warnings,
        exo: Some(Covariates {
            names: xnames.to_vec(),
            mean,
            cov: xcov,
            slopes,
        }),
    })
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
    pairwise: bool,
) -> Result<Vec<OrdinalStats>, String> {
    let yi = super::columns::column_indices(ds, ys)?;
    let xi = super::columns::column_indices(ds, xs)?;
    let lv: Vec<Vec<f64>> = ys
        .iter()
        .map(|v| levels.iter().find(|(n, _)| n == v).map(|(_, l)| l.clone()).unwrap_or_default())
        .collect();
    super::columns::per_group(ds, group_rows, group_names, |take| {
        ordinal_stats_x(&take(&yi), ys, &lv, &take(&xi), xs, pairwise)
    })
}

/// The statistics of each group for a model with covariates (the
/// pipeline's entry): the items are the model's observed variables other
/// than its covariates `ov_x`; `pairwise`: lavaan's `missing = "pairwise"`.
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
    let ys: Vec<String> = names.ov.iter().filter(|v| !xs.contains(v)).cloned().collect();
    group_stats_x(ds, group_rows, group_names, &ys, xs, levels, pairwise)
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

/// Why --residuals are left out with covariates.
pub const NO_DIAGNOSTICS: &str = "--residuals are not available yet for ordinal data with exogenous covariates (conditional.x: residuals of thresholds, slopes and correlations); they were left out";

/// The estimator's refusal for a model with covariates: lavaan's
/// conditional.x needs them fixed (fixed.x).
pub fn check(prep: &crate::pipeline::Prepared) -> Result<(), String> {
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
/// covariates' means; `gd` (the statistics' own moments, means of continuous
/// variables at their intercepts) is kept without covariates.
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
            // continuous variables: intercept (from `gd`) + slopes times the covariates' means
            let pim = pi * &c.mean;
            let mut mean = g.mean.clone();
            for (a, &i) in ys.iter().enumerate() {
                if !s.ordered[a] {
                    mean[i] += pim[a];
                }
            }
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
