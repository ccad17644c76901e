CREATE INDEX CONCURRENTLY IF NOT EXISTS usagectl_events_org_time ON usage_events (org_id, created_at)
