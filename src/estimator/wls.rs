//! The weighted least-squares family for ordinal data, as lavaan's
//! `ordered=` estimators: WLSMV (DWLS weights, robust standard errors,
//! mean-and-variance adjusted "scaled.shifted" test; lavaan's default with
//! ordinal data), ULSMV (the same with ULS weights), and WLS, DWLS, ULS with
//! standard errors and test. Delta or theta parameterization, any number of groups,
//! ordinal and continuous indicators; with observed exogenous covariates the
//! statistics are conditional on them (lavaan's conditional.x:
//! `crate::ordinal::exo`, `crate::estimate::wls_x`).
//!
//! With Delta the Jacobian of the implied statistics (`crate::estimate::wls`),
//! W the weight, Gamma the NACOV of the sample statistics and
//! E = Delta'W Delta:
//!
//! - standard vcov: E^-1 / (N - G), E = sum_g f_g Delta_g'W_g Delta_g;
//! - robust ("robust.sem") vcov: E^-1 (sum_g f_g Delta'W Gamma W Delta) E^-1 / (N - G);
//! - test: T = (N - G) F with F = sum_g f_g r_g'W_g r_g at the estimates,
//!   f_g = n_g / N;
//! - scaled.shifted (groups stacked, W = bdiag(f_g W_g), Gamma = bdiag(Gamma_g / f_g)):
//!   U = W - W Delta E^-1 Delta'W, a = sqrt(df / tr((U Gamma)^2)),
//!   b = df - a tr(U Gamma), T_scaled = a T + b; lavaan reports 1/a as the
//!   scaling factor and b as the shift;
//! - the baseline is the independence model: thresholds free, correlations
//!   zero, fitted by the same estimator and tested the same way.
//!
//! lavaan's robust CFI/TLI/RMSEA for these estimators ("catML", Savalei 2021)
//! come from `crate::fit::categorical`.

use super::{Baseline, Estimator, Fitting, Scaling};
use crate::estimate::objective::GroupData;
use crate::estimate::wls::{self as ew, Layout, Value, WlsGroup};
use crate::estimate::{start, Estimate};
use crate::fit::satorra2000::DiffPieces;
use crate::fit::{categorical, Measures};
use crate::inference::residuals::GroupResiduals;
use crate::inference::{NotIdentified, RowEstimate};
use crate::model::ram::Mat;
use crate::model::Model;
use crate::ordinal::WeightKind;
use crate::pipeline::{FitOptions, Prepared};
use nalgebra::{DMatrix, DVector};

/// The members of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Wlsmv,
    Ulsmv,
    Wls,
    Dwls,
    Uls,
}

/// An estimator of the WLS family for ordinal data; `theta`: lavaan's
/// theta parameterization (else delta).
pub struct Wls(pub Kind, pub bool);

impl Wls {
    fn weight(&self) -> WeightKind {
        match self.0 {
            Kind::Wlsmv | Kind::Dwls => WeightKind::Dwls,
            Kind::Ulsmv | Kind::Uls => WeightKind::Uls,
            Kind::Wls => WeightKind::Wls,
        }
    }
    fn mean_variance(&self) -> bool {
        matches!(self.0, Kind::Wlsmv | Kind::Ulsmv)
    }
    /// Per group: its layout and its statistics.
    fn layouts<'a>(&self, prep: &'a Prepared) -> Result<Vec<(Layout, &'a crate::ordinal::OrdinalStats)>, String> {
        let stats = prep
            .ordinal
            .as_ref()
            .ok_or("the ordinal estimators need ordinal variables: declare them with --ordered")?;
        stats
            .iter()
            .enumerate()
            .map(|(g, s)| {
                let lay = match &s.exo {
                    // conditional.x: the covariates leave the statistics, their slopes enter
                    Some(_) => {
                        let xs = &prep.model.ram.x_ov;
                        let mut ys = s.ordered.iter();
                        let ordered: Vec<bool> = (0..prep.model.ram.p())
                            .map(|j| !xs.contains(&j) && ys.next().copied().unwrap_or(false))
                            .collect();
                        Layout::new(&prep.model, g, &ordered, self.1)?.conditional(xs)
                    }
                    None => Layout::new(&prep.model, g, &s.ordered, self.1)?,
                };
                Ok((lay, s))
            })
            .collect()
    }
    fn groups(&self, prep: &Prepared) -> Result<Vec<WlsGroup>, String> {
        self.layouts(prep)?
            .into_iter()
            .map(|(lay, s)| {
                let obs = s.wls_obs.clone();
                Ok(match s.weight_diagonal(self.weight())? {
                    Some(d) => WlsGroup::diagonal(lay, obs, d, s.nobs),
                    None => WlsGroup::new(lay, obs, s.weight(self.weight())?, s.nobs),
                })
            })
            .collect()
    }
}

