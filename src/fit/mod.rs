//! Test statistic and fit indices with lavaan's formulas (`fitMeasures()`),
//! for ML with fixed.x covariates and any number of groups:
//!
//! - chisq = N F_ML, df = ndat - npar, p = 1 - pchisq;
//! - the baseline (independence) model in closed form: free variances of
//!   the non-x variables, the x block kept at its sample values, so
//!   chisq_0 = sum_g n_g [ sum_y log s_jj + log|S_xx| - log|S| ];
//! - incremental indices (CFI, TLI/NNFI, NFI, RFI, IFI, RNI, PNFI),
//!   log-likelihoods conditional on x, AIC/BIC/BIC2, RMSEA with its 90%
//!   interval by inverting the non-central chi-square, SRMR (Bentler), RMR,
//!   CRMR, GFI/AGFI/PGFI, CN, MFI, ECVI.

pub mod adjusted;
pub mod baseline;
pub mod categorical;
pub mod distributions;
pub mod fiml;
pub mod indices;
pub mod satorra2000;

use crate::estimate::objective::{eval_group, GroupData};
use crate::model::Model;
use distributions::{pchisq, qchisq};
use nalgebra::DMatrix;

/// Named fit measures in lavaan's order; `None` where a value does not exist.
pub type Measures = Vec<(&'static str, Option<f64>)>;

fn logdet(m: &DMatrix<f64>) -> f64 {
    m.clone()
        .cholesky()
        .map_or(f64::NAN, |c| 2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>())
}

fn sub(m: &DMatrix<f64>, idx: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(idx.len(), idx.len(), |a, b| m[(idx[a], idx[b])])
}

/// One group's (n_g, S, m, Sigma, mu), S and m the estimator's own sample moments.
pub type GroupMoments<'a> = (
    f64,
    &'a DMatrix<f64>,
    &'a nalgebra::DVector<f64>,
    &'a DMatrix<f64>,
    &'a nalgebra::DVector<f64>,
);

/// SRMR as Mplus defines it (lavaan's `srmr_mplus`, `srmr_mplus_nomean`):
/// per group the correlation residuals below the diagonal, the relative
/// variance residuals (s_ii - sigma_ii) / s_ii and, with a mean structure,
/// the standardized mean residuals m_i / sqrt(s_ii) - mu_i / sqrt(sigma_ii),
/// root-mean-squared over p(p+1)/2 (+ p) elements and averaged with weights
/// n_g / N. Without a mean structure both values are the no-mean one.
pub fn srmr_mplus(groups: &[GroupMoments], meanstructure: bool) -> (f64, f64) {
    let ntot: f64 = groups.iter().map(|g| g.0).sum();
    let (mut with_means, mut nomean) = (0.0, 0.0);
    for &(n, s, m, sig, mu) in groups {
        let p = s.nrows();
        let pf = p as f64;
        let mut cor = 0.0;
        for i in 0..p {
            for j in 0..i {
                let r = s[(i, j)] / (s[(i, i)] * s[(j, j)]).sqrt() - sig[(i, j)] / (sig[(i, i)] * sig[(j, j)]).sqrt();
                cor += r * r;
            }
        }
        let var: f64 = (0..p).map(|i| ((s[(i, i)] - sig[(i, i)]) / s[(i, i)]).powi(2)).sum();
        let nm = ((cor + var) / (pf * (pf + 1.0) / 2.0)).sqrt();
        let wm = if meanstructure {
            let mean: f64 = (0..p).map(|i| (m[i] / s[(i, i)].sqrt() - mu[i] / sig[(i, i)].sqrt()).powi(2)).sum();
            ((cor + mean + var) / (pf * (pf + 1.0) / 2.0 + pf)).sqrt()
        } else {
            nm
        };
        with_means += n / ntot * wm;
        nomean += n / ntot * nm;
    }
    (with_means, nomean)
}

/// Hoelter's critical N (lavaan's `lav_fit_cn`): qchisq(1 - alpha, df) /
/// (X2 / N) + 1. For df = 0 that is 1 (qchisq(., 0) = 0) whenever X2 is
/// not exactly zero; lavaan's X2 of a saturated model is round-off (about
/// 1e-13) and its CN 1, while ours is computed as exactly 0 (negative
/// round-off is clamped), so a saturated model gets 1 here too. With
/// df > 0 and X2 = 0 the value does not exist.
pub fn hoelter(x2: f64, df: f64, n: f64, alpha: f64) -> Option<f64> {
    if !x2.is_finite() {
        None
    } else if df == 0.0 {
        Some(1.0)
    } else if x2 <= 0.0 {
        None
    } else {
        Some(qchisq(1.0 - alpha, df) / (x2 / n) + 1.0)
    }
}

