ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS idempotency_key TEXT
