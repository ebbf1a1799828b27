//! Fit measures under FIML (lavaan's `fitMeasures()` with `missing = "ml"`):
//!
//! - logl is the observed-data log-likelihood at the estimates and
//!   unrestricted_logl that of the saturated model fitted by EM, both
//!   conditional on the fixed.x covariates; chisq = 2 (logl_h1 - logl);
//! - the baseline (independence) model keeps a free mean and variance per
//!   non-covariate variable; under FIML it fits each variable on the rows
//!   that observe it, so logl_0 = sum_y -n_y/2 (log 2pi + log v_y + 1) with
//!   n_y, v_y the available-case count and variance (divisor n_y), and
//!   baseline_chisq = 2 (logl_h1 - logl_0);
//! - AIC, BIC, RMSEA and the incremental indices follow from these with
//!   N = the rows used; SRMR, RMR, CRMR (and SRMR as Mplus defines it)
//!   compare the implied moments with the EM moments, which take the place
//!   of the sample moments;
//! - GFI, as lavaan, compares the implied moments with its `sample.cov`
//!   under missing = "ml" (available-case means, pairwise covariances:
//!   `Patterns::pairwise`), weighted by the expected information of the
//!   observed parts, pattern by pattern (its WLS.V): per group, with the
//!   x-block elements left out, GFI = 1 - t(m - mu, S - Sigma) / t(m, S) with
//!   t(r, R) = (1/n) sum_p n_p [ r_o' K_o r_o + 1/2 tr(K_o R_oo K_o R_oo) ];
//! - the "robust" CFI, TLI, RNI and RMSEA lavaan adds for missing = "ml"
//!   are its FIML-corrected versions (Zhang & Savalei; lavaan's
//!   `lav_fit_fiml_corrected`, version V6 for a standard test): XX3 is the
//!   complete-data ML statistic of the FIML estimates against the EM moments,
//!   and c = tr(Wc Wm^-1 U Wm^-1) / df with Wm the observed information of
//!   the saturated model under missing data (at the EM moments), Wc the
//!   complete-data one, U = Wm - Wm D (D' Wm D)^-1 D' Wm and D the model's
//!   Jacobian of (mu, vech Sigma); the same for the baseline model, whose
//!   Jacobian selects the means and variances.

use super::distributions::pnchisq;
use super::{indices::rmsea_ci, measures_with, Likelihoods, Measures};
use crate::data::patterns::{spd_inverse, sub};
use crate::estimate::fiml::{self, FimlData};
use crate::estimate::h1::{delta, h1_complete, h1_observed_missing, Layout};
use crate::estimate::objective::{eval_group, GroupData};
use crate::model::Model;
use nalgebra::{DMatrix, DVector};

/// The independence model's log-likelihood of each group (conditional on the covariates).
pub fn baseline_logl(model: &Model, f: &FimlData) -> Vec<f64> {
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let xi: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| model.ram.index(v)).collect();
    f.patterns
        .iter()
        .map(|pats| {
            pats.available_cases()
                .iter()
                .enumerate()
                .filter(|(k, _)| !xi.contains(k))
                .map(|(_, &(n, _, v))| -(n as f64) / 2.0 * (ln2pi + v.ln() + 1.0))
                .sum()
        })
        .collect()
}