impl Estimator for Wls {
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Wlsmv => "WLSMV",
            Kind::Ulsmv => "ULSMV",
            Kind::Wls => "WLS",
            Kind::Dwls => "DWLS",
            Kind::Uls => "ULS",
        }
    }
    fn check(&self, prep: &Prepared) -> Result<(), String> {
        crate::ordinal::exo::check(prep)?;
        // the layouts and whether the weights exist (`bind` builds the groups)
        let groups = self.layouts(prep)?;
        let labels = crate::data::groups::GroupLabels::new(None, &prep.group_names);
        for (_, s) in &groups {
            s.check_weight(self.weight())?;
        }
        for (g, (lay, s)) in groups.iter().enumerate() {
            let p = prep.model.ram.p();
            if s.wls_obs.len() != lay.len(p) {
                return Err(format!(
                    "{}: the model has {} thresholds and correlations but the data give {} statistics; give each ordinal variable as many thresholds as it has categories less one",
                    labels.describe(g, groups.len()),
                    lay.len(p),
                    s.wls_obs.len()
                ));
            }
        }
        Ok(())
    }
    fn bind<'a>(&self, prep: &'a Prepared, opt: &'a FitOptions, warnings: &mut Vec<String>) -> Box<dyn Fitting + 'a> {
        match self.groups(prep) {
            Ok(groups) => Box::new(WlsFit {
                prep,
                opt,
                groups,
                mv: self.mean_variance(),
                weight: self.weight(),
                baseline: None,
                pieces: None,
                scratch: None,
            }),
            Err(e) => {
                // `check` refuses this before; keep the fit going as ML
                warnings.push(format!("{e}; the ordinal variables were treated as continuous"));
                super::fallback().bind(prep, opt, warnings)
            }
        }
    }
}

/// Everything at the estimates that the vcov and the test share.
struct Pieces {
    /// per group: Jacobian (its nonzeros), residuals
    jac: Vec<ew::SparseCols>,
    resid: Vec<DVector<f64>>,
    /// E^-1 (E = sum_g f_g Delta'W Delta), when invertible, with the index
    /// sets of its diagonal blocks (one block when it is not block diagonal)
    e_inv: Option<DMatrix<f64>>,
    blocks: Vec<Vec<usize>>,
    /// the robust pieces, once asked for
    robust: Option<Robust>,
    /// lavaan's catML (robust CFI/TLI/RMSEA), computed beside the robust
    /// pieces (`ensure_robust`) when the fit measures will want it
    catml: Option<Option<categorical::Catml>>,
}

/// The products of the robust vcov and the scaled-shifted test, once:
/// per group Y_g = Gamma_g W_g Delta_g, the "meat"
/// M = sum_g f_g Delta_g'W_g Gamma_g W_g Delta_g = sum_g f_g (W_g Delta_g)'Y_g,
/// and E^-1 M E^-1 (the robust vcov times N - G).
struct Robust {
    y: Vec<DMatrix<f64>>,
    meat: DMatrix<f64>,
    kmk: Option<DMatrix<f64>>,
}

struct WlsFit<'a> {
    prep: &'a Prepared,
    opt: &'a FitOptions,
    groups: Vec<WlsGroup>,
    mv: bool,
    weight: WeightKind,
    baseline: Option<Baseline>,
    pieces: Option<Pieces>,
    /// a copy of the model whose fixed latent-response variances
    /// `std_all_at` updates in place (the delta parameterization)
    scratch: Option<Model>,
}

