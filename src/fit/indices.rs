//! The fit indices that are functions of test statistics alone, with
//! lavaan's edge-case rules (`lav_fit_cfi`, `lav_fit_tli`, `lav_fit_rmsea`,
//! `lav_fit_rmsea_ci`, ...). `c` and `c0` are the scaling factors of the
//! model and the baseline: 1 for the standard indices; the robust indices of
//! Brosseau-Liard & Savalei use the unscaled statistics with the factors.

use super::distributions::{brent, pchisq, pnchisq};

fn close0(v: f64) -> bool {
    v.abs() <= 1.5e-8
}

/// (c, c0) only when both differ from 1, as lavaan.
fn factors(df: f64, c: f64, c0: f64) -> (f64, f64) {
    if df > 0.0 && c != 1.0 && c0 != 1.0 {
        (c, c0)
    } else {
        (1.0, 1.0)
    }
}

pub fn cfi(x2: f64, df: f64, x2n: f64, dfn: f64, c: f64, c0: f64) -> Option<f64> {
    if [x2, df, x2n, dfn, c, c0].iter().any(|v| v.is_nan()) {
        return None;
    }
    let (c, c0) = factors(df, c, c0);
    let t1 = (x2 - c * df).max(0.0);
    let t2 = (x2 - c * df).max(x2n - c0 * dfn).max(0.0);
    Some(if close0(t1) && close0(t2) { 1.0 } else { 1.0 - t1 / t2 })
}

pub fn tli(x2: f64, df: f64, x2n: f64, dfn: f64, c: f64, c0: f64) -> Option<f64> {
    if [x2, df, x2n, dfn, c, c0].iter().any(|v| v.is_nan()) {
        return None;
    }
    let (c, c0) = factors(df, c, c0);
    let t1 = (x2 - c * df) * dfn;
    let t2 = (x2n - c0 * dfn) * df;
    if df > 0.0 && t2.abs() > 0.0 {
        Some(1.0 - t1 / t2)
    } else if !t1.is_finite() || !t2.is_finite() {
        None
    } else {
        Some(1.0)
    }
}

pub fn rni(x2: f64, df: f64, x2n: f64, dfn: f64, c: f64, c0: f64) -> Option<f64> {
    let (c, c0) = factors(df, c, c0);
    let t2 = x2n - c0 * dfn;
    (!close0(t2) && !t2.is_nan()).then(|| 1.0 - (x2 - c * df) / t2)
}

pub fn nfi(x2: f64, df: f64, x2n: f64, dfn: f64) -> Option<f64> {
    if df > dfn || close0(x2n) || x2n.is_nan() {
        None
    } else if df > 0.0 {
        Some((x2n - x2) / x2n)
    } else {
        Some(1.0)
    }
}

pub fn pnfi(x2: f64, df: f64, x2n: f64, dfn: f64) -> Option<f64> {
    (dfn > 0.0 && x2n > 0.0).then(|| df / dfn * (x2n - x2) / x2n)
}

pub fn rfi(x2: f64, df: f64, x2n: f64, dfn: f64) -> Option<f64> {
    if df > dfn || x2n.is_nan() {
        None
    } else if df > 0.0 && dfn > 0.0 {
        let t1 = x2n / dfn - x2 / df;
        let t2 = x2n / dfn;
        Some(if t1 < 0.0 || t2 < 0.0 { 1.0 } else { t1 / t2 })
    } else {
        Some(1.0)
    }
}

pub fn ifi(x2: f64, df: f64, x2n: f64) -> Option<f64> {
    let t1 = x2n - x2;
    let t2 = x2n - df;
    if t2 < 0.0 {
        Some(1.0)
    } else if close0(t2) || t2.is_nan() {
        None
    } else {
        Some(t1 / t2)
    }
}

/// RMSEA: sqrt(max(X2/N/df - c/N, 0)) sqrt(G); 0 when df = 0.
pub fn rmsea(x2: f64, df: f64, n: f64, g: f64, c: f64) -> Option<f64> {
    if x2.is_nan() {
        return None;
    }
    Some(if df > 0.0 {
        ((x2 / n) / df - c / n).max(0.0).sqrt() * g.sqrt()
    } else {
        0.0
    })
}

