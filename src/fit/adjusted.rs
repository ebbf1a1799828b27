//! The mean-and-variance adjusted tests of continuous data and the fit
//! measures lavaan 0.6-14 derives from them: MLMV's "scaled.shifted" test
//! and MLMVS's Satterthwaite "mean.var.adjusted" test
//! (`lav_test_satorra_bentler`, `lav_fit_cfi_lavobject`,
//! `lav_fit_rmsea_lavobject`). The ordinal estimators' scaled.shifted test
//! (WLSMV, ULSMV) has the same statistic and lives with its own measures
//! in `super::categorical`.
//!
//! From t1 = tr(U Gamma) and t2 = tr((U Gamma)^2)
//! (`crate::inference::robust::ug_traces`), for the model and the baseline:
//!
//! - scaled.shifted: a = sqrt(df / t2), b = df - a t1,
//!   chisq_scaled = a chisq + b on df; lavaan reports 1/a as
//!   `chisq_scaling_factor` and b as the shift. The scaled CFI/TLI/RMSEA are
//!   the standard formulas on the scaled statistics; the robust ones
//!   (Savalei 2018) use c = (1/a)(df - b)/df = t1/df, the MLM factor, so
//!   robust MLMV equals robust MLM, except that lavaan takes the robust
//!   RMSEA's interval and p-values from the scaled.shifted statistic with
//!   c = 1/a;
//! - mean.var.adjusted: df_scaled = t1^2 / t2 (fractional), c = t1 /
//!   df_scaled, chisq_scaled = chisq / c on df_scaled; the scaled RMSEA is
//!   the unscaled statistic on t1 degrees of freedom. lavaan gives no robust
//!   CFI/TLI/RMSEA for this test: they are null here, with a warning.
//!
//! A model without degrees of freedom has no scaled test: lavaan's statistic
//! is then the unscaled one, with no scaling factor (null).

use super::distributions::pchisq;
use super::indices::{cfi, ifi, nfi, pnfi, rfi, rmsea, rmsea_ci, rmsea_pvalue, rni, tli};
use super::Measures;
use crate::estimator::Scaling;

/// The scaling of the model's and the baseline's test from their traces
/// (NaN where a trace is missing): for scaled.shifted (`shifted`) the
/// factor 1/a and the shift b; for mean.var.adjusted the factor t1 / df_s
/// (the shift 0).
pub fn scaling(t: Option<(f64, f64)>, t0: Option<(f64, f64)>, df: f64, dfn: f64, shifted: bool, warnings: &mut Vec<String>) -> Scaling {
    let one = |t: Option<(f64, f64)>, df: f64| -> (f64, f64) {
        let Some((t1, t2)) = t.filter(|(t1, t2)| t1.is_finite() && t2.is_finite() && *t2 > 0.0 && df > 0.0) else {
            return (f64::NAN, f64::NAN);
        };
        if shifted {
            let a = (df / t2).sqrt();
            (1.0 / a, df - a * t1)
        } else {
            let df_s = t1 * t1 / t2;
            (t1 / df_s, 0.0)
        }
    };
    let (c, b) = one(t, df);
    let (c0, b0) = one(t0, dfn);
    if c.is_nan() && df > 0.0 {
        warnings.push("the scaled test statistic could not be computed".into());
    }
    Scaling {
        model: c,
        baseline: c0,
        shift: b,
        baseline_shift: b0,
    }
}