impl WlsFit<'_> {
    fn ntotal(&self) -> f64 {
        self.groups.iter().map(|g| g.n as f64).sum()
    }
    fn fg(&self) -> Vec<f64> {
        let n = self.ntotal();
        self.groups.iter().map(|g| g.n as f64 / n).collect()
    }
    /// Compute the pieces at `x` once (`self.pieces`).
    fn ensure(&mut self, x: &[f64]) {
        if self.pieces.is_none() {
            let model = &self.prep.model;
            let fg = self.fg();
            let mut jac = Vec::new();
            let mut resid = Vec::new();
            let mut e = DMatrix::zeros(x.len(), x.len());
            let mut ok = true;
            for (g, grp) in self.groups.iter().enumerate() {
                match ew::implied_and_jacobian(model, &grp.lay, x) {
                    Some((s, j)) => {
                        e += grp.gram(&j) * fg[g];
                        resid.push(&grp.obs - s);
                        jac.push(j);
                    }
                    None => ok = false,
                }
            }
            // under constraints, the constrained inverse K (K'EK)^-1 K'
            let e_inv = if ok {
                crate::estimate::constrained::constrained_inverse(&model.ram, x, &e, invert_blocks)
            } else {
                None
            };
            let blocks = e_inv.as_ref().map_or_else(Vec::new, crate::estimate::diagonal_blocks);
            self.pieces = Some(Pieces {
                jac,
                resid,
                e_inv,
                blocks,
                robust: None,
                catml: None,
            });
        }
    }

    /// The robust pieces at `x` (`Robust`), from the nonzeros of W Delta
    /// (Gamma is dense: Gamma (W Delta) costs nnz(W Delta) n, not n^2 k).
    fn robust(&mut self, x: &[f64]) -> Option<&Robust> {
        self.ensure_robust(x);
        self.pieces.as_ref()?.robust.as_ref()
    }

    fn ensure_robust(&mut self, x: &[f64]) {
        self.ensure(x);
        let fg = self.fg();
        let stats = self.prep.ordinal.as_deref().unwrap_or_default();
        let groups = &self.groups;
        let with_catml = self.catml_wanted();
        let model = &self.prep.model;
        let Some(p) = self.pieces.as_mut() else { return };
        if p.robust.is_none() && p.jac.len() == groups.len() {
            // both need the whole NACOV: wait for it here, not on the pool
            for st in stats {
                st.nacov.matrix();
            }
            let robust = || {
                let mut meat = DMatrix::zeros(x.len(), x.len());
                let mut y = Vec::new();
                for (g, (grp, j)) in groups.iter().zip(&p.jac).enumerate() {
                    let wd = grp.weigh_sparse(j);
                    let yg = wd.left_mul(&stats[g].nacov);
                    meat += wd.tr_mul_sym(&yg) * fg[g];
                    y.push(yg);
                }
                let kmk = p.e_inv.as_ref().map(|k| sandwich_blocks(k, &p.blocks, &meat));
                Robust { y, meat, kmk }
            };
            // the fit measures' catML on the other core meanwhile
            let catml = || match (with_catml, p.e_inv.as_ref()) {
                (true, Some(k)) => Some(categorical::catml(model, groups, stats, x, &p.jac, k)),
                _ => None,
            };
            let (robust, catml) = rayon::join(robust, catml);
            p.robust = Some(robust);
            if catml.is_some() {
                p.catml = catml;
            }
        }
    }

    /// Whether the fit measures include catML: the mean-and-variance
    /// adjusted estimators, except with covariates (lavaan 0.6-14 has no
    /// catML with conditional.x).
    fn catml_wanted(&self) -> bool {
        self.mv && !self.groups.iter().any(|g| !g.lay.x.is_empty())
    }

    /// The test statistic (N - 1) F at `x` of the model.
    fn chisq(&mut self, x: &[f64]) -> f64 {
        let fg = self.fg();
        let n = self.ntotal();
        self.ensure(x);
        let groups = &self.groups;
        let Some(p) = self.pieces.as_ref() else { return f64::NAN };
        if p.resid.len() != groups.len() {
            return f64::NAN;
        }
        let f: f64 = groups
            .iter()
            .zip(&p.resid)
            .enumerate()
            .map(|(g, (grp, r))| fg[g] * grp.quad(r))
            .sum();
        (n - groups.len() as f64) * f
    }
}

/// Inverse of a symmetric positive definite matrix.
fn invert(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let sym = (m + m.transpose()) * 0.5;
    sym.cholesky().map(|c| c.inverse())
}

/// Inverse of a symmetric positive definite matrix block by block when it
/// is block diagonal: E = Delta'W Delta with a diagonal W has the
/// thresholds of the delta parameterization as 1 x 1 blocks (their columns
/// of Delta touch only their own statistic), so the Bradford model's
/// 134 x 134 inverse is 100 scalars and one 34 x 34.
fn invert_blocks(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let blocks = crate::estimate::diagonal_blocks(m);
    if blocks.len() < 2 {
        return invert(m);
    }
    let mut out = DMatrix::zeros(m.nrows(), m.ncols());
    for b in &blocks {
        let mb = DMatrix::from_fn(b.len(), b.len(), |i, j| m[(b[i], b[j])]);
        let ib = invert(&mb)?;
        for (i, &bi) in b.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                out[(bi, bj)] = ib[(i, j)];
            }
        }
    }
    Some(out)
}

/// K B K for a symmetric B and a symmetric K that is block diagonal on
/// `blocks` (the index sets of its diagonal blocks): block (a, b) of the
/// product is K_aa B_ab K_bb, n sum_b |b|^2 multiplications per side
/// instead of n^3 (the Bradford model's K is 100 scalars and one 34 x 34).
/// T = B K column block by column block, then K B K = T'K the same way.
/// One block: the dense product.
fn sandwich_blocks(k: &DMatrix<f64>, blocks: &[Vec<usize>], b: &DMatrix<f64>) -> DMatrix<f64> {
    if blocks.len() < 2 {
        return k * b * k;
    }
    // M K: column j of the product is sum_{j' in j's block} M[:, j'] K_j'j
    let times_k = |m: &DMatrix<f64>| {
        let mut t = DMatrix::zeros(m.nrows(), m.ncols());
        for blk in blocks {
            for &j in blk {
                let mut tc = t.column_mut(j);
                for &jp in blk {
                    tc.axpy(k[(jp, j)], &m.column(jp), 1.0);
                }
            }
        }
        t
    };
    times_k(&times_k(b).transpose())
}

/// The block-diagonal matrix of `blocks`.
pub(crate) fn bdiag(blocks: Vec<DMatrix<f64>>) -> DMatrix<f64> {
    let n: usize = blocks.iter().map(|b| b.nrows()).sum();
    let m: usize = blocks.iter().map(|b| b.ncols()).sum();
    let mut out = DMatrix::zeros(n, m);
    let (mut r, mut c) = (0, 0);
    for b in blocks {
        out.view_mut((r, c), (b.nrows(), b.ncols())).copy_from(&b);
        r += b.nrows();
        c += b.ncols();
    }
    out
}

