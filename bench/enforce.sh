#!/usr/bin/env bash
# Benchmark (not a test): what `record --enforce` costs against plain `record`, and what it
# could cost at best on the fold's schema (issue 13). One cluster, three databases made from
# one template holding the seed's table (EVENTS events, org-big with BIG of them this month):
#   now    this build's schema and functions;
#   lean   the same, with usagectl_record() replaced by bench/enforce_lean.sql
#          (lock, rollup, unfolded rows, insert; no periods, grants or read-path functions):
#          the floor of an enforced record once the insert trigger is gone;
#   pre13  the build before issue 13 (BASELINE_REV, schema 8: the insert trigger, the
#          enforce function of migration 8), built into a worktree of its own.
# 8 clients x 25 `record` on org-big (one process and connection per record, as a cron job
# runs it), plain and --enforce, the databases in a rotating order each round; medians.
# Then the first call of each enforce function (and of a plain INSERT) in a fresh session:
# the server-side part, median of 9 sessions.
#   bench/enforce.sh                       # ROUNDS=7, EVENTS=1000000, BIG=200000
#   BASELINE_REV=none bench/enforce.sh     # now and lean only
#   BASELINE_BIN=/path/to/old/usagectl bench/enforce.sh
ROUNDS=${ROUNDS:-7}
EVENTS=${EVENTS:-1000000}
BIG=${BIG:-200000}
CLIENTS=${CLIENTS:-8}
PER_CLIENT=${PER_CLIENT:-25}
BASELINE_REV=${BASELINE_REV:-497cc2f}
source "$(dirname "$0")/lib.sh"
BASE="host=$WORK/pg port=5432 user=postgres"
ROOT=$PWD

# the baseline's worktree goes with the cluster (prune: a failed remove leaves no entry)
drop_worktree() {
    git -C "$ROOT" worktree remove --force "$WORK/baseline" 2>/dev/null || true
    git -C "$ROOT" worktree prune || true
}
OLD=${BASELINE_BIN:-}
if [ -z "$OLD" ] && [ "$BASELINE_REV" != none ]; then
    echo "building $BASELINE_REV (the pre-13 baseline) in a worktree..." >&2
    if ! err=$(git worktree add --detach "$WORK/baseline" "$BASELINE_REV" 2>&1 >/dev/null); then
        echo "bench: cannot check out $BASELINE_REV: $(tail -n 1 <<<"$err"); set BASELINE_BIN, or BASELINE_REV=none" >&2
        exit 1
    fi
    trap 'drop_worktree; cleanup' EXIT
    (cd "$WORK/baseline" && CARGO_TARGET_DIR="$WORK/baseline-target" cargo build --release --quiet)
    OLD=$WORK/baseline-target/release/usagectl
fi
VARIANTS="now lean"
[ -n "$OLD" ] && VARIANTS="now lean pre13"

echo "loading $EVENTS events into a template..." >&2
q -c "CREATE DATABASE seed_template"
psql -X -q -v ON_ERROR_STOP=1 "$BASE dbname=seed_template" <<SQL
$SEED_DDL
\o /dev/null
SELECT setseed(0.42);
\o
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-big', $EVENT_TYPES[1 + g % 11], 1 + g % 500, jsonb_build_object('n', g),
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $BIG) g;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor(999 * power(random(), 3))::int, $EVENT_TYPES[1 + g % 11], 1 + g % 500,
       jsonb_build_object('n', g), now() - random() * interval '90 days'
FROM generate_series(1, $EVENTS - $BIG) g;
VACUUM ANALYZE usage_events;
SQL
bin_of() { if [ "$1" = pre13 ]; then echo "$OLD"; else echo "$BIN"; fi; }
for v in $VARIANTS; do
    q -c "CREATE DATABASE bench_$v TEMPLATE seed_template"
    b=$(bin_of "$v")
    DATABASE_URL="$BASE dbname=bench_$v" "$b" migrate >/dev/null
    [ "$v" = lean ] && psql -X -q -v ON_ERROR_STOP=1 "$BASE dbname=bench_$v" -f bench/enforce_lean.sql
    psql -X -q "$BASE dbname=bench_$v" -c "VACUUM ANALYZE"
    DATABASE_URL="$BASE dbname=bench_$v" "$b" tier assign org-big subscription >/dev/null
    # a chat limit the timed runs stay under: every enforced record takes the lock and reads
    DATABASE_URL="$BASE dbname=bench_$v" "$b" tier override org-big chat_messages 1000000000 >/dev/null
