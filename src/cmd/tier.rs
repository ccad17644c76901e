//! `usagectl tier`: tiers, their limits, org assignments and per-org overrides.
use std::collections::BTreeMap;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use postgres::Client;
use serde::Serialize;

use crate::db::queries;
use crate::output::{Cell, Output, Render, Style};
use crate::quota::{self, Effective, LimitConfig, LimitSource, Metric, TierSource};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Metrics: csv_uploads, csv_rows, analyses, chat_messages, ai_tokens, mapping_profiles.
A limit is a whole number; -1 means unlimited. An org with no assignment uses the default
tier, trial. Changing tiers needs INSERT/UPDATE/DELETE on the usagectl_* tier tables.

Examples:
  usagectl tier list
  usagectl tier create enterprise --from pilot
  usagectl tier set-limit enterprise ai_tokens 5000000
  usagectl tier assign acme enterprise
  usagectl tier override acme chat_messages 2000
  usagectl tier override acme chat_messages --clear
  usagectl tier show acme

",
    crate::exit_codes!()
);

/// Arguments of `usagectl tier`.
#[derive(Args, Debug)]
pub struct TierArgs {
    /// What to do
    #[command(subcommand)]
    pub command: TierCommand,
}

fn parse_limit(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if n >= -1 => Ok(n),
        Ok(_) => Err("must be -1 (unlimited) or a whole number >= 0".to_string()),
        Err(_) => Err("must be a whole number, or -1 for unlimited".to_string()),
    }
}

/// `usagectl tier` subcommands.
#[derive(Subcommand, Debug)]
pub enum TierCommand {
    /// List every tier and its six limits
    List,
    /// Create a tier with the limits of another
    Create {
        /// Name of the new tier
        name: String,
        /// Tier whose limits to copy
        #[arg(long, value_name = "TIER", default_value = quota::DEFAULT_TIER)]
        from: String,
    },
    /// Set one limit of a tier (-1 = unlimited)
    SetLimit {
        /// Tier
        tier: String,
        /// Metric
        #[arg(value_enum)]
        metric: Metric,
        /// New limit
        #[arg(allow_negative_numbers = true, value_parser = parse_limit)]
        limit: i64,
    },
    /// Assign an org to a tier
    Assign {
        /// Organisation id
        org: String,
        /// Tier
        tier: String,
        /// Allow an org usagectl has never seen (without it, a typo is refused)
        #[arg(long)]
        new_org: bool,
    },
    /// Override one limit for one org (an enterprise contract), or clear the override
    Override {
        /// Organisation id
        org: String,
        /// Metric
        #[arg(value_enum)]
        metric: Metric,
        /// Limit for this org (-1 = unlimited)
        #[arg(allow_negative_numbers = true, value_parser = parse_limit,
              required_unless_present = "clear", conflicts_with = "clear")]
        limit: Option<i64>,
        /// Remove the override: the tier's limit applies again
        #[arg(long)]
        clear: bool,
        /// Allow an org usagectl has never seen (without it, a typo is refused)
        #[arg(long, conflicts_with = "clear")]
        new_org: bool,
    },
    /// Show an org's effective limits and where each comes from
    Show {
        /// Organisation id
        org: String,
    },
}

/// One tier and its limits.
#[derive(Debug, Serialize)]
pub struct TierRow {
    /// Tier name.
    pub name: String,
    /// Metric -> limit (-1 unlimited).
    pub limits: BTreeMap<&'static str, i64>,
}

/// A list of tiers.
#[derive(Debug, Serialize)]
pub struct TierList {
    /// Tiers, by name.
    pub tiers: Vec<TierRow>,
}

fn limit_text(l: i64) -> String {
    if l == quota::UNLIMITED {
        "unlimited".to_string()
    } else {
        l.to_string()
    }
}

impl Render for TierList {
    fn csv_header(&self) -> Vec<&'static str> {
        let mut h = vec!["tier"];
        h.extend(Metric::ALL.map(Metric::name));
        h
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.tiers
            .iter()
            .map(|t| {
                let mut row = vec![Cell::text(&t.name)];
                row.extend(Metric::ALL.map(|m| {
                    t.limits
                        .get(m.name())
                        .map_or(Cell::Empty, |v| Cell::Num(*v))
                }));
                row
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let header = self.csv_header();
        let mut t = style.table(&header);
        for tier in &self.tiers {
            let mut row = vec![tier.name.clone()];
            row.extend(Metric::ALL.map(|m| {
                tier.limits
                    .get(m.name())
                    .map_or("-".to_string(), |v| limit_text(*v))
            }));
            t.add_row(row);
        }
        format!(
            "{t}\n(-1 in JSON and CSV means unlimited; an org with no assignment uses {})\n",
            quota::DEFAULT_TIER
        )
    }
}

/// An org's effective limits and their sources.
#[derive(Debug, Serialize)]
pub struct EffectiveReport {
    /// Organisation.
    pub org_id: String,
    /// Tier used.
    pub tier: String,
    /// "assigned", or "default" when the org has no assignment.
    pub tier_source: TierSource,
    /// Metric -> limit and source.
    pub limits: BTreeMap<&'static str, EffectiveLimit>,
    /// False when usagectl has never seen the org (`queries::org_is_known`).
    pub known_org: bool,
}

/// One effective limit.
#[derive(Debug, Serialize)]
pub struct EffectiveLimit {
    /// -1 unlimited.
    pub limit: i64,
    /// tier, default_tier or override.
    pub source: LimitSource,
}

impl EffectiveReport {
    fn new(org: &str, e: &Effective, known_org: bool) -> EffectiveReport {
        EffectiveReport {
            org_id: org.to_string(),
            tier: e.tier.clone(),
            tier_source: e.tier_source(),
            known_org,
            limits: e
                .limits
                .iter()
                .map(|(m, (limit, source))| {
                    (
                        m.name(),
                        EffectiveLimit {
                            limit: *limit,
                            source: *source,
                        },
                    )
                })
                .collect(),
        }
    }
}

impl Render for EffectiveReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["org_id", "tier", "tier_source", "metric", "limit", "source"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        Metric::ALL
            .iter()
            .map(|m| {
                let l = &self.limits[m.name()];
                vec![
                    Cell::text(&self.org_id),
                    Cell::text(&self.tier),
                    Cell::text(self.tier_source.name()),
                    Cell::text(m.name()),
                    Cell::Num(l.limit),
                    Cell::text(l.source.name()),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut t = style.table(&["metric", "limit", "from"]);
        for m in Metric::ALL {
            let l = &self.limits[m.name()];
            t.add_row(vec![
                m.name().to_string(),
                limit_text(l.limit),
                l.source.describe(&self.tier),
            ]);
        }
        format!(
            "{}\n{t}\n",
            style.bold(&crate::app::views::tier_title(
                &self.org_id,
                &self.tier,
                self.tier_source
            ))
        )
    }
}

fn tier_list(cfg: &LimitConfig, only: Option<&str>) -> TierList {
    TierList {
        tiers: cfg
            .tiers
            .iter()
            .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
            .map(|(name, limits)| TierRow {
                name: name.clone(),
                limits: limits.iter().map(|(m, v)| (m.name(), *v)).collect(),
            })
            .collect(),
    }
}

/// Check what can be checked without the database.
pub fn validate(args: &TierArgs) -> Result<()> {
    match &args.command {
        TierCommand::Create { name, .. } => quota::validate_tier_name(name),
        TierCommand::Assign { org, .. }
        | TierCommand::Override { org, .. }
        | TierCommand::Show { org } => crate::events::validate_org(org),
        _ => Ok(()),
    }
}

/// Run `usagectl tier ...`.
pub fn run(client: &mut Client, args: &TierArgs, out: &mut Output) -> Result<()> {
    let mut tx = crate::db::begin(client)?;
    let cfg = queries::load_limit_config(&mut tx, None)?;
    match &args.command {
        TierCommand::List => {
            tx.commit()?;
            out.render(&tier_list(&cfg, None))
        }
        TierCommand::Create { name, from } => {
            crate::app::orgs::require_tier(&cfg, from)?;
            if !queries::create_tier(&mut tx, name, from)? {
                bail!("tier '{name}' already exists");
            }
            let cfg = queries::load_limit_config(&mut tx, None)?;
            tx.commit()?;
            out.render(&tier_list(&cfg, Some(name)))
        }
        TierCommand::SetLimit {
            tier,
            metric,
            limit,
        } => {
            crate::app::orgs::require_tier(&cfg, tier)?;
            queries::set_tier_limit(&mut tx, tier, *metric, *limit)?;
            let cfg = queries::load_limit_config(&mut tx, None)?;
            tx.commit()?;
            out.render(&tier_list(&cfg, Some(tier)))
        }
        TierCommand::Assign { org, tier, new_org } => {
            crate::app::orgs::require_tier(&cfg, tier)?;
            crate::app::orgs::require_seen(&mut tx, org, *new_org)?;
            queries::assign_tier(&mut tx, org, tier)?;
            show(tx, org, out)
        }
        TierCommand::Override {
            org,
            metric,
            limit,
            clear,
            new_org,
        } => {
            if *clear {
                if !queries::clear_override(&mut tx, org, *metric)? {
                    crate::printer::warn(&format!("org {org} had no {} override", metric.name()));
                }
            } else if let Some(limit) = limit {
                crate::app::orgs::require_seen(&mut tx, org, *new_org)?;
                queries::set_override(&mut tx, org, *metric, *limit)?;
            }
            show(tx, org, out)
        }
        TierCommand::Show { org } => show(tx, org, out),
    }
}

fn show(mut tx: postgres::Transaction<'_>, org: &str, out: &mut Output) -> Result<()> {
    let eff = queries::load_limit_config(&mut tx, Some(org))?.effective(org);
    let unknown = crate::app::orgs::unknown_org(&mut tx, org)?;
    tx.commit()?;
    if let Some(note) = &unknown {
        crate::printer::notice(note);
    }
    out.render(&EffectiveReport::new(org, &eff, unknown.is_none()))
}
