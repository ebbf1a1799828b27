//! `sem` binary: parse the command line, run it, map the result to the
//! contract's exit code (0 done, 1 not converged or not identified, 2 bad
//! usage or input; 3, our extension, a CI gate failed). Errors go to stderr
//! as one clear message.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match sem::cli::Cli::try_parse_normalized(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match sem::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let msg = e.to_string();
            if msg.starts_with("error") {
                eprint!("{msg}");
                if !msg.ends_with('\n') {
                    eprintln!();
                }
            } else {
                eprintln!("error: {msg}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
