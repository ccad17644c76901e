CREATE TABLE IF NOT EXISTS usagectl_tiers (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS usagectl_tier_limits (
    tier text NOT NULL REFERENCES usagectl_tiers (name),
    metric text NOT NULL CHECK (metric IN ('csv_uploads', 'csv_rows', 'analyses', 'chat_messages', 'ai_tokens', 'mapping_profiles')),
    limit_value bigint NOT NULL CHECK (limit_value >= -1),
    PRIMARY KEY (tier, metric)
);
CREATE TABLE IF NOT EXISTS usagectl_org_tiers (
    org_id text PRIMARY KEY,
    tier text NOT NULL REFERENCES usagectl_tiers (name),
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS usagectl_org_limit_overrides (
    org_id text NOT NULL,
    metric text NOT NULL CHECK (metric IN ('csv_uploads', 'csv_rows', 'analyses', 'chat_messages', 'ai_tokens', 'mapping_profiles')),
    limit_value bigint NOT NULL CHECK (limit_value >= -1),
    set_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, metric)
);
CREATE TABLE IF NOT EXISTS usagectl_org_locks (
    org_id text PRIMARY KEY
);
INSERT INTO usagectl_tiers (name) VALUES ('trial'), ('pilot'), ('subscription') ON CONFLICT DO NOTHING;
INSERT INTO usagectl_tier_limits (tier, metric, limit_value) VALUES
    ('trial', 'csv_uploads', 5), ('trial', 'csv_rows', 1000), ('trial', 'analyses', 10),
    ('trial', 'chat_messages', 50), ('trial', 'ai_tokens', 100000), ('trial', 'mapping_profiles', 3),
    ('pilot', 'csv_uploads', 50), ('pilot', 'csv_rows', 50000), ('pilot', 'analyses', 100),
    ('pilot', 'chat_messages', 500), ('pilot', 'ai_tokens', 1000000), ('pilot', 'mapping_profiles', 20),
    ('subscription', 'csv_uploads', -1), ('subscription', 'csv_rows', -1), ('subscription', 'analyses', -1),
    ('subscription', 'chat_messages', -1), ('subscription', 'ai_tokens', -1), ('subscription', 'mapping_profiles', -1)
ON CONFLICT DO NOTHING
