-- Statistics for usagectl_seq, which migration 9 added and no ANALYZE has seen yet on an
-- adopted table (autovacuum waits for a tenth of the table to change). Without them the
-- planner guesses that a third of the table lies above the fold's watermark and, for a
-- busy org, ANDs in a bitmap of all the org's rows on every read (8 ms for an org with
-- 200,000 events, measured); with them it reads the few rows above the watermark from
-- usagectl_events_seq. Column statistics only: a sample, under a lock that inserts do not
-- wait for.
ANALYZE usage_events (usagectl_seq);
