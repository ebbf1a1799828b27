//! The report of `sem batch`: one model fitted to many data sets. It holds
//! the model's hypotheses (the columns every data set is read against), and
//! per data set, in path order, a summary of its fit report (N, every fit
//! measure, the hypotheses exactly as `sem fit` reports them) or the reason
//! it failed, plus the CI gates it did not meet. This type is the JSON of
//! `sem batch --format json`; `batch_table`, `batch_csv` and
//! `batch_markdown` render the same value.

use super::{HypothesisOut, HypothesisSpec};
use crate::gates::GateFailure;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything `sem batch` reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BatchReport {
    pub model_file: String,
    pub alpha: f64,
    /// the model's hypotheses, in parameter-table order
    pub hypotheses: Vec<HypothesisSpec>,
    /// one entry per data set, sorted by path
    pub datasets: Vec<DatasetOut>,
    /// warnings about the model itself (shown once, not per data set)
    pub warnings: Vec<String>,
    /// the exit code of the whole run (see `exit_code`)
    pub exit_code: u8,
    pub sem_version: String,
}

/// What happened to one data set.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// fitted, converged, standard errors computed
    Ok,
    /// fitted, but the optimizer did not converge
    NotConverged,
    /// not identified (too many parameters, singular information matrix, no scale)
    NotIdentified,
    /// bad input: unreadable file, missing column, non-numeric cell, ...
    Error,
}

impl Status {
    /// The contract's exit code for this data set alone.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::NotConverged | Status::NotIdentified => 1,
            Status::Error => 2,
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotConverged => "did not converge",
            Status::NotIdentified => "not identified",
            Status::Error => "bad input",
        }
    }
}

/// One data set's result: a summary of its `sem fit` report, or why it failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetOut {
    /// the path as given (after glob expansion)
    pub dataset: String,
    pub status: Status,
    /// why the data set is not `ok`; `null` when it is
    pub error: Option<String>,
    /// `null` when the data set could not be fitted at all
    pub converged: Option<bool>,
    pub nobs: Option<Value>,
    pub rows_read: Option<usize>,
    pub rows_dropped: Option<usize>,
    pub iterations: Option<u64>,
    /// lavaan's `fitMeasures()` as in `sem fit`'s `fit` map (empty when not fitted)
    pub fit: Map<String, Value>,
    /// exactly `sem fit`'s `hypotheses` for this data set (empty when not fitted)
    pub hypotheses: Vec<HypothesisOut>,
    /// warnings of this data set's fit that are not warnings about the model
    pub warnings: Vec<String>,
    /// the `--require` / `--require-supported` criteria this data set did not meet
    pub gate_failures: Vec<GateFailure>,
    /// with --validity (or a validity gate): `sem fit`'s validity table for this data set
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<crate::inference::validity::Validity>,
    /// with --effects: `sem fit`'s effects for this data set
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effects: Option<Vec<crate::inference::effects::Effect>>,
    /// with --validity or --effects in a multiple-group fit: the group names (as `sem fit`'s `groups`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// with --effects: the kind of standard errors and the interval level (as `sem fit`'s
    /// `se_type` and `ci_level`), which the text and markdown effects tables name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_level: Option<f64>,
}

impl DatasetOut {
    pub fn fit_value(&self, key: &str) -> Option<f64> {
        self.fit.get(key).and_then(|v| v.as_f64())
    }

    /// Why the data set is not `ok`, without the `error: ` and file-name
    /// prefixes a renderer that names the data set anyway does not need.
    pub fn reason(&self) -> String {
        let e = self.error.as_deref().unwrap_or("");
        let e = e.strip_prefix("error: ").unwrap_or(e);
        let e = e
            .strip_prefix(self.dataset.as_str())
            .and_then(|r| r.strip_prefix(": "))
            .unwrap_or(e);
        e.to_string()
    }

    pub fn hypothesis(&self, name: &str) -> Option<&HypothesisOut> {
        self.hypotheses.iter().find(|h| h.name == name)
    }
}

impl BatchReport {
    /// Every warning, the batch's first, then each fitted data set's with its
    /// column number and path: (Some((column, dataset)), text) or (None, text).
    pub fn warning_lines(&self) -> Vec<(Option<(usize, &str)>, &str)> {
        let mut out: Vec<(Option<(usize, &str)>, &str)> = self.warnings.iter().map(|w| (None, w.as_str())).collect();
        for (i, d) in self.datasets.iter().enumerate().filter(|(_, d)| d.status == Status::Ok) {
            out.extend(d.warnings.iter().map(|w| (Some((i + 1, d.dataset.as_str())), w.as_str())));
        }
        out
    }

    /// 2 if any data set had bad input, else 1 if any did not converge or is
    /// not identified, else 3 if any failed a CI gate, else 0.
    pub fn compute_exit_code(datasets: &[DatasetOut]) -> u8 {
        let worst = |s: Status| datasets.iter().any(|d| d.status == s);
        if worst(Status::Error) {
            2
        } else if worst(Status::NotConverged) || worst(Status::NotIdentified) {
            1
        } else if datasets.iter().any(|d| !d.gate_failures.is_empty()) {
            3
        } else {
            0
        }
    }

    /// How many data sets were fitted and converged.
    pub fn n_ok(&self) -> usize {
        self.datasets.iter().filter(|d| d.status == Status::Ok).count()
    }
}
