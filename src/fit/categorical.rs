//! The fit measures lavaan 0.6-14 reports for the WLS family with ordinal
//! data (`fitMeasures()` after `sem(..., ordered=)`). There is no
//! likelihood: logl, AIC and BIC are null. With N' = N - G:
//!
//! - chisq = (N - G) F, df = ndat - npar, where ndat counts thresholds and
//!   correlations; fmin = chisq / (2N); with ULS weights the p-values of the
//!   standard statistic are null (lavaan: no reference distribution);
//! - scaled.shifted: chisq_scaled = chisq / c + shift on df; the scaled CFI,
//!   TLI, RMSEA (and its interval and p-values) are the standard formulas on
//!   the scaled statistics;
//! - robust CFI/TLI/RMSEA: lavaan's "catML" correction (Savalei 2021): the
//!   ML discrepancy of the polychoric matrix against the implied correlations
//!   at the estimates, XX3 = N F_ML, with
//!   c3 = tr[(I - Delta E^-1 Delta'W)' V (I - Delta E^-1 Delta'W) Gamma] / df3
//!   (V the normal-theory weight of the correlations, all blocks without
//!   the thresholds), its baseline XX3_0 = -N log|R|, c3_0 = tr(Gamma) / df3_0;
//!   null when the polychoric matrix is not positive definite;
//! - RMR/SRMR/CRMR from the correlation residuals (Bentler's: observed
//!   and implied covariances of continuous variables over the observed
//!   standard deviations; the diagonal does not count, but SRMR still
//!   divides by p(p+1)/2, as lavaan 0.6-14), the "total" versions
//!   with the threshold residuals counted as means (not the means of the
//!   continuous variables); RMR in the covariance metric (with the variance
//!   residuals of continuous variables); srmr = srmr_bentler_nomean;
//! - GFI = 1 - r'W r / s'W s, AGFI, PGFI with nel = length of wls.obs,
//!   WRMR = sqrt(chisq / nel), CN and MFI with N'.

use super::distributions::{pchisq, qchisq};
use super::indices::{cfi, ifi, nfi, pnfi, rfi, rmsea, rmsea_ci, rmsea_pvalue, rni, tli};
use super::Measures;
use crate::estimate::wls::{SparseCols, WlsGroup};
use crate::estimator::Scaling;
use crate::model::Model;
use crate::ordinal::OrdinalStats;
use nalgebra::{DMatrix, DVector};

/// The ingredients of lavaan's robust (catML) CFI/TLI/RMSEA.
#[derive(Debug, Clone, Copy)]
pub struct Catml {
    pub xx3: f64,
    pub df3: f64,
    pub c3: f64,
    pub xx3_null: f64,
    pub df3_null: f64,
    pub c3_null: f64,
}

fn corr_matrix(cor: &[f64], p: usize) -> DMatrix<f64> {
    let mut m = DMatrix::identity(p, p);
    let mut k = 0;
    for j in 0..p {
        for i in j + 1..p {
            m[(i, j)] = cor[k];
            m[(j, i)] = cor[k];
            k += 1;
        }
    }
    m
}

