//! `usagectl grant`: raise one metric's limit for one billing period of one org (support's
//! "100 more messages this month"), append-only, with who and why.
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use postgres::Client;
use serde::Serialize;

use crate::app::views::grants_table;
use crate::db::queries;
use crate::error::usage;
use crate::output::{Cell, Output, Render, Style};
use crate::period::{self, BillingPeriod, Grant, GrantPeriod, PeriodChoice};
use crate::quota::{Metric, UNLIMITED};
use crate::time::fmt_utc;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
A grant raises one metric's limit by AMOUNT for one billing period of the org (the
current one unless --period says next, or names an instant inside the period): limit =
tier or override limit + the period's grants. limits, status, org show and record
--enforce honour it at once; the next period starts from the contract's limit again. A
metric the org's tier does not limit (unlimited) cannot be granted, nor a period that has
ended. Grants are append-only: each records the database role and the OS user that made
it, when and why; a revoke is recorded too (usagectl_grant_revocations), never a delete.

Metrics: csv_uploads, csv_rows, analyses, chat_messages, ai_tokens, mapping_profiles.

Examples:
  usagectl grant add acme chat_messages 100 --reason \"incident 4711: chat was down\"
  usagectl grant add acme ai_tokens 500000 --reason \"pilot extension\" --period next
  usagectl grant list acme
  usagectl grant list --all-periods -o csv
  usagectl grant revoke 7 --reason \"granted to the wrong org\"

",
    crate::exit_codes!()
);

/// Arguments of `usagectl grant`.
#[derive(Args, Debug)]
pub struct GrantArgs {
    /// What to do
    #[command(subcommand)]
    pub command: GrantCommand,
}

/// `usagectl grant` subcommands.
#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// Raise one metric's limit for one billing period of an org
    Add {
        /// Organisation id
        org: String,
        /// Metric
        #[arg(value_enum)]
        metric: Metric,
        /// How much to add to the limit (a positive whole number)
        #[arg(value_parser = period::parse_amount)]
        amount: i64,
        /// Why (kept with the grant; one line)
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Which period: current, next, or an RFC 3339 instant inside it
        #[arg(long, value_name = "current|next|RFC3339", default_value = "current",
              value_parser = period::parse_grant_period)]
        period: GrantPeriod,
        /// Allow an org usagectl has never seen (without it, a typo is refused)
        #[arg(long)]
        new_org: bool,
    },
    /// List grants (by default those for each org's current period)
    List {
        /// Only this org
        org: Option<String>,
        /// Every grant of every period, revoked ones included
        #[arg(long)]
        all_periods: bool,
    },
    /// Revoke a grant (recorded, not deleted)
    Revoke {
        /// The grant's id (grant list shows it)
        id: i64,
        /// Why (kept with the revocation; one line)
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// Check what can be checked without the database.
pub fn validate(args: &GrantArgs) -> Result<()> {
    match &args.command {
        GrantCommand::Add { org, reason, .. } => {
            crate::events::validate_org(org)?;
            period::validate_reason(reason)
        }
        GrantCommand::List { org, .. } => {
            org.as_deref().map_or(Ok(()), crate::events::validate_org)
        }
        GrantCommand::Revoke { reason, .. } => period::validate_reason(reason),
    }
}

/// Whether the command only reads.
pub fn reads_only(args: &GrantArgs) -> bool {
    matches!(args.command, GrantCommand::List { .. })
}

const CSV_HEADER: [&str; 14] = [
    "id",
    "org_id",
    "metric",
    "amount",
    "period_start",
    "period_end",
    "reason",
    "granted_at",
    "granted_by",
    "granted_by_os",
    "active",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
];

fn grant_cells(g: &Grant) -> Vec<Cell> {
    let opt = |s: &Option<String>| s.as_ref().map_or(Cell::Empty, Cell::text);
    vec![
        Cell::Num(g.id),
        Cell::text(&g.org_id),
        Cell::text(&g.metric),
        Cell::Num(g.amount),
        Cell::Time(g.period_start),
        Cell::Time(g.period_end),
        Cell::text(&g.reason),
        Cell::Time(g.granted_at),
        Cell::text(&g.granted_by),
        opt(&g.granted_by_os),
        Cell::text(g.active().to_string()),
        g.revoked_at.map_or(Cell::Empty, Cell::Time),
        opt(&g.revoked_by),
        opt(&g.revoke_reason),
    ]
}

/// `grant add` and `grant revoke`: the grant and what the limit is now.
#[derive(Debug, Serialize)]
pub struct GrantReport {
    /// The grant as stored.
    pub grant: Grant,
    /// The org's zone for that period.
    pub time_zone: String,
    /// The metric's limit in that period before this grant (or revoke).
    pub limit_before: i64,
    /// And after.
    pub limit_after: i64,
}

impl Render for GrantReport {
    fn csv_header(&self) -> Vec<&'static str> {
        CSV_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![grant_cells(&self.grant)]
    }
    fn human(&self, style: &Style) -> String {
        let g = &self.grant;
        let what = if g.active() { "granted" } else { "revoked" };
        format!(
            "grant {} {what}: org {}, {} {:+} for the period [{}, {}) UTC (the org's zone {}); limit {} -> {}\n{}\n",
            g.id,
            g.org_id,
            g.metric,
            if g.active() { g.amount } else { -g.amount },
            fmt_utc(&g.period_start),
            fmt_utc(&g.period_end),
            self.time_zone,
            self.limit_before,
            self.limit_after,
            grants_table(std::slice::from_ref(g), style)
        )
    }
}

