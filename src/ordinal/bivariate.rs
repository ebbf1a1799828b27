//! Stage 2: one pair at a time, the correlation by ML with the stage-1
//! parameters held fixed (two-step), and the per-case scores of that
//! bivariate log-likelihood. Polychoric for two ordinal variables (lavaan's
//! `lav_bvord`, including its `zero.add` / `zero.keep.margins` treatment of
//! empty cells in 2x2 tables), polyserial for a continuous and an ordinal
//! one (`lav_bvmix`), Pearson for two continuous ones (`lav_bvreg`; with
//! complete data its ML estimate is the sample correlation).

use super::normal::{dbinorm, dnorm, pnorm, Bvn, Margin};
use super::univariate::{NumVar, OrdVar, MISSING};

/// lavaan's smallest cell probability (`sqrt(.Machine$double.eps)`).
const MIN_PROB: f64 = 1.490_116_119_384_765_6e-8;

/// A maximiser of a one-parameter log-likelihood on [lo, hi] from its
/// derivative, as lavaan's `nlminb` run from `start` finds it: climb from
/// `start` in the direction the score points until the score changes sign
/// (or a bound is reached), then close in on the root by regula falsi with
/// bisection steps.
pub(super) fn solve_score(mut score: impl FnMut(f64) -> f64, lo: f64, hi: f64, start: f64) -> f64 {
    let start = if start.is_finite() { start.clamp(lo, hi) } else { 0.0 };
    let f0 = score(start);
    if f0 == 0.0 {
        return start;
    }
    let (mut a, mut b, mut fa, mut fb);
    let step = 0.05;
    if f0 > 0.0 {
        (a, fa) = (start, f0);
        loop {
            let x = (a + step).min(hi);
            let fx = score(x);
            if fx.is_nan() || fx <= 0.0 {
                (b, fb) = (x, fx);
                if fx.is_nan() {
                    return a;
                }
                break;
            }
            if x >= hi {
                return hi;
            }
            (a, fa) = (x, fx);
        }
    } else {
        (b, fb) = (start, f0);
        loop {
            let x = (b - step).max(lo);
            let fx = score(x);
            if fx.is_nan() || fx >= 0.0 {
                (a, fa) = (x, fx);
                if fx.is_nan() {
                    return b;
                }
                break;
            }
            if x <= lo {
                return lo;
            }
            (b, fb) = (x, fx);
        }
    }
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    // Illinois regula falsi: a bound kept twice in a row has its score halved
    let mut side = 0;
    for _ in 0..200 {
        let mut x = b - fb * (b - a) / (fb - fa);
        if !(x > a && x < b) {
            x = 0.5 * (a + b);
        }
        let fx = score(x);
        if fx == 0.0 || fx.is_nan() {
            return x;
        }
        if fx > 0.0 {
            a = x;
            fa = fx;
            if side == 1 {
                fb *= 0.5;
            }
            side = 1;
        } else {
            b = x;
            fb = fx;
            if side == -1 {
                fa *= 0.5;
            }
            side = -1;
        }
        if b - a < 1e-14 {
            break;
        }
    }
    0.5 * (a + b)
}

/// The polychoric correlation of two ordinal variables: `(rho, empty_cells)`.
pub fn polychoric(y1: &OrdVar, y2: &OrdVar) -> (f64, bool) {
    let (n1, n2) = (y1.nth() + 1, y2.nth() + 1);
    let mut freq = vec![vec![0.0_f64; n2]; n1];
    for (&a, &b) in y1.y.iter().zip(&y2.y) {
        if a != MISSING && b != MISSING {
            freq[a][b] += 1.0;
        }
    }
    let empty = freq.iter().flatten().any(|&f| f == 0.0);
    if n1 == 2 && n2 == 2 {
        let zeros: Vec<(usize, usize)> = (0..2)
            .flat_map(|i| (0..2).map(move |j| (i, j)))
            .filter(|&(i, j)| freq[i][j] == 0.0)
            .collect();
        if zeros.len() == 2 {
            return (if freq[0][0] > 0.0 { 1.0 } else { -1.0 }, empty);
        }
        if zeros.len() == 1 {
            // zero.add = 0.5 with zero.keep.margins: move half a case so that
            // the margins (and thresholds) stay as they are
            let s = if zeros[0].0 == zeros[0].1 { 0.5 } else { -0.5 };
            freq[0][0] += s;
            freq[1][1] += s;
            freq[0][1] -= s;
            freq[1][0] -= s;
        }
        if freq[0][0] * freq[1][1] == freq[0][1] * freq[1][0] {
            return (0.0, empty);
        }
        if y1.th[0] == 0.0 && y2.th[0] == 0.0 {
            let n: f64 = freq.iter().flatten().sum();
            return (-(2.0 * std::f64::consts::PI * freq[0][0] / n).cos(), empty);
        }
    }
    // score and its derivative (the Hessian of the log-likelihood)
    let mut t = CellTable::new(y1, y2);
    let mut derivs = |rho: f64, hessian: bool| {
        t.set(rho, hessian);
        let (mut g, mut h) = (0.0, 0.0);
        for (i, row) in freq.iter().enumerate() {
            for (j, &f) in row.iter().enumerate() {
                if f != 0.0 {
                    let (p, d) = (t.p(i, j), t.d(i, j));
                    g += f * d / p;
                    if hessian {
                        h += f * (t.dd(i, j) / p - (d / p) * (d / p));
                    }
                }
            }
        }
        (g, h)
    };
    let start = code_correlation(&y1.y, &y2.y);
    let rho =
        newton(|r| derivs(r, true), -0.999, 0.999, start).unwrap_or_else(|| solve_score(|r| derivs(r, false).0, -0.999, 0.999, start));
    (rho, empty)
}

