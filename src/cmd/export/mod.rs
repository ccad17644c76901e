//! `usagectl export`: monthly usage for finance, or every raw event, streamed, into files
//! that appear only when complete, with a manifest that `--check` can verify later.
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::app::every_org;
use crate::db::queries::{self, ExportRow, RawFormat};
use crate::error::{EXIT_FOUND, EXIT_OK, usage};
use crate::output::Format;
use crate::output::{self, Cell, Output, Render, Style};
use crate::period::Month;
use crate::sink::{AtomicFile, CopyTextUnescape, GuardedCsv, manifest_path, sha256_file};

mod check;

use check::check;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Each month is [first instant, first instant of the next month) in UTC. Export writes CSV
unless -o says otherwise (json, or jsonl for --raw), reads in one REPEATABLE READ, READ
ONLY transaction, and streams: memory stays flat whatever the month holds. With --output,
the file is written under a temporary name and renamed into place only when complete and
synced, and FILE.manifest.json is written beside it; --check MANIFEST later lists every
org and event type whose totals changed since (exit 3), or none (exit 0). Text cells that
start with = + - @ tab or CR get a leading ' (OWASP) unless --no-formula-escape.

Finance closes the books on calendar months, so that is the default whatever an org's
billing period. --billing-periods --month M writes one block per org and billing period
that starts in M in the period's zone (`usagectl org set`): usually one per org, two when
a change of settings starts a short period in M. Consecutive months hold every period,
and so every event, exactly once. Blocks have period_start, period_end and time_zone
columns; the manifest and --check cover the same periods.

Examples:
  usagectl export --month 2026-11 --output usage-2026-11.csv
  usagectl export --from 2026-10 --to 2026-12 --org initech -o json
  usagectl export --month 2026-11 --raw -o jsonl --output events-2026-11.jsonl
  usagectl export --month 2026-11 --billing-periods --output periods-2026-11.csv
  usagectl export --check usage-2026-11.csv.manifest.json

",
    crate::exit_codes!()
);

/// Arguments of `usagectl export`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("period").required(true).args(["month", "from", "check"])))]
pub struct ExportArgs {
    /// Month to export, YYYY-MM (UTC)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse, conflicts_with_all = ["from", "to"])]
    pub month: Option<Month>,

    /// First month of a range (inclusive)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse, requires = "to")]
    pub from: Option<Month>,

    /// Last month of a range (inclusive)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse, requires = "from")]
    pub to: Option<Month>,

    /// Only this organisation
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,

    /// Every event (id, org_id, event_type, quantity, created_at, metadata) instead of totals
    #[arg(long)]
    pub raw: bool,

    /// Write to FILE (atomically, with FILE.manifest.json); `-` or no flag: stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace an existing FILE
    #[arg(long)]
    pub force: bool,

    /// Leave text cells as they are (for machine readers, not spreadsheets)
    #[arg(long)]
    pub no_formula_escape: bool,

    /// With --month: one block per org and billing period that starts in the month (in the
    /// period's zone), with period_start, period_end and time_zone columns
    #[arg(long, requires = "month", conflicts_with_all = ["raw", "from", "check"])]
    pub billing_periods: bool,

    /// Recompute the period of MANIFEST and list the totals that changed since
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["raw", "output", "force", "org"])]
    pub check: Option<PathBuf>,
}

/// A period of whole months.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// First month.
    pub first: Month,
    /// Last month (inclusive).
    pub last: Month,
}

impl ExportArgs {
    /// The months asked for; misuse when the range runs backwards.
    pub fn span(&self) -> Result<Option<Span>> {
        match (self.month, self.from, self.to) {
            (Some(m), _, _) => Ok(Some(Span { first: m, last: m })),
            (None, Some(first), Some(last)) => {
                if first.start > last.start {
                    return Err(usage(format!(
                        "--from {} is after --to {}",
                        first.label(),
                        last.label()
                    )));
                }
                Ok(Some(Span { first, last }))
            }
            _ => Ok(None),
        }
    }

    /// Check everything that needs no database.
    pub fn validate(&self, format: Format) -> Result<()> {
        self.span()?;
        if let Some(org) = &self.org {
            crate::events::validate_org(org)?;
        }
        if self.force && self.output.as_deref().is_none_or(|p| p == Path::new("-")) {
            return Err(usage("--force only applies with --output FILE"));
        }
        match (self.raw, format) {
            (true, Format::Csv | Format::Jsonl)
            | (false, Format::Csv | Format::Json | Format::Jsonl | Format::Table) => {}
            (true, other) => {
                return Err(usage(format!(
                    "--raw writes csv or jsonl, not {}; use -o csv or -o jsonl",
                    other.name()
                )));
            }
        }
        if self.check.is_some() && self.no_formula_escape {
            return Err(usage("--no-formula-escape does not apply to --check"));
        }
        Ok(())
    }
}

