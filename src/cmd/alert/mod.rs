//! `usagectl alert`: threshold rules with a state per billing period, decided by `alert run`
//! into an outbox and delivered as signed webhooks, at least once per decision.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use postgres::Client;
use serde::Serialize;

use crate::alerts::{
    self, AttemptEnd, Decision, DeliveryStatus, Format, Kind, OrgUse, OutboxStatus, Payload, Rule,
};
use crate::app::every_org;
use crate::app::quotas::{self as status};
use crate::db::queries::{self, AlertHistoryRow, Claimed, NewRule};
use crate::error::{self, usage};
use crate::output::{self, Cell, Output, Render, Style};
use crate::period::PeriodChoice;
use crate::quota::Metric;
use crate::time::fmt_utc;
use crate::tls::Roots;
use crate::webhook::{Endpoint, Outcome, Secret, Sender, Timeouts};

mod report;
mod run;

use report::*;
use run::run_alerts;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
A rule watches some metrics (default all six) of some orgs (default every org; --org one,
--tier those on a tier) at thresholds in percent of each org's limit in its billing
period, grants included (default 80 and 100). `alert run` (cron, every minute or five)
reads every org's usage the way `status --all` does and decides, per rule, org, metric and
threshold: crossed the first time usage reaches the threshold in the period, resolved when
a grant, an override, a tier change or a correction brings it back under in the same
period. A new period starts silently. Each decision is written to an outbox in the
transaction that changes the state, and delivered as an HTTP POST signed per the Standard
Webhooks spec (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of
\"id.timestamp.body\">); the webhook-id stays the same on every attempt so a receiver can
drop repeats. 2xx is delivered; a timeout, a connection failure, 408, 429 (honouring
Retry-After) and 5xx are tried again, 3 times within the run and on later runs for 24
hours, then marked failed; any other answer fails at once. Redirects are not followed.

The webhook URL and the secret are readable only by the tables' owner and never printed:
a URL shows as scheme, host and a masked path (https://hooks.slack.com/…). A URL given
with --webhook is visible to other local users in the process list while add runs; use
--webhook-file for a URL that carries a token. Plain http:// is sent only to a loopback
address unless the rule was added with --allow-insecure-http. HTTPS is verified like
sslmode=verify-full, against --root-cert (a PEM file, or `system`: the OS trust store,
as sslrootcert=system).

Examples:
  usagectl alert add ops --webhook-file ops-hook.url             # prints the secret once
  usagectl alert add pilots --webhook-file slack.url --body-format slack --tier pilot --at 90
  usagectl alert add acme-chat --webhook https://example.com/hooks/usage --org acme \\
      --metric chat_messages --at 50 --at 80 --at 100 --secret-file acme.whsec
  usagectl alert list
  usagectl alert test ops
  usagectl alert run --dry-run
  */5 * * * * usagectl alert run --quiet                        # crontab
  usagectl alert history --org acme --since 7d

Exit codes of alert run: 0 every delivery tried in this run succeeded (or there was
none), 1 some delivery failed in this run (each listed on stderr; it is tried again on
later runs unless it failed for good), 2 misuse.

",
    crate::exit_codes!()
);

/// Arguments of `usagectl alert`.
#[derive(Args, Debug)]
pub struct AlertArgs {
    /// What to do
    #[command(subcommand)]
    pub command: AlertCommand,
}

/// How deliveries are sent.
#[derive(Args, Debug, Clone)]
pub struct HttpOpts {
    /// Most time for one request, connecting included (500ms, 10s, 1m)
    #[arg(long, value_name = "DURATION", default_value = "10s",
          value_parser = crate::webhook::parse_timeout)]
    pub timeout: Duration,

    /// Most time to connect (and finish the TLS handshake)
    #[arg(long, value_name = "DURATION", default_value = "5s",
          value_parser = crate::webhook::parse_timeout)]
    pub connect_timeout: Duration,

    /// Trusted roots for HTTPS webhooks: a PEM file, or `system` (the OS trust store)
    #[arg(long, value_name = "PATH|system", default_value = "system",
          env = "USAGECTL_WEBHOOK_ROOT_CERT", hide_env_values = true, value_parser = crate::tls::parse_roots)]
    pub root_cert: Roots,
}

impl HttpOpts {
    /// The timeouts of one request.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout.min(self.timeout),
            total: self.timeout,
        }
    }
}

