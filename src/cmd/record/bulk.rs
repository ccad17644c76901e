//! `usagectl record --file`: many events from CSV or JSON Lines, validated row by row,
//! streamed to the server with COPY into a staging table, and inserted from there in one
//! statement: all or nothing, idempotent, as fast as COPY.
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use postgres::Client;
use serde::Serialize;

use super::RecordArgs;
use crate::db::queries;
use crate::error::{BadRows, usage};
use crate::ingest::{self, RowError, RowReader};
use crate::output::{self, Cell, Output, Render, Style};
use crate::quota::{self};

use chrono::{DateTime, Utc};

/// An org whose rows `--enforce` refused.
#[derive(Debug, Serialize)]
pub struct Refused {
    /// Organisation.
    pub org_id: String,
    /// Its rows in the input (none of them recorded).
    pub rows: u64,
    /// The seed's message for the first limit it would pass.
    pub message: String,
}

/// What `record --file` did.
#[derive(Debug, Serialize)]
pub struct BulkReport {
    /// The input.
    pub source: String,
    /// True for --dry-run: nothing was recorded.
    pub dry_run: bool,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows skipped because their idempotency key was stored already or came earlier.
    pub skipped_duplicates: u64,
    /// Orgs refused by --enforce.
    pub refused: Vec<Refused>,
}

impl Render for BulkReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "source",
            "dry_run",
            "rows_read",
            "inserted",
            "skipped_duplicates",
            "refused_orgs",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::text(&self.source),
            Cell::text(self.dry_run.to_string()),
            Cell::Num(self.rows_read as i64),
            Cell::Num(self.inserted as i64),
            Cell::Num(self.skipped_duplicates as i64),
            Cell::Num(self.refused.len() as i64),
        ]]
    }
    fn human(&self, style: &Style) -> String {
        if self.dry_run {
            return format!(
                "{}: {} read, all valid (dry run: nothing recorded)\n",
                self.source,
                output::count(self.rows_read, "row", "rows")
            );
        }
        let mut s = format!(
            "{}: {} read, {} inserted, {} skipped as duplicates\n",
            self.source,
            output::count(self.rows_read, "row", "rows"),
            self.inserted,
            self.skipped_duplicates
        );
        if !self.refused.is_empty() {
            let mut t = style.table(&["refused org", "rows", "why"]);
            for r in &self.refused {
                t.add_row(vec![
                    r.org_id.clone(),
                    r.rows.to_string(),
                    r.message.clone(),
                ]);
            }
            s.push_str(&format!("{t}\n"));
        }
        s
    }
}

struct Problems {
    source: String,
    bad_rows: u64,
    shown: Vec<String>,
}

impl Problems {
    fn add(&mut self, errors: Vec<RowError>) {
        self.bad_rows += 1;
        for e in errors {
            if self.shown.len() < BadRows::SHOWN {
                self.shown.push(e.to_string());
            }
        }
    }

    fn into_result(self) -> Result<()> {
        if self.bad_rows == 0 {
            return Ok(());
        }
        Err(anyhow::Error::new(BadRows {
            source: self.source,
            bad_rows: self.bad_rows,
            shown: self.shown,
        }))
    }
}

