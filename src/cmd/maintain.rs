//! `usagectl maintain`: fold new events into the rollup (run it from cron, every
//! minute), and finish a backfill an interrupted `migrate` left.
use anyhow::Result;
use clap::Args;
use postgres::Client;
use serde::Serialize;

use crate::db::queries;
use crate::error::EXIT_OK;
use crate::output::{Cell, Output, Render, Style};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
New events reach the rollup through the fold, not through a trigger on the web
app's inserts: until an event is folded, reads count it from the raw rows above the
fold's watermark (exact either way; a lagging fold only makes reads slower). The fold
waits for the transactions that were writing usage_events when it started (at most
--max-wait, then it names them and exits 1, changing nothing), takes no table lock and
never blocks an insert. Two at once are serialised; running it twice folds nothing twice.
Exit 0 when the fold ran, 1 when it could not.

It then registers the billing period boundaries that fall inside UTC days (orgs whose
periods start at local midnight in a zone off UTC, see `usagectl org set`) for periods
within about two months of now: their partial days are then read from the boundary
rollup, not from the raw rows. On a table partitioned by `usagectl partition adopt`, it
creates the partitions of the months ahead (through the third after the current one).

Run it every minute, from cron:
  * * * * *  usagectl maintain --quiet
or, on a managed database with pg_cron, from the database itself:
  SELECT cron.schedule('usagectl-fold', '* * * * *', 'SELECT usagectl_fold()');

Examples:
  usagectl maintain
  usagectl maintain -o json
  usagectl maintain --max-wait 5s

",
    crate::exit_codes!()
);

/// Arguments of `usagectl maintain`.
#[derive(Args, Debug)]
pub struct MaintainArgs {
    /// How long the fold waits for transactions writing usage_events to end (a number
    /// with ms, s or min)
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = crate::time::parse_duration)]
    pub max_wait: std::time::Duration,

    /// Print nothing on success (for cron, which mails any output); errors still go to
    /// stderr
    #[arg(long, short)]
    pub quiet: bool,
}

/// What `maintain` did and where the fold stands.
#[derive(Debug, Serialize)]
pub struct MaintainReport {
    /// Days of a pending backfill counted in this run.
    pub backfilled_days: usize,
    /// Events the fold counted into the rollup.
    pub folded_events: i64,
    /// The watermark before the fold.
    pub watermark_before: i64,
    /// The watermark after it.
    pub watermark_after: i64,
    /// How long the fold waited for writers in flight, in milliseconds.
    pub waited_ms: u128,
    /// Events above the watermark now (inserted since the fold started).
    pub unfolded_events: i64,
    /// Period boundaries newly registered (their UTC days cut into two buckets).
    pub registered_boundaries: i32,
    /// Monthly partitions created ahead (`YYYY-MM`; a partitioned table only).
    pub partitions_created: Vec<String>,
}

impl Render for MaintainReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "backfilled_days",
            "folded_events",
            "watermark_before",
            "watermark_after",
            "waited_ms",
            "unfolded_events",
            "registered_boundaries",
            "partitions_created",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::Num(self.backfilled_days as i64),
            Cell::Num(self.folded_events),
            Cell::Num(self.watermark_before),
            Cell::Num(self.watermark_after),
            Cell::Num(i64::try_from(self.waited_ms).unwrap_or(i64::MAX)),
            Cell::Num(self.unfolded_events),
            Cell::Num(self.registered_boundaries.into()),
            Cell::text(self.partitions_created.join(" ")),
        ]]
    }

    fn human(&self, _style: &Style) -> String {
        let mut s = String::new();
        if self.backfilled_days > 0 {
            s.push_str(&format!(
                "backfilled {} day(s) of the rollup\n",
                self.backfilled_days
            ));
        }
        s.push_str(&format!(
            "folded {} event(s) into the rollup (watermark {} -> {}, waited {} ms for writers in flight)\n",
            self.folded_events, self.watermark_before, self.watermark_after, self.waited_ms
        ));
        s.push_str(&format!(
            "{} event(s) inserted since are read raw until the next fold\n",
            self.unfolded_events
        ));
        if self.registered_boundaries > 0 {
            s.push_str(&format!(
                "registered {} billing period boundary(ies) inside UTC days\n",
                self.registered_boundaries
            ));
        }
        if !self.partitions_created.is_empty() {
            s.push_str(&format!(
                "created the partition(s) of {}\n",
                self.partitions_created.join(", ")
            ));
        }
        s
    }
}

/// Run `usagectl maintain`.
pub fn run(client: &mut Client, args: &MaintainArgs, out: &mut Output) -> Result<u8> {
    let backfilled_days = crate::app::migrate::backfill(client)?.map_or(0, |b| b.days);
    let fold = queries::fold(client, args.max_wait)?;
    // the fold has run: a registration that cannot (a lock held too long, a role without
    // EXECUTE) leaves reads exact, only slower, and is tried again on the next run
    let registered_boundaries = match queries::register_boundaries(client, None) {
        Ok(n) => n,
        Err(e) => {
            crate::printer::warn(&format!(
                "{e:#}; the next run tries again (reads are exact meanwhile)"
            ));
            0
        }
    };
    // the months ahead of a partitioned table; like the boundaries, a try that cannot
    // run is tried again next time (an insert past the last partition is refused, so
    // say so)
    let partitions_created = match crate::app::partitions::ahead(client) {
        Ok(a) => a.created,
        Err(e) => {
            crate::printer::warn(&format!(
                "{e:#}; the next run tries again (inserts dated past the last partition are refused)"
            ));
            Vec::new()
        }
    };
    let lag = queries::fold_lag(client)?
        .ok_or_else(|| anyhow::anyhow!("the fold is not installed: run `usagectl migrate`"))?;
    let report = MaintainReport {
        backfilled_days,
        folded_events: fold.events,
        watermark_before: fold.from_seq,
        watermark_after: fold.to_seq,
        waited_ms: fold.waited.as_millis(),
        unfolded_events: lag.unfolded_events,
        registered_boundaries,
        partitions_created,
    };
    if !args.quiet {
        out.render(&report)?;
    }
    Ok(EXIT_OK)
}
