//! Command-line interface: clap definitions of the contract's commands and
//! options (`../shared/CONTRACT.md`), and the glue that runs a command,
//! renders its report in the chosen format and writes it to stdout or,
//! atomically, to `--output`.

pub mod batch;
pub mod bootstrap;
pub mod comparison;
pub mod diagram;
pub mod gates;
pub mod generate;
pub mod output;
pub mod progress;

use crate::data::CsvOptions;
use crate::pipeline::{self, FitOptions, SemError};
use crate::report::{self, FitReport};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

mod simulate;
pub use simulate::SimulateArgs;
pub mod power;

#[derive(Parser, Debug)]
#[command(
    name = "sem",
    version,
    about = "Structural equation modeling from the terminal: lavaan syntax, lavaan numbers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fit one model to one data set and report it
    #[command(after_help = gates::AFTER_HELP)]
    Fit(FitArgs),
    /// Fit one model to many data sets (paths or globs) in parallel: hypotheses x data sets
    #[command(after_help = batch::AFTER_HELP)]
    Batch(batch::BatchArgs),
    /// Parse the model and print its parameter table (with DATA: df and columns used)
    Check(CheckArgs),
    /// Nested-model test (chi-square difference) of two models on one data set
    Compare(CompareArgs),
    /// Configural, metric, scalar and strict models across groups, with difference tests
    Invariance(InvarianceArgs),
    /// Draw a data set from a population model written with fixed values (CSV)
    Simulate(SimulateArgs),
    /// Draw the path diagram of a model (SVG or DOT); with DATA the fitted values
    #[command(after_help = diagram::AFTER_HELP)]
    Diagram(diagram::DiagramArgs),
    /// Monte Carlo power: simulate from a population, fit, count supported hypotheses per N
    #[command(after_help = power::AFTER_HELP)]
    Power(power::PowerArgs),
    /// Merge the partial reports of `power --shard K/N` or `batch --shard K/N` into one report
    Merge(power::MergeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(generate::CompletionsArgs),
    /// Print the man page sem(1) (roff), e.g. `sem man > sem.1`
    Man(generate::ManArgs),
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// the first model file
    pub model_a: PathBuf,
    /// the second model file (nested in, or nesting, the first)
    pub model_b: PathBuf,
    /// data file: CSV, SPSS .sav/.zsav, Stata .dta, Excel .xlsx, or `-` (standard input)
    pub data: PathBuf,
    #[command(flatten)]
    pub flags: FitFlags,
    /// text, json, csv (one row per model) or markdown
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// decimals in text, markdown and CSV (JSON has full precision)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

#[derive(Args, Debug)]
pub struct InvarianceArgs {
    pub model: PathBuf,
    pub data: PathBuf,
    #[command(flatten)]
    pub flags: FitFlags,
    /// text, json, csv (one row per step) or markdown
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// decimals in text, markdown and CSV (JSON has full precision)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    Markdown,
    /// one self-contained page: the path diagram and APA-style tables (no network needed)
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    Ml,
    Mlr,
    Mlm,
    /// robust.sem standard errors, mean-and-variance adjusted (scaled-shifted) test
    Mlmv,
    /// robust.sem standard errors, Satterthwaite mean-and-variance adjusted test
    Mlmvs,
    /// standard errors from the first-order (outer product of gradients) information
    Mlf,
    Gls,
    Uls,
    Wlsmv,
    Ulsmv,
    Wls,
    Dwls,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Listwise,
    Fiml,
    /// ordinal data: each statistic from the rows where its variables are observed (lavaan's "pairwise")
    Pairwise,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeKind {
    Standard,
    Robust,
    /// Huber-White sandwich standard errors with ML (lavaan's se = "robust.huber.white")
    #[value(name = "robust.huber.white")]
    RobustHuberWhite,
    Bootstrap,
}

/// lavaan's `information`: the matrix the standard errors come from.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InformationArg {
    /// the expected (Fisher) information (default for ML, MLM, MLMV, MLMVS)
    Expected,
    /// the Hessian of the objective (default for MLR, FIML, robust.huber.white)
    Observed,
    /// the outer product of the casewise gradients (default for MLF)
    #[value(name = "first.order")]
    FirstOrder,
}

/// Options shared by the commands that read data.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// CSV field delimiter (one character; default `,`, or `;` with --decimal ,)
    #[arg(long)]
    pub delimiter: Option<String>,
    /// extra missing values, comma separated (besides empty, NA and .): text
    /// tokens, and numeric codes such as -99,999 (SPSS, Stata and Excel too)
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub na: Vec<String>,
    /// decimal mark of delimited text: `.` (default) or `,`
    #[arg(long, default_value = ".", value_parser = [".", ","])]
    pub decimal: String,
    /// worksheet of an Excel DATA file (default the first)
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

impl DataArgs {
    pub fn csv_options(&self) -> Result<CsvOptions, SemError> {
        let decimal = self.decimal.as_bytes().first().copied().unwrap_or(b'.');
        let given = self.delimiter.as_deref().unwrap_or(if decimal == b',' { ";" } else { "," });
        let d = match given {
            "\\t" | "tab" => "\t",
            s => s,
        };
        if d.len() != 1 {
            return Err(SemError::Input(format!(
                "--delimiter takes one single-byte character, not `{given}`"
            )));
        }
        Ok(CsvOptions {
            delimiter: d.as_bytes()[0],
            na: self.na.clone(),
            decimal,
            sheet: self.sheet.clone(),
        })
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// model file in lavaan model syntax
    pub model: PathBuf,
    /// data file with a header row: CSV, SPSS .sav/.zsav, Stata .dta, Excel .xlsx, or `-` (standard input)
    pub data: PathBuf,
    #[command(flatten)]
    pub flags: FitFlags,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// write the report to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub gates: gates::GateArgs,
    /// decimals in text, markdown and CSV (default 3 in text and markdown, full precision
    /// in CSV); JSON always has full precision
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

impl FitArgs {
    pub fn style(&self) -> report::Style {
        report::Style::with_digits(self.digits.map(usize::from))
    }

    pub fn options(&self) -> Result<FitOptions, SemError> {
        self.flags.options()
    }
}

/// `--effects` (totals) or `--effects all` (also each specific indirect path).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectsArg {
    Totals,
    All,
}

/// The estimation options shared by fit, batch, compare and invariance.
#[derive(Args, Debug, Clone)]
pub struct FitFlags {
    /// the estimator: ml (default), or wlsmv (the default with --ordered)
    #[arg(long, value_enum)]
    pub estimator: Option<Estimator>,
    #[arg(long, value_enum, default_value = "listwise")]
    pub missing: Missing,
    /// multiple-group analysis by this column (groups in order of first appearance)
    #[arg(long)]
    pub group: Option<String>,
    /// equality constraints across groups, comma separated: loadings, intercepts,
    /// means, residuals, residual.covariances, lv.variances, lv.covariances, regressions
    #[arg(long, value_delimiter = ',')]
    pub group_equal: Vec<String>,
    /// parameters --group-equal leaves free across groups (lavaan's group.partial),
    /// comma separated, e.g. `visual=~x3,x7~1`
    #[arg(long, value_delimiter = ',')]
    pub group_partial: Vec<String>,
    /// growth-model defaults (lavaan's growth(): observed intercepts 0, latent means free)
    #[arg(long)]
    pub growth: bool,
    /// identify factors by unit variance instead of the first loading
    #[arg(long)]
    pub std_lv: bool,
    /// add intercepts and means
    #[arg(long)]
    pub meanstructure: bool,
    #[arg(long, value_enum, default_value = "standard")]
    pub se: SeKind,
    /// the information matrix of the standard errors (lavaan's information=);
    /// default: the estimator's
    #[arg(long, value_enum)]
    pub information: Option<InformationArg>,
    /// confidence level of the intervals
    #[arg(long, default_value_t = 0.95)]
    pub ci_level: f64,
    /// significance level for hypothesis decisions
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// add modification indices (lavaan's modindices(), largest first)
    #[arg(long)]
    pub modindices: bool,
    /// add residuals: correlation residuals and standardized residuals (lavaan's residuals())
    #[arg(long)]
    pub residuals: bool,
    /// add measurement quality per factor: alpha, omega (composite reliability), AVE,
    /// Fornell–Larcker, and HTMT per pair of factors (semTools' compRelSEM, AVE, htmt)
    #[arg(long)]
    pub validity: bool,
    /// add direct, indirect and total effects for every pair of structural variables joined
    /// by a path of two or more steps (delta-method or bootstrap SEs); `--effects all` adds
    /// each specific indirect path
    /// (`--effects` takes its value only as `--effects=all`, or as `all` right after it:
    /// `sem fit --effects model.lav data.csv` reads model.lav as the model, see `normalize_args`)
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "totals", value_name = "all")]
    pub effects: Option<EffectsArg>,
    /// optimizer iteration cap
    #[arg(long, default_value_t = 10_000)]
    pub max_iter: u64,
    #[command(flatten)]
    pub ordinal: OrdinalArgs,
    #[command(flatten)]
    pub data_args: DataArgs,
    #[command(flatten)]
    pub boot: bootstrap::BootArgs,
}

