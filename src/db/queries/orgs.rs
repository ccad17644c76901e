//! Known orgs: whether an org id has ever been seen, and candidates for "did you mean".
use super::*;

/// Whether `org` has any event at all, a tier assignment or an override: one round trip of
/// three index-backed `EXISTS` (usage_events' org_id indexes, the tier tables' primary
/// keys). Under the seed's RLS policy the transaction must be scoped to `org` first
/// ([`scope_to_org`]), as every per-org read is.
pub fn org_is_known(db: &mut impl GenericClient, org: &str) -> Result<bool> {
    Ok(db
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM usage_events WHERE org_id = $1)
                 OR EXISTS (SELECT 1 FROM usagectl_org_tiers WHERE org_id = $1)
                 OR EXISTS (SELECT 1 FROM usagectl_org_limit_overrides WHERE org_id = $1)",
            &[(&org, Type::TEXT)],
        )
        .with_context(|| format!("looking for org {org}"))?
        .get(0))
}

/// Most org ids [`known_org_ids`] reads from each source.
pub const KNOWN_ORG_IDS_MAX: i64 = 100_000;

/// Org ids this role can see, for "did you mean": the tier assignments and overrides,
/// the daily rollup's orgs (a skip scan of its primary key: one index probe per org,
/// never the rows) and those of the rows the fold has not reached yet (few: found through
/// the sequence index), at most [`KNOWN_ORG_IDS_MAX`] from each. The rollup is subject to the
/// same RLS policy as usage_events, so a role without BYPASSRLS sees no other org's ids
/// there; usage_events is never scanned whole for ids.
pub fn known_org_ids(db: &mut impl GenericClient) -> Result<Vec<String>> {
    // the watermark, so the rows the fold has not reached are found through its index
    let watermark: Option<i64> = db
        .query_typed_one(
            "SELECT CASE WHEN to_regclass('usagectl_fold_state') IS NOT NULL
                          AND has_table_privilege('usagectl_fold_state', 'SELECT')
                          AND has_table_privilege('usagectl_daily_usage', 'SELECT')
                     THEN (SELECT watermark FROM usagectl_fold_state) END",
            &[],
        )
        .context("looking for the daily rollup")?
        .get(0);
    let rollup_readable = watermark.is_some();
    let tiers = "(SELECT org_id FROM usagectl_org_tiers LIMIT $1)
                 UNION
                 (SELECT org_id FROM usagectl_org_limit_overrides LIMIT $1)";
    let sql = if rollup_readable {
        format!(
            "WITH RECURSIVE rollup(org_id, n) AS (
                 (SELECT org_id, 1 FROM usagectl_daily_usage ORDER BY org_id LIMIT 1)
                 UNION ALL
                 SELECT (SELECT d.org_id FROM usagectl_daily_usage d
                         WHERE d.org_id > r.org_id ORDER BY d.org_id LIMIT 1), r.n + 1
                 FROM rollup r WHERE r.org_id IS NOT NULL AND r.n < $1)
             {tiers}
             UNION
             SELECT org_id FROM rollup WHERE org_id IS NOT NULL
             UNION
             (SELECT DISTINCT org_id FROM usage_events WHERE usagectl_seq > $2 LIMIT $1)"
        )
    } else {
        tiers.to_string()
    };
    let watermark = watermark.unwrap_or(0);
    let params: [(&(dyn postgres::types::ToSql + Sync), Type); 2] =
        [(&KNOWN_ORG_IDS_MAX, Type::INT8), (&watermark, Type::INT8)];
    Ok(db
        .query_typed(&sql, &params[..if rollup_readable { 2 } else { 1 }])
        .context("listing known org ids")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
