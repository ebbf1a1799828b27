//! `sem completions SHELL` and `sem man`: shell completion scripts
//! (clap_complete) and a roff man page (clap_mangen), both generated from
//! the clap definitions in `cli`, so they always list the options the
//! binary really has.

use super::{emit, Cli};
use crate::pipeline::SemError;
use clap::{Args, CommandFactory, ValueEnum};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// the shell to write completions for
    #[arg(value_enum)]
    pub shell: Shell,
    /// write the script to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// write the man page (roff) to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// The completion script of a shell, as text.
pub fn completions(shell: Shell) -> String {
    use clap_complete::shells;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(shells::Bash, &mut cmd, "sem", &mut out),
        Shell::Zsh => clap_complete::generate(shells::Zsh, &mut cmd, "sem", &mut out),
        Shell::Fish => clap_complete::generate(shells::Fish, &mut cmd, "sem", &mut out),
        Shell::Powershell => clap_complete::generate(shells::PowerShell, &mut cmd, "sem", &mut out),
        Shell::Elvish => clap_complete::generate(shells::Elvish, &mut cmd, "sem", &mut out),
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page `sem(1)`: the top-level page followed by one section per
/// command with its options.
pub fn man_page() -> Result<String, SemError> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let io = |e: std::io::Error| SemError::Input(format!("cannot render the man page: {e}"));
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    man.render_subcommands_section(&mut out).map_err(io)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("sem {}", sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        out.extend_from_slice(format!(".SH \"{}\"\n{}\n", name.to_uppercase(), about.replace('-', "\\-")).as_bytes());
        let sub = sub.clone().bin_name(name);
        let page = clap_mangen::Man::new(sub);
        page.render_synopsis_section(&mut out).map_err(io)?;
        page.render_options_section(&mut out).map_err(io)?;
        page.render_extra_section(&mut out).map_err(io)?;
    }
    man.render_version_section(&mut out).map_err(io)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub fn run_completions(a: CompletionsArgs) -> Result<u8, SemError> {
    emit(&completions(a.shell), a.output.as_deref())?;
    Ok(0)
}

pub fn run_man(a: ManArgs) -> Result<u8, SemError> {
    emit(&man_page()?, a.output.as_deref())?;
    Ok(0)
}
