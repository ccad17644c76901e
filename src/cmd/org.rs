//! `usagectl org`: an org's billing settings (anchor day, time zone, tier) and what is in
//! force for it now.
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use postgres::{Client, GenericClient};
use serde::Serialize;

use crate::db::queries;
use crate::error::{echo, usage};
use crate::output::{Cell, Output, Render, Style};
use crate::period::{self, BillingPeriod, Grant, PeriodChoice, Settings};
use crate::quota::{LimitSource, Metric, TierSource};
use crate::time::fmt_utc;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
An org's billing period starts at local midnight on its anchor day in its time zone and
ends at the next one; anchor days 29-31 fall on the last day of shorter months (31: Jan
31, Feb 28 or 29, Mar 31, Apr 30). Where local midnight does not exist (a DST jump at
midnight, as in America/Santiago), the period starts at the first instant after the gap.
An org that sets nothing has anchor day 1 in UTC: calendar months.

A change of anchor day or zone takes effect at the end of the current period (org show
lists it as pending), so no period is cut short or counted twice; the first period under
the new settings runs from there to their next boundary. An org without events yet takes
new settings at once, for all its periods. Time zones are IANA names as PostgreSQL's time
zone database has them (the one that computes every boundary); an unknown name is refused
with suggestions. --tier assigns a tier, as `usagectl tier assign` does, at once.

Examples:
  usagectl org set acme --anchor-day 15 --time-zone America/New_York
  usagectl org set acme --tier pilot
  usagectl org set newco --tier pilot --new-org   # an org without events or settings yet
  usagectl org show acme
  usagectl org show acme -o json

",
    crate::exit_codes!()
);

/// Arguments of `usagectl org`.
#[derive(Args, Debug)]
pub struct OrgArgs {
    /// What to do
    #[command(subcommand)]
    pub command: OrgCommand,
}

/// `usagectl org` subcommands.
#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Set an org's anchor day, time zone or tier
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true)
        .args(["anchor_day", "time_zone", "tier", "stripe_customer"])))]
    Set {
        /// Organisation id
        org: String,
        /// Day of the month the billing period starts on, 1-31
        #[arg(long, value_name = "1-31", value_parser = period::parse_anchor_day)]
        anchor_day: Option<u8>,
        /// IANA time zone the period's midnights are in (e.g. America/New_York)
        #[arg(long, value_name = "IANA-NAME")]
        time_zone: Option<String>,
        /// Tier to assign (as `usagectl tier assign`)
        #[arg(long, value_name = "NAME")]
        tier: Option<String>,
        /// The org's Stripe customer, for `usagectl stripe push` (cus_...)
        #[arg(long, value_name = "cus_...", value_parser = parse_customer)]
        stripe_customer: Option<String>,
        /// Allow an org usagectl has never seen (without it, a typo is refused)
        #[arg(long)]
        new_org: bool,
    },
    /// Show an org's tier, billing settings, current period, grants and any pending change
    Show {
        /// Organisation id
        org: String,
    },
}

impl OrgCommand {
    fn org(&self) -> &str {
        match self {
            OrgCommand::Set { org, .. } | OrgCommand::Show { org } => org,
        }
    }
}

/// Check what can be checked without the database.
pub fn validate(args: &OrgArgs) -> Result<()> {
    crate::events::validate_org(args.command.org())
}

/// Whether `org show` only reads (it may use a replica and a read-only role).
pub fn reads_only(args: &OrgArgs) -> bool {
    matches!(args.command, OrgCommand::Show { .. })
}

fn parse_customer(s: &str) -> Result<String, String> {
    let ok = s.len() > 4
        && s.len() <= 255
        && s.starts_with("cus_")
        && s[4..].bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{} is not a Stripe customer id (cus_ and letters or digits)",
            echo(s)
        ))
    }
}

