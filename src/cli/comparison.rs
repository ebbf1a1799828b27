//! `sem compare` and `sem invariance`: run the comparison, render its
//! report in the chosen format (`crate::report::comparison`; JSON is the
//! serialized report) and map it to an exit code. Options that the
//! comparison cannot honour are refused here, never silently ignored.

use super::{emit, CompareArgs, Format, InvarianceArgs};
use crate::pipeline::SemError;
use crate::report::comparison::{self, View};
use crate::report::Style;

fn render(v: &View, json: impl FnOnce() -> String, format: Format, digits: Option<u8>, figure: Option<&str>) -> String {
    let style = Style::with_digits(digits.map(usize::from));
    match format {
        Format::Html => crate::report::html::markdown_page(&v.title, &comparison::markdown(v, style), figure),
        Format::Json => json(),
        Format::Text => comparison::text(v, style),
        Format::Markdown => comparison::markdown(v, style),
        Format::Csv => comparison::csv(v, style),
    }
}

pub fn run_compare(a: CompareArgs) -> Result<u8, SemError> {
    if a.flags.modindices {
        return Err(SemError::Input(
            "sem compare does not compute modification indices; run `sem fit MODEL DATA --modindices` on each model".into(),
        ));
    }
    let opt = a.flags.options()?;
    let spinner = super::progress::Progress::start(format!("fitting {} and {}", a.model_a.display(), a.model_b.display()));
    let r = crate::compare::compare(&a.model_a, &a.model_b, &a.data, &opt);
    drop(spinner);
    let r = r?;
    let json = || serde_json::to_string_pretty(&r).unwrap_or_default() + "\n";
    emit(&render(&View::of_compare(&r), json, a.format, a.digits, None), a.output.as_deref())?;
    Ok(if r.models.iter().all(|m| m.converged) { 0 } else { 1 })
}

pub fn run_invariance(a: InvarianceArgs) -> Result<u8, SemError> {
    if !a.flags.group_equal.is_empty() {
        return Err(SemError::Input(
            "sem invariance sets the equality constraints of each step itself; drop --group-equal".into(),
        ));
    }
    if a.flags.modindices && a.format == Format::Csv {
        return Err(SemError::Input(
            "invariance --modindices: the CSV has one row per step and no room for modification indices; use --format text, markdown or json".into(),
        ));
    }
    let opt = a.flags.options()?;
    let spinner = super::progress::Progress::start(format!("fitting the invariance models of {}", a.model.display()));
    let r = crate::compare::invariance(&a.model, &a.data, &opt);
    drop(spinner);
    let r = r?;
    let json = || serde_json::to_string_pretty(&r).unwrap_or_default() + "\n";
    let figure = (a.format == Format::Html)
        .then(|| crate::diagram::command::structure_svg(&a.model, &opt))
        .flatten();
    emit(
        &render(&View::of_invariance(&r), json, a.format, a.digits, figure.as_deref()),
        a.output.as_deref(),
    )?;
    Ok(if r.steps.iter().all(|m| m.converged) { 0 } else { 1 })
}
