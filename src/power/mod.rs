//! `sem power`: Monte Carlo power of a planned study. Before collecting
//! data, a researcher writes the population (a model with values, as for
//! `sem simulate`) and asks how often each hypothesis would be supported at
//! N = 150, 300, 600. For each N, `reps` data sets are drawn from the
//! population (`crate::simulate::draw`), each is fitted with exactly
//! `sem fit`'s pipeline and options (`pipeline::bind` + `fit_prepared`, the
//! analysis model read and built once), and the outcomes are folded into
//! streaming summaries (`accumulate`): nothing of a data set is kept.
//!
//! Analysis model. `--model FILE`, or by default the population model with
//! its values dropped (`0.8*x` becomes `x`, labels and `# expect:`
//! directives kept), so that lavaan's defaults (first loading fixed to 1)
//! identify it. Its population values are those of the analysis model fitted
//! to the population's own moments (Sigma, mu): the written values when the
//! parameterizations agree, their rescaling when they do not (a marker
//! loading), the pseudo-true values when the analysis model is wrong. With
//! ordinal analysis (`--likert K --ordered`) the moments are those of the
//! continuous responses before cutting (correlation metric) and thresholds
//! are qnorm(k/K). The same fit at each N gives the asymptotic (Wald) power
//! of each hypothesis, Phi(s theta / se - z_(1 - alpha/2)) with s its
//! expected sign, printed next to the Monte Carlo power when the asymptotic
//! standard errors apply (complete continuous data, ML, MLM, MLR or GLS).
//!
//! Groups. `--n 200+200` builds the population with two groups, so that
//! `y ~ c(0.1, 0.5)*f` gives each its own value; group g's rows are drawn
//! from group g's population. When the groups' populations differ, the
//! population values of group g's rows come from the analysis model cut to
//! group g (`c(...)` to its g-th value, without `:=` and constraints) and
//! fitted to group g's moments alone, and the `:=` definitions are evaluated
//! at those values; when they do not differ, from one fit, as without
//! groups (the same bytes as before groups could differ).
//!
//! Replications. Replication r of condition N draws from its own ChaCha8
//! stream, seeded by `replication_seed(seed, N, r)` (SplitMix64 steps over
//! the seed, every group size and r; group g of a multiple-group design adds
//! g). The result therefore does not depend on the thread count, nor on how
//! replications are split into shards (`--shard K/N` runs those with
//! r = K-1 mod N); the sums are exact (`exact`), so merged shards give the
//! same bytes as one run.
//!
//! Counting. A replication converged when the optimizer converged and the
//! standard errors could be computed; converged replications with an
//! inadmissible solution (negative variance, correlation beyond ±1) are
//! counted as `not_admissible` and kept, as Mplus and simsem do. Power of a
//! hypothesis is the share of converged replications in which it is
//! supported (expected sign and p < alpha).

pub mod accumulate;
pub mod exact;
pub mod render;
pub mod search;

use crate::data::{Dataset, SampleStats};
use crate::pipeline::{self, DataInput, FitOptions, ModelInput, SemError};
use crate::report::{FitReport, HypothesisSpec};
use crate::simulate::{self, Population, SimOptions, Source};
use crate::syntax::{self, ModKind};
use accumulate::{ConditionAcc, ParamAcc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use std::path::PathBuf;

/// The most replications per condition.
pub const MAX_REPS: usize = 10_000_000;

/// One sample-size condition: the size of each group (one entry without groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Design {
    pub groups: Vec<usize>,
}

impl Design {
    pub fn total(&self) -> usize {
        self.groups.iter().sum()
    }

    /// `300` or `200+200`.
    pub fn parse(s: &str) -> Result<Design, String> {
        let groups: Result<Vec<usize>, _> = s.split('+').map(|p| p.trim().parse::<usize>()).collect();
        match groups {
            Ok(g) if !g.is_empty() && g.iter().all(|&n| n > 0) => Ok(Design { groups: g }),
            _ => Err(format!(
                "--n takes sample sizes such as 150,300,600 (and group sizes such as 200+200), not `{s}`"
            )),
        }
    }

    pub fn label(&self) -> String {
        self.groups.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("+")
    }
}

/// `--shard K/N`: run the replications (data sets) r with r = K-1 mod N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub of: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard takes K/N, shard K of N with 1 <= K <= N (such as 2/3), not `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k == 0 || k > n {
            return Err(format!(
                "--shard {s}: the shard number must be between 1 and the number of shards ({n}); shards are numbered 1/{n} to {n}/{n}"
            ));
        }
        Ok(Shard { k, of: n })
    }

    /// Whether item `i` (counted from 0) belongs to this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.of == self.k - 1
    }
}

/// What `sem power` is asked for.
#[derive(Debug, Clone)]
pub struct PowerOptions {
    pub population: PathBuf,
    pub model: Option<PathBuf>,
    pub designs: Vec<Design>,
    pub reps: usize,
    pub seed: u64,
    pub likert: Option<u32>,
    /// probability that a cell is missing (completely at random)
    pub missing: f64,
    pub fit: FitOptions,
    /// worker threads (all cores when `None`)
    pub jobs: Option<usize>,
}

