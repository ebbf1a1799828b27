//! Sharding and `sem merge`. A big study is split into independent
//! processes, so that any scheduler can run it (a Slurm job array, GNU
//! parallel, a Kubernetes indexed job): `sem power ... --shard K/N` runs the
//! replications r with r = K-1 mod N, `sem batch ... --shard K/N` fits the
//! data sets whose position in the sorted list (from 0) is K-1 mod N, and
//! each writes a partial report (JSON). `sem merge PARTIAL...` checks that
//! the partials belong to one study and together cover it, combines them,
//! and renders the report the unsharded run prints, byte for byte, in any
//! format: power partials hold exact sums (`power::exact`), batch partials
//! the data sets' entries with their positions.
//!
//! A partial carries `sem_partial`: its kind, its shard, and the study's
//! settings (every option that changes a number, and a hash of the model
//! files' contents); partials whose settings differ are refused with the
//! setting named, an incomplete set with the missing shards named.

use crate::pipeline::SemError;
use crate::power::{accumulate::ConditionAcc, Frame, PowerReport, Shard};
use crate::report::batch::{BatchReport, DatasetOut};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One setting of the study: its name (the option, `--seed`) and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub name: String,
    pub value: String,
}

/// What every partial report says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialInfo {
    /// `power` or `batch`
    pub kind: String,
    pub shard: usize,
    pub of: usize,
    pub settings: Vec<Setting>,
    pub sem_version: String,
}

/// A shard of `sem power`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerPartial {
    pub sem_partial: PartialInfo,
    pub frame: Frame,
    pub conditions: Vec<ConditionAcc>,
}

/// A shard of `sem batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPartial {
    pub sem_partial: PartialInfo,
    /// every data set of the study, sorted (the positions count in this list)
    pub all_datasets: Vec<String>,
    /// the positions of this shard's data sets
    pub positions: Vec<usize>,
    /// the report of this shard's data sets
    pub report: BatchReport,
    /// the model's structure diagram (inline SVG) that `--format html` shows
    /// above the table, so that a merged page equals the unsharded one
    #[serde(default)]
    pub figure: Option<String>,
}

/// The merged report.
#[derive(Debug, Clone)]
pub enum Merged {
    Power(PowerReport),
    Batch(BatchReport, Option<String>),
}

/// The settings of a command line, from the pretty `Debug` form of its
/// parsed arguments: one setting per field (nested option groups are
/// flattened), named as the option (`max_iter` is `--max-iter`), leaving
/// out `skip` (options that change no number: the shard, output, format).
pub fn settings_from_debug(debug: &str, positional: &[&str], skip: &[&str]) -> Vec<Setting> {
    let lines: Vec<&str> = debug.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        i += 1;
        let Some((field, value)) = t.split_once(": ") else {
            continue;
        };
        if !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if value.ends_with('{') && !value.starts_with('[') {
            // a nested group of options: its fields are settings themselves
            continue;
        }
        let mut v = value.trim_end_matches(',').to_string();
        if value.ends_with('[') || value.ends_with('(') {
            // a multi-line value: up to the closing line at this indent
            while i < lines.len() {
                let l = lines[i];
                let ind = l.len() - l.trim_start().len();
                v.push_str(l.trim());
                i += 1;
                if ind == indent {
                    break;
                }
            }
            v = v.trim_end_matches(',').to_string();
        }
        if skip.contains(&field) {
            continue;
        }
        let name = if positional.contains(&field) {
            field.to_string()
        } else {
            format!("--{}", field.replace('_', "-"))
        };
        out.push(Setting { name, value: v });
    }
    out
}

/// FNV-1a of a file's bytes (to tell changed model files apart), or why it cannot be read.
pub fn content_hash(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(b) => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for x in b {
                h ^= u64::from(x);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("{h:016x}")
        }
        Err(e) => format!("unreadable: {e}"),
    }
}

/// The partial report of one power shard, as JSON.
pub fn power_partial_json(info: PartialInfo, frame: &Frame, conditions: Vec<ConditionAcc>) -> String {
    let p = PowerPartial {
        sem_partial: info,
        frame: frame.clone(),
        conditions,
    };
    serde_json::to_string_pretty(&p).unwrap_or_default() + "\n"
}

