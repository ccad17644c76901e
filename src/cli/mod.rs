//! The command-line tree: global options and the list of subcommands.
pub mod assets;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::cmd;
use crate::error::{EXIT_CODES_HELP, EXIT_USAGE};
use crate::output::{ColorChoice, Format};

const ABOUT: &str =
    "Usage metering and quota administration for the usage_events table on PostgreSQL";

const LONG_ABOUT: &str = "\
Usage metering and quota administration for the usage_events table on PostgreSQL.

usagectl records billable events, summarises an organisation's usage, checks it against
its tier's limits and migrates the schema it relies on, over the same table the web app
writes to. It connects the way psql does: --database-url, then DATABASE_URL, then libpq's
PG* variables and ~/.pgpass, and with no host the Unix socket directories, then localhost.";

const AFTER_LONG_HELP: &str = concat!(
    "\
Examples:
  usagectl demo                                      # local PostgreSQL + sample data + summary
  usagectl demo --month 2026-11                      # the fixed sample month the docs use
  usagectl migrate --dry-run                         # show the SQL migrate would run
  usagectl record --org acme --event chat_message
  usagectl summary --org acme --days 7 -o json
  usagectl limits --org globex-trial --month 2026-11
  usagectl status --all --problems-only              # exit 3 approaching, 4 over
  usagectl record --org acme --event chat_message --enforce
  usagectl tier assign acme pilot
  usagectl export --month 2026-11 --output usage-2026-11.csv

Connecting:
  --database-url / DATABASE_URL take a postgres:// URL or a libpq key=value string.
  Unset keywords come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGAPPNAME,
  PGCONNECT_TIMEOUT and PGSSLMODE; a missing password is looked up in PGPASSFILE or ~/.pgpass.
  With no host: the Unix sockets in /var/run/postgresql, then /tmp, then localhost.
  A server starting up or in recovery is retried until connect_timeout (default 10 s).

",
    crate::exit_codes!()
);