/// `usagectl alert` subcommands.
#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// Add a rule (prints a generated secret once)
    Add {
        /// Name of the rule (letters, digits, _ . -)
        name: String,
        /// Where to POST (https; http only to loopback)
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "webhook_file",
            conflicts_with = "webhook_file"
        )]
        webhook: Option<String>,
        /// Read the webhook URL from this file (keeps a token out of the process list)
        #[arg(long, value_name = "PATH")]
        webhook_file: Option<PathBuf>,
        /// A threshold in percent of the limit (repeatable; default 80 and 100)
        #[arg(long = "at", value_name = "PCT", value_parser = alerts::parse_threshold)]
        at: Vec<u16>,
        /// A metric to watch (repeatable; default all six)
        #[arg(long, value_enum, value_name = "METRIC")]
        metric: Vec<Metric>,
        /// Only this org
        #[arg(long, value_name = "ORG", conflicts_with = "tier")]
        org: Option<String>,
        /// With --org: allow an org usagectl has never seen (without it, a typo is refused)
        #[arg(long, requires = "org")]
        new_org: bool,
        /// Only orgs on this tier
        #[arg(long, value_name = "TIER")]
        tier: Option<String>,
        /// What the POST carries: the signed JSON payload, or Slack's {"text": ...}
        /// (`--format`/`-o` is every command's output format)
        #[arg(
            long = "body-format",
            value_name = "standard|slack",
            value_enum,
            default_value = "standard"
        )]
        body_format: Format,
        /// Sign with the whsec_ secret in this file instead of a generated one
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
        /// Allow plain http:// to a host that is not loopback (alerts travel unencrypted)
        #[arg(long)]
        allow_insecure_http: bool,
    },
    /// List the rules (webhooks masked)
    List,
    /// Remove a rule, its states and its deliveries
    Remove {
        /// Name of the rule
        name: String,
    },
    /// Send one signed test delivery (type usage.test) to a rule's webhook
    Test {
        /// Name of the rule
        name: String,
        /// HTTP options
        #[command(flatten)]
        http: HttpOpts,
    },
    /// Decide crossings and resolutions, then deliver what is due (cron)
    Run {
        /// Show what would be decided; write and send nothing
        #[arg(long)]
        dry_run: bool,
        /// Print nothing when nothing was decided or delivered
        #[arg(long)]
        quiet: bool,
        /// HTTP options
        #[command(flatten)]
        http: HttpOpts,
    },
    /// Decisions and their deliveries, newest first
    History {
        /// Only this org
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Only decisions since: a duration back from now (90m, 24h, 7d) or an RFC 3339 instant
        #[arg(long, value_name = "DURATION|RFC3339", value_parser = parse_since)]
        since: Option<Since>,
        /// At most this many rows
        #[arg(long, value_name = "N", default_value_t = 100,
              value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

/// `--since`: back from now, or an instant.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    /// This long before the server's now.
    Ago(Duration),
    /// From this instant.
    At(DateTime<Utc>),
}

fn parse_since(s: &str) -> Result<Since, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Since::At(t.with_timezone(&Utc)));
    }
    crate::time::parse_ago(s).map(Since::Ago).map_err(|_| {
        format!(
            "{} is neither a duration (90m, 24h, 7d) nor an RFC 3339 instant",
            error::echo(s)
        )
    })
}

impl AlertArgs {
    /// `alert run --quiet`.
    pub fn is_quiet(&self) -> bool {
        matches!(self.command, AlertCommand::Run { quiet: true, .. })
    }
}

/// Check what can be checked without the database.
pub fn validate(args: &AlertArgs) -> Result<()> {
    match &args.command {
        AlertCommand::Add { name, org, .. } => {
            alerts::validate_name(name).map_err(usage)?;
            org.as_deref().map_or(Ok(()), crate::events::validate_org)
        }
        AlertCommand::Remove { name } | AlertCommand::Test { name, .. } => {
            alerts::validate_name(name).map_err(usage)
        }
        AlertCommand::History { org, .. } => {
            org.as_deref().map_or(Ok(()), crate::events::validate_org)
        }
        AlertCommand::List | AlertCommand::Run { .. } => Ok(()),
    }
}

/// Whether the command only reads.
pub fn reads_only(args: &AlertArgs) -> bool {
    matches!(args.command, AlertCommand::List)
}

/// Read a file that must hold one secret value (a URL, a secret); its content is never
/// quoted in a message.
fn read_secret_file(path: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} from {}", path.display()))
        .map_err(|e| usage(format!("{e:#}")))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(usage(format!("{} holds no {what}", path.display())));
    }
    Ok(text)
}

/// An instant cut to microseconds, as PostgreSQL keeps them (and every time usagectl prints).
fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The body of `alert test`.
#[derive(Debug, Serialize)]
struct TestPayload {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    rule: String,
    occurred_at: String,
    text: String,
}

