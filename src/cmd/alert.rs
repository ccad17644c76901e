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

fn metrics_text(r: &Rule) -> String {
    match &r.metrics {
        None => "all".to_string(),
        Some(ms) => ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(","),
    }
}

fn thresholds_text(r: &Rule) -> String {
    r.thresholds
        .iter()
        .map(|t| format!("{t}%"))
        .collect::<Vec<_>>()
        .join(",")
}

fn rules_table(rules: &[Rule], style: &Style) -> String {
    let mut t = style.table(&[
        "name", "webhook", "format", "at", "metrics", "scope", "added",
    ]);
    for r in rules {
        t.add_row(vec![
            style.cell(&r.name, None),
            style.cell(&r.webhook, None),
            style.cell(r.format.name(), None),
            style.cell(thresholds_text(r), None),
            style.cell(metrics_text(r), None),
            style.cell(r.scope(), None),
            style.cell(
                format!("{} by {}", fmt_utc(&r.created_at), r.created_by),
                None,
            ),
        ]);
    }
    t.to_string()
}

const RULE_HEADER: [&str; 10] = [
    "name",
    "webhook",
    "format",
    "thresholds",
    "metrics",
    "org_id",
    "tier",
    "allow_insecure_http",
    "created_at",
    "created_by",
];

fn rule_cells(r: &Rule) -> Vec<Cell> {
    let opt = |s: &Option<String>| s.as_ref().map_or(Cell::Empty, Cell::text);
    vec![
        Cell::text(&r.name),
        Cell::text(&r.webhook),
        Cell::text(r.format.name()),
        Cell::text(
            r.thresholds
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Cell::text(metrics_text(r)),
        opt(&r.org_id),
        opt(&r.tier),
        Cell::text(r.allow_insecure_http.to_string()),
        Cell::Time(r.created_at),
        Cell::text(&r.created_by),
    ]
}

/// `alert add`: the rule, and the secret when usagectl generated it (shown this once).
#[derive(Debug, Serialize)]
pub struct Added {
    /// The rule as stored.
    pub rule: Rule,
    /// The generated secret; absent when --secret-file gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Render for Added {
    fn csv_header(&self) -> Vec<&'static str> {
        let mut h = RULE_HEADER.to_vec();
        h.push("secret");
        h
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let mut c = rule_cells(&self.rule);
        c.push(self.secret.as_ref().map_or(Cell::Empty, Cell::text));
        vec![c]
    }
    fn human(&self, style: &Style) -> String {
        let secret = match &self.secret {
            Some(s) => format!("signing secret (shown this once; give it to the receiver): {s}\n"),
            None => "signing with the secret from --secret-file\n".to_string(),
        };
        format!(
            "alert {} added: {} at {} of {} for {}\n{}\n{secret}",
            self.rule.name,
            metrics_text(&self.rule),
            thresholds_text(&self.rule),
            self.rule.webhook,
            self.rule.scope(),
            rules_table(std::slice::from_ref(&self.rule), style)
        )
    }
}

/// `alert list`.
#[derive(Debug, Serialize)]
pub struct RuleList {
    /// By name.
    pub rules: Vec<Rule>,
}

impl Render for RuleList {
    fn csv_header(&self) -> Vec<&'static str> {
        RULE_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.rules.iter().map(rule_cells).collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.rules)
    }
    fn human(&self, style: &Style) -> String {
        if self.rules.is_empty() {
            return "no alert rules (usagectl alert add NAME --webhook-file PATH adds one)\n"
                .to_string();
        }
        format!("{}\n", rules_table(&self.rules, style))
    }
}

/// `alert remove`.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The rule removed.
    pub name: String,
    /// Its deliveries that were still pending (dropped with it).
    pub pending_dropped: i64,
}

impl Render for Removed {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["name", "pending_dropped"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::text(&self.name),
            Cell::Num(self.pending_dropped),
        ]]
    }
    fn human(&self, _: &Style) -> String {
        format!(
            "alert {} removed with its states and history; {} dropped\n",
            self.name,
            output::count(
                self.pending_dropped,
                "pending delivery",
                "pending deliveries"
            )
        )
    }
}

