#!/usr/bin/env bash
# Benchmark (not a test): what the rollup triggers cost the web app's single-row inserts.
# pgbench runs single-row autocommit INSERTs into usage_events from several clients, with
# no rollup trigger, with usagectl's statement-level trigger (transition table), and with
# an equivalent row-level trigger made here for comparison; prints transactions per second.
#   bench/single_insert.sh            # 8 clients, 15 s each
#   CLIENTS=4 SECONDS_EACH=10 bench/single_insert.sh
CLIENTS=${CLIENTS:-8}
SECONDS_EACH=${SECONDS_EACH:-15}
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)

cat >"$WORK/insert.sql" <<'SQL'
\set org random(1, 200)
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-' || :org, 'chat_message', 1);
SQL
q <<'SQL'
CREATE OR REPLACE FUNCTION bench_rollup_row() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM usagectl_rollup_add(NEW.org_id, (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.event_type,
                                1, NEW.quantity, NEW.created_at, NEW.created_at);
    RETURN NULL;
END $f$;
SQL
tps() { "$PGBENCH" -n -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f "$WORK/insert.sql" "$URL" 2>/dev/null | awk '/^tps/ {print int($3)}'; }
none() { q -c "ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_insert" -c "DROP TRIGGER IF EXISTS bench_row ON usage_events"; }
stmt() { q -c "ALTER TABLE usage_events ENABLE TRIGGER usagectl_rollup_insert" -c "DROP TRIGGER IF EXISTS bench_row ON usage_events"; }
row() { q -c "ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_insert" -c "CREATE TRIGGER bench_row AFTER INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION bench_rollup_row()"; }

none; T_NONE=$(tps)
stmt; T_STMT=$(tps)
row;  T_ROW=$(tps)
stmt
"$BIN" doctor --repair >/dev/null || true   # the rows inserted without usagectl's trigger

echo
echo "single-row INSERTs, $CLIENTS pgbench clients, $SECONDS_EACH s each, 200 orgs ($(machine))"
printf '%-44s %8s\n' "rollup trigger" "tps"
printf '%-44s %8s\n' "none" "$T_NONE"
printf '%-44s %8s\n' "statement-level, transition table (usagectl)" "$T_STMT"
printf '%-44s %8s\n' "row-level (for comparison)" "$T_ROW"
awk -v n="$T_NONE" -v s="$T_STMT" -v r="$T_ROW" 'BEGIN { printf "statement-level keeps %.0f%% of the throughput without a trigger; row-level %.0f%%\n", 100 * s / n, 100 * r / n }'