/// Compute every measure at the estimate `x` with minimum `fmin` (= F).
pub fn measures(model: &Model, x: &[f64], data: &[GroupData]) -> Measures {
    measures_with(model, x, data, None)
}

/// The likelihood-based statistics of an estimator that does not get them
/// from the sample moments (FIML: `fit::fiml`); the other measures still
/// come from the moments in `data`.
#[derive(Debug, Clone, Copy)]
pub struct Likelihoods {
    pub chisq: f64,
    pub baseline_chisq: f64,
    pub logl: f64,
    pub logl_h1: f64,
}

/// `measures`, with the chi-squares and log-likelihoods from `lik` when given.
pub fn measures_with(model: &Model, x: &[f64], data: &[GroupData], lik: Option<&Likelihoods>) -> Measures {
    let ram = &model.ram;
    let p = ram.p();
    let ng = data.len() as f64;
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let xi: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| ram.index(v)).collect();
    let exo: Vec<usize> = model.pt.names.exo.iter().filter_map(|v| ram.index(v)).collect();
    let px = xi.len() as f64;
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let npar = model.npar() as f64;
    let df = model.df() as f64;
    let ms = ram.meanstructure;

    let mut chisq = 0.0;
    let mut base = 0.0;
    let mut logl = 0.0;
    let mut logl_h1 = 0.0;
    let (mut srmr, mut srmr_nomean, mut rmr, mut rmr_nomean, mut crmr, mut crmr_nomean) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut gfi = 0.0;
    let mut fmin = 0.0;
    let mut ok = true;
    let mut implied = Vec::with_capacity(data.len());
    for (g, d) in data.iter().enumerate() {
        let n = d.n as f64;
        let wg = n / ntot;
        let Some(e) = eval_group(ram, g, x, d) else {
            ok = false;
            break;
        };
        let fg = e.f.max(0.0);
        fmin += wg * fg / 2.0;
        chisq += n * fg;
        // baseline
        let ld_s = d.logdet_s;
        let ld_xx = if xi.is_empty() { 0.0 } else { logdet(&sub(&d.cov, &xi)) };
        // the exogenous block is kept in the baseline (fixed or free, its MLE is S_xx)
        let ld_exo = if exo.is_empty() { 0.0 } else { logdet(&sub(&d.cov, &exo)) };
        base += n * ((0..p).filter(|j| !exo.contains(j)).map(|j| d.cov[(j, j)].ln()).sum::<f64>() + ld_exo - ld_s);
        // log-likelihoods, conditional on x
        let marg_x = if xi.is_empty() { 0.0 } else { -n / 2.0 * (px * ln2pi + ld_xx + px) };
        let mut quad = d.cov.dot(&e.k); // tr(S K), both symmetric
        if ms {
            let dm = &d.mean - &e.implied.mu;
            quad += (dm.transpose() * &e.k * &dm)[(0, 0)];
        }
        logl += -n / 2.0 * (p as f64 * ln2pi + e.logdet + quad) - marg_x;
        logl_h1 += -n / 2.0 * (p as f64 * ln2pi + ld_s + p as f64) - marg_x;
        // residual-based measures
        let sig = &e.implied.sigma;
        let (mut ss_std, mut ss_raw, mut ss_cor) = (0.0, 0.0, 0.0);
        for i in 0..p {
            for j in 0..=i {
                let r = d.cov[(i, j)] - sig[(i, j)];
                ss_raw += r * r;
                let rs = r / (d.cov[(i, i)] * d.cov[(j, j)]).sqrt();
                ss_std += rs * rs;
                if i != j {
                    let rc = d.cov[(i, j)] / (d.cov[(i, i)] * d.cov[(j, j)]).sqrt() - sig[(i, j)] / (sig[(i, i)] * sig[(j, j)]).sqrt();
                    ss_cor += rc * rc;
                }
            }
        }
        let (mut mm_std, mut mm_raw) = (0.0, 0.0);
        if ms {
            for i in 0..p {
                let r = d.mean[i] - e.implied.mu[i];
                mm_raw += r * r;
                mm_std += r * r / d.cov[(i, i)];
            }
        }
        let pf = p as f64;
        let nv = pf * (pf + 1.0) / 2.0;
        let nm = if ms { pf } else { 0.0 };
        srmr += wg * ((ss_std + mm_std) / (nv + nm)).sqrt();
        srmr_nomean += wg * (ss_std / nv).sqrt();
        rmr += wg * ((ss_raw + mm_raw) / (nv + nm)).sqrt();
        rmr_nomean += wg * (ss_raw / nv).sqrt();
        let ncor = pf * (pf - 1.0) / 2.0;
        crmr += wg * ((ss_cor + mm_std) / (ncor + nm)).sqrt();
        crmr_nomean += wg * (ss_cor / ncor).sqrt();
        // GFI with the x block given zero weight in the denominator
        let k = &e.k;
        let resid = &d.cov - sig;
        let kr = k * &resid;
        // tr(M M) as the elementwise product of M and M': O(p^2) after M
        let mut num = 0.5 * kr.dot(&kr.transpose());
        let mut s_tilde = d.cov.clone();
        for &a in &xi {
            for &b in &xi {
                s_tilde[(a, b)] = 0.0;
            }
        }
        let ks = k * &s_tilde;
        let mut den = 0.5 * ks.dot(&ks.transpose());
        if ms {
            let dm = &d.mean - &e.implied.mu;
            num += (dm.transpose() * k * &dm)[(0, 0)];
            let mut m = d.mean.clone();
            for &a in &xi {
                m[a] = 0.0;
            }
            den += (m.transpose() * k * &m)[(0, 0)];
        }
        gfi += wg * (1.0 - num / den);
        implied.push(e.implied);
    }
    if !ok {
        return vec![("npar", Some(npar)), ("df", Some(df))];
    }
    if let Some(l) = lik {
        (chisq, base, logl, logl_h1) = (l.chisq, l.baseline_chisq, l.logl, l.logl_h1);
        fmin = chisq / (2.0 * ntot);
    }
    let base_df = baseline::df(model);
    let pvalue = (df > 0.0).then(|| 1.0 - pchisq(chisq, df));
    let base_p = (base_df > 0.0).then(|| 1.0 - pchisq(base, base_df));
    let (x2, x2n, dfn) = (chisq, base, base_df);
    let cfi = indices::cfi(x2, df, x2n, dfn, 1.0, 1.0);
    let tli = indices::tli(x2, df, x2n, dfn, 1.0, 1.0);
    let rni = indices::rni(x2, df, x2n, dfn, 1.0, 1.0);
    let nfi = indices::nfi(x2, df, x2n, dfn);
    let pnfi = indices::pnfi(x2, df, x2n, dfn);
    let rfi = indices::rfi(x2, df, x2n, dfn);
    let ifi = indices::ifi(x2, df, x2n);
    let aic = -2.0 * logl + 2.0 * npar;
    let bic = -2.0 * logl + npar * ntot.ln();
    let bic2 = -2.0 * logl + npar * ((ntot + 2.0) / 24.0).ln();
    // RMSEA family
    let rmsea = indices::rmsea(x2, df, ntot, ng, 1.0);
    let (lo, hi) = indices::rmsea_ci(x2, df, ntot, ng, 1.0);
    let rmsea_p = indices::rmsea_pvalue(x2, df, ntot, ng, 1.0, 0.05, false);
    let rmsea_notclose = indices::rmsea_pvalue(x2, df, ntot, ng, 1.0, 0.08, true);
    let nel: f64 = data.len() as f64 * {
        let pf = p as f64;
        pf * (pf + 1.0) / 2.0 + if ms { pf } else { 0.0 }
    };
    let agfi = if df > 0.0 { 1.0 - nel / df * (1.0 - gfi) } else { 1.0 };
    let pgfi = (nel > 0.0).then(|| df / nel * gfi);
    let cn = |a: f64| hoelter(x2, df, ntot, 1.0 - a);
    let mfi = (-0.5 * (x2 - df) / ntot).exp();
    let ecvi = x2 / ntot + 2.0 * npar / ntot;
    let mplus: Vec<_> = data
        .iter()
        .zip(&implied)
        .map(|(d, e)| (d.n as f64, &d.cov, &d.mean, &e.sigma, &e.mu))
        .collect();
    let (srmr_mp, srmr_mp_nomean) = srmr_mplus(&mplus, ms);
    vec![
        ("npar", Some(npar)),
        ("fmin", Some(fmin)),
        ("chisq", Some(chisq)),
        ("df", Some(df)),
        ("pvalue", pvalue),
        ("baseline_chisq", Some(base)),
        ("baseline_df", Some(base_df)),
        ("baseline_pvalue", base_p),
        ("cfi", cfi),
        ("tli", tli),
        ("nnfi", tli),
        ("rfi", rfi),
        ("nfi", nfi),
        ("pnfi", pnfi),
        ("ifi", ifi),
        ("rni", rni),
        ("logl", Some(logl)),
        ("unrestricted_logl", Some(logl_h1)),
        ("aic", Some(aic)),
        ("bic", Some(bic)),
        ("ntotal", Some(ntot)),
        ("bic2", Some(bic2)),
        ("rmsea", rmsea),
        ("rmsea_ci_lower", lo),
        ("rmsea_ci_upper", hi),
        ("rmsea_ci_level", Some(0.90)),
        ("rmsea_pvalue", rmsea_p),
        ("rmsea_close_h0", Some(0.05)),
        ("rmsea_notclose_pvalue", rmsea_notclose),
        ("rmsea_notclose_h0", Some(0.08)),
        ("rmr", Some(rmr)),
        ("rmr_nomean", Some(rmr_nomean)),
        ("srmr", Some(srmr)),
        ("srmr_bentler", Some(srmr)),
        ("srmr_bentler_nomean", Some(srmr_nomean)),
        ("crmr", Some(crmr)),
        ("crmr_nomean", Some(crmr_nomean)),
        ("srmr_mplus", Some(srmr_mp)),
        ("srmr_mplus_nomean", Some(srmr_mp_nomean)),
        ("cn_05", cn(0.95)),
        ("cn_01", cn(0.99)),
        ("gfi", Some(gfi)),
        ("agfi", Some(agfi)),
        ("pgfi", pgfi),
        ("mfi", Some(mfi)),
        ("ecvi", Some(ecvi)),
    ]
}

