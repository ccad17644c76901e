//! `usagectl summary`: the seed's `GET /api/v1/usage/summary` for one org.
use anyhow::Result;
use clap::Args;
use postgres::Client;

use crate::app::summary::summarise;
use crate::output::Output;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
The window is created_at >= now() - N days, measured by the server in UTC, with no upper
bound, exactly as the HTTP endpoint counts it. Figures are aggregated in SQL within one
read-only snapshot. The table's bars show events per UTC calendar day the window touches
(the first day from the window's start only), named in the line under the table; windows
over 30 days put several whole days in each bar.

Examples:
  usagectl summary --org acme                 # last 30 days, as a table
  usagectl summary --org acme --days 7 -o json
  usagectl summary --org acme -o csv > acme-usage.csv

",
    crate::exit_codes!()
);

/// Arguments of `usagectl summary`.
#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// Organisation id
    #[arg(long, value_name = "ORG")]
    pub org: String,

    /// Days to look back, 1 to 365
    #[arg(long, value_name = "N", default_value_t = 30, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(1..=365))]
    pub days: i32,
}

/// Run `usagectl summary`.
pub fn run(client: &mut Client, args: &SummaryArgs, out: &mut Output) -> Result<()> {
    let report = summarise(client, &args.org, args.days)?;
    for note in &report.notices {
        crate::printer::notice(note);
    }
    out.render(&report)
}
