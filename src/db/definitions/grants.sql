-- The grants of usage_reader and usage_writer: installed with the other definitions when
-- both roles exist (`migrate --roles` creates them). A definition file; see rollup.sql.
GRANT SELECT ON usage_events, usagectl_tiers, usagectl_tier_limits, usagectl_org_tiers,
                usagectl_org_limit_overrides, usagectl_schema_migrations, usagectl_rollup,
                usagectl_rollup_backfill, usagectl_fold_state, usagectl_boundaries, usagectl_definitions
                TO usage_reader;
GRANT SELECT, INSERT ON usage_events TO usage_writer;
GRANT SELECT ON usagectl_tiers, usagectl_tier_limits, usagectl_org_tiers, usagectl_org_limit_overrides,
                usagectl_schema_migrations, usagectl_rollup, usagectl_rollup_backfill, usagectl_fold_state,
                usagectl_boundaries, usagectl_definitions TO usage_writer;
GRANT SELECT, INSERT, UPDATE ON usagectl_org_locks TO usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_usage, usagectl_usage_of, usagectl_usage_by_model, usagectl_model_key,
        usagectl_is_folded, usagectl_bucket, usagectl_count, usagectl_rollup_ready, usagectl_org_usage,
        usagectl_archived_in, usagectl_require_raw, usagectl_totals_before
        TO usage_reader, usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_lock_org, usagectl_fold TO usage_writer;
GRANT SELECT ON usagectl_org_settings, usagectl_grants, usagectl_grant_revocations TO usage_reader, usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_anchor_instant, usagectl_period, usagectl_periods,
        usagectl_granted TO usage_reader, usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_metrics, usagectl_base_limit, usagectl_allowance, usagectl_refusal,
        usagectl_require_org, usagectl_reservation_org, usagectl_require_metric, usagectl_require_quantity,
        usagectl_status
        TO usage_reader, usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_json_time, usagectl_projection, usagectl_org_known, usagectl_metric_uses,
        usagectl_period_json, usagectl_tier_json, usagectl_limits_body, usagectl_status_body,
        usagectl_summary_body
        TO usage_reader, usage_writer;
-- reservations (the web app's API) count in every allowance; the table is younger than the
-- first install of these grants
DO $$
BEGIN
    IF to_regclass('usagectl_archives') IS NOT NULL THEN
        GRANT SELECT ON usagectl_archives, usagectl_archive_totals, usagectl_archive_kept
            TO usage_reader, usage_writer;
    END IF;
    -- every org's keys: not for a role meant to read one org at a time; the writer
    -- claims keys and reads back the event ids it claimed
    IF to_regclass('usagectl_event_keys') IS NOT NULL THEN
        REVOKE ALL ON usagectl_event_keys FROM usage_reader;
        GRANT INSERT, SELECT (event_id) ON usagectl_event_keys TO usage_writer;
    END IF;
    IF to_regclass('usagectl_reservations') IS NOT NULL THEN
        GRANT SELECT ON usagectl_reservations TO usage_reader;
        GRANT SELECT, INSERT, UPDATE ON usagectl_reservations TO usage_writer;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION usagectl_record, usagectl_insert_events TO usage_writer;
-- the months ahead of a partitioned table (`maintain`, as usage_writer from cron)
GRANT EXECUTE ON FUNCTION usagectl_create_partition(date), usagectl_partitions() TO usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_partitions() TO usage_reader;
-- alert rules without their webhook URL and secret (owner only)
GRANT SELECT (name, webhook_shown, format, thresholds, metrics, org_id, tier, allow_insecure_http,
              created_at, created_by) ON usagectl_alert_rules TO usage_reader;
-- the states, outbox and attempts hold every org's usage: not for a role meant to read one
-- org at a time (REVOKE: an earlier usagectl granted them)
REVOKE ALL ON usagectl_alert_states, usagectl_alert_outbox, usagectl_alert_attempts FROM usage_reader;
-- Stripe: which customer an org is, the meters and what was sent (no key is ever stored)
GRANT SELECT ON usagectl_stripe_customers, usagectl_stripe_meters TO usage_reader;
REVOKE ALL ON usagectl_stripe_ledger FROM usage_reader;
-- prices, and how far the event numbering has settled (events --follow)
GRANT SELECT ON usagectl_model_prices, usagectl_model_price_removals TO usage_reader, usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_settled_seq TO usage_reader, usage_writer;
-- boundaries: registered by `maintain`
GRANT EXECUTE ON FUNCTION usagectl_register_boundaries TO usage_writer;
-- the web app's API (schema usagectl, when installed): the writer all of it, the reader
-- the reads
DO $$
BEGIN
    IF to_regprocedure('usagectl.check(text, text, bigint)') IS NOT NULL THEN
        GRANT USAGE ON SCHEMA usagectl TO usage_reader, usage_writer;
        GRANT EXECUTE ON FUNCTION usagectl.api_version, usagectl.check, usagectl.summary_json,
            usagectl.limits_json, usagectl.quota_status_json TO usage_reader, usage_writer;
        GRANT EXECUTE ON FUNCTION usagectl.record, usagectl.reserve, usagectl.settle,
            usagectl.release TO usage_writer;
    END IF;
END
$$;
