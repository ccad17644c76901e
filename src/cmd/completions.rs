//! `usagectl completions SHELL`: print a completion script generated from the clap tree.
use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Examples:
  usagectl completions bash > ~/.local/share/bash-completion/completions/usagectl
  usagectl completions zsh  > ~/.zfunc/_usagectl
  usagectl completions fish > ~/.config/fish/completions/usagectl.fish

",
    crate::exit_codes!()
);

/// Arguments of `usagectl completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Write the completion script to `out`.
pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<()> {
    out.write_all(&crate::cli::assets::completion(args.shell))
        .context("writing the completion script")?;
    out.flush().context("writing the completion script")
}