/// The rows of `blocks` stacked.
pub(crate) fn vstack(blocks: &[DMatrix<f64>]) -> DMatrix<f64> {
    let n: usize = blocks.iter().map(|b| b.nrows()).sum();
    let m = blocks.first().map_or(0, |b| b.ncols());
    let mut out = DMatrix::zeros(n, m);
    let mut r = 0;
    for b in blocks {
        out.view_mut((r, 0), (b.nrows(), m)).copy_from(b);
        r += b.nrows();
    }
    out
}

/// lavaan's scaled.shifted test from tr(U Gamma) and tr((U Gamma)^2):
/// (scaling factor 1/a, shift b).
fn scaled_shifted(tr1: f64, tr2: f64, df: f64) -> (f64, f64) {
    // no degrees of freedom (a saturated model, a baseline without
    // correlations): the statistic stays as it is (lavaan: scaled = standard)
    if df == 0.0 {
        return (f64::INFINITY, 0.0);
    }
    let a = (df / tr2).sqrt();
    let b = df - a * tr1;
    (1.0 / a, b)
}

/// tr(W Gamma) and tr((W Gamma)^2) for a full (not diagonal) W and a
/// symmetric Gamma.
fn dense_traces(w: &DMatrix<f64>, gamma: &DMatrix<f64>) -> (f64, f64) {
    let wg = w * gamma;
    (wg.trace(), trace_prod(&wg, &wg))
}

/// tr(W Gamma) and tr((W Gamma)^2) for a diagonal W (sum_i w_i Gamma_ii
/// and sum_ij w_i w_j Gamma_ij^2, without the product), and the same traces with U = W
/// with its first `nth` entries zeroed (the baseline's), from one pass
/// over Gamma (400 x 400 for the Bradford model; two passes cost ~1.2 M
/// instructions more). The baseline's sums are the same terms in the same
/// order, the zeroed ones left out (they add 0): bit for bit the
/// separate passes'.
fn diagonal_traces(wd: &DVector<f64>, nth: usize, gamma: &DMatrix<f64>) -> ((f64, f64), (f64, f64)) {
    let (n, w) = (wd.len(), wd.as_slice());
    let (mut t1, mut t2, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0);
    for (j, col) in gamma.as_slice().chunks_exact(n.max(1)).enumerate() {
        t1 += w[j] * col[j];
        // sum_i w_i Gamma_ij^2 in order, and its part over i >= nth
        let mut all = col[..nth].iter().zip(&w[..nth]).fold(0.0, |a, (g, wi)| a + wi * g * g);
        let mut tail = 0.0;
        for (g, wi) in col[nth..].iter().zip(&w[nth..]) {
            let v = wi * g * g;
            all += v;
            tail += v;
        }
        t2 += w[j] * all;
        if j >= nth {
            b1 += w[j] * col[j];
            b2 += w[j] * tail;
        }
    }
    ((t1, t2), (b1, b2))
}

/// tr(A B) without forming A B: sum_ij A_ij B_ji.
pub(crate) fn trace_prod(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let bt = b.transpose();
    a.iter().zip(bt.iter()).map(|(x, y)| x * y).sum()
}

/// Start the parameters outside the RAM matrices as lavaan does: a
/// threshold at its univariate sample value (thresholds tied by a label or
/// an equality at the mean of theirs, the point of the constraint set
/// closest to the separate starts), a scale factor at 1, a user's
/// `start(v)` first; anything else left at 0.5 (`start::default_start`).
/// Before, `default_start` had already put 0.5 in every threshold and scale
/// factor, far from the data: a growth model whose four thresholds share one
/// label (Mplus ex6.4) then drifted and stagnated.
fn ordinal_start(model: &Model, groups: &[WlsGroup], stats: &[crate::ordinal::OrdinalStats], x0: &mut [f64]) {
    let unset: Vec<bool> = x0.iter().map(|v| !v.is_finite()).collect();
    let mut user: Vec<Option<f64>> = vec![None; x0.len()];
    let mut sum = vec![0.0; x0.len()];
    let mut count = vec![0usize; x0.len()];
    for (grp, s) in groups.iter().zip(stats) {
        for (k, &(_, row, v)) in grp.lay.th.iter().enumerate() {
            if let (Value::Free(i), false) = (v, grp.lay.is_mean(k)) {
                if !unset[i] {
                    continue;
                }
                match model.pt.rows[row].ustart {
                    Some(u) if user[i].is_none() => user[i] = Some(u),
                    _ => {
                        sum[i] += s.th[k];
                        count[i] += 1;
                    }
                }
            }
        }
    }
    for (r, row) in model.pt.rows.iter().enumerate() {
        if let (Some(i), "~*~") = (model.x_of_row[r], row.op.as_str()) {
            if unset[i] && user[i].is_none() && count[i] == 0 {
                user[i] = Some(row.ustart.unwrap_or(1.0));
            }
        }
    }
    for (i, v) in x0.iter_mut().enumerate().filter(|(i, _)| unset[*i]) {
        *v = user[i].unwrap_or(if count[i] > 0 { sum[i] / count[i] as f64 } else { 0.5 });
    }
}

