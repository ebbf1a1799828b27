//! Sample statistics for ordinal (and mixed ordinal/continuous) data: the
//! first stages of lavaan's three-stage approach (Muthén 1984), for one group.
//!
//! Stage 1 gives each ordinal variable its thresholds from its univariate
//! margin (`qnorm` of the cumulative proportions) and each continuous variable
//! its mean and variance. Stage 2 gives each pair a correlation by pairwise ML
//! with the stage-1 parameters held fixed: polychoric for two ordinal
//! variables (lavaan's `lav_bvord`), polyserial for an ordinal and a
//! continuous one (`lav_bvmix`), Pearson for two continuous ones. Stage 3 is
//! the asymptotic covariance of all these statistics (lavaan's `NACOV`, shown
//! by `lavInspect(fit, "gamma")`), computed from the casewise scores of the
//! stage-1 and stage-2 log-likelihoods (`lav_muthen1984`). The weight matrix of
//! the WLS family (`lavInspect(fit, "wls.v")`) follows from it.
//!
//! Everything is in the model's observed-variable order and uses lavaan's
//! layout, so that the estimator can compare `wls_obs` with the model-implied
//! (thresholds, variances, correlations) element by element.

pub mod bivariate;
pub mod columns;
pub mod exo;
pub mod nacov;
pub mod normal;
pub mod univariate;

use nalgebra::{DMatrix, DVector};
use univariate::{NumVar, OrdVar, Uni};

/// lavaan's sample statistics for one group with ordinal (and possibly
/// continuous) observed variables, in the model's observed-variable order.
#[derive(Debug, Clone)]
pub struct OrdinalStats {
    /// cases used (after listwise deletion; with pairwise deletion, the rows
    /// with at least one observed value), lavaan's `nobs`
    pub nobs: usize,
    /// per observed variable: declared ordinal
    pub ordered: Vec<bool>,
    /// per observed variable: its sorted distinct values (the categories,
    /// empty for a continuous variable); category k of variable j is `levels[j][k]`
    pub levels: Vec<Vec<f64>>,
    /// lavaan's internal `th` (`fit@SampleStats@th`): per variable in
    /// order, the K-1 thresholds of an ordinal variable, or the mean of a
    /// continuous one; `lavInspect(fit, "sampstat")$th` shows the entries
    /// with `th_idx != 0` (the means appear under `$mean` there)
    pub th: Vec<f64>,
    /// lavaan's `th.idx`: per `th` entry the 1-based variable it belongs to
    /// when that variable is ordinal, 0 when the entry is a continuous mean
    pub th_idx: Vec<usize>,
    /// `lavInspect(fit, "sampstat")$cov`: polychoric / polyserial / Pearson
    /// correlations off the diagonal; 1 on the diagonal for an ordinal
    /// variable, the (N-denominator) variance for a continuous one, and
    /// covariances (correlation times standard deviations) where continuous
    /// variables are involved, as lavaan
    pub cov: DMatrix<f64>,
    /// `lavInspect(fit, "wls.obs")`: `th` with the sign of each continuous
    /// mean flipped (lavaan stores it as a "threshold", minus the mean), then
    /// the variances of the continuous variables, then the elements of `cov`
    /// below the diagonal column by column (lavaan's `vech(cov, diagonal = FALSE)`)
    pub wls_obs: DVector<f64>,
    /// `lavInspect(fit, "gamma")`: the asymptotic covariance of `wls_obs`
    /// times N (lavaan's NACOV), N F'F from the casewise influence F of
    /// each case used on `wls_obs`, formed in the background (`nacov::Nacov`)
    pub nacov: nacov::Nacov,
    /// remarks: a correlation of (nearly) 1 (lavaan warns), bivariate tables
    /// with empty cells (lavaan's `zero.cell.tables`, one summary line)
    pub warnings: Vec<String>,
    /// the exogenous covariates conditioned on (lavaan's `conditional.x`,
    /// `exo::ordinal_stats_x`): their slopes follow the thresholds in
    /// `wls_obs`, and `cov` holds the correlations given them; `None`
    /// without covariates
    pub exo: Option<exo::Covariates>,
}