/// Run `record --file`; with no client, a dry run. Returns the exit code (4 when
/// `--enforce` refused some org).
pub fn run(client: Option<&mut Client>, args: &RecordArgs, out: &mut Output) -> Result<u8> {
    let path = args.file.as_deref().context("--file is required")?;
    let format = ingest::detect_format(path, args.input_format).map_err(usage)?;
    let source = if path == std::path::Path::new("-") {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let mut problems = Problems {
        source: source.clone(),
        bad_rows: 0,
        shown: Vec::new(),
    };
    let mut reader = match RowReader::new(ingest::open(path)?, format, args.custom_event)? {
        Ok(r) => r,
        Err(errors) => {
            problems.add(errors);
            return problems.into_result().map(|()| 1);
        }
    };
    let mut progress = crate::printer::get().progress();
    let mut rows_read = 0u64;
    let mut rows_per_org: BTreeMap<String, u64> = BTreeMap::new();

    let Some(client) = client else {
        while let Some((_, row)) = reader.next_row()? {
            rows_read += 1;
            if let Err(errors) = row {
                problems.add(errors);
            }
        }
        problems.into_result()?;
        out.render(&BulkReport {
            source,
            dry_run: true,
            rows_read,
            inserted: 0,
            skipped_duplicates: 0,
            refused: Vec::new(),
        })?;
        return Ok(0);
    };

    let mut tx = crate::db::begin(client)?;
    queries::create_staging(&mut tx)?;
    {
        let mut writer = queries::staging_writer(&mut tx)?;
        while let Some((line, row)) = reader.next_row()? {
            rows_read += 1;
            match row {
                Ok(ev) if problems.bad_rows == 0 => {
                    *rows_per_org.entry(ev.org_id.clone()).or_default() += 1;
                    queries::write_staging(&mut writer, line as i64, &ev)?;
                }
                Ok(_) => {} // already failing: keep validating, stop sending
                Err(errors) => problems.add(errors),
            }
            if rows_read.is_multiple_of(4096) {
                progress.tick(rows_read);
            }
        }
        if problems.bad_rows > 0 {
            drop(writer); // aborts the COPY; the transaction rolls back below
            drop(tx);
            return problems.into_result().map(|()| 1);
        }
        writer
            .finish()
            .context("finishing the COPY into the staging table")?;
    }
    progress.finish(rows_read);

    let refused = if args.enforce {
        enforce(&mut tx, &rows_per_org)?
    } else {
        Vec::new()
    };
    let refused_orgs: Vec<String> = refused.iter().map(|r| r.org_id.clone()).collect();
    let inserted = queries::insert_from_staging(&mut tx, &refused_orgs)?;
    tx.commit().context("committing the rows")?;
    let refused_rows: u64 = refused.iter().map(|r| r.rows).sum();
    let code = if refused.is_empty() {
        0
    } else {
        crate::error::EXIT_OVER
    };
    out.render(&BulkReport {
        source,
        dry_run: false,
        rows_read,
        inserted,
        skipped_duplicates: rows_read - inserted - refused_rows,
        refused,
    })?;
    Ok(code)
}

/// Lock every org of the input (in byte order, so concurrent batches cannot deadlock),
/// then refuse each org whose new rows, taken together, would pass a limit in any of its
/// billing periods.
fn enforce(
    tx: &mut postgres::Transaction<'_>,
    rows_per_org: &BTreeMap<String, u64>,
) -> Result<Vec<Refused>> {
    let orgs = queries::staged_orgs(tx)?;
    for org in &orgs {
        queries::lock_org(tx, org)?;
    }
    let mut refused = Vec::new();
    for org in &orgs {
        // reads of this org's rows must pass the seed's RLS policy
        queries::scope_to_org(tx, org)?;
        // billing period -> event type -> quantity, of the rows that would be inserted
        let mut periods: BTreeMap<(DateTime<Utc>, DateTime<Utc>), BTreeMap<String, i64>> =
            BTreeMap::new();
        for t in queries::staged_new_totals(tx, org)? {
            *periods
                .entry((t.period_start, t.period_end))
                .or_default()
                .entry(t.event_type)
                .or_default() += t.quantity;
        }
        // what the batch adds to each metric in each period (all-time metrics: every
        // earlier period of the batch too), asked of the one rule, usagectl_allowance()
        let batches = quota::batch_additions(periods);
        'periods: for (start, adding) in batches {
            for (metric, add) in adding {
                let a = queries::allowance(tx, org, metric, start, add)?;
                if !a.allowed {
                    refused.push(Refused {
                        org_id: org.clone(),
                        rows: rows_per_org.get(org).copied().unwrap_or(0),
                        message: a.message.context(
                            "usagectl_allowance() refused without saying why: run `usagectl doctor`",
                        )?,
                    });
                    break 'periods;
                }
            }
        }
    }
    Ok(refused)
}
