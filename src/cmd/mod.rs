//! One module per subcommand: its clap arguments and its `run`.
pub mod alert;
pub mod archive;

pub mod completions;
pub mod costs;
pub mod demo;
pub mod doctor;
pub mod events;

pub mod export;
pub mod grant;
pub mod limits;
pub mod maintain;
pub mod migrate;
pub mod org;
pub mod partition;
pub mod record;
pub mod status;
pub mod stripe;
pub mod summary;
pub mod tier;
pub mod top;