/// Which weight matrix of the WLS family: lavaan's `wls.v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightKind {
    /// inverse of the NACOV (estimator "WLS")
    Wls,
    /// inverse of the NACOV's diagonal (estimators "DWLS", "WLSMV")
    Dwls,
    /// identity (estimators "ULS", "ULSMV")
    Uls,
}

/// How missing values (NaN) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrdMissing {
    /// drop every row with a missing value (lavaan's default)
    #[default]
    Listwise,
    /// each statistic from the rows where its variables are observed
    /// (lavaan's `missing = "pairwise"`)
    Pairwise,
}

impl OrdinalStats {
    /// lavaan's `wls.v`: the inverse NACOV (WLS), the inverse of its diagonal
    /// (DWLS), or the identity (ULS). Errors when the NACOV (or an element of
    /// its diagonal) is not invertible.
    pub fn weight(&self, kind: WeightKind) -> Result<DMatrix<f64>, String> {
        // DWLS and ULS need only the diagonal: the whole NACOV may still be
        // in the making (`nacov::Nacov`)
        let p = self.nacov.diagonal().len();
        match kind {
            WeightKind::Uls => Ok(DMatrix::identity(p, p)),
            WeightKind::Dwls => Ok(DMatrix::from_diagonal(&self.dwls_diagonal()?)),
            WeightKind::Wls => {
                let gamma: &DMatrix<f64> = &self.nacov;
                let sym = (gamma + gamma.transpose()) * 0.5;
                // a (nearly) singular NACOV may fail Cholesky by rounding;
                // lavaan's inverse is then as large as ours: both are noise
                let inv = sym.clone().cholesky().map(|c| c.inverse()).or_else(|| sym.try_inverse());
                inv.filter(|m| m.iter().all(|v| v.is_finite())).ok_or_else(|| {
                    "the asymptotic covariance matrix of the sample statistics (NACOV) is not positive definite; \
                     the full WLS weight needs its inverse (use DWLS/WLSMV, or more cases)"
                        .to_string()
                })
            }
        }
    }

    /// The weight's diagonal when it is diagonal (DWLS, ULS; `None` for
    /// WLS), without the p x p matrix.
    pub fn weight_diagonal(&self, kind: WeightKind) -> Result<Option<DVector<f64>>, String> {
        match kind {
            WeightKind::Uls => Ok(Some(DVector::from_element(self.nacov.diagonal().len(), 1.0))),
            WeightKind::Dwls => self.dwls_diagonal().map(Some),
            WeightKind::Wls => Ok(None),
        }
    }

    /// Whether the weight of `kind` exists, without building it (DWLS and
    /// ULS; the full WLS weight is its own test: the NACOV's inverse).
    pub fn check_weight(&self, kind: WeightKind) -> Result<(), String> {
        match kind {
            WeightKind::Uls => Ok(()),
            WeightKind::Dwls => self.dwls_diagonal().map(|_| ()),
            WeightKind::Wls => self.weight(kind).map(|_| ()),
        }
    }

    /// The DWLS weight's diagonal, 1 / the NACOV's diagonal, each of
    /// which must be positive.
    fn dwls_diagonal(&self) -> Result<DVector<f64>, String> {
        let d = self.nacov.diagonal();
        if let Some((i, v)) = d.iter().enumerate().find(|(_, v)| !(**v > 0.0 && v.is_finite())) {
            return Err(format!(
                "the asymptotic variance of sample statistic {} is {v}; the DWLS weight needs it positive",
                i + 1
            ));
        }
        Ok(d.map(|v| 1.0 / v))
    }
}

/// The sorted distinct values of a column (NaN = missing is skipped).
pub fn categories(col: &[f64]) -> Vec<f64> {
    categories_strided(col, 0, 1)
}