impl Fitting for WlsFit<'_> {
    fn estimate(&mut self) -> Estimate {
        let model = &self.prep.model;
        let stats = self.prep.ordinal.as_deref().unwrap_or_default();
        // starting values from the polychoric correlations, thresholds from the margins
        let gd: Vec<GroupData> = stats
            .iter()
            .zip(&self.groups)
            .map(|(s, g)| {
                // latent responses: mean 0; continuous variables: their means
                let mut mean = DVector::zeros(model.ram.p());
                for (k, &(j, _, _)) in g.lay.th.iter().enumerate() {
                    if g.lay.is_mean(k) {
                        mean[j] = -s.wls_obs[k];
                    }
                }
                GroupData {
                    n: s.nobs,
                    cov: s.cov.clone(),
                    mean,
                    logdet_s: 0.0,
                }
            })
            .collect();
        let gd = crate::ordinal::exo::start_data(model, stats, gd);
        let mut x0 = start::cell_start(model, &gd, false);
        ordinal_start(model, &self.groups, stats, &mut x0);
        let est = ew::minimize(model, &self.groups, x0, self.opt.max_iter);
        self.pieces = None;
        est
    }

    fn vcov(&mut self, x: &[f64], _: &mut Vec<String>) -> Result<Option<DMatrix<f64>>, NotIdentified> {
        let n = self.ntotal() - self.groups.len() as f64;
        let mv = self.mv;
        self.ensure(x);
        let Some(p) = self.pieces.as_ref() else {
            return Err(NotIdentified { rows: vec![] });
        };
        let Some(e_inv) = p.e_inv.as_ref() else {
            return Err(NotIdentified { rows: vec![] });
        };
        if !mv {
            return Ok(Some(e_inv / n));
        }
        let Some(kmk) = self.robust(x).and_then(|r| r.kmk.as_ref()) else {
            return Err(NotIdentified { rows: vec![] });
        };
        Ok(Some(kmk / n))
    }

    fn baseline(&mut self) -> &Baseline {
        if self.baseline.is_none() {
            // thresholds free, correlations zero: generalized least squares
            // of the thresholds on the observed ones
            let mut x = Vec::new();
            for grp in &self.groups {
                let nth = grp.lay.first();
                if grp.wdiag.is_some() {
                    // W11^-1 W1 s = s1 when W is diagonal (and s1 when W11
                    // is not invertible)
                    x.extend(grp.obs.rows(0, nth).iter());
                    continue;
                }
                let w11 = grp.weight().view((0, 0), (nth, nth)).into_owned();
                let w1 = grp.weight().rows(0, nth).into_owned();
                let t = invert(&w11).map(|i| i * w1 * &grp.obs);
                x.extend(t.map_or_else(
                    || grp.obs.rows(0, nth).iter().copied().collect::<Vec<f64>>(),
                    |t| t.iter().copied().collect(),
                ));
            }
            self.baseline = Some(Baseline { ram: None, x });
        }
        self.baseline.as_ref().expect("fitted above")
    }

    fn test_scaling(&mut self, x: &[f64], warnings: &mut Vec<String>) -> Option<Scaling> {
        if !self.mv {
            return None;
        }
        let df = self.prep.model.df() as f64;
        let stats = self.prep.ordinal.as_deref().unwrap_or_default();
        let fg = self.fg();
        self.ensure(x);
        // stacked over groups: W = bdiag(f_g W_g), Gamma = bdiag(Gamma_g / f_g),
        // A = W Delta, K = E^-1, U Gamma = W Gamma - A K A'Gamma; with
        // A'Gamma A = M (the vcov's meat) and Gamma A = (Y_g) stacked,
        //   tr(U Gamma) = sum_g tr(W_g Gamma_g) - tr(K M),
        //   tr((U Gamma)^2) = sum_g tr((W_g Gamma_g)^2) - 2 tr(K sum_g f_g Y_g'W_g Y_g) + tr(K M K M),
        // without any n x n product. K is block diagonal (its `blocks`), so
        // tr(K X) needs X's diagonal blocks only (Y_g'W_g Y_g is never
        // formed in full), and tr(K M K M) is the entrywise product of K M K
        // (the robust vcov's) and M, both symmetric.
        self.ensure_robust(x);
        let pieces = self.pieces.as_ref()?;
        // per group with a diagonal W: tr(W Gamma), tr((W Gamma)^2) and, when
        // its threshold block is positive, the baseline's (below) from the
        // same pass over Gamma; a full W's traces are formed only if needed
        let traces: Vec<_> = self
            .groups
            .iter()
            .zip(stats)
            .map(|(grp, st)| {
                let wd = grp.wdiag.as_ref()?;
                let nth = grp.lay.first();
                let (m, b) = diagonal_traces(wd, nth, &st.nacov);
                Some((m, wd.rows(0, nth).iter().all(|&v| v > 0.0).then_some(b)))
            })
            .collect();
        let model = match (&pieces.e_inv, &pieces.robust) {
            (Some(k), Some(Robust { y, meat, kmk: Some(kmk) })) => Some({
                let groups = &self.groups;
                let (mut t1, mut t2) = (0.0, 0.0);
                for ((grp, st), tr) in groups.iter().zip(stats).zip(&traces) {
                    let (a, b) = match tr {
                        Some((m, _)) => *m,
                        None => dense_traces(grp.weight(), &st.nacov),
                    };
                    t1 += a;
                    t2 += b;
                }
                // W_g Y_g with a full weight (WLS); a diagonal one scales in place
                let wy: Vec<Option<DMatrix<f64>>> = groups
                    .iter()
                    .zip(y)
                    .map(|(grp, yg)| grp.wdiag.is_none().then(|| grp.weigh(yg)))
                    .collect();
                // sum_g f_g y_gi' W_g y_gj
                let ywy = |i: usize, j: usize| -> f64 {
                    let mut v = 0.0;
                    for (g, grp) in groups.iter().enumerate() {
                        let n = y[g].nrows();
                        let yi = &y[g].as_slice()[i * n..(i + 1) * n];
                        let vg: f64 = match (&grp.wdiag, &wy[g]) {
                            (Some(w), _) => {
                                let yj = &y[g].as_slice()[j * n..(j + 1) * n];
                                yi.iter().zip(yj).zip(w.as_slice()).map(|((a, b), w)| a * w * b).sum()
                            }
                            (None, Some(wyg)) => yi.iter().zip(&wyg.as_slice()[j * n..(j + 1) * n]).map(|(a, b)| a * b).sum(),
                            (None, None) => 0.0,
                        };
                        v += vg * fg[g];
                    }
                    v
                };
                let (mut tkm, mut tky) = (0.0, 0.0);
                for blk in &pieces.blocks {
                    for (a, &i) in blk.iter().enumerate() {
                        for &j in &blk[..a] {
                            tkm += k[(i, j)] * meat[(j, i)] + k[(j, i)] * meat[(i, j)];
                            // y_i'W y_j = y_j'W y_i: once for both entries
                            tky += (k[(i, j)] + k[(j, i)]) * ywy(j, i);
                        }
                        tkm += k[(i, i)] * meat[(i, i)];
                        tky += k[(i, i)] * ywy(i, i);
                    }
                }
                let tkmkm: f64 = kmk.iter().zip(meat.iter()).map(|(a, b)| a * b).sum();
                t1 -= tkm;
                t2 += -2.0 * tky + tkmkm;
                scaled_shifted(t1, t2, df)
            }),
            _ => None,
        };
        let groups = &self.groups;
        // the baseline (thresholds free per group): per group Delta = [I; 0],
        // U Gamma = (W - W1 W11^-1 W1') Gamma, traces summed over groups; with
        // a diagonal W, U is W with the first block zeroed
        let mut base_tr = Some((0.0, 0.0));
        for ((grp, st), diag) in groups.iter().zip(stats).zip(traces.iter().map(|t| t.and_then(|(_, b)| b))) {
            let nth = grp.lay.first();
            let tr = if let Some(tr) = diag {
                Some(tr)
            } else {
                let w = grp.weight();
                let w11 = w.view((0, 0), (nth, nth)).into_owned();
                let w1 = w.columns(0, nth).into_owned();
                invert(&w11).map(|i| {
                    let ug = (w - &w1 * i * w1.transpose()) * st.nacov.matrix();
                    (ug.trace(), trace_prod(&ug, &ug))
                })
            };
            base_tr = base_tr.zip(tr).map(|((a, b), (c, d))| (a + c, b + d));
        }
        let base = base_tr.map(|(t1, t2)| {
            let dfn: f64 = groups.iter().map(|g| (g.obs.len() - g.lay.first()) as f64).sum();
            scaled_shifted(t1, t2, dfn)
        });
        if model.is_none() && df > 0.0 {
            warnings.push("the scaled test statistic could not be computed".into());
        }
        let (c, b) = model.unwrap_or((f64::NAN, f64::NAN));
        let (c0, b0) = base.unwrap_or((f64::NAN, f64::NAN));
        Some(Scaling {
            model: c,
            baseline: c0,
            shift: b,
            baseline_shift: b0,
        })
    }

    fn measures(&mut self, x: &[f64], scaling: Option<Scaling>) -> Measures {
        let x2 = self.chisq(x);
        self.baseline();
        let fg = self.fg();
        let bx = self.baseline.as_ref().map(|b| b.x.clone()).unwrap_or_default();
        // the baseline's test statistic
        let mut x2n = 0.0;
        let mut off = 0;
        for (g, grp) in self.groups.iter().enumerate() {
            let nth = grp.lay.first();
            let mut r = grp.obs.clone();
            for k in 0..nth {
                r[k] -= bx[off + k];
            }
            off += nth;
            x2n += fg[g] * grp.quad(&r);
        }
        x2n *= self.ntotal() - self.groups.len() as f64;
        let stats = self.prep.ordinal.as_deref().unwrap_or_default();
        self.ensure(x);
        // computed beside the robust pieces when the vcov or the test asked
        // for them first
        let catml = match (self.catml_wanted(), self.pieces.as_ref()) {
            (true, Some(p)) => match p.catml {
                Some(c) => c,
                None => p
                    .e_inv
                    .as_ref()
                    .and_then(|e_inv| categorical::catml(&self.prep.model, &self.groups, stats, x, &p.jac, e_inv)),
            },
            _ => None,
        };
        let implied: Vec<DVector<f64>> = self
            .groups
            .iter()
            .map(|g| ew::implied(&self.prep.model, &g.lay, x).unwrap_or_else(|| g.obs.clone()))
            .collect();
        categorical::measures(categorical::Inputs {
            model: &self.prep.model,
            groups: &self.groups,
            implied: &implied,
            x2,
            x2n,
            scaling,
            catml,
            chisq_reference: self.weight != WeightKind::Uls,
        })
    }

    fn modindices(&mut self, x: &[f64]) -> Option<Result<Vec<crate::inference::modindices::ModIndex>, String>> {
        let reported = self.reported_model(x);
        let std_model = reported.as_ref().unwrap_or(&self.prep.model);
        Some(crate::inference::modindices::modindices_wls(
            &self.prep.model,
            std_model,
            x,
            &self.groups,
        ))
    }

    fn residuals(&mut self, x: &[f64]) -> Option<Vec<GroupResiduals>> {
        if self.groups.iter().any(|g| !g.lay.x.is_empty()) {
            return None;
        }
        let model = &self.prep.model;
        let ov = &model.ram.ov;
        let p = ov.len();
        let mut out = Vec::new();
        for grp in &self.groups {
            let imp = ew::implied(model, &grp.lay, x)?;
            let nth = grp.lay.th.len();
            // the covariance matrix of a wls.obs-ordered vector: 1 on the
            // diagonal of ordinal variables, the continuous variances after
            // the thresholds, then the lower triangle column by column
            let cov = |v: &DVector<f64>| {
                let mut m = DMatrix::from_element(p, p, 1.0);
                for (k, &j) in grp.lay.num.iter().enumerate() {
                    m[(j, j)] = v[nth + k];
                }
                let mut k = grp.lay.first();
                for j in 0..p {
                    for i in j + 1..p {
                        m[(i, j)] = v[k];
                        m[(j, i)] = v[k];
                        k += 1;
                    }
                }
                m
            };
            let (s, sig) = (cov(&grp.obs), cov(&imp));
            let cor = |m: &DMatrix<f64>, i: usize, j: usize| m[(i, j)] / (m[(i, i)] * m[(j, j)]).sqrt();
            let rows = |f: &dyn Fn(usize, usize) -> f64| (0..p).map(|i| (0..p).map(|j| f(i, j)).collect()).collect();
            // ordinal variables: sample mean 0 minus the latent response's implied mean
            let (moments, _) = ew::implied_moments(model, &grp.lay, x)?;
            let mut mean_raw: Vec<f64> = (0..p).map(|j| -moments.mu[j]).collect();
            let (mut th_names, mut th_raw) = (Vec::new(), Vec::new());
            for (k, &(j, r, _)) in grp.lay.th.iter().enumerate() {
                if grp.lay.is_mean(k) {
                    // a continuous variable's entry is minus its mean
                    mean_raw[j] = -(grp.obs[k] - imp[k]);
                } else {
                    th_names.push(format!("{}|{}", ov[j], model.pt.rows[r].rhs));
                    th_raw.push(grp.obs[k] - imp[k]);
                }
            }
            out.push(GroupResiduals {
                group: grp.lay.group + 1,
                names: ov.clone(),
                raw: rows(&|i, j| s[(i, j)] - sig[(i, j)]),
                cor: rows(&|i, j| cor(&s, i, j) - cor(&sig, i, j)),
                // lavaan 0.6-14 has no standardized residuals for categorical data
                standardized: vec![vec![None; p]; p],
                mean_raw: Some(mean_raw),
                mean_standardized: None,
                th_names: Some(th_names),
                th_raw: Some(th_raw),
            });
        }
        Some(out)
    }

    fn std_all_at(&mut self, x: &[f64]) -> Option<Vec<f64>> {
        // called twice per parameter by the delta method: one model copy,
        // its delta-parameterization residual variances set from `x`
        let mut model = self.scratch.take().unwrap_or_else(|| self.prep.model.clone());
        let mut ths = Vec::new();
        for grp in &self.groups {
            let Some((imp, theta)) = ew::implied_moments(&self.prep.model, &grp.lay, x) else {
                self.scratch = Some(model);
                return None;
            };
            if !grp.lay.theta {
                for c in model.ram.groups[grp.lay.group].cells.iter_mut() {
                    if c.mat == Mat::S && c.i == c.j && c.x.is_none() {
                        if let Some(k) = grp.lay.ord.iter().position(|&j| j == c.i) {
                            c.fixed = theta[k];
                        }
                    }
                }
            }
            let d = ew::scales(&grp.lay, &imp, x);
            let sd = crate::ordinal::exo::std_scales(&grp.lay, &imp, d.clone());
            for (k, &(j, r, th)) in grp.lay.th.iter().enumerate() {
                if !grp.lay.is_mean(k) {
                    ths.push((r, th.at(x) * sd[j]));
                }
            }
        }
        let (_, all) = crate::inference::standardize::standardize(&model, x);
        let mut v: Vec<f64> = all.iter().map(|o| o.unwrap_or(f64::NAN)).collect();
        for (r, t) in ths {
            v[r] = t;
        }
        for (r, row) in model.pt.rows.iter().enumerate() {
            if row.op == "~*~" {
                v[r] = 1.0;
            }
        }
        let v = crate::inference::std_se::with_definitions(&model, v);
        self.scratch = Some(model);
        Some(v)
    }

    fn std_all_se(&mut self, x: &[f64], vcov: &DMatrix<f64>) -> Option<Vec<Option<f64>>> {
        let mut base = self.std_all_at(x)?;
        base.resize(self.prep.model.pt.rows.len(), f64::NAN);
        let jac = crate::inference::std_ordinal::jacobian(&self.prep.model, &self.groups, x, &base)?;
        Some(crate::inference::std_ordinal::se_from_jacobian(&base, &jac, vcov))
    }

    fn difference_pieces(&mut self, x: &[f64]) -> Option<DiffPieces> {
        if !self.mv {
            return None;
        }
        let stats = self.prep.ordinal.as_deref()?;
        let fg = self.fg();
        self.ensure(x);
        let p = self.pieces.as_ref()?;
        Some(DiffPieces {
            jac: p.jac.iter().map(ew::SparseCols::to_dense).collect(),
            weight: self.groups.iter().map(|g| g.weight().clone()).collect(),
            gamma: stats.iter().map(|s| s.nacov.matrix().clone()).collect(),
            fg,
            info_inv: p.e_inv.clone()?,
        })
    }

    fn se_type(&self) -> &'static str {
        if self.mv {
            "Robust.sem"
        } else {
            "Standard"
        }
    }

    fn diagnostics_unavailable(&self) -> Option<&'static str> {
        if self.groups.iter().any(|g| !g.lay.x.is_empty()) {
            return Some(crate::ordinal::exo::NO_DIAGNOSTICS);
        }
        Some("--modindices and --residuals could not be computed for the ordinal statistics (the implied statistics do not exist at the estimates); they were left out")
    }

    fn nobs(&self) -> Option<Vec<usize>> {
        Some(self.groups.iter().map(|g| g.n).collect())
    }

    fn reported_model(&mut self, x: &[f64]) -> Option<Model> {
        if self.groups.iter().all(|g| g.lay.theta) {
            return None;
        }
        let mut model = self.prep.model.clone();
        for grp in &self.groups {
            let (_, theta) = ew::implied_moments(&self.prep.model, &grp.lay, x)?;
            for c in model.ram.groups[grp.lay.group].cells.iter_mut() {
                if c.mat == Mat::S && c.i == c.j && c.x.is_none() {
                    if let Some(k) = grp.lay.ord.iter().position(|&j| j == c.i) {
                        c.fixed = theta[k];
                    }
                }
            }
        }
        Some(model)
    }

    fn finish_rows(&mut self, x: &[f64], vcov: Option<&DMatrix<f64>>, level: f64, rows: &mut [RowEstimate]) {
        let model = &self.prep.model;
        let se_of = |r: usize| match model.x_of_row[r] {
            Some(k) => vcov.map(|v| v[(k, k)].max(0.0).sqrt()),
            None => Some(0.0),
        };
        for grp in &self.groups {
            let Some((imp, _)) = ew::implied_moments(model, &grp.lay, x) else {
                continue;
            };
            let d = ew::scales(&grp.lay, &imp, x);
            let sd = crate::ordinal::exo::std_scales(&grp.lay, &imp, d.clone());
            for (k, &(j, r, v)) in grp.lay.th.iter().enumerate() {
                if grp.lay.is_mean(k) {
                    continue;
                }
                let est = v.at(x);
                let d = sd[j];
                crate::inference::fill_row(&mut rows[r], est, se_of(r), level);
                rows[r].std_lv = Some(est);
                rows[r].std_all = Some(est * d);
            }
            for (r, row) in model.pt.rows.iter().enumerate() {
                if row.op == "~*~" && row.group == grp.lay.group + 1 {
                    let est = match (model.x_of_row[r], model.ram.index(&row.lhs)) {
                        // conditional.x: the scale given the covariates
                        (_, Some(j)) if grp.lay.theta && !grp.lay.x.is_empty() => {
                            crate::estimate::wls_x::scales(model, &grp.lay, x).map_or(f64::NAN, |s| s[j])
                        }
                        (_, Some(j)) if grp.lay.theta => d[j],
                        (Some(k), _) => x[k],
                        _ => row.ustart.unwrap_or(1.0),
                    };
                    crate::inference::fill_row(&mut rows[r], est, se_of(r), level);
                    // the scale of a standardized latent response is 1
                    rows[r].std_lv = Some(est);
                    rows[r].std_all = Some(1.0);
                }
            }
        }
    }
}
