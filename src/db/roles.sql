DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usage_events' AND policyname = 'Users can view own org usage events') THEN
        CREATE POLICY "Users can view own org usage events" ON usage_events
            FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usage_events' AND policyname = 'usagectl writers insert') THEN
        CREATE POLICY "usagectl writers insert" ON usage_events FOR INSERT TO usage_writer WITH CHECK (true);
    END IF;
    -- ENABLE takes an exclusive lock the web app's inserts queue behind: only when needed
    IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = 'usage_events'::regclass) THEN
        ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
    END IF;
END
$$;