/// `categories` of the column `values[start], values[start + stride], ..`
/// (a column of a row-major table), collected rather than sorted whole (an
/// ordinal column has a handful of distinct values, found by a short
/// linear search); more than `DISTINCT` distinct values fall back to
/// sorting the column. The same result either way: sorted by `total_cmp`,
/// NaN left out, and of values equal as numbers (0 and -0) the one first in
/// that order (-0) kept.
pub fn categories_strided(values: &[f64], start: usize, stride: usize) -> Vec<f64> {
    const DISTINCT: usize = 64;
    let col = || {
        values
            .get(start..)
            .unwrap_or_default()
            .iter()
            .step_by(stride.max(1))
            .copied()
            .filter(|x| !x.is_nan())
    };
    let mut seen: Vec<f64> = Vec::new();
    for x in col() {
        match seen.iter().position(|u| *u == x) {
            // -0 over +0 (any other equal value is the same bits)
            Some(k) if x.is_sign_negative() => seen[k] = x,
            Some(_) => {}
            None if seen.len() < DISTINCT => seen.push(x),
            None => {
                let mut all: Vec<f64> = col().collect();
                all.sort_by(|a, b| a.total_cmp(b));
                all.dedup();
                return all;
            }
        }
    }
    seen.sort_by(|a, b| a.total_cmp(b));
    seen
}

/// lavaan's three-stage sample statistics for one group. `cols[j]` is
/// observed variable j's column (`f64::NAN` = missing), `names` are used in
/// messages, `ordered[j]` declares variable j ordinal; its categories are the
/// sorted distinct values of its column.
pub fn ordinal_stats(cols: &[Vec<f64>], names: &[String], ordered: &[bool], missing: OrdMissing) -> Result<OrdinalStats, String> {
    let levels: Vec<Vec<f64>> = cols
        .iter()
        .zip(ordered)
        .map(|(c, &o)| if o { categories(c) } else { vec![] })
        .collect();
    ordinal_stats_with_levels(cols, names, &levels, missing)
}

/// As `ordinal_stats`, with the categories of each ordinal variable given
/// (`levels[j]` sorted; empty for a continuous variable), as lavaan takes
/// them from all groups together: a category that does not occur in this
/// group is lavaan's error "some categories of variable are empty".
pub fn ordinal_stats_with_levels(
    cols: &[Vec<f64>],
    names: &[String],
    levels: &[Vec<f64>],
    missing: OrdMissing,
) -> Result<OrdinalStats, String> {
    let p = cols.len();
    let ordered: Vec<bool> = levels.iter().map(|l| !l.is_empty()).collect();
    let nrows = cols.first().map_or(0, Vec::len);
    // listwise: complete rows; pairwise: rows with at least one value (lavaan drops empty rows)
    let keep: Vec<usize> = match missing {
        OrdMissing::Listwise => (0..nrows).filter(|&i| cols.iter().all(|c| !c[i].is_nan())).collect(),
        OrdMissing::Pairwise => (0..nrows).filter(|&i| cols.iter().any(|c| !c[i].is_nan())).collect(),
    };
    let n = keep.len();
    for (j, l) in levels.iter().enumerate() {
        if ordered[j] && l.len() < 2 {
            return Err(format!(
                "ordinal variable `{}` has {} category; an ordinal variable needs at least two",
                names[j],
                l.len()
            ));
        }
    }
    if n < 2 {
        return Err(format!("only {n} complete case(s); the sample statistics need at least two"));
    }
    let mut uni = Vec::with_capacity(p);
    for j in 0..p {
        let col: Vec<f64> = keep.iter().map(|&i| cols[j][i]).collect();
        if ordered[j] {
            let lv = &levels[j];
            let y = univariate::codes(col.iter().copied(), lv, &names[j])?;
            uni.push(Uni::Ord(OrdVar::fit(y, lv.len())));
        } else {
            let v = NumVar::fit(col);
            if v.var.is_nan() || v.var <= 0.0 {
                return Err(format!("continuous variable `{}` has no variance", names[j]));
            }
            uni.push(Uni::Num(v));
        }
    }
    Ok(assemble(uni, names, ordered, levels.to_vec(), n))
}