/// Newton's method on the score from `start` (what lavaan's `nlminb` with
/// the analytic Hessian does), when it converges inside (lo, hi) to a
/// maximum; `None` sends the caller to the bracketing solver.
fn newton(mut derivs: impl FnMut(f64) -> (f64, f64), lo: f64, hi: f64, start: f64) -> Option<f64> {
    let mut x = start.clamp(lo, hi);
    let mut last = f64::NAN;
    for _ in 0..50 {
        let (g, h) = derivs(x);
        if h.is_nan() || h >= 0.0 || !g.is_finite() {
            return None;
        }
        let step = g / h;
        let next = x - step;
        if !(next > lo && next < hi) {
            return None;
        }
        x = next;
        // Newton converges quadratically, e_k+1 = C e_k^2: after a step of
        // 1e-9 the error is far below rounding; after a small step whose
        // ratio to the previous one squared (an estimate of C) puts the
        // next error below 1e-12, so is it, one evaluation sooner
        let (s, c) = (step.abs(), step.abs() / (last * last));
        if s < 1e-9 || (s < 1e-5 && c * s * s < 1e-12) {
            return Some(x);
        }
        last = s;
    }
    None
}

/// The bivariate normal distribution and density at every corner of a
/// polychoric table (thresholds padded with -inf and +inf), so that each
/// cell's probability (lavaan's `PI`, floored at `MIN_PROB`) and its
/// derivative with respect to rho are four-term differences. Made once per
/// pair and `set` to each rho the solver tries: the thresholds' `pnorm`
/// (all a corner on the table's border needs) and the buffers are reused.
struct CellTable {
    t1: Vec<Margin>,
    t2: Vec<Margin>,
    /// (n1 + 1) x (n2 + 1) corner values, row-major
    cdf: Vec<f64>,
    pdf: Vec<f64>,
    /// derivative of the density with respect to rho (when asked for)
    dpdf: Vec<f64>,
}

impl CellTable {
    fn new(y1: &OrdVar, y2: &OrdVar) -> CellTable {
        let margins = |y: &OrdVar| -> Vec<Margin> {
            std::iter::once(f64::NEG_INFINITY)
                .chain(y.th.iter().copied())
                .chain([f64::INFINITY])
                .map(Margin::new)
                .collect()
        };
        let (t1, t2) = (margins(y1), margins(y2));
        let corners = t1.len() * t2.len();
        CellTable {
            t1,
            t2,
            cdf: Vec::with_capacity(corners),
            pdf: Vec::with_capacity(corners),
            dpdf: Vec::with_capacity(corners),
        }
    }

    /// The corner values at `rho` (with the density's derivative when
    /// `hessian`).
    fn set(&mut self, rho: f64, hessian: bool) {
        self.cdf.clear();
        self.pdf.clear();
        self.dpdf.clear();
        let s = 1.0 - rho * rho;
        let bvn = Bvn::new(rho);
        for &ma in &self.t1 {
            for &mb in &self.t2 {
                self.cdf.push(bvn.cdf_at(ma, mb));
                let (a, b) = (ma.x, mb.x);
                let d = dbinorm(a, b, rho);
                self.pdf.push(d);
                if hessian {
                    // d/drho log phi2 = (rho + ab) / s - rho Q / s^2
                    self.dpdf.push(if d == 0.0 {
                        0.0
                    } else {
                        let q = a * a - 2.0 * rho * a * b + b * b;
                        d * ((rho + a * b) / s - rho * q / (s * s))
                    });
                }
            }
        }
    }

