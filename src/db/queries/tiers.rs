//! Tiers, limits, assignments and overrides.
use super::*;

/// Tier definitions, plus assignments and overrides for `org` (every org when `None`).
pub fn load_limit_config(db: &mut impl GenericClient, org: Option<&str>) -> Result<LimitConfig> {
    // one round trip: (kind, key, sub-key, value) rows from the four tables
    let rows = db
        .query_typed(
            "SELECT 'tier', name, NULL, NULL::bigint FROM usagectl_tiers
             UNION ALL
             SELECT 'limit', tier, metric, limit_value FROM usagectl_tier_limits
             UNION ALL
             SELECT 'assignment', org_id, tier, NULL FROM usagectl_org_tiers
              WHERE $1::text IS NULL OR org_id = $1
             UNION ALL
             SELECT 'override', org_id, metric, limit_value FROM usagectl_org_limit_overrides
              WHERE $1::text IS NULL OR org_id = $1",
            &[(&org, Type::TEXT)],
        )
        .context("reading tiers, limits, assignments and overrides")?;
    let mut cfg = LimitConfig::default();
    for r in &rows {
        let kind: &str = r.get(0);
        let key: String = r.get(1);
        let sub: Option<String> = r.get(2);
        let value: Option<i64> = r.get(3);
        let metric = sub.as_deref().and_then(Metric::from_name);
        match (kind, sub, metric, value) {
            ("tier", _, _, _) => {
                cfg.tiers.entry(key).or_default();
            }
            ("limit", _, Some(m), Some(v)) => {
                cfg.tiers.entry(key).or_default().insert(m, v);
            }
            ("assignment", Some(tier), _, _) => {
                cfg.assignments.insert(key, tier);
            }
            ("override", _, Some(m), Some(v)) => {
                cfg.overrides.entry(key).or_default().insert(m, v);
            }
            _ => {}
        }
    }
    Ok(cfg)
}

/// Create a tier with the limits of `from`. Returns false when the name is taken.
pub fn create_tier(db: &mut impl GenericClient, name: &str, from: &str) -> Result<bool> {
    let mut tx = crate::db::begin(db)?;
    let created = tx
        .exec(
            "INSERT INTO usagectl_tiers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .with_context(|| format!("creating tier {name}"))?;
    if created == 0 {
        return Ok(false);
    }
    tx.exec(
        "INSERT INTO usagectl_tier_limits (tier, metric, limit_value)
         SELECT $1, metric, limit_value FROM usagectl_tier_limits WHERE tier = $2",
        &[&name, &from],
    )
    .with_context(|| format!("copying the limits of tier {from}"))?;
    tx.commit()?;
    Ok(true)
}

/// Set one limit of a tier.
pub fn set_tier_limit(
    db: &mut impl GenericClient,
    tier: &str,
    metric: Metric,
    limit: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_tier_limits (tier, metric, limit_value) VALUES ($1, $2, $3)
         ON CONFLICT (tier, metric) DO UPDATE SET limit_value = EXCLUDED.limit_value",
        &[&tier, &metric.name(), &limit],
    )
    .with_context(|| format!("setting {} of tier {tier}", metric.name()))?;
    Ok(())
}

/// Assign an org to a tier.
pub fn assign_tier(db: &mut impl GenericClient, org: &str, tier: &str) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_org_tiers (org_id, tier) VALUES ($1, $2)
         ON CONFLICT (org_id) DO UPDATE SET tier = EXCLUDED.tier, assigned_at = now()",
        &[&org, &tier],
    )
    .with_context(|| format!("assigning org {org} to tier {tier}"))?;
    Ok(())
}

/// Override one limit for an org.
pub fn set_override(
    db: &mut impl GenericClient,
    org: &str,
    metric: Metric,
    limit: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_org_limit_overrides (org_id, metric, limit_value) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, metric) DO UPDATE SET limit_value = EXCLUDED.limit_value, set_at = now()",
        &[&org, &metric.name(), &limit],
    )
    .with_context(|| format!("overriding {} for org {org}", metric.name()))?;
    Ok(())
}

/// Remove an org's override of one limit. Returns whether there was one.
pub fn clear_override(db: &mut impl GenericClient, org: &str, metric: Metric) -> Result<bool> {
    let n = db
        .exec(
            "DELETE FROM usagectl_org_limit_overrides WHERE org_id = $1 AND metric = $2",
            &[&org, &metric.name()],
        )
        .with_context(|| format!("clearing the {} override for org {org}", metric.name()))?;
    Ok(n > 0)
}
