CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS usage_events_org_id_idempotency_key_key ON usage_events (org_id, idempotency_key)
