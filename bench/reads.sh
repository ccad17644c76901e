#!/usr/bin/env bash
# Benchmark (not a test): every usagectl command beside the psql command a DBA would run for
# the same answer over the seed's indexes, on a throwaway local PostgreSQL holding a realistic
# table: 5M events by default, 1,000 orgs with a skewed distribution, one org ("org-big")
# with 1M events in the current month, the 11 event types. Prints medians and ratios. The
# fold runs once a minute (as cron would) from migrate on. Bulk ingest's cost is measured
# by bench/single_insert.sh.
#   bench/reads.sh                       # 5,000,000 events, 5 runs per command
#   EVENTS=1000000 BIG=200000 RUNS=3 bench/reads.sh
#   ZONED=50 (default): how many orgs the billing-period section gives their own periods
#   LAYOUT=random (default): the rows in the order generated (org-big's month first, then the
#          other orgs, random times), so a day's rows are spread over the whole table
#   LAYOUT=time: the same rows written in created_at order, as a live web app's inserts lay
#          them out (the created_at index then reads a day from a few adjacent pages)
# The last section moves org-big's rows to the table's end and times `limits --org org-big`
# again: a check planned as a sequential scan over a big org's rows reaches them last.
EVENTS=${EVENTS:-5000000}
BIG=${BIG:-1000000}
RUNS=${RUNS:-5}
LAYOUT=${LAYOUT:-random}
case "$LAYOUT" in random|time) ;; *) echo "bench: LAYOUT must be random or time" >&2; exit 2;; esac
ROUNDS=${ROUNDS:-5}   # alternating rounds for bulk ingest and the concurrent records
CLIENTS=${CLIENTS:-8}
PER_CLIENT=${PER_CLIENT:-25}

source "$(dirname "$0")/lib.sh"
# the benchmark uses its own database in the cluster lib.sh started
q -c "CREATE DATABASE bench"
URL="host=$WORK/pg port=5432 user=postgres dbname=bench"
export DATABASE_URL=$URL

# median wall time in ms of RUNS runs of a command (output discarded)
row() { # label, usagectl ms, psql ms
    awk -v l="$1" -v u="$2" -v p="$3" 'BEGIN { printf "%-34s %10d %10d %9.1fx\n", l, u, p, (u > 0 ? p / u : 0) }'
}

echo "loading $EVENTS events (org-big: $BIG this month) into the seed's table..." >&2
q <<SQL
$SEED_DDL
\o /dev/null
SELECT setseed(0.42);
\o
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-big',
       $EVENT_TYPES[1 + g % 11],
       1 + g % 500, jsonb_build_object('n', g),
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $BIG) g;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor(999 * power(random(), 3))::int,
       $EVENT_TYPES[1 + g % 11],
       1 + g % 500, jsonb_build_object('n', g),
       now() - random() * interval '90 days'
FROM generate_series(1, $EVENTS - $BIG) g;
VACUUM ANALYZE usage_events;
SQL
if [ "$LAYOUT" = time ]; then
    # rewrite the table in created_at order (before usagectl adopts it: rows and ids kept)
    q -c "CREATE INDEX bench_created_at_asc ON usage_events (created_at)" \
      -c "CLUSTER usage_events USING bench_created_at_asc" -c "DROP INDEX bench_created_at_asc" \
      -c "VACUUM ANALYZE usage_events" >/dev/null