/// Every measure at the FIML estimate `x`; `data` holds the EM moments.
/// `jm`: with a robust (scaled) test, per group the saturated model's unit
/// first-order information at the EM moments, for version V3 of the
/// corrected indices (`corrected`). `e_h1`: per group the saturated model's
/// unit information (over the kept elements) that the fit's information
/// matrix E = sum_g f_g Delta' A_g Delta is built from, as lavaan's
/// `inverted.information` with h1.information = "unstructured": `None` for
/// the observed one (the default), else the expected or first-order one of
/// `--information`.
pub fn measures(
    model: &Model,
    x: &[f64],
    data: &[GroupData],
    f: &FimlData,
    jm: Option<&[DMatrix<f64>]>,
    e_h1: Option<&[DMatrix<f64>]>,
) -> Measures {
    let Some(logl) = fiml::logl(&model.ram, x, f) else {
        return vec![("npar", Some(model.npar() as f64)), ("df", Some(model.df() as f64))];
    };
    let logl: f64 = logl.iter().sum();
    let logl_h1: f64 = f.logl_h1().iter().sum();
    let logl_0: f64 = baseline_logl(model, f).iter().sum();
    let lik = Likelihoods {
        chisq: (2.0 * (logl_h1 - logl)).max(0.0),
        baseline_chisq: 2.0 * (logl_h1 - logl_0),
        logl,
        logl_h1,
    };
    let mut m = measures_with(model, x, data, Some(&lik));
    let df = model.df() as f64;
    let ng = data.len() as f64;
    let p = model.ram.p() as f64;
    let nel = ng * (p * (p + 1.0) / 2.0 + p);
    if let Some(gfi) = gfi(model, x, data, f) {
        set(&mut m, "gfi", Some(gfi));
        set(&mut m, "agfi", Some(if df > 0.0 { 1.0 - nel / df * (1.0 - gfi) } else { 1.0 }));
        set(&mut m, "pgfi", (nel > 0.0).then(|| df / nel * gfi));
    }
    if let Some((with_means, nomean)) = srmr_mplus(model, x, data) {
        set(&mut m, "srmr_mplus", Some(with_means));
        set(&mut m, "srmr_mplus_nomean", Some(nomean));
    }
    let rb = corrected(model, x, data, f, jm, e_h1);
    let base_df = m
        .iter()
        .find(|(k, _)| *k == "baseline_df")
        .and_then(|(_, v)| *v)
        .unwrap_or(f64::NAN);
    let ntot = f.ntotal() as f64;
    let (cfi, tli, rni, rmsea, lo, hi, pclose, pnot) = match rb {
        Some(c) => robust_indices(&c, df, base_df, ntot, ng),
        None => (None, None, None, None, None, None, None, None),
    };
    insert_after(&mut m, "tli", &[("cfi_robust", cfi), ("tli_robust", tli)]);
    insert_after(&mut m, "rni", &[("nnfi_robust", tli), ("rni_robust", rni)]);
    insert_after(
        &mut m,
        "rmsea_notclose_h0",
        &[
            ("rmsea_robust", rmsea),
            ("rmsea_ci_lower_robust", lo),
            ("rmsea_ci_upper_robust", hi),
            ("rmsea_pvalue_robust", pclose),
            ("rmsea_notclose_pvalue_robust", pnot),
        ],
    );
    m
}

fn set(m: &mut Measures, key: &str, v: Option<f64>) {
    if let Some(slot) = m.iter_mut().find(|(k, _)| *k == key) {
        slot.1 = v;
    }
}

