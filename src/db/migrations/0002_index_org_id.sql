CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_events_org_id ON usage_events (org_id)