/// A parameter of the analysis model that is summarized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamKey {
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub group: usize,
    pub label: String,
}

/// An f64 written as its bits in partial reports, so that a merge reads back
/// exactly what the shard computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bits(pub f64);

impl Serialize for Bits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0.to_bits()))
    }
}

impl<'de> Deserialize<'de> for Bits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bits, D::Error> {
        let t = String::deserialize(d)?;
        u64::from_str_radix(&t, 16)
            .map(|b| Bits(f64::from_bits(b)))
            .map_err(|_| serde::de::Error::custom(format!("`{t}` is not a number written by sem")))
    }
}

fn bits(v: Option<f64>) -> Option<Bits> {
    v.map(Bits)
}

/// One condition as fixed before any replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionFrame {
    pub design: Design,
    /// asymptotic power per hypothesis (study order)
    pub wald_power: Vec<Option<Bits>>,
}

/// Everything about a study that every shard computes identically before
/// any replication: the report's header and the rows it will fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    pub population_file: String,
    pub model_file: String,
    pub estimator: String,
    pub alpha: Bits,
    pub ci_level: Bits,
    pub seed: u64,
    pub reps: u64,
    pub likert: Option<u32>,
    pub missing: Bits,
    pub params: Vec<ParamKey>,
    pub population: Vec<Option<Bits>>,
    pub hypotheses: Vec<HypothesisSpec>,
    pub conditions: Vec<ConditionFrame>,
    pub warnings: Vec<String>,
    pub sem_version: String,
}

