#!/usr/bin/env bash
# Benchmark (not a test): what the web app's SQL API costs, with pgbench on warm
# connections (fsync and synchronous_commit on, the demo cluster's defaults).
#  1. spread: usagectl.record(..., enforce => true) for 50 orgs with limits against the
#     plain INSERT the seed's app runs, 8 clients, alternating rounds; medians and ratio;
#  2. usagectl.check latency, 2 clients, p50 and p99 of every call, at EVENTS events with a
#     whale (WHALE of them this month) and the fold caught up;
#  3. one hot org: its enforced records (one commit per holder of its lock, so bounded by
#     one client's commit rate, printed beside) and the plain hot INSERT.
# The fold runs every FOLD_EVERY seconds (60: cron's cadence); the rows it has not reached
# are what every read of an org sums one by one, so a busy web app wants it more often.
#   bench/web_app_api.sh                          # 5M events, 5 rounds of 10 s
#   FOLD_EVERY=5 bench/web_app_api.sh
#   EVENTS=500000 WHALE=100000 ROUNDS=3 SECONDS_EACH=5 bench/web_app_api.sh
ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-10}
EVENTS=${EVENTS:-5000000}
WHALE=${WHALE:-1000000}
FOLD_EVERY=${FOLD_EVERY:-60}
source "$(dirname "$0")/lib.sh"
PGBENCH=$(pgbench_path)
DB="host=$WORK/pg port=5432 user=postgres dbname=bench_api"

q -c "CREATE DATABASE bench_api"
psql -X -q -v ON_ERROR_STOP=1 "$DB" -c "$SEED_DDL"
echo "loading $EVENTS events (org-whale $WHALE of them this month)..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$DB" <<SQL
SELECT setseed(0.42);
INSERT INTO usage_events (org_id, event_type, quantity, created_at)
SELECT 'org-whale', $EVENT_TYPES[1 + g % 11], 1 + g % 50,
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $WHALE) g;
INSERT INTO usage_events (org_id, event_type, quantity, created_at)
SELECT 'org-' || floor(999 * power(random(), 3))::int, $EVENT_TYPES[1 + g % 11], 1 + g % 50,
       now() - random() * interval '120 days'
FROM generate_series(1, $EVENTS - $WHALE) g;
SQL
DATABASE_URL=$DB "$BIN" migrate >/dev/null
DATABASE_URL=$DB "$BIN" maintain --quiet >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$DB" <<'SQL'
-- 50 orgs and the whale with chat limits no run reaches: every record takes the lock and
-- reads, none is refused
INSERT INTO usagectl_org_limit_overrides (org_id, metric, limit_value)
SELECT 'org-' || g, 'chat_messages', 1000000000 FROM generate_series(1, 50) g
UNION ALL SELECT 'org-hot', 'chat_messages', 1000000000
UNION ALL SELECT 'org-whale', 'chat_messages', 1000000000;
VACUUM ANALYZE;
SQL

cat >"$WORK/plain.sql" <<'SQL'
\set org random(1, 50)
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-' || :org, 'chat_message', 1);
SQL
cat >"$WORK/enforced.sql" <<'SQL'
\set org random(1, 50)
SELECT outcome FROM usagectl.record('org-' || :org, 'chat_message');
SQL
cat >"$WORK/hot_plain.sql" <<'SQL'
INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('org-hot', 'chat_message', 1);
SQL
cat >"$WORK/hot_enforced.sql" <<'SQL'
SELECT outcome FROM usagectl.record('org-hot', 'chat_message');
SQL
cat >"$WORK/check.sql" <<'SQL'
\set org random(0, 9)
SELECT allowed FROM usagectl.check(CASE WHEN :org = 0 THEN 'org-whale' ELSE 'org-' || :org END, 'ai_tokens');
SQL

# the fold, every FOLD_EVERY seconds
( while sleep "$FOLD_EVERY"; do DATABASE_URL=$DB "$BIN" maintain --quiet || true; done ) &
FOLDER=$!
trap 'kill $FOLDER 2>/dev/null || true; cleanup' EXIT

tps() { # clients script
    "$PGBENCH" -n -c "$1" -j 2 -T "$SECONDS_EACH" -f "$WORK/$2.sql" "$DB" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

echo "timing ($ROUNDS alternating rounds of $SECONDS_EACH s)..." >&2
declare -A T
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="plain enforced hot_plain hot_enforced"; else order="enforced plain hot_enforced hot_plain"; fi
    for s in $order; do T[$s]+=" $(tps 8 "$s")"; done
    T[bound]+=" $(tps 1 hot_plain)"
done

# check latency: every call's, from pgbench's per-transaction log (microseconds)
rm -f "$WORK"/chk*
(cd "$WORK" && "$PGBENCH" -n -c 2 -j 2 -T $((SECONDS_EACH * ROUNDS)) -f "$WORK/check.sql" -l --log-prefix=chk "$DB" >/dev/null 2>&1)
LAT=$(cat "$WORK"/chk* | awk '{print $3}' | sort -n)
N=$(wc -l <<<"$LAT")
p() { sed -n "$(awk -v n="$N" -v q="$1" 'BEGIN { i = int(n * q); if (i < 1) i = 1; print i }')p" <<<"$LAT"; }

echo
echo "the web app's SQL API on warm connections, $EVENTS events (org-whale $WHALE this month), fold every $FOLD_EVERY s, fsync on"
echo "machine: $(machine)"
pl=$(median ${T[plain]}); en=$(median ${T[enforced]})
printf 'spread over 50 orgs, 8 clients:  plain INSERT %6d/s   usagectl.record enforced %6d/s   ratio %.2f (target >= 0.70)\n' \
    "$pl" "$en" "$(awk -v a="$en" -v b="$pl" 'BEGIN { print a / b }')"
printf 'one hot org, 8 clients:          plain INSERT %6d/s   usagectl.record enforced %6d/s   bound (1 client commits) %d/s\n' \
    "$(median ${T[hot_plain]})" "$(median ${T[hot_enforced]})" "$(median ${T[bound]})"
printf 'usagectl.check, 2 clients, %d calls: p50 %.2f ms   p99 %.2f ms (target <= 5 ms)\n' \
    "$N" "$(awk -v u="$(p 0.5)" 'BEGIN { print u / 1000 }')" "$(awk -v u="$(p 0.99)" 'BEGIN { print u / 1000 }')"
for s in plain enforced hot_plain hot_enforced bound; do echo "runs (tps) $s:${T[$s]}"; done
