//! `usagectl partition`: adopt monthly partitions online, list them, create the months
//! ahead.
use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use postgres::Client;
use serde::Serialize;

use crate::db::queries::{self, PartitionRow};
use crate::db::schema;
use crate::error::{EXIT_OK, usage};
use crate::output::{Cell, Output, Render, Style};
use crate::partition::{self, Layout};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
`partition adopt` turns the live usage_events into a table partitioned by created_at
month while the web app inserts. No row moves: the table as it is becomes the first
partition, holding every row before the first day of the month after next (a CHECK
constraint proves it, checked by a scan that inserts do not wait for), and a partition
is created for each month from there to three months ahead. The web app waits only for
the switch itself, one short transaction (the lock wait is bounded and retried).
`maintain` then creates each new month ahead, unless pg_partman manages the table.

What partitioning changes for the web app: `id` stays unique within each partition
(every partition keeps the primary key on id), not across them: gen_random_uuid()
makes a collision across months vanishingly unlikely, but a foreign key cannot point at
usage_events(id) any more. An insert dated past the last partition (three months ahead)
is refused; there is no default partition that would collect it silently. Idempotency
keys stay unique across months: usagectl claims each in usagectl_event_keys.

Interrupted at any point, the table is either as it was or wholly partitioned; run
the same command again. It refuses, changing nothing (exit 2), when something bound to the
table as it is would break (a trigger or view of your own, a foreign key, a publication,
a column grant): each is named with what to do.

Examples:
  usagectl partition adopt
  usagectl partition list
  usagectl partition ahead

",
    crate::exit_codes!()
);

/// Arguments of `usagectl partition`.
#[derive(Args, Debug)]
pub struct PartitionArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PartitionCommand,
}

/// What `partition` does.
#[derive(Subcommand, Debug)]
pub enum PartitionCommand {
    /// Turn usage_events into a table partitioned by month, online (no row moves)
    #[command(after_long_help = concat!(
        "\
Upgrade every usagectl writer to this version first, and see what it refuses (your own
triggers or views on the table, foreign keys, publications, column grants, identity or
generated columns, invalid indexes, rows dated more than a year ahead): each is named
with what to do, and nothing changes (exit 2). Rerun it after an interruption.

Examples:
  usagectl partition adopt
  usagectl partition adopt --lock-timeout 30s   # retry the switch's lock for 30 s in all
  usagectl partition adopt -o json

",
        crate::exit_codes!()
    ))]
    Adopt,
    /// The partitions: their months, estimated rows and size
    #[command(after_long_help = concat!(
        "\
Rows are the planner's estimate (\"not analyzed\" before a partition's first ANALYZE).

Examples:
  usagectl partition list
  usagectl partition list -o csv > partitions.csv

",
        crate::exit_codes!()
    ))]
    List,
    /// Create the partitions of the current month and the three after it where missing
    /// (what `maintain` does)
    #[command(after_long_help = concat!(
        "\
Creates nothing when pg_partman manages the table, or when usage_events is one table.

Examples:
  usagectl partition ahead
  usagectl partition ahead -o json

",
        crate::exit_codes!()
    ))]
    Ahead,
}

impl PartitionArgs {
    /// Whether the command only reads.
    pub fn reads_only(&self) -> bool {
        matches!(self.command, PartitionCommand::List)
    }
}

/// What `adopt` did.
#[derive(Debug, Serialize)]
pub struct AdoptReport {
    /// adopted, or already partitioned.
    pub action: &'static str,
    /// The adopted table's name as a partition.
    pub heap: Option<String>,
    /// The first instant it does not hold.
    pub bound: Option<DateTime<Utc>>,
    /// How long the switch held usage_events, in milliseconds.
    pub locked_ms: Option<u128>,
    /// The partitions now.
    pub partitions: Vec<PartitionRow>,
}