/// lavaan's `lav_fit_catml_dwls` (all groups stacked, weighted by
/// f_g = n_g / N as lavaan). `None` (lavaan: NA) when a polychoric matrix is
/// not positive definite, or when thresholds carry equality constraints
/// (lavaan's catML refit drops the threshold rows and fails then).
pub fn catml(
    model: &Model,
    groups: &[WlsGroup],
    stats: &[OrdinalStats],
    x: &[f64],
    jac: &[SparseCols],
    e_inv: &DMatrix<f64>,
) -> Option<Catml> {
    use crate::estimate::wls::Value;
    let p = model.ram.p();
    let ps = p * (p - 1) / 2;
    let ntot: f64 = groups.iter().map(|g| g.n as f64).sum();
    // lavaan's catML covers ordinal variables only
    if groups.iter().any(|g| !g.lay.num.is_empty()) {
        return None;
    }
    // free parameters of threshold rows; none may be shared
    let mut th_free = std::collections::BTreeSet::new();
    for g in groups {
        for t in &g.lay.th {
            if let Value::Free(k) = t.2 {
                if !th_free.insert(k) {
                    return None;
                }
            }
        }
    }
    let logdet = |c: &nalgebra::Cholesky<f64, nalgebra::Dyn>| 2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let idx: Vec<(usize, usize)> = (0..p).flat_map(|j| (j + 1..p).map(move |i| (i, j))).collect();
    let (mut xx3, mut xx3_null, mut kbs) = (0.0, 0.0, 0.0);
    // ks = tr((I - P)'V (I - P) Gamma), P = D K D'W (groups stacked, V, W,
    // Gamma block diagonal, K = E^-1), without any (G ps)^2 matrix: only
    // the parameters with a nonzero in D (set S; thresholds have none)
    // matter, and with F = K_SS,
    //   ks = tr(V Gamma) - 2 tr(F C) + tr(F A F B),
    //   C = sum_g (Gamma_g W_g D_g)'(V_g D_g), A = sum_g D_g'V_g D_g,
    //   B = sum_g (W_g D_g)'Gamma_g (W_g D_g)
    let nx = e_inv.nrows();
    let sel: Vec<usize> = (0..nx)
        .filter(|&k| {
            groups
                .iter()
                .zip(jac)
                .any(|(g, j)| j.cols[k].iter().any(|(r, _)| (g.lay.th.len()..g.lay.th.len() + ps).contains(r)))
        })
        .collect();
    let ns = sel.len();
    let f = DMatrix::from_fn(ns, ns, |a, b| e_inv[(sel[a], sel[b])]);
    let (mut tvg, mut cm, mut am, mut bm) = (0.0, DMatrix::zeros(ns, ns), DMatrix::zeros(ns, ns), DMatrix::zeros(ns, ns));
    for ((grp, st), j) in groups.iter().zip(stats).zip(jac) {
        let nth = grp.lay.th.len();
        let fg = grp.n as f64 / ntot;
        let r = &st.cov;
        let ev = r.clone().symmetric_eigen().eigenvalues;
        if ev.iter().any(|&v| v < f64::EPSILON.sqrt()) {
            return None;
        }
        let sigma_v = crate::estimate::wls::implied(model, &grp.lay, x)?;
        let sigma = corr_matrix(&sigma_v.as_slice()[nth..], p);
        let sc = sigma.clone().cholesky()?;
        let si = sc.inverse();
        let rc = r.clone().cholesky()?;
        let n = grp.n as f64;
        xx3 += n * (logdet(&sc) - logdet(&rc) + (r * &si).trace() - p as f64);
        xx3_null += -n * logdet(&rc);
        // V = f_g V0, V0_ab = S_ik S_jl + S_il S_jk for a = (i, j), b = (k, l)
        // (S = si), is never formed (ps^2 entries): tr(V Gamma) is the sum of
        // the entrywise products of two symmetric matrices, V0 computed on
        // the fly against Gamma's columns (Gamma = NACOV / f_g, the f_g
        // cancel), and column a of V0 D is the below-diagonal part of
        // S D_a S, D_a the symmetric matrix of column a of D
        let nn = st.nacov.nrows();
        let (sis, nac) = (si.as_slice(), st.nacov.as_slice());
        for (b, &(k, l)) in idx.iter().enumerate() {
            let (sk, sl) = (&sis[k * p..(k + 1) * p], &sis[l * p..(l + 1) * p]);
            let gcol = &nac[(nth + b) * nn + nth..(nth + b) * nn + nth + ps];
            tvg += idx
                .iter()
                .zip(gcol)
                .map(|(&(i, j), g)| (sk[i] * sl[j] + sl[i] * sk[j]) * g)
                .sum::<f64>();
        }
        let gam = st.nacov.view((nth, nth), (ps, ps));
        kbs += gam.trace() / fg;
        let mut d = DMatrix::zeros(ps, ns);
        for (a, &k) in sel.iter().enumerate() {
            for &(r, v) in j.cols[k].iter().filter(|(r, _)| (nth..nth + ps).contains(r)) {
                d[(r - nth, a)] = v;
            }
        }
        let mut vd = DMatrix::zeros(ps, ns);
        let mut dm = DMatrix::zeros(p, p);
        for a in 0..ns {
            for (e, &(i, jj)) in idx.iter().enumerate() {
                dm[(i, jj)] = d[(e, a)];
                dm[(jj, i)] = d[(e, a)];
            }
            let sds = &si * &dm * &si;
            for (e, &(i, jj)) in idx.iter().enumerate() {
                vd[(e, a)] = sds[(i, jj)] * fg;
            }
        }
        let wd = match grp.wdiag.as_ref() {
            Some(wv) => {
                let mut m = d.clone();
                for (mut row, wi) in m.row_iter_mut().zip(wv.rows(nth, ps).iter()) {
                    row *= wi * fg;
                }
                m
            }
            None => grp.weight().view((nth, nth), (ps, ps)) * &d * fg,
        };
        let gwd = gam * &wd / fg;
        cm += gwd.transpose() * &vd;
        am += d.transpose() * vd;
        bm += wd.transpose() * gwd;
    }
    let df3 = (ps * groups.len()) as f64 - (model.npar() as f64 - th_free.len() as f64);
    let (fa, fb) = (&f * am, &f * bm);
    let ks = tvg - 2.0 * crate::estimator::wls::trace_prod(&f, &cm) + crate::estimator::wls::trace_prod(&fa, &fb);
    let c3 = ks / df3;
    let df3_null = (ps * groups.len()) as f64;
    let c3_null = kbs / df3_null;
    [xx3, c3, xx3_null, c3_null].iter().all(|v| v.is_finite()).then_some(Catml {
        xx3,
        df3,
        c3,
        xx3_null,
        df3_null,
        c3_null,
    })
}

