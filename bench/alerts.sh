#!/usr/bin/env bash
# Benchmark (not a test): `usagectl alert run` against `status --all` on the same data, on a
# throwaway local PostgreSQL: 1,000,000 events this month over 1,000 orgs (skewed), 50 of
# them in their own billing periods (anchor 15 in Asia/Kathmandu), one rule watching chat
# messages and AI tokens of every org at 80% and 100%, deliveries to a receiver on
# 127.0.0.1 (Python's http.server, answering 204).
#   bench/alerts.sh
#   EVENTS=200000 ORGS=200 RUNS=3 ROUNDS=3 bench/alerts.sh
# Prints the first run (decisions written and delivered) and, in alternating rounds with
# medians, `status --all` against `alert run` when there is nothing new to decide (what
# cron runs see almost always).
EVENTS=${EVENTS:-1000000}
ORGS=${ORGS:-1000}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-5}

source "$(dirname "$0")/lib.sh"
q -c "CREATE DATABASE bench"
URL="host=$WORK/pg port=5432 user=postgres dbname=bench"
export DATABASE_URL=$URL


echo "loading $EVENTS events over $ORGS orgs..." >&2
q <<SQL
$SEED_DDL
\o /dev/null
SELECT setseed(0.42);
\o
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor($ORGS * power(random(), 3))::int,
       $EVENT_TYPES[1 + g % 11],
       1 + g % 50, jsonb_build_object('n', g),
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $EVENTS) g;
VACUUM ANALYZE usage_events;
SQL
"$BIN" migrate >/dev/null
q -c "VACUUM ANALYZE" >/dev/null
# a third of the orgs on pilot, a third on subscription, the rest on the default trial
q -c "INSERT INTO usagectl_org_tiers (org_id, tier)
      SELECT org_id, CASE WHEN n % 3 = 0 THEN 'pilot' ELSE 'subscription' END
        FROM (SELECT DISTINCT org_id, hashtext(org_id) AS n FROM usage_events) o WHERE n % 3 <> 1" >/dev/null
q -c "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
      SELECT org_id, '-infinity', 15, 'Asia/Kathmandu'
        FROM (SELECT DISTINCT org_id FROM usage_events ORDER BY 1 LIMIT 50) o" >/dev/null
N_ORGS=$(q -At -c "SELECT count(DISTINCT org_id) FROM usage_events")

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null || true; cleanup' EXIT
sleep 1
"$BIN" alert add bench --webhook "http://127.0.0.1:$PORT/hook" --metric chat_messages \
    --metric ai_tokens >/dev/null

a=$(now_ms); "$BIN" alert run -o json > "$WORK/first.json"; FIRST_MS=$(($(now_ms) - a))
DECIDED=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["decisions"]))' "$WORK/first.json")
DELIVERED=$(q -At -c "SELECT count(*) FROM usagectl_alert_outbox WHERE status = 'delivered'")

S=(); A=()
for _ in $(seq "$ROUNDS"); do
    S+=($(time_ms "$BIN" status --all -o json))
    A+=($(time_ms "$BIN" alert run -o json))
done
NEW=$(q -At -c "SELECT count(*) FROM usagectl_alert_outbox") # nothing new was decided

echo "alert run vs status --all, $EVENTS events this month, $N_ORGS orgs (50 in Asia/Kathmandu periods)"
echo "machine: $(machine)"
echo "first alert run: $DECIDED decisions written, $DELIVERED delivered to 127.0.0.1, $FIRST_MS ms"
awk -v s="$(median "${S[@]}")" -v a="$(median "${A[@]}")" -v r="$ROUNDS" -v n="$RUNS" \
    'BEGIN { printf "nothing new (%d alternating rounds, medians of %d runs): status --all %d ms, alert run %d ms: %.2fx\n", r, n, s, a, a / s }'
echo "runs (ms): status --all ${S[*]} | alert run ${A[*]}"
echo "outbox rows after all runs: $NEW (the first run's $DECIDED)"