/// The 90% interval: solve pnchisq(X2, df, lambda) = 0.95 / 0.05.
pub fn rmsea_ci(x2: f64, df: f64, n: f64, g: f64, c: f64) -> (Option<f64>, Option<f64>) {
    if x2.is_nan() {
        return (None, None);
    }
    if df < 1.0 {
        return (Some(0.0), Some(0.0));
    }
    let to_rmsea = |l: f64| (c * l / (n * df)).sqrt() * g.sqrt();
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

/// P(RMSEA <= h0), and P(RMSEA >= h0) for `notclose`.
pub fn rmsea_pvalue(x2: f64, df: f64, n: f64, g: f64, c: f64, h0: f64, notclose: bool) -> Option<f64> {
    if df <= 0.0 || x2.is_nan() {
        return None;
    }
    let ncp = n * df / c * h0 * h0 / g;
    let p = pnchisq(x2, df, ncp);
    Some(if notclose { p } else { 1.0 - p })
}

/// lavaan's scaled and robust measures, from the unscaled statistics of the
/// model and the baseline and their scaling factors.
#[allow(clippy::too_many_arguments)]
///
/// A saturated model (df = 0) has no scaling factor (`c` is NaN): as in
/// lavaan its "scaled" statistic is the unscaled one, the scaled indices
/// follow from it (CFI and TLI 1), the robust CFI/TLI/RNI and the scaled
/// RMSEA do not exist, and the robust RMSEA is 0.
pub fn scaled(x2: f64, df: f64, c: f64, x2n: f64, dfn: f64, c0: f64, n: f64, g: f64) -> Vec<(&'static str, Option<f64>)> {
    let xs = if df == 0.0 { x2 } else { x2 / c };
    let xns = x2n / c0;
    // lavaan's scaled RMSEA family: the unscaled statistic on df2 = c df
    let df2 = c * df;
    let scaled_rmsea = !df2.is_nan();
    let (lo_s, hi_s) = if scaled_rmsea { rmsea_ci(x2, df2, n, g, 1.0) } else { (None, None) };
    let (lo_r, hi_r) = rmsea_ci(xs, df, n, g, c);
    let fin = |v: f64| v.is_finite().then_some(v);
    vec![
        ("chisq_scaled", fin(xs)),
        ("df_scaled", Some(df)),
        ("pvalue_scaled", (df > 0.0 && xs.is_finite()).then(|| 1.0 - pchisq(xs, df))),
        ("chisq_scaling_factor", fin(c)),
        ("baseline_chisq_scaled", fin(xns)),
        ("baseline_df_scaled", Some(dfn)),
        (
            "baseline_pvalue_scaled",
            (dfn > 0.0 && xns.is_finite()).then(|| 1.0 - pchisq(xns, dfn)),
        ),
        ("baseline_chisq_scaling_factor", fin(c0)),
        ("cfi_scaled", cfi(xs, df, xns, dfn, 1.0, 1.0)),
        ("tli_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
        ("cfi_robust", cfi(x2, df, x2n, dfn, c, c0)),
        ("tli_robust", tli(x2, df, x2n, dfn, c, c0)),
        ("nnfi_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
        ("rfi_scaled", rfi(xs, df, xns, dfn)),
        ("nfi_scaled", nfi(xs, df, xns, dfn)),
        ("pnfi_scaled", pnfi(xs, df, xns, dfn)),
        ("ifi_scaled", ifi(xs, df, xns)),
        ("rni_scaled", rni(xs, df, xns, dfn, 1.0, 1.0)),
        ("nnfi_robust", tli(x2, df, x2n, dfn, c, c0)),
        ("rni_robust", rni(x2, df, x2n, dfn, c, c0).filter(|_| !c.is_nan())),
        ("rmsea_scaled", rmsea(x2, df2, n, g, 1.0).filter(|_| scaled_rmsea)),
        ("rmsea_ci_lower_scaled", lo_s),
        ("rmsea_ci_upper_scaled", hi_s),
        ("rmsea_pvalue_scaled", rmsea_pvalue(x2, df2, n, g, 1.0, 0.05, false)),
        ("rmsea_notclose_pvalue_scaled", rmsea_pvalue(x2, df2, n, g, 1.0, 0.08, true)),
        ("rmsea_robust", rmsea(x2, df, n, g, c)),
        ("rmsea_ci_lower_robust", lo_r),
        ("rmsea_ci_upper_robust", hi_r),
        ("rmsea_pvalue_robust", rmsea_pvalue(xs, df, n, g, c, 0.05, false)),
        ("rmsea_notclose_pvalue_robust", rmsea_pvalue(xs, df, n, g, c, 0.08, true)),
    ]
}
