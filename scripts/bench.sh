#!/usr/bin/env bash
# `make bench`: runs bench/markr_bench against a markr server on loopback and a fresh
# database `markr_bench` (dropped and made again each run) on the private cluster. The
# cluster is stopped afterwards if it was started here. Not a test: it prints figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_bin=build/bench/markr_bench
[[ -x $bench_bin ]] || { echo "bench: $bench_bin is missing: run make build" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench
bench_serve "${MARKR_BENCH_PORT:-0}" /tmp/markr-bench.log
bench_port=$bench_served_port

MARKR_BENCH_URL=http://127.0.0.1:$bench_port "$bench_bin"

# The import path against pgbench and xmllint: its own server and database (this one
# stopped first, so that it takes no CPU from the comparison).
kill -TERM "$bench_pid"
wait "$bench_pid" || true
bench_pid=""
bash scripts/bench-import.sh