    fn diff(&self, v: &[f64], i: usize, j: usize) -> f64 {
        let w = self.t2.len();
        v[(i + 1) * w + j + 1] - v[i * w + j + 1] - v[(i + 1) * w + j] + v[i * w + j]
    }

    fn p(&self, i: usize, j: usize) -> f64 {
        self.diff(&self.cdf, i, j).max(MIN_PROB)
    }

    fn d(&self, i: usize, j: usize) -> f64 {
        self.diff(&self.pdf, i, j)
    }

    fn dd(&self, i: usize, j: usize) -> f64 {
        self.diff(&self.dpdf, i, j)
    }
}

/// One cell's scores: the two (threshold index, score) pairs of y1, of y2,
/// and the score of rho; NaN for a (nearly) impossible cell.
pub type CellScores = ([(usize, f64); 2], [(usize, f64); 2], f64);

/// The scores of a polychoric pair at `rho`, per cell of its table: they
/// are the same for every case in a cell.
pub struct OrdOrdScores {
    n2: usize,
    /// per cell, row-major
    pub cells: Vec<CellScores>,
}

impl OrdOrdScores {
    /// Per case (of y1 and y2 as given), written into `rho`: the score of
    /// rho, 0 for a missing value or a (nearly) impossible cell (lavaan's
    /// NA). Returned: the sums over the cases of the rho score times each
    /// threshold score, for the thresholds of y1 and of y2 (lavaan's NA
    /// products skipped). The products are made per cell; the sums run
    /// over the cases in data order, as a casewise cross-product would
    /// (adding a cell's products in one step, count times product, would
    /// round differently).
    pub fn casewise(&self, y1: &OrdVar, y2: &OrdVar, rho: &mut [f64]) -> (Vec<f64>, Vec<f64>) {
        // per cell: the rho score (NaN as 0), and its products with y1's
        // two threshold scores and y2's two, a skipped (NaN) product as 0:
        // adding 0 leaves a sum as it is
        let prod: Vec<[f64; 5]> = self
            .cells
            .iter()
            .map(|(t1, t2, r)| {
                let f = |v: f64| if (r * v).is_nan() { 0.0 } else { r * v };
                [f(t1[0].1), f(t1[1].1), f(t2[0].1), f(t2[1].1), if r.is_nan() { 0.0 } else { *r }]
            })
            .collect();
        // threshold t in slot t + 1; slots 0 and nth + 1 take the scores
        // of the bounds at -inf and +inf, which are not statistics
        let (mut s1, mut s2) = (vec![0.0; y1.nth() + 2], vec![0.0; y2.nth() + 2]);
        for (o, (&a, &b)) in rho.iter_mut().zip(y1.y.iter().zip(&y2.y)) {
            if a == MISSING || b == MISSING {
                *o = 0.0;
                continue;
            }
            let p = &prod[a * self.n2 + b];
            s1[a + 1] += p[0];
            s1[a] += p[1];
            s2[b + 1] += p[2];
            s2[b] += p[3];
            *o = p[4];
        }
        (s1[1..=y1.nth()].to_vec(), s2[1..=y2.nth()].to_vec())
    }
}

/// The scores of a polychoric pair at `rho`, cell by cell.
pub fn polychoric_scores(y1: &OrdVar, y2: &OrdVar, rho: f64) -> OrdOrdScores {
    let (n1, n2) = (y1.nth() + 1, y2.nth() + 1);
    let mut t = CellTable::new(y1, y2);
    t.set(rho, false);
    let r = (1.0 - rho * rho).sqrt();
    let z = |x: f64, up: f64, lo: f64| {
        if r == 0.0 {
            dnorm(x) * 0.5
        } else {
            dnorm(x) * (pnorm((up - rho * x) / r) - pnorm((lo - rho * x) / r))
        }
    };
    let mut cells = Vec::with_capacity(n1 * n2);
    for a in 0..n1 {
        for b in 0..n2 {
            // lavaan sets the scores of cases in (nearly) impossible cells to
            // NA and its cross-products skip them
            let lik = t.p(a, b);
            let lik = if lik <= MIN_PROB { f64::NAN } else { lik };
            let (u1, l1, u2, l2) = (y1.upper(a), y1.lower(a), y2.upper(b), y2.lower(b));
            cells.push((
                [(a, z(u1, u2, l2) / lik), (a.wrapping_sub(1), -z(l1, u2, l2) / lik)],
                [(b, z(u2, u1, l1) / lik), (b.wrapping_sub(1), -z(l2, u1, l1) / lik)],
                t.d(a, b) / lik,
            ));
        }
    }
    OrdOrdScores { n2, cells }
}