/// Ordinal observed variables (shared by fit, batch, compare, invariance, check).
#[derive(Args, Debug, Clone)]
pub struct OrdinalArgs {
    /// ordinal variables: `all` (every observed variable of the model) or
    /// columns, comma separated; their sorted distinct values are the categories
    #[arg(long, value_delimiter = ',')]
    pub ordered: Vec<String>,
    /// scaling of the ordinal variables' latent responses (lavaan's parameterization)
    #[arg(long, value_enum, default_value = "delta")]
    pub parameterization: ParameterizationArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterizationArg {
    Delta,
    Theta,
}

impl OrdinalArgs {
    pub fn spec(&self) -> Result<Option<crate::ordinal::columns::OrderedSpec>, SemError> {
        crate::ordinal::columns::OrderedSpec::parse(&self.ordered).map_err(SemError::Input)
    }
    pub fn parameterization(&self) -> crate::model::partable::Parameterization {
        match self.parameterization {
            ParameterizationArg::Delta => crate::model::partable::Parameterization::Delta,
            ParameterizationArg::Theta => crate::model::partable::Parameterization::Theta,
        }
    }
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// model file in lavaan model syntax
    pub model: PathBuf,
    /// optional data file (any format `fit` reads): adds df, the columns used and a description of each
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub std_lv: bool,
    #[arg(long)]
    pub meanstructure: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
    #[command(flatten)]
    pub ordinal: OrdinalArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn not_yet(what: &str) -> SemError {
    SemError::Input(format!("{what} is not available in this version of sem yet; run without it (ML with listwise deletion and standard errors from the expected information)"))
}

fn check_level(name: &str, v: f64) -> Result<(), SemError> {
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(SemError::Input(format!("{name} must be between 0 and 1, not {v}")))
    }
}

impl FitFlags {
    /// The fit options, or a clear refusal of what is not built yet.
    pub fn options(&self) -> Result<FitOptions, SemError> {
        let default = if self.ordinal.ordered.is_empty() {
            Estimator::Ml
        } else {
            Estimator::Wlsmv
        };
        let chosen = self.estimator.unwrap_or(default);
        let estimator = match chosen {
            Estimator::Wlsmv => crate::pipeline::EstimatorKind::Wlsmv,
            Estimator::Ulsmv => crate::pipeline::EstimatorKind::Ulsmv,
            Estimator::Wls => crate::pipeline::EstimatorKind::Wls,
            Estimator::Dwls => crate::pipeline::EstimatorKind::Dwls,
            Estimator::Ml => crate::pipeline::EstimatorKind::Ml,
            Estimator::Mlm => crate::pipeline::EstimatorKind::Mlm,
            Estimator::Mlr => crate::pipeline::EstimatorKind::Mlr,
            Estimator::Mlmv => crate::pipeline::EstimatorKind::Mlmv,
            Estimator::Mlmvs => crate::pipeline::EstimatorKind::Mlmvs,
            Estimator::Mlf => crate::pipeline::EstimatorKind::Mlf,
            Estimator::Gls => crate::pipeline::EstimatorKind::Gls,
            Estimator::Uls => crate::pipeline::EstimatorKind::Uls,
        };
        if self.missing == Missing::Fiml
            && !matches!(
                estimator,
                crate::pipeline::EstimatorKind::Ml | crate::pipeline::EstimatorKind::Mlr | crate::pipeline::EstimatorKind::Mlf
            )
        {
            let lavaan_refuses = matches!(chosen, Estimator::Mlm | Estimator::Mlmv | Estimator::Gls | Estimator::Uls);
            return Err(SemError::Input(format!(
                "--missing fiml works with --estimator ml, mlr or mlf only, not with --estimator {}{}; drop one of the two",
                format!("{chosen:?}").to_lowercase(),
                if lavaan_refuses {
                    format!(" (lavaan: missing=\"ml\" is not allowed for estimator {})", estimator.name())
                } else {
                    String::new()
                }
            )));
        }
        if self.se == SeKind::RobustHuberWhite && !matches!(chosen, Estimator::Ml) {
            return Err(SemError::Input(format!(
                "--se robust.huber.white works with --estimator ml (Huber-White standard errors with the standard test), not with --estimator {}; --estimator mlr has them with the Yuan-Bentler test",
                format!("{chosen:?}").to_lowercase()
            )));
        }
        if self.information.is_some() && self.se == SeKind::Bootstrap {
            return Err(SemError::Input(
                "--information does not apply to --se bootstrap: bootstrap standard errors use no information matrix".into(),
            ));
        }
        for k in &self.group_equal {
            if !crate::model::partable::GROUP_EQUAL.contains(&k.as_str()) {
                return Err(SemError::Input(format!(
                    "--group-equal: unknown keyword `{k}`; use {}",
                    crate::model::partable::GROUP_EQUAL.join(", ")
                )));
            }
        }
        if !self.group_equal.is_empty() && self.group.is_none() {
            return Err(SemError::Input("--group-equal needs --group COL".into()));
        }
        if !self.group_partial.is_empty() && self.group.is_none() {
            return Err(SemError::Input("--group-partial needs --group COL".into()));
        }
        for p in &self.group_partial {
            let p: String = p.split_whitespace().collect();
            let ok = ["=~", "~~", "~1", "~", "|"].iter().any(|op| {
                p.split_once(op)
                    .is_some_and(|(l, r)| !l.is_empty() && (!r.is_empty() || *op == "~1") && !r.contains('~'))
            });
            if !ok {
                return Err(SemError::Input(format!(
                    "--group-partial: `{p}` is not a parameter written `lhs op rhs`, e.g. `visual=~x3`, `x7~1`, `x1~~x2`"
                )));
            }
        }
        // lavaan's se = "robust": robust.sem with ML; MLM and MLR are robust already
        if self.se == SeKind::Robust && (self.missing == Missing::Fiml || matches!(chosen, Estimator::Gls | Estimator::Uls)) {
            return Err(not_yet(
                "--se robust with --missing fiml or a least-squares estimator (use --estimator mlr)",
            ));
        }
        let bootstrap = self.boot.settings(self.se == SeKind::Bootstrap)?;
        check_level("--ci-level", self.ci_level)?;
        check_level("--alpha", self.alpha)?;
        Ok(FitOptions {
            estimator,
            std_lv: self.std_lv,
            meanstructure: self.meanstructure,
            group: self.group.clone(),
            group_equal: self.group_equal.clone(),
            group_partial: self.group_partial.clone(),
            growth: self.growth,
            modindices: self.modindices,
            se_robust: self.se == SeKind::Robust,
            se_huber_white: self.se == SeKind::RobustHuberWhite,
            information: self.information.map(|i| match i {
                InformationArg::Expected => crate::estimator::Information::Expected,
                InformationArg::Observed => crate::estimator::Information::Observed,
                InformationArg::FirstOrder => crate::estimator::Information::FirstOrder,
            }),
            residuals: self.residuals,
            ci_level: self.ci_level,
            alpha: self.alpha,
            max_iter: self.max_iter,
            csv: self.data_args.csv_options()?,
            fiml: self.missing == Missing::Fiml,
            bootstrap,
            ordered: self.ordinal.spec()?,
            estimator_chosen: self.estimator.is_some(),
            parameterization: self.ordinal.parameterization(),
            pairwise: self.missing == Missing::Pairwise,
            validity: self.validity,
            effects: self.effects.map(|e| match e {
                EffectsArg::Totals => crate::inference::effects::Detail::Totals,
                EffectsArg::All => crate::inference::effects::Detail::All,
            }),
            report_extras: true,
        })
    }
}

/// The command line as clap should read it. `--effects` has an optional value,
/// which clap takes only when written `--effects=all` (so that `sem fit
/// --effects model.lav data.csv` reads model.lav as the model, not as the
/// value); the documented `--effects all` (and `--effects totals`) is rewritten
/// to that form here. Nothing after `--` is touched.
pub fn normalize_args<I, T>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut it = args.into_iter().map(Into::into).peekable();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a);
            out.extend(it);
            break;
        }
        if a == "--effects" {
            if let Some(v) = it.peek().and_then(|v| v.to_str()).filter(|v| matches!(*v, "all" | "totals")) {
                out.push(format!("--effects={v}").into());
                it.next();
                continue;
            }
        }
        out.push(a);
    }
    out
}