/// The measures lavaan reports for GLS and ULS: the test is 2 N fmin, the
/// baseline is the independence model fitted by the same estimator, and
/// there is no likelihood (so no logl, AIC, BIC). Residual-based measures
/// use the N - 1 sample covariance these estimators fit.
pub fn measures_ls(model: &Model, x: &[f64], groups: &[crate::estimate::ls::LsGroup], base: (&crate::model::Ram, &[f64])) -> Measures {
    use crate::estimate::ls::LsProblem;
    let elems = crate::inference::robust::moment_elems(model.ram.p(), model.ram.meanstructure);
    let x2 = LsProblem {
        ram: &model.ram,
        groups,
        elems: elems.clone(),
    }
    .chisq(x);
    let x2n = LsProblem {
        ram: base.0,
        groups,
        elems,
    }
    .chisq(base.1);
    let ram = &model.ram;
    let p = ram.p() as f64;
    let ng = groups.len() as f64;
    let ntot: f64 = groups.iter().map(|g| g.data.n as f64).sum();
    let npar = model.npar() as f64;
    let df = model.df() as f64;
    let dfn = baseline::df(model);
    let fmin = x2 / (2.0 * ntot);

    let ms = ram.meanstructure;
    let uls = groups.iter().all(|g| g.uls);
    let (mut srmr, mut srmr_nm, mut rmr, mut rmr_nm, mut crmr, mut crmr_nm, mut gfi) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut implied = Vec::with_capacity(groups.len());
    for (g, grp) in groups.iter().enumerate() {
        let wg = grp.data.n as f64 / ntot;
        let (a, s, m) = ram.matrices(g, x);
        let Some(imp) = crate::model::ram::Implied::new(&a, &s, &m, ram.p()) else {
            continue;
        };
        let (cov, sig) = (&grp.data.cov, &imp.sigma);
        let (mut ss, mut sr, mut sc, mut ms_std, mut ms_raw) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..ram.p() {
            for j in 0..=i {
                let r = cov[(i, j)] - sig[(i, j)];
                sr += r * r;
                ss += r * r / (cov[(i, i)] * cov[(j, j)]);
                if i != j {
                    let rc = cov[(i, j)] / (cov[(i, i)] * cov[(j, j)]).sqrt() - sig[(i, j)] / (sig[(i, i)] * sig[(j, j)]).sqrt();
                    sc += rc * rc;
                }
            }
            if ms {
                let r = grp.data.mean[i] - imp.mu[i];
                ms_raw += r * r;
                ms_std += r * r / cov[(i, i)];
            }
        }
        let nv = p * (p + 1.0) / 2.0;
        let nm = if ms { p } else { 0.0 };
        srmr += wg * ((ss + ms_std) / (nv + nm)).sqrt();
        srmr_nm += wg * (ss / nv).sqrt();
        rmr += wg * ((sr + ms_raw) / (nv + nm)).sqrt();
        rmr_nm += wg * (sr / nv).sqrt();
        crmr += wg * ((sc + ms_std) / (p * (p - 1.0) / 2.0 + nm)).sqrt();
        crmr_nm += wg * (sc / (p * (p - 1.0) / 2.0)).sqrt();
        // GFI with the estimator's own weight
        let r = &grp.obs
            - nalgebra::DVector::from_iterator(
                grp.obs.len(),
                crate::inference::robust::moment_elems(ram.p(), ms)
                    .iter()
                    .map(|&(i, j, mm)| if mm { imp.mu[i] } else { sig[(i, j)] }),
            );
        let num = (r.transpose() * &grp.weight * &r)[(0, 0)];
        let den = (grp.obs.transpose() * &grp.weight * &grp.obs)[(0, 0)];
        gfi += wg * (1.0 - num / den);
        implied.push((grp.data.n as f64, imp));
    }
    let mplus: Vec<_> = groups
        .iter()
        .zip(&implied)
        .map(|(grp, (n, e))| (*n, &grp.data.cov, &grp.data.mean, &e.sigma, &e.mu))
        .collect();
    // a group whose implied moments cannot be computed leaves the value undefined
    let (srmr_mp, srmr_mp_nomean) = if implied.len() == groups.len() {
        let (a, b) = srmr_mplus(&mplus, ms);
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let nel = ng * (p * (p + 1.0) / 2.0 + if ms { p } else { 0.0 });
    // lavaan's N for the fit measures of non-likelihood estimators: N - G
    let ntot = ntot - ng;
    let (lo, hi) = indices::rmsea_ci(x2, df, ntot, ng, 1.0);
    let cn = |a: f64| hoelter(x2, df, ntot, 1.0 - a);
    vec![
        ("npar", Some(npar)),
        ("fmin", Some(fmin)),
        ("chisq", Some(x2)),
        ("df", Some(df)),
        // ULS's statistic is not chi-square distributed: lavaan gives no p-value
        ("pvalue", (df > 0.0 && !uls).then(|| 1.0 - pchisq(x2, df))),
        ("baseline_chisq", Some(x2n)),
        ("baseline_df", Some(dfn)),
        ("baseline_pvalue", (dfn > 0.0 && !uls).then(|| 1.0 - pchisq(x2n, dfn))),
        ("cfi", indices::cfi(x2, df, x2n, dfn, 1.0, 1.0)),
        ("tli", indices::tli(x2, df, x2n, dfn, 1.0, 1.0)),
        ("nnfi", indices::tli(x2, df, x2n, dfn, 1.0, 1.0)),
        ("rfi", indices::rfi(x2, df, x2n, dfn)),
        ("nfi", indices::nfi(x2, df, x2n, dfn)),
        ("pnfi", indices::pnfi(x2, df, x2n, dfn)),
        ("ifi", indices::ifi(x2, df, x2n)),
        ("rni", indices::rni(x2, df, x2n, dfn, 1.0, 1.0)),
        ("rmsea", indices::rmsea(x2, df, ntot, ng, 1.0)),
        ("rmsea_ci_lower", lo),
        ("rmsea_ci_upper", hi),
        ("rmsea_ci_level", Some(0.90)),
        ("rmsea_pvalue", indices::rmsea_pvalue(x2, df, ntot, ng, 1.0, 0.05, false)),
        ("rmsea_close_h0", Some(0.05)),
        ("rmsea_notclose_pvalue", indices::rmsea_pvalue(x2, df, ntot, ng, 1.0, 0.08, true)),
        ("rmsea_notclose_h0", Some(0.08)),
        ("rmr", Some(rmr)),
        ("rmr_nomean", Some(rmr_nm)),
        ("srmr", Some(srmr)),
        ("srmr_bentler", Some(srmr)),
        ("srmr_bentler_nomean", Some(srmr_nm)),
        ("crmr", Some(crmr)),
        ("crmr_nomean", Some(crmr_nm)),
        ("srmr_mplus", srmr_mp),
        ("srmr_mplus_nomean", srmr_mp_nomean),
        ("cn_05", cn(0.95)),
        ("cn_01", cn(0.99)),
        ("gfi", Some(gfi)),
        ("agfi", Some(if df > 0.0 { 1.0 - nel / df * (1.0 - gfi) } else { 1.0 })),
        ("pgfi", (nel > 0.0).then(|| df / nel * gfi)),
        ("mfi", Some((-0.5 * (x2 - df) / ntot).exp())),
        ("ecvi", Some(x2 / ntot + 2.0 * npar / ntot)),
    ]
}
