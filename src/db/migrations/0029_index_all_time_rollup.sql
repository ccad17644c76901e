CREATE INDEX CONCURRENTLY IF NOT EXISTS usagectl_rollup_all_time ON usagectl_rollup (org_id) INCLUDE (event_type, bucket, quantity) WHERE event_type = 'mapping_profile_created'
