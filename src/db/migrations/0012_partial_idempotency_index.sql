CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS usagectl_events_org_key ON usage_events (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL
