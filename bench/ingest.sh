#!/usr/bin/env bash
# Benchmark (not a test): `usagectl record --file` (validating, deduplicating by
# idempotency key, all or nothing) beside psql's `\copy usage_events(...) from FILE with csv
# header` of the same rows into the same empty table, on a throwaway local PostgreSQL.
#   bench/ingest.sh              # 1,000,000 rows, 3 runs each
#   ROWS=200000 RUNS=5 bench/ingest.sh
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
source "$(dirname "$0")/lib.sh"
FILE=$WORK/events.csv
echo "writing $ROWS rows to $FILE..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$URL" -c "\\copy (
  SELECT 'org-' || (g % 1000) AS org_id,
         $EVENT_TYPES[1 + g % 11] AS event_type,
         1 + g % 2000 AS quantity,
         jsonb_build_object('model', 'claude-3-5-sonnet-20241022', 'message_id', 'm-' || g, 'note', 'a, \"quoted\" note')::text AS metadata,
         to_char((timestamptz '2025-11-01T00:00:00Z' + (g::float8 / $ROWS) * interval '29 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at,
         'key-' || g AS idempotency_key
  FROM generate_series(1, $ROWS) g) to '$FILE' with csv header"

COLS="org_id, event_type, quantity, metadata, created_at, idempotency_key"
fresh() { psql -X -q "$URL" -c "TRUNCATE usage_events" -c "CHECKPOINT" >/dev/null; }
run() { # name, command...
    local name=$1; shift
    for _ in $(seq "$RUNS"); do
        fresh
        /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null
        cat "$WORK/t"
        psql -X -At "$URL" -c "SELECT count(*) FROM usage_events" >"$WORK/$name.count"
    done
}
run usagectl "$BIN" record --file "$FILE" >"$WORK/u.txt"
run psql psql -X -q -v ON_ERROR_STOP=1 "$URL" -c "\\copy usage_events($COLS) from '$FILE' with csv header" >"$WORK/p.txt"
# the same file again: usagectl skips every row (psql's \copy would fail on the unique key)
/usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" record --file "$FILE" >/dev/null
again=$(cut -d' ' -f1 "$WORK/t")

u_t=$(cut -d' ' -f1 "$WORK/u.txt" | median); u_m=$(cut -d' ' -f2 "$WORK/u.txt" | sort -n | tail -1)
p_t=$(cut -d' ' -f1 "$WORK/p.txt" | median); p_m=$(cut -d' ' -f2 "$WORK/p.txt" | sort -n | tail -1)
echo
echo "bulk ingest of $ROWS CSV rows into an empty usage_events, median of $RUNS runs ($(machine))"
printf '%-52s %8s %12s %10s\n' "command" "seconds" "peak RSS MB" "rows"
printf '%-52s %8s %12s %10s\n' "usagectl record --file events.csv" "$u_t" "$((u_m / 1024))" "$(cat "$WORK/usagectl.count")"
printf '%-52s %8s %12s %10s\n' "psql \\copy usage_events(...) from events.csv csv" "$p_t" "$((p_m / 1024))" "$(cat "$WORK/psql.count")"
printf '%-52s %8s\n' "usagectl record --file events.csv, again (all dups)" "$again"
awk -v u="$u_t" -v p="$p_t" 'BEGIN { printf "ratio usagectl / psql: %.2fx\n", u / p }'