impl Render for AdoptReport {
    fn csv_header(&self) -> Vec<&'static str> {
        PartitionList::HEADER.to_vec()
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        partition_rows(&self.partitions)
    }

    fn human(&self, style: &Style) -> String {
        let head = match (&self.heap, self.bound, self.locked_ms) {
            (Some(heap), Some(bound), Some(ms)) => format!(
                "usage_events is partitioned by month: the table as it was is now partition {heap} (every row before {}); the switch held usage_events for {ms} ms\n",
                bound.format("%Y-%m-%d")
            ),
            _ => "usage_events is partitioned already: nothing to do\n".to_string(),
        };
        format!("{head}{}", list_table(&self.partitions, style))
    }
}

/// The partitions, as `list` and `ahead` show them.
#[derive(Debug, Serialize)]
pub struct PartitionList {
    /// How the table is laid out.
    pub layout: Layout,
    /// Partitions created by this run (`ahead` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Vec<String>>,
    /// Every partition, oldest first.
    pub partitions: Vec<PartitionRow>,
}

impl PartitionList {
    const HEADER: [&'static str; 6] = [
        "partition",
        "from",
        "to",
        "default",
        "rows_estimate",
        "bytes",
    ];
}

fn partition_rows(rows: &[PartitionRow]) -> Vec<Vec<Cell>> {
    rows.iter()
        .map(|p| {
            vec![
                Cell::text(&p.partition),
                p.from.map_or(Cell::Empty, Cell::Time),
                p.to.map_or(Cell::Empty, Cell::Time),
                Cell::text(p.default.to_string()),
                p.rows_estimate.map_or(Cell::Empty, Cell::Num),
                Cell::Num(p.bytes),
            ]
        })
        .collect()
}

fn list_table(rows: &[PartitionRow], style: &Style) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let day = |t: Option<DateTime<Utc>>, open: &str| {
        t.map_or(open.to_string(), |t| t.format("%Y-%m-%d").to_string())
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            let (from, to) = if p.default {
                ("(default: any row".into(), "no other takes)".into())
            } else {
                (day(p.from, "(the oldest row)"), day(p.to, "(unbounded)"))
            };
            vec![
                p.partition.clone(),
                from,
                to,
                p.rows_estimate
                    .map_or("(not analyzed)".into(), |n| n.to_string()),
                format!("{:.1} MB", p.bytes as f64 / 1e6),
            ]
        })
        .collect();
    let mut t = style.table(&["partition", "from", "before", "rows (est.)", "size"]);
    for row in body {
        t.add_row(row);
    }
    format!("{t}\n")
}

impl Render for PartitionList {
    fn csv_header(&self) -> Vec<&'static str> {
        Self::HEADER.to_vec()
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        partition_rows(&self.partitions)
    }

    fn human(&self, style: &Style) -> String {
        let head = match self.layout {
            Layout::Heap => {
                return "usage_events is one table, not partitioned (`usagectl partition adopt`)\n"
                    .to_string();
            }
            Layout::PartitionedByPartman => {
                "pg_partman manages the partitions of usage_events: usagectl creates none\n"
                    .to_string()
            }
            Layout::PartitionedOtherwise => {
                "usage_events is partitioned, but not by a range of created_at: usagectl creates no partitions\n".to_string()
            }
            Layout::Partitioned => match &self.created {
                None => String::new(),
                Some(months) if months.is_empty() => {
                    "nothing to create: the current month and the three after it have their partitions\n".to_string()
                }
                Some(months) => format!("created {}\n", months.join(", ")),
            },
        };
        format!("{head}{}", list_table(&self.partitions, style))
    }
}

/// Run `usagectl partition`.
pub fn run(client: &mut Client, args: &PartitionArgs, out: &mut Output) -> Result<u8> {
    match args.command {
        PartitionCommand::Adopt => out.render(&adopt(client)?)?,
        PartitionCommand::List => {
            let layout = queries::layout(client)?;
            let partitions = if layout == Layout::Heap {
                Vec::new()
            } else {
                queries::partitions(client)?
            };
            out.render(&PartitionList {
                layout,
                created: None,
                partitions,
            })?
        }
        PartitionCommand::Ahead => out.render(&ahead(client)?)?,
    }
    Ok(EXIT_OK)
}

