CREATE INDEX CONCURRENTLY IF NOT EXISTS usagectl_events_seq ON usage_events USING brin (usagectl_seq) WITH (pages_per_range = 32, autosummarize = on)