/// One delivery tried in this run (or by `alert test`).
#[derive(Debug, Serialize)]
pub struct DeliveryRow {
    /// Message id (the webhook-id).
    pub id: String,
    /// The rule.
    pub rule: String,
    /// Organisation.
    pub org_id: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// delivered, failed (for good) or retrying (on a later run).
    pub status: DeliveryStatus,
    /// Attempts in this run.
    pub attempts: u32,
    /// The last answer's HTTP status.
    pub http_status: Option<u16>,
    /// The last error (no URL, no secret).
    pub error: Option<String>,
    /// When a retrying one is tried next.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A decision, as `alert run` shows it.
#[derive(Debug, Serialize)]
pub struct DecisionRow {
    /// The rule.
    pub rule: String,
    /// What the receiver gets (format standard).
    #[serde(flatten)]
    pub payload: Payload,
}

/// `alert run`.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// Nothing was written or sent.
    pub dry_run: bool,
    /// Rules evaluated.
    pub rules: usize,
    /// Orgs read.
    pub orgs: usize,
    /// State changes decided in this run.
    pub decisions: Vec<DecisionRow>,
    /// Deliveries tried in this run (this run's decisions and earlier ones that were due).
    pub deliveries: Vec<DeliveryRow>,
    /// Pending deliveries given up after 24 hours before this run tried them.
    pub expired: u64,
}

impl Render for RunReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "id",
            "rule",
            "org_id",
            "type",
            "metric",
            "threshold_pct",
            "current",
            "limit",
            "period_start",
            "period_end",
            "delivery",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.decisions
            .iter()
            .map(|d| {
                let p = &d.payload;
                let delivery = self
                    .deliveries
                    .iter()
                    .find(|x| x.id == p.id)
                    .map_or(if self.dry_run { "dry_run" } else { "not_tried" }, |x| {
                        x.status.as_str()
                    });
                vec![
                    Cell::text(&p.id),
                    Cell::text(&d.rule),
                    Cell::text(&p.org_id),
                    Cell::text(&p.kind),
                    Cell::text(&p.metric),
                    Cell::Num(i64::from(p.threshold_pct)),
                    Cell::Num(p.current),
                    p.limit.map_or(Cell::Empty, Cell::Num),
                    Cell::text(&p.period_start),
                    Cell::text(&p.period_end),
                    Cell::text(delivery),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut s = format!(
            "{}{} over {}: {} decided\n",
            if self.dry_run { "dry run: " } else { "" },
            output::count(self.rules as i64, "alert rule", "alert rules"),
            output::count(self.orgs as i64, "org", "orgs"),
            output::count(self.decisions.len() as i64, "change", "changes"),
        );
        if !self.decisions.is_empty() {
            let mut t = style.table(&["rule", "org", "event", "metric", "at", "use", "period"]);
            for d in &self.decisions {
                let p = &d.payload;
                t.add_row(vec![
                    style.cell(&d.rule, None),
                    style.cell(&p.org_id, None),
                    style.cell(Kind::label(&p.kind), None),
                    style.cell(&p.metric, None),
                    style.cell(format!("{}%", p.threshold_pct), None),
                    style.cell(alerts::use_text(p.current, p.limit), None),
                    style.cell(format!("[{}, {})", p.period_start, p.period_end), None),
                ]);
            }
            s.push_str(&format!("{t}\n"));
        }
        if self.dry_run {
            s.push_str("nothing written or sent\n");
            return s;
        }
        let ok = self
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Delivered)
            .count();
        s.push_str(&format!(
            "{} tried: {ok} delivered, {} not\n",
            output::count(self.deliveries.len() as i64, "delivery", "deliveries"),
            self.deliveries.len() - ok
        ));
        if self.expired > 0 {
            s.push_str(&format!(
                "{} given up after 24 hours\n",
                output::count(self.expired, "pending delivery", "pending deliveries")
            ));
        }
        s
    }
}

/// `alert history`.
#[derive(Debug, Serialize)]
pub struct History {
    /// Newest first.
    pub events: Vec<AlertHistoryRow>,
}