/// Stages 2 and 3 from the stage-1 fits (lavaan's `muthen1984`).
fn assemble(uni: Vec<Uni>, names: &[String], ordered: Vec<bool>, levels: Vec<Vec<f64>>, n: usize) -> OrdinalStats {
    let p = uni.len();
    let mut warnings = Vec::new();
    // layout of the statistics: thresholds/means, variances, correlations
    let mut th_start = Vec::with_capacity(p);
    let mut th = Vec::new();
    let mut th_idx = Vec::new();
    let mut var_pos = vec![usize::MAX; p];
    let mut nnum = 0;
    for (j, u) in uni.iter().enumerate() {
        th_start.push(th.len());
        match u {
            Uni::Ord(o) => {
                th.extend_from_slice(&o.th);
                th_idx.extend(std::iter::repeat_n(j + 1, o.nth()));
            }
            Uni::Num(v) => {
                th.push(v.mean);
                th_idx.push(0);
                var_pos[j] = nnum;
                nnum += 1;
            }
        }
    }
    let nth = th.len();
    for v in var_pos.iter_mut().filter(|v| **v != usize::MAX) {
        *v += nth;
    }
    let a11 = nth + nnum;
    let pstar = p * (p - 1) / 2;
    let total = a11 + pstar;
    let sd: Vec<f64> = uni.iter().map(|u| if let Uni::Num(v) = u { v.var.sqrt() } else { 1.0 }).collect();

    // casewise scores, column by column (zeroed by the allocator, not
    // written twice: the pairs' columns are all written below)
    let mut sc = DMatrix::from_vec(n, total, vec![0.0; n * total]);
    for (j, u) in uni.iter().enumerate() {
        match u {
            Uni::Ord(o) => {
                let cat = o.category_scores();
                for (i, &c) in o.y.iter().enumerate() {
                    if c == univariate::MISSING {
                        continue;
                    }
                    for (k, s) in cat[c] {
                        if k < o.nth() {
                            sc[(i, th_start[j] + k)] = s;
                        }
                    }
                }
            }
            Uni::Num(v) => {
                for i in 0..n {
                    let (m, s2) = v.scores(i);
                    sc[(i, th_start[j])] = m;
                    sc[(i, var_pos[j])] = s2;
                }
            }
        }
    }
    // stage 2, pair by pair in parallel: (j, i) with i > j, in lavaan's
    // vech order (column by column below the diagonal); each pair writes
    // its casewise scores into its column of `sc`
    let pairs: Vec<(usize, usize)> = (0..p).flat_map(|j| (j + 1..p).map(move |i| (j, i))).collect();
    let ctx = PairCtx {
        uni: &uni,
        names,
        ordered: &ordered,
        th_start: &th_start,
        var_pos: &var_pos,
        sd: &sd,
        a11,
    };
    let outs: Vec<PairOut> = {
        use rayon::prelude::*;
        let cols = sc.as_mut_slice()[a11 * n..].par_chunks_mut(n);
        pairs.par_iter().zip(cols).map(|(&(j, i), col)| ctx.pair(i, j, col)).collect()
    };
    let mut cor = DMatrix::<f64>::identity(p, p);
    // A21 and H21 as their rows' non-zero entries (a few per pair): the
    // dense pstar x a11 matrices were 240 kB each, nearly all zero
    let mut a21 = Vec::with_capacity(pstar);
    let mut h21 = Vec::with_capacity(pstar);
    let mut h22 = DVector::<f64>::from_element(pstar, 1.0);
    let mut empty: Vec<String> = vec![];
    for (k, (&(j, i), out)) in pairs.iter().zip(outs).enumerate() {
        cor[(i, j)] = out.rho;
        cor[(j, i)] = out.rho;
        a21.push(out.a21);
        let mut h: Vec<(usize, f64)> = out.h21.into_iter().filter(|&(_, v)| v != 0.0).collect();
        h.sort_by_key(|&(m, _)| m);
        h21.push(h);
        h22[k] = out.h22;
        warnings.extend(out.warnings);
        empty.extend(out.empty_table);
    }
    // lavInspect(fit, "zero.cell.tables"); lavaan itself is silent about them by default
    if !empty.is_empty() {
        let shown: Vec<&str> = empty.iter().take(5).map(String::as_str).collect();
        warnings.push(format!(
            "{} bivariate table(s) of ordinal variables have empty cells ({}{}); their polychoric correlations rest on sparse data",
            empty.len(),
            shown.join(", "),
            if empty.len() > 5 { ", ..." } else { "" }
        ));
    }
    // lavaan's NACOV is N B^-1 (SC'SC) B^-T (B: the block-triangular
    // Hessian of the stacked stage-1 and stage-2 log-likelihoods), then H (.) H'
    // for covariances instead of correlations. It is computed here as N F'F
    // with F = SC B^-T H', the casewise influence of each case on the
    // statistics: B's structure (A11 block diagonal per variable, A22
    // diagonal, A21 with two variables per row) makes F cheap, leaving one
    // product. lavaan's NA scores (impossible cells) count as 0 (the
    // pairs' columns have them as 0 already).
    sc.columns_mut(0, a11).apply(|v| {
        if v.is_nan() {
            *v = 0.0
        }
    });
    let blocks: Vec<Vec<usize>> = uni
        .iter()
        .enumerate()
        .map(|(j, u)| {
            let mut idx: Vec<usize> = (th_start[j]..th_start[j] + if let Uni::Ord(o) = u { o.nth() } else { 1 }).collect();
            if var_pos[j] != usize::MAX {
                idx.push(var_pos[j]);
            }
            idx
        })
        .collect();
    let h2 = (nnum > 0).then_some((h22.as_slice(), &h21));
    let nacov = casewise_nacov(sc, &blocks, a11, &a21, h2, &th_idx);
    let cov = DMatrix::from_fn(p, p, |r, c| cor[(r, c)] * sd[r] * sd[c]);
    let mut obs: Vec<f64> = th.iter().zip(&th_idx).map(|(&t, &i)| if i == 0 { -t } else { t }).collect();
    obs.extend(uni.iter().filter_map(|u| if let Uni::Num(v) = u { Some(v.var) } else { None }));
    for j in 0..p {
        for i in j + 1..p {
            obs.push(cov[(i, j)]);
        }
    }
    OrdinalStats {
        nobs: n,
        ordered,
        levels,
        th,
        th_idx,
        cov,
        wls_obs: DVector::from_vec(obs),
        nacov,
        warnings,
        exo: None,
    }
}