/// The zone as PostgreSQL spells it, or a usage error (exit 2) with suggestions.
fn canonical_zone(db: &mut impl GenericClient, name: &str) -> Result<String> {
    let names = queries::time_zone_names(db)?;
    if let Some(n) = names.iter().find(|n| n.as_str() == name) {
        return Ok(n.clone());
    }
    if let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Ok(n.clone());
    }
    // "New_York" -> America/New_York; then names a few edits away
    let last = |n: &str| n.rsplit('/').next().unwrap_or(n).to_ascii_lowercase();
    let wanted = last(name).replace(' ', "_");
    let mut hints: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| last(n) == wanted)
        .take(3)
        .collect();
    if hints.is_empty() {
        hints = crate::events::similar(name, names.iter().map(String::as_str), 3);
    }
    let mut msg = format!("unknown time zone {}", echo(name));
    if hints.is_empty() {
        msg.push_str(" (an IANA name such as America/New_York, Europe/Berlin or UTC)");
    } else {
        msg.push_str(&format!("; did you mean {}?", hints.join(" or ")));
    }
    Err(usage(msg))
}

/// Where the settings in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    /// Nothing set: calendar months in UTC.
    Default,
    /// Set with `org set`.
    Set,
}

/// A settings change not yet in force.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    /// When it takes effect (the end of the current period).
    #[serde(serialize_with = "crate::time::ser")]
    pub effective_from: DateTime<Utc>,
    /// Its anchor day.
    pub anchor_day: u8,
    /// Its zone.
    pub time_zone: String,
}

/// One metric's limit in the current period.
#[derive(Debug, Serialize)]
pub struct LimitLine {
    /// Limit, grants included (-1 unlimited).
    pub limit: i64,
    /// Where it comes from.
    pub limit_source: LimitSource,
    /// What this period's grants add.
    pub granted: i64,
}

/// `org show` (and what `org set` prints after the change).
#[derive(Debug, Serialize)]
pub struct OrgReport {
    /// Organisation.
    pub org_id: String,
    /// Tier used.
    pub tier: String,
    /// "assigned", or "default" when the org has no assignment.
    pub tier_source: TierSource,
    /// The anchor day in force now.
    pub anchor_day: u8,
    /// The zone in force now.
    pub time_zone: String,
    /// Whether the settings in force were set for this org.
    pub settings_source: SettingsSource,
    /// The current period's first instant (UTC).
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// Its end (UTC).
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: DateTime<Utc>,
    /// The same bounds as wall-clock times in the zone.
    pub period_local_start: String,
    /// See `period_local_start`.
    pub period_local_end: String,
    /// A change waiting for the current period to end.
    pub pending: Option<Pending>,
    /// Per metric, in the current period.
    pub limits: BTreeMap<&'static str, LimitLine>,
    /// Grants for the current period (revoked ones included, marked).
    pub grants: Vec<Grant>,
    /// Its Stripe customer (`stripe push`), if mapped.
    pub stripe_customer: Option<String>,
    /// What `org set` did, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// False when usagectl has never seen the org (`queries::org_is_known`).
    pub known_org: bool,
}

