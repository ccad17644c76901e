#!/usr/bin/env bash
# Benchmark (not a test): what `usagectl archive` of one month costs, beside psql's export
# of the same rows to a gzip'd CSV, and what the web app's inserts see meanwhile.
#  - EVENTS rows in one month more than a year back (MONTH), 50 orgs x 11 types, folded;
#  - ROUNDS alternating rounds of: psql `\copy (the month, ordered) TO PROGRAM 'gzip'`, then
#    `usagectl archive` of the month (write, read back and compare, remove in batches),
#    timed, while pgbench inserts into this month (4 clients, fsync on) with a progress
#    line per second; then `archive --restore` (timed) puts the month back for the next
#    round. Medians, and the pgbench seconds during the archives: the worst one and how
#    many were at 0 tps.
#   bench/archive.sh                        # EVENTS=1000000 ROUNDS=3
#   EVENTS=200000 ROUNDS=1 bench/archive.sh
EVENTS=${EVENTS:-1000000}
ROUNDS=${ROUNDS:-3}
MONTH=${MONTH:-2025-06}
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
DB="host=$WORK/pg port=5432 user=postgres dbname=bench_archive"
NEXT=$(date -u -d "$MONTH-01 +1 month" +%Y-%m)

q -c "CREATE DATABASE bench_archive"
psql -X -q -v ON_ERROR_STOP=1 "$DB" -c "$SEED_DDL"
echo "loading $EVENTS events into $MONTH..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$DB" <<SQL
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || (g % 50), $EVENT_TYPES[1 + g % 11], 1 + g % 50,
       CASE WHEN g % 3 = 0 THEN jsonb_build_object('model', 'm' || g % 4) END,
       '$MONTH-01T00:00:00Z'::timestamptz + (g::float8 / $EVENTS) * interval '29 days'
FROM generate_series(1, $EVENTS) g;
SQL
DATABASE_URL=$DB "$BIN" migrate >/dev/null
DATABASE_URL=$DB "$BIN" maintain --quiet
psql -X -q "$DB" -c "VACUUM ANALYZE"
cat >"$WORK/insert.sql" <<'SQL'
\set org random(1, 50)
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-' || :org, 'chat_message', 1);
SQL

ms() { local t0; t0=$(now_ms); "$@" >/dev/null; echo $(( $(now_ms) - t0 )); }
declare -a PSQL ARCH REST
: >"$WORK/progress"
for r in $(seq "$ROUNDS"); do
    PSQL+=("$(ms psql -X -q "$DB" -c "\\copy (SELECT id, org_id, event_type, quantity, metadata, created_at, idempotency_key FROM usage_events WHERE created_at >= '$MONTH-01T00:00:00Z' AND created_at < '$NEXT-01T00:00:00Z' ORDER BY created_at, id) TO PROGRAM 'gzip > $WORK/psql.csv.gz' WITH (FORMAT csv, HEADER)")")
    "$PGBENCH" -n -c 4 -j 2 -T 600 -P 1 -f "$WORK/insert.sql" "$DB" >/dev/null 2>"$WORK/pgbench.err" &
    BENCH=$!
    sleep 2
    ARCH+=("$(ms env DATABASE_URL="$DB" "$BIN" archive --before "$NEXT" --dir "$WORK/arch")")
    kill -TERM "$BENCH"; wait "$BENCH" || true
    # the seconds after the first two, while the archive ran
    grep '^progress' "$WORK/pgbench.err" | sed -n "3,$ p" | awk '{print int($4)}' >>"$WORK/progress"
    left=$(psql -X -At "$DB" -c "SELECT count(*) FROM usage_events WHERE created_at >= '$MONTH-01T00:00:00Z' AND created_at < '$NEXT-01T00:00:00Z'")
    [ "$left" = 0 ] || { echo "bench: $left rows of $MONTH left after the archive" >&2; exit 1; }
    REST+=("$(ms env DATABASE_URL="$DB" "$BIN" archive --restore "$MONTH" --file "$WORK/arch/usage_events-$MONTH.csv.gz")")
    DATABASE_URL=$DB "$BIN" maintain --quiet
done

echo
echo "archive of one month of $EVENTS events while pgbench inserts (4 clients, fsync on), $ROUNDS rounds"
echo "machine: $(machine)"
p=$(median "${PSQL[@]}"); a=$(median "${ARCH[@]}"); rs=$(median "${REST[@]}")
printf 'psql \\copy of the month to gzip:             %6d ms\n' "$p"
printf 'usagectl archive (write, verify, remove):    %6d ms   %.2fx psql'"'"'s export\n' "$a" "$(awk -v a="$a" -v b="$p" 'BEGIN { print a / b }')"
printf 'usagectl archive --restore:                  %6d ms\n' "$rs"
printf 'inserts during the archives: median %d tps, worst second %d tps, seconds at 0 tps: %d\n' \
    "$(median <"$WORK/progress")" "$(sort -n "$WORK/progress" | head -n 1)" "$(grep -c '^0$' "$WORK/progress" || true)"
echo "runs (ms): psql ${PSQL[*]} | archive ${ARCH[*]} | restore ${REST[*]}"
ls -l "$WORK/arch" "$WORK/psql.csv.gz" | awk 'NF > 5 {print "  " $5, $NF}'
