#!/usr/bin/env bash
# Benchmark (not a test): the support and cost tools (issue 17) beside the psql query a DBA
# would write, on a throwaway local PostgreSQL: 5,000,000 events by default (org-big with
# 1,000,000 of them this month), of which TOKENS (1,000,000) are this month's AI token events
# (input and output, four models: three priced, one not, and some with no model).
#   bench/tools.sh
#   EVENTS=1000000 BIG=200000 TOKENS=200000 RUNS=3 bench/tools.sh
EVENTS=${EVENTS:-5000000}
BIG=${BIG:-1000000}
TOKENS=${TOKENS:-1000000}
RUNS=${RUNS:-5}

source "$(dirname "$0")/lib.sh"
q -c "CREATE DATABASE bench"
URL="host=$WORK/pg port=5432 user=postgres dbname=bench"
export DATABASE_URL=$URL

row() { awk -v l="$1" -v u="$2" -v p="$3" 'BEGIN { printf "%-40s %10d %10d %9.2fx\n", l, u, p, (u > 0 ? p / u : 0) }'; }

echo "loading $EVENTS events (org-big: $BIG this month, $TOKENS token events this month)..." >&2
q <<SQL
$SEED_DDL
\o /dev/null
SELECT setseed(0.42);
\o
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-big', $EVENT_TYPES[1 + g % 11], 1 + g % 500, jsonb_build_object('n', g, 'message_id', 'm-' || g),
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $BIG) g;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor(999 * power(random(), 3))::int,
       (ARRAY['ai_tokens_input', 'ai_tokens_output'])[1 + g % 2], 1 + g % 5000,
       CASE WHEN g % 50 = 0 THEN jsonb_build_object('n', g)
            ELSE jsonb_build_object('model', (ARRAY['claude-3-5-sonnet-20241022', 'claude-3-5-haiku-20241022',
                                                    'gpt-4o', 'experimental-x'])[1 + g % 4]) END,
       date_trunc('month', now()) + random() * (now() - date_trunc('month', now()))
FROM generate_series(1, $TOKENS) g;
INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
SELECT 'org-' || floor(999 * power(random(), 3))::int, $EVENT_TYPES[1 + g % 11], 1 + g % 500,
       jsonb_build_object('n', g), now() - random() * interval '90 days'
FROM generate_series(1, $EVENTS - $BIG - $TOKENS) g;
VACUUM ANALYZE usage_events;
SQL
"$BIN" migrate >/dev/null
q -c "VACUUM ANALYZE" >/dev/null
MONTH=$(date -u +%Y-%m)
MID_MONTH="$MONTH-02"
"$BIN" price set claude-3-5-sonnet-20241022 --input-per-mtok 3 --output-per-mtok 15 >/dev/null
"$BIN" price set claude-3-5-sonnet-20241022 --input-per-mtok 2.5 --output-per-mtok 12.5 --from "$MID_MONTH" >/dev/null
"$BIN" price set claude-3-5-haiku-20241022 --input-per-mtok 0.8 --output-per-mtok 4 >/dev/null
"$BIN" price set gpt-4o --input-per-mtok 2.5 --output-per-mtok 10 >/dev/null

EV_SQL="SELECT id, event_type, quantity, created_at, idempotency_key, metadata FROM usage_events WHERE org_id = 'org-big' ORDER BY created_at DESC LIMIT 50"
TOP_SQL="SELECT org_id, sum(quantity) FROM usage_events WHERE event_type IN ('ai_tokens_input', 'ai_tokens_output') AND created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
COST_SQL="SELECT org_id, metadata->>'model', event_type, sum(quantity) FROM usage_events WHERE event_type IN ('ai_tokens_input', 'ai_tokens_output') AND created_at >= date_trunc('month', now()) AND created_at < date_trunc('month', now()) + interval '1 month' GROUP BY 1, 2, 3"

echo "timing (median of $RUNS runs each, usagectl and psql alternating)..." >&2
EU=(); EP=(); TU=(); TP=(); CU=(); CP=(); SA=()
for _ in $(seq "$RUNS"); do
    RUNS_SAVED=$RUNS; RUNS=1
    EU+=($(time_ms "$BIN" events --org org-big --limit 50 -o json)); EP+=($(time_ms q -c "$EV_SQL"))
    TU+=($(time_ms "$BIN" top -o json)); TP+=($(time_ms q -c "$TOP_SQL"))
    CU+=($(time_ms "$BIN" costs -o json)); CP+=($(time_ms q -c "$COST_SQL"))
    SA+=($(time_ms "$BIN" status --all -o json))
    RUNS=$RUNS_SAVED
done
echo "support and cost tools vs psql, $EVENTS events, org-big $BIG this month, $TOKENS token events this month"
echo "machine: $(machine)"
printf '%-40s %10s %10s %10s\n' "command" "usagectl" "psql" "psql/usagectl"
row "events --org org-big --limit 50" "$(median "${EU[@]}")" "$(median "${EP[@]}")"
row "top (ai_tokens, current periods)" "$(median "${TU[@]}")" "$(median "${TP[@]}")"
row "costs (this month, priced)" "$(median "${CU[@]}")" "$(median "${CP[@]}")"
echo "for reference: status --all $(median "${SA[@]}") ms (top reads what it reads, for this period and the previous)"
echo "runs (ms): events ${EU[*]} | psql ${EP[*]}; top ${TU[*]} | psql ${TP[*]}; costs ${CU[*]} | psql ${CP[*]}"
echo "psql's queries: events = the newest 50 rows of org-big; top = a month's token sum per org, top 10 (no limits, no previous period); costs = a month's token sum per org, model and type (no prices)"