impl Render for History {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "id",
            "rule",
            "org_id",
            "type",
            "metric",
            "threshold_pct",
            "current",
            "limit",
            "decided_at",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "next_attempt_at",
            "finished_at",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.events
            .iter()
            .map(|e| {
                vec![
                    Cell::text(&e.id),
                    Cell::text(&e.rule),
                    Cell::text(&e.org_id),
                    Cell::text(&e.kind),
                    Cell::text(&e.metric),
                    Cell::Num(e.threshold_pct),
                    Cell::Num(e.current),
                    e.limit.map_or(Cell::Empty, Cell::Num),
                    Cell::Time(e.decided_at),
                    Cell::text(&e.status),
                    Cell::Num(i64::from(e.attempts)),
                    e.last_status
                        .map_or(Cell::Empty, |s| Cell::Num(i64::from(s))),
                    e.last_error.as_ref().map_or(Cell::Empty, Cell::text),
                    e.next_attempt_at.map_or(Cell::Empty, Cell::Time),
                    e.finished_at.map_or(Cell::Empty, Cell::Time),
                ]
            })
            .collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.events)
    }
    fn human(&self, style: &Style) -> String {
        if self.events.is_empty() {
            return "no alert decisions\n".to_string();
        }
        let mut t = style.table(&[
            "decided",
            "rule",
            "org",
            "event",
            "metric",
            "at",
            "use",
            "delivery",
            "attempts",
            "last error",
        ]);
        for e in &self.events {
            let delivery = match (e.status, e.next_attempt_at) {
                (OutboxStatus::Pending, Some(next)) => {
                    format!("pending, next try {}", fmt_utc(&next))
                }
                (s, _) => s.to_string(),
            };
            t.add_row(vec![
                style.cell(fmt_utc(&e.decided_at), None),
                style.cell(&e.rule, None),
                style.cell(&e.org_id, None),
                style.cell(Kind::label(&e.kind), None),
                style.cell(&e.metric, None),
                style.cell(format!("{}%", e.threshold_pct), None),
                style.cell(alerts::use_text(e.current, e.limit), None),
                style.cell(delivery, None),
                style.cell(e.attempts, None),
                style.cell(e.last_error.clone().unwrap_or_default(), None),
            ]);
        }
        format!("{t}\n")
    }
}

/// Try one claimed delivery: up to [`TRIES_PER_RUN`] attempts with pauses, each recorded.
fn deliver(client: &mut Client, sender: &Sender, c: &Claimed) -> Result<DeliveryRow> {
    let body = c.payload.body(c.delivery.format);
    let mut pause = alerts::FIRST_PAUSE;
    let mut tries = 0;
    loop {
        tries += 1;
        let (outcome, took) = sender.post(&c.delivery.endpoint, &c.delivery.secret, &c.id, &body);
        let end = match &outcome {
            Outcome::Delivered { .. } => AttemptEnd::Delivered,
            Outcome::Fail { .. } => AttemptEnd::Failed,
            Outcome::Retry { after, .. } => alerts::after_retryable(
                tries,
                pause,
                *after,
                c.decided_at,
                Utc::now(),
                c.failed_runs,
            ),
        };
        let recorded = queries::record_alert_attempt(
            client,
            &c.id,
            outcome.status(),
            outcome.error(),
            took,
            &end,
        )?;
        if let AttemptEnd::Again(wait) = end {
            std::thread::sleep(wait);
            pause *= 2;
            continue;
        }
        return Ok(DeliveryRow {
            id: c.id.clone(),
            rule: c.rule.clone(),
            org_id: c.org_id.clone(),
            kind: c.payload.kind.clone(),
            status: end.status(),
            attempts: tries,
            http_status: outcome.status(),
            error: outcome.error().map(str::to_string),
            next_attempt_at: recorded.next_attempt_at,
        });
    }
}

fn org_uses(all: &status::AllQuotas) -> Vec<OrgUse> {
    all.quotas
        .iter()
        .map(|q| OrgUse {
            org_id: q.org_id.clone(),
            tier: q.effective.tier.clone(),
            period_start: q.period.start,
            period_end: q.period.end,
            uses: q.uses(),
        })
        .collect()
}

fn decision_rows(decisions: &[(Decision, Payload)]) -> Vec<DecisionRow> {
    decisions
        .iter()
        .map(|(d, p)| DecisionRow {
            rule: d.rule.clone(),
            payload: p.clone(),
        })
        .collect()
}

fn with_payloads(decisions: Vec<Decision>, now: DateTime<Utc>) -> Result<Vec<(Decision, Payload)>> {
    decisions
        .into_iter()
        .map(|d| {
            let p = Payload::of(&d, alerts::new_message_id()?, now);
            Ok((d, p))
        })
        .collect()
}