/// The partial report of one batch shard, as JSON.
pub fn batch_partial_json(
    info: PartialInfo,
    all: &[PathBuf],
    positions: Vec<usize>,
    report: BatchReport,
    figure: Option<String>,
) -> String {
    let p = BatchPartial {
        sem_partial: info,
        all_datasets: all.iter().map(|p| p.display().to_string()).collect(),
        positions,
        report,
        figure,
    };
    serde_json::to_string_pretty(&p).unwrap_or_default() + "\n"
}

struct Loaded {
    file: String,
    info: PartialInfo,
    value: serde_json::Value,
}

fn load(path: &Path) -> Result<Loaded, SemError> {
    let file = path.display().to_string();
    let bytes = crate::data::read::read_file("partial report", path).map_err(SemError::Input)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        SemError::Input(format!(
            "{file} is not a partial report (JSON) of `sem power --shard` or `sem batch --shard`: {e}"
        ))
    })?;
    let info = value
        .get("sem_partial")
        .cloned()
        .ok_or_else(|| {
            SemError::Input(format!(
                "{file} is not a partial report: it has no `sem_partial` (write partials with `sem power ... --shard K/N` or `sem batch ... --shard K/N`)"
            ))
        })
        .and_then(|v| {
            serde_json::from_value::<PartialInfo>(v).map_err(|e| SemError::Input(format!("{file}: a damaged partial report: {e}")))
        })?;
    Ok(Loaded { file, info, value })
}

