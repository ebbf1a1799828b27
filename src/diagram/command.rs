//! `sem diagram MODEL [DATA]`: the path diagram of a model. Without DATA
//! the model is only checked (`pipeline::check`) and its structure drawn;
//! with DATA it is fitted with exactly `sem fit`'s code and options, and a
//! fit that is no result (no convergence, not identified) is refused with
//! `sem fit`'s message, so the picture never shows numbers the tables
//! would not. The command line lives in `cli::diagram`.

use super::{dot, svg, Diagram, Options};
use crate::pipeline::{self, FitOptions, SemError};
use std::path::Path;

/// The picture's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Dot,
}

/// Check or fit the model and draw it.
pub fn draw(model: &Path, data: Option<&Path>, fit: &FitOptions, opt: &Options, format: Format) -> Result<String, SemError> {
    let d = match data {
        None => {
            if fit.group.is_some() {
                return Err(SemError::Input(
                    "sem diagram: --group needs the DATA argument (the groups come from the data)".into(),
                ));
            }
            let r = pipeline::check(model, None, fit)?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            Diagram::from_check(&r, opt)
        }
        Some(data) => {
            let r = pipeline::fit(model, data, fit)?;
            if let Some(e) = pipeline::unusable(&r) {
                return Err(e);
            }
            if let Some(k) = opt.group_index {
                let n = r.groups.as_ref().map_or(1, Vec::len);
                if k == 0 || k > n {
                    return Err(SemError::Input(format!(
                        "--group-index {k}: the fit has {n} group{}; give a number from 1 to {n}",
                        if n == 1 { "" } else { "s" }
                    )));
                }
            }
            Diagram::from_fit(&r, opt)
        }
    };
    if let (None, Some(k)) = (data, opt.group_index) {
        if k != 1 {
            return Err(SemError::Input(format!("--group-index {k}: without DATA the model has one group")));
        }
    }
    Ok(match format {
        Format::Svg => svg::render(&d),
        Format::Dot => dot::render(&d),
    })
}

/// The model's structure (no data) as an inline SVG for an HTML page; None
/// when the model cannot be checked (the command has reported that already).
pub fn structure_svg(model: &Path, fit: &FitOptions) -> Option<String> {
    let fit = FitOptions {
        group: None,
        ordered: None,
        ..fit.clone()
    };
    let r = pipeline::check(model, None, &fit).ok()?;
    Some(svg::render_inline(&Diagram::from_check(&r, &Options::default()), "fig1"))
}
