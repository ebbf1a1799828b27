//! `sem batch`: one model, many data sets. The model is read and checked
//! once (a bad model file or an unknown `--require-supported` name stops the
//! run before any data are read); then every data set goes through
//! `pipeline::fit`, the very function behind `sem fit`, on a rayon pool, so
//! each data set gets exactly `sem fit`'s numbers. A data set that fails is
//! recorded with its reason and the others go on. Results come back in path
//! order whatever the number of threads. Progress is reported through a
//! callback, so this module never touches the terminal.

use crate::gates::Gates;
use crate::pipeline::{self, FitOptions, SemError};
use crate::report::batch::{BatchReport, DatasetOut, Status};
use crate::report::FitReport;
use rayon::prelude::*;
use serde_json::Map;
use std::path::{Component, Path, PathBuf};

/// Expand paths and glob patterns (`data/bradford_*.csv`) into a sorted,
/// deduplicated list of data files. A pattern that matches no file is an
/// error that names it; a plain path is kept as given, so that a missing
/// file is reported as that data set's failure.
pub fn expand(patterns: &[String]) -> Result<Vec<PathBuf>, SemError> {
    let mut out = Vec::new();
    for p in patterns {
        let is_pattern = p.contains(['*', '?', '[']) && !Path::new(p).exists();
        if !is_pattern {
            out.push(normalize(Path::new(p)));
            continue;
        }
        let entries = glob::glob(p).map_err(|e| SemError::Input(format!("cannot read the glob pattern `{p}`: {e}")))?;
        let before = out.len();
        for entry in entries {
            let path = entry.map_err(|e| SemError::Input(format!("while expanding `{p}`: {e}")))?;
            if !path.is_dir() {
                out.push(normalize(&path));
            }
        }
        if out.len() == before {
            return Err(SemError::Input(format!(
                "no data file matches `{p}`; check the pattern (quote it so that sem, not the shell, expands it)"
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `./data/a.csv` and `data//a.csv` are `data/a.csv`.
fn normalize(p: &Path) -> PathBuf {
    let n: PathBuf = p.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    if n.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        n
    }
}

/// Fit `model` to every data set on `jobs` threads (all cores when `None`),
/// calling `on_done` after each data set.
pub fn run(
    model: &Path,
    data: &[PathBuf],
    opt: &FitOptions,
    gates: &Gates,
    jobs: Option<usize>,
    on_done: &(dyn Fn(&Path) + Sync),
) -> Result<BatchReport, SemError> {
    // the model alone (ordinal categories come from each data set)
    let model_only = FitOptions {
        ordered: None,
        ..opt.clone()
    };
    let checked = pipeline::check(model, None, &model_only)?;
    let names: Vec<String> = checked.hypotheses.iter().map(|h| h.name.clone()).collect();
    gates.check_names(&names).map_err(SemError::Input)?;
    let model_warnings = checked.warnings;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| SemError::Input(format!("cannot start {} worker threads: {e}", jobs.unwrap_or(0))))?;
    let datasets: Vec<DatasetOut> = pool.install(|| {
        data.par_iter()
            .map(|d| {
                let out = summarize(d, pipeline::fit(model, d, opt), gates, &model_warnings);
                on_done(d);
                out
            })
            .collect()
    });
    Ok(BatchReport {
        model_file: model.display().to_string(),
        alpha: opt.alpha,
        hypotheses: checked.hypotheses,
        exit_code: BatchReport::compute_exit_code(&datasets),
        datasets,
        warnings: model_warnings,
        sem_version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// One data set's entry, from its `sem fit` result.
pub fn summarize(path: &Path, result: Result<FitReport, SemError>, gates: &Gates, model_warnings: &[String]) -> DatasetOut {
    let dataset = path.display().to_string();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            let status = match e {
                SemError::Input(_) => Status::Error,
                SemError::Model(_) => Status::NotIdentified,
            };
            return DatasetOut {
                dataset,
                status,
                error: Some(e.to_string().trim_end().to_string()),
                converged: None,
                nobs: None,
                rows_read: None,
                rows_dropped: None,
                iterations: None,
                fit: Map::new(),
                hypotheses: Vec::new(),
                warnings: Vec::new(),
                gate_failures: Vec::new(),
                validity: None,
                effects: None,
            };
        }
    };
    let warnings: Vec<String> = r.warnings.iter().filter(|w| !model_warnings.contains(w)).cloned().collect();
    let (status, key) = if !r.converged {
        (Status::NotConverged, "did not converge")
    } else if r.exit_code() != 0 {
        (Status::NotIdentified, "not identified")
    } else {
        (Status::Ok, "")
    };
    let error = (status != Status::Ok).then(|| {
        warnings
            .iter()
            .find(|w| w.contains(key))
            .cloned()
            .unwrap_or_else(|| status.describe().to_string())
    });
    DatasetOut {
        dataset,
        status,
        error,
        converged: Some(r.converged),
        nobs: Some(r.nobs.clone()),
        rows_read: Some(r.rows_read),
        rows_dropped: Some(r.rows_dropped),
        iterations: Some(r.iterations),
        gate_failures: gates.evaluate(&r),
        fit: r.fit,
        hypotheses: r.hypotheses,
        warnings,
        validity: r.validity,
        effects: r.effects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize(Path::new("./data/a.csv")), PathBuf::from("data/a.csv"));
        assert_eq!(normalize(Path::new("data/./a.csv")), PathBuf::from("data/a.csv"));
        assert_eq!(normalize(Path::new(".")), PathBuf::from("."));
    }
}
