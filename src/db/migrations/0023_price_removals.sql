-- Prices removed by `usagectl price remove` (one set by mistake): the removed row moves
-- here whole, with who removed it, when and why, so the history of what costs were
-- computed with is kept while every cost read sees only usagectl_model_prices.
CREATE TABLE IF NOT EXISTS usagectl_model_price_removals (
    model text NOT NULL,
    valid_from timestamptz NOT NULL,
    input_per_mtok numeric(20, 10) NOT NULL,
    output_per_mtok numeric(20, 10) NOT NULL,
    set_at timestamptz NOT NULL,
    set_by text NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    removed_by text NOT NULL DEFAULT current_user,
    removed_by_os text,
    reason text NOT NULL CHECK (btrim(reason) <> '')
);
CREATE INDEX IF NOT EXISTS usagectl_model_price_removals_model
    ON usagectl_model_price_removals (model, valid_from);
