//! `usagectl record`: insert one usage event, idempotently when given a key.
pub mod bulk;

use anyhow::{Context, Result};
use clap::Args;
use postgres::Client;
use serde::Serialize;
use serde_json::Value;

use std::path::PathBuf;

use crate::db::queries::{self, Enforced, EventRow, NewEvent};
use crate::error::{QuotaExceeded, echo, usage};
use crate::events;
use crate::ingest::{self, InputFormat};
use crate::output::{Cell, Output, Render, Style};
use crate::time::fmt_utc;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Event types: csv_upload, csv_row_processed, analysis_run, analyzer_execution,
chat_message, ai_tokens_input, ai_tokens_output, mapping_profile_created,
mapping_profile_used, export_pdf, export_csv.

Examples:
  usagectl record --org acme --event chat_message
  usagectl record --org acme --event ai_tokens_input --quantity 1234 \\
      --metadata '{\"model\":\"claude-3-5-sonnet-20241022\",\"message_id\":\"m-17\"}'
  usagectl record --org acme --event csv_upload --at 2025-12-01T09:30:00Z \\
      --idempotency-key upload-8812          # a retry with the same key stores nothing new
  usagectl record --org acme --event webhook_call --custom-event
  usagectl record --org acme --event chat_message --enforce   # exit 4 when over the limit
  usagectl record --org acme --event ai_tokens_input --quantity -5000 --adjust \\
      --reason \"incident 2025-12-03: duplicated calls\"
  usagectl record --file nightly.csv                # all or nothing, idempotent
  zcat backfill.jsonl.gz | usagectl record --file - --input-format jsonl

A file has a header (CSV) or keys (JSON Lines): org_id and event_type, and optionally
quantity, metadata, created_at and idempotency_key, in any order. Every row obeys the same
rules as a single record; if any row is bad nothing is recorded, up to 20 errors are listed
as LINE: field: problem and the exit code is 1. A row whose (org_id, idempotency_key) is
stored already, or appears earlier in the input, is skipped; rows without a key are always
inserted. The rows stream to the server with COPY into a temporary table and are inserted
from there in one statement.

No text may hold NUL (PostgreSQL cannot store it; in metadata neither may \\u0000); an org
id, an event type and an idempotency key are at most 1,000 bytes each, so that they fit
the indexes; times run from 1970-01-01 to 9999-12-31. --dry-run applies every rule.

A correction (--adjust) is an event with a negative (or positive) quantity, the reason and
who made it in metadata; summaries, limits, status and export net it into their totals,
and summary still counts it as an event.

With --enforce the event is recorded only if current + quantity <= limit for the metric it
counts toward, in the org's billing period that contains the event (its limit raised by
the period's grants); else nothing is recorded, the seed's message is printed and the exit
code is 4. The period, the check and the insert are one server-side call holding the
org's row lock in usagectl_org_locks until the commit. An unlimited metric (-1), a
type no metric counts, or a negative correction has nothing to check and takes no lock.

",
    crate::exit_codes!()
);

/// Arguments of `usagectl record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Organisation id (stored exactly as given)
    #[arg(
        long,
        value_name = "ORG",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub org: Option<String>,

    /// Event type: one of the 11 known types (see --help)
    #[arg(
        long,
        value_name = "TYPE",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub event: Option<String>,

    /// Accept event types that are not one of the 11 known ones, on purpose
    #[arg(long)]
    pub custom_event: bool,

    /// Units consumed: a positive whole number that fits PostgreSQL's integer (negative only
    /// with --adjust)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true,
        conflicts_with = "file"
    )]
    pub quantity: i64,

    // --metadata and --at are checked in `to_event`, not by clap, so that their errors echo
    // the value as every error does (`error::echo`), and by the same rules as a file's rows.
    /// A JSON object stored in the metadata column
    #[arg(long, value_name = "JSON", conflicts_with = "file")]
    pub metadata: Option<String>,

    /// When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z): from 1970 on, at most 5
    /// minutes ahead
    #[arg(long, value_name = "RFC3339", conflicts_with = "file")]
    pub at: Option<String>,

    /// Retry key: recording the same key again for the org stores nothing new
    #[arg(long, value_name = "KEY", conflicts_with = "file")]
    pub idempotency_key: Option<String>,

    /// Record only within the limits: the event (or, with --file, each org's rows as a
    /// whole) is refused with exit 4 if it would take a metric past its limit
    #[arg(long)]
    pub enforce: bool,

    /// A correction: --quantity may be negative; needs --reason
    #[arg(long, requires = "reason", conflicts_with = "file")]
    pub adjust: bool,

    /// Why the correction is made (stored in metadata with who made it)
    #[arg(long, value_name = "TEXT", requires = "adjust")]
    pub reason: Option<String>,

    /// Record every row of a CSV or JSON Lines file (`-` for stdin), all or nothing
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Format of --file (default: from its extension: .csv, .jsonl, .ndjson)
    #[arg(long, value_name = "FORMAT", value_enum, requires = "file")]
    pub input_format: Option<InputFormat>,

    /// With --file: validate every row and report, record nothing
    #[arg(long, requires = "file")]
    pub dry_run: bool,
}