impl Render for OrgReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "org_id",
            "tier",
            "tier_source",
            "anchor_day",
            "time_zone",
            "period_start",
            "period_end",
            "pending_from",
            "pending_anchor_day",
            "pending_time_zone",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let p = self.pending.as_ref();
        vec![vec![
            Cell::text(&self.org_id),
            Cell::text(&self.tier),
            Cell::text(self.tier_source.name()),
            Cell::Num(self.anchor_day.into()),
            Cell::text(&self.time_zone),
            Cell::Time(self.period_start),
            Cell::Time(self.period_end),
            p.map_or(Cell::Empty, |p| Cell::Time(p.effective_from)),
            p.map_or(Cell::Empty, |p| Cell::Num(p.anchor_day.into())),
            p.map_or(Cell::Empty, |p| Cell::text(&p.time_zone)),
        ]]
    }

    fn human(&self, style: &Style) -> String {
        let mut s = String::new();
        if let Some(change) = &self.change {
            s.push_str(&format!("{change}\n"));
        }
        s.push_str(&style.bold(&crate::app::views::tier_title(
            &self.org_id,
            &self.tier,
            self.tier_source,
        )));
        s.push('\n');
        let source = if self.settings_source == SettingsSource::Default {
            " (default: calendar months in UTC)"
        } else {
            ""
        };
        s.push_str(&format!(
            "billing period: anchor day {}, time zone {}{source}\n",
            self.anchor_day, self.time_zone
        ));
        s.push_str(&format!(
            "current period: {} to {} {} = [{}, {}) UTC\n",
            self.period_local_start,
            self.period_local_end,
            self.time_zone,
            fmt_utc(&self.period_start),
            fmt_utc(&self.period_end)
        ));
        if let Some(c) = &self.stripe_customer {
            s.push_str(&format!("Stripe customer: {c}\n"));
        }
        match &self.pending {
            Some(p) => s.push_str(&format!(
                "pending: anchor day {}, time zone {}, from {} (the end of the current period)\n",
                p.anchor_day,
                p.time_zone,
                fmt_utc(&p.effective_from)
            )),
            None => s.push_str("pending: none\n"),
        }
        let mut t = style.table(&["metric", "limit", "source"]);
        for m in Metric::ALL {
            let l = &self.limits[m.name()];
            let limit = crate::quota::limit_text(l.limit, l.granted);
            t.add_row(vec![
                style.cell(m.name(), None),
                style.cell(limit, None),
                style.cell(l.limit_source.describe(&self.tier), None),
            ]);
        }
        s.push_str(&format!("{t}\n"));
        if self.grants.is_empty() {
            s.push_str("grants for this period: none\n");
        } else {
            s.push_str(&format!(
                "grants for this period:\n{}\n",
                crate::app::views::grants_table(&self.grants, style)
            ));
        }
        s
    }
}

/// Read what `org show` prints, in the caller's transaction.
fn report(db: &mut impl GenericClient, org: &str) -> Result<OrgReport> {
    let now = queries::scope_to_org_now(db, org)?;
    let period = queries::period(db, org, PeriodChoice::Current)?;
    let config = queries::load_limit_config(db, Some(org))?;
    let granted = queries::granted(db, org, &period)?;
    let eff = config.effective(org).with_grants(granted);
    let history = queries::settings_history(db, org)?;
    let pending = history
        .iter()
        .find(|s| s.effective_from.is_some_and(|f| f > now))
        .map(|s| Pending {
            effective_from: s.effective_from.unwrap_or(now),
            anchor_day: s.anchor_day,
            time_zone: s.time_zone.clone(),
        });
    let settings_source = if history
        .iter()
        .any(|s| s.effective_from.is_none_or(|f| f <= now))
    {
        SettingsSource::Set
    } else {
        SettingsSource::Default
    };
    let grants = queries::list_grants(db, Some(org), Some(&period))?;
    let stripe_customer = queries::stripe_customer(db, org)?;
    let known = crate::app::orgs::unknown_org(db, org)?;
    if let Some(note) = &known {
        crate::printer::notice(note);
    }
    let limits = Metric::ALL
        .into_iter()
        .map(|m| {
            let (limit, limit_source) = eff.limits[&m];
            let granted = eff.granted_to(m);
            (
                m.name(),
                LimitLine {
                    limit,
                    limit_source,
                    granted,
                },
            )
        })
        .collect();
    Ok(OrgReport {
        org_id: org.to_string(),
        tier: eff.tier.clone(),
        tier_source: eff.tier_source(),
        anchor_day: period.anchor_day,
        time_zone: period.time_zone.clone(),
        settings_source,
        period_start: period.start,
        period_end: period.end,
        period_local_start: local(&period, true),
        period_local_end: local(&period, false),
        pending,
        stripe_customer,
        limits,
        grants,
        change: None,
        known_org: known.is_none(),
    })
}