fn get(measures: &Measures, k: &str) -> f64 {
    measures.iter().find(|(n, _)| *n == k).and_then(|(_, v)| *v).unwrap_or(f64::NAN)
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn pvalue(x: f64, df: f64) -> Option<f64> {
    (df > 0.0 && x.is_finite()).then(|| 1.0 - pchisq(x, df))
}

/// MLMV's scaled and robust measures, appended to the standard ones.
pub fn scaled_shifted_measures(measures: &Measures, s: Scaling, ngroups: usize) -> Measures {
    let (x2, df, x2n, dfn, n) = (
        get(measures, "chisq"),
        get(measures, "df"),
        get(measures, "baseline_chisq"),
        get(measures, "baseline_df"),
        get(measures, "ntotal"),
    );
    let g = ngroups as f64;
    // df = 0: the "scaled" statistic is the unscaled one (lavaan)
    let xs = if df == 0.0 { x2 } else { x2 / s.model + s.shift };
    let xns = x2n / s.baseline + s.baseline_shift;
    // the robust indices' factor: (1/a)(df - b)/df = tr(U Gamma)/df; with
    // df = 0 lavaan's test has no shift and its robust CFI/TLI/RNI fall
    // back to the standard formulas (1), the robust RMSEA to 0
    let (c_hat, c_hat0) = if df == 0.0 {
        (1.0, 1.0)
    } else {
        (s.model * (df - s.shift) / df, s.baseline * (dfn - s.baseline_shift) / dfn)
    };
    let (lo_s, hi_s) = rmsea_ci(xs, df, n, g, 1.0);
    let robust_ok = c_hat.is_finite() && c_hat0.is_finite();
    let (lo_r, hi_r) = if s.model.is_finite() || df == 0.0 {
        rmsea_ci(xs, df, n, g, s.model)
    } else {
        (None, None)
    };
    let robust = |v: Option<f64>| v.filter(|_| robust_ok);
    vec![
        ("chisq_scaled", fin(xs)),
        ("df_scaled", Some(df)),
        ("pvalue_scaled", pvalue(xs, df)),
        ("chisq_scaling_factor", fin(s.model)),
        ("chisq_shift_parameters", fin(s.shift)),
        ("baseline_chisq_scaled", fin(xns)),
        ("baseline_df_scaled", Some(dfn)),
        ("baseline_pvalue_scaled", pvalue(xns, dfn)),
        ("baseline_chisq_scaling_factor", fin(s.baseline)),
        ("baseline_chisq_shift_parameters", fin(s.baseline_shift)),
        ("cfi_scaled", cfi(xs, df, xns, dfn, 1.0, 1.0)),
        ("tli_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
        ("cfi_robust", robust(cfi(x2, df, x2n, dfn, c_hat, c_hat0))),
        ("tli_robust", robust(tli(x2, df, x2n, dfn, c_hat, c_hat0))),
        ("nnfi_scaled", tli(xs, df, xns, dfn, 1.0, 1.0)),
        ("rfi_scaled", rfi(xs, df, xns, dfn)),
        ("nfi_scaled", nfi(xs, df, xns, dfn)),
        ("pnfi_scaled", pnfi(xs, df, xns, dfn)),
        ("ifi_scaled", ifi(xs, df, xns)),
        ("rni_scaled", rni(xs, df, xns, dfn, 1.0, 1.0)),
        ("nnfi_robust", robust(tli(x2, df, x2n, dfn, c_hat, c_hat0))),
        ("rni_robust", robust(rni(x2, df, x2n, dfn, c_hat, c_hat0))),
        ("rmsea_scaled", rmsea(xs, df, n, g, 1.0)),
        ("rmsea_ci_lower_scaled", lo_s),
        ("rmsea_ci_upper_scaled", hi_s),
        ("rmsea_pvalue_scaled", rmsea_pvalue(xs, df, n, g, 1.0, 0.05, false)),
        ("rmsea_notclose_pvalue_scaled", rmsea_pvalue(xs, df, n, g, 1.0, 0.08, true)),
        ("rmsea_robust", if c_hat.is_finite() { rmsea(x2, df, n, g, c_hat) } else { None }),
        ("rmsea_ci_lower_robust", lo_r),
        ("rmsea_ci_upper_robust", hi_r),
        (
            "rmsea_pvalue_robust",
            rmsea_pvalue(xs, df, n, g, s.model, 0.05, false).filter(|_| s.model.is_finite()),
        ),
        (
            "rmsea_notclose_pvalue_robust",
            rmsea_pvalue(xs, df, n, g, s.model, 0.08, true).filter(|_| s.model.is_finite()),
        ),
    ]
}

/// Why the robust indices of MLMVS are null.
pub const NO_ROBUST_MVA: &str = "lavaan 0.6-14 gives no robust CFI, TLI or RMSEA for the mean-and-variance adjusted (Satterthwaite) test of --estimator mlmvs: they are null (use --estimator mlmv or mlm for robust indices)";

/// MLMVS's scaled measures from the traces (t1, t2) of the model and the
/// baseline, appended to the standard ones; the robust indices are null.
pub fn mean_var_adjusted_measures(measures: &Measures, t: Option<(f64, f64)>, t0: Option<(f64, f64)>, ngroups: usize) -> Measures {
    let (x2, df, x2n, dfn, n) = (
        get(measures, "chisq"),
        get(measures, "df"),
        get(measures, "baseline_chisq"),
        get(measures, "baseline_df"),
        get(measures, "ntotal"),
    );
    let g = ngroups as f64;
    // (df_scaled, scaling factor, t1): NaN when not computable
    let adj = |t: Option<(f64, f64)>, df: f64| -> (f64, f64, f64) {
        match t.filter(|(t1, t2)| t1.is_finite() && *t2 > 0.0 && df > 0.0) {
            Some((t1, t2)) => {
                let df_s = t1 * t1 / t2;
                (df_s, t1 / df_s, t1)
            }
            None => (f64::NAN, f64::NAN, f64::NAN),
        }
    };
    let (dfs, c, t1) = adj(t, df);
    let (dfns, c0, _) = adj(t0, dfn);
    let (xs, dfs) = if df == 0.0 { (x2, 0.0) } else { (x2 / c, dfs) };
    let xns = x2n / c0;
    // the scaled RMSEA family: the unscaled statistic on t1 degrees of freedom
    let ok = t1.is_finite() && t1 > 0.0;
    let (lo_s, hi_s) = if ok { rmsea_ci(x2, t1, n, g, 1.0) } else { (None, None) };
    let when = |v: Option<f64>| v.filter(|_| ok);
    vec![
        ("chisq_scaled", fin(xs)),
        ("df_scaled", fin(dfs)),
        ("pvalue_scaled", pvalue(xs, dfs)),
        ("chisq_scaling_factor", fin(c)),
        ("baseline_chisq_scaled", fin(xns)),
        ("baseline_df_scaled", fin(dfns)),
        ("baseline_pvalue_scaled", pvalue(xns, dfns)),
        ("baseline_chisq_scaling_factor", fin(c0)),
        ("cfi_scaled", cfi(xs, dfs, xns, dfns, 1.0, 1.0)),
        ("tli_scaled", tli(xs, dfs, xns, dfns, 1.0, 1.0)),
        ("cfi_robust", None),
        ("tli_robust", None),
        ("nnfi_scaled", tli(xs, dfs, xns, dfns, 1.0, 1.0)),
        ("rfi_scaled", rfi(xs, dfs, xns, dfns)),
        ("nfi_scaled", nfi(xs, dfs, xns, dfns)),
        ("pnfi_scaled", pnfi(xs, dfs, xns, dfns)),
        ("ifi_scaled", ifi(xs, dfs, xns)),
        ("rni_scaled", rni(xs, dfs, xns, dfns, 1.0, 1.0)),
        ("nnfi_robust", None),
        ("rni_robust", None),
        ("rmsea_scaled", when(rmsea(x2, t1, n, g, 1.0))),
        ("rmsea_ci_lower_scaled", lo_s),
        ("rmsea_ci_upper_scaled", hi_s),
        ("rmsea_pvalue_scaled", when(rmsea_pvalue(x2, t1, n, g, 1.0, 0.05, false))),
        ("rmsea_notclose_pvalue_scaled", when(rmsea_pvalue(x2, t1, n, g, 1.0, 0.08, true))),
        ("rmsea_robust", None),
        ("rmsea_ci_lower_robust", None),
        ("rmsea_ci_upper_robust", None),
        ("rmsea_pvalue_robust", None),
        ("rmsea_notclose_pvalue_robust", None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_shifted_matches_its_definition() {
        // t1 = 30, t2 = 40 on df = 24: a = sqrt(24/40), b = 24 - a 30
        let s = scaling(Some((30.0, 40.0)), Some((50.0, 400.0)), 24.0, 36.0, true, &mut vec![]);
        let a = (24.0f64 / 40.0).sqrt();
        assert!((s.model - 1.0 / a).abs() < 1e-12);
        assert!((s.shift - (24.0 - a * 30.0)).abs() < 1e-12);
        // the robust factor is the Satorra-Bentler one, t1 / df
        assert!((s.model * (24.0 - s.shift) / 24.0 - 30.0 / 24.0).abs() < 1e-12);
    }

    #[test]
    fn mean_var_adjusted_has_fractional_df() {
        let s = scaling(Some((30.0, 40.0)), None, 24.0, 36.0, false, &mut vec![]);
        // df_s = 900/40 = 22.5, c = 30 / 22.5
        assert!((s.model - 30.0 / 22.5).abs() < 1e-12);
        assert!(s.baseline.is_nan());
        let m: Measures = vec![
            ("chisq", Some(60.0)),
            ("df", Some(24.0)),
            ("baseline_chisq", Some(500.0)),
            ("baseline_df", Some(36.0)),
            ("ntotal", Some(300.0)),
        ];
        let out = mean_var_adjusted_measures(&m, Some((30.0, 40.0)), Some((50.0, 400.0)), 1);
        let v = |k: &str| out.iter().find(|(n, _)| *n == k).unwrap().1;
        assert!((v("df_scaled").unwrap() - 22.5).abs() < 1e-12);
        assert!((v("chisq_scaled").unwrap() - 60.0 / (30.0 / 22.5)).abs() < 1e-9);
        assert_eq!(v("cfi_robust"), None);
    }

    #[test]
    fn saturated_mlmv_has_lavaans_robust_values() {
        // lavaan 0.6-14, MLMV, `f =~ x1 + x2 + x3` on Holzinger-Swineford:
        // cfi.robust = tli.robust = rni.robust = 1, rmsea.robust = 0 and its
        // interval (0, 0), robust p-values NA, scaling factor NA
        let m: Measures = vec![
            ("chisq", Some(0.0)),
            ("df", Some(0.0)),
            ("baseline_chisq", Some(100.0)),
            ("baseline_df", Some(3.0)),
            ("ntotal", Some(301.0)),
        ];
        let s = scaling(Some((0.0, 0.0)), Some((4.0, 6.0)), 0.0, 3.0, true, &mut vec![]);
        let out = scaled_shifted_measures(&m, s, 1);
        let v = |k: &str| out.iter().find(|(n, _)| *n == k).unwrap().1;
        for k in ["cfi_robust", "tli_robust", "rni_robust", "nnfi_robust"] {
            assert_eq!(v(k), Some(1.0), "{k}");
        }
        for k in ["rmsea_robust", "rmsea_ci_lower_robust", "rmsea_ci_upper_robust", "chisq_scaled"] {
            assert_eq!(v(k), Some(0.0), "{k}");
        }
        for k in ["rmsea_pvalue_robust", "chisq_scaling_factor", "pvalue_scaled"] {
            assert_eq!(v(k), None, "{k}");
        }
    }

    #[test]
    fn no_degrees_of_freedom_no_scaling() {
        let mut w = vec![];
        let s = scaling(Some((0.0, 0.0)), Some((50.0, 400.0)), 0.0, 36.0, true, &mut w);
        assert!(s.model.is_nan());
        assert!(w.is_empty(), "a saturated model is not a failure: {w:?}");
    }
}
