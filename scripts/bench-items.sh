#!/usr/bin/env bash
# `make bench-items`: runs bench/items_bench (item analysis of a 100,000-student,
# 20-question test, cold and cached, and the bytes per stored answer) against a markr
# server on loopback and a fresh database `markr_bench_items` on the private cluster
# (stopped afterwards if it was started here). Not a test: it prints figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_bin=build/bench/items_bench
[[ -x $bench_bin ]] || { echo "bench: $bench_bin is missing: run make build" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench_items
bench_serve "${MARKR_BENCH_PORT:-0}" /tmp/markr-bench-items.log
bench_port=$bench_served_port

echo "command: make bench-items   ($(nproc) CPUs; $(date -u +%FT%TZ))"
MARKR_BENCH_URL=http://127.0.0.1:$bench_port "$bench_bin" items
