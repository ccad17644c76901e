//! Orgs as commands meet them: unknown ids, writes for orgs never seen, tiers that exist.
use anyhow::Result;
use postgres::GenericClient;

use crate::db::queries;
use crate::error::{echo, usage};
use crate::quota::{self, LimitConfig};

/// Refuse a write of `org`'s settings when usagectl has never seen the org, naming the
/// nearest known ids, unless `new_org` (`--new-org`): [`quota::check_org_write`], asked by
/// every such write (`org set`, `tier assign`, `tier override`, `grant add`, `alert add
/// --org`) before it writes anything. Scopes the transaction to `org` to look, so under
/// the seed's RLS policy the nearest ids come only from what this role may read.
pub fn require_seen(db: &mut impl GenericClient, org: &str, new_org: bool) -> Result<()> {
    if new_org {
        return Ok(());
    }
    queries::scope_to_org(db, org)?;
    if queries::org_is_known(db, org)? {
        return Ok(());
    }
    let ids = queries::known_org_ids(db)?;
    let nearest = crate::events::similar(org, ids.iter().map(String::as_str), 3);
    quota::check_org_write(org, false, new_org, &nearest)
}

/// The note for an org usagectl has never seen ([`queries::org_is_known`]: a typo, most
/// likely), naming similar org ids this role can see; `None` for a known org. Every per-org
/// read asks this (limits, status --org, tier show, org show, summary, events, export
/// --org, costs --org) and prints the note with [`output::notice`]; the reports' JSON has
/// `known_org`. It runs in a transaction of its own (a savepoint inside the caller's)
/// scoped to `org`, so the seed's RLS policy lets a read-only role see the org's own rows.
///
/// Under RLS, the suggestions come from usagectl's own tables only (tiers, overrides,
/// settings, grants, alert rules, Stripe mappings, as far as the role may read them): the
/// policy hides every other org's events and rollup rows, and usagectl does not go round
/// it to list ids a role confined to one org may not read.
pub fn unknown_org(db: &mut impl GenericClient, org: &str) -> Result<Option<String>> {
    match unknown_org_checked(db, org) {
        // a role that may read the events but not the tier tables: no check, no noise
        Err(e)
            if crate::db::waits::sqlstate(&e)
                == Some(postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
        {
            Ok(None)
        }
        other => other,
    }
}

fn unknown_org_checked(db: &mut impl GenericClient, org: &str) -> Result<Option<String>> {
    let mut tx = crate::db::begin(db)?;
    queries::scope_to_org(&mut tx, org)?;
    if queries::org_is_known(&mut tx, org)? {
        tx.commit()?;
        return Ok(None);
    }
    let ids = queries::known_org_ids(&mut tx)?;
    tx.commit()?;
    let similar = crate::events::similar(org, ids.iter().map(String::as_str), 3);
    Ok(Some(quota::unknown_org_note(org, &similar)))
}

/// Refuse (exit 2) a tier that does not exist, naming the valid ones.
pub fn require_tier(cfg: &LimitConfig, tier: &str) -> Result<()> {
    if cfg.tiers.contains_key(tier) {
        return Ok(());
    }
    let names: Vec<&str> = cfg.tiers.keys().map(String::as_str).collect();
    Err(usage(format!(
        "unknown tier {} (valid: {})",
        echo(tier),
        names.join(", ")
    )))
}
