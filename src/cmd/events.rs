//! `usagectl events`: an org's raw events, newest first, for support ("why is this org
//! blocked?"), and `--follow` to watch them arrive.
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use postgres::Client;
use serde::Serialize;

use crate::db::queries::{self, EventFilter, RawEvent};
use crate::error::{echo, usage};
use crate::output::Format;
use crate::output::{Cell, Output, Render, Style};
use crate::time::fmt_utc;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Events of one org, newest first (the last 50 unless --limit), with their id, type,
quantity, time, idempotency key and metadata (shortened in the table, whole in JSON, JSON
Lines and CSV). --where KEY=VALUE keeps events whose metadata has that top-level key with
that string value (a containment test, `metadata @> '{\"KEY\": \"VALUE\"}'`, which a GIN
index on metadata can serve); repeat it to require several. --type takes a built-in type or
a custom one recorded with --custom-event; when a type that is not built in matches
nothing, stderr says so (it may be a typo). Works as usage_reader under
the seed's RLS policy (one org at a time).

--follow prints the newest events oldest first, then every new one as it commits, like
`tail -f`: it reads up to the point where every transaction that was writing usage_events
has ended (as the fold does), so an event whose transaction commits late is printed when it
commits, and none is printed twice. It runs until interrupted.

Examples:
  usagectl events --org acme
  usagectl events --org acme --type chat_message --since 2h
  usagectl events --org acme --where message_id=m-17 -o json
  usagectl events --org acme --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z -o csv
  usagectl events --org acme --follow -o jsonl

",
    crate::exit_codes!()
);

/// Arguments of `usagectl events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Organisation id
    #[arg(long, value_name = "ORG")]
    pub org: String,
    /// Only this event type (repeatable)
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only events of the last DURATION (90s, 30m, 2h, 7d)
    #[arg(long, value_name = "DURATION", value_parser = crate::time::parse_ago, conflicts_with_all = ["from", "to"])]
    pub since: Option<Duration>,
    /// Only events at or after this instant
    #[arg(long, value_name = "RFC3339", value_parser = crate::period::parse_instant)]
    pub from: Option<DateTime<Utc>>,
    /// Only events before this instant
    #[arg(long, value_name = "RFC3339", value_parser = crate::period::parse_instant, requires = "from")]
    pub to: Option<DateTime<Utc>>,
    /// Only events whose metadata has KEY with the string VALUE (repeatable)
    #[arg(long = "where", value_name = "KEY=VALUE", value_parser = parse_where)]
    pub wheres: Vec<(String, String)>,
    /// How many (the newest)
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub limit: i64,
    /// Keep printing new events as they commit, oldest first
    #[arg(long)]
    pub follow: bool,
    /// With --follow: how often to look for new events
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::webhook::parse_timeout,
          requires = "follow")]
    pub interval: Duration,
}

fn parse_where(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{} is not KEY=VALUE", echo(s))),
    }
}

