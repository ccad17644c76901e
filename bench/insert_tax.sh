#!/usr/bin/env bash
# Benchmark (not a test): what schema 8's rollup insert trigger cost the web app's
# single-row inserts — issue 13's baseline (bench/single_insert.sh measures today's schema). pgbench single-row autocommit INSERTs (fsync and synchronous_commit
# on, the demo cluster's defaults), with usagectl's rollup insert trigger disabled ("plain
# seed table") and enabled, in alternating rounds; medians of the rounds, and their ratio.
# Two spreads: 50 orgs and 11 event types, and one hot org and event type.
#   bench/insert_tax.sh                      # 4 and 8 clients, 5 rounds of 10 s each
#   ROUNDS=3 SECONDS_EACH=5 bench/insert_tax.sh
ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-10}
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
# the design it measures: schema 8, the insert trigger (migration 11 replaced it)
q -c "CREATE DATABASE tax"
URL="host=$WORK/pg port=5432 user=postgres dbname=tax"
q -c "$SEED_DDL"
DATABASE_URL=$URL "$BIN" migrate --target-version 8 >/dev/null

cat >"$WORK/spread.sql" <<'SQL'
\set org random(1, 50)
\set t random(1, 11)
INSERT INTO usage_events (org_id, event_type, quantity)
VALUES ('org-' || :org, (ARRAY['csv_upload','csv_row_processed','analysis_run','analyzer_execution','chat_message',
       'ai_tokens_input','ai_tokens_output','mapping_profile_created','mapping_profile_used',
       'export_pdf','export_csv'])[:t], 1);
SQL
cat >"$WORK/hot.sql" <<'SQL'
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-hot', 'chat_message', 1);
SQL

tps() { # clients script
    "$PGBENCH" -n -c "$1" -j 2 -T "$SECONDS_EACH" -f "$WORK/$2.sql" "$URL" 2>/dev/null | awk '/^tps/ {print int($3)}'
}
off() { q -c "ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_insert"; }
on() { q -c "ALTER TABLE usage_events ENABLE TRIGGER usagectl_rollup_insert"; }

echo "single-row INSERTs, $ROUNDS alternating rounds of $SECONDS_EACH s, fsync on ($(machine))"
printf '%-28s %8s %14s %14s %8s\n' "spread" "clients" "plain (tps)" "usagectl (tps)" "ratio"
for clients in 4 8; do
    for script in spread hot; do
        plain=(); with=()
        for _ in $(seq "$ROUNDS"); do
            off; plain+=("$(tps "$clients" "$script")")
            on; with+=("$(tps "$clients" "$script")")
        done
        p=$(median "${plain[@]}"); w=$(median "${with[@]}")
        label=$([ "$script" = spread ] && echo "50 orgs x 11 types" || echo "one org, one type")
        awk -v l="$label" -v c="$clients" -v p="$p" -v w="$w" 'BEGIN { printf "%-28s %8d %14d %14d %7.2fx\n", l, c, p, w, w / p }'
    done
done
on
DATABASE_URL=$URL "$BIN" doctor --repair >/dev/null 2>&1 || true   # the rows inserted with the trigger off
