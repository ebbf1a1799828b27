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
    let (rho, empty, _) = fit_polychoric(y1, y2);
    (rho, empty)
}

/// `polychoric`, with the table the solver last evaluated (`None` when the
/// correlation needed none: a 2 x 2 table's special cases).
fn fit_polychoric(y1: &OrdVar, y2: &OrdVar) -> (f64, bool, Option<CellTable>) {
    let (n1, n2) = (y1.nth() + 1, y2.nth() + 1);
    let mut freq = vec![vec![0.0_f64; n2]; n1];
    for (&a, &b) in y1.y.iter().zip(&y2.y) {
        if a != MISSING && b != MISSING {
            freq[a][b] += 1.0;
        }
    }
    let empty = freq.iter().flatten().any(|&f| f == 0.0);
    // before the 2 x 2 tables' zero.add below: from the codes as observed
    let start = code_correlation(&freq);
    if n1 == 2 && n2 == 2 {
        let zeros: Vec<(usize, usize)> = (0..2)
            .flat_map(|i| (0..2).map(move |j| (i, j)))
            .filter(|&(i, j)| freq[i][j] == 0.0)
            .collect();
        if zeros.len() == 2 {
            return (if freq[0][0] > 0.0 { 1.0 } else { -1.0 }, empty, None);
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
            return (0.0, empty, None);
        }
        if y1.th[0] == 0.0 && y2.th[0] == 0.0 {
            let n: f64 = freq.iter().flatten().sum();
            return (-(2.0 * std::f64::consts::PI * freq[0][0] / n).cos(), empty, None);
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
    let rho =
        newton(|r| derivs(r, true), -0.999, 0.999, start).unwrap_or_else(|| solve_score(|r| derivs(r, false).0, -0.999, 0.999, start));
    (rho, empty, Some(t))
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
///
/// Most of a pair's time is the distribution function at the interior
/// corners (Genz's method: 6 to 20 `exp` per corner). Once it is known at
/// one rho, a nearby rho needs only Plackett's identity, d Phi2 / d rho =
/// phi2: Phi2(rho1) = Phi2(rho0) + the integral of the density from rho0
/// to rho1, which a short Gauss–Legendre rule gets to rounding when the
/// step is small against the distance to the singularities at +-1 (Newton's
/// later steps, and the scores' table at the solution): 2 to 8 `exp` per
/// corner.
struct CellTable {
    t1: Vec<Margin>,
    t2: Vec<Margin>,
    /// (n1 + 1) x (n2 + 1) corner values, row-major
    cdf: Vec<f64>,
    pdf: Vec<f64>,
    /// derivative of the density with respect to rho (when asked for)
    dpdf: Vec<f64>,
    /// the rho `cdf` holds (NaN before the first `set`)
    rho: f64,
}

/// The Gauss–Legendre rule that integrates the bivariate normal density
/// over the correlations from `r0` to `r1` to rounding, if a short one
/// does (`None`: evaluate the distribution function afresh). The density
/// is analytic in rho but for its singularities at +-1, at distance `d`
/// from the step; the error of an n-point rule on a step `delta` is then
/// of order delta (delta / 2d)^2n (up to a modest factor, taken as 50),
/// and the rule is used when that is below 1e-16 (the test
/// `plackett_steps_match_a_fresh_table` still sees rounding alone at 1e-14).
fn plackett_rule(r0: f64, r1: f64) -> Option<&'static [(f64, f64)]> {
    let delta = (r1 - r0).abs();
    let d = 1.0 - r0.abs().max(r1.abs());
    if !(delta.is_finite() && d > 0.0) {
        return None;
    }
    let q = delta / (2.0 * d);
    super::normal::short_rules()
        .iter()
        .find(|rule| 50.0 * delta * q.powi(2 * rule.len() as i32) <= 1e-16)
        .map(Vec::as_slice)
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
            rho: f64::NAN,
        }
    }

    /// The corner values at `rho` (with the density's derivative when
    /// `hessian`).
    fn set(&mut self, rho: f64, hessian: bool) {
        match plackett_rule(self.rho, rho) {
            Some(rule) => self.advance_cdf(rho, rule),
            None => {
                self.cdf.clear();
                let bvn = Bvn::new(rho);
                for &ma in &self.t1 {
                    for &mb in &self.t2 {
                        self.cdf.push(bvn.cdf_at(ma, mb));
                    }
                }
            }
        }
        self.rho = rho;
        self.pdf.clear();
        self.dpdf.clear();
        let s = 1.0 - rho * rho;
        for &ma in &self.t1 {
            for &mb in &self.t2 {
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

    /// `cdf` from `self.rho` to `rho` by Plackett's identity with `rule`
    /// (nodes and weights on [-1, 1]). Only interior corners change: on the
    /// border the distribution function is 0 or a margin's.
    fn advance_cdf(&mut self, rho: f64, rule: &[(f64, f64)]) {
        let (mid, half) = (0.5 * (self.rho + rho), 0.5 * (rho - self.rho));
        // per node: rho, the density's factor and 1 / (2 (1 - rho^2))
        let mut nodes = [(0.0, 0.0, 0.0); 8];
        for (o, &(x, w)) in nodes.iter_mut().zip(rule) {
            let r = mid + half * x;
            let s = 1.0 - r * r;
            *o = (r, half * w / (2.0 * std::f64::consts::PI * s.sqrt()), 0.5 / s);
        }
        let nodes = &nodes[..rule.len()];
        let w = self.t2.len();
        for (i, ma) in self.t1.iter().enumerate().take(self.t1.len() - 1).skip(1) {
            for (j, mb) in self.t2.iter().enumerate().take(w - 1).skip(1) {
                let (a, b) = (ma.x, mb.x);
                let (ss, ab) = (a * a + b * b, a * b);
                let inc: f64 = nodes.iter().map(|&(r, c, h)| c * (-(ss - 2.0 * r * ab) * h).exp()).sum();
                let v = &mut self.cdf[i * w + j];
                *v = (*v + inc).clamp(0.0, 1.0);
            }
        }
    }

    /// The same table with the variables swapped: P(X < a, Y < b) is
    /// P(Y < b, X < a), the corners' values transposed.
    fn transposed(self) -> CellTable {
        let (w1, w2) = (self.t1.len(), self.t2.len());
        let cdf = if self.cdf.len() == w1 * w2 {
            (0..w1 * w2).map(|k| self.cdf[(k % w1) * w2 + k / w1]).collect()
        } else {
            Vec::with_capacity(w1 * w2)
        };
        CellTable {
            t1: self.t2,
            t2: self.t1,
            cdf,
            pdf: self.pdf,
            dpdf: self.dpdf,
            rho: if self.cdf.len() == w1 * w2 { self.rho } else { f64::NAN },
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
    scores_at(CellTable::new(y1, y2), y1, y2, rho)
}

/// The polychoric correlation of `y1` and `y2` as stage 2 fits it, on the
/// table of `y2` by `y1` (`polychoric(y2, y1)`), with the pair's scores at
/// it (`polychoric_scores(y1, y2, rho)`): the scores' table starts from
/// the fit's last one, a Plackett step away (`CellTable`).
pub fn polychoric_and_scores(y1: &OrdVar, y2: &OrdVar) -> (f64, bool, OrdOrdScores) {
    let (rho, empty, table) = fit_polychoric(y2, y1);
    let t = table.map_or_else(|| CellTable::new(y1, y2), CellTable::transposed);
    (rho, empty, scores_at(t, y1, y2, rho))
}

/// The scores at `rho` from a table of (y1, y2) at any correlation.
fn scores_at(mut t: CellTable, y1: &OrdVar, y2: &OrdVar, rho: f64) -> OrdOrdScores {
    let (n1, n2) = (y1.nth() + 1, y2.nth() + 1);
    t.set(rho, false);
    let r = (1.0 - rho * rho).sqrt();
    // the case's density times the conditional probability of the other
    // variable's interval, for a bound x of one variable and the bounds
    // (up, lo) of the other: per corner of the table, the density of one
    // bound and pnorm((bound of the other - rho x) / r) for each bound of
    // the other (with the infinite corners' values, NaN included, as the
    // expression per cell gives them)
    let cond = |xs: &[Margin], ys: &[Margin]| -> Vec<f64> {
        let mut v = Vec::with_capacity(xs.len() * ys.len());
        for x in xs {
            v.extend(ys.iter().map(|y| pnorm((y.x - rho * x.x) / r)));
        }
        v
    };
    let (q1, q2) = (cond(&t.t1, &t.t2), cond(&t.t2, &t.t1));
    let (d1, d2): (Vec<f64>, Vec<f64>) = (t.t1.iter().map(|m| dnorm(m.x)).collect(), t.t2.iter().map(|m| dnorm(m.x)).collect());
    let (w1, w2) = (n2 + 1, n1 + 1);
    // z for bound x (corner i of one variable) and the other's interval
    // between its corners j and j + 1
    let z = |d: &[f64], q: &[f64], w: usize, i: usize, j: usize| {
        if r == 0.0 {
            d[i] * 0.5
        } else {
            d[i] * (q[i * w + j + 1] - q[i * w + j])
        }
    };
    let mut cells = Vec::with_capacity(n1 * n2);
    for a in 0..n1 {
        for b in 0..n2 {
            // lavaan sets the scores of cases in (nearly) impossible cells to
            // NA and its cross-products skip them
            let lik = t.p(a, b);
            let lik = if lik <= MIN_PROB { f64::NAN } else { lik };
            cells.push((
                [
                    (a, z(&d1, &q1, w1, a + 1, b) / lik),
                    (a.wrapping_sub(1), -z(&d1, &q1, w1, a, b) / lik),
                ],
                [
                    (b, z(&d2, &q2, w2, b + 1, a) / lik),
                    (b.wrapping_sub(1), -z(&d2, &q2, w2, b, a) / lik),
                ],
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
/// correlation of the category codes (0 if undefined or at +-1), from the
/// pair's table of counts (`freq[a][b]` cases with codes a and b) rather
/// than case by case: 25 cells instead of 400 cases.
fn code_correlation(freq: &[Vec<f64>]) -> f64 {
    let cells = || {
        freq.iter()
            .enumerate()
            .flat_map(|(a, row)| row.iter().enumerate().map(move |(b, &f)| (a as f64, b as f64, f)))
    };
    let (n, sa, sb) = cells().fold((0.0, 0.0, 0.0), |(n, sa, sb), (a, b, f)| (n + f, sa + f * a, sb + f * b));
    let (ma, mb) = (sa / n, sb / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b, f) in cells() {
        sab += f * (a - ma) * (b - mb);
        saa += f * (a - ma) * (a - ma);
        sbb += f * (b - mb) * (b - mb);
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
    fn plackett_steps_match_a_fresh_table() {
        // thresholds from 5 categories, skewed and extreme ones included
        let y1 = OrdVar {
            y: vec![],
            th: vec![-2.9, -1.3, 0.2, 1.1, 2.6],
        };
        let y2 = OrdVar {
            y: vec![],
            th: vec![-2.2, -0.4, 0.05, 0.9, 3.1],
        };
        let mut worst = 0.0_f64;
        let mut used = 0;
        for r0 in [
            -0.97, -0.9, -0.6, -0.3, -0.05, 0.0, 0.1, 0.29, 0.31, 0.5, 0.74, 0.76, 0.9, 0.93, 0.97,
        ] {
            for delta in [1e-1, 5e-2, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4, 1e-6, 1e-9, 0.0] {
                for sign in [-1.0, 1.0] {
                    let r1 = r0 + sign * delta;
                    let mut t = CellTable::new(&y1, &y2);
                    t.set(r0, false);
                    t.set(r1, false);
                    used += plackett_rule(r0, r1).is_some() as usize;
                    let mut fresh = CellTable::new(&y1, &y2);
                    fresh.set(r1, false);
                    for (a, b) in t.cdf.iter().zip(&fresh.cdf) {
                        worst = worst.max((a - b).abs());
                    }
                }
            }
        }
        eprintln!("plackett: {used} steps, worst {worst:e}");
        assert!(used > 100);
        assert!(worst < 2e-15, "{worst:e}");
    }

    #[test]
    fn scores_from_the_fits_table_match_fresh_ones() {
        let y1 = OrdVar::fit(vec![0, 1, 2, 2, 1, 0, 2, 1, 3, 3, 0, 2, 1, 1, 3], 4);
        let y2 = OrdVar::fit(vec![1, 1, 0, 2, 0, 0, 2, 1, 2, 1, 0, 2, 1, 0, 2], 3);
        let (rho, empty) = polychoric(&y2, &y1);
        let (rho2, empty2, s) = polychoric_and_scores(&y1, &y2);
        assert_eq!((rho, empty), (rho2, empty2));
        let fresh = polychoric_scores(&y1, &y2, rho);
        let close = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-13 * (1.0 + b.abs());
        for (c, f) in s.cells.iter().zip(&fresh.cells) {
            assert!(close(c.2, f.2));
            for k in 0..2 {
                assert_eq!((c.0[k].0, c.1[k].0), (f.0[k].0, f.1[k].0));
                assert!(close(c.0[k].1, f.0[k].1) && close(c.1[k].1, f.1[k].1));
            }
        }
    }

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