/// `scale` F'F, in column blocks on the rayon pool when F is wide (the one
/// product of cost N p^2 in the statistics). Symmetric: only the column
/// blocks of the lower triangle are computed, F_I'F_J for I >= J (blocks of
/// 64 columns: 10 of 16 products at 256 columns), each straight into its
/// place, with F' a transposed view of F (copied only for narrow blocks);
/// then the lower triangle is scaled and mirrored.
fn gram(f: &DMatrix<f64>, scale: f64) -> DMatrix<f64> {
    let (n, m) = f.shape();
    let nb = m.div_ceil(64).max(1);
    let bounds: Vec<(usize, usize)> = (0..nb).map(|b| (b * m / nb, (b + 1) * m / nb)).collect();
    let ft = nalgebra::DMatrixView::from_slice_with_strides(f.as_slice(), m, n, n, 1);
    // zeroed by the allocator (`calloc`: fresh pages need no writing);
    // every element is written below
    let mut w = DMatrix::from_vec(m, m, vec![0.0; m * m]);
    // the block columns of w, each a slice of its storage (column-major)
    let mut slabs: Vec<(usize, usize, &mut [f64])> = Vec::with_capacity(nb);
    let mut rest = w.as_mut_slice();
    for &(a, b) in &bounds {
        let (slab, tail) = rest.split_at_mut((b - a) * m);
        slabs.push((a, b, slab));
        rest = tail;
    }
    use rayon::prelude::*;
    slabs.into_par_iter().for_each(|(a, b, slab)| {
        // rows a..m of columns a..b
        let mut out = nalgebra::DMatrixViewMut::from_slice_with_strides_mut(&mut slab[a..], m - a, b - a, 1, m);
        // nalgebra hands a product with a dimension of 5 or less to its
        // own loops, which misread a view with a row stride (0.33's
        // `axcpy` walks past its end); well above that, the product goes
        // to matrixmultiply, which takes any strides
        if n > 16 && b - a > 16 {
            out.gemm(1.0, &ft.rows(a, m - a), &f.columns(a, b - a), 0.0);
        } else {
            out.gemm(1.0, &f.columns(a, m - a).transpose(), &f.columns(a, b - a), 0.0);
        }
    });
    // scale the lower triangle and mirror it, tile by tile (32 x 32): the
    // transposed writes, a column apart each, then stay in the cache
    const TILE: usize = 32;
    let d = w.as_mut_slice();
    for jb in (0..m).step_by(TILE) {
        for ib in (jb..m).step_by(TILE) {
            for j in jb..(jb + TILE).min(m) {
                for i in ib.max(j)..(ib + TILE).min(m) {
                    let v = d[j * m + i] * scale;
                    d[j * m + i] = v;
                    d[i * m + j] = v;
                }
            }
        }
    }
    w
}

