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

mod push;
mod reconcile;
mod report;

use push::push;
use reconcile::reconcile;
use report::*;

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
