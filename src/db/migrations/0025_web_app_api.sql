-- The web app's API: reservations, and the schema its functions live in.
-- A reservation holds part of an org's limit for work whose size is known only afterwards
-- (an AI call): it counts toward the limit until it is settled, released or expires.
CREATE TABLE IF NOT EXISTS usagectl_reservations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id text NOT NULL,
    metric text NOT NULL,
    quantity bigint NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    ended_as text CHECK (ended_as IN ('settled', 'released')),
    -- what settle recorded: the result a retried settle returns
    settled jsonb,
    CHECK ((ended_at IS NULL) = (ended_as IS NULL))
);
CREATE INDEX IF NOT EXISTS usagectl_reservations_live ON usagectl_reservations (org_id, metric)
    WHERE ended_at IS NULL;
-- the API's schema, where this role may create one; otherwise a DBA creates it for the
-- owner of usage_events (CREATE SCHEMA usagectl AUTHORIZATION owner) and migrate installs
-- the API into it
DO $$
BEGIN
    IF to_regnamespace('usagectl') IS NULL AND has_database_privilege(current_database(), 'CREATE') THEN
        CREATE SCHEMA usagectl;
    END IF;
END
$$;