fn insert_after(m: &mut Measures, after: &str, items: &[(&'static str, Option<f64>)]) {
    let at = m.iter().position(|(k, _)| *k == after).map_or(m.len(), |i| i + 1);
    for (k, item) in items.iter().enumerate() {
        m.insert(at + k, *item);
    }
}

/// lavaan's FIML-corrected statistics: version V6 for a standard test,
/// k = tr(Wc Wm^-1 U Wm^-1); V3 for a scaled one (given `jm`, the
/// saturated first-order information), k = tr(U Wm^-1 Wc Wm^-1 U Gamma)
/// with Gamma = Wm^-1 Jm Wm^-1, all of them block-diagonal over the groups
/// (weighted f_g, or 1/f_g for the inverses and Gamma).
struct Corrected {
    xx3: f64,
    c_hat: f64,
    xx3_null: f64,
    c_hat_null: f64,
}

fn corrected(
    model: &Model,
    x: &[f64],
    data: &[GroupData],
    f: &FimlData,
    jm: Option<&[DMatrix<f64>]>,
    e_h1: Option<&[DMatrix<f64>]>,
) -> Option<Corrected> {
    let ram = &model.ram;
    let p = ram.p();
    let xi: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| ram.index(v)).collect();
    let yi: Vec<usize> = (0..p).filter(|k| !xi.contains(k)).collect();
    let lay = Layout::new(p, &xi);
    let ntot = f.ntotal() as f64;
    let df = model.df() as f64;
    let base_df = data.len() as f64 * (p * (p + 1) / 2 - xi.len() * (xi.len() + 1) / 2 - yi.len()) as f64;
    let (mut t1, mut tb, mut xx3, mut xx3_null) = (0.0, 0.0, 0.0, 0.0);
    // under constraints, the model's Jacobian in the directions they leave free
    let basis = ram.constraints.as_deref().and_then(|c| c.basis_at(x));
    let nfree = basis.as_ref().map_or(ram.nx, |k| k.ncols());
    let mut ac = DMatrix::zeros(nfree, nfree);
    let mut am = DMatrix::zeros(nfree, nfree);
    let mut blocks = Vec::with_capacity(data.len());
    for (g, d) in data.iter().enumerate() {
        let n = d.n as f64;
        let fg = n / ntot;
        xx3 += n * eval_group(ram, g, x, d)?.f;
        // the baseline at its FIML estimates: available-case means and variances
        let ac_stats = f.patterns[g].available_cases();
        let mut s0 = DMatrix::zeros(p, p);
        let mut m0 = d.mean.clone();
        for &y in &yi {
            s0[(y, y)] = ac_stats[y].2;
            m0[y] = ac_stats[y].1;
        }
        for &a in &xi {
            for &b in &xi {
                s0[(a, b)] = d.cov[(a, b)];
            }
        }
        let (k0, ld0) = spd_inverse(&s0)?;
        let dm = &d.mean - &m0;
        xx3_null += n * (ld0 + d.cov.dot(&k0) - d.logdet_s - p as f64 + dm.dot(&(&k0 * &dm)));
        // information matrices without the x block
        let wm = lay.reduce(&h1_observed_missing(&f.patterns[g], &d.mean, &d.cov, &lay)?);
        let wc = lay.reduce(&h1_complete(&d.cov, &lay)?);
        let (wmi, _) = spd_inverse(&wm)?;
        t1 += (&wc * &wmi).trace();
        let dl = delta(ram, g, x, &lay)?.select_rows(lay.keep.iter());
        let dl = match &basis {
            Some(k) => dl * k,
            None => dl,
        };
        ac += (dl.transpose() * &wc * &dl) * fg;
        let a_e = e_h1.map_or(&wm, |h| &h[g]);
        am += (dl.transpose() * a_e * &dl) * fg;
        // the baseline's Jacobian selects the non-x means and variances
        let sel: Vec<usize> = lay
            .keep
            .iter()
            .enumerate()
            .filter(|(_, &e)| e < p || lay.pairs[e - p].0 == lay.pairs[e - p].1)
            .map(|(r, _)| r)
            .collect();
        tb += (sub(&wc, &sel) * spd_inverse(&sub(&wm, &sel))?.0).trace();
        blocks.push((fg, wc, wm, wmi, dl, sel));
    }
    let (k, kb) = match jm {
        None => (t1 - (&ac * spd_inverse(&am)?.0).trace(), t1 - tb),
        Some(jm) => {
            let kd = lay.keep.len();
            let dim = kd * blocks.len();
            let nsel: usize = blocks.iter().map(|b| b.5.len()).sum();
            let (mut wc_all, mut wm_all, mut wmi_all, mut gamma_all) = (
                DMatrix::zeros(dim, dim),
                DMatrix::zeros(dim, dim),
                DMatrix::zeros(dim, dim),
                DMatrix::zeros(dim, dim),
            );
            // the h1 information of E (Wm unless --information says otherwise)
            let mut we_all = DMatrix::zeros(dim, dim);
            let mut d_all = DMatrix::zeros(dim, nfree);
            let mut db_all = DMatrix::zeros(dim, nsel);
            let mut col = 0;
            for (g, (fg, wc, wm, wmi, dl, sel)) in blocks.iter().enumerate() {
                let o = g * kd;
                wc_all.view_mut((o, o), (kd, kd)).copy_from(&(wc * *fg));
                wm_all.view_mut((o, o), (kd, kd)).copy_from(&(wm * *fg));
                we_all.view_mut((o, o), (kd, kd)).copy_from(&(e_h1.map_or(wm, |h| &h[g]) * *fg));
                wmi_all.view_mut((o, o), (kd, kd)).copy_from(&(wmi / *fg));
                gamma_all.view_mut((o, o), (kd, kd)).copy_from(&(wmi * &jm[g] * wmi / *fg));
                d_all.view_mut((o, 0), (kd, nfree)).copy_from(dl);
                for &r in sel {
                    db_all[(o + r, col)] = 1.0;
                    col += 1;
                }
            }
            let u_of = |d: &DMatrix<f64>| -> Option<DMatrix<f64>> {
                let wd = &wm_all * d;
                let e_inv = spd_inverse(&(d.transpose() * &we_all * d))?.0;
                Some(&wm_all - &wd * e_inv * wd.transpose())
            };
            let mid = &wmi_all * &wc_all * &wmi_all;
            let k3 = |u: DMatrix<f64>| (&u * &mid * &u * &gamma_all).trace();
            (k3(u_of(&d_all)?), k3(u_of(&db_all)?))
        }
    };
    Some(Corrected {
        xx3,
        c_hat: k / df,
        xx3_null,
        c_hat_null: kb / base_df,
    })
}

type Robust = (
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

/// cfi, tli, rni, rmsea, its interval and two p-values, "robust" (lavaan's formulas with c-hat).
fn robust_indices(c: &Corrected, df: f64, dfn: f64, n: f64, g: f64) -> Robust {
    let fin = |v: f64| v.is_finite().then_some(v);
    let (x2, x2n, ch, chn) = (c.xx3, c.xx3_null, c.c_hat, c.c_hat_null);
    let scaled = df > 0.0 && ch != 1.0 && chn != 1.0;
    let (cd, cdn) = if scaled { (ch * df, chn * dfn) } else { (df, dfn) };
    let cfi = {
        let t1 = (x2 - cd).max(0.0);
        let t2 = (x2 - cd).max(x2n - cdn).max(0.0);
        if t1.abs() < 1.5e-8 && t2.abs() < 1.5e-8 {
            1.0
        } else {
            1.0 - t1 / t2
        }
    };
    let tli = {
        let (t1, t2) = ((x2 - cd) * dfn, (x2n - cdn) * df);
        if df > 0.0 && t2.abs() > 0.0 {
            1.0 - t1 / t2
        } else if !t1.is_finite() || !t2.is_finite() {
            f64::NAN
        } else {
            1.0
        }
    };
    let rni = {
        let t2 = x2n - cdn;
        if t2.abs() < 1.5e-8 {
            f64::NAN
        } else {
            1.0 - (x2 - cd) / t2
        }
    };
    let rmsea = if df > 0.0 {
        ((x2 / n) / df - ch / n).max(0.0).sqrt() * g.sqrt()
    } else {
        0.0
    };
    let xs = x2 / ch;
    let (lo, hi) = rmsea_ci(xs, df, n, g, 1.0);
    let lo = lo.map(|v| v * ch.sqrt());
    let hi = hi.map(|v| v * ch.sqrt());
    let pclose = (df > 0.0).then(|| 1.0 - pnchisq(xs, df, n * df / ch * 0.05 * 0.05 / g));
    let pnot = (df > 0.0).then(|| pnchisq(xs, df, n * df / ch * 0.08 * 0.08 / g));
    (
        fin(cfi),
        fin(tli),
        fin(rni),
        fin(rmsea),
        lo.and_then(fin),
        hi.and_then(fin),
        pclose.and_then(fin),
        pnot.and_then(fin),
    )
}

/// GFI with lavaan's weight under missing = "ml" (see the module docs).
fn gfi(model: &Model, x: &[f64], data: &[GroupData], f: &FimlData) -> Option<f64> {
    let ram = &model.ram;
    let p = ram.p();
    let xi: Vec<usize> = model.pt.names.ov_x.iter().filter_map(|v| ram.index(v)).collect();
    let ntot = f.ntotal() as f64;
    let mut out = 0.0;
    for (g, d) in data.iter().enumerate() {
        let e = eval_group(ram, g, x, d)?;
        let (sig, mu) = (&e.implied.sigma, &e.implied.mu);
        let zero_x = |mut r: DMatrix<f64>, mut m: DVector<f64>| {
            for &a in &xi {
                m[a] = 0.0;
                for &b in &xi {
                    r[(a, b)] = 0.0;
                }
            }
            (r, m)
        };
        let (pm, pc) = f.patterns[g].pairwise();
        let (r1, m1) = zero_x(&pc - sig, &pm - mu);
        let (r2, m2) = zero_x(pc, pm);
        let (mut t1, mut t2) = (0.0, 0.0);
        for pat in &f.patterns[g].patterns {
            let o = &pat.obs;
            let (k, _) = spd_inverse(&sub(sig, o))?;
            let np = pat.freq as f64;
            let t = |r: &DMatrix<f64>, m: &DVector<f64>| {
                let ro = sub(r, o);
                let mo = DVector::from_iterator(o.len(), o.iter().map(|&i| m[i]));
                let kr = &k * ro;
                mo.dot(&(&k * &mo)) + 0.5 * (&kr * &kr).trace()
            };
            t1 += np * t(&r1, &m1);
            t2 += np * t(&r2, &m2);
        }
        out += d.n as f64 / ntot * (1.0 - t1 / t2);
    }
    let _ = p;
    out.is_finite().then_some(out)
}

/// SRMR as Mplus defines it (lavaan's srmr_mplus), with and without the means.
fn srmr_mplus(model: &Model, x: &[f64], data: &[GroupData]) -> Option<(f64, f64)> {
    let ram = &model.ram;
    let p = ram.p();
    let ntot: f64 = data.iter().map(|d| d.n as f64).sum();
    let (mut with_means, mut nomean) = (0.0, 0.0);
    for (g, d) in data.iter().enumerate() {
        let e = eval_group(ram, g, x, d)?;
        let (s, sig, mu) = (&d.cov, &e.implied.sigma, &e.implied.mu);
        let mut cor = 0.0;
        for i in 0..p {
            for j in 0..i {
                let r = s[(i, j)] / (s[(i, i)] * s[(j, j)]).sqrt() - sig[(i, j)] / (sig[(i, i)] * sig[(j, j)]).sqrt();
                cor += r * r;
            }
        }
        let var: f64 = (0..p).map(|i| ((s[(i, i)] - sig[(i, i)]) / s[(i, i)]).powi(2)).sum();
        let mean: f64 = (0..p)
            .map(|i| (d.mean[i] / s[(i, i)].sqrt() - mu[i] / sig[(i, i)].sqrt()).powi(2))
            .sum();
        let pf = p as f64;
        let w = d.n as f64 / ntot;
        with_means += w * ((cor + mean + var) / (pf * (pf + 1.0) / 2.0 + pf)).sqrt();
        nomean += w * ((cor + var) / (pf * (pf + 1.0) / 2.0)).sqrt();
    }
    Some((with_means, nomean))
}