/// Top-level command line.
#[derive(Parser, Debug)]
#[command(
    name = "usagectl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES_HELP,
    after_long_help = AFTER_LONG_HELP,
    propagate_version = true,
    disable_help_subcommand = true
)]
#[allow(missing_docs)] // doc comments here would change --help
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// PostgreSQL connection: a postgres:// URL or a libpq key=value string
    ///
    /// Falls back to DATABASE_URL, then to libpq's PG* variables. Prefer PGPASSFILE or
    /// ~/.pgpass for the password: a password on the command line shows in the process list.
    #[arg(
        long,
        short = 'd',
        global = true,
        help_heading = "Global options",
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// Read the connection string from a file (keeps it out of the process list)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub database_url_file: Option<std::path::PathBuf>,

    /// A read replica for summary, limits, status and export, used while its replay lag is
    /// under --max-staleness; record, tier and migrate always use the primary
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "USAGECTL_READ_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub read_database_url: Option<String>,

    /// Most replay lag, in seconds, at which the read replica is still used
    #[arg(
        long,
        global = true,
        default_value_t = 10,
        value_name = "SECONDS",
        help_heading = "Global options"
    )]
    pub max_staleness: u64,

    /// Longest wait for one lock, e.g. 5s, 500ms; 0 waits forever
    ///
    /// Set with SET LOCAL in each of usagectl's transactions. A step that takes a lock the web
    /// app's inserts would queue behind (migrate's, partition adopt's switch) instead tries
    /// with a short wait and retries, spending this much in all. A command that gives up
    /// exits 1 and names the session holding the lock.
    #[arg(
        long,
        global = true,
        env = "USAGECTL_LOCK_TIMEOUT", hide_env_values = true,
        default_value = "5s",
        value_parser = crate::time::parse_duration,
        value_name = "DURATION",
        help_heading = "Global options"
    )]
    pub lock_timeout: std::time::Duration,

    /// Longest run of one statement, e.g. 30s; 0 = no limit [default: the role's setting]
    ///
    /// migrate's index builds and backfills and doctor --repair's batches run without it.
    #[arg(
        long,
        global = true,
        env = "USAGECTL_STATEMENT_TIMEOUT", hide_env_values = true,
        value_parser = crate::time::parse_duration,
        value_name = "DURATION",
        help_heading = "Global options"
    )]
    pub statement_timeout: Option<std::time::Duration>,

    /// Say on stderr where usagectl connects (never the password)
    #[arg(long, short = 'v', global = true, help_heading = "Global options")]
    pub verbose: bool,

    /// Whether --database-url was typed on the command line (not taken from DATABASE_URL)
    #[arg(skip)]
    pub database_url_from_cli: bool,

    /// Output format [default: table; csv for export]
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        help_heading = "Global options"
    )]
    pub format: Option<Format>,

    /// When to colour table output (never for JSON or CSV)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Global options")]
    pub color: ColorChoice,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create or adopt the usage_events table and apply the tool's additive migrations
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::migrate::AFTER_LONG_HELP)]
    Migrate(cmd::migrate::MigrateArgs),

    /// Record one usage event
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::record::AFTER_LONG_HELP)]
    Record(cmd::record::RecordArgs),

    /// Summarise an organisation's usage over the last N days
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::summary::AFTER_LONG_HELP)]
    Summary(cmd::summary::SummaryArgs),

    /// Show an organisation's usage in its billing period against its limits
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::limits::AFTER_LONG_HELP)]
    Limits(cmd::limits::LimitsArgs),

    /// Quota status (ok, approaching_limit, over_limit) of one org or all, as an exit code
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::status::AFTER_LONG_HELP)]
    Status(cmd::status::StatusArgs),

    /// An org's raw events, newest first, with filters; --follow prints new ones as they commit
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::events::AFTER_LONG_HELP)]
    Events(cmd::events::EventsArgs),

    /// The orgs using the most of a metric in their period (or costing the most), with limits
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::top::AFTER_LONG_HELP)]
    Top(cmd::top::TopArgs),

    /// AI token prices per model, as a history (USD per million tokens)
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::costs::PRICE_HELP)]
    Price(cmd::costs::PriceArgs),

    /// What each org's AI tokens cost in a month, per model, in exact decimals
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::costs::COSTS_HELP)]
    Costs(cmd::costs::CostsArgs),

    /// Export a period's usage (totals or raw events) for finance, as CSV, JSON or JSON Lines
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::export::AFTER_LONG_HELP)]
    Export(cmd::export::ExportArgs),

    /// Check the schema and that the rollup agrees with the raw rows (--repair fixes it)
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::doctor::AFTER_LONG_HELP)]
    Doctor(cmd::doctor::DoctorArgs),

    /// Write whole months to verified archive files and remove their raw rows; restore one
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::archive::AFTER_LONG_HELP)]
    Archive(cmd::archive::ArchiveArgs),

    /// Partition usage_events by month, online; list the partitions; create months ahead
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::partition::AFTER_LONG_HELP)]
    Partition(cmd::partition::PartitionArgs),

    /// Fold new events into the rollup (cron, every minute); reports the fold's lag
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::maintain::AFTER_LONG_HELP)]
    Maintain(cmd::maintain::MaintainArgs),

    /// Manage tiers, their limits, org assignments and per-org overrides
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::tier::AFTER_LONG_HELP)]
    Tier(cmd::tier::TierArgs),

    /// Set or show an org's billing period (anchor day, time zone) and tier
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::org::AFTER_LONG_HELP)]
    Org(cmd::org::OrgArgs),

    /// Raise one metric's limit for one billing period of an org (support), list, revoke
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::grant::AFTER_LONG_HELP)]
    Grant(cmd::grant::GrantArgs),

    /// Usage alerts: threshold rules, decided per billing period, delivered as signed webhooks
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::alert::AFTER_LONG_HELP)]
    Alert(cmd::alert::AlertArgs),

    /// Stripe metered billing: map meters, push usage as meter events exactly once, reconcile
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::stripe::AFTER_LONG_HELP)]
    Stripe(cmd::stripe::StripeArgs),

    /// Start (or reuse) a private local PostgreSQL, load a sample month and show a summary
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::demo::AFTER_LONG_HELP)]
    Demo(cmd::demo::DemoArgs),

    /// Print a shell completion script
    #[command(after_help = EXIT_CODES_HELP, after_long_help = cmd::completions::AFTER_LONG_HELP)]
    Completions(cmd::completions::CompletionsArgs),
}

