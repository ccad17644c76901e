//! The `usagectl` binary: parse, run, print the error chain, choose the exit code.
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match usagectl::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match usagectl::run(cli) {
        Ok(code) => code,
        Err(err) => usagectl::error::report(&err),
    }
}
