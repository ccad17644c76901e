//! `usagectl stripe`: map usage sources to Stripe Billing Meters, push each org's usage per
//! UTC day as meter events exactly once (a ledger of revisions), and reconcile with Stripe's
//! event summaries.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use postgres::Client;
use serde::Serialize;

use crate::db::queries::{self, PendingRevision, Revision, StripeMeter};
use crate::error::{self, echo, usage};
use crate::output::{self, Cell, Output, Render, Style};
use crate::period::Month;
use crate::quota::Metric;
use crate::stripe::{self, Api, ApiOptions, Key, MeterEvent, Mode, RevisionStatus};
use crate::time::fmt_utc;
use crate::tls::Roots;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Each mapped org (`usagectl org set ORG --stripe-customer cus_...`) and meter (`stripe meter
add SOURCE --event-name NAME`, SOURCE a metric such as ai_tokens = input + output tokens, or
an event type) is a stream. `stripe push` sends, per UTC day up to --through, usagectl's
exact usage minus what the ledger (usagectl_stripe_ledger) says was sent, as one meter event
whose identifier and Idempotency-Key come from mode, org, source, day and revision. The
revision is written as pending before the request and marked sent after Stripe's 2xx, so a
crash or timeout is retried by the next push with the same identifier, which Stripe
deduplicates for at least 24 hours: run push at least hourly. A decrease (a correction) is a
negative value, which Stripe documents for fixing over-reported usage; meters must use the
sum aggregation. A change to a day Stripe no longer accepts (35 days, less a day's margin)
is not sent: it is recorded as a manual credit and listed with its amount (exit 3). 429
waits for Retry-After; one request at a time per customer and meter; --jobs streams at once.

The key comes from STRIPE_API_KEY or --stripe-key-file and is never printed, logged or
stored; test keys (sk_test_, rk_test_) by default, live keys only with --live. Every output
says the mode. --api-base (STRIPE_API_BASE) points at a proxy or a test server; requests pin
Stripe-Version 2024-06-20.

Examples:
  usagectl org set acme --stripe-customer cus_Q1w2e3
  usagectl stripe meter add ai_tokens --event-name ai_tokens --meter-id mtr_123
  usagectl stripe meter add chat_messages --event-name chat_messages --from 2026-12-01
  usagectl stripe meter list
  usagectl stripe push --dry-run                       # the events it would send, JSON Lines
  17 * * * * usagectl stripe push --stripe-key-file /etc/usagectl/stripe.key   # crontab: hourly
  usagectl stripe reconcile --month 2026-11

Exit codes of push and reconcile: 0 everything decided was sent (a stream another push is
handling is skipped and named) / everything agrees, 1 a request failed (it is tried again by
the next push, within a day), 2 misuse, 3 manual credits are needed (push) or some day
disagrees (reconcile).

",
    crate::exit_codes!()
);

/// Arguments of `usagectl stripe`.
#[derive(Args, Debug)]
pub struct StripeArgs {
    /// What to do
    #[command(subcommand)]
    pub command: StripeCommand,
}

/// How to reach Stripe.
#[derive(Args, Debug, Clone)]
pub struct ApiOpts {
    /// Read the API key from this file (else STRIPE_API_KEY)
    #[arg(long, value_name = "PATH")]
    pub stripe_key_file: Option<PathBuf>,

    /// Allow a live-mode key (sk_live_, rk_live_): real customers are billed
    #[arg(long)]
    pub live: bool,

    /// Stripe's base URL (a proxy's, or a test server's)
    #[arg(
        long,
        value_name = "URL",
        env = "STRIPE_API_BASE",
        hide_env_values = true,
        default_value = "https://api.stripe.com"
    )]
    pub api_base: String,

    /// Most time for one request, connecting included
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::webhook::parse_timeout)]
    pub timeout: Duration,

    /// Most time to connect (and finish the TLS handshake)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::webhook::parse_timeout)]
    pub connect_timeout: Duration,

    /// Trusted roots for HTTPS: a PEM file, or `system`
    #[arg(long, value_name = "PATH|system", default_value = "system", env = "USAGECTL_STRIPE_ROOT_CERT", hide_env_values = true,
          value_parser = crate::tls::parse_roots)]
    pub root_cert: Roots,
}

fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{} is not a day like 2026-12-01 (YYYY-MM-DD)", echo(s)))
}

/// `usagectl stripe meter` subcommands.
#[derive(Subcommand, Debug)]
pub enum MeterCommand {
    /// Map a metric or an event type to a Stripe meter's event name
    Add {
        /// One of the six metrics (ai_tokens = input + output) or an event type
        source: String,
        /// The Stripe meter's event name
        #[arg(long, value_name = "NAME")]
        event_name: String,
        /// The Stripe meter's id (reconcile reads its event summaries)
        #[arg(long, value_name = "mtr_...")]
        meter_id: Option<String>,
        /// The first UTC day to push (default: the first of the current month)
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        from: Option<NaiveDate>,
    },
    /// List the mapped meters
    List,
    /// Remove a mapping (the ledger of what was sent stays)
    Remove {
        /// The usage source whose mapping to remove, as `stripe meter list` shows it
        source: String,
    },
}

/// `usagectl stripe` subcommands.
#[derive(Subcommand, Debug)]
pub enum StripeCommand {
    /// Map usage sources to Stripe meters
    Meter {
        /// What to do
        #[command(subcommand)]
        command: MeterCommand,
    },
    /// Send what Stripe has not been sent yet, per org, meter and UTC day (cron)
    Push {
        /// Count usage up to this instant (default now)
        #[arg(long, value_name = "RFC3339", value_parser = crate::period::parse_instant)]
        through: Option<DateTime<Utc>>,
        /// Only this org
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Print the events it would send as JSON Lines; write and send nothing
        #[arg(long)]
        dry_run: bool,
        /// Streams (customer and meter) sent at once; each sends one request at a time
        #[arg(long, value_name = "N", default_value_t = 4,
              value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: u16,
        /// How to reach Stripe
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Compare Stripe's daily event summaries, the ledger and usagectl's usage
    Reconcile {
        /// The UTC calendar month (default the current one)
        #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
        month: Option<Month>,
        /// Only this org
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// How to reach Stripe
        #[command(flatten)]
        api: ApiOpts,
    },
}

/// Check what can be checked without the database.
pub fn validate(args: &StripeArgs) -> Result<()> {
    match &args.command {
        StripeCommand::Push { org, .. } | StripeCommand::Reconcile { org, .. } => {
            org.as_deref().map_or(Ok(()), crate::events::validate_org)
        }
        StripeCommand::Meter { .. } => Ok(()),
    }
}

/// The event types a source sums: a metric's, or the event type itself (exit 2 if neither).
fn source_types(source: &str) -> Result<Vec<&'static str>> {
    if let Some(m) = Metric::from_name(source) {
        return Ok(m.event_types().to_vec());
    }
    if let Some(t) = crate::events::EVENT_TYPES.iter().find(|t| **t == source) {
        return Ok(vec![t]);
    }
    let metrics: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    Err(usage(format!(
        "{} is neither a metric ({}) nor an event type ({})",
        echo(source),
        metrics.join(", "),
        crate::events::EVENT_TYPES.join(", ")
    )))
}

/// The key, from --stripe-key-file or STRIPE_API_KEY (exit 2 when missing or refused).
fn load_key(opts: &ApiOpts) -> Result<Key> {
    let text = match &opts.stripe_key_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| usage(format!("reading the Stripe key from {}: {e}", p.display())))?,
        None => std::env::var("STRIPE_API_KEY").map_err(|_| {
            usage("no Stripe key: set STRIPE_API_KEY or pass --stripe-key-file PATH")
        })?,
    };
    Key::parse(&text, opts.live)
}

fn api(opts: &ApiOpts) -> Result<Api> {
    let key = load_key(opts)?;
    Api::new(
        &ApiOptions {
            base: opts.api_base.clone(),
            connect_timeout: opts.connect_timeout.min(opts.timeout),
            timeout: opts.timeout,
            roots: opts.root_cert.clone(),
        },
        key,
    )
}

