#!/usr/bin/env bash
# Benchmark (not a test): what usagectl's objects cost the web app's inserts (issue 13).
# Two databases in one cluster: the plain seed table, and the same table after
# `usagectl migrate` (every usagectl object installed: the idempotency key index, the
# usagectl_seq column, its default and index, the UPDATE/DELETE/TRUNCATE triggers; no
# insert trigger), with `usagectl maintain` folding once a minute meanwhile.
#  1. pgbench single-row autocommit INSERTs (fsync and synchronous_commit on, the demo
#     cluster's defaults), 4 and 8 clients, spread over 50 orgs x 11 types and all on one
#     hot org and type; plain and usagectl in alternating rounds (ABBA order); medians and ratio.
#  2. `usagectl record --file` of 100,000 rows into each, alternating; median seconds and
#     ratio (the plain side gets the idempotency key index record --file needs; the
#     usagectl side's rows are folded between rounds).
# Besides the ratio of the medians, the median of the rounds' own ratios (each round's
# usagectl run against the plain run just before it), which the machine's drift between
# rounds moves less.
#   bench/single_insert.sh                        # 7 rounds of 10 s
#   ROUNDS=3 SECONDS_EACH=5 BULK_ROWS=20000 bench/single_insert.sh
#   PARTS=bulk ROUNDS=11 bench/single_insert.sh
#   WITHOUT_INDEX=usagectl_events_org_seq bench/single_insert.sh   # one of usagectl's
#                                  # indexes dropped after migrate: what it costs inserts
ROUNDS=${ROUNDS:-7}
SECONDS_EACH=${SECONDS_EACH:-10}
BULK_ROWS=${BULK_ROWS:-100000}
PARTS=${PARTS:-inserts,bulk}   # PARTS=bulk runs only the record --file comparison
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
BASE="host=$WORK/pg port=5432 user=postgres"
PLAIN="$BASE dbname=bench_plain"
CTL="$BASE dbname=bench_usagectl"

q -c "CREATE DATABASE bench_plain" -c "CREATE DATABASE bench_usagectl"
psql -X -q -v ON_ERROR_STOP=1 "$PLAIN" -c "$SEED_DDL"
psql -X -q -v ON_ERROR_STOP=1 "$CTL" -c "$SEED_DDL"
DATABASE_URL=$CTL "$BIN" migrate >/dev/null
if [ -n "${WITHOUT_INDEX:-}" ]; then
    psql -X -q -v ON_ERROR_STOP=1 "$CTL" -c "DROP INDEX $WITHOUT_INDEX"
    echo "usagectl side without the index $WITHOUT_INDEX"
fi

cat >"$WORK/spread.sql" <<SQL
\set org random(1, 50)
\set t random(1, 11)
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-' || :org, $EVENT_TYPES[:t], 1);
SQL
cat >"$WORK/hot.sql" <<'SQL'
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-hot', 'chat_message', 1);
SQL

# the fold, once a minute, as cron would run it
( while sleep 60; do DATABASE_URL=$CTL "$BIN" maintain --quiet || true; done ) &
FOLDER=$!
trap 'kill $FOLDER 2>/dev/null || true; cleanup' EXIT

# the median of with[i] / plain[i] (two space-separated lists); inverted for times
paired() { # "plain..." "with..." [time]
    local -a p=($1) w=($2); local i; for i in "${!p[@]}"; do
        if [ -n "${3:-}" ]; then awk -v a="${p[$i]}" -v b="${w[$i]}" 'BEGIN { printf "%.4f\n", a / b }'
        else awk -v a="${p[$i]}" -v b="${w[$i]}" 'BEGIN { printf "%.4f\n", b / a }'; fi
    done | median
}
tps() { # url clients script
    "$PGBENCH" -n -c "$2" -j 2 -T "$SECONDS_EACH" -f "$WORK/$3.sql" "$1" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

if [[ $PARTS == *inserts* ]]; then
echo "single-row INSERTs, $ROUNDS alternating rounds of $SECONDS_EACH s, fsync on ($(machine))"
printf '%-24s %8s %14s %14s %8s %12s\n' "spread" "clients" "plain (tps)" "usagectl (tps)" "ratio" "round ratio"
for clients in 4 8; do
    for script in spread hot; do
        plain=(); with=()
        for r in $(seq "$ROUNDS"); do
            # ABBA: every other round runs usagectl first, so neither side always
            # follows the other's checkpoint and WAL
            if (( r % 2 )); then
                plain+=("$(tps "$PLAIN" "$clients" "$script")")
                with+=("$(tps "$CTL" "$clients" "$script")")
            else
                with+=("$(tps "$CTL" "$clients" "$script")")
                plain+=("$(tps "$PLAIN" "$clients" "$script")")
            fi
        done
        echo "  raw rounds ($script, $clients clients): plain ${plain[*]}; usagectl ${with[*]}"
        p=$(median "${plain[@]}"); w=$(median "${with[@]}")
        rr=$(paired "${plain[*]}" "${with[*]}")
        label=$([ "$script" = spread ] && echo "50 orgs x 11 types" || echo "one org, one type")
        awk -v l="$label" -v c="$clients" -v p="$p" -v w="$w" -v rr="$rr" 'BEGIN { printf "%-24s %8d %14d %14d %7.2fx %11.2fx\n", l, c, p, w, w / p, rr }'
    done
done

fi

[[ $PARTS == *bulk* ]] || exit 0
# record --file: the same file into each, alternating. It needs the idempotency key
# column and its unique index (migrations 1-5), so the plain side gets those, nothing else.
DATABASE_URL=$PLAIN "$BIN" migrate --target-version 5 >/dev/null
awk -v n="$BULK_ROWS" 'BEGIN {
    split("csv_upload csv_row_processed analysis_run analyzer_execution chat_message ai_tokens_input ai_tokens_output mapping_profile_created mapping_profile_used export_pdf export_csv", t, " ");
    print "org_id,event_type,quantity,idempotency_key";
    for (i = 1; i <= n; i++) printf "bulk-%d,%s,%d,k-%d\n", i % 50, t[1 + i % 11], 1 + i % 7, i }' >"$WORK/bulk.csv"
bulk() { # url -> seconds
    psql -X -q "$1" -c "DELETE FROM usage_events WHERE org_id LIKE 'bulk-%'" -c "VACUUM usage_events" -c "CHECKPOINT"
    local t0 t1; t0=$(now_ms)
    DATABASE_URL=$1 "$BIN" record --file "$WORK/bulk.csv" >/dev/null
    t1=$(now_ms); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }'
}
plain=(); with=()
for r in $(seq "$ROUNDS"); do
    if (( r % 2 )); then
        plain+=("$(bulk "$PLAIN")"); with+=("$(bulk "$CTL")")
    else
        with+=("$(bulk "$CTL")"); plain+=("$(bulk "$PLAIN")")
    fi
    DATABASE_URL=$CTL "$BIN" maintain --quiet
done
echo "  raw rounds (record --file): plain ${plain[*]}; usagectl ${with[*]}"
p=$(median "${plain[@]}"); w=$(median "${with[@]}")
rr=$(paired "${plain[*]}" "${with[*]}" time)
awk -v n="$BULK_ROWS" -v p="$p" -v w="$w" -v rr="$rr" 'BEGIN { printf "record --file, %d rows: plain %.2f s, usagectl %.2f s: %.2fx the throughput (round ratio %.2fx)\n", n, p, w, p / w, rr }'
DATABASE_URL=$CTL "$BIN" maintain --quiet
DATABASE_URL=$CTL "$BIN" doctor >/dev/null && echo "doctor: the rollup agrees with the raw rows"
