//! `sem diagram`: the clap definition of the command and the glue that
//! hands it to `crate::diagram::command` and writes the picture to stdout
//! or, atomically, to `--output`.

use super::{emit, FitFlags};
use crate::diagram::command::{self, Format};
use crate::diagram::{Options, Values};
use crate::pipeline::SemError;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagramFormat {
    /// SVG written by sem itself (no graphviz needed)
    Svg,
    /// graphviz's DOT language (`dot -Tpdf`)
    Dot,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValuesArg {
    /// the standardized solution (std.all), as papers print it
    Std,
    /// the unstandardized estimates
    Est,
}

#[derive(Args, Debug)]
pub struct DiagramArgs {
    /// model file in lavaan model syntax
    pub model: PathBuf,
    /// data file: draw the fitted values (without it: the model's structure)
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub flags: FitFlags,
    #[arg(long, value_enum, default_value = "svg")]
    pub format: DiagramFormat,
    /// write the picture to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// the values on the arrows
    #[arg(long, value_enum, default_value = "std")]
    pub values: ValuesArg,
    /// leave the indicators out: only the structural model
    #[arg(long)]
    pub structural: bool,
    /// draw only this group (1 = the first) of a multiple-group fit
    #[arg(long, value_name = "K")]
    pub group_index: Option<usize>,
    /// decimals of the values on the picture (default 2)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pub digits: Option<u8>,
}

pub const AFTER_HELP: &str = "\
Latent variables are ellipses, observed ones rectangles; exogenous variables stand on the
left and final outcomes on the right, indicators beside their factor. With DATA the arrows
carry the standardized estimates (--values est: the raw ones) with * p < .05, ** p < .01,
*** p < .001, hypotheses their label (H3: .17**), dashed when not supported; R² is written
inside each endogenous variable of the structural part; covariances are curved two-headed
arrows; --residuals adds the (residual) variances as small circles.

Examples:
  sem diagram models/bradford.lav data/bradford_demo.csv --output bradford.svg
  sem diagram models/bradford.lav --structural --format dot | dot -Tpdf > bradford.pdf";

pub fn run(a: DiagramArgs) -> Result<u8, SemError> {
    let mut fit = a.flags.options()?;
    // --residuals means the variances on the picture here, not lavaan's residuals()
    fit.residuals = false;
    let opt = Options {
        values: match a.values {
            ValuesArg::Std => Values::Std,
            ValuesArg::Est => Values::Est,
        },
        structural: a.structural,
        residuals: a.flags.residuals,
        group_index: a.group_index,
        digits: a.digits.map_or(2, usize::from),
    };
    let format = match a.format {
        DiagramFormat::Svg => Format::Svg,
        DiagramFormat::Dot => Format::Dot,
    };
    let picture = command::draw(&a.model, a.data.as_deref(), &fit, &opt, format)?;
    emit(&picture, a.output.as_deref())?;
    Ok(0)
}
