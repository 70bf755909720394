#!/usr/bin/env bash
# `make bench-vault`: runs bench/vault_bench against a markr server on loopback
# and a fresh database `markr_bench_vault` on the private cluster (stopped afterwards if it
# was started here). Not a test: it prints figures. MARKR_BENCH_DOCUMENTS (default 1000)
# sets how many 1,000-result documents the reprocessing part stores first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_bin=build/bench/vault_bench
[[ -x $bench_bin ]] || { echo "bench: $bench_bin is missing: run make build" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench_vault
bench_serve "${MARKR_BENCH_PORT:-0}" /tmp/markr-bench-vault.log MARKR_MAX_BODY_BYTES=268435456
bench_port=$bench_served_port

echo "command: make bench-vault   (MARKR_BENCH_DOCUMENTS=${MARKR_BENCH_DOCUMENTS:-1000}; $(nproc) CPUs; $(date -u +%FT%TZ))"
MARKR_BENCH_URL=http://127.0.0.1:$bench_port MARKR_BENCH_SERVER_PID=$bench_pid MARKR_BINARY=build/markr "$bench_bin"
