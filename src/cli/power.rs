//! `sem power` and `sem merge`: their options, and the glue that runs
//! `crate::power` (or `crate::merge`) and writes the report. `--missing`
//! takes both a rate (`--missing 0.1`: cells left empty at random) and, as
//! in `sem fit`, a method (`--missing fiml`); given twice, one of each. The
//! settings recorded in a partial report are the parsed options themselves
//! (`merge::settings_from_debug`), so a new fit option is covered without
//! a list to keep up to date.

use super::{emit, FitFlags, Missing};
use crate::merge::{self, PartialInfo, Setting};
use crate::pipeline::SemError;
use crate::power::render::{self, PowerFormat};
use crate::power::{self, Design, PowerOptions, Shard, Study};
use clap::builder::TypedValueParser;
use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};
use std::path::PathBuf;

pub const AFTER_HELP: &str = "\
The population model is written with values, as for `sem simulate` (every loading and path
needs one). The analysis model (--model) defaults to the population model with its values
dropped. Per N: replications, converged, not admissible; per hypothesis: power (share of
converged replications in which it is supported: expected sign and p < --alpha) with its
Monte-Carlo SE and the asymptotic Wald power; per parameter: population value, mean
estimate, bias, relative bias, SD of estimates, mean SE, coverage, power (p < alpha).

Replication r at sample size N draws from its own stream, seeded from (--seed, default 1,
N, r): the numbers do not depend on --jobs or on sharding.

  --missing 0.1 --missing fiml     10% of the cells missing at random, analysed with FIML
  --likert 5 --ordered all         five categories, analysed as ordinal (WLSMV)
  --n 200+200                      two groups of 200 from the same population
  --target-power 0.8 --hypotheses H3,H8
                                   the smallest N at which H3 and H8 reach 80% power
                                   (doubling from the first --n, then bisection)
  --shard K/N                      run only the replications r = K-1 mod N and write a partial
                                   report (JSON); `sem merge` combines the N partials into the
                                   report of the whole run, byte for byte, in any --format

Exit codes: 0 done; 2 bad usage or input (a population with free parameters or an impossible
covariance matrix, --n not above the number of variables, --shard 4/3).";

/// `--missing` as `sem power` reads it: a rate or a method.
#[derive(Clone)]
struct MissingOrRate;

impl TypedValueParser for MissingOrRate {
    type Value = Missing;
    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<Missing, clap::Error> {
        let s = value.to_string_lossy();
        if let Ok(rate) = s.trim().parse::<f64>() {
            if (0.0..1.0).contains(&rate) {
                return Ok(Missing::Listwise);
            }
            let mut e = clap::Error::new(clap::error::ErrorKind::ValueValidation).with_cmd(cmd);
            e.insert(
                clap::error::ContextKind::InvalidArg,
                clap::error::ContextValue::String(arg.map_or("--missing".into(), |a| a.to_string())),
            );
            e.insert(
                clap::error::ContextKind::InvalidValue,
                clap::error::ContextValue::String(s.into_owned()),
            );
            return Err(e);
        }
        clap::builder::EnumValueParser::<Missing>::new().parse_ref(cmd, arg, value)
    }
}

