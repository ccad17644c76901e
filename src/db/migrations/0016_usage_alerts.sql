-- Usage alerts: rules, the state of each (rule, org, metric, threshold) in its period, and
-- an outbox of decisions to deliver as signed webhooks.
--
-- A rule's webhook URL (Slack's carry a token) and its signing secret are readable only by
-- the tables' owner: migrate grants the usagectl roles the other columns, never these two.
CREATE TABLE IF NOT EXISTS usagectl_alert_rules (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    webhook_url text NOT NULL,
    webhook_shown text NOT NULL,
    secret text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
    thresholds integer[] NOT NULL CHECK (cardinality(thresholds) > 0 AND 0 < ALL (thresholds)
                                         AND 1000 >= ALL (thresholds)),
    metrics text[] CHECK (metrics <@ ARRAY['csv_uploads', 'csv_rows', 'analyses', 'chat_messages',
                                           'ai_tokens', 'mapping_profiles']),
    org_id text,
    tier text,
    allow_insecure_http boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT current_user,
    CHECK (org_id IS NULL OR tier IS NULL)
);

-- Whether (rule, org, metric, threshold) is crossed in the period that starts at
-- period_start; a row from an earlier period counts as not crossed (a new period resets
-- silently).
CREATE TABLE IF NOT EXISTS usagectl_alert_states (
    rule text NOT NULL REFERENCES usagectl_alert_rules (name) ON DELETE CASCADE,
    org_id text NOT NULL,
    metric text NOT NULL,
    threshold_pct integer NOT NULL,
    period_start timestamptz NOT NULL,
    crossed boolean NOT NULL,
    current bigint NOT NULL,
    "limit" bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule, org_id, metric, threshold_pct)
);

-- Decisions, written in the transaction that changes the state; id is the webhook-id,
-- the same on every attempt. claimed_until: a run is delivering it (FOR UPDATE SKIP
-- LOCKED claims, so two runs never deliver the same row at once).
CREATE TABLE IF NOT EXISTS usagectl_alert_outbox (
    id text PRIMARY KEY,
    rule text NOT NULL REFERENCES usagectl_alert_rules (name) ON DELETE CASCADE,
    org_id text NOT NULL,
    type text NOT NULL CHECK (type IN ('usage.threshold_crossed', 'usage.threshold_resolved')),
    payload jsonb NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    last_status integer,
    last_error text,
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS usagectl_alert_outbox_due ON usagectl_alert_outbox (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS usagectl_alert_outbox_org ON usagectl_alert_outbox (org_id, decided_at);

-- Every delivery attempt: its HTTP status or the error (never the URL or the secret).
CREATE TABLE IF NOT EXISTS usagectl_alert_attempts (
    outbox_id text NOT NULL REFERENCES usagectl_alert_outbox (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    http_status integer,
    error text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);

-- One row: `alert run` decides under its lock, so two runs at once never decide the same
-- crossing twice (the later one reads the earlier one's states).
CREATE TABLE IF NOT EXISTS usagectl_alert_evaluation (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_run_at timestamptz
);
INSERT INTO usagectl_alert_evaluation (id) VALUES (true) ON CONFLICT DO NOTHING;
