//! `sem batch MODEL DATA...`: the command line of `crate::batch`. It takes
//! `sem fit`'s options (the same `FitFlags`, validated by the same code), expands the data
//! patterns, shows a progress bar on stderr (indicatif hides it when stderr
//! is not a terminal), renders the batch report and tells failures and
//! failed gates on stderr. Exit code: 2 if any data set had bad input, else
//! 1 if any did not converge or is not identified, else 3 if any failed a
//! gate, else 0.

use super::gates::{report_failures, GateArgs};
use super::{emit, FitFlags};
use crate::pipeline::SemError;
use crate::report::batch::BatchReport;
use crate::report::{batch_csv, batch_markdown, batch_table, Style};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchFormat {
    /// hypotheses x data sets, then one fit line per data set
    Table,
    /// one row per data set and hypothesis
    Csv,
    Json,
    Markdown,
    /// one self-contained page: the model's diagram and the tables
    Html,
}

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// model file in lavaan model syntax
    pub model: PathBuf,
    /// CSV data files or glob patterns (quote a pattern: "data/bradford_*.csv")
    #[arg(required = true, num_args = 1..)]
    pub data: Vec<std::ffi::OsString>,
    #[command(flatten)]
    pub flags: FitFlags,
    #[arg(long, value_enum, default_value = "table")]
    pub format: BatchFormat,
    /// write the report to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// number of data sets fitted at once (default: all cores)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    #[command(flatten)]
    pub gates: GateArgs,
    /// decimals in table, markdown and CSV (default 2 in the matrix, 3 in the fit lines, full
    /// precision in CSV); JSON always has full precision
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

pub const AFTER_HELP: &str = "\
Output (--format):
  table     hypotheses x data sets: standardized estimate, * when supported; then one fit
            line per data set (N, chisq, df, p, CFI, TLI, RMSEA, SRMR); then failures
  csv       dataset,hypothesis,lhs,op,rhs,est,se,z,pvalue,std_all,supported,expected_sign,
            nobs,chisq,df,pvalue_chisq,cfi,tli,rmsea,srmr,status,error,gate_failures
  json      {model_file, alpha, hypotheses, datasets: [{dataset, status, error, fit,
            hypotheses, gate_failures, ...}], warnings, exit_code}
  markdown  the table as markdown

Data sets are fitted in parallel and reported in path order; each gets exactly the numbers
of `sem fit`. A data set that fails is reported with its reason and the others go on.
Hypothesis signs (# expect: H3 < 0) and gates work as in `sem fit --help`.

Exit codes:
  0 all fitted; 1 some data set did not converge or is not identified; 2 bad usage, or some
  data set had bad input; 3 all fitted but a --require / --require-supported gate failed";

/// Render a batch report in a format.
pub fn render(r: &BatchReport, f: BatchFormat) -> String {
    render_styled(r, f, Style::default())
}

/// Render a batch report in a format with `--digits` (JSON keeps full precision).
pub fn render_styled(r: &BatchReport, f: BatchFormat, style: Style) -> String {
    match f {
        BatchFormat::Table => batch_table::render_styled(r, style),
        BatchFormat::Csv => batch_csv::render_styled(r, style),
        BatchFormat::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        BatchFormat::Markdown => batch_markdown::render_styled(r, style),
        BatchFormat::Html => render_html(r, style, None),
    }
}

/// The HTML page: the markdown tables, with the model's diagram (`figure`, inline SVG).
pub fn render_html(r: &BatchReport, style: Style, figure: Option<&str>) -> String {
    let title = format!("sem batch: {}", r.model_file);
    crate::report::html::markdown_page(&title, &batch_markdown::render_styled(r, style), figure)
}

pub fn run(a: BatchArgs) -> Result<u8, SemError> {
    let mut opt = a.flags.options()?;
    let gates = a.gates.gates()?;
    opt.validity |= gates.needs_validity();
    let data = crate::batch::expand(&a.data)?;
    let bar = ProgressBar::new(data.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} fitting [{bar:30}] {pos}/{len} data sets, {elapsed} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    if !bar.is_hidden() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    let on_done = |p: &std::path::Path| {
        bar.set_message(p.display().to_string());
        bar.inc(1);
    };
    let result = crate::batch::run(&a.model, &data, &opt, &gates, a.jobs.map(usize::from), &on_done);
    bar.finish_and_clear();
    let r = result?;
    let style = Style::with_digits(a.digits.map(usize::from));
    let text = if a.format == BatchFormat::Html {
        let figure = crate::diagram::command::structure_svg(&a.model, &opt);
        render_html(&r, style, figure.as_deref())
    } else {
        render_styled(&r, a.format, style)
    };
    emit(&text, a.output.as_deref())?;
    for d in &r.datasets {
        if d.error.is_some() {
            eprintln!("error: {}: {}: {}", d.dataset, d.status.describe(), d.reason());
        }
        report_failures(&d.dataset, &d.gate_failures);
    }
    Ok(r.exit_code)
}