done
# the fold once a minute where there is one, as cron runs it
( while sleep 60; do for v in now lean; do DATABASE_URL="$BASE dbname=bench_$v" "$BIN" maintain --quiet || true; done; done ) &
FOLDER=$!
trap 'kill $FOLDER 2>/dev/null || true; drop_worktree; cleanup' EXIT

# a failed record would be a fast one: each is counted, and any failure ends the run
FAILED=$WORK/failed
: >"$FAILED"
concurrent() { # variant, extra args...
    local v=$1 b a pids=(); shift; b=$(bin_of "$v"); a=$(now_ms)
    for _ in $(seq "$CLIENTS"); do
        ( for _ in $(seq "$PER_CLIENT"); do
              DATABASE_URL="$BASE dbname=bench_$v" "$b" record --org org-big --event chat_message "$@" >/dev/null 2>>"$FAILED" ||
                  echo "bench: a record into bench_$v failed" >>"$FAILED"
          done ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    if [ -s "$FAILED" ]; then
        echo "bench: records failed, the timings would be wrong:" >&2
        head -n 5 "$FAILED" >&2
        exit 1
    fi
    echo $(($(now_ms) - a))
}
declare -A T
read -r -a ORDER <<<"$VARIANTS"
echo "timing ($ROUNDS rounds)..." >&2
for r in $(seq "$ROUNDS"); do
    n=${#ORDER[@]}
    for i in $(seq 0 $((n - 1))); do
        v=${ORDER[$(((i + r) % n))]}
        if [ $(((r + i) % 2)) = 0 ]; then
            T[$v.plain]+=" $(concurrent "$v")"; T[$v.enforce]+=" $(concurrent "$v" --enforce)"
        else
            T[$v.enforce]+=" $(concurrent "$v" --enforce)"; T[$v.plain]+=" $(concurrent "$v")"
        fi
    done
done

# server-side first call in a fresh session (median ms of 9)
cold() { # db, sql
    for _ in $(seq 9); do
        psql -X -v ON_ERROR_STOP=1 "$BASE dbname=$1" -c '\timing on' -c BEGIN -c "$2" -c ROLLBACK |
            grep '^Time' | sed -n 2p | awk '{print $2}'
    done | median
}
ENF_NEW="SELECT * FROM usagectl_record('org-big', 'chat_message', 1, NULL, NULL, NULL)"
ENF_OLD="SELECT * FROM usagectl_record_enforced('org-big', 'chat_message', 1, NULL, NULL, NULL, '{chat_message}', date_trunc('month', now(), 'UTC'), date_trunc('month', now(), 'UTC') + interval '1 month', 1000000000)"
INSERT="INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-big', 'chat_message', 1)"

N=$((CLIENTS * PER_CLIENT))
echo
echo "record --enforce against plain record, $CLIENTS clients x $PER_CLIENT on org-big, $EVENTS events (org-big $BIG this month), median of $ROUNDS rounds"
echo "machine: $(machine)"
printf '%-8s %10s %12s %9s %14s %14s\n' variant "plain/s" "enforce/s" "enforce%" "cold insert" "cold enforce"
for v in $VARIANTS; do
    p=$(median ${T[$v.plain]}); e=$(median ${T[$v.enforce]})
    sql=$ENF_NEW; [ "$v" = pre13 ] && sql=$ENF_OLD
    ci=$(cold "bench_$v" "$INSERT"); ce=$(cold "bench_$v" "$sql")
    awk -v v="$v" -v n="$N" -v p="$p" -v e="$e" -v ci="$ci" -v ce="$ce" \
        'BEGIN { printf "%-8s %10.0f %12.0f %8.0f%% %11.2f ms %11.2f ms\n", v, n * 1000 / p, n * 1000 / e, 100 * p / e, ci, ce }'
done
for v in $VARIANTS; do echo "runs (ms) $v: plain${T[$v.plain]} | enforce${T[$v.enforce]}"; done