fn meters_table(meters: &[StripeMeter], style: &Style) -> String {
    let mut t = style.table(&["source", "sums", "event name", "meter id", "from", "added"]);
    for m in meters {
        t.add_row(vec![
            style.cell(&m.source, None),
            style.cell(m.event_types.join(" + "), None),
            style.cell(&m.event_name, None),
            style.cell(m.meter_id.clone().unwrap_or_default(), None),
            style.cell(m.from_day, None),
            style.cell(format!("{} by {}", fmt_utc(&m.added_at), m.added_by), None),
        ]);
    }
    t.to_string()
}

/// `stripe meter list` / `add` / `remove`.
#[derive(Debug, Serialize)]
pub struct Meters {
    /// What changed, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// Every mapping.
    pub meters: Vec<StripeMeter>,
}

impl Render for Meters {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "source",
            "event_types",
            "event_name",
            "meter_id",
            "from_day",
            "added_at",
            "added_by",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.meters
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.source),
                    Cell::text(m.event_types.join(" ")),
                    Cell::text(&m.event_name),
                    m.meter_id.as_ref().map_or(Cell::Empty, Cell::text),
                    Cell::text(m.from_day.to_string()),
                    Cell::Time(m.added_at),
                    Cell::text(&m.added_by),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let head = self
            .change
            .clone()
            .map(|c| format!("{c}\n"))
            .unwrap_or_default();
        if self.meters.is_empty() {
            return format!("{head}no Stripe meters mapped\n");
        }
        format!("{head}{}\n", meters_table(&self.meters, style))
    }
}

/// One revision decided or sent by a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushRow {
    /// Organisation.
    pub org_id: String,
    /// Source.
    pub source: String,
    /// UTC day.
    pub day: NaiveDate,
    /// Revision.
    pub revision: i32,
    /// Identifier / Idempotency-Key.
    pub identifier: String,
    /// Value sent (negative: a decrease).
    pub value: i64,
    /// sent, failed (pending, tried again by the next push) or manual_credit.
    pub status: RevisionStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `stripe push`.
#[derive(Debug, Serialize)]
pub struct PushReport {
    /// test or live.
    pub mode: Mode,
    /// Usage counted up to this instant.
    #[serde(serialize_with = "crate::time::ser")]
    pub through: DateTime<Utc>,
    /// Streams (org, meter) looked at.
    pub streams: usize,
    /// Streams skipped because another push is deciding or sending them.
    pub busy: Vec<String>,
    /// Revisions sent, failed or recorded as manual credits.
    pub revisions: Vec<PushRow>,
}

