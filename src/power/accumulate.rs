//! Streaming summaries of the replications of one condition (one N): counts
//! and exact sums (`exact::ExactSum`), so that memory does not grow with the
//! number of replications and the summary is the same number whatever the
//! order in which replications are added (threads) or merged (shards).
//!
//! Per parameter, over the converged replications: with theta the
//! population value and d = est - theta (a shift by the population value
//! keeps the sum of squares free of cancellation),
//!
//!   mean_est = theta + Σd/n,   bias = Σd/n,   rel_bias = bias / theta (null when theta = 0)
//!   sd_est   = sqrt( (Σd² - (Σd)²/n) / (n - 1) )
//!   mean_se  = Σse / n_se
//!   coverage = #{ci_lower <= theta <= ci_upper} / n_ci   (the --ci-level interval, 95% by default)
//!   power    = #{p < alpha} / n_p                        (rejection rate of est = 0)
//!
//! Per hypothesis: power = #supported / converged with its Monte-Carlo
//! standard error sqrt(power (1 - power) / converged).

use super::exact::ExactSum;
use serde::{Deserialize, Serialize};

/// Sums for one parameter.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamAcc {
    pub n_est: u64,
    pub sum_d: ExactSum,
    pub sum_d2: ExactSum,
    pub n_se: u64,
    pub sum_se: ExactSum,
    pub n_ci: u64,
    pub covered: u64,
    pub n_p: u64,
    pub rejected: u64,
}

impl ParamAcc {
    pub fn merge(&mut self, o: &ParamAcc) {
        self.n_est += o.n_est;
        self.sum_d.merge(&o.sum_d);
        self.sum_d2.merge(&o.sum_d2);
        self.n_se += o.n_se;
        self.sum_se.merge(&o.sum_se);
        self.n_ci += o.n_ci;
        self.covered += o.covered;
        self.n_p += o.n_p;
        self.rejected += o.rejected;
    }
}

/// The first failure of a kind: the lowest replication number wins, so the
/// message does not depend on the order replications finish in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FirstFailure {
    pub replication: u64,
    pub message: String,
}

/// Everything kept about the replications of one condition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConditionAcc {
    /// replications run
    pub reps: u64,
    /// converged with standard errors
    pub converged: u64,
    /// converged, but with a negative variance or a correlation beyond ±1
    pub not_admissible: u64,
    pub not_converged: u64,
    /// standard errors could not be computed (singular information matrix)
    pub not_identified: u64,
    /// the replication's data could not be used (e.g. an ordinal variable with one category)
    pub failed: u64,
    pub first_failure: Option<FirstFailure>,
    /// converged replications with a chi-square p-value, and those below alpha
    pub chisq_n: u64,
    pub chisq_rejected: u64,
    /// per hypothesis (study order): replications in which it is supported
    pub supported: Vec<u64>,
    /// per parameter (study order)
    pub params: Vec<ParamAcc>,
}

impl ConditionAcc {
    pub fn new(nhyp: usize, npar: usize) -> ConditionAcc {
        ConditionAcc {
            supported: vec![0; nhyp],
            params: vec![ParamAcc::default(); npar],
            ..Default::default()
        }
    }

    pub fn fail(&mut self, replication: u64, message: String) {
        self.failed += 1;
        self.note_failure(replication, message);
    }

    pub fn note_failure(&mut self, replication: u64, message: String) {
        if self.first_failure.as_ref().is_none_or(|f| replication < f.replication) {
            self.first_failure = Some(FirstFailure { replication, message });
        }
    }

    pub fn merge(&mut self, o: &ConditionAcc) {
        self.reps += o.reps;
        self.converged += o.converged;
        self.not_admissible += o.not_admissible;
        self.not_converged += o.not_converged;
        self.not_identified += o.not_identified;
        self.failed += o.failed;
        if let Some(f) = &o.first_failure {
            self.note_failure(f.replication, f.message.clone());
        }
        self.chisq_n += o.chisq_n;
        self.chisq_rejected += o.chisq_rejected;
        for (a, b) in self.supported.iter_mut().zip(&o.supported) {
            *a += b;
        }
        for (a, b) in self.params.iter_mut().zip(&o.params) {
            a.merge(b);
        }
    }
}

/// The finished numbers of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamNumbers {
    pub mean_est: Option<f64>,
    pub bias: Option<f64>,
    pub rel_bias: Option<f64>,
    pub sd_est: Option<f64>,
    pub mean_se: Option<f64>,
    pub coverage: Option<f64>,
    pub power: Option<f64>,
}

fn ratio(a: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| a as f64 / n as f64)
}

/// The summary of one parameter with population value `theta`.
pub fn finish_param(a: &ParamAcc, theta: Option<f64>) -> ParamNumbers {
    let n = a.n_est as f64;
    let (bias, sd) = match theta {
        Some(_) if a.n_est > 0 => {
            let s1 = a.sum_d.value();
            let s2 = a.sum_d2.value();
            let sd = (a.n_est > 1).then(|| ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0).sqrt());
            (Some(s1 / n), sd)
        }
        _ => (None, None),
    };
    let mean_est = match (theta, bias) {
        (Some(t), Some(b)) => Some(t + b),
        _ => None,
    };
    ParamNumbers {
        mean_est,
        bias,
        rel_bias: match (theta, bias) {
            (Some(t), Some(b)) if t != 0.0 => Some(b / t),
            _ => None,
        },
        sd_est: sd,
        mean_se: (a.n_se > 0).then(|| a.sum_se.value() / a.n_se as f64),
        coverage: theta.and_then(|_| ratio(a.covered, a.n_ci)),
        power: ratio(a.rejected, a.n_p),
    }
}

/// Power and its Monte-Carlo standard error from `k` successes in `n`.
pub fn proportion(k: u64, n: u64) -> (Option<f64>, Option<f64>) {
    match ratio(k, n) {
        Some(p) => (Some(p), Some((p * (1.0 - p) / n as f64).sqrt())),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let mut a = ParamAcc::default();
        let theta = 0.5;
        for est in [0.4, 0.5, 0.9] {
            let d: f64 = est - theta;
            a.n_est += 1;
            a.sum_d.add(d);
            a.sum_d2.add(d * d);
        }
        let s = finish_param(&a, Some(theta));
        assert!((s.mean_est.unwrap() - 0.6).abs() < 1e-15);
        assert!((s.bias.unwrap() - 0.1).abs() < 1e-15);
        assert!((s.rel_bias.unwrap() - 0.2).abs() < 1e-15);
        // sd of 0.4, 0.5, 0.9 = sqrt(0.07)
        assert!((s.sd_est.unwrap() - 0.07f64.sqrt()).abs() < 1e-15);
        assert_eq!(finish_param(&a, Some(0.0)).rel_bias, None);
        assert_eq!(proportion(0, 0), (None, None));
        let (p, se) = proportion(80, 100);
        assert_eq!(p, Some(0.8));
        assert!((se.unwrap() - 0.04).abs() < 1e-15);
    }

    #[test]
    fn first_failure_is_the_lowest_replication() {
        let mut a = ConditionAcc::new(0, 0);
        let mut b = ConditionAcc::new(0, 0);
        a.fail(7, "seven".into());
        b.fail(3, "three".into());
        a.merge(&b);
        assert_eq!(a.first_failure.unwrap().message, "three");
        assert_eq!(a.failed, 2);
    }
}
