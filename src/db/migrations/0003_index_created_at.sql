CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_events_created_at ON usage_events (created_at DESC)