/// What the measures are computed from.
pub struct Inputs<'a> {
    pub model: &'a Model,
    pub groups: &'a [WlsGroup],
    /// per group: the implied statistics at the estimates
    pub implied: &'a [DVector<f64>],
    pub x2: f64,
    /// the baseline's statistic
    pub x2n: f64,
    /// the scaled.shifted test (WLSMV, ULSMV)
    pub scaling: Option<Scaling>,
    pub catml: Option<Catml>,
    /// false for ULS weights: lavaan gives the standard ULS statistic no
    /// reference distribution, so its p-values (model, baseline) are null
    pub chisq_reference: bool,
}

/// The measures in lavaan's order.
pub fn measures(inp: Inputs) -> Measures {
    let model = inp.model;
    let (x2, x2n) = (inp.x2, inp.x2n);
    let ng = inp.groups.len() as f64;
    let ntot: f64 = inp.groups.iter().map(|g| g.n as f64).sum();
    let neff = ntot - ng;
    // the covariates of conditional.x are not among the statistics' variables
    let p = model.ram.p() - inp.groups.first().map_or(0, |g| g.lay.x.len());
    let npar = model.npar() as f64;
    let df = model.df() as f64;
    let dfn: f64 = inp.groups.iter().map(|g| (g.obs.len() - g.lay.first()) as f64).sum();
    let pv = |x: f64, d: f64| (d > 0.0 && x.is_finite()).then(|| 1.0 - pchisq(x, d));
    let fin = |v: f64| v.is_finite().then_some(v);
    let mut m: Measures = vec![
        ("npar", Some(npar)),
        ("fmin", Some(x2 / (2.0 * ntot))),
        ("chisq", fin(x2)),
        ("df", Some(df)),
        ("pvalue", pv(x2, df).filter(|_| inp.chisq_reference)),
    ];
    let sc = inp.scaling;
    let (xs, xns) = match sc {
        Some(s) => (x2 / s.model + s.shift, x2n / s.baseline + s.baseline_shift),
        None => (f64::NAN, f64::NAN),
    };
    if let Some(s) = sc {
        m.extend([
            ("chisq_scaled", fin(xs)),
            ("df_scaled", Some(df)),
            ("pvalue_scaled", pv(xs, df)),
            ("chisq_scaling_factor", fin(s.model)),
            ("chisq_shift_parameters", fin(s.shift)),
        ]);
    }
    m.extend([
        ("baseline_chisq", fin(x2n)),
        ("baseline_df", Some(dfn)),
        ("baseline_pvalue", pv(x2n, dfn).filter(|_| inp.chisq_reference)),
    ]);
    if let Some(s) = sc {
        m.extend([
            ("baseline_chisq_scaled", fin(xns)),
            ("baseline_df_scaled", Some(dfn)),
            ("baseline_pvalue_scaled", pv(xns, dfn)),
            ("baseline_chisq_scaling_factor", fin(s.baseline)),
            ("baseline_chisq_shift_parameters", fin(s.baseline_shift)),
        ]);
    }
    let cm = inp.catml;
    let robust = |f: &dyn Fn(&Catml) -> Option<f64>| cm.as_ref().and_then(f);
    m.extend([("cfi", cfi(x2, df, x2n, dfn, 1.0, 1.0)), ("tli", tli(x2, df, x2n, dfn, 1.0, 1.0))]);
    if sc.is_some() {
        m.extend([
            ("cfi_scaled", cfi(xs, df, xns, dfn, 1.0, 1.0)),
            ("tli_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
            ("cfi_robust", robust(&|c| cfi(c.xx3, df, c.xx3_null, dfn, c.c3, c.c3_null))),
            ("tli_robust", robust(&|c| tli(c.xx3, df, c.xx3_null, dfn, c.c3, c.c3_null))),
        ]);
    }
    m.extend([
        ("nnfi", tli(x2, df, x2n, dfn, 1.0, 1.0)),
        ("rfi", rfi(x2, df, x2n, dfn)),
        ("nfi", nfi(x2, df, x2n, dfn)),
        ("pnfi", pnfi(x2, df, x2n, dfn)),
        ("ifi", ifi(x2, df, x2n)),
        ("rni", rni(x2, df, x2n, dfn, 1.0, 1.0)),
    ]);
    if sc.is_some() {
        m.extend([
            ("nnfi_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
            ("rfi_scaled", rfi(xs, df, xns, dfn)),
            ("nfi_scaled", nfi(xs, df, xns, dfn)),
            ("pnfi_scaled", pnfi(xs, df, xns, dfn)),
            ("ifi_scaled", ifi(xs, df, xns)),
            ("rni_scaled", rni(xs, df, xns, dfn, 1.0, 1.0)),
            ("nnfi_robust", robust(&|c| tli(c.xx3, df, c.xx3_null, dfn, c.c3, c.c3_null))),
            ("rni_robust", robust(&|c| rni(c.xx3, df, c.xx3_null, dfn, c.c3, c.c3_null))),
        ]);
    }
    m.extend([
        ("logl", None),
        ("unrestricted_logl", None),
        ("aic", None),
        ("bic", None),
        ("ntotal", Some(ntot)),
        ("bic2", None),
    ]);
    let (lo, hi) = rmsea_ci(x2, df, neff, ng, 1.0);
    m.extend([
        ("rmsea", rmsea(x2, df, neff, ng, 1.0)),
        ("rmsea_ci_lower", lo),
        ("rmsea_ci_upper", hi),
        ("rmsea_ci_level", Some(0.9)),
        ("rmsea_pvalue", rmsea_pvalue(x2, df, neff, ng, 1.0, 0.05, false)),
        ("rmsea_close_h0", Some(0.05)),
        ("rmsea_notclose_pvalue", rmsea_pvalue(x2, df, neff, ng, 1.0, 0.08, true)),
        ("rmsea_notclose_h0", Some(0.08)),
    ]);
    if sc.is_some() {
        let (lo_s, hi_s) = rmsea_ci(xs, df, neff, ng, 1.0);
        let ci_r = cm.map(|c| rmsea_ci(c.xx3 / c.c3, c.df3, neff, ng, c.c3));
        m.extend([
            ("rmsea_scaled", rmsea(xs, df, neff, ng, 1.0)),
            ("rmsea_ci_lower_scaled", lo_s),
            ("rmsea_ci_upper_scaled", hi_s),
            ("rmsea_pvalue_scaled", rmsea_pvalue(xs, df, neff, ng, 1.0, 0.05, false)),
            ("rmsea_notclose_pvalue_scaled", rmsea_pvalue(xs, df, neff, ng, 1.0, 0.08, true)),
            ("rmsea_robust", robust(&|c| rmsea(c.xx3, c.df3, neff, ng, c.c3))),
            ("rmsea_ci_lower_robust", ci_r.and_then(|c| c.0)),
            ("rmsea_ci_upper_robust", ci_r.and_then(|c| c.1)),
            (
                "rmsea_pvalue_robust",
                robust(&|c| rmsea_pvalue(c.xx3 / c.c3, c.df3, neff, ng, c.c3, 0.05, false)),
            ),
            (
                "rmsea_notclose_pvalue_robust",
                robust(&|c| rmsea_pvalue(c.xx3 / c.c3, c.df3, neff, ng, c.c3, 0.08, true)),
            ),
        ]);
    }
    // residual-based measures, weighted by group size
    let (mut rmr, mut rmr_nm, mut srmr, mut srmr_nm, mut crmr, mut crmr_nm, mut gfi) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let pf = p as f64;
    for (grp, imp) in inp.groups.iter().zip(inp.implied) {
        let wg = grp.n as f64 / ntot;
        let nth = grp.lay.th.len();
        let r = &grp.obs - imp;
        // the variances of continuous variables follow the thresholds (and
        // the slopes of conditional.x); the statistics' variables leave out
        // the covariates
        let voff = grp.lay.first() - grp.lay.num.len();
        let ys: Vec<usize> = (0..model.ram.p()).filter(|j| !grp.lay.x.contains(j)).collect();
        // residuals in the correlation metric: observed and implied
        // covariances of continuous variables over their own variances
        let var = |v: &DVector<f64>, j: usize| match grp.lay.num.iter().position(|&k| k == ys[j]) {
            Some(k) => v[voff + k],
            None => 1.0,
        };
        // threshold residuals (the means of continuous variables do not count)
        let ths: Vec<f64> = (0..nth).filter(|&k| !grp.lay.is_mean(k)).map(|k| r[k]).collect();
        let ss_th: f64 = ths.iter().map(|v| v * v).sum();
        let nth_ord = ths.len() as f64;
        let (mut ss_cor, mut ss_raw) = (0.0, 0.0);
        for k in 0..grp.lay.num.len() {
            ss_raw += r[voff + k] * r[voff + k];
        }
        let mut k = grp.lay.first();
        for j in 0..p {
            for i in j + 1..p {
                let sd = (var(&grp.obs, i) * var(&grp.obs, j)).sqrt();
                let (o, e) = (grp.obs[k] / sd, imp[k] / sd);
                ss_cor += (o - e) * (o - e);
                ss_raw += r[k] * r[k];
                k += 1;
            }
        }
        let pcor = pf * (pf - 1.0) / 2.0;
        // lavaan adds its nvar, which counts the covariates of conditional.x too
        let pstar = pcor + model.ram.p() as f64;
        rmr += wg * ((ss_raw + ss_th) / (pstar + nth_ord)).sqrt();
        rmr_nm += wg * (ss_raw / pstar).sqrt();
        srmr += wg * ((ss_cor + ss_th) / (pstar + nth_ord)).sqrt();
        srmr_nm += wg * (ss_cor / pstar).sqrt();
        crmr += wg * ((ss_cor + ss_th) / (pcor + nth_ord)).sqrt();
        // no correlations (one item): lavaan's summary of nothing is 0
        crmr_nm += wg * if pcor > 0.0 { (ss_cor / pcor).sqrt() } else { 0.0 };
        gfi += wg * (1.0 - grp.quad(&r) / grp.quad(&grp.obs));
    }
    let nel: f64 = inp.groups.iter().map(|g| g.obs.len() as f64).sum();
    let nel1 = inp.groups.first().map_or(0.0, |g| g.obs.len() as f64);
    // df = 0: lavaan's CN is NA when its statistic is below machine epsilon,
    // else 1 (qchisq(., 0) = 0); which one depends on where its optimizer
    // stops (a saturated probit regression lands at 1e-18 or at 1e-12), ours
    // at 0: NA here
    let cn = |a: f64| (!(df == 0.0 && x2 < 2.2e-16)).then(|| qchisq(a, df.max(1e-300)) / (x2 / neff) + 1.0);
    m.extend([
        ("rmr", Some(rmr)),
        ("rmr_nomean", Some(rmr_nm)),
        ("srmr", Some(srmr_nm)),
        ("srmr_bentler", Some(srmr)),
        ("srmr_bentler_nomean", Some(srmr_nm)),
        ("crmr", Some(crmr)),
        ("crmr_nomean", Some(crmr_nm)),
        ("srmr_mplus", None),
        ("srmr_mplus_nomean", None),
        ("cn_05", cn(0.95)),
        ("cn_01", cn(0.99)),
        ("gfi", Some(gfi)),
        ("agfi", Some(if df > 0.0 { 1.0 - nel / df * (1.0 - gfi) } else { 1.0 })),
        ("pgfi", (nel > 0.0).then(|| df / nel * gfi)),
        ("mfi", Some((-0.5 * (x2 - df) / neff).exp())),
        ("wrmr", (nel1 > 0.0).then(|| (x2 / nel1).sqrt())),
    ]);
    m
}
