#!/usr/bin/env bash
# `make bench-replica`: bench/replica_bench against two markr servers on one fresh database
# `markr_bench_replica` of the private cluster, one reading from a streaming hot standby
# (scripts/pg-private.sh standby-start), one reading the primary alone (ADR 0030). The
# cluster (and its standby) is stopped afterwards if it was started here. Not a test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_bin=build/bench/replica_bench
[[ -x $bench_bin ]] || { echo "bench: $bench_bin is missing: run make build" >&2; exit 1; }
# MARKR_BENCH_PORT and the port after it, or free ports (0, the default).
replica_port=${MARKR_BENCH_PORT:-0}
primary_port=$((replica_port == 0 ? 0 : replica_port + 1))

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench_replica
bash scripts/pg-private.sh standby-start >/dev/null
standby=$(bash scripts/pg-private.sh standby-env markr_bench_replica)
standby=${standby#MARKR_READ_DATABASE_URL=}
# The new database reaches the standby by replay: wait until it can be connected to.
for ((i = 0; i < 100; i++)); do
    "$bench_psql" -X -q -d "$standby" -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
done
bench_serve "$replica_port" /tmp/markr-bench-replica.log "MARKR_READ_DATABASE_URL=$standby"
replica_port=$bench_served_port
bench_serve "$primary_port" /tmp/markr-bench-primary.log
primary_port=$bench_served_port

echo "bench: $bench_bin (standby on :$replica_port, primary alone on :$primary_port)"
MARKR_BENCH_REPLICA_URL=http://127.0.0.1:$replica_port MARKR_BENCH_PRIMARY_URL=http://127.0.0.1:$primary_port \
    "$bench_bin"
curl -s "http://127.0.0.1:$replica_port/metrics" | grep -E '^markr_replica_(reads|fallbacks)_total' | grep -v ' 0$' || true