/// What stage 2 needs to treat one pair.
struct PairCtx<'a> {
    uni: &'a [Uni],
    names: &'a [String],
    ordered: &'a [bool],
    th_start: &'a [usize],
    var_pos: &'a [usize],
    sd: &'a [f64],
    a11: usize,
}

/// One pair's correlation, its row of A21 (cross-products of the casewise
/// scores of its log-likelihood with the stage-1 scores: the non-zero
/// entries, by column) and of H.
struct PairOut {
    rho: f64,
    a21: Vec<(usize, f64)>,
    h21: Vec<(usize, f64)>,
    h22: f64,
    warnings: Vec<String>,
    /// "x1 x x2" when the pair's table has empty cells
    empty_table: Option<String>,
}

impl PairCtx<'_> {
    /// Pair (i, j), its casewise scores written into `col` (NaN, lavaan's
    /// NA for an impossible case, as 0).
    fn pair(&self, i: usize, j: usize, col: &mut [f64]) -> PairOut {
        let (th_start, var_pos, sd, names) = (self.th_start, self.var_pos, self.sd, self.names);
        let mut a21 = vec![0.0; self.a11];
        let mut h21 = vec![];
        let mut h22 = 1.0;
        let mut warnings = vec![];
        let mut empty_table = None;
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).filter(|v| !v.is_nan()).sum::<f64>();
        let add_th = |a21: &mut [f64], start: usize, nth: usize, sr: &[f64], s: &[[(usize, f64); 2]]| {
            for (c, pair) in s.iter().enumerate() {
                for &(t, v) in pair {
                    if t < nth && !(sr[c] * v).is_nan() {
                        a21[start + t] += sr[c] * v;
                    }
                }
            }
        };
        let copy = |col: &mut [f64], s: &[f64]| {
            for (o, &v) in col.iter_mut().zip(s) {
                *o = if v.is_nan() { 0.0 } else { v };
            }
        };
        let rho = match (&self.uni[i], &self.uni[j]) {
            (Uni::Num(xi), Uni::Num(xj)) => {
                let rho = bivariate::pearson(xi, xj);
                let s = bivariate::pearson_scores(xi, xj, rho);
                a21[th_start[i]] = dot(&s.rho, &s.mu1);
                a21[th_start[j]] = dot(&s.rho, &s.mu2);
                a21[var_pos[i]] = dot(&s.rho, &s.var1);
                a21[var_pos[j]] = dot(&s.rho, &s.var2);
                h21.push((var_pos[i], sd[j] * rho / (2.0 * sd[i])));
                h21.push((var_pos[j], sd[i] * rho / (2.0 * sd[j])));
                h22 = sd[i] * sd[j];
                copy(col, &s.rho);
                rho
            }
            (Uni::Num(x), Uni::Ord(y)) | (Uni::Ord(y), Uni::Num(x)) => {
                let (xn, yn) = if self.ordered[i] { (j, i) } else { (i, j) };
                let rho = bivariate::polyserial(x, y);
                let s = bivariate::polyserial_scores(x, y, rho);
                a21[th_start[xn]] = dot(&s.rho, &s.mu);
                add_th(&mut a21, th_start[yn], y.nth(), &s.rho, &s.th);
                a21[var_pos[xn]] = dot(&s.rho, &s.var);
                h21.push((var_pos[xn], rho / (2.0 * sd[xn])));
                h22 = sd[xn];
                copy(col, &s.rho);
                rho
            }
            (Uni::Ord(yi), Uni::Ord(yj)) => {
                let (rho, empty, s) = bivariate::polychoric_and_scores(yi, yj);
                if empty {
                    empty_table = Some(format!("{} x {}", names[j], names[i]));
                }
                let (c1, c2) = s.casewise(yi, yj, col);
                a21[th_start[i]..th_start[i] + yi.nth()].copy_from_slice(&c1);
                a21[th_start[j]..th_start[j] + yj.nth()].copy_from_slice(&c2);
                rho
            }
        };
        if rho.abs() > 0.99 {
            warnings.push(format!("the correlation between {} and {} is (nearly) 1.0", names[i], names[j]));
        }
        PairOut {
            rho,
            a21: a21.iter().enumerate().filter(|&(_, &v)| v != 0.0).map(|(m, &v)| (m, v)).collect(),
            h21,
            h22,
            warnings,
            empty_table,
        }
    }
}

