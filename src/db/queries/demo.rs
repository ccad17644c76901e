//! The demo month.
use super::*;

/// Load a realistic month of sample events for a few orgs and give them tiers: the 30
/// days ending at the current hour, or the whole calendar `month` (UTC) when one is given.
/// Every event, its id included, is a function of its org, type and hour alone, so a
/// pinned month is the same on every machine and loads (the docs' examples rely on it).
/// Keys are derived from the hour, so loading again adds only the hours that are new.
/// Returns how many events were inserted.
pub fn load_demo_month(db: &mut impl GenericClient, month: Option<&Month>) -> Result<u64> {
    let (first_hour, last_hour): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = match month {
        Some(m) => (Some(m.start), Some(m.end - chrono::Duration::hours(1))),
        None => (None, None),
    };
    // Pseudo-random but deterministic per (org, type, hour): busier on weekdays and in
    // working hours, each org at its own scale.
    let n: i64 = db
        .row(
            "WITH d AS (
             SELECT md5(o.org_id || ':' || k.key)::uuid AS id, o.org_id, t.event_type,
                    CASE t.event_type
                        WHEN 'csv_row_processed' THEN 40 + abs(hashtext(k.key || 'q')) % 2400
                        WHEN 'ai_tokens_input'  THEN 200 + abs(hashtext(k.key || 'q')) % 2600
                        WHEN 'ai_tokens_output' THEN 120 + abs(hashtext(k.key || 'q')) % 1200
                        ELSE 1
                    END AS quantity,
                    CASE WHEN t.event_type LIKE 'ai_tokens_%'
                         THEN jsonb_build_object('source', 'usagectl demo', 'model',
                                  (ARRAY['claude-3-5-sonnet-20241022', 'claude-3-5-haiku-20241022'])
                                      [1 + abs(hashtext(k.key || 'm')) % 2])
                         ELSE jsonb_build_object('source', 'usagectl demo') END AS metadata,
                    h.at + make_interval(secs => abs(hashtext(k.key || 's')) % 3600) AS at,
                    k.key
             FROM (VALUES ('acme-foods', 1.0), ('northwind-plant', 0.6),
                          ('globex-trial', 0.25), ('initech', 0.4)) AS o(org_id, scale)
             CROSS JOIN generate_series(coalesce($1, date_trunc('hour', now()) - interval '29 days 23 hours'),
                                        coalesce($2, date_trunc('hour', now()) - interval '1 hour'),
                                        interval '1 hour') AS h(at)
             CROSS JOIN (VALUES ('csv_upload', 60), ('csv_row_processed', 60), ('analysis_run', 150),
                                ('analyzer_execution', 220), ('chat_message', 500), ('ai_tokens_input', 500),
                                ('ai_tokens_output', 500), ('mapping_profile_created', 8),
                                ('mapping_profile_used', 90), ('export_pdf', 25), ('export_csv', 30))
                  AS t(event_type, permille)
             CROSS JOIN LATERAL (SELECT 'demo:' || t.event_type || ':' || to_char(h.at, 'YYYYMMDDHH24') AS key) AS k
             WHERE abs(hashtext(o.org_id || k.key)) % 1000
                   < t.permille * o.scale
                     * CASE WHEN extract(isodow FROM h.at) >= 6 THEN 0.2 ELSE 1 END
                     * CASE WHEN extract(hour FROM h.at) BETWEEN 7 AND 18 THEN 1 ELSE 0.1 END
             )
             SELECT count(*)
             FROM (SELECT array_agg(id ORDER BY at, org_id, event_type) AS id,
                          array_agg(org_id ORDER BY at, org_id, event_type) AS org,
                          array_agg(event_type ORDER BY at, org_id, event_type) AS t,
                          array_agg(quantity ORDER BY at, org_id, event_type) AS q,
                          array_agg(metadata ORDER BY at, org_id, event_type) AS m,
                          array_agg(at ORDER BY at, org_id, event_type) AS at,
                          array_agg(key ORDER BY at, org_id, event_type) AS k FROM d) s
             CROSS JOIN LATERAL usagectl_insert_events(s.id, s.org, s.t, s.q, s.m, s.at, s.k)",
            &[&first_hour, &last_hour],
        )
        .context("loading the demo month")?
        .get(0);
    // tiers for the demo orgs, unless someone has changed them since; globex-trial keeps
    // the default tier
    db.exec(
        "INSERT INTO usagectl_org_tiers (org_id, tier)
         VALUES ('acme-foods', 'pilot'), ('northwind-plant', 'pilot'), ('initech', 'subscription')
         ON CONFLICT (org_id) DO NOTHING",
        &[],
    )
    .context("assigning the demo orgs' tiers")?;
    Ok(n as u64)
}