impl Command {
    /// Whether the command was asked to stay quiet (`maintain --quiet`, `alert run
    /// --quiet`): no progress and no terminal hints on stderr.
    pub fn is_quiet(&self) -> bool {
        match self {
            Command::Maintain(a) => a.quiet,
            Command::Alert(a) => a.is_quiet(),
            _ => false,
        }
    }
}

/// Parse the process arguments. Help and version print and exit 0; misuse prints one
/// line on stderr and exits 2.
pub fn parse() -> Result<Cli, ExitCode> {
    parse_from(std::env::args_os())
}

/// Parse the given arguments (see [`parse`]).
pub fn parse_from<I, T>(args: I) -> Result<Cli, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command().try_get_matches_from(args).and_then(|m| {
        let from_cli =
            m.value_source("database_url") == Some(clap::parser::ValueSource::CommandLine);
        Cli::from_arg_matches(&m).map(|mut cli| {
            cli.global.database_url_from_cli = from_cli;
            cli
        })
    });
    match parsed {
        Ok(cli) => Ok(cli),
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            Err(ExitCode::SUCCESS)
        }
        Err(err)
            if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // `usagectl` or `usagectl tier` alone: the help, as clap lays it out, and misuse
            let _ = err.print();
            Err(ExitCode::from(EXIT_USAGE))
        }
        Err(err) => {
            let line = clap_error_line(&err.render().to_string());
            let _ = writeln!(std::io::stderr().lock(), "usagectl: {line}");
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// Fold clap's multi-line error into one line: drop the usage block and the
/// "for more information" footer, keep the error and any tip.
pub fn clap_error_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in rendered.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("Usage:") || t.starts_with("For more information") {
            continue;
        }
        if line.starts_with("  ") && t.starts_with("usagectl ") {
            continue; // continuation of the usage block
        }
        parts.push(t.to_string());
    }
    let mut out = parts.join(" ");
    if out.is_empty() {
        out = "error: invalid command line".to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every long text of the tree, with where it comes from.
    fn long_texts(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for (what, text) in [
            ("long_about", cmd.get_long_about()),
            ("after_long_help", cmd.get_after_long_help()),
        ] {
            if let Some(t) = text {
                out.push((format!("{path} {what}"), t.to_string()));
            }
        }
        for sub in cmd.get_subcommands() {
            long_texts(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    /// The long texts are wrapped by hand (clap keeps their line breaks): a line of prose
    /// that ends far short of its paragraph's width is a sentence broken in the middle.
    #[test]
    fn help_prose_is_not_broken_mid_sentence() {
        let mut texts = Vec::new();
        long_texts(&Cli::command(), "usagectl", &mut texts);
        assert!(texts.len() > 10);
        for (what, text) in texts {
            for para in text.split("\n\n") {
                let lines: Vec<&str> = para.lines().collect();
                // a "Heading:" paragraph is a list, kept line for line
                if lines.len() < 2 || lines.iter().any(|l| l.starts_with(' ')) {
                    continue;
                }
                let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
                for l in &lines[..lines.len() - 1] {
                    assert!(
                        l.chars().count() * 10 >= widest * 7,
                        "{what}: {l:?} breaks a sentence (its paragraph is {widest} wide)"
                    );
                }
            }
        }
    }

    #[test]
    fn clap_errors_fold_to_one_line() {
        let err = Cli::try_parse_from(["usagectl", "summary"]).unwrap_err();
        let line = clap_error_line(&err.render().to_string());
        assert!(!line.contains('\n'));
        assert!(line.starts_with("error: the following required arguments were not provided:"));
        assert!(line.contains("--org <ORG>"), "{line}");
    }
}