/// The polyserial correlation of continuous `x` and ordinal `y`.
pub fn polyserial(x: &NumVar, y: &OrdVar) -> f64 {
    let sd = x.var.sqrt();
    let zs: Vec<f64> = x.x.iter().map(|v| (v - x.mean) / sd).collect();
    let score = |rho: f64| {
        let r = (1.0 - rho * rho).sqrt();
        zs.iter()
            .zip(&y.y)
            .filter(|(z, &c)| !z.is_nan() && c != MISSING)
            .map(|(&z, &c)| mix_case(z, y.upper(c), y.lower(c), rho, r).3)
            .sum::<f64>()
    };
    let start = polyserial_start(x, y);
    solve_score(score, -0.995, 0.995, start)
}

/// lavaan's starting value for the polyserial correlation: the Pearson
/// correlation with the category codes times their SD over the sum of the
/// threshold densities, halved when above 0.9 in absolute value.
fn polyserial_start(x: &NumVar, y: &OrdVar) -> f64 {
    let codes: Vec<f64> = y.y.iter().filter(|&&c| c != MISSING).map(|&c| c as f64).collect();
    let n = codes.len() as f64;
    let m = codes.iter().sum::<f64>() / n;
    let sd = (codes.iter().map(|c| (c - m) * (c - m)).sum::<f64>() / n).sqrt();
    let (xs, cs): (Vec<f64>, Vec<f64>) =
        x.x.iter()
            .zip(&y.y)
            .filter(|(v, &c)| !v.is_nan() && c != MISSING)
            .map(|(v, &c)| (*v, c as f64))
            .unzip();
    let r = pearson_raw(&xs, &cs);
    let s = r * sd / y.th.iter().map(|&t| dnorm(t)).sum::<f64>();
    if s.is_nan() {
        0.0
    } else if s.abs() > 0.9 {
        s / 2.0
    } else {
        s
    }
}

