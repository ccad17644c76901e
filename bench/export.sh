#!/usr/bin/env bash
# Benchmark (not a test): `usagectl export --raw` beside psql's `\copy ... to stdout with csv`
# of the same rows, on a throwaway local PostgreSQL. Prints medians of alternating rounds,
# the ratio and peak memory.
#   bench/export.sh              # 1,000,000 events, 3 runs each
#   ROWS=200000 RUNS=5 bench/export.sh
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
source "$(dirname "$0")/lib.sh"
echo "loading $ROWS events into one month..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$URL" <<SQL
TRUNCATE usage_events;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || (g % 1000),
       $EVENT_TYPES[1 + g % 11],
       1 + g % 2000,
       jsonb_build_object('model', 'claude-3-5-sonnet-20241022', 'message_id', 'm-' || g, 'has_context', g % 2 = 0),
       '2025-11-01T00:00:00Z'::timestamptz + (g::float8 / $ROWS) * interval '30 days'
FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE usage_events;
SQL

PSQL_SQL="\\copy (SELECT id, org_id, event_type, quantity, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), metadata::text FROM usage_events WHERE created_at >= '2025-11-01T00:00:00Z' AND created_at < '2025-12-01T00:00:00Z' ORDER BY created_at, id) to stdout with csv header"

once() { # name, command...: appends "seconds max_rss_kb" of one run to $WORK/name.txt
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >"$WORK/$name.out"
    cat "$WORK/t" >>"$WORK/$name.txt"
}

# alternating rounds: usagectl first in odd rounds, psql first in even ones
: >"$WORK/u.txt"; : >"$WORK/p.txt"
for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then
        once u "$BIN" export --month 2025-11 --raw; once p psql -X -q "$URL" -c "$PSQL_SQL"
    else
        once p psql -X -q "$URL" -c "$PSQL_SQL"; once u "$BIN" export --month 2025-11 --raw
    fi
done
mv "$WORK/u.out" "$WORK/usagectl.out"; mv "$WORK/p.out" "$WORK/psql.out"

u_rows=$(($(wc -l <"$WORK/usagectl.out")))
p_rows=$(($(wc -l <"$WORK/psql.out")))
u_t=$(cut -d' ' -f1 "$WORK/u.txt" | median); u_m=$(cut -d' ' -f2 "$WORK/u.txt" | sort -n | tail -1)
p_t=$(cut -d' ' -f1 "$WORK/p.txt" | median); p_m=$(cut -d' ' -f2 "$WORK/p.txt" | sort -n | tail -1)
echo
echo "raw export of $ROWS events, median of $RUNS runs ($(machine))"
printf '%-44s %8s %12s %10s\n' "command" "seconds" "peak RSS MB" "lines"
printf '%-44s %8s %12s %10s\n' "usagectl export --month 2025-11 --raw" "$u_t" "$((u_m / 1024))" "$u_rows"
printf '%-44s %8s %12s %10s\n' "psql \\copy (...) to stdout with csv header" "$p_t" "$((p_m / 1024))" "$p_rows"
awk -v u="$u_t" -v p="$p_t" 'BEGIN { printf "ratio usagectl / psql: %.2fx\n", u / p }'
