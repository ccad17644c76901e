-- Stripe metered billing: which Stripe customer each org is, which Stripe meter (event
-- name) each usage source feeds, and a ledger of every meter event sent or to send.
--
-- The ledger is the exactly-once mechanism: per org, source and UTC day, the revisions'
-- values add up to what was (or is being) sent; a push sends usage minus that sum as the
-- next revision, written as pending before the request and marked sent after Stripe's 2xx.
-- A revision's identifier (also the request's Idempotency-Key) is derived from org,
-- source, day and revision, so a retry of a pending revision is the same event to Stripe.
CREATE TABLE IF NOT EXISTS usagectl_stripe_customers (
    org_id text PRIMARY KEY,
    customer_id text NOT NULL CHECK (customer_id ~ '^cus_[A-Za-z0-9]+$'),
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT current_user
);

-- source: one of the six metrics or an event type; event_types: what it sums (quantity).
-- Days before from_day are never pushed.
CREATE TABLE IF NOT EXISTS usagectl_stripe_meters (
    source text PRIMARY KEY CHECK (source ~ '^[a-z0-9_]{1,64}$'),
    event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
    event_name text NOT NULL UNIQUE CHECK (length(event_name) BETWEEN 1 AND 100),
    meter_id text CHECK (meter_id ~ '^mtr_[A-Za-z0-9_]+$'),
    from_day date NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    added_by text NOT NULL DEFAULT current_user
);

-- One row per (org, source) ever pushed: the row a push locks (FOR UPDATE SKIP LOCKED) to
-- decide that stream's next revisions, so two pushes never decide the same revision.
CREATE TABLE IF NOT EXISTS usagectl_stripe_streams (
    livemode boolean NOT NULL,
    org_id text NOT NULL,
    source text NOT NULL,
    PRIMARY KEY (livemode, org_id, source)
);

-- status: pending (decided, not yet acknowledged by Stripe), sent (2xx), manual_credit (a
-- change to a day older than Stripe accepts: not sent, for finance to credit by hand).
-- claimed_*: the push sending it now (its backend, and a lease for when that cannot be
-- told, behind a pooler); a claim whose backend has gone is free.
CREATE TABLE IF NOT EXISTS usagectl_stripe_ledger (
    livemode boolean NOT NULL,
    org_id text NOT NULL,
    source text NOT NULL,
    day date NOT NULL,
    revision integer NOT NULL CHECK (revision > 0),
    identifier text NOT NULL CHECK (length(identifier) <= 100),
    customer_id text NOT NULL,
    event_name text NOT NULL,
    value bigint NOT NULL CHECK (value <> 0),
    usage_after bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'sent', 'manual_credit')),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    claimed_until timestamptz,
    claimed_pid integer,
    claimed_backend_start timestamptz,
    PRIMARY KEY (livemode, org_id, source, day, revision),
    UNIQUE (livemode, identifier)
);
CREATE INDEX IF NOT EXISTS usagectl_stripe_ledger_pending ON usagectl_stripe_ledger (org_id, source)
    WHERE status = 'pending';
