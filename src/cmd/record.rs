//! `usagectl record`: insert one usage event, idempotently when given a key.
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use postgres::Client;
use serde::Serialize;
use serde_json::Value;

use crate::db::queries::{self, EventRow, NewEvent};
use crate::error::{QuotaExceeded, usage};
use crate::events;
use crate::output::{Cell, Output, Render, Style};
use crate::quota::{self, Month};
use crate::time::fmt_utc;

/// How far in the future `--at` may be (clock skew between machines).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

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

With --enforce the check and the insert are one transaction holding the org's row lock in
usagectl_org_locks: current + quantity <= limit for every metric the event counts toward
(or the limit is -1), in the month of the event, else nothing is recorded, the seed's
message is printed and the exit code is 4.

",
    crate::exit_codes!()
);

/// Arguments of `usagectl record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Organisation id (stored exactly as given)
    #[arg(long, value_name = "ORG")]
    pub org: String,

    /// Event type: one of the 11 known types (see --help)
    #[arg(long, value_name = "TYPE")]
    pub event: String,

    /// Accept an event type that is not one of the 11 known ones, on purpose
    #[arg(long)]
    pub custom_event: bool,

    /// Units consumed: a positive whole number that fits PostgreSQL's integer
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub quantity: i32,

    /// A JSON object stored in the metadata column
    #[arg(long, value_name = "JSON", value_parser = parse_metadata)]
    pub metadata: Option<Value>,

    /// When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z); at most 5 minutes ahead
    #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
    pub at: Option<DateTime<Utc>>,

    /// Retry key: recording the same key again for the org stores nothing new
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,

    /// Record only if every limit the event counts toward stays within it (else exit 4)
    #[arg(long)]
    pub enforce: bool,
}

fn parse_metadata(s: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("must be a JSON object, like '{\"model\":\"x\"}'".to_string()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| {
            format!("not an RFC 3339 time with an offset (like 2025-12-01T09:30:00Z): {e}")
        })?
        .with_timezone(&Utc);
    let limit = Utc::now() + MAX_FUTURE;
    if t > limit {
        return Err(format!(
            "{} is more than 5 minutes in the future",
            fmt_utc(&t)
        ));
    }
    Ok(t)
}

impl RecordArgs {
    /// Validate everything that can be checked without the database.
    pub fn to_event(&self) -> Result<NewEvent> {
        events::validate_org(&self.org)?;
        events::validate_event_type(&self.event, self.custom_event)?;
        if self.idempotency_key.as_deref() == Some("") {
            return Err(usage("--idempotency-key must not be empty"));
        }
        Ok(NewEvent {
            org_id: self.org.clone(),
            event_type: self.event.clone(),
            quantity: self.quantity,
            metadata: self.metadata.clone(),
            created_at: self.at,
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
        vec![
            "id",
            "org_id",
            "event_type",
            "quantity",
            "metadata",
            "created_at",
            "idempotency_key",
            "duplicate",
        ]
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
            Cell::text(fmt_utc(&e.created_at)),
            e.idempotency_key.as_ref().map_or(Cell::Empty, Cell::text),
            Cell::text(self.duplicate.to_string()),
        ]]
    }

    fn human(&self, style: &Style) -> String {
        let e = &self.event;
        let mut t = style.table(&["field", "value"]);
        t.add_row(vec!["id".to_string(), e.id.to_string()]);
        t.add_row(vec!["org_id".to_string(), e.org_id.clone()]);
        t.add_row(vec!["event_type".to_string(), e.event_type.clone()]);
        t.add_row(vec!["quantity".to_string(), e.quantity.to_string()]);
        t.add_row(vec![
            "metadata".to_string(),
            e.metadata.as_ref().map_or(String::new(), Value::to_string),
        ]);
        t.add_row(vec!["created_at".to_string(), fmt_utc(&e.created_at)]);
        t.add_row(vec![
            "idempotency_key".to_string(),
            e.idempotency_key.clone().unwrap_or_default(),
        ]);
        let head = if self.duplicate {
            "already recorded under this idempotency key; nothing new stored"
        } else {
            "recorded"
        };
        format!("{}\n{t}\n", style.bold(head))
    }
}

/// Run `usagectl record` with an already validated event. With `enforce`, the org's row
/// lock is held from the quota check to the commit, so concurrent enforced records can
/// never push the org past a limit; events the web app writes straight into the table are
/// counted as they stand when the lock is granted.
pub fn run(client: &mut Client, ev: &NewEvent, enforce: bool, out: &mut Output) -> Result<()> {
    let mut tx = client.transaction()?;
    queries::scope_to_org(&mut tx, &ev.org_id)?;
    let key = ev.idempotency_key.as_deref();
    let mut existing = None;
    if enforce {
        queries::lock_org(&mut tx, &ev.org_id)?;
        if let Some(k) = key {
            existing = queries::find_event_by_key(&mut tx, &ev.org_id, k)?;
        }
        if existing.is_none() {
            let at = match ev.created_at {
                Some(t) => t,
                None => queries::server_now(&mut tx)?,
            };
            let month = Month::containing(at);
            let limits =
                queries::load_limit_config(&mut tx, Some(&ev.org_id))?.effective(&ev.org_id);
            let usage = queries::usage_by_org(&mut tx, Some(&ev.org_id), &month)?
                .remove(&ev.org_id)
                .unwrap_or_default();
            if let Err(exceeded) =
                quota::check_event(&limits, &usage, &ev.event_type, ev.quantity.into())
            {
                return Err(anyhow::Error::new(QuotaExceeded(exceeded.message())));
            }
        }
    }
    let (event, inserted) = match existing {
        Some(e) => (e, false),
        None => match queries::insert_event(&mut tx, ev)? {
            Some(e) => (e, true),
            None => {
                let k = key.context("a conflict can only come from an idempotency key")?;
                let e = queries::find_event_by_key(&mut tx, &ev.org_id, k)?
                    .context("the event holding this idempotency key vanished; try again")?;
                (e, false)
            }
        },
    };
    tx.commit().context("committing the event")?;
    if !inserted
        && (event.event_type != ev.event_type
            || event.quantity != ev.quantity
            || (ev.metadata.is_some() && event.metadata != ev.metadata))
    {
        out.warn(&format!(
            "idempotency key {:?} was first used for a different event ({} x{}); the stored event is kept",
            key.unwrap_or_default(),
            event.event_type,
            event.quantity
        ));
    }
    out.render(&RecordResult {
        event,
        duplicate: !inserted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_must_be_an_object() {
        assert!(parse_metadata("{\"a\":1}").is_ok());
        assert!(parse_metadata("[1]").unwrap_err().contains("JSON object"));
        assert!(parse_metadata("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn at_refuses_far_future_and_accepts_offsets() {
        let soon = (Utc::now() + Duration::minutes(4)).to_rfc3339();
        assert!(parse_at(&soon).is_ok());
        let later = (Utc::now() + Duration::minutes(6)).to_rfc3339();
        assert!(parse_at(&later).unwrap_err().contains("future"));
        let t = parse_at("2025-12-01T10:30:00+01:00").unwrap();
        assert_eq!(fmt_utc(&t), "2025-12-01T09:30:00Z");
        assert!(parse_at("2025-12-01 09:30").is_err());
    }
}
