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
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Expand paths and glob patterns (`data/bradford_*.csv`) into a sorted,
/// deduplicated list of data files. A pattern that matches no file is an
/// error that names it; a plain path is kept as given, so that a missing
/// file is reported as that data set's failure. Paths are OS strings
/// throughout: a file name that is not UTF-8 (`b\xe9.csv`) is matched and
/// kept like any other (see `glob_os`), never skipped.
pub fn expand(patterns: &[OsString]) -> Result<Vec<PathBuf>, SemError> {
    let mut out = Vec::new();
    for p in patterns {
        let shown = p.to_string_lossy();
        let is_pattern = shown.contains(['*', '?', '[']) && !Path::new(p).exists();
        if !is_pattern {
            out.push(normalize(Path::new(p)));
            continue;
        }
        let before = out.len();
        for path in glob_os(Path::new(p)).map_err(|e| SemError::Input(format!("cannot read the glob pattern `{shown}`: {e}")))? {
            if !path.is_dir() {
                out.push(normalize(&path));
            }
        }
        if out.len() == before {
            return Err(SemError::Input(format!(
                "no data file matches `{shown}`; check the pattern (quote it so that sem, not the shell, expands it)"
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The existing paths a glob pattern matches, one path component at a
/// time: a component with `*`, `?` or `[...]` is matched (with the `glob`
/// crate's rules) against the entries of each directory reached so far,
/// `**` stands for any number of directories, any other component is taken
/// literally. Entry names are matched as text with invalid bytes replaced,
/// but kept as the OS gave them, so the `glob` crate's silent skipping of
/// names that are not UTF-8 cannot happen here.
fn glob_os(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let opts = glob::MatchOptions::new();
    // (path so far, whether it is written as given: "." is left out of results)
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    let dir_of = |p: &Path| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    };
    let entries = |p: &Path| -> Vec<(PathBuf, std::ffi::OsString)> {
        let mut v: Vec<(PathBuf, std::ffi::OsString)> = match std::fs::read_dir(dir_of(p)) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| (p.join(e.file_name()), e.file_name())).collect(),
            Err(_) => vec![],
        };
        v.sort();
        v
    };
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy();
        let wild = matches!(comp, Component::Normal(_)) && text.contains(['*', '?', '[']);
        let mut next = Vec::new();
        if !wild {
            for c in &current {
                let p = c.join(comp.as_os_str());
                if std::fs::symlink_metadata(&p).is_ok() {
                    next.push(p);
                }
            }
        } else if text == "**" {
            // zero or more directories below each current one
            let mut stack: Vec<PathBuf> = current.clone();
            while let Some(d) = stack.pop() {
                next.push(d.clone());
                for (p, _) in entries(&d).into_iter().rev() {
                    if p.is_dir() {
                        stack.push(p);
                    }
                }
            }
        } else {
            let pat = glob::Pattern::new(&text).map_err(|e| e.to_string())?;
            for c in &current {
                for (p, name) in entries(c) {
                    if pat.matches_with(&name.to_string_lossy(), opts) {
                        next.push(p);
                    }
                }
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.retain(|p| !p.as_os_str().is_empty());
    Ok(current)
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
                groups: None,
                se_type: None,
                ci_level: None,
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
        groups: r.groups.filter(|_| r.validity.is_some() || r.effects.is_some()),
        se_type: r.effects.is_some().then(|| r.se_type.clone()),
        ci_level: r.effects.is_some().then_some(r.ci_level),
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

    #[cfg(unix)]
    #[test]
    fn globs_keep_names_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let d = std::env::temp_dir().join(format!("sem-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
        let latin1 = d.join(std::ffi::OsStr::from_bytes(b"b\xe9.csv"));
        for p in [d.join("a.csv"), latin1.clone(), d.join("c.txt"), d.join("sub/deeper/z.csv")] {
            std::fs::write(p, "x\n1\n").unwrap();
        }
        let pat = |s: &str| vec![d.join(s).into_os_string()];
        assert_eq!(expand(&pat("*.csv")).unwrap(), vec![d.join("a.csv"), latin1.clone()]);
        assert_eq!(expand(&pat("b?.csv")).unwrap(), vec![latin1.clone()]);
        assert_eq!(expand(&pat("**/*.csv")).unwrap().len(), 3);
        assert_eq!(expand(&pat("s*/*/z.csv")).unwrap(), vec![d.join("sub/deeper/z.csv")]);
        // a plain argument that is not UTF-8 is kept as it is
        assert_eq!(expand(&[latin1.clone().into_os_string()]).unwrap(), vec![latin1]);
        let e = expand(&pat("*.nothing")).unwrap_err().to_string();
        assert!(e.contains("no data file matches") && e.contains("*.nothing"), "{e}");
        // relative patterns give relative paths
        let cwd = std::env::current_dir().unwrap();
        let rel = expand(&[OsString::from("src/cli/o*.rs")]).unwrap();
        assert_eq!(rel, vec![PathBuf::from("src/cli/output.rs")], "from {}", cwd.display());
        let _ = std::fs::remove_dir_all(&d);
    }
}