/// The options of `sem power` as clap parses them.
#[derive(Args, Debug, Clone)]
pub struct PowerCli {
    /// population model: lavaan syntax with values (`f =~ 0.7*x1`, `y ~ 0.2*f`)
    pub population: PathBuf,
    /// analysis model (default: the population model with its values dropped)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// sample sizes, comma separated (150,300,600); group sizes joined by + (200+200)
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub n: Vec<String>,
    /// replications per sample size
    #[arg(long, default_value_t = 1000)]
    pub reps: usize,
    /// cut every variable into K categories of equal probability (with --ordered: ordinal analysis)
    #[arg(long, value_name = "K")]
    pub likert: Option<u32>,
    /// search the smallest N at which the --hypotheses reach this power
    #[arg(long, value_name = "P")]
    pub target_power: Option<f64>,
    /// the hypotheses of --target-power, comma separated
    #[arg(long, value_delimiter = ',', value_name = "H")]
    pub hypotheses: Vec<String>,
    #[command(flatten)]
    pub flags: FitFlags,
    /// run only shard K of N (replications r = K-1 mod N) and write a partial report (JSON)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// worker threads (default: all cores)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: PowerFormat,
    /// write the report to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// decimals in text, markdown, HTML and CSV (JSON has full precision)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

/// `sem power`'s options with `--missing` split into rate and method.
#[derive(Debug, Clone)]
pub struct PowerArgs {
    pub cli: PowerCli,
    /// every value given to --missing, in order
    pub missing: Vec<String>,
}

impl FromArgMatches for PowerArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let given = m.value_source("missing") == Some(clap::parser::ValueSource::CommandLine);
        let missing = if given {
            m.get_raw("missing")
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default()
        } else {
            vec![]
        };
        Ok(PowerArgs {
            cli: PowerCli::from_arg_matches(m)?,
            missing,
        })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

fn missing_arg(a: clap::Arg) -> clap::Arg {
    a.action(clap::ArgAction::Append)
        .value_parser(MissingOrRate)
        .value_name("RATE|METHOD")
        .help("a rate (0 <= RATE < 1: cells left empty completely at random) and/or the method: listwise (default), fiml, pairwise")
}

fn seed_arg(a: clap::Arg) -> clap::Arg {
    a.help("seed of the replications (and of a bootstrap) [default: 1]: the same seed gives the same report on every machine, thread count and sharding")
}

impl Args for PowerArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        PowerCli::augment_args(cmd)
            .mut_arg("missing", missing_arg)
            .mut_arg("seed", seed_arg)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        PowerCli::augment_args_for_update(cmd)
            .mut_arg("missing", missing_arg)
            .mut_arg("seed", seed_arg)
    }
}

impl PowerArgs {
    /// The rate and the method of `--missing`.
    fn missing(&self) -> Result<(f64, Missing), SemError> {
        let (mut rate, mut method) = (None, None);
        for v in &self.missing {
            if let Ok(r) = v.trim().parse::<f64>() {
                if rate.replace(r).is_some() {
                    return Err(SemError::Input("--missing: give one rate (such as --missing 0.1)".into()));
                }
            } else {
                let m = Missing::from_str(v, true).map_err(SemError::Input)?;
                if method.replace(m).is_some() {
                    return Err(SemError::Input("--missing: give one method (listwise, fiml or pairwise)".into()));
                }
            }
        }
        Ok((rate.unwrap_or(0.0), method.unwrap_or(Missing::Listwise)))
    }

    fn settings(&self) -> Vec<Setting> {
        let c = &self.cli;
        let mut s = merge::settings_from_debug(
            &format!("{c:#?}"),
            &["population", "model"],
            &["shard", "jobs", "format", "output", "digits", "missing"],
        );
        s.push(Setting {
            name: "--missing".into(),
            value: format!("{:?}", self.missing),
        });
        s.push(Setting {
            name: "population file contents".into(),
            value: merge::content_hash(&c.population),
        });
        if let Some(m) = &c.model {
            s.push(Setting {
                name: "model file contents".into(),
                value: merge::content_hash(m),
            });
        }
        s
    }

