-- The idempotency keys, one row per (org, key), apart from usage_events: the one arbiter of
-- a retry, whatever the table's layout. A unique index on usage_events cannot hold the
-- keys of a table partitioned by month (it would have to include created_at), nor of a
-- table distributed across nodes; this table can. Every keyed insert of usagectl claims
-- its key here first (usagectl_insert_events, docs/design.md); the correction triggers
-- remove a key with its event.
CREATE TABLE IF NOT EXISTS usagectl_event_keys (
    org_id text NOT NULL,
    idempotency_key text NOT NULL,
    event_id uuid NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, idempotency_key)
);
-- the keys stored so far (the unique index on usage_events guarantees one row per key)
INSERT INTO usagectl_event_keys (org_id, idempotency_key, event_id)
SELECT e.org_id, e.idempotency_key, e.id FROM usage_events e WHERE e.idempotency_key IS NOT NULL
ON CONFLICT DO NOTHING;
