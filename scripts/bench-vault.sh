#!/usr/bin/env bash
# `make bench-vault` (issue 3): runs bench/vault_bench against a markr server on loopback
# and a fresh database `markr_bench_vault` on the private cluster (stopped afterwards if it
# was started here). Not a test: it prints figures. MARKR_BENCH_DOCUMENTS (default 1000)
# sets how many 1,000-result documents the reprocessing part stores first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_port=${MARKR_BENCH_PORT:-18086}
bench_bin=build/bench/vault_bench
[[ -x $bench_bin ]] || { echo "bench: $bench_bin is missing: run make build" >&2; exit 1; }

stop_cluster=0
pid=""
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if ((stop_cluster)); then
        bash scripts/pg-private.sh stop || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! bash scripts/pg-private.sh status 2>/dev/null; then
    stop_cluster=1
fi
bash scripts/pg-private.sh start
admin=$(bash scripts/pg-private.sh env postgres)
admin=${admin#DATABASE_URL=}
"${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1 -d "$admin" \
    -c 'DROP DATABASE IF EXISTS markr_bench_vault WITH (FORCE)' -c 'CREATE DATABASE markr_bench_vault'
url=$(bash scripts/pg-private.sh env markr_bench_vault)
export DATABASE_URL=${url#DATABASE_URL=}

build/markr migrate
MARKR_LISTEN=127.0.0.1:$bench_port MARKR_MAX_ASYNC_BODY_BYTES=268435456 build/markr serve 2>/tmp/markr-bench-vault.log &
pid=$!
ready=0
for ((i = 0; i < 100; i++)); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$bench_port/health" 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || { echo "bench: markr serve exited" >&2; exit 1; }
    sleep 0.1
done
((ready)) || { echo "bench: markr did not answer /health on port $bench_port within 10 s" >&2; exit 1; }

echo "command: make bench-vault   (MARKR_BENCH_DOCUMENTS=${MARKR_BENCH_DOCUMENTS:-1000}; $(nproc) CPUs; $(date -u +%FT%TZ))"
MARKR_BENCH_URL=http://127.0.0.1:$bench_port MARKR_BENCH_SERVER_PID=$pid MARKR_BINARY=build/markr "$bench_bin"
