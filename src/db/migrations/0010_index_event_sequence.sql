CREATE INDEX CONCURRENTLY IF NOT EXISTS usagectl_events_seq ON usage_events (usagectl_seq) WHERE usagectl_seq IS NOT NULL
