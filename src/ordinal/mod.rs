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

use nalgebra::{DMatrix, DVector};

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
    /// `lavInspect(fit, "sampstat")$th`: per variable in order, the K-1
    /// thresholds of an ordinal variable, or the mean of a continuous one
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
    /// `lavInspect(fit, "wls.obs")`: thresholds/means (`th`), then the
    /// variances of the continuous variables, then the correlations below the
    /// diagonal column by column (lavaan's `vech(cor, diagonal = FALSE)`)
    pub wls_obs: DVector<f64>,
    /// `lavInspect(fit, "gamma")`: the asymptotic covariance of `wls_obs`
    /// times N (lavaan's NACOV)
    pub nacov: DMatrix<f64>,
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
        let p = self.nacov.nrows();
        match kind {
            WeightKind::Uls => Ok(DMatrix::identity(p, p)),
            WeightKind::Dwls => {
                let mut w = DMatrix::zeros(p, p);
                for i in 0..p {
                    let d = self.nacov[(i, i)];
                    if !(d > 0.0 && d.is_finite()) {
                        return Err(format!(
                            "the asymptotic variance of sample statistic {} is {d}; the DWLS weight needs it positive",
                            i + 1
                        ));
                    }
                    w[(i, i)] = 1.0 / d;
                }
                Ok(w)
            }
            WeightKind::Wls => {
                let sym = (&self.nacov + self.nacov.transpose()) * 0.5;
                sym.cholesky().map(|c| c.inverse()).ok_or_else(|| {
                    "the asymptotic covariance matrix of the sample statistics (NACOV) is not positive definite; \
                     the full WLS weight needs its inverse (use DWLS/WLSMV, or more cases)"
                        .to_string()
                })
            }
        }
    }
}