/// `alert run`: decide under the evaluation lock, commit, then deliver what is due.
fn run_alerts(
    client: &mut Client,
    dry_run: bool,
    quiet: bool,
    http: &HttpOpts,
    out: &mut Output,
) -> Result<u8> {
    if dry_run {
        let mut tx = queries::read_snapshot(client)?;
        let rules = queries::alert_rules(&mut tx)?;
        let states = queries::alert_states(&mut tx)?;
        let only = every_org::check(&mut tx, None)?;
        let all = status::read_all_quotas(&mut tx, PeriodChoice::Current, only.as_deref())?;
        tx.commit()?;
        let decisions = with_payloads(alerts::decide(&rules, &org_uses(&all), &states), all.now)?;
        out.render(&RunReport {
            dry_run: true,
            rules: rules.len(),
            orgs: all.quotas.len(),
            decisions: decision_rows(&decisions),
            deliveries: Vec::new(),
            expired: 0,
        })?;
        return Ok(error::EXIT_OK);
    }
    let timeouts = http.timeouts();
    let sender = Sender::new(timeouts, &http.root_cert)?;
    // decide: one run at a time, so each reads the states the one before it wrote
    let mut tx = crate::db::begin(client)?;
    queries::lock_alert_evaluation(&mut tx)?;
    let rules = queries::alert_rules(&mut tx)?;
    let (decisions, orgs) = if rules.is_empty() {
        (Vec::new(), 0)
    } else {
        let states = queries::alert_states(&mut tx)?;
        let only = every_org::check(&mut tx, None)?;
        let all = status::read_all_quotas(&mut tx, PeriodChoice::Current, only.as_deref())?;
        let decisions = with_payloads(alerts::decide(&rules, &org_uses(&all), &states), all.now)?;
        queries::write_alert_decisions(&mut tx, &decisions)?;
        (decisions, all.quotas.len())
    };
    tx.commit().context("committing the alert decisions")?;
    // deliver: this run's decisions and earlier ones that are due, oldest first
    let expired = queries::expire_alert_deliveries(client, alerts::RETRY_FOR)?;
    let mut deliveries = Vec::new();
    let mut tried = Vec::new();
    while let Some(c) =
        queries::claim_alert_delivery(client, alerts::claim_lease(timeouts.total), &tried)?
    {
        tried.push(c.id.clone());
        deliveries.push(deliver(client, &sender, &c)?);
    }
    let mut failed = 0;
    for d in deliveries
        .iter()
        .filter(|d| d.status != DeliveryStatus::Delivered)
    {
        failed += 1;
        let then = match d.next_attempt_at {
            Some(at) => format!("tried again from {}", fmt_utc(&at)),
            None => "failed for good".to_string(),
        };
        crate::printer::note(&format!(
            "usagectl: alert delivery {} (rule {}, org {}, {}) not delivered after {}: {}; {then}",
            d.id,
            d.rule,
            d.org_id,
            d.kind,
            output::count(d.attempts, "attempt", "attempts"),
            d.error.as_deref().unwrap_or("no answer")
        ));
    }
    if !(quiet && decisions.is_empty() && deliveries.is_empty() && expired == 0) {
        out.render(&RunReport {
            dry_run: false,
            rules: rules.len(),
            orgs,
            decisions: decision_rows(&decisions),
            deliveries,
            expired,
        })?;
    }
    Ok(if failed == 0 {
        error::EXIT_OK
    } else {
        error::EXIT_FAILURE
    })
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

/// `alert test`.
#[derive(Debug, Serialize)]
struct TestReport {
    webhook: String,
    #[serde(flatten)]
    delivery: DeliveryRow,
}

impl Render for TestReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["id", "rule", "webhook", "status", "http_status"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::text(&self.delivery.id),
            Cell::text(&self.delivery.rule),
            Cell::text(&self.webhook),
            Cell::text(self.delivery.status),
            self.delivery
                .http_status
                .map_or(Cell::Empty, |s| Cell::Num(i64::from(s))),
        ]]
    }
    fn human(&self, _: &Style) -> String {
        format!(
            "test delivery {} of alert {} to {}: HTTP {}\n",
            self.delivery.id,
            self.delivery.rule,
            self.webhook,
            self.delivery.http_status.unwrap_or_default()
        )
    }
}
