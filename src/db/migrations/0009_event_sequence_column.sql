CREATE SEQUENCE IF NOT EXISTS usagectl_event_seq AS bigint CACHE 1;
-- the web app's inserts take their number from the column's default: whatever role they run as
GRANT USAGE ON SEQUENCE usagectl_event_seq TO PUBLIC;
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS usagectl_seq bigint;
ALTER SEQUENCE usagectl_event_seq OWNED BY usage_events.usagectl_seq