impl RecordArgs {
    /// Validate everything that can be checked without the database (single event).
    pub fn to_event(&self) -> Result<NewEvent> {
        // clap's `requires = "file"` does not hold these back on their own: say so here,
        // before anything is recorded
        if self.dry_run || self.input_format.is_some() {
            return Err(crate::error::usage(
                "--dry-run and --input-format apply to --file only: nothing was recorded",
            ));
        }
        let org = self.org.clone().unwrap_or_default();
        let event_type = self.event.clone().unwrap_or_default();
        events::validate_org(&org)?;
        events::validate_event_type(&event_type, self.custom_event)?;
        let quantity = events::check_quantity(self.quantity, self.adjust)
            .map_err(|p| usage(format!("--quantity {p}")))?;
        if let Some(key) = &self.idempotency_key {
            events::check_key(key).map_err(|p| usage(format!("--idempotency-key {p}")))?;
        }
        let mut metadata = match &self.metadata {
            Some(m) => {
                Some(events::parse_metadata(m).map_err(|p| usage(format!("--metadata {p}")))?)
            }
            None => None,
        };
        let created_at = match &self.at {
            Some(at) => Some(events::parse_at(at).map_err(|p| usage(format!("--at {p}")))?),
            None => None,
        };
        if self.adjust {
            let reason = self.reason.clone().unwrap_or_default();
            if reason.trim().is_empty() {
                return Err(usage("--reason must say why the correction is made"));
            }
            let mut m = match metadata.take() {
                Some(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            m.insert("adjustment".into(), Value::Bool(true));
            m.insert("reason".into(), Value::String(reason));
            m.insert(
                "adjusted_by_os_user".into(),
                crate::db::conninfo::os_user_name().map_or(Value::Null, Value::String),
            );
            metadata = Some(Value::Object(m));
        }
        Ok(NewEvent {
            org_id: org,
            event_type,
            quantity,
            metadata,
            created_at,
            idempotency_key: self.idempotency_key.clone(),
        })
    }
}

/// The result of `record`: the stored event, and whether it was already there.
#[derive(Debug, Serialize)]
pub struct RecordResult {
    /// The event as stored.
    #[serde(flatten)]
    pub event: EventRow,
    /// True when the idempotency key was already used and nothing new was stored.
    pub duplicate: bool,
}

impl Render for RecordResult {
    fn csv_header(&self) -> Vec<&'static str> {
        std::iter::once("id")
            .chain(ingest::COLUMNS)
            .chain(["duplicate"])
            .collect()
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let e = &self.event;
        vec![vec![
            Cell::text(e.id.to_string()),
            Cell::text(&e.org_id),
            Cell::text(&e.event_type),
            Cell::Num(e.quantity.into()),
            e.metadata
                .as_ref()
                .map_or(Cell::Empty, |m| Cell::text(m.to_string())),
            Cell::Time(e.created_at),
            e.idempotency_key.as_ref().map_or(Cell::Empty, Cell::text),
            Cell::text(self.duplicate.to_string()),
        ]]
    }

    fn human(&self, style: &Style) -> String {
        // the event's fields, as the CSV form has them (without `duplicate`: the heading says it)
        let mut t = style.table(&["field", "value"]);
        for (field, cell) in self.csv_header().into_iter().zip(self.csv_rows().remove(0)) {
            if field != "duplicate" {
                t.add_row(vec![field.to_string(), cell.into_plain()]);
            }
        }
        let head = if self.duplicate {
            "already recorded under this idempotency key; nothing new stored"
        } else {
            "recorded"
        };
        format!("{}\n{t}\n", style.bold(head))
    }
}

/// How a retry differs from the event stored under its idempotency key: each field that
/// differs (event type, quantity, metadata — absent and present included — and the time,
/// when the retry gives one with --at), as `field: stored X, given Y`. Empty for a true
/// retry.
pub fn retry_differences(stored: &EventRow, given: &NewEvent) -> Vec<String> {
    let metadata = |m: &Option<Value>| match m {
        Some(v) => echo(&v.to_string()),
        None => "none".to_string(),
    };
    let mut out = Vec::new();
    if stored.event_type != given.event_type {
        out.push(format!(
            "event type: stored {}, given {}",
            echo(&stored.event_type),
            echo(&given.event_type)
        ));
    }
    if stored.quantity != given.quantity {
        out.push(format!(
            "quantity: stored {}, given {}",
            stored.quantity, given.quantity
        ));
    }
    if stored.metadata != given.metadata {
        out.push(format!(
            "metadata: stored {}, given {}",
            metadata(&stored.metadata),
            metadata(&given.metadata)
        ));
    }
    // the server keeps microseconds
    if let Some(at) = given.created_at
        && at.timestamp_micros() != stored.created_at.timestamp_micros()
    {
        out.push(format!(
            "time: stored {}, given {}",
            fmt_utc(&stored.created_at),
            fmt_utc(&at)
        ));
    }
    out
}

/// Run `usagectl record` with an already validated event. With `enforce`, the org's row
/// lock is held from the quota check to the commit, so concurrent enforced records can
/// never push the org past a limit; events the web app writes straight into the table are
/// counted as they stand when the lock is granted.
pub fn run(client: &mut Client, args: &RecordArgs, ev: &NewEvent, out: &mut Output) -> Result<()> {
    let mut tx = crate::db::begin(client)?;
    queries::scope_to_org(&mut tx, &ev.org_id)?;
    let mut adjusted;
    let ev = if args.adjust {
        // who made the correction, as the database knows them
        adjusted = ev.clone();
        if let Some(Value::Object(m)) = adjusted.metadata.as_mut() {
            m.insert(
                "adjusted_by_db_user".into(),
                Value::String(queries::current_user(&mut tx)?),
            );
        }
        &adjusted
    } else {
        ev
    };
    let key = ev.idempotency_key.as_deref();
    // With --enforce the database decides everything (usagectl_record): which metric
    // limits the event, the org lock, a retry's stored event, the allowance and the insert.
    let (event, inserted) = if args.enforce {
        match queries::record_enforced(&mut tx, ev)? {
            Enforced::Inserted(e) => (e, true),
            Enforced::Duplicate(e) => (e, false),
            Enforced::Refused { message } => {
                return Err(anyhow::Error::new(QuotaExceeded(message)));
            }
        }
    } else {
        match queries::insert_event(&mut tx, ev)? {
            Some(e) => (e, true),
            None => {
                let k = key.context("a conflict can only come from an idempotency key")?;
                let e = queries::find_event_by_key(&mut tx, &ev.org_id, k)?
                    .context("the event holding this idempotency key vanished; try again")?;
                (e, false)
            }
        }
    };
    tx.commit().context("committing the event")?;
    let differences = if inserted {
        Vec::new()
    } else {
        retry_differences(&event, ev)
    };
    if !differences.is_empty() {
        crate::printer::warn(&format!(
            "idempotency key {} was first used for a different event; the stored event is kept: {}",
            echo(key.unwrap_or_default()),
            differences.join("; ")
        ));
    }
    out.render(&RecordResult {
        event,
        duplicate: !inserted,
    })
}