/// The report of `sem power` (JSON as `../shared/CONTRACT.md`, "Monte Carlo power").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerReport {
    pub population_file: String,
    pub model_file: String,
    pub estimator: String,
    pub alpha: f64,
    pub ci_level: f64,
    pub seed: u64,
    pub reps: u64,
    pub likert: Option<u32>,
    pub missing: f64,
    pub conditions: Vec<ConditionOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<search::TargetOut>,
    pub warnings: Vec<String>,
    pub sem_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionOut {
    /// total sample size
    pub n: usize,
    /// sizes of the groups (only with groups)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_n: Option<Vec<usize>>,
    pub reps: u64,
    pub converged: u64,
    pub not_admissible: u64,
    pub not_converged: u64,
    pub not_identified: u64,
    /// replications whose data could not be used
    pub failed: u64,
    /// the first replication that did not converge, was not identified or failed, and why
    pub first_problem: Option<String>,
    /// share of converged replications whose chi-square test rejects the model at alpha
    pub chisq_rejection: Option<f64>,
    pub hypotheses: Vec<HypothesisPower>,
    pub parameters: Vec<ParamSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesisPower {
    pub name: String,
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub expected_sign: String,
    /// converged replications in which it is supported
    pub supported: u64,
    pub power: Option<f64>,
    pub mc_se: Option<f64>,
    /// asymptotic power from the standard errors at the population values
    pub wald_power: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSummary {
    pub lhs: String,
    pub op: String,
    pub rhs: String,
    pub group: usize,
    pub label: String,
    pub population: Option<f64>,
    pub mean_est: Option<f64>,
    pub bias: Option<f64>,
    pub rel_bias: Option<f64>,
    pub sd_est: Option<f64>,
    pub mean_se: Option<f64>,
    pub coverage: Option<f64>,
    /// rejection rate of the parameter being 0 at alpha
    pub power: Option<f64>,
}

/// SplitMix64: one step of the seed derivation.
fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of replication `r` of `design` (group `g`).
pub fn replication_seed(seed: u64, design: &Design, r: u64, g: usize) -> u64 {
    let mut s = mix(seed);
    for n in &design.groups {
        s = mix(s ^ *n as u64);
    }
    s = mix(s ^ r);
    if design.groups.len() > 1 {
        s = mix(s ^ g as u64);
    }
    s
}

/// A study ready to run: the population, the analysis model, the rows.
pub struct Study {
    pub opts: PowerOptions,
    /// the population of each group (one without groups)
    pub pops: Vec<Population>,
    /// whether the groups' populations differ (`c(0.1, 0.5)*f` in the population)
    distinct: bool,
    pub analysis: ModelInput,
    /// for each observed variable of the analysis model, its population column
    columns: Vec<usize>,
    pub frame: Frame,
    /// the options of each replication's fit
    fit: FitOptions,
}

fn file_name(p: &std::path::Path) -> String {
    p.display().to_string()
}

impl Study {
    /// Read the population and analysis models, check the design, and fix
    /// the population values and the asymptotic power of every condition.
    pub fn new(opts: PowerOptions) -> Result<Study, SemError> {
        if opts.reps == 0 || opts.reps > MAX_REPS {
            return Err(SemError::Input(format!(
                "--reps takes 1 to {MAX_REPS} replications, not {}",
                opts.reps
            )));
        }
        if opts.designs.is_empty() {
            return Err(SemError::Input(
                "--n needs at least one sample size, such as --n 150,300,600".into(),
            ));
        }
        let sim = SimOptions {
            n: 1,
            seed: opts.seed,
            likert: opts.likert,
            missing: opts.missing,
            standardized: false,
            digits: 6,
        };
        sim.validate().map_err(SemError::from)?;
        let pfile = file_name(&opts.population);
        let ngroups = opts.designs[0].groups.len();
        if let Some(d) = opts.designs.iter().find(|d| d.groups.len() != ngroups) {
            return Err(SemError::Input(format!(
                "--n: every condition needs the same number of groups; `{}` has {} and `{}` has {ngroups}",
                d.label(),
                d.groups.len(),
                opts.designs[0].label()
            )));
        }
        let (psrc, psyn) = pipeline::parse_model(&opts.population)?;
        // the population has as many groups as --n has sizes: `c(0.1, 0.5)*f` gives each its value
        let pmodel = simulate::population_model_groups(&psyn, ngroups).map_err(|e| match e {
            crate::model::ModelError::Syntax(mut d) => {
                if let Some(at) = d.message.find(" but the model has ") {
                    d.message = format!(
                        "{} but --n {} draws {ngroups} group{}",
                        &d.message[..at],
                        opts.designs[0].label(),
                        if ngroups == 1 { "" } else { "s" }
                    );
                    d.help = Some(
                        "give a single value (every group), or one value per group of --n such as c(0.1, 0.5) with --n 200+200".into(),
                    );
                }
                SemError::Input(d.render(&pfile, &psrc))
            }
            crate::model::ModelError::Model(m) => SemError::Input(format!("{pfile}: {m}")),
        })?;
        let at = |row: usize, message: String| -> SemError {
            match pmodel.pt.rows.get(row).and_then(|r| r.span) {
                Some(span) => SemError::Input(syntax::Diagnostic::new(message, span, "this parameter").render(&pfile, &psrc)),
                None => SemError::Input(format!("{pfile}: {message}")),
            }
        };
        let mut pops = simulate::populations(&pmodel, &psyn, false).map_err(|e| match e {
            simulate::SimError::Population { message, row: Some(r) } => at(r, message),
            e => SemError::Input(format!("{pfile}: {e}")),
        })?;
        // the warnings of every group, each once
        let mut pop_warnings: Vec<String> = vec![];
        for w in pops.iter().flat_map(|q| q.warnings.iter()) {
            if !pop_warnings.contains(w) {
                pop_warnings.push(w.clone());
            }
        }
        pops[0].warnings = pop_warnings;
        let distinct = pops.iter().any(|q| {
            q.sigma != pops[0].sigma
                || q.mu != pops[0].mu
                || q.values.len() != pops[0].values.len()
                || q.values
                    .iter()
                    .zip(&pops[0].values)
                    .any(|(a, b)| a.value.to_bits() != b.value.to_bits())
        });
        // a population is all values: a loading or path without one is a free parameter
        let unvalued = |v: &&simulate::PopValue| v.source == Source::Default && matches!(v.op.as_str(), "=~" | "~");
        if let Some(v) = pops.iter().flat_map(|q| q.values.iter()).find(unvalued) {
            let mut free: Vec<String> = vec![];
            for v in pops.iter().flat_map(|q| q.values.iter()).filter(unvalued) {
                let name = format!("{} {} {}", v.lhs, v.op, v.rhs);
                if !free.contains(&name) {
                    free.push(name);
                }
            }
            return Err(at(
                v.row,
                format!(
                    "the population model has free parameters ({}): a population gives every loading and path a value, such as `0.7*x1` or `0.2*ALLO`; write the analysis model separately with --model",
                    free.join(", ")
                ),
            ));
        }
        let pop = &pops[0];
        let p = pop.ov.len();
        for d in &opts.designs {
            if let Some(&n) = d.groups.iter().find(|&&n| n <= p) {
                return Err(SemError::Input(format!(
                    "--n {}: {n} rows are too few for the {p} observed variables of {pfile}; a sample needs more rows than variables (at least {})",
                    d.label(),
                    p + 1
                )));
            }
        }
        let mut fit = opts.fit.clone();
        fit.modindices = false;
        fit.residuals = false;
        fit.validity = false;
        fit.effects = None;
        fit.report_extras = false;
        if ngroups > 1 {
            fit.group = Some(GROUP_COLUMN.into());
        } else if fit.group.is_some() {
            return Err(SemError::Input(
                "sem power draws the groups itself: give their sizes as --n 200+200 instead of --group".into(),
            ));
        }
        if opts.fit.ordered.is_some() && opts.likert.is_none() {
            return Err(SemError::Input(
                "--ordered needs --likert K: the simulated data are continuous unless they are cut into K categories".into(),
            ));
        }
        // the analysis model: --model, or the population with its values dropped
        let (analysis, model_file) = match &opts.model {
            Some(m) => (ModelInput::read(m, &fit)?, file_name(m)),
            None => {
                let mut syn = psyn.clone();
                for st in syn.statements.iter_mut() {
                    if let syntax::Rhs::Terms(terms) = &mut st.rhs {
                        for t in terms.iter_mut() {
                            t.mods.retain(|m| !matches!(m.kind, ModKind::Fixed(_) | ModKind::Start(_)));
                        }
                    }
                }
                (ModelInput::from_source(&opts.population, psrc.clone(), syn, &fit)?, pfile.clone())
            }
        };
        let columns: Vec<usize> = analysis
            .probe
            .ram
            .ov
            .iter()
            .map(|v| {
                pop.ov.iter().position(|o| o == v).ok_or_else(|| {
                    SemError::Input(format!(
                        "{model_file}: the analysis model uses `{v}`, which the population model {pfile} does not generate; its observed variables are {}",
                        pop.ov.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut study = Study {
            frame: Frame {
                population_file: pfile,
                model_file,
                estimator: String::new(),
                alpha: Bits(opts.fit.alpha),
                ci_level: Bits(opts.fit.ci_level),
                seed: opts.seed,
                reps: opts.reps as u64,
                likert: opts.likert,
                missing: Bits(opts.missing),
                params: vec![],
                population: vec![],
                hypotheses: vec![],
                conditions: vec![],
                warnings: vec![],
                sem_version: env!("CARGO_PKG_VERSION").into(),
            },
            pops,
            distinct,
            analysis,
            columns,
            fit,
            opts,
        };
        study.fix_rows()?;
        let designs = study.opts.designs.clone();
        for d in &designs {
            let c = study.condition_frame(d)?;
            study.frame.conditions.push(c);
        }
        Ok(study)
    }

    /// Fit the analysis model to the population moments at `design`'s N:
    /// the population values and asymptotic standard errors.
    fn population_fit(&self, design: &Design) -> Result<FitReport, SemError> {
        self.population_fit_of(design, None)
    }

    /// `population_fit` for group `g`'s population alone (groups that
    /// differ), with the analysis model of that group: every `c(...)` cut
    /// to its value for `g`, and without `:=`, `==`, `<`, `>` (which may
    /// name the other groups' labels).
    fn population_fit_of(&self, design: &Design, group: Option<usize>) -> Result<FitReport, SemError> {
        let ordinal = self.analysis.ordinal(&self.fit);
        let continuous_ml = ordinal || self.fit.fiml || self.fit.group.is_some() || !pipeline::moments_suffice(&self.fit);
        let mut opt = FitOptions {
            ordered: None,
            fiml: false,
            pairwise: false,
            group: None,
            group_equal: vec![],
            bootstrap: None,
            meanstructure: self.fit.meanstructure || self.fit.fiml || self.fit.group.is_some(),
            ..self.fit.clone()
        };
        if continuous_ml {
            opt.estimator = crate::pipeline::EstimatorKind::Ml;
            opt.se_robust = false;
            opt.se_huber_white = false;
            opt.information = None;
        }
        let p = self.columns.len();
        let pop = &self.pops[group.unwrap_or(0)];
        let (mut sigma, mut mu) = (nalgebra::DMatrix::zeros(p, p), nalgebra::DVector::zeros(p));
        for (i, &a) in self.columns.iter().enumerate() {
            mu[i] = pop.mu[a];
            for (j, &b) in self.columns.iter().enumerate() {
                sigma[(i, j)] = pop.sigma[(a, b)];
            }
        }
        if ordinal {
            // the latent responses: correlation metric, thresholds at qnorm(k/K)
            let sd: Vec<f64> = (0..p).map(|i| sigma[(i, i)].sqrt()).collect();
            for i in 0..p {
                mu[i] = 0.0;
                for j in 0..p {
                    sigma[(i, j)] /= sd[i] * sd[j];
                }
            }
        }
        let nobs = group.map_or(design.total(), |g| design.groups[g]);
        let stats = SampleStats {
            nobs,
            mean: mu,
            cov: sigma,
            dropped: 0,
        };
        let names = self.analysis.probe.ram.ov.clone();
        let ds = Dataset {
            file: format!("the population moments of {}", self.frame.population_file),
            names,
            values: vec![],
            lines: vec![],
            group: None,
        };
        let (src, syn) = match group {
            None => (self.analysis.src.clone(), self.analysis.syn.clone()),
            // without its comments: `# expect:` may name the other groups' labels
            Some(g) => (
                without_comments(&self.analysis.src),
                one_group(&self.analysis.syn, g, self.pops.len()),
            ),
        };
        let input = ModelInput::from_source(&self.analysis.path, src, syn, &opt)?;
        let no = |_: &str| false;
        let prep = pipeline::bind(
            &input,
            DataInput {
                dataset: ds,
                moments: Some((stats, nobs)),
                is_column: &no,
                warnings: vec![],
            },
            &opt,
        )?;
        Ok(pipeline::fit_prepared(&prep, &opt))
    }

    /// The parameters and hypotheses summarized, and their population values.
    fn fix_rows(&mut self) -> Result<(), SemError> {
        let first = self.opts.designs[0].clone();
        // one fit when the groups share the population, else one per group
        let fits: Vec<FitReport> = if self.distinct {
            (0..self.pops.len())
                .map(|g| self.population_fit_of(&first, Some(g)))
                .collect::<Result<_, _>>()?
        } else {
            vec![self.population_fit(&first)?]
        };
        for (g, r) in fits.iter().enumerate() {
            if let Some(e) = pipeline::unusable(r) {
                let whose = if self.distinct {
                    format!("group {}'s population", g + 1)
                } else {
                    "the population's own".to_string()
                };
                return Err(SemError::Input(format!(
                    "the analysis model cannot be fitted to {whose} moments, so the study cannot be run: {e}"
                )));
            }
        }
        // the rows of one replication's fit: draw one data set (its numbers are not used)
        let probe = self.replicate(&first, u64::MAX)?;
        let template = &probe.parameters;
        let ngroups = first.groups.len();
        let threshold = |rhs: &str| -> Option<f64> {
            let k: u32 = rhs.strip_prefix('t')?.parse().ok()?;
            let kk = self.opts.likert?;
            Some(simulate::qnorm(f64::from(k) / f64::from(kk)))
        };
        let mut warnings = self.pops[0].warnings.clone();
        let mut undefined = vec![];
        // ordinal analysis with covariates (lavaan's conditional.x): the
        // thresholds are those given the covariates at 0, not the cut points
        let conditional = self.analysis.ordinal(&self.fit) && !self.analysis.probe.pt.names.ov_x.is_empty();
        if conditional {
            warnings.push(format!(
                "the thresholds are conditional on the covariate(s) {} (lavaan's conditional.x), not the cut points qnorm(k/K): their population values, bias and coverage are left NA",
                self.analysis.probe.pt.names.ov_x.join(", ")
            ));
        }
        for p in template.iter().filter(|p| p.free || p.op == ":=") {
            let r = &fits[(p.group.max(1) - 1).min(fits.len() - 1)];
            if self.distinct && p.op == ":=" {
                undefined.push(p.lhs.clone());
            }
            let value = match p.op.as_str() {
                "|" if conditional => None,
                "|" => threshold(&p.rhs),
                "~*~" => Some(1.0),
                _ => r
                    .parameters
                    .iter()
                    .find(|q| q.lhs == p.lhs && q.op == p.op && q.rhs == p.rhs)
                    .and_then(|q| q.est),
            };
            self.frame.params.push(ParamKey {
                lhs: p.lhs.clone(),
                op: p.op.clone(),
                rhs: p.rhs.clone(),
                group: p.group,
                label: p.label.clone(),
            });
            self.frame.population.push(bits(value));
        }
        // every replication's fit starts at the population values (as simsem and Mplus do):
        // the same optimum, reached in fewer iterations
        for row in self.analysis.probe.pt.rows.iter_mut().filter(|r| r.free > 0) {
            let at = self
                .frame
                .params
                .iter()
                .position(|k| k.lhs == row.lhs && k.op == row.op && k.rhs == row.rhs && k.group == row.group.max(1));
            if let Some(v) = at.and_then(|k| self.frame.population[k]) {
                row.ustart = Some(v.0);
            }
        }
        if !undefined.is_empty() && self.analysis.probe.pt.ngroups == ngroups {
            // the definitions at every group's own population values (the analysis model
            // written with c(...) labels, so that its table has the groups of --n)
            let model = &self.analysis.probe;
            let vals: Vec<f64> = model
                .pt
                .rows
                .iter()
                .map(|row| {
                    if row.free > 0 {
                        let at = self
                            .frame
                            .params
                            .iter()
                            .position(|k| k.lhs == row.lhs && k.op == row.op && k.rhs == row.rhs && k.group == row.group.max(1));
                        at.and_then(|k| self.frame.population[k]).map_or(f64::NAN, |b| b.0)
                    } else {
                        row.ustart.unwrap_or(f64::NAN)
                    }
                })
                .collect();
            if let Ok(defs) = crate::inference::defined::evaluate_definitions(model, &vals) {
                for (r, d) in defs {
                    let name = &model.pt.rows[r].lhs;
                    let at = self.frame.params.iter().position(|k| k.op == ":=" && &k.lhs == name);
                    if let (Some(k), true) = (at, d.v.is_finite()) {
                        self.frame.population[k] = Some(Bits(d.v));
                        undefined.retain(|u| u != name);
                    }
                }
            }
        }
        let expect = crate::hypotheses::expectations(&self.analysis.src, &self.frame.model_file, &self.analysis.probe.pt.rows)
            .map_err(SemError::Input)?;
        self.frame.hypotheses = crate::hypotheses::declared(&self.analysis.probe.pt.rows, &expect);
        if self.opts.likert.is_some() && !self.analysis.ordinal(&self.fit) {
            warnings.push(format!(
                "the data are cut into {} categories but analysed as continuous (no --ordered): the population values are those of the continuous responses before cutting, so bias and coverage include the effect of the categories",
                self.opts.likert.unwrap_or(0)
            ));
        }
        if ngroups > 1 && !self.distinct {
            warnings.push(format!(
                "every group of --n {} is drawn from the same population; population values are the one-group values",
                first.label()
            ));
        }
        if !undefined.is_empty() {
            warnings.push(format!(
                "the groups have different populations, and the population values of the defined parameters ({}) are not computed (they name labels the analysis model does not give per group with c(...)); their bias and coverage are empty",
                undefined.join(", ")
            ));
        }
        self.frame.estimator = probe.estimator.clone();
        self.frame.warnings = warnings;
        Ok(())
    }

    /// Whether the asymptotic standard errors of the population fit apply.
    fn wald_applies(&self) -> bool {
        use crate::pipeline::EstimatorKind as E;
        self.opts.likert.is_none()
            && self.opts.missing == 0.0
            && self.fit.group.is_none()
            && self.fit.bootstrap.is_none()
            && matches!(self.fit.estimator, E::Ml | E::Mlm | E::Mlr | E::Gls)
    }

    fn condition_frame(&self, design: &Design) -> Result<ConditionFrame, SemError> {
        let mut wald = vec![None; self.frame.hypotheses.len()];
        if self.wald_applies() {
            let r = self.population_fit(design)?;
            let z = Normal::standard();
            let crit = z.inverse_cdf(1.0 - self.fit.alpha / 2.0);
            for (k, h) in self.frame.hypotheses.iter().enumerate() {
                let row = r.parameters.iter().find(|p| p.lhs == h.lhs && p.op == h.op && p.rhs == h.rhs);
                if let Some((Some(est), Some(se))) = row.map(|p| (p.est, p.se)) {
                    if se > 0.0 {
                        let s = if h.expected_sign == "-" { -1.0 } else { 1.0 };
                        wald[k] = Some(Bits(z.cdf(s * est / se - crit)));
                    }
                }
            }
        }
        Ok(ConditionFrame {
            design: design.clone(),
            wald_power: wald,
        })
    }

    /// Draw and fit replication `r` of `design`.
    fn replicate(&self, design: &Design, r: u64) -> Result<FitReport, SemError> {
        let q = self.columns.len();
        let total = design.total();
        let mut values = Vec::with_capacity(total * q);
        let multi = design.groups.len() > 1;
        let mut labels = Vec::new();
        for (g, &n) in design.groups.iter().enumerate() {
            let opt = SimOptions {
                n,
                seed: replication_seed(self.opts.seed, design, r, g),
                likert: self.opts.likert,
                missing: self.opts.missing,
                standardized: false,
                digits: 6,
            };
            let s = simulate::draw(&self.pops[g.min(self.pops.len() - 1)], &opt).map_err(SemError::from)?;
            let p = s.names.len();
            for row in 0..n {
                for &c in &self.columns {
                    values.push(s.cells[row * p + c].unwrap_or(f64::NAN));
                }
            }
            if multi {
                labels.extend(std::iter::repeat_n((g + 1).to_string(), n));
            }
        }
        let ds = Dataset {
            file: format!("replication {} at N = {}", r.wrapping_add(1), design.label()),
            names: self.analysis.probe.ram.ov.clone(),
            values,
            lines: (2..(total as u64 + 2)).collect(),
            group: multi.then_some(labels),
        };
        let pop_ov = &self.pops[0].ov;
        let is_column = |c: &str| pop_ov.iter().any(|o| o == c);
        let prep = pipeline::bind(
            &self.analysis,
            DataInput {
                dataset: ds,
                moments: None,
                is_column: &is_column,
                warnings: vec![],
            },
            &self.fit,
        )?;
        Ok(pipeline::fit_prepared(&prep, &self.fit))
    }

    /// Fold one replication's outcome into `acc`.
    fn record(&self, acc: &mut ConditionAcc, r: u64, out: Result<FitReport, SemError>) {
        acc.reps += 1;
        let rep = match out {
            Ok(rep) => rep,
            Err(e) => {
                acc.fail(r, format!("replication {}: {e}", r + 1));
                return;
            }
        };
        if !rep.converged {
            acc.not_converged += 1;
            acc.note_failure(r, format!("replication {} did not converge", r + 1));
            return;
        }
        if rep.exit_code() != 0 {
            acc.not_identified += 1;
            acc.note_failure(r, format!("replication {}: standard errors could not be computed", r + 1));
            return;
        }
        acc.converged += 1;
        if rep.warnings.iter().any(|w| w.contains("inadmissible")) {
            acc.not_admissible += 1;
        }
        let alpha = self.fit.alpha;
        if let Some(p) = rep
            .fit
            .get("pvalue_scaled")
            .or_else(|| rep.fit.get("pvalue"))
            .and_then(|v| v.as_f64())
        {
            acc.chisq_n += 1;
            if p < alpha {
                acc.chisq_rejected += 1;
            }
        }
        for (k, h) in self.frame.hypotheses.iter().enumerate() {
            if rep.hypotheses.iter().any(|o| o.name == h.name && o.supported) {
                acc.supported[k] += 1;
            }
        }
        let keys = &self.frame.params;
        let same_layout = |i: usize, p: &crate::report::ParamOut| {
            keys.get(i)
                .is_some_and(|k| k.lhs == p.lhs && k.op == p.op && k.rhs == p.rhs && k.group == p.group)
        };
        let mut i = 0;
        for p in rep.parameters.iter().filter(|p| p.free || p.op == ":=") {
            let k = if same_layout(i, p) {
                i
            } else {
                match keys
                    .iter()
                    .position(|k| k.lhs == p.lhs && k.op == p.op && k.rhs == p.rhs && k.group == p.group)
                {
                    Some(k) => k,
                    None => continue,
                }
            };
            i = k + 1;
            add_param(&mut acc.params[k], p, self.frame.population[k].map(|b| b.0), alpha);
        }
    }

    /// Run the replications of condition `c` (those of `shard`), on the thread pool.
    pub fn run_condition(&self, c: usize, shard: Option<Shard>, on_done: &(dyn Fn() + Sync)) -> Result<ConditionAcc, SemError> {
        let design = &self.frame.conditions[c].design;
        let (nh, np) = (self.frame.hypotheses.len(), self.frame.params.len());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.jobs.unwrap_or(0))
            .build()
            .map_err(|e| SemError::Input(format!("cannot start worker threads: {e}")))?;
        let reps = self.opts.reps;
        Ok(pool.install(|| {
            (0..reps)
                .into_par_iter()
                .filter(|&r| shard.is_none_or(|s| s.owns(r)))
                .fold(
                    || ConditionAcc::new(nh, np),
                    |mut acc, r| {
                        self.record(&mut acc, r as u64, self.replicate(design, r as u64));
                        on_done();
                        acc
                    },
                )
                .reduce(
                    || ConditionAcc::new(nh, np),
                    |mut a, b| {
                        a.merge(&b);
                        a
                    },
                )
        }))
    }

    /// Add a condition (the target-power search); its index.
    pub fn add_condition(&mut self, design: &Design) -> Result<usize, SemError> {
        let c = self.condition_frame(design)?;
        self.frame.conditions.push(c);
        Ok(self.frame.conditions.len() - 1)
    }

    /// The smallest group size a sample may have: one more than the observed variables.
    pub fn min_n(&self) -> usize {
        self.pops[0].ov.len() + 1
    }

    /// Run every condition (all replications, or one shard's).
    pub fn run(&self, shard: Option<Shard>, on_done: &(dyn Fn() + Sync)) -> Result<Vec<ConditionAcc>, SemError> {
        (0..self.frame.conditions.len())
            .map(|c| self.run_condition(c, shard, on_done))
            .collect()
    }
}

/// The analysis model of group `g` of `ngroups` alone: every `c(...)` of
/// `ngroups` values cut to the value of `g`, and the statements that may
/// join groups (`:=`, `==`, `<`, `>`) dropped.
fn one_group(syn: &syntax::ModelSyntax, g: usize, ngroups: usize) -> syntax::ModelSyntax {
    fn cut<T: Clone>(v: &mut Vec<T>, g: usize, ngroups: usize) {
        if v.len() == ngroups && v.len() > 1 {
            *v = vec![v[g].clone()];
        }
    }
    let mut out = syn.clone();
    out.statements.retain(|st| {
        !matches!(
            st.op,
            syntax::Op::Define | syntax::Op::Equal | syntax::Op::Less | syntax::Op::Greater
        )
    });
    for st in out.statements.iter_mut() {
        if let syntax::Rhs::Terms(terms) = &mut st.rhs {
            for t in terms.iter_mut() {
                for m in t.mods.iter_mut() {
                    match &mut m.kind {
                        ModKind::Fixed(v) | ModKind::Start(v) | ModKind::Lower(v) | ModKind::Upper(v) => cut(v, g, ngroups),
                        ModKind::Label(v) => cut(v, g, ngroups),
                    }
                }
            }
        }
    }
    out
}

/// Model text with every comment (from `#` or `!` to the end of its line)
/// turned into spaces, so that the offsets of the syntax still point into it.
fn without_comments(src: &str) -> String {
    src.split_inclusive('\n')
        .map(|line| match line.find(['#', '!']) {
            Some(mark) => {
                let body = line.trim_end_matches(['\n', '\r']);
                let end = &line[body.len()..];
                format!("{}{}{end}", &line[..mark], " ".repeat(body.len() - mark))
            }
            None => line.to_string(),
        })
        .collect()
}

/// The column that holds the group of a multiple-group design.
pub const GROUP_COLUMN: &str = "group";

fn add_param(a: &mut ParamAcc, p: &crate::report::ParamOut, theta: Option<f64>, alpha: f64) {
    let Some(est) = p.est.filter(|e| e.is_finite()) else {
        return;
    };
    if let Some(t) = theta {
        let d = est - t;
        a.n_est += 1;
        a.sum_d.add(d);
        a.sum_d2.add(d * d);
        if let (Some(lo), Some(hi)) = (p.ci_lower, p.ci_upper) {
            a.n_ci += 1;
            if lo <= t && t <= hi {
                a.covered += 1;
            }
        }
    }
    if let Some(se) = p.se.filter(|s| s.is_finite()) {
        a.n_se += 1;
        a.sum_se.add(se);
    }
    if let Some(pv) = p.pvalue {
        a.n_p += 1;
        if pv < alpha {
            a.rejected += 1;
        }
    }
}

/// The report from the frame and the summaries of its conditions.
pub fn finish(frame: &Frame, accs: &[ConditionAcc]) -> PowerReport {
    let conditions = frame
        .conditions
        .iter()
        .zip(accs)
        .map(|(cf, acc)| {
            let hypotheses = frame
                .hypotheses
                .iter()
                .enumerate()
                .map(|(k, h)| {
                    let (power, mc_se) = accumulate::proportion(acc.supported[k], acc.converged);
                    HypothesisPower {
                        name: h.name.clone(),
                        lhs: h.lhs.clone(),
                        op: h.op.clone(),
                        rhs: h.rhs.clone(),
                        expected_sign: h.expected_sign.clone(),
                        supported: acc.supported[k],
                        power,
                        mc_se,
                        wald_power: cf.wald_power.get(k).copied().flatten().map(|b| b.0),
                    }
                })
                .collect();
            let parameters = frame
                .params
                .iter()
                .zip(&frame.population)
                .zip(&acc.params)
                .map(|((key, pop), a)| {
                    let theta = pop.map(|b| b.0);
                    let s = accumulate::finish_param(a, theta);
                    ParamSummary {
                        lhs: key.lhs.clone(),
                        op: key.op.clone(),
                        rhs: key.rhs.clone(),
                        group: key.group,
                        label: key.label.clone(),
                        population: theta,
                        mean_est: s.mean_est,
                        bias: s.bias,
                        rel_bias: s.rel_bias,
                        sd_est: s.sd_est,
                        mean_se: s.mean_se,
                        coverage: s.coverage,
                        power: s.power,
                    }
                })
                .collect();
            ConditionOut {
                n: cf.design.total(),
                group_n: (cf.design.groups.len() > 1).then(|| cf.design.groups.clone()),
                reps: acc.reps,
                converged: acc.converged,
                not_admissible: acc.not_admissible,
                not_converged: acc.not_converged,
                not_identified: acc.not_identified,
                failed: acc.failed,
                first_problem: acc.first_failure.as_ref().map(|f| f.message.clone()),
                chisq_rejection: accumulate::proportion(acc.chisq_rejected, acc.chisq_n).0,
                hypotheses,
                parameters,
            }
        })
        .collect();
    PowerReport {
        population_file: frame.population_file.clone(),
        model_file: frame.model_file.clone(),
        estimator: frame.estimator.clone(),
        alpha: frame.alpha.0,
        ci_level: frame.ci_level.0,
        seed: frame.seed,
        reps: frame.reps,
        likert: frame.likert,
        missing: frame.missing.0,
        conditions,
        target: None,
        warnings: frame.warnings.clone(),
        sem_version: frame.sem_version.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_designs_and_shards() {
        assert_eq!(Design::parse("300").unwrap().groups, vec![300]);
        assert_eq!(Design::parse("200+150").unwrap().total(), 350);
        assert!(Design::parse("0").is_err());
        assert!(Design::parse("x").is_err());
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { k: 2, of: 3 });
        let e = Shard::parse("4/3").unwrap_err();
        assert!(e.contains("between 1 and the number of shards (3)"), "{e}");
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("3").is_err());
        let s = Shard { k: 2, of: 3 };
        assert!(s.owns(1) && s.owns(4) && !s.owns(0) && !s.owns(2));
    }

    #[test]
    fn replication_seeds_differ() {
        let d = Design { groups: vec![300] };
        let e = Design { groups: vec![150, 150] };
        let s = replication_seed(1, &d, 0, 0);
        assert_ne!(s, replication_seed(1, &d, 1, 0));
        assert_ne!(s, replication_seed(2, &d, 0, 0));
        assert_ne!(s, replication_seed(1, &e, 0, 0));
        assert_ne!(replication_seed(1, &e, 0, 0), replication_seed(1, &e, 0, 1));
        assert_eq!(s, replication_seed(1, &d, 0, 0));
    }
}