/// lavaan's starting value for the polychoric correlation: the Pearson
/// correlation of the category codes (0 if undefined or at +-1).
fn code_correlation(a: &[usize], b: &[usize]) -> f64 {
    // `pearson_raw` of the codes of the complete pairs, without collecting them
    let pairs = || {
        a.iter()
            .zip(b)
            .filter(|(&x, &y)| x != MISSING && y != MISSING)
            .map(|(&x, &y)| (x as f64, y as f64))
    };
    let n = pairs().count() as f64;
    let (sa, sb) = pairs().fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x, sb + y));
    let (ma, mb) = (sa / n, sb / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs() {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    let r = sab / (saa * sbb).sqrt();
    if r.is_nan() || r.abs() >= 1.0 {
        0.0
    } else {
        r
    }
}

fn pearson_raw(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// One case's polyserial quantities: (phi(tau_j*), phi(tau_j-1*), 1/P(y|x), d rho).
fn mix_case(z: f64, u: f64, l: f64, rho: f64, r: f64) -> (f64, f64, f64, f64) {
    let (tu, tl) = ((u - rho * z) / r, (l - rho * z) / r);
    let (du, dl) = (dnorm(tu), dnorm(tl));
    let py = (pnorm(tu) - pnorm(tl)).max(f64::EPSILON);
    let inv = 1.0 / py;
    let a = if u.is_finite() { du * (u * rho - z) } else { 0.0 };
    let b = if l.is_finite() { dl * (l * rho - z) } else { 0.0 };
    (du, dl, inv, inv / (r * r * r) * (a - b))
}

/// Per-case scores of a polyserial pair at `rho`.
pub struct MixScores {
    pub mu: Vec<f64>,
    pub var: Vec<f64>,
    pub th: Vec<[(usize, f64); 2]>,
    pub rho: Vec<f64>,
}

pub fn polyserial_scores(x: &NumVar, y: &OrdVar, rho: f64) -> MixScores {
    let n = x.x.len();
    let sd = x.var.sqrt();
    let r = (1.0 - rho * rho).sqrt();
    let mut out = MixScores {
        mu: Vec::with_capacity(n),
        var: Vec::with_capacity(n),
        th: Vec::with_capacity(n),
        rho: Vec::with_capacity(n),
    };
    for c in 0..n {
        let z = (x.x[c] - x.mean) / sd;
        let k = y.y[c];
        if z.is_nan() || k == MISSING {
            out.mu.push(0.0);
            out.var.push(0.0);
            out.th.push([(MISSING, 0.0); 2]);
            out.rho.push(0.0);
            continue;
        }
        let (du, dl, inv, drho) = mix_case(z, y.upper(k), y.lower(k), rho, r);
        let diff = du - dl;
        out.mu.push(1.0 / sd * (z + inv * (rho / r) * diff));
        out.var.push(1.0 / (2.0 * x.var) * ((z * z - 1.0) + inv * rho * z / r * diff));
        out.th.push([(k, du / r * inv), (k.wrapping_sub(1), -dl / r * inv)]);
        out.rho.push(drho);
    }
    out
}

/// The Pearson correlation of two continuous variables: with complete data
/// the sample correlation; with missing values (pairwise), lavaan's ML
/// estimate over the complete pairs with the univariate means and variances
/// held fixed.
pub fn pearson(x1: &NumVar, x2: &NumVar) -> f64 {
    let complete = !x1.x.iter().chain(&x2.x).any(|v| v.is_nan());
    if complete {
        let n = x1.x.len() as f64;
        let c: f64 = x1.x.iter().zip(&x2.x).map(|(a, b)| (a - x1.mean) * (b - x2.mean)).sum::<f64>() / n;
        return c / (x1.var * x2.var).sqrt();
    }
    let start = {
        let (a, b): (Vec<f64>, Vec<f64>) =
            x1.x.iter()
                .zip(&x2.x)
                .filter(|(a, b)| !a.is_nan() && !b.is_nan())
                .map(|(a, b)| (*a, *b))
                .unzip();
        let r = pearson_raw(&a, &b);
        if r.is_nan() || r.abs() >= 1.0 {
            0.0
        } else {
            r
        }
    };
    let score = |rho: f64| pearson_scores(x1, x2, rho).rho.iter().sum::<f64>();
    solve_score(score, -0.999, 0.999, start)
}

/// Per-case scores of a bivariate normal pair (means, variances, rho).
pub struct NumNumScores {
    pub mu1: Vec<f64>,
    pub mu2: Vec<f64>,
    pub var1: Vec<f64>,
    pub var2: Vec<f64>,
    pub rho: Vec<f64>,
}

pub fn pearson_scores(x1: &NumVar, x2: &NumVar, rho: f64) -> NumNumScores {
    let n = x1.x.len();
    let (v1, v2) = (x1.var, x2.var);
    let (s1, s2) = (v1.sqrt(), v2.sqrt());
    let r = 1.0 - rho * rho;
    let mut out = NumNumScores {
        mu1: vec![],
        mu2: vec![],
        var1: vec![],
        var2: vec![],
        rho: vec![],
    };
    for c in 0..n {
        let (a, b) = (x1.x[c] - x1.mean, x2.x[c] - x2.mean);
        if a.is_nan() || b.is_nan() {
            for v in [&mut out.mu1, &mut out.mu2, &mut out.var1, &mut out.var2, &mut out.rho] {
                v.push(0.0);
            }
            continue;
        }
        out.mu1.push((2.0 * a / v1 - 2.0 * rho * b / (s1 * s2)) / (2.0 * r));
        out.mu2.push(-(2.0 * rho * a / (s1 * s2) - 2.0 * b / v2) / (2.0 * r));
        out.var1
            .push(-(0.5 / v1 - ((a * a) / (v1 * v1) - rho * a * b / (v1 * s1 * s2)) / (2.0 * r)));
        out.var2
            .push(-(0.5 / v2 + (rho * a * b / (v2 * s1 * s2) - (b * b) / (v2 * v2)) / (2.0 * r)));
        let z = a * a / v1 - 2.0 * rho * a * b / (s1 * s2) + b * b / v2;
        out.rho.push(rho / r + (a * b / (s1 * s2 * r) - z * rho / (r * r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_derivatives_match_finite_differences() {
        let y1 = OrdVar::fit(vec![0, 1, 2, 2, 1, 0, 2, 1], 3);
        let y2 = OrdVar::fit(vec![1, 1, 0, 1, 0, 0, 1, 1], 2);
        let (rho, e) = (0.37, 1e-6);
        let table = |rho: f64| {
            let mut t = CellTable::new(&y1, &y2);
            t.set(rho, true);
            t
        };
        let (t, tp, tm) = (table(rho), table(rho + e), table(rho - e));
        for i in 0..3 {
            for j in 0..2 {
                let dp = (tp.p(i, j) - tm.p(i, j)) / (2.0 * e);
                let dd = (tp.d(i, j) - tm.d(i, j)) / (2.0 * e);
                assert!((dp - t.d(i, j)).abs() < 1e-8, "d p / d rho, cell ({i}, {j})");
                assert!((dd - t.dd(i, j)).abs() < 1e-7, "d^2 p / d rho^2, cell ({i}, {j})");
            }
        }
    }
}
