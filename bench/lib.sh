# Sourced by the benchmark scripts: a release build, a throwaway local PostgreSQL (started by
# `usagectl demo`, removed on exit) and the helpers they share.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/usagectl
WORK=$(mktemp -d /tmp/usagectl-bench-XXXXXX)
chmod 755 "$WORK"   # the server runs as the postgres user and needs the socket directory
cleanup() { "$BIN" demo --dir "$WORK/pg" --stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" demo --dir "$WORK/pg" -o json >/dev/null 2>&1
URL="host=$WORK/pg port=5432 user=postgres dbname=usagectl_demo"
export DATABASE_URL=$URL   # for usagectl

# psql on $URL (read when called, so a script may point it at another database)
q() { psql -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }
now_ms() { date +%s%3N; }
# the median of the arguments, or of the lines on stdin when there are none
median() {
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi |
        sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# median wall time in ms of RUNS runs of a command (output discarded)
time_ms() {
    local t=()
    for _ in $(seq "$RUNS"); do
        local a; a=$(now_ms)
        "$@" >/dev/null 2>&1 || true
        t+=($(($(now_ms) - a)))
    done
    median "${t[@]}"
}
# the machine, for the line every script prints above its figures
machine() {
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), PostgreSQL $(q -At -c 'show server_version' | cut -d' ' -f1)"
}
# the 11 event types as a SQL array: $EVENT_TYPES[1 + n % 11]
EVENT_TYPES="(ARRAY['csv_upload','csv_row_processed','analysis_run','analyzer_execution','chat_message',
       'ai_tokens_input','ai_tokens_output','mapping_profile_created','mapping_profile_used',
       'export_pdf','export_csv'])"
# the seed document's table and indexes, as the web app's database has them
SEED_DDL='CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE usage_events (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    org_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_usage_events_org_id ON usage_events(org_id);
CREATE INDEX idx_usage_events_created_at ON usage_events(created_at DESC);'
# pgbench of the newest server binaries installed (Debian keeps them off PATH)
pgbench_path() {
    local bin
    bin=$(compgen -G '/usr/lib/postgresql/*/bin/pgbench' | sort -V | tail -n 1)
    if [ -z "$bin" ]; then bin=$(command -v pgbench || true); fi
    [ -n "$bin" ] || { echo "bench: pgbench not found (install the postgresql package)" >&2; exit 1; }
    echo "$bin"
}