impl Cli {
    /// Parse a command line after `normalize_args` (what the binary does).
    pub fn try_parse_normalized<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        Cli::try_parse_from(normalize_args(args))
    }
}

/// Render a fit report in a format.
pub fn render_fit(r: &FitReport, f: Format) -> String {
    render_fit_styled(r, f, report::Style::default())
}

/// Render a fit report in a format with `--digits` (JSON keeps full precision).
pub fn render_fit_styled(r: &FitReport, f: Format, style: report::Style) -> String {
    match f {
        Format::Text => report::text::render_styled(r, style),
        Format::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        Format::Csv => report::csv_out::render_styled(r, style),
        Format::Markdown => report::markdown::render_styled(r, style),
        Format::Html => report::html::render(r, style),
    }
}

/// Write to stdout (a closed pipe is not an error) or to `--output` without
/// destroying what it names (`output`: atomic for regular files).
pub fn emit(text: &str, output: Option<&Path>) -> Result<(), SemError> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(SemError::Input(format!("cannot write to stdout: {e}"))),
                _ => Ok(()),
            }
        }
        Some(path) => output::write_output(path, text.as_bytes()),
    }
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, SemError> {
    match cli.command {
        Command::Fit(a) => {
            let mut opt = a.options()?;
            if let Some(b) = opt.bootstrap.as_mut() {
                b.progress = true;
            }
            let gates = a.gates.gates()?;
            opt.validity |= gates.needs_validity();
            // the bootstrap has its own progress bar
            let spinner = opt
                .bootstrap
                .is_none()
                .then(|| progress::Progress::start(format!("fitting {} to {}", a.model.display(), a.data.display())));
            let r = pipeline::fit(&a.model, &a.data, &opt);
            drop(spinner);
            let r = r?;
            let names: Vec<String> = r.hypotheses.iter().map(|h| h.name.clone()).collect();
            gates.check_names(&names).map_err(SemError::Input)?;
            if let Some(e) = pipeline::unusable(&r) {
                return Err(e);
            }
            // CSV has room for estimates only: its warnings go to stderr
            if a.format == Format::Csv {
                for w in &r.warnings {
                    eprintln!("warning: {w}");
                }
            }
            emit(&render_fit_styled(&r, a.format, a.style()), a.output.as_deref())?;
            let failed = gates.evaluate(&r);
            gates::report_failures(&r.data_file, &failed);
            Ok(if failed.is_empty() { 0 } else { gates::GATE_FAILED })
        }
        Command::Compare(a) => comparison::run_compare(a),
        Command::Invariance(a) => comparison::run_invariance(a),
        Command::Batch(a) => batch::run(a),
        Command::Check(a) => {
            let opt = FitOptions {
                std_lv: a.std_lv,
                meanstructure: a.meanstructure,
                csv: a.data_args.csv_options()?,
                ordered: a.ordinal.spec()?,
                parameterization: a.ordinal.parameterization(),
                ..FitOptions::default()
            };
            let r = pipeline::check(&a.model, a.data.as_deref(), &opt)?;
            let text = match a.format {
                Format::Json => serde_json::to_string_pretty(&r).unwrap_or_default() + "\n",
                Format::Text => report::check::render_text(&r),
                Format::Markdown => report::check::render_markdown(&r),
                Format::Html => {
                    let d = crate::diagram::Diagram::from_check(&r, &crate::diagram::Options::default());
                    let figure = crate::diagram::svg::render_inline(&d, "fig1");
                    report::html::markdown_page(
                        &format!("sem check: {}", r.model_file),
                        &report::check::render_markdown(&r),
                        Some(&figure),
                    )
                }
                Format::Csv => {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    for p in &r.parameters {
                        let _ = w.serialize(p);
                    }
                    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
                }
            };
            emit(&text, a.output.as_deref())?;
            Ok(if r.df < 0 { 1 } else { 0 })
        }
        Command::Diagram(a) => diagram::run(a),
        Command::Simulate(a) => a.run(),
        Command::Power(a) => a.run(),
        Command::Merge(a) => power::run_merge(a),
        Command::Completions(a) => generate::run_completions(a),
        Command::Man(a) => generate::run_man(a),
    }
}