/// `grant list`.
#[derive(Debug, Serialize)]
pub struct GrantList {
    /// Newest first.
    pub grants: Vec<Grant>,
    /// Whether every period is listed (else each org's current period).
    pub all_periods: bool,
}

impl Render for GrantList {
    fn csv_header(&self) -> Vec<&'static str> {
        CSV_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.grants.iter().map(grant_cells).collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.grants)
    }
    fn human(&self, style: &Style) -> String {
        let scope = if self.all_periods {
            "every period"
        } else {
            "each org's current period"
        };
        if self.grants.is_empty() {
            return format!("no grants for {scope}\n");
        }
        format!(
            "{}\n{}\n",
            style.bold(&format!("grants for {scope}")),
            grants_table(&self.grants, style)
        )
    }
}

/// The metric's limit in `period` with the grants stored now.
fn limit_now(
    tx: &mut impl postgres::GenericClient,
    org: &str,
    metric: Metric,
    period: &BillingPeriod,
) -> Result<i64> {
    let base = queries::load_limit_config(tx, Some(org))?.effective(org);
    let eff = base.with_grants(queries::granted(tx, org, period)?);
    Ok(eff.limits[&metric].0)
}

/// Run `usagectl grant ...`.
pub fn run(client: &mut Client, args: &GrantArgs, out: &mut Output) -> Result<()> {
    match &args.command {
        GrantCommand::Add {
            org,
            metric,
            amount,
            reason,
            period,
            new_org,
        } => {
            let mut tx = crate::db::begin(client)?;
            crate::app::orgs::require_seen(&mut tx, org, *new_org)?;
            let now = queries::scope_to_org_now(&mut tx, org)?;
            let current = queries::period(&mut tx, org, PeriodChoice::Current)?;
            let period = match period {
                GrantPeriod::Current => current,
                GrantPeriod::Next => queries::period(&mut tx, org, PeriodChoice::At(current.end))?,
                GrantPeriod::At(t) => queries::period(&mut tx, org, PeriodChoice::At(*t))?,
            };
            if period.end <= now {
                return Err(usage(format!(
                    "the period {} ended before now ({}): a grant is for the current or a later period",
                    period.describe(),
                    fmt_utc(&now)
                )));
            }
            let config = queries::load_limit_config(&mut tx, Some(org))?;
            let eff = config.effective(org);
            if eff.limits[metric].0 == UNLIMITED {
                return Err(usage(format!(
                    "org {org}'s {} is unlimited ({}): a grant would change nothing",
                    metric.name(),
                    eff.limits[metric].1.describe(&eff.tier)
                )));
            }
            let before = limit_now(&mut tx, org, *metric, &period)?;
            let os = crate::db::conninfo::os_user_name();
            let grant = queries::add_grant(
                &mut tx,
                org,
                *metric,
                *amount,
                &period,
                reason,
                os.as_deref(),
            )?;
            let after = limit_now(&mut tx, org, *metric, &period)?;
            tx.commit().context("committing the grant")?;
            out.render(&GrantReport {
                grant,
                time_zone: period.time_zone,
                limit_before: before,
                limit_after: after,
            })
        }
        GrantCommand::Revoke { id, reason } => {
            let mut tx = crate::db::begin(client)?;
            let Some(grant) = queries::grant_for_revoke(&mut tx, *id)? else {
                bail!("there is no grant {id} (usagectl grant list --all-periods lists them)");
            };
            if let Some(at) = grant.revoked_at {
                bail!(
                    "grant {id} was revoked already, at {} by {}",
                    fmt_utc(&at),
                    grant.revoked_by.as_deref().unwrap_or("?")
                );
            }
            queries::scope_to_org(&mut tx, &grant.org_id)?;
            let period =
                queries::period(&mut tx, &grant.org_id, PeriodChoice::At(grant.period_start))?;
            let metric = Metric::from_name(&grant.metric)
                .with_context(|| format!("grant {id} names an unknown metric"))?;
            let before = limit_now(&mut tx, &grant.org_id, metric, &period)?;
            let os = crate::db::conninfo::os_user_name();
            queries::revoke_grant(&mut tx, *id, reason, os.as_deref())?;
            let after = limit_now(&mut tx, &grant.org_id, metric, &period)?;
            let grant = queries::grant_for_revoke(&mut tx, *id)?
                .context("the grant vanished while it was revoked")?;
            tx.commit().context("committing the revocation")?;
            out.render(&GrantReport {
                grant,
                time_zone: period.time_zone,
                limit_before: before,
                limit_after: after,
            })
        }
        GrantCommand::List { org, all_periods } => {
            let mut tx = queries::read_snapshot(client)?;
            if let Some(org) = org {
                queries::scope_to_org(&mut tx, org)?;
            }
            let mut grants = queries::list_grants(&mut tx, org.as_deref(), None)?;
            let mut orgs: Vec<String> = grants.iter().map(|g| g.org_id.clone()).collect();
            orgs.sort();
            orgs.dedup();
            let periods = queries::periods(&mut tx, &orgs, PeriodChoice::Current)?;
            tx.commit()?;
            if !all_periods {
                grants.retain(|g| {
                    periods
                        .get(&g.org_id)
                        .is_some_and(|p| p.contains(g.period_start))
                });
            }
            out.render(&GrantList {
                grants,
                all_periods: *all_periods,
            })
        }
    }
}
