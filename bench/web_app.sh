#!/usr/bin/env bash
# Benchmark (not a test): does usagectl stall the web app? pgbench plays the web app, 4
# clients of single-row autocommit INSERTs into usage_events (fsync and synchronous_commit
# on, the demo cluster's defaults), while
#   A. `usagectl migrate` adopts a seed-shaped table of 2M rows, with a long read
#      transaction open when it starts (the classic lock-queue stall), and
#   B. `usagectl doctor --repair` rewrites 500 drifted rollup groups;
# each beside a baseline run of the same length with nothing else going on. Prints the
# worst whole second's tps and the worst single insert latency, from pgbench's
# per-transaction log.
#   bench/web_app.sh                          # 2M rows, 30 s runs, an 8 s long reader
#   ROWS=500000 SECONDS_EACH=20 bench/web_app.sh
ROWS=${ROWS:-2000000}
SECONDS_EACH=${SECONDS_EACH:-30}
READER_SECONDS=${READER_SECONDS:-8}
CLIENTS=4
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
ADMIN="host=$WORK/pg port=5432 user=postgres dbname=postgres"
URL="host=$WORK/pg port=5432 user=postgres dbname=webapp"
export DATABASE_URL=$URL

cat >"$WORK/insert.sql" <<'SQL'
\set org random(1, 200)
\set t random(1, 11)
INSERT INTO usage_events (org_id, event_type, quantity)
VALUES ('org-' || :org, (ARRAY['csv_upload','csv_row_processed','analysis_run','analyzer_execution','chat_message',
       'ai_tokens_input','ai_tokens_output','mapping_profile_created','mapping_profile_used',
       'export_pdf','export_csv'])[:t], 1);
SQL

# pgbench for $SECONDS_EACH s with a per-transaction log under $WORK/log-$1
web_app() {
    mkdir -p "$WORK/log-$1"
    (cd "$WORK/log-$1" && "$PGBENCH" -n -c $CLIENTS -j 2 -T "$SECONDS_EACH" -l -f "$WORK/insert.sql" "$URL" >/dev/null 2>&1)
}
# "worst-second-tps worst-latency-ms total-tps" from a run's log; the first and last
# (partial) seconds are left out
summarise() {
    cat "$WORK/log-$1"/pgbench_log.* | awk '
        { sec[$5]++; if ($3 > worst) worst = $3; n++ }
        END {
            first = -1; last = -1
            for (s in sec) { if (first < 0 || s < first) first = s; if (s > last) last = s }
            min = -1
            for (s = first + 1; s < last; s++) { c = (s in sec) ? sec[s] : 0; if (min < 0 || c < min) min = c }
            printf "%d %.1f %d\n", min, worst / 1000, n / (last - first + 1)
        }'
}
row() { # label run
    read -r worst lat avg < <(summarise "$2")
    printf '%-52s %10s %12s %14s\n' "$1" "$avg" "$worst" "$lat"
}

echo "loading $ROWS seed-shaped rows over the last 90 days ..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "DROP DATABASE IF EXISTS webapp" -c "CREATE DATABASE webapp"
q <<SQL
$SEED_DDL
INSERT INTO usage_events (org_id, event_type, quantity, created_at)
SELECT 'org-' || (1 + i % 200), $EVENT_TYPES[1 + i % 11], 1 + i % 7,
       now() - interval '90 days' + (i::float8 / $ROWS) * interval '90 days'
FROM generate_series(1, $ROWS) i;
VACUUM ANALYZE usage_events;
SQL

echo "A. baseline, then migrate with a ${READER_SECONDS} s reader open ..." >&2
web_app a-base
web_app a-migrate &
BENCH=$!
sleep 3
psql -X -q "$URL" -c "BEGIN" -c "SELECT count(*) FROM usage_events" -c "SELECT pg_sleep($READER_SECONDS)" -c "COMMIT" >/dev/null &
READER=$!
sleep 0.5
START=$(now_ms)
"$BIN" --lock-timeout 2m migrate >/dev/null 2>"$WORK/migrate.err"
MIGRATE_MS=$(( $(now_ms) - START ))
wait $READER
wait $BENCH
RETRIES=$(grep -c "waiting for a lock" "$WORK/migrate.err" || true)

echo "B. baseline, then doctor --repair of 500 drifted groups ..." >&2
MONTH=$(q -At -c "SELECT to_char(date_trunc('month', now()) - interval '1 day', 'YYYY-MM')")
drift() {
    q -c "UPDATE usagectl_daily_usage SET events = events + 1
          WHERE (org_id, day, event_type) IN (
              SELECT org_id, day, event_type FROM usagectl_daily_usage
              WHERE to_char(day, 'YYYY-MM') = '$MONTH' ORDER BY day, org_id, event_type LIMIT 500)" >/dev/null
}
drift
web_app b-base
web_app b-repair &
BENCH=$!
sleep 3
START=$(now_ms)
"$BIN" doctor --repair --month "$MONTH" -o json >"$WORK/repair.json" 2>"$WORK/repair.err" || true
REPAIR_MS=$(( $(now_ms) - START ))
wait $BENCH
REPAIRED=$(grep -o '[0-9]* group(s) disagreed' "$WORK/repair.json" | head -1)
"$BIN" doctor --month "$MONTH" >/dev/null && AFTER="agrees" || AFTER="STILL DRIFTS"

echo
echo "web app: $CLIENTS pgbench clients of single-row INSERTs, fsync on, $SECONDS_EACH s runs ($(machine))"
printf '%-52s %10s %12s %14s\n' "run" "tps (avg)" "worst 1 s" "worst ms"
row "A baseline" a-base
row "A migrate, 2M rows, ${READER_SECONDS} s reader open (took $((MIGRATE_MS / 1000)) s)" a-migrate
row "B baseline" b-base
row "B doctor --repair, 500 groups (took $((REPAIR_MS / 1000)) s)" b-repair
echo "migrate waited behind the reader $RETRIES time(s) (its stderr: $(head -c 300 "$WORK/migrate.err" | tr '\n' ' '))"
echo "repair: $REPAIRED; the rollup afterwards: $AFTER"
