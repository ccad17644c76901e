//! Known orgs: whether usagectl has ever seen an org id, and candidates for "did you mean".
use super::*;

/// usagectl's own tables that name orgs, each with an index (or, for the alert rules, a
/// handful of rows) on `org_id`, read before the events: the tier assignments, overrides,
/// billing settings, grants, alert rules, Stripe mappings and the rollup.
const OWN_TABLES: [&str; 7] = [
    "usagectl_org_tiers",
    "usagectl_org_limit_overrides",
    "usagectl_org_settings",
    "usagectl_grants",
    "usagectl_alert_rules",
    "usagectl_stripe_customers",
    "usagectl_rollup",
];

/// Where this role can look for orgs: which of [`OWN_TABLES`] it may read `org_id` of,
/// whether it may read the events, and whether the rollup counts every event the
/// fold has reached (its backfill done: see `usagectl_rollup_ready()`).
struct Sources {
    tables: Vec<String>,
    events: bool,
    rollup_ready: bool,
}

fn sources(db: &mut impl GenericClient) -> Result<Sources> {
    let row = db
        .row(
            "SELECT coalesce(array_agg(t ORDER BY n) FILTER (
                        WHERE coalesce(has_column_privilege(to_regclass(t), 'org_id', 'SELECT'), false)),
                        '{}'),
                    coalesce(has_table_privilege(to_regclass('usage_events'), 'SELECT'), false),
                    coalesce(has_function_privilege(to_regprocedure('usagectl_rollup_ready()'),
                                                    'EXECUTE'), false)
               FROM unnest($1::text[]) WITH ORDINALITY AS s(t, n)",
            &[&&OWN_TABLES[..]],
        )
        .context("looking for the tables that name orgs")?;
    let mut s = Sources {
        tables: row.get(0),
        events: row.get(1),
        rollup_ready: row.get(2),
    };
    if s.rollup_ready {
        s.rollup_ready = db
            .row("SELECT usagectl_rollup_ready()", &[])
            .context("looking for the rollup")?
            .get(0);
    }
    Ok(s)
}

/// THE rule for "usagectl has seen this org": it has an event, billing settings, a tier
/// assignment, an override, a grant, an alert rule or a Stripe mapping. usagectl's own
/// small tables are asked first, each through its `org_id` index, then the rollup
/// (which holds every org with events the fold has reached); the events table is only
/// probed for the rows the fold has not reached yet (an index range above the watermark),
/// or, while the rollup's backfill is pending, for the first `org_id` at or after `org`
/// in the index's order. Neither probe is an `EXISTS` the planner may turn into a
/// sequential scan of a big org's rows. Tables this role may not read are left out.
/// Under the seed's RLS policy the transaction must be scoped to `org` first
/// ([`scope_to_org`]), as every per-org read is.
pub fn org_is_known(db: &mut impl GenericClient, org: &str) -> Result<bool> {
    let s = sources(db)?;
    let mut tests: Vec<String> = s
        .tables
        .iter()
        .map(|t| format!("EXISTS (SELECT 1 FROM {t} WHERE org_id = $1)"))
        .collect();
    if s.events {
        tests.push(
            if s.rollup_ready {
                // a range on the sequence index, ordered by it: not an EXISTS, whose ORDER BY
                // the planner drops
                "(SELECT usagectl_seq FROM usage_events
               WHERE NOT usagectl_is_folded(usagectl_seq, (SELECT watermark FROM usagectl_fold_state)) AND org_id = $1
               ORDER BY usagectl_seq LIMIT 1) IS NOT NULL"
            } else {
                // the first id at or after `org` in the org_id index: a range, so the order
                // stays and the index answers it
                "(SELECT org_id FROM usage_events WHERE org_id >= $1 ORDER BY org_id LIMIT 1) = $1"
            }
            .to_string(),
        );
    }
    if tests.is_empty() {
        return Ok(false);
    }
    let sql = format!("SELECT coalesce({}, false)", tests.join("\n OR "));
    Ok(db
        .row(&sql, &[&org])
        .with_context(|| format!("looking for org {org}"))?
        .get(0))
}

/// Most org ids [`known_org_ids`] reads from each source.
pub const KNOWN_ORG_IDS_MAX: i64 = 100_000;

/// Org ids this role can see, for "did you mean": those of usagectl's own tables (tier
/// assignments, overrides, settings, grants, alert rules, Stripe mappings), the daily
/// rollup's orgs (a skip scan of its primary key: one index probe per org, never the rows)
/// and those of the rows the fold has not reached yet (few: found through the sequence
/// index), at most [`KNOWN_ORG_IDS_MAX`] from each, and only from tables this role may
/// read. The rollup is subject to the same RLS policy as usage_events, so a role without
/// BYPASSRLS sees no other org's ids there; usage_events is never scanned whole for ids.
pub fn known_org_ids(db: &mut impl GenericClient) -> Result<Vec<String>> {
    let s = sources(db)?;
    let mut parts: Vec<String> = s
        .tables
        .iter()
        .filter(|t| *t != "usagectl_rollup")
        .map(|t| format!("(SELECT DISTINCT org_id FROM {t} WHERE org_id IS NOT NULL LIMIT $1)"))
        .collect();
    let rollup = s.rollup_ready && s.events && s.tables.iter().any(|t| t == "usagectl_rollup");
    if rollup {
        parts.push(
            "(WITH RECURSIVE rollup(org_id, n) AS (
                 (SELECT org_id, 1 FROM usagectl_rollup ORDER BY org_id LIMIT 1)
                 UNION ALL
                 SELECT (SELECT d.org_id FROM usagectl_rollup d
                         WHERE d.org_id > r.org_id ORDER BY d.org_id LIMIT 1), r.n + 1
                 FROM rollup r WHERE r.org_id IS NOT NULL AND r.n < $1)
             SELECT org_id FROM rollup WHERE org_id IS NOT NULL)"
                .to_string(),
        );
        parts.push(
            "(SELECT DISTINCT org_id FROM usage_events
               WHERE NOT usagectl_is_folded(usagectl_seq, (SELECT watermark FROM usagectl_fold_state)) LIMIT $1)"
                .to_string(),
        );
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(db
        .rows(&parts.join("\n UNION\n "), &[&KNOWN_ORG_IDS_MAX])
        .context("listing known org ids")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