/// Run `usagectl alert ...`; the exit code.
pub fn run(client: &mut Client, args: &AlertArgs, out: &mut Output) -> Result<u8> {
    match &args.command {
        AlertCommand::Add {
            name,
            webhook,
            webhook_file,
            at,
            metric,
            org,
            tier,
            body_format,
            secret_file,
            allow_insecure_http,
            new_org,
        } => {
            let url = match (webhook, webhook_file) {
                (Some(u), _) => u.clone(),
                (None, Some(path)) => read_secret_file(path, "webhook URL")?,
                (None, None) => return Err(usage("give --webhook URL or --webhook-file PATH")),
            };
            let endpoint = Endpoint::parse(&url, *allow_insecure_http).map_err(usage)?;
            let (secret, generated) = match secret_file {
                Some(path) => (
                    Secret::parse(&read_secret_file(path, "webhook secret")?)
                        .map_err(|e| usage(format!("{}: {e}", path.display())))?,
                    false,
                ),
                None => (Secret::generate()?, true),
            };
            let mut thresholds = if at.is_empty() {
                alerts::DEFAULT_THRESHOLDS.to_vec()
            } else {
                at.clone()
            };
            thresholds.sort_unstable();
            thresholds.dedup();
            let mut metrics = metric.clone();
            metrics.sort();
            metrics.dedup();
            let mut tx = crate::db::begin(client)?;
            if let Some(o) = org {
                crate::app::orgs::require_seen(&mut tx, o, *new_org)?;
            }
            if let Some(t) = tier
                && !queries::load_limit_config(&mut tx, None)?
                    .tiers
                    .contains_key(t)
            {
                return Err(usage(format!(
                    "there is no tier {} (usagectl tier list shows them)",
                    error::echo(t)
                )));
            }
            let rule = queries::add_alert_rule(
                &mut tx,
                &NewRule {
                    name,
                    endpoint: &endpoint,
                    secret: &secret,
                    format: *body_format,
                    thresholds: &thresholds,
                    metrics: (!metrics.is_empty()).then_some(&metrics[..]),
                    org_id: org.as_deref(),
                    tier: tier.as_deref(),
                    allow_insecure_http: *allow_insecure_http,
                },
            )?
            .ok_or_else(|| {
                usage(format!(
                    "an alert named {name} exists already (usagectl alert remove {name} first)"
                ))
            })?;
            tx.commit().context("committing the alert rule")?;
            out.render(&Added {
                rule,
                secret: generated.then(|| secret.expose().to_string()),
            })?;
            Ok(error::EXIT_OK)
        }
        AlertCommand::List => {
            let rules = queries::alert_rules(client)?;
            out.render(&RuleList { rules })?;
            Ok(error::EXIT_OK)
        }
        AlertCommand::Remove { name } => {
            let mut tx = crate::db::begin(client)?;
            let Some(pending) = queries::remove_alert_rule(&mut tx, name)? else {
                return Err(usage(format!(
                    "there is no alert named {name} (usagectl alert list shows them)"
                )));
            };
            tx.commit().context("committing the removal")?;
            out.render(&Removed {
                name: name.clone(),
                pending_dropped: pending,
            })?;
            Ok(error::EXIT_OK)
        }
        AlertCommand::Test { name, http } => {
            let Some(d) = queries::alert_delivery(client, name)? else {
                return Err(usage(format!(
                    "there is no alert named {name} (usagectl alert list shows them)"
                )));
            };
            let sender = Sender::new(http.timeouts(), &http.root_cert)?;
            let id = alerts::new_message_id()?;
            let p = TestPayload {
                kind: "usage.test",
                id: id.clone(),
                rule: name.clone(),
                occurred_at: fmt_utc(&to_micros(Utc::now())),
                text: format!("usagectl: a test delivery of alert {name}"),
            };
            let body = match d.format {
                Format::Standard => serde_json::to_string(&p)?,
                Format::Slack => serde_json::to_string(&serde_json::json!({ "text": p.text }))?,
            };
            let started = Instant::now();
            let (outcome, _) = sender.post(&d.endpoint, &d.secret, &id, &body);
            let row = DeliveryRow {
                id,
                rule: name.clone(),
                org_id: String::new(),
                kind: "usage.test".to_string(),
                status: if matches!(outcome, Outcome::Delivered { .. }) {
                    DeliveryStatus::Delivered
                } else {
                    DeliveryStatus::Failed
                },
                attempts: 1,
                http_status: outcome.status(),
                error: outcome.error().map(str::to_string),
                next_attempt_at: None,
            };
            if let Some(e) = outcome.error() {
                anyhow::bail!(
                    "the test delivery of alert {name} to {} failed after {} ms: {e}",
                    d.endpoint.shown(),
                    started.elapsed().as_millis()
                );
            }
            out.render(&TestReport {
                webhook: d.endpoint.shown(),
                delivery: row,
            })?;
            Ok(error::EXIT_OK)
        }
        AlertCommand::Run {
            dry_run,
            quiet,
            http,
        } => run_alerts(client, *dry_run, *quiet, http, out),
        AlertCommand::History { org, since, limit } => {
            let mut tx = queries::read_snapshot(client)?;
            let since = match since {
                None => None,
                Some(Since::At(t)) => Some(*t),
                Some(Since::Ago(d)) => Some(crate::time::before(queries::server_now(&mut tx)?, *d)),
            };
            let events = queries::alert_history(&mut tx, org.as_deref(), since, *limit)?;
            tx.commit()?;
            out.render(&History { events })?;
            Ok(error::EXIT_OK)
        }
    }
}
