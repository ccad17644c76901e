//! One module per subcommand: its clap arguments and its `run`.
pub mod completions;
pub mod demo;
pub mod migrate;
pub mod record;
pub mod summary;
