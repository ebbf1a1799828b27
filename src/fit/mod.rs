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

pub mod distributions;

use crate::estimate::objective::{eval_group, GroupData};
use crate::model::Model;
use distributions::{brent, pchisq, pnchisq, qchisq};
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

fn close0(v: f64) -> bool {
    v.abs() <= 1.5e-8
}

/// Compute every measure at the estimate `x` with minimum `fmin` (= F).
pub fn measures(model: &Model, x: &[f64], data: &[GroupData]) -> Measures {
    let ram = &model.ram;
    let p = ram.p();
    let ng = data.len() as f64;
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let xi: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| ram.index(v)).collect();
    let yi: Vec<usize> = (0..p).filter(|i| !xi.contains(i)).collect();
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
        base += n * (yi.iter().map(|&j| d.cov[(j, j)].ln()).sum::<f64>() + ld_xx - ld_s);
        // log-likelihoods, conditional on x
        let marg_x = if xi.is_empty() { 0.0 } else { -n / 2.0 * (px * ln2pi + ld_xx + px) };
        let mut quad = (&d.cov * &e.k).trace();
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
        let mut num = 0.5 * (&kr * &kr).trace();
        let mut s_tilde = d.cov.clone();
        for &a in &xi {
            for &b in &xi {
                s_tilde[(a, b)] = 0.0;
            }
        }
        let ks = k * &s_tilde;
        let mut den = 0.5 * (&ks * &ks).trace();
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
    }
    if !ok {
        return vec![("npar", Some(npar)), ("df", Some(df))];
    }
    let base_df: f64 = data.len() as f64 * {
        let pf = p as f64;
        pf * (pf + 1.0) / 2.0 - px * (px + 1.0) / 2.0 - (pf - px)
    };
    let pvalue = (df > 0.0).then(|| 1.0 - pchisq(chisq, df));
    let base_p = (base_df > 0.0).then(|| 1.0 - pchisq(base, base_df));
    let (x2, x2n, dfn) = (chisq, base, base_df);
    let cfi = {
        let t1 = (x2 - df).max(0.0);
        let t2 = (x2 - df).max(x2n - dfn).max(0.0);
        if close0(t1) && close0(t2) {
            1.0
        } else {
            1.0 - t1 / t2
        }
    };
    let tli = {
        let t1 = (x2 - df) * dfn;
        let t2 = (x2n - dfn) * df;
        if df > 0.0 && t2.abs() > 0.0 {
            Some(1.0 - t1 / t2)
        } else if !t1.is_finite() || !t2.is_finite() {
            None
        } else {
            Some(1.0)
        }
    };
    let rni = {
        let t2 = x2n - dfn;
        (!close0(t2)).then(|| 1.0 - (x2 - df) / t2)
    };
    let nfi = if df > dfn || close0(x2n) {
        None
    } else if df > 0.0 {
        Some((x2n - x2) / x2n)
    } else {
        Some(1.0)
    };
    let pnfi = (dfn > 0.0 && x2n > 0.0).then(|| df / dfn * (x2n - x2) / x2n);
    let rfi = if df > dfn {
        None
    } else if df > 0.0 && dfn > 0.0 {
        let t1 = x2n / dfn - x2 / df;
        let t2 = x2n / dfn;
        Some(if t1 < 0.0 || t2 < 0.0 { 1.0 } else { t1 / t2 })
    } else {
        Some(1.0)
    };
    let ifi = {
        let t1 = x2n - x2;
        let t2 = x2n - df;
        if t2 < 0.0 {
            Some(1.0)
        } else if close0(t2) {
            None
        } else {
            Some(t1 / t2)
        }
    };
    let aic = -2.0 * logl + 2.0 * npar;
    let bic = -2.0 * logl + npar * ntot.ln();
    let bic2 = -2.0 * logl + npar * ((ntot + 2.0) / 24.0).ln();
    // RMSEA family
    let rmsea = if df > 0.0 {
        ((x2 / ntot) / df - 1.0 / ntot).max(0.0).sqrt() * ng.sqrt()
    } else {
        0.0
    };
    let (lo, hi) = rmsea_ci(x2, df, ntot, ng);
    let rmsea_p = (df > 0.0).then(|| 1.0 - pnchisq(x2, df, ntot * df * 0.05 * 0.05 / ng));
    let rmsea_notclose = (df > 0.0).then(|| pnchisq(x2, df, ntot * df * 0.08 * 0.08 / ng));
    let nel: f64 = data.len() as f64 * {
        let pf = p as f64;
        pf * (pf + 1.0) / 2.0 + if ms { pf } else { 0.0 }
    };
    let agfi = if df > 0.0 { 1.0 - nel / df * (1.0 - gfi) } else { 1.0 };
    let pgfi = (nel > 0.0).then(|| df / nel * gfi);
    let cn = |a: f64| {
        if df == 0.0 && x2 < 2.2e-16 {
            None
        } else {
            Some(qchisq(a, df.max(1e-300)) / (x2 / ntot) + 1.0)
        }
    };
    let mfi = (-0.5 * (x2 - df) / ntot).exp();
    let ecvi = x2 / ntot + 2.0 * npar / ntot;
    vec![
        ("npar", Some(npar)),
        ("fmin", Some(fmin)),
        ("chisq", Some(chisq)),
        ("df", Some(df)),
        ("pvalue", pvalue),
        ("baseline_chisq", Some(base)),
        ("baseline_df", Some(base_df)),
        ("baseline_pvalue", base_p),
        ("cfi", Some(cfi)),
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
        ("rmsea", Some(rmsea)),
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
        ("cn_05", cn(0.95)),
        ("cn_01", cn(0.99)),
        ("gfi", Some(gfi)),
        ("agfi", Some(agfi)),
        ("pgfi", pgfi),
        ("mfi", Some(mfi)),
        ("ecvi", Some(ecvi)),
    ]
}

/// lavaan's 90% RMSEA interval: solve pnchisq(X2, df, lambda) = 0.95 / 0.05.
fn rmsea_ci(x2: f64, df: f64, n: f64, g: f64) -> (Option<f64>, Option<f64>) {
    if df < 1.0 {
        return (Some(0.0), Some(0.0));
    }
    let to_rmsea = |l: f64| (l / (n * df)).sqrt() * g.sqrt();
    let lower = if pchisq(x2, df) < 0.95 {
        Some(0.0)
    } else {
        brent(|l| pnchisq(x2, df, l) - 0.95, 0.0, x2).map(to_rmsea)
    };
    let nr = n.max(4.0 * x2);
    let upper = if pnchisq(x2, df, nr) - 0.05 > 0.0 || pchisq(x2, df) < 0.05 {
        Some(0.0)
    } else {
        brent(|l| pnchisq(x2, df, l) - 0.05, 0.0, nr).map(to_rmsea)
    };
    (lower, upper)
}