/// Moore-Penrose inverse (lavaan falls back to `MASS::ginv` for a singular A11 block).
fn pseudo_inverse(m: &DMatrix<f64>) -> DMatrix<f64> {
    m.clone()
        .pseudo_inverse(1e-12)
        .unwrap_or_else(|_| DMatrix::zeros(m.nrows(), m.ncols()))
}

/// Per row of a matrix, its non-zero entries as (column, value): A21 and
/// H21 for `casewise_nacov`, a few per row.
pub(crate) type SparseRows = Vec<Vec<(usize, f64)>>;

/// The non-zero entries of each row of `m`, by column.
pub(crate) fn sparse_rows(m: &DMatrix<f64>) -> SparseRows {
    m.row_iter()
        .map(|r| r.iter().enumerate().filter(|&(_, &v)| v != 0.0).map(|(c, &v)| (c, v)).collect())
        .collect()
}

/// The NACOV N F'F (started in the background, `nacov::Nacov`) from the
/// casewise scores `sc` (the `a11` stage-1 statistics in columns 0..a11,
/// one correlation per column after them): F = SC B^-T H',
/// the casewise influence of each case on the statistics, with B the
/// block-triangular Hessian of the stacked stage-1 and stage-2
/// log-likelihoods (A11 block diagonal over `blocks`, one block of columns
/// per variable; A22 diagonal; A21 the stage-1 rows of each correlation's
/// score, each row as its non-zero entries by column, `sparse_rows`) and H
/// the correlations-to-covariances map (`h2`: its diagonal and stage-1
/// part, rows as A21's, when continuous variables are involved). A statistic
/// with `th_idx` 0 is a continuous variable's mean (or intercept) stored as
/// a "threshold", so its column changes sign. F is computed in place of
/// `sc` (a column of F needs only its own column of SC and the stage-1
/// columns of F). Shared by the marginal statistics (`assemble`) and the
/// ones given covariates (`exo`).
pub(crate) fn casewise_nacov(
    mut inf: DMatrix<f64>,
    blocks: &[Vec<usize>],
    a11: usize,
    a21: &SparseRows,
    h2: Option<(&[f64], &SparseRows)>,
    th_idx: &[usize],
) -> nacov::Nacov {
    let n = inf.nrows();
    for idx in blocks {
        let sub = DMatrix::from_fn(n, idx.len(), |r, c| inf[(r, idx[c])]);
        let block = sub.transpose() * &sub;
        let a11_inv = block.clone().try_inverse().unwrap_or_else(|| pseudo_inverse(&block));
        let f = sub * a11_inv.transpose();
        for (c, &col) in idx.iter().enumerate() {
            inf.column_mut(col).copy_from(&f.column(c));
        }
    }
    // the correlations' columns, each from its own score column and the
    // stage-1 columns of F (`first`), in parallel
    let (first, rest) = inf.as_mut_slice().split_at_mut(a11 * n);
    let first: &[f64] = first;
    {
        use rayon::prelude::*;
        rest.par_chunks_mut(n).enumerate().for_each(|(q, col)| {
            let d = nalgebra::DVectorView::from_slice(col, n).norm_squared();
            let a22_inv = if d == 0.0 { 0.0 } else { 1.0 / d };
            for &(m, a) in &a21[q] {
                for (y, x) in col.iter_mut().zip(&first[m * n..(m + 1) * n]) {
                    *y += -a * x;
                }
            }
            for y in col.iter_mut() {
                *y *= a22_inv;
            }
            if let Some((h22, h21)) = h2 {
                for y in col.iter_mut() {
                    *y *= h22[q];
                }
                for &(m, h) in &h21[q] {
                    for (y, x) in col.iter_mut().zip(&first[m * n..(m + 1) * n]) {
                        *y += h * x;
                    }
                }
            }
        });
    }
    if h2.is_some() {
        for (t, &ti) in th_idx.iter().enumerate() {
            if ti == 0 {
                inf.column_mut(t).neg_mut();
            }
        }
    }
    nacov::Nacov::from_influence(inf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_counted_are_the_sorted_distinct_values() {
        let sorted = |c: &[f64]| {
            let mut v: Vec<f64> = c.iter().copied().filter(|x| !x.is_nan()).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v.dedup();
            v
        };
        let many: Vec<f64> = (0..150).map(|k| ((k * 37) % 101) as f64 - 50.0).collect();
        let fine: Vec<f64> = (0..150).map(|k| k as f64 * 0.37 - 20.0).collect();
        let cols: [&[f64]; 8] = [
            &[3.0, 1.0, f64::NAN, 2.0, 1.0, 3.0, 5.0],
            &[0.0, -0.0, 1.0, 0.0],
            &[63.0, 64.0, 63.5, 1e300, f64::INFINITY, f64::NEG_INFINITY, -1.0, 7.0],
            &fine,
            &[-0.0, 0.0, f64::NAN],
            &[f64::NAN, f64::NAN],
            &[],
            &many,
        ];
        for c in cols {
            let (a, b) = (categories(c), sorted(c));
            assert_eq!(
                a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn gram_in_blocks_is_the_cross_product() {
        // wide (blocks, F' as a view), and small (explicit transposes)
        for (n, m) in [(37, 211), (3, 7), (40, 5), (17, 17), (4, 90)] {
            let f = DMatrix::from_fn(n, m, |i, j| ((i * 31 + j * 17) % 23) as f64 - 11.0 + 0.1 * j as f64);
            let (a, b) = (gram(&f, 3.0), f.tr_mul(&f) * 3.0);
            assert_eq!(a.shape(), (m, m));
            assert!((a - b).amax() < 1e-9, "{n} x {m}");
        }
    }
}