/// Check that the partials are the shards of one study, each once, all there.
fn check_set(parts: &[Loaded]) -> Result<(), SemError> {
    let first = &parts[0];
    for p in &parts[1..] {
        if p.info.kind != first.info.kind {
            return Err(SemError::Input(format!(
                "{} is a partial of `sem {}` but {} of `sem {}`: they cannot be merged",
                first.file, first.info.kind, p.file, p.info.kind
            )));
        }
        if p.info.sem_version != first.info.sem_version {
            return Err(SemError::Input(format!(
                "{} was written by sem {} but {} by sem {}: run every shard with one version",
                first.file, first.info.sem_version, p.file, p.info.sem_version
            )));
        }
        if p.info.of != first.info.of {
            return Err(SemError::Input(format!(
                "partials of different studies: {} is shard {}/{} but {} is shard {}/{} (--shard differs in the number of shards)",
                first.file, first.info.shard, first.info.of, p.file, p.info.shard, p.info.of
            )));
        }
        for (a, b) in first.info.settings.iter().zip(&p.info.settings) {
            if a != b {
                let setting = if a.name == b.name {
                    a.name.clone()
                } else {
                    format!("{} / {}", a.name, b.name)
                };
                return Err(SemError::Input(format!(
                    "partials of different studies: {setting} is `{}` in {} but `{}` in {}",
                    a.value, first.file, b.value, p.file
                )));
            }
        }
        if first.info.settings.len() != p.info.settings.len() {
            return Err(SemError::Input(format!(
                "partials of different studies: {} and {} list different settings",
                first.file, p.file
            )));
        }
    }
    let of = first.info.of;
    let mut seen: Vec<Option<&str>> = vec![None; of];
    for p in parts {
        let k = p.info.shard;
        if k == 0 || k > of {
            return Err(SemError::Input(format!("{}: shard {k}/{of} is not a shard of {of}", p.file)));
        }
        if let Some(other) = seen[k - 1] {
            return Err(SemError::Input(format!(
                "shard {k}/{of} is given twice ({other} and {}); give each shard once",
                p.file
            )));
        }
        seen[k - 1] = Some(&p.file);
    }
    let missing: Vec<String> = (1..=of).filter(|k| seen[k - 1].is_none()).map(|k| format!("{k}/{of}")).collect();
    if !missing.is_empty() {
        return Err(SemError::Input(format!(
            "the set of partials is incomplete: shard{} {} of {of} {} missing (got {} file{})",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Merge partial reports into the report of the whole study.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, SemError> {
    if paths.is_empty() {
        return Err(SemError::Input("sem merge needs the partial reports: sem merge part-*.json".into()));
    }
    let parts: Vec<Loaded> = paths.iter().map(|p| load(p)).collect::<Result<_, _>>()?;
    check_set(&parts)?;
    match parts[0].info.kind.as_str() {
        "power" => merge_power(parts).map(Merged::Power),
        "batch" => merge_batch(parts).map(|(r, figure)| Merged::Batch(r, figure)),
        k => Err(SemError::Input(format!(
            "{}: unknown kind of partial report `{k}` (this sem merges `power` and `batch`)",
            parts[0].file
        ))),
    }
}

fn merge_power(parts: Vec<Loaded>) -> Result<PowerReport, SemError> {
    let mut typed = Vec::new();
    for p in parts {
        let t: PowerPartial =
            serde_json::from_value(p.value).map_err(|e| SemError::Input(format!("{}: a damaged partial report: {e}", p.file)))?;
        typed.push((p.file, t));
    }
    let (file0, first) = &typed[0];
    let mut accs = first.conditions.clone();
    for (file, t) in &typed[1..] {
        if t.frame != first.frame || t.conditions.len() != accs.len() {
            return Err(SemError::Input(format!(
                "partials of different studies: {file0} and {file} have the same options but different population values or parameters (did a model file change between shards?)"
            )));
        }
        for (a, b) in accs.iter_mut().zip(&t.conditions) {
            if a.params.len() != b.params.len() || a.supported.len() != b.supported.len() {
                return Err(SemError::Input(format!(
                    "{file}: a damaged partial report (its summaries do not match {file0})"
                )));
            }
            a.merge(b);
        }
    }
    Ok(crate::power::finish(&first.frame, &accs))
}

fn merge_batch(parts: Vec<Loaded>) -> Result<(BatchReport, Option<String>), SemError> {
    let mut typed = Vec::new();
    for p in parts {
        let t: BatchPartial =
            serde_json::from_value(p.value).map_err(|e| SemError::Input(format!("{}: a damaged partial report: {e}", p.file)))?;
        typed.push((p.file, t));
    }
    let (file0, first) = &typed[0];
    let total = first.all_datasets.len();
    let mut slots: Vec<Option<DatasetOut>> = vec![None; total];
    for (file, t) in &typed {
        if t.all_datasets != first.all_datasets {
            return Err(SemError::Input(format!(
                "partials of different studies: {file0} and {file} list different data sets"
            )));
        }
        let r = &t.report;
        let f = &first.report;
        if r.model_file != f.model_file || r.alpha != f.alpha || r.hypotheses != f.hypotheses || r.warnings != f.warnings {
            return Err(SemError::Input(format!(
                "partials of different studies: {file0} and {file} have different models or hypotheses"
            )));
        }
        if t.positions.len() != r.datasets.len() {
            return Err(SemError::Input(format!(
                "{file}: a damaged partial report (positions and data sets differ in number)"
            )));
        }
        let shard = Shard {
            k: t.sem_partial.shard,
            of: t.sem_partial.of,
        };
        for (&pos, d) in t.positions.iter().zip(&r.datasets) {
            if pos >= total || !shard.owns(pos) || slots[pos].is_some() {
                return Err(SemError::Input(format!(
                    "{file}: a damaged partial report (data set position {pos})"
                )));
            }
            slots[pos] = Some(d.clone());
        }
    }
    let mut datasets = Vec::with_capacity(total);
    for (i, s) in slots.into_iter().enumerate() {
        match s {
            Some(d) => datasets.push(d),
            None => {
                return Err(SemError::Input(format!(
                    "the partials do not cover data set {} ({}): a damaged partial report",
                    i + 1,
                    first.all_datasets[i]
                )))
            }
        }
    }
    let f = &first.report;
    let report = BatchReport {
        model_file: f.model_file.clone(),
        alpha: f.alpha,
        hypotheses: f.hypotheses.clone(),
        exit_code: BatchReport::compute_exit_code(&datasets),
        datasets,
        warnings: f.warnings.clone(),
        sem_version: f.sem_version.clone(),
    };
    Ok((report, first.figure.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_pretty_debug() {
        #[derive(Debug)]
        #[allow(dead_code)] // read through Debug only
        struct Inner {
            max_iter: u64,
            ordered: Vec<String>,
        }
        #[derive(Debug)]
        #[allow(dead_code)] // read through Debug only
        struct Outer {
            model: String,
            seed: u64,
            n: Vec<String>,
            flags: Inner,
            output: Option<String>,
        }
        let o = Outer {
            model: "m.lav".into(),
            seed: 3,
            n: vec!["150".into(), "300".into()],
            flags: Inner {
                max_iter: 10,
                ordered: vec![],
            },
            output: Some("x".into()),
        };
        let s = settings_from_debug(&format!("{o:#?}"), &["model"], &["output"]);
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["model", "--seed", "--n", "--max-iter", "--ordered"]);
        assert_eq!(s[2].value, "[\"150\",\"300\",]");
        assert_eq!(s[1].value, "3");
        assert_eq!(s[4].value, "[]");
    }
}