fi
MID=$(q -At -c "SELECT org_id FROM usage_events WHERE org_id <> 'org-big' AND created_at >= date_trunc('month', now())
                GROUP BY 1 ORDER BY count(*) DESC OFFSET 20 LIMIT 1")
MID_N=$(q -At -c "SELECT count(*) FROM usage_events WHERE org_id = '$MID' AND created_at >= date_trunc('month', now())")

a=$(now_ms); "$BIN" migrate >/dev/null; MIGRATE_MS=$(($(now_ms) - a))
q -c "VACUUM ANALYZE" >/dev/null   # as autovacuum would after a load; keeps it from running during the timings
"$BIN" tier assign org-big subscription >/dev/null
MONTH=$(date -u +%Y-%m)
# the fold once a minute, as cron runs it, for the rest of the run (new rows stay exact
# meanwhile, read raw above the watermark until folded)
( while sleep 60; do "$BIN" maintain --quiet || true; done ) &
FOLDER=$!
trap 'kill $FOLDER 2>/dev/null || true; cleanup' EXIT

MTD="SELECT event_type, count(*), sum(quantity) FROM usage_events WHERE org_id = '%s' AND created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1"
SUM30="SELECT event_type, count(*), sum(quantity), min(created_at), max(created_at) FROM usage_events WHERE org_id = '%s' AND created_at >= now() - interval '30 days' GROUP BY 1"
ALL="SELECT org_id, event_type, sum(quantity) FROM usage_events WHERE created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1, 2"
AGG="\\copy (SELECT to_char(date_trunc('month', created_at), 'YYYY-MM'), org_id, event_type, count(*), sum(quantity) FROM usage_events WHERE created_at >= '$MONTH-01' AND created_at < ('$MONTH-01'::date + interval '1 month') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) to stdout with csv header"
RAW="\\copy (SELECT id, org_id, event_type, quantity, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), metadata::text FROM usage_events WHERE created_at >= '$MONTH-01' AND created_at < ('$MONTH-01'::date + interval '1 month') ORDER BY created_at, id) to stdout with csv header"

echo "timing (median of $RUNS runs each)..." >&2
L_BIG=$(time_ms "$BIN" limits --org org-big -o json);   P_BIG=$(time_ms q -c "$(printf "$MTD" org-big)")
L_MID=$(time_ms "$BIN" limits --org "$MID" -o json);    P_MID=$(time_ms q -c "$(printf "$MTD" "$MID")")
S_BIG=$(time_ms "$BIN" status --org org-big -o json)
S_MID=$(time_ms "$BIN" status --org "$MID" -o json)
S_ALL=$(time_ms "$BIN" status --all -o json);           P_ALL=$(time_ms q -c "$ALL")
SU=$(time_ms "$BIN" summary --org org-big -o json);     P_SU=$(time_ms q -c "$(printf "$SUM30" org-big)")
E_AGG=$(time_ms "$BIN" export --month "$MONTH");        P_AGG=$(time_ms q -c "$AGG")
E_RAW=$(time_ms "$BIN" export --month "$MONTH" --raw);  P_RAW=$(time_ms q -c "$RAW")

# 8 clients recording on one org, with and without --enforce. org-big's tier is unlimited,
# which --enforce has nothing to check for, so it gets a chat limit the timed runs stay
# under: every enforced record takes the org's lock and reads its usage.
concurrent() { # extra args...
    local a pids=(); a=$(now_ms)
    for c in $(seq "$CLIENTS"); do
        ( for i in $(seq "$PER_CLIENT"); do "$BIN" record --org org-big --event chat_message "$@" >/dev/null 2>&1; done ) &
        pids+=($!)
    done
    wait "${pids[@]}" || true   # these clients (refusals expected), not the fold's loop
    echo $(($(now_ms) - a))
}
chat() { q -At -c "SELECT coalesce(sum(quantity), 0) FROM usage_events WHERE org_id = 'org-big' AND event_type = 'chat_message' AND created_at >= date_trunc('month', now())"; }
N=$((CLIENTS * PER_CLIENT))
"$BIN" tier override org-big chat_messages $(($(chat) + 10 * ROUNDS * N)) >/dev/null
before=$(q -At -c "SELECT count(*) FROM usage_events WHERE org_id = 'org-big'")
P=(); E=()
for _ in $(seq "$ROUNDS"); do P+=($(concurrent)); E+=($(concurrent --enforce)); done
C_PLAIN=$(median "${P[@]}")
C_ENF=$(median "${E[@]}")
after=$(q -At -c "SELECT count(*) FROM usage_events WHERE org_id = 'org-big'")
# overshoot: the same 8 clients with room for half their events
LIMIT=$(($(chat) + N / 2))
"$BIN" tier override org-big chat_messages "$LIMIT" >/dev/null
concurrent --enforce >/dev/null
FINAL=$(chat)
DRIFT=$("$BIN" doctor -o json | grep -c '"status": "problem"' || true)
echo
echo "usagectl vs psql, $EVENTS events, org-big $BIG this month, mid-size org $MID ($MID_N this month), layout $LAYOUT"
echo "machine: $(machine)"
echo "migrate (adopt the table, build the idempotency index, backfill the rollup): $MIGRATE_MS ms"
printf '%-34s %10s %10s %10s\n' "command" "usagectl" "psql" "psql/usagectl"
printf '%-34s %10s %10s\n' "" "ms" "ms"
row "limits --org org-big" "$L_BIG" "$P_BIG"
row "limits --org $MID" "$L_MID" "$P_MID"
row "status --org org-big" "$S_BIG" "$P_BIG"
row "status --org $MID" "$S_MID" "$P_MID"
row "status --all" "$S_ALL" "$P_ALL"
row "summary --org org-big (30 days)" "$SU" "$P_SU"
row "export --month (totals)" "$E_AGG" "$P_AGG"
row "export --month --raw" "$E_RAW" "$P_RAW"
echo
awk -v n="$N" -v p="$C_PLAIN" -v e="$C_ENF" -v c="$CLIENTS" -v r="$ROUNDS" 'BEGIN { printf "%d clients x record on one org (median of %d each): plain %.0f/s, --enforce %.0f/s: %.0f%% of plain\n", c, r, n * 1000 / p, n * 1000 / e, 100 * p / e }'
echo "events recorded by the timed runs: $((after - before)) of $((2 * ROUNDS * N))"
echo "overshoot check: $N enforced records with room for $((N / 2)): chat messages this month $FINAL, limit $LIMIT; doctor problems afterwards: $DRIFT"
echo "runs (ms): plain ${P[*]} | enforce ${E[*]}"
echo "fold: $("$BIN" maintain | tail -n 1)"

# Billing periods (issue 14): limits and status --all with org-big, the mid-size org and
# ZONED-2 more orgs in their own periods (anchor day 15 in Asia/Kathmandu, +05:45: both
# bounds inside UTC days, so the partial days at each end are read raw) against the UTC
# calendar case, in alternating rounds, medians. The settings are written as `org set`
# writes them for orgs without events (in force for all periods).
ZONED=${ZONED:-50}
ZONED_ORGS=$(q -At -c "SELECT string_agg(quote_literal(org_id), ',') FROM (
    SELECT org_id FROM usage_events WHERE created_at >= date_trunc('month', now())
    GROUP BY 1 ORDER BY count(*) DESC LIMIT $ZONED) o")
# `maintain` (cron, every minute) then registers their period boundaries in the boundary
# rollup (migration 21), as `org set` does at once; BOUNDARIES=0 leaves them unregistered,
# so the partial days are read raw (the figures before migration 21)
BOUNDARIES=${BOUNDARIES:-1}
zoned() { q -c "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
                SELECT o, '-infinity', 15, 'Asia/Kathmandu' FROM unnest(ARRAY[$ZONED_ORGS]) o" >/dev/null
          if [ "$BOUNDARIES" = 1 ]; then "$BIN" maintain --quiet; fi; }
calendar() { q -c "DELETE FROM usagectl_org_settings" -c "DELETE FROM usagectl_boundaries" >/dev/null; }
LU=(); LZ=(); SU_=(); SZ=()
for _ in $(seq "$ROUNDS"); do
    calendar
    LU+=($(time_ms "$BIN" limits --org org-big -o json)); SU_+=($(time_ms "$BIN" status --all -o json))
    zoned
    LZ+=($(time_ms "$BIN" limits --org org-big -o json)); SZ+=($(time_ms "$BIN" status --all -o json))
done
calendar
echo
echo "billing periods: $ZONED orgs (org-big among them) with anchor 15 in Asia/Kathmandu vs all on UTC months ($ROUNDS alternating rounds, medians of $RUNS runs each; boundaries registered: $BOUNDARIES)"
awk -v u="$(median "${LU[@]}")" -v z="$(median "${LZ[@]}")" 'BEGIN { printf "limits --org org-big: UTC %d ms, own period %d ms: %.2fx\n", u, z, z / u }'
awk -v u="$(median "${SU_[@]}")" -v z="$(median "${SZ[@]}")" 'BEGIN { printf "status --all: UTC %d ms, own periods %d ms: %.2fx\n", u, z, z / u }'
echo "runs (ms): limits UTC ${LU[*]} | own ${LZ[*]}; status --all UTC ${SU_[*]} | own ${SZ[*]}"

# Where org-big's rows sit (issue 26): `limits --org org-big` and psql's aggregate with its
# rows where the load put them (first, with LAYOUT=random) and then moved to the table's
# end (an UPDATE writes new row versions there; VACUUM frees the old ones), so whatever
# asks "is this org known" with a scan of its rows has to read the whole table first.
whale_page() { q -At -c "SELECT round(100.0 * min((ctid::text::point)[0]) / greatest(pg_relation_size('usage_events') / current_setting('block_size')::int, 1))
                         FROM usage_events WHERE org_id = 'org-big'"; }
W_AT=$(whale_page)
W_L1=$(time_ms "$BIN" limits --org org-big -o json); W_P1=$(time_ms q -c "$(printf "$MTD" org-big)")
q -c "UPDATE usage_events SET quantity = quantity WHERE org_id = 'org-big'" -c "VACUUM ANALYZE usage_events" >/dev/null
W_AT2=$(whale_page)
W_L2=$(time_ms "$BIN" limits --org org-big -o json); W_P2=$(time_ms q -c "$(printf "$MTD" org-big)")
echo
echo "org-big's rows placed first and last (median of $RUNS runs each)"
printf '%-34s %10s %10s %10s\n' "command" "usagectl" "psql" "psql/usagectl"
row "limits, rows from ${W_AT}% of the table" "$W_L1" "$W_P1"
row "limits, rows from ${W_AT2}% of the table" "$W_L2" "$W_P2"