    pub fn run(&self) -> Result<u8, SemError> {
        let c = &self.cli;
        let (rate, method) = self.missing()?;
        let mut flags = c.flags.clone();
        flags.missing = method;
        // --seed (shared with the bootstrap's) seeds the replications
        let seed = flags.boot.seed.unwrap_or(1);
        let boot = flags.se == super::SeKind::Bootstrap || flags.boot.test == super::bootstrap::TestKind::BollenStine;
        if !boot {
            flags.boot.seed = None;
        }
        let fit = flags.options()?;
        let shard = c.shard.as_deref().map(Shard::parse).transpose().map_err(SemError::Input)?;
        let designs: Vec<Design> =
            c.n.iter()
                .map(|s| Design::parse(s))
                .collect::<Result<_, _>>()
                .map_err(SemError::Input)?;
        if c.target_power.is_some() {
            if shard.is_some() {
                return Err(SemError::Input(
                    "--target-power cannot be sharded (each N tried depends on the power at the last one); shard a power curve at fixed --n instead".into(),
                ));
            }
            if designs.len() > 1 {
                return Err(SemError::Input(
                    "with --target-power, --n takes one sample size: the first N tried (default 100)".into(),
                ));
            }
            if designs.first().is_some_and(|d| d.groups.len() > 1) {
                return Err(SemError::Input(
                    "--target-power searches one-group designs only; give --n as one number".into(),
                ));
            }
        } else if designs.is_empty() {
            return Err(SemError::Input(
                "--n needs the sample sizes, such as --n 150,300,600 (or --target-power P --hypotheses H1,H2 to search N)".into(),
            ));
        } else if !c.hypotheses.is_empty() {
            return Err(SemError::Input("--hypotheses goes with --target-power".into()));
        }
        let start = designs.first().map(|d| d.total());
        let opts = PowerOptions {
            population: c.population.clone(),
            model: c.model.clone(),
            designs: if designs.is_empty() {
                vec![Design { groups: vec![100] }]
            } else {
                designs
            },
            reps: c.reps,
            seed,
            likert: c.likert,
            missing: rate,
            fit,
            jobs: c.jobs.map(usize::from),
        };
        let mut study = match Study::new(opts.clone()) {
            // the default first N of a search may be too small for a wide model
            Err(e) if c.target_power.is_some() && start.is_none() && e.to_string().contains("too few") => {
                let p = crate::simulate::simulate_file(
                    &c.population,
                    &crate::simulate::SimOptions {
                        n: 1,
                        ..Default::default()
                    },
                )
                .map(|s| s.population.ov.len())
                .unwrap_or(100);
                Study::new(PowerOptions {
                    designs: vec![Design { groups: vec![2 * p + 2] }],
                    ..opts
                })?
            }
            r => r?,
        };
        let total = if c.target_power.is_some() {
            0
        } else {
            study.frame.conditions.len() as u64 * shard.map_or(c.reps, |s| (c.reps + s.of - s.k) / s.of) as u64
        };
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} replications [{bar:30}] {pos}/{len}, {elapsed}") {
            bar.set_style(style.progress_chars("=> "));
        }
        if total == 0 {
            bar.set_style(indicatif::ProgressStyle::default_spinner());
            bar.set_message("searching N");
        }
        let on_done = || bar.inc(1);
        let text = if let Some(t) = c.target_power {
            let r = power::search::search(&mut study, t, &c.hypotheses, start, &on_done)?;
            render::render(&r, c.format, c.digits.map(usize::from))
        } else if let Some(s) = shard {
            let accs = study.run(Some(s), &on_done)?;
            let info = PartialInfo {
                kind: "power".into(),
                shard: s.k,
                of: s.of,
                settings: self.settings(),
                sem_version: env!("CARGO_PKG_VERSION").into(),
            };
            merge::power_partial_json(info, &study.frame, accs)
        } else {
            let accs = study.run(None, &on_done)?;
            let r = power::finish(&study.frame, &accs);
            render::render(&r, c.format, c.digits.map(usize::from))
        };
        bar.finish_and_clear();
        emit(&text, c.output.as_deref())?;
        Ok(0)
    }
}

/// `sem merge PARTIAL...`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// the partial reports written with --shard K/N (any order)
    #[arg(required = true, num_args = 1..)]
    pub partials: Vec<PathBuf>,
    /// power: text, json, csv, markdown, html; batch: table (text), csv, json, markdown
    #[arg(long, value_enum, default_value = "text")]
    pub format: PowerFormat,
    /// write the report to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// decimals (as the unsharded command's --digits)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

pub fn run_merge(a: MergeArgs) -> Result<u8, SemError> {
    let digits = a.digits.map(usize::from);
    match merge::merge(&a.partials)? {
        merge::Merged::Power(r) => {
            emit(&render::render(&r, a.format, digits), a.output.as_deref())?;
            Ok(0)
        }
        merge::Merged::Batch(r, figure) => {
            use super::batch::BatchFormat;
            let f = match a.format {
                PowerFormat::Text => BatchFormat::Table,
                PowerFormat::Json => BatchFormat::Json,
                PowerFormat::Csv => BatchFormat::Csv,
                PowerFormat::Markdown => BatchFormat::Markdown,
                PowerFormat::Html => BatchFormat::Html,
            };
            super::batch::finish(&r, f, digits, a.output.as_deref(), figure.as_deref())
        }
    }
}