impl EventsArgs {
    /// Check what can be checked without the database.
    pub fn validate(&self) -> Result<()> {
        crate::events::validate_org(&self.org)?;
        // a custom type (recorded with --custom-event) is as findable as a built-in one
        for t in &self.types {
            crate::events::check_event_type(t, true).map_err(|p| usage(format!("--type {p}")))?;
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && t <= f
        {
            return Err(usage("--to must be after --from"));
        }
        Ok(())
    }

    fn filter(&self, now: DateTime<Utc>) -> EventFilter {
        let contains = (!self.wheres.is_empty()).then(|| {
            serde_json::Value::Object(
                self.wheres
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
        });
        EventFilter {
            types: self.types.clone(),
            from: match self.since {
                Some(d) => Some(crate::time::before(now, d)),
                None => self.from,
            },
            to: self.to,
            contains,
        }
    }
}

/// The metadata as one line, cut for the table.
fn short_metadata(m: &Option<serde_json::Value>) -> String {
    let s = m.as_ref().map(|v| v.to_string()).unwrap_or_default();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

/// `usagectl events`.
#[derive(Debug, Serialize)]
pub struct EventList {
    /// Organisation.
    pub org_id: String,
    /// Newest first.
    pub events: Vec<RawEvent>,
}

const HEADER: [&str; 6] = [
    "id",
    "event_type",
    "quantity",
    "created_at",
    "idempotency_key",
    "metadata",
];

fn cells(e: &RawEvent) -> Vec<Cell> {
    vec![
        Cell::text(e.id.to_string()),
        Cell::text(&e.event_type),
        Cell::Num(i64::from(e.quantity)),
        Cell::Time(e.created_at),
        e.idempotency_key.as_ref().map_or(Cell::Empty, Cell::text),
        e.metadata
            .as_ref()
            .map_or(Cell::Empty, |m| Cell::text(m.to_string())),
    ]
}

impl Render for EventList {
    fn csv_header(&self) -> Vec<&'static str> {
        HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.events.iter().map(cells).collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.events)
    }
    fn human(&self, style: &Style) -> String {
        if self.events.is_empty() {
            return format!("no events for org {}\n", self.org_id);
        }
        let mut t = style.table(&[
            "time",
            "type",
            "quantity",
            "idempotency key",
            "metadata",
            "id",
        ]);
        t.drop_order(&[5, 3, 4]);
        for e in &self.events {
            t.add_row(vec![
                style.cell(fmt_utc(&e.created_at), None),
                style.cell(&e.event_type, None),
                style.cell(e.quantity, None),
                style.cell(e.idempotency_key.clone().unwrap_or_default(), None),
                style.cell(short_metadata(&e.metadata), None),
                style.cell(e.id, None),
            ]);
        }
        format!("{t}\n")
    }
}

/// One event as `--follow` prints it.
fn follow_line(e: &RawEvent, format: Format) -> Result<String> {
    Ok(match format {
        Format::Json | Format::Jsonl => serde_json::to_string(e)?,
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            let row: Vec<String> = cells(e).into_iter().map(|c| c.into_csv(true)).collect();
            w.write_record(&row)?;
            String::from_utf8_lossy(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
                .trim_end()
                .to_string()
        }
        Format::Table => format!(
            "{}  {}  {}  {}  {}",
            fmt_utc(&e.created_at),
            e.event_type,
            e.quantity,
            e.idempotency_key.as_deref().unwrap_or("-"),
            crate::text::escape_text(&short_metadata(&e.metadata))
        ),
    })
}

/// Run `usagectl events`.
pub fn run(client: &mut Client, args: &EventsArgs, out: &mut Output) -> Result<()> {
    let mut tx = queries::read_snapshot(client)?;
    let now = queries::scope_to_org_now(&mut tx, &args.org)?;
    if let Some(note) = crate::app::orgs::unknown_org(&mut tx, &args.org)? {
        crate::printer::notice(&note);
    }
    let filter = args.filter(now);
    if filter.from.is_some() {
        crate::app::archives::require_raw(
            &mut tx,
            filter.from,
            filter.to.unwrap_or(DateTime::<Utc>::MAX_UTC),
            "events",
        )?;
    }
    if !args.follow {
        let events = queries::recent_events(&mut tx, &args.org, &filter, args.limit, None)?;
        // a listing that reached the oldest rows in the table: older ones may be archived
        if filter.from.is_none() && (events.len() as i64) < args.limit {
            let to = events.last().map_or(now, |e| e.created_at);
            let months = crate::app::archives::archived_before(&mut tx, to)?;
            if let (Some(first), Some(last)) = (months.first(), months.last()) {
                crate::printer::notice(&format!(
                    "events before the ones shown may be in archived months ({first} to {last}): usagectl archive --list"
                ));
            }
        }
        tx.commit()?;
        if events.is_empty() {
            // an empty answer for a type that is not built in may be a typo: say so
            for t in crate::events::custom_types(&args.types) {
                crate::printer::note(&format!(
                    "usagectl: {} is not one of the {} built-in event types{}; no event of it matched",
                    echo(t),
                    crate::events::EVENT_TYPES.len(),
                    crate::events::did_you_mean(t)
                        .map(|d| format!(" (did you mean '{d}'?)"))
                        .unwrap_or_default()
                ));
            }
        }
        return out.render(&EventList {
            org_id: args.org.clone(),
            events,
        });
    }
    tx.commit()?;
    let format = out.format();
    let max_wait = Duration::from_secs(10);
    // everything numbered up to `seen` is settled and printed
    let mut seen = {
        let mut tx = crate::db::begin(client)?;
        let settled = queries::settled_seq(&mut tx, max_wait)?;
        queries::scope_to_org(&mut tx, &args.org)?;
        let mut events =
            queries::recent_events(&mut tx, &args.org, &filter, args.limit, Some(settled))?;
        tx.commit()?;
        events.reverse();
        let w = out.raw();
        if format == Format::Csv {
            writeln!(w, "{}", HEADER.join(","))?;
        }
        for e in &events {
            writeln!(w, "{}", follow_line(e, format)?)?;
        }
        w.flush()?;
        settled
    };
    let mut said_waiting = false;
    loop {
        std::thread::sleep(args.interval);
        let mut tx = crate::db::begin(client)?;
        let settled = match queries::settled_seq(&mut tx, max_wait) {
            Ok(s) => s,
            // a writer's transaction stays open: say so once, keep waiting
            Err(e)
                if crate::db::waits::sqlstate(&e)
                    == Some(postgres::error::SqlState::LOCK_NOT_AVAILABLE) =>
            {
                if !said_waiting {
                    crate::printer::notice(&crate::error::one_line(&e));
                    said_waiting = true;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        said_waiting = false;
        if settled > seen {
            queries::scope_to_org(&mut tx, &args.org)?;
            let events = queries::events_numbered(&mut tx, &args.org, &filter, seen, settled)?;
            let w = out.raw();
            for e in &events {
                writeln!(w, "{}", follow_line(e, format)?)?;
            }
            w.flush().context("writing the new events")?;
            seen = settled;
        }
        tx.commit()?;
    }
}