/// The aggregate export, as rows.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Aggregate(
    pub Vec<ExportRow>,
    /// Whether the rows are billing periods (three more columns).
    #[serde(skip)]
    pub bool,
);

impl Render for Aggregate {
    fn csv_header(&self) -> Vec<&'static str> {
        let mut h = vec![
            "month",
            "org_id",
            "tier",
            "event_type",
            "events",
            "quantity",
        ];
        if self.1 {
            h.extend(["period_start", "period_end", "time_zone"]);
        }
        h
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.0
            .iter()
            .map(|r| {
                let mut row = vec![
                    Cell::text(&r.month),
                    Cell::text(&r.org_id),
                    Cell::text(&r.tier),
                    Cell::text(&r.event_type),
                    Cell::Num(r.events),
                    Cell::Num(r.quantity),
                ];
                if self.1 {
                    row.extend([
                        r.period_start.map_or(Cell::Empty, Cell::Time),
                        r.period_end.map_or(Cell::Empty, Cell::Time),
                        r.time_zone.as_ref().map_or(Cell::Empty, Cell::text),
                    ]);
                }
                row
            })
            .collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.0)
    }
    fn human(&self, style: &Style) -> String {
        format!(
            "{}\n{}\n",
            self.csv_table(style),
            output::count(self.0.len() as u64, "row", "rows")
        )
    }
}

/// The manifest's `kind` of a `--billing-periods` export.
const BILLING_KIND: &str = "billing_periods";

/// What `--output` leaves beside the file, to check it against the database later.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The data file's name, in the manifest's directory.
    pub file: String,
    /// "aggregate", "billing_periods" or "raw".
    pub kind: String,
    /// csv, json or jsonl.
    pub format: String,
    /// First month (YYYY-MM).
    pub from: String,
    /// Last month (YYYY-MM), inclusive.
    pub to: String,
    /// First instant exported.
    pub period_start: DateTime<Utc>,
    /// First instant not exported.
    pub period_end: DateTime<Utc>,
    /// --org, if given.
    pub org: Option<String>,
    /// Whether text cells were formula-guarded.
    pub formula_escape: bool,
    /// The export transaction's time on the server.
    pub snapshot_time: DateTime<Utc>,
    /// Data rows in the file (events for raw, totals rows for aggregate).
    pub row_count: i64,
    /// Sum of quantity over the period.
    pub total_quantity: i64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// usagectl version that wrote it.
    pub tool_version: String,
    /// Per month, org and event type, as the database had them at export.
    pub totals: Vec<ExportRow>,
}

/// Run `usagectl export`; returns the exit code (3 when `--check` found changes).
pub fn run(client: &mut Client, args: &ExportArgs, out: &mut Output) -> Result<u8> {
    if let Some(manifest) = &args.check {
        return check(client, manifest, out);
    }
    let span = args.span()?.context("a period is required")?;
    let (start, end) = (span.first.start, span.last.end);
    let guard = !args.no_formula_escape;

    let mut tx = queries::read_snapshot(client)?;
    // one org scoped for the role: the rows read are that org's already, and the manifest
    // says so
    let scoped = every_org::scope(
        &mut tx,
        args.org.as_deref(),
        Some("usagectl export --org ORG"),
    )?;
    if let Some(org) = &args.org
        && let Some(note) = crate::app::orgs::unknown_org(&mut tx, org)?
    {
        crate::printer::notice(&note);
    }
    let snapshot_time = queries::server_now(&mut tx)?;
    for month in [span.first, span.last] {
        if let Some(note) = month.future_note(snapshot_time) {
            crate::printer::notice(&note);
            break;
        }
    }
    let Some(path) = args.output.as_deref().filter(|p| *p != Path::new("-")) else {
        write_export(&mut tx, args, span, None, out)?;
        tx.commit()?;
        return Ok(EXIT_OK);
    };
    let mut file = AtomicFile::create(path, args.force)?;
    let written = write_export(&mut tx, args, span, Some(&mut file), out)
        .and_then(|written| Ok(tx.commit().map(|()| written)?));
    let (totals, row_count) = match written {
        Ok(written) => written,
        Err(e) => return Err(file.discard(e)),
    };
    let sha256 = file.commit()?;

    let format = out.format();
    let manifest = Manifest {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        kind: if args.raw {
            "raw"
        } else if args.billing_periods {
            BILLING_KIND
        } else {
            "aggregate"
        }
        .into(),
        format: format.name().into(),
        from: span.first.label(),
        to: span.last.label(),
        // billing periods: from the earliest period's start to the latest's end
        period_start: totals
            .iter()
            .filter_map(|r| r.period_start)
            .min()
            .unwrap_or(start),
        period_end: totals
            .iter()
            .filter_map(|r| r.period_end)
            .max()
            .unwrap_or(end),
        org: args.org.clone().or(scoped),
        formula_escape: guard,
        snapshot_time,
        row_count,
        total_quantity: totals.iter().map(|r| r.quantity).sum(),
        sha256,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        totals,
    };
    let manifest_path = manifest_path(path);
    let mut mf = AtomicFile::create(&manifest_path, true)?;
    let written = serde_json::to_writer_pretty(mf.writer(), &manifest)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(writeln!(mf.writer())?))
        .context("writing the manifest");
    if let Err(e) = written {
        return Err(mf.discard(e));
    }
    mf.commit()?;
    crate::printer::get().hint(&format!(
        "wrote {} ({}, total quantity {}) and {}",
        path.display(),
        output::count(manifest.row_count, "row", "rows"),
        manifest.total_quantity,
        manifest_path.display()
    ));
    Ok(EXIT_OK)
}

