CREATE INDEX CONCURRENTLY IF NOT EXISTS usagectl_events_org_seq ON usage_events (org_id, usagectl_seq) WHERE usagectl_seq IS NOT NULL