/// Create the missing partitions ahead (`partition ahead`).
fn ahead(client: &mut Client) -> Result<PartitionList> {
    let done = crate::app::partitions::ahead(client)?;
    let partitions = if done.layout == Layout::Heap {
        Vec::new()
    } else {
        queries::partitions(client)?
    };
    Ok(PartitionList {
        layout: done.layout,
        created: Some(done.created),
        partitions,
    })
}

/// How long adopt waits for the transactions writing usage_events to end before it copies
/// their keys.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Test hook: `USAGECTL_TEST_PARTITION_BOUND=YYYY-MM` puts the heap's bound at that
/// month, so the suite's partitioned layout spreads its rows over monthly partitions (a
/// bound some rows are past fails validation, as it should).
fn test_bound() -> Result<Option<DateTime<Utc>>> {
    match std::env::var("USAGECTL_TEST_PARTITION_BOUND") {
        Ok(m) => Ok(Some(crate::period::Month::parse(&m).map_err(usage)?.start)),
        Err(_) => Ok(None),
    }
}

fn adopt(client: &mut Client) -> Result<AdoptReport> {
    let version = queries::applied_migrations(client)?
        .iter()
        .map(|a| a.version)
        .max()
        .unwrap_or(0);
    if version < schema::latest_version() {
        return Err(usage(format!(
            "the schema is at version {version}, this build's is {}: run `usagectl migrate` first",
            schema::latest_version()
        )));
    }
    match queries::layout(client)? {
        Layout::Heap => {}
        _ => {
            return Ok(AdoptReport {
                action: "already partitioned",
                heap: None,
                bound: None,
                locked_ms: None,
                partitions: queries::partitions(client)?,
            });
        }
    }
    // as the owner of usage_events, as migrate runs
    let owner = queries::usage_events_owner(client)?;
    if let schema::RunAs::Owner(role) =
        schema::run_as(owner.as_ref()).map_err(anyhow::Error::msg)?
    {
        queries::set_role(client, Some(&role))?;
    }
    let now = queries::server_now(client)?;
    let latest = queries::latest_event(client)?;
    let obstacles = partition::refusals(&queries::adoption_facts(client, latest, now)?);
    if !obstacles.is_empty() {
        return Err(usage(format!(
            "usage_events cannot be partitioned as it is: {}",
            obstacles.join("; ")
        )));
    }
    let bound = match test_bound()? {
        Some(b) => b,
        None => partition::adoption_bound(now, latest),
    };
    // every key stored so far in the key table: the rows of every transaction that was
    // writing when it started (settled), then again those since, right before the switch,
    // which claims under its lock only the rows numbered after that
    let settled = queries::settled_seq(client, SETTLE_WAIT)?;
    queries::claim_missing_keys(client, None)?;
    queries::add_bound_check(client, bound)?;
    if let Err(e) = queries::validate_bound_check(client) {
        let _ = queries::drop_bound_check(client);
        if crate::db::waits::sqlstate(&e) == Some(postgres::error::SqlState::CHECK_VIOLATION) {
            return Err(e.context(format!(
                "usage_events has rows with no created_at, or dated on or after {}: no partition could hold them; nothing was changed",
                bound.format("%Y-%m-%d")
            )));
        }
        return Err(e.context("checking the rows against the partition bound; nothing was changed"));
    }
    let numbered = queries::settled_seq(client, SETTLE_WAIT)?;
    queries::claim_missing_keys(client, Some(settled))?;
    let months = partition::partitions_from_bound(bound, now);
    let switched = match queries::switch_to_partitions(client, bound, months, numbered) {
        Ok(s) => s,
        Err(e) => {
            let _ = queries::drop_bound_check(client);
            return Err(e.context("the table is as it was (the switch is one transaction)"));
        }
    };
    // done: statistics are for the planner, and autovacuum's of each partition carry it
    if let Err(e) = queries::analyze_parent(client) {
        crate::printer::warn(&format!(
            "{e:#}; the table is partitioned: run `ANALYZE usage_events` when you can"
        ));
    }
    Ok(AdoptReport {
        action: "adopted",
        heap: Some(switched.heap),
        bound: Some(bound),
        locked_ms: Some(switched.locked_for.as_millis()),
        partitions: queries::partitions(client)?,
    })
}
