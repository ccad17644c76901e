-- Archived months: a month's raw rows written to a verified file and removed from
-- usage_events, the rollup keeping its figures (usagectl archive; docs/operations.md).
-- state: writing (the file is being written and checked; every row is still in the
-- table), deleting (the file is verified; rows identical to it are being removed in
-- batches), archived (done), restored (`archive --restore` put the rows back).
CREATE TABLE IF NOT EXISTS usagectl_archives (
    month date PRIMARY KEY CHECK (month = date_trunc('month', month)::date),
    state text NOT NULL CHECK (state IN ('writing', 'deleting', 'archived', 'restored')),
    file text NOT NULL,
    sha256 text,
    events bigint,
    quantity bigint,
    columns text[],
    -- the file's records the batches have processed (state deleting): a rerun goes on
    -- from there, and a restore puts back only what they removed
    records_done bigint NOT NULL DEFAULT 0,
    started_by text NOT NULL DEFAULT current_user,
    started_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz,
    restored_by text,
    restored_at timestamptz
);
-- what each archived month's removed rows held, per org and event type: with the rows
-- still in the table, what the rollup counts for the month (doctor compares)
CREATE TABLE IF NOT EXISTS usagectl_archive_totals (
    month date NOT NULL REFERENCES usagectl_archives (month),
    org_id text NOT NULL,
    event_type text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    PRIMARY KEY (month, org_id, event_type)
);
-- the ids of the file's rows the batches did not remove (changed after the file was
-- written, or deleted by the app first): a restore leaves them out
CREATE TABLE IF NOT EXISTS usagectl_archive_kept (
    month date NOT NULL REFERENCES usagectl_archives (month),
    id text NOT NULL,
    PRIMARY KEY (month, id)
);
