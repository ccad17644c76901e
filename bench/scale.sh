#!/usr/bin/env bash
# Benchmark (not a test): a year of a growing SaaS. EVENTS rows over 13 months for ORGS orgs
# (skewed: a few orgs hold most rows), in created_at order as a live web app writes them,
# plus a whale ("org-big") with WHALE events this month. Times, beside psql's equivalent in
# the same run (median of RUNS runs each):
#  - `migrate` adopting the table (indexes built CONCURRENTLY, the rollup backfilled) beside
#    psql's one aggregate of the whole table by org, day and type;
#  - each read command on the heap, then again after `partition adopt`;
#  - `partition adopt` while pgbench inserts (4 clients, fsync on, a progress line per
#    second): the worst second and how many were at 0 tps, and pgbench's failed inserts;
#  - `archive` of the oldest month (--force: it ended less than 366 days ago) beside psql's
#    \copy of the same rows to gzip;
#  - the fold's lag while pgbench inserts RATE events per second for LAG_SECONDS, `maintain`
#    running every 60 s as cron would: the oldest unfolded row's age, sampled every 5 s.
#   bench/scale.sh                               # 100,000,000 events (about 30 GB of disk)
#   EVENTS=20000000 WHALE=1000000 bench/scale.sh # what fits a smaller disk; the output says which
EVENTS=${EVENTS:-100000000}
ORGS=${ORGS:-10000}
WHALE=${WHALE:-5000000}
RUNS=${RUNS:-5}
RATE=${RATE:-2000}
LAG_SECONDS=${LAG_SECONDS:-300}
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
q -c "CREATE DATABASE bench_scale"
URL="host=$WORK/pg port=5432 user=postgres dbname=bench_scale"
export DATABASE_URL=$URL

row() { # label, usagectl ms, psql ms
    awk -v l="$1" -v u="$2" -v p="$3" 'BEGIN { printf "%-40s %10d %10d %9.1fx\n", l, u, p, (u > 0 ? p / u : 0) }'
}

echo "loading $EVENTS events over 13 months for $ORGS orgs (org-big: $WHALE this month)..." >&2
a=$(now_ms)
q <<SQL
$SEED_DDL
-- the other orgs, oldest first; org n's share falls with n (org-0 the busiest)
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor($ORGS * power(((g::bigint * 7919) % 1000003) / 1000003.0, 3))::int,
       $EVENT_TYPES[1 + g % 11], 1 + g % 500,
       CASE WHEN g % 11 IN (5, 6) THEN jsonb_build_object('model', 'm' || g % 3) END,
       date_trunc('month', now()) - interval '12 months'
         + (g::float8 / ($EVENTS - $WHALE)) * (now() - (date_trunc('month', now()) - interval '12 months'))
FROM generate_series(1, $EVENTS - $WHALE) g;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-big', $EVENT_TYPES[1 + g % 11], 1 + g % 500, NULL,
       date_trunc('month', now()) + (g::float8 / $WHALE) * (now() - date_trunc('month', now()))