fn local(p: &BillingPeriod, start: bool) -> String {
    let t = if start { p.local_start } else { p.local_end };
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The settings in force (or pending) that a partial `org set` starts from: the newest
/// row of the history, else the defaults.
fn newest(history: &[Settings]) -> (u8, String) {
    history.last().map_or(
        (
            period::DEFAULT_ANCHOR_DAY,
            period::DEFAULT_TIME_ZONE.to_string(),
        ),
        |s| (s.anchor_day, s.time_zone.clone()),
    )
}

/// Run `usagectl org ...`.
pub fn run(client: &mut Client, args: &OrgArgs, out: &mut Output) -> Result<()> {
    match &args.command {
        OrgCommand::Show { org } => {
            let mut tx = queries::read_snapshot(client)?;
            let r = report(&mut tx, org)?;
            tx.commit()?;
            out.render(&r)
        }
        OrgCommand::Set {
            org,
            anchor_day,
            time_zone,
            tier,
            stripe_customer,
            new_org,
        } => {
            let mut tx = crate::db::begin(client)?;
            crate::app::orgs::require_seen(&mut tx, org, *new_org)?;
            // serialised with record --enforce for this org: a period is never decided
            // under settings that change halfway
            queries::lock_org(&mut tx, org)?;
            let now = queries::scope_to_org_now(&mut tx, org)?;
            let mut said = Vec::new();
            if let Some(tier) = tier {
                let cfg = queries::load_limit_config(&mut tx, None)?;
                crate::app::orgs::require_tier(&cfg, tier)?;
                queries::assign_tier(&mut tx, org, tier)?;
                said.push(format!("tier {tier} assigned"));
            }
            if let Some(cus) = stripe_customer {
                queries::set_stripe_customer(&mut tx, org, cus)?;
                said.push(format!("Stripe customer {cus}"));
            }
            if anchor_day.is_some() || time_zone.is_some() {
                let zone = match time_zone {
                    Some(z) => Some(canonical_zone(&mut tx, z)?),
                    None => None,
                };
                let history = queries::settings_history(&mut tx, org)?;
                let (old_anchor, old_zone) = newest(&history);
                let anchor = anchor_day.unwrap_or(old_anchor);
                let zone = zone.unwrap_or(old_zone);
                let os = crate::db::conninfo::os_user_name();
                if !queries::org_has_events(&mut tx, org)? {
                    queries::set_settings(&mut tx, org, None, anchor, &zone, os.as_deref())?;
                    said.push(format!(
                        "anchor day {anchor}, time zone {zone}: in force now, for all periods (the org has no events yet)"
                    ));
                } else {
                    // withdraw a pending change first: the current period is then cut by
                    // the settings in force now
                    queries::drop_settings_from(&mut tx, org, now)?;
                    let current = queries::period(&mut tx, org, PeriodChoice::Current)?;
                    if current.anchor_day == anchor && current.time_zone == zone {
                        said.push(format!(
                            "anchor day {anchor}, time zone {zone}: already in force (any pending change withdrawn)"
                        ));
                    } else {
                        queries::set_settings(
                            &mut tx,
                            org,
                            Some(current.end),
                            anchor,
                            &zone,
                            os.as_deref(),
                        )?;
                        said.push(format!(
                            "anchor day {anchor}, time zone {zone}: pending, in force from {} (the end of the current period)",
                            fmt_utc(&current.end)
                        ));
                    }
                }
            }
            let mut r = report(&mut tx, org)?;
            tx.commit().context("committing the org's settings")?;
            if anchor_day.is_some() || time_zone.is_some() {
                // reads of its periods take their partial days from the rollup's buckets
                // from now on; `maintain` registers them otherwise
                if let Err(e) = queries::register_boundaries(client, Some(org)) {
                    crate::printer::warn(&format!(
                        "{e:#}; `usagectl maintain` registers them on its next run (reads are exact meanwhile)"
                    ));
                }
            }
            r.change = Some(format!("org {org}: {}", said.join("; ")));
            out.render(&r)
        }
    }
}