/// Write the export to `file`, or to stdout through `out`; returns the period's totals
/// (read first, in the same snapshot, when a manifest needs them or they are the export)
/// and the number of data rows written.
fn write_export(
    tx: &mut postgres::Transaction<'_>,
    args: &ExportArgs,
    span: Span,
    mut file: Option<&mut AtomicFile>,
    out: &mut Output,
) -> Result<(Vec<ExportRow>, i64)> {
    let (start, end) = (span.first.start, span.last.end);
    let org = args.org.as_deref();
    let guard = !args.no_formula_escape;
    let totals = if args.billing_periods {
        queries::export_billing_aggregate(tx, &span.first, org)?
    } else if file.is_some() || !args.raw {
        queries::export_aggregate(tx, &start, &end, org)?
    } else {
        Vec::new()
    };
    let format = out.format();
    if !args.raw {
        let rows = Aggregate(totals, args.billing_periods);
        match file {
            Some(f) => Output::new(format, Style::plain(), f.writer())
                .with_formula_guard(guard)
                .render(&rows)?,
            None => {
                out.set_formula_guard(guard);
                out.render(&rows)?;
            }
        }
        let n = rows.0.len() as i64;
        return Ok((rows.0, n));
    }
    let raw_format = match format {
        Format::Jsonl => RawFormat::JsonLines,
        _ => RawFormat::Csv,
    };
    crate::app::archives::require_raw(tx, Some(start), end, "export --raw")?;
    let mut reader = queries::copy_raw_events(tx, &start, &end, org, raw_format)?;
    let sink: &mut dyn Write = match file.as_mut() {
        Some(f) => f.writer(),
        None => out.raw(),
    };
    match raw_format {
        RawFormat::JsonLines => stream(&mut reader, &mut CopyTextUnescape::new(sink))?,
        RawFormat::Csv if guard => stream(
            &mut reader,
            &mut GuardedCsv::new(sink, &queries::RAW_CSV_TEXT_COLUMNS),
        )?,
        RawFormat::Csv => stream(&mut reader, sink)?,
    };
    let n = totals.iter().map(|r| r.events).sum();
    Ok((totals, n))
}

/// The server's error behind a failed read of a COPY stream. `CopyOutReader` hands it
/// back as an `io::Error` around a `postgres::Error`, and neither shows the server's
/// words: the io::Error's source skips the postgres::Error, whose `Display` is just
/// "db error", and csv drops sources altogether. Unwrapped, the chain carries the
/// message, DETAIL and HINT (`canceling statement due to statement timeout`), and
/// `db::advise` finds the SQLSTATE.
fn server_error(e: io::Error) -> anyhow::Error {
    if !e
        .get_ref()
        .is_some_and(|inner| inner.is::<postgres::Error>())
    {
        return e.into();
    }
    let kind = e.kind();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<postgres::Error>())
    {
        // no SQLSTATE: the session ended mid-stream without the server's word (it sends
        // none when it is stopped while blocked writing to a slow reader)
        Some(Ok(pg)) if pg.code().is_none() => anyhow::Error::new(*pg).context(
            "the server ended the session mid-stream without saying why (terminated by an administrator, a crash or a network cut: the server's log has the reason)",
        ),
        Some(Ok(pg)) => anyhow::Error::new(*pg),
        Some(Err(other)) => io::Error::new(kind, other).into(),
        None => io::Error::from(kind).into(),
    }
}

/// Copy `reader` to `writer` in large chunks, with a progress line on a terminal.
fn stream(reader: &mut dyn Read, writer: &mut dyn Write) -> Result<u64> {
    let mut progress = crate::printer::get().progress();
    let mut buf = vec![0u8; 256 * 1024];
    let mut lines = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(server_error)
            .context("reading events from the server")?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        writer.write_all(&buf[..n]).context("writing the export")?;
        progress.tick(lines.saturating_sub(1));
    }
    writer.flush().context("writing the export")?;
    progress.finish(lines.saturating_sub(1));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sits_beside_the_file() {
        assert_eq!(
            manifest_path(Path::new("/x/usage.csv")),
            PathBuf::from("/x/usage.csv.manifest.json")
        );
    }
}