FROM generate_series(1, $WHALE) g;
VACUUM ANALYZE usage_events;
SQL
LOAD_MS=$(($(now_ms) - a))
SIZE=$(q -At -c "SELECT pg_size_pretty(pg_total_relation_size('usage_events'))")
OLDEST=$(q -At -c "SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM') FROM usage_events")
AFTER_OLDEST=$(date -u -d "$OLDEST-01 +1 month" +%Y-%m)
MONTH=$(date -u +%Y-%m)
MID=$(q -At -c "SELECT org_id FROM usage_events WHERE org_id <> 'org-big' AND created_at >= date_trunc('month', now())
                GROUP BY 1 ORDER BY count(*) DESC OFFSET 100 LIMIT 1")

P_MIGRATE=$(RUNS=1 time_ms q -c "SELECT org_id, date_trunc('day', created_at), event_type, count(*), sum(quantity) FROM usage_events GROUP BY 1, 2, 3")
a=$(now_ms); "$BIN" migrate >/dev/null; MIGRATE_MS=$(($(now_ms) - a))
q -c "VACUUM ANALYZE" >/dev/null
"$BIN" tier assign org-big subscription >/dev/null

MTD="SELECT event_type, count(*), sum(quantity) FROM usage_events WHERE org_id = '%s' AND created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1"
SUM30="SELECT event_type, count(*), sum(quantity), min(created_at), max(created_at) FROM usage_events WHERE org_id = '%s' AND created_at >= now() - interval '30 days' GROUP BY 1"
ALL="SELECT org_id, event_type, sum(quantity) FROM usage_events WHERE created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1, 2"
AGG="\\copy (SELECT to_char(date_trunc('month', created_at), 'YYYY-MM'), org_id, event_type, count(*), sum(quantity) FROM usage_events WHERE created_at >= '$MONTH-01' AND created_at < ('$MONTH-01'::date + interval '1 month') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) to stdout with csv header"
reads() { # label: one line per command
    local lb pb lm pm sa pa su ps ea pe
    lb=$(time_ms "$BIN" limits --org org-big -o json);  pb=$(time_ms q -c "$(printf "$MTD" org-big)")
    lm=$(time_ms "$BIN" limits --org "$MID" -o json);   pm=$(time_ms q -c "$(printf "$MTD" "$MID")")
    sa=$(time_ms "$BIN" status --all -o json);          pa=$(time_ms q -c "$ALL")
    su=$(time_ms "$BIN" summary --org org-big -o json); ps=$(time_ms q -c "$(printf "$SUM30" org-big)")
    ea=$(time_ms "$BIN" export --month "$MONTH");       pe=$(time_ms q -c "$AGG")
    row "limits --org org-big ($1)" "$lb" "$pb"
    row "limits --org $MID ($1)" "$lm" "$pm"
    row "status --all ($1)" "$sa" "$pa"
    row "summary --org org-big ($1)" "$su" "$ps"
    row "export --month ($1)" "$ea" "$pe"
}
echo "timing the reads on the heap..." >&2
"$BIN" maintain --quiet
READS_HEAP=$(reads heap)

cat >"$WORK/insert.sql" <<SQL
\set org random(0, $ORGS - 1)
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-' || :org, 'chat_message', 1);
SQL
echo "partition adopt under pgbench..." >&2
"$PGBENCH" -n -c 4 -j 2 -T 3600 -P 1 -f "$WORK/insert.sql" "$URL" >"$WORK/pgbench.out" 2>"$WORK/pgbench.err" &
BENCH=$!
sleep 3
a=$(now_ms); "$BIN" partition adopt >"$WORK/adopt.out"; ADOPT_MS=$(($(now_ms) - a))
sleep 2
kill -TERM "$BENCH"; wait "$BENCH" || true
# the progress lines from the third second on (the adoption started then)
grep '^progress' "$WORK/pgbench.err" | sed -n '3,$ p' | awk '{print int($4)}' >"$WORK/adopt-progress"
FAILED=$(grep -c 'ERROR' "$WORK/pgbench.err" || true)
q -c "VACUUM ANALYZE" >/dev/null
"$BIN" maintain --quiet
echo "timing the reads on the partitioned table..." >&2
READS_PART=$(reads partitioned)

echo "archive of $OLDEST..." >&2
NEXT=$AFTER_OLDEST
P_ARCH=$(RUNS=1 time_ms q -c "\\copy (SELECT id, org_id, event_type, quantity, metadata, created_at, idempotency_key FROM usage_events WHERE created_at >= '$OLDEST-01T00:00:00Z' AND created_at < '$NEXT-01T00:00:00Z' ORDER BY created_at, id) TO PROGRAM 'gzip > $WORK/psql.csv.gz' WITH (FORMAT csv, HEADER)")
ARCH_ROWS=$(q -At -c "SELECT count(*) FROM usage_events WHERE created_at >= '$OLDEST-01T00:00:00Z' AND created_at < '$NEXT-01T00:00:00Z'")
a=$(now_ms); "$BIN" archive --before "$NEXT" --dir "$WORK/arch" --force >/dev/null; ARCH_MS=$(($(now_ms) - a))

echo "the fold's lag at $RATE events/s for $LAG_SECONDS s..." >&2
"$PGBENCH" -n -c 4 -j 2 -R "$RATE" -T "$LAG_SECONDS" -f "$WORK/insert.sql" "$URL" >"$WORK/rate.out" 2>&1 &
BENCH=$!
( while sleep 60; do "$BIN" maintain --quiet || true; done ) &
FOLDER=$!
: >"$WORK/lag"
while kill -0 "$BENCH" 2>/dev/null; do
    q -At -c "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::int FROM usage_events
               WHERE usagectl_seq > (SELECT watermark FROM usagectl_fold_state)" >>"$WORK/lag"
    sleep 5
done
kill "$FOLDER" 2>/dev/null || true
TPS=$(grep -o 'tps = [0-9.]*' "$WORK/rate.out" | head -n 1 | awk '{print int($3)}')

echo
echo "a year of events: $EVENTS rows over 13 months ($OLDEST to $MONTH), $ORGS orgs, org-big $WHALE this month; table with indexes $SIZE"
echo "machine: $(machine); load $LOAD_MS ms"
echo "migrate (adopt the table, indexes CONCURRENTLY, backfill the rollup): $MIGRATE_MS ms; psql's one aggregate of the table by org, day and type: $P_MIGRATE ms"
printf '%-40s %10s %10s %10s\n' "command (median of $RUNS)" "usagectl" "psql" "psql/usagectl"
echo "$READS_HEAP"
echo "$READS_PART"
printf 'partition adopt under pgbench (4 clients): %d ms; inserts meanwhile: median %d tps, worst second %d tps, seconds at 0 tps: %d, failed inserts: %d\n' \
    "$ADOPT_MS" "$(median <"$WORK/adopt-progress")" "$(sort -n "$WORK/adopt-progress" | head -n 1)" \
    "$(grep -c '^0$' "$WORK/adopt-progress" || true)" "$FAILED"
head -n 1 "$WORK/adopt.out"
printf 'archive of %s (%d rows): %d ms; psql \\copy of the same rows to gzip: %d ms\n' "$OLDEST" "$ARCH_ROWS" "$ARCH_MS" "$P_ARCH"
printf 'fold lag at %d events/s requested (%d/s reached) for %d s, maintain every 60 s: max %d s, median %d s\n' \
    "$RATE" "${TPS:-0}" "$LAG_SECONDS" "$(sort -n "$WORK/lag" | tail -n 1)" "$(median <"$WORK/lag")"
df -h "$WORK" | tail -n 1 | awk '{print "disk: " $4 " free of " $2 " after the run"}'