impl Render for PushReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "mode",
            "org_id",
            "source",
            "day",
            "revision",
            "identifier",
            "value",
            "status",
            "error",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.revisions
            .iter()
            .map(|r| {
                vec![
                    Cell::text(self.mode.name()),
                    Cell::text(&r.org_id),
                    Cell::text(&r.source),
                    Cell::text(r.day.to_string()),
                    Cell::Num(i64::from(r.revision)),
                    Cell::text(&r.identifier),
                    Cell::Num(r.value),
                    Cell::text(r.status.as_str()),
                    r.error.as_ref().map_or(Cell::Empty, Cell::text),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let count = |s: RevisionStatus| self.revisions.iter().filter(|r| r.status == s).count();
        let mut out = format!(
            "stripe push ({} mode) through {}: {} over {}; {} sent, {} failed, {} manual credit{}\n",
            self.mode.name(),
            fmt_utc(&self.through),
            output::count(self.revisions.len() as i64, "revision", "revisions"),
            output::count(self.streams as i64, "stream", "streams"),
            count(RevisionStatus::Sent),
            count(RevisionStatus::Failed),
            count(RevisionStatus::ManualCredit),
            if count(RevisionStatus::ManualCredit) == 1 {
                ""
            } else {
                "s"
            }
        );
        if !self.revisions.is_empty() {
            let mut t = style.table(&["org", "source", "day", "rev", "value", "status"]);
            for r in &self.revisions {
                t.add_row(vec![
                    style.cell(&r.org_id, None),
                    style.cell(&r.source, None),
                    style.cell(r.day, None),
                    style.cell(r.revision, None),
                    style.cell(r.value, None),
                    style.cell(
                        match &r.error {
                            Some(e) => format!("{}: {e}", r.status),
                            None => r.status.to_string(),
                        },
                        None,
                    ),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        for b in &self.busy {
            out.push_str(&format!(
                "skipped {b}: another push is deciding or sending it\n"
            ));
        }
        out
    }
}

/// One disagreeing day of `stripe reconcile`.
#[derive(Debug, Serialize)]
pub struct ReconcileRow {
    /// Organisation.
    pub org_id: String,
    /// Its customer.
    pub customer_id: String,
    /// Source.
    pub source: String,
    /// UTC day.
    pub day: NaiveDate,
    /// usagectl's usage.
    pub usage: i64,
    /// What the ledger says Stripe acknowledged.
    pub ledger_sent: i64,
    /// Decided but not acknowledged yet.
    pub ledger_pending: i64,
    /// Recorded as a manual credit (never sent).
    pub manual_credit: i64,
    /// What Stripe's daily summary holds.
    pub stripe: f64,
    /// In words.
    pub note: String,
}

/// `stripe reconcile`.
#[derive(Debug, Serialize)]
pub struct ReconcileReport {
    /// test or live.
    pub mode: Mode,
    /// The month.
    pub month: String,
    /// Streams compared.
    pub streams: usize,
    /// Days compared.
    pub days: usize,
    /// Meters without a meter id (their summaries cannot be read).
    pub without_meter_id: Vec<String>,
    /// Every day where Stripe, the ledger and the usage do not all agree.
    pub disagreements: Vec<ReconcileRow>,
}

impl Render for ReconcileReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "mode",
            "org_id",
            "customer_id",
            "source",
            "day",
            "usage",
            "ledger_sent",
            "ledger_pending",
            "manual_credit",
            "stripe",
            "note",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.disagreements
            .iter()
            .map(|r| {
                vec![
                    Cell::text(self.mode.name()),
                    Cell::text(&r.org_id),
                    Cell::text(&r.customer_id),
                    Cell::text(&r.source),
                    Cell::text(r.day.to_string()),
                    Cell::Num(r.usage),
                    Cell::Num(r.ledger_sent),
                    Cell::Num(r.ledger_pending),
                    Cell::Num(r.manual_credit),
                    Cell::text(r.stripe.to_string()),
                    Cell::text(&r.note),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut out = format!(
            "stripe reconcile ({} mode) {}: {} and {} compared, {} disagree{}\n",
            self.mode.name(),
            self.month,
            output::count(self.streams as i64, "stream", "streams"),
            output::count(self.days as i64, "day", "days"),
            self.disagreements.len(),
            if self.disagreements.len() == 1 {
                "s"
            } else {
                ""
            }
        );
        if !self.disagreements.is_empty() {
            let mut t = style.table(&["org", "source", "day", "usage", "sent", "stripe", "note"]);
            for r in &self.disagreements {
                t.add_row(vec![
                    style.cell(&r.org_id, None),
                    style.cell(&r.source, None),
                    style.cell(r.day, None),
                    style.cell(r.usage, None),
                    style.cell(r.ledger_sent, None),
                    style.cell(r.stripe, None),
                    style.cell(&r.note, None),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        for m in &self.without_meter_id {
            out.push_str(&format!(
                "not compared: meter {m} has no meter id (stripe meter remove it and add it again with --meter-id)\n"
            ));
        }
        out
    }
}

/// How long a push's claim on a stream's pending revisions lasts when its backend cannot
/// be seen to have gone (behind a pooler): every try of every revision at its timeout.
fn lease(opts: &ApiOpts, revisions: usize) -> Duration {
    (opts.timeout + Duration::from_secs(30)) * 3 * (revisions.max(1) as u32)
        + Duration::from_secs(60)
}

/// A stream's work: its org and source, and its claimed revisions in order.
struct Work {
    org: String,
    source: String,
    revisions: Vec<PendingRevision>,
}

/// Decide one stream's revisions under its lock and claim its pending ones; `None` when
/// another push holds it.
#[allow(clippy::too_many_arguments)]
fn decide_stream(
    client: &mut Client,
    mode: Mode,
    org: &str,
    customer: &str,
    meter: &StripeMeter,
    now: DateTime<Utc>,
    through: DateTime<Utc>,
    opts: &ApiOpts,
    manual: &mut Vec<PushRow>,
) -> Result<Option<Work>> {
    let live = mode == Mode::Live;
    let mut tx = crate::db::begin(client)?;
    if !queries::lock_stripe_stream(&mut tx, live, org, &meter.source)?
        || queries::stripe_stream_in_flight(&mut tx, live, org, &meter.source)?
    {
        return Ok(None);
    }
    for r in plan_stream(&mut tx, mode, org, customer, meter, now, through)? {
        queries::insert_stripe_revision(&mut tx, &r)?;
        if r.status == RevisionStatus::ManualCredit {
            manual.push(PushRow {
                org_id: r.org_id.clone(),
                source: r.source.clone(),
                day: r.day,
                revision: r.revision,
                identifier: r.identifier.clone(),
                value: r.value,
                status: RevisionStatus::ManualCredit,
                error: None,
            });
        }
    }
    let n = queries::count_stripe_pending(&mut tx, live, org, &meter.source)?;
    let mut revisions =
        queries::claim_stripe_pending(&mut tx, live, org, &meter.source, lease(opts, n))?;
    tx.commit().context("committing the stream's revisions")?;
    revisions.sort_by_key(|r| (r.day, r.revision));
    Ok(Some(Work {
        org: org.to_string(),
        source: meter.source.clone(),
        revisions,
    }))
}

/// The revisions a stream needs now: per day from the meter's first day through
/// `through`, usage minus the ledger's sum (pending and manual credits included).
fn plan_stream(
    db: &mut impl postgres::GenericClient,
    mode: Mode,
    org: &str,
    customer: &str,
    meter: &StripeMeter,
    now: DateTime<Utc>,
    through: DateTime<Utc>,
) -> Result<Vec<Revision>> {
    let live = mode == Mode::Live;
    let from = meter
        .from_day
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    if from >= through {
        return Ok(Vec::new());
    }
    let ledger = queries::stripe_ledger_days(db, live, org, &meter.source)?;
    let usage = queries::usage_per_day(db, org, &meter.event_types, from, through)?;
    Ok(
        stripe::plan_revisions(&usage, &ledger, meter.from_day, through, now)
            .into_iter()
            .map(|p| Revision {
                livemode: live,
                org_id: org.to_string(),
                source: meter.source.clone(),
                day: p.day,
                revision: p.revision,
                identifier: stripe::identifier(mode, org, &meter.source, p.day, p.revision),
                customer_id: customer.to_string(),
                event_name: meter.event_name.clone(),
                value: p.value,
                usage_after: p.usage_after,
                status: p.status,
            })
            .collect(),
    )
}

/// Send one stream's revisions in order, one request at a time, recording each.
fn send_stream(db: &mut Client, api: &Api, w: &Work) -> Result<Vec<PushRow>> {
    let live = api.mode() == Mode::Live;
    let mut rows = Vec::new();
    for r in &w.revisions {
        let result = api.send(&meter_event(r));
        let error = result.as_ref().err().map(ToString::to_string);
        queries::finish_stripe_revision(db, live, &r.identifier, error.as_deref())?;
        rows.push(PushRow {
            org_id: w.org.clone(),
            source: w.source.clone(),
            day: r.day,
            revision: r.revision,
            identifier: r.identifier.clone(),
            value: r.value,
            status: if error.is_none() {
                RevisionStatus::Sent
            } else {
                RevisionStatus::Failed
            },
            error,
        });
    }
    Ok(rows)
}

/// Mapped (org, customer) pairs and meters.
type Streams = (Vec<(String, String)>, Vec<StripeMeter>);

/// The mapped streams: (org, customer) × meter, `org` only when given (exit 2 when it has no
/// customer, or nothing is mapped).
fn streams(client: &mut Client, org: Option<&str>) -> Result<Streams> {
    let customers = queries::stripe_customers(client, org)?;
    if let Some(o) = org
        && customers.is_empty()
    {
        return Err(usage(format!(
            "org {o} has no Stripe customer (usagectl org set {o} --stripe-customer cus_...)"
        )));
    }
    let meters = queries::stripe_meters(client)?;
    if meters.is_empty() {
        return Err(usage(
            "no Stripe meters mapped (usagectl stripe meter add SOURCE --event-name NAME)",
        ));
    }
    Ok((customers, meters))
}

/// One event `push --dry-run` would send.
#[derive(Debug, Serialize)]
struct DryEvent {
    mode: Mode,
    org_id: String,
    source: String,
    day: NaiveDate,
    revision: i32,
    event: MeterEvent,
}

/// `push --dry-run`: JSON Lines, an event a line.
#[derive(Debug, Serialize)]
struct DryRun {
    events: Vec<DryEvent>,
}

impl Render for DryRun {
    fn csv_header(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        Vec::new()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.events)
    }
    fn human(&self, _: &Style) -> String {
        String::new()
    }
}

/// The meter event of a revision: its day's first second as the timestamp.
fn meter_event(r: &PendingRevision) -> MeterEvent {
    MeterEvent {
        event_name: r.event_name.clone(),
        identifier: r.identifier.clone(),
        customer: r.customer_id.clone(),
        value: r.value,
        timestamp: stripe::day_timestamp(r.day),
    }
}

/// Stripe's commands compare usagectl's figures with what Stripe holds: a role that
/// row-level security confines to one org, or to none, would compare with nothing.
fn sees_every_org(client: &mut Client, command: &str) -> Result<()> {
    crate::app::every_org::require_every(client, |seen| {
        format!(
            "{command} reads every mapped org's usage, but this role sees only org {}: run it \
             as the table's owner or a role with BYPASSRLS",
            crate::error::echo(seen)
        )
    })
}

/// `stripe push`.
#[allow(clippy::too_many_arguments)]
fn push(
    client: &mut Client,
    connect: &dyn Fn() -> Result<Client>,
    through: Option<DateTime<Utc>>,
    org: Option<&str>,
    dry_run: bool,
    jobs: u16,
    opts: &ApiOpts,
    out: &mut Output,
) -> Result<u8> {
    let api = api(opts)?;
    let mode = api.mode();
    // usage read from nothing would be sent as corrections down to zero
    sees_every_org(client, "stripe push")?;
    let (customers, meters) = streams(client, org)?;
    let now = queries::server_now(client)?;
    let through = through.map_or(now, |t| t.min(now));
    if dry_run {
        // what would be sent: the pending revisions a push would retry and the new ones
        let mut tx = queries::read_snapshot(client)?;
        let mut events = Vec::new();
        for (o, customer) in &customers {
            for m in &meters {
                let mut revisions =
                    queries::stripe_pending(&mut tx, mode == Mode::Live, o, &m.source)?;
                revisions.extend(
                    plan_stream(&mut tx, mode, o, customer, m, now, through)?
                        .into_iter()
                        .filter(|r| r.status == RevisionStatus::Pending)
                        .map(|r| PendingRevision {
                            org_id: r.org_id,
                            source: r.source,
                            day: r.day,
                            revision: r.revision,
                            identifier: r.identifier,
                            customer_id: r.customer_id,
                            event_name: r.event_name,
                            value: r.value,
                            attempts: 0,
                        }),
                );
                events.extend(revisions.iter().map(|r| DryEvent {
                    mode,
                    org_id: r.org_id.clone(),
                    source: r.source.clone(),
                    day: r.day,
                    revision: r.revision,
                    event: meter_event(r),
                }));
            }
        }
        tx.commit()?;
        // JSON Lines whatever -o says: one event per line, for a script to read
        Output::new(
            crate::output::Format::Jsonl,
            Style::detect(
                crate::output::ColorChoice::Never,
                crate::output::Format::Jsonl,
            ),
            out.raw(),
        )
        .render(&DryRun { events })?;
        return Ok(error::EXIT_OK);
    }
    let mut manual = Vec::new();
    let mut busy = Vec::new();
    let mut work = Vec::new();
    for (o, customer) in &customers {
        for m in &meters {
            match decide_stream(
                client,
                mode,
                o,
                customer,
                m,
                now,
                through,
                opts,
                &mut manual,
            )? {
                Some(w) if !w.revisions.is_empty() => work.push(w),
                Some(_) => {}
                None => busy.push(format!("org {o}, {}", m.source)),
            }
        }
    }
    // send: up to --jobs streams at once, each on its own connection, one request at a time
    let jobs = usize::from(jobs).min(work.len()).max(1);
    let mut conns = Vec::with_capacity(jobs);
    for _ in 1..jobs {
        conns.push(connect()?);
    }
    let mut revisions = Vec::new();
    let results: Vec<Result<Vec<PushRow>>> = std::thread::scope(|s| {
        let api = &api;
        let work = &work;
        let mut handles = Vec::new();
        let mut own = Some(&mut *client);
        let mut extra = conns.iter_mut();
        for j in 0..jobs {
            let db: &mut Client = if j == 0 {
                own.take().expect("one client for the first job")
            } else {
                extra.next().expect("a connection per job")
            };
            handles.push(s.spawn(move || -> Result<Vec<PushRow>> {
                let mut rows = Vec::new();
                for w in work.iter().skip(j).step_by(jobs) {
                    rows.extend(send_stream(db, api, w)?);
                }
                Ok(rows)
            }));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a push worker panicked")))
            })
            .collect()
    });
    for r in results {
        revisions.extend(r?);
    }
    revisions.extend(manual);
    revisions.sort_by(|a, b| {
        (&a.org_id, &a.source, a.day, a.revision).cmp(&(&b.org_id, &b.source, b.day, b.revision))
    });
    for r in revisions
        .iter()
        .filter(|r| r.status != RevisionStatus::Sent)
    {
        crate::printer::note(&match r.status {
            RevisionStatus::ManualCredit => format!(
                "usagectl: org {}, {}, {}: usage changed by {} on a day Stripe no longer accepts; credit it by hand ({} mode)",
                r.org_id,
                r.source,
                r.day,
                r.value,
                mode.name()
            ),
            _ => format!(
                "usagectl: org {}, {}, {} revision {} ({}) not sent: {}; the next push tries again",
                r.org_id,
                r.source,
                r.day,
                r.revision,
                r.value,
                r.error.as_deref().unwrap_or("?")
            ),
        });
    }
    let stale = queries::stripe_stale_pending(client, mode == Mode::Live)?;
    if stale > 0 {
        crate::printer::note(&format!(
            "usagectl: {stale} pending revision(s) were tried more than 23 hours ago and are not sent again (Stripe no longer deduplicates them): stripe reconcile shows whether Stripe holds them"
        ));
    }
    let failed = stale > 0 || revisions.iter().any(|r| r.status == RevisionStatus::Failed);
    let credits = revisions
        .iter()
        .any(|r| r.status == RevisionStatus::ManualCredit);
    out.render(&PushReport {
        mode,
        through,
        streams: customers.len() * meters.len(),
        busy,
        revisions,
    })?;
    Ok(if failed {
        error::EXIT_FAILURE
    } else if credits {
        error::EXIT_FOUND
    } else {
        error::EXIT_OK
    })
}

/// `stripe reconcile`.
fn reconcile(
    client: &mut Client,
    month: Option<Month>,
    org: Option<&str>,
    opts: &ApiOpts,
    out: &mut Output,
) -> Result<u8> {
    let api = api(opts)?;
    let mode = api.mode();
    sees_every_org(client, "stripe reconcile")?;
    let (customers, meters) = streams(client, org)?;
    let now = queries::server_now(client)?;
    let month = month.unwrap_or_else(|| Month::containing(now));
    let from = month.start.date_naive();
    // whole days up to tomorrow at most (summaries take day-aligned bounds)
    let to = month
        .end
        .min(now)
        .date_naive()
        .succ_opt()
        .unwrap_or(from)
        .min(month.end.date_naive());
    let ledger = queries::stripe_ledger_month(client, mode == Mode::Live, from, to)?;
    let mut rows = Vec::new();
    let mut without = Vec::new();
    let mut streams_n = 0;
    let mut days_n = 0;
    for m in &meters {
        let Some(meter_id) = &m.meter_id else {
            without.push(m.source.clone());
            continue;
        };
        for (o, customer) in &customers {
            streams_n += 1;
            let usage = queries::usage_per_day(
                client,
                o,
                &m.event_types,
                month.start,
                to.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            )?;
            let theirs: BTreeMap<NaiveDate, f64> = api
                .day_summaries(meter_id, customer, from, to)?
                .into_iter()
                .map(|s| (s.day, s.value))
                .collect();
            let mut day = from.max(m.from_day);
            while day < to {
                days_n += 1;
                let u = usage.get(&day).copied().unwrap_or(0);
                let (sent, pending, credit) = ledger
                    .get(&(o.clone(), m.source.clone(), day))
                    .copied()
                    .unwrap_or((0, 0, 0));
                let s = theirs.get(&day).copied().unwrap_or(0.0);
                if let Some(note) = stripe::disagreement(&stripe::DayFigures {
                    usage: u,
                    sent,
                    pending,
                    credit,
                    stripe: s,
                }) {
                    rows.push(ReconcileRow {
                        org_id: o.clone(),
                        customer_id: customer.clone(),
                        source: m.source.clone(),
                        day,
                        usage: u,
                        ledger_sent: sent,
                        ledger_pending: pending,
                        manual_credit: credit,
                        stripe: s,
                        note,
                    });
                }
                day = day.succ_opt().unwrap_or(to);
            }
        }
    }
    let disagree = !rows.is_empty();
    out.render(&ReconcileReport {
        mode,
        month: month.label(),
        streams: streams_n,
        days: days_n,
        without_meter_id: without,
        disagreements: rows,
    })?;
    Ok(if disagree {
        error::EXIT_FOUND
    } else {
        error::EXIT_OK
    })
}

/// Run `usagectl stripe ...`; the exit code.
pub fn run(
    client: &mut Client,
    connect: &dyn Fn() -> Result<Client>,
    args: &StripeArgs,
    out: &mut Output,
) -> Result<u8> {
    match &args.command {
        StripeCommand::Meter { command } => {
            let (change, _) = match command {
                MeterCommand::Add {
                    source,
                    event_name,
                    meter_id,
                    from,
                } => {
                    let types = source_types(source)?;
                    if event_name.is_empty() || event_name.len() > 100 {
                        return Err(usage("--event-name takes 1 to 100 characters"));
                    }
                    if let Some(id) = meter_id
                        && !(id.starts_with("mtr_")
                            && id.len() > 4
                            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                    {
                        return Err(usage(format!(
                            "{} is not a Stripe meter id (mtr_...)",
                            echo(id)
                        )));
                    }
                    let now = queries::server_now(client)?;
                    let from = from.unwrap_or_else(|| Month::containing(now).start.date_naive());
                    let mut tx = crate::db::begin(client)?;
                    let added = queries::add_stripe_meter(
                        &mut tx,
                        source,
                        &types,
                        event_name,
                        meter_id.as_deref(),
                        from,
                    )?
                    .map_err(usage)?;
                    tx.commit().context("committing the meter")?;
                    (
                        Some(format!(
                            "{} ({}) -> Stripe event name {}, pushed from {}",
                            added.source,
                            added.event_types.join(" + "),
                            added.event_name,
                            added.from_day
                        )),
                        (),
                    )
                }
                MeterCommand::Remove { source } => {
                    if !queries::remove_stripe_meter(client, source)? {
                        return Err(usage(format!(
                            "{} is not mapped (usagectl stripe meter list)",
                            echo(source)
                        )));
                    }
                    (Some(format!("{source} unmapped (its ledger stays)")), ())
                }
                MeterCommand::List => (None, ()),
            };
            let meters = queries::stripe_meters(client)?;
            out.render(&Meters { change, meters })?;
            Ok(error::EXIT_OK)
        }
        StripeCommand::Push {
            through,
            org,
            dry_run,
            jobs,
            api,
        } => push(
            client,
            connect,
            *through,
            org.as_deref(),
            *dry_run,
            *jobs,
            api,
            out,
        ),
        StripeCommand::Reconcile { month, org, api } => {
            reconcile(client, *month, org.as_deref(), api, out)
        }
    }
}
