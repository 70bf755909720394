# Sourced by the benchmark scripts (bench.sh, bench-vault.sh, bench-live.sh, bench-load.sh):
# a fresh database on the private cluster, a markr server on loopback, and the clean-up of
# both whatever happens. The cluster is stopped on exit only if it was started here.
#
#   bench_fresh_db NAME           start the cluster, recreate database NAME, export
#                                 DATABASE_URL, apply the migrations
#   bench_recycled_wal MB         let the run write its WAL into recycled segments, as a
#                                 database that has run a while does (below)
#   bench_serve PORT LOG [ENV...] start `markr serve` on 127.0.0.1:PORT with its stderr in
#                                 LOG (and the extra NAME=VALUE settings given); wait for
#                                 /health; sets bench_pid (every server started is stopped
#                                 on exit) and bench_served_port. PORT 0 (the scripts'
#                                 default) takes a port the system picks, read back from the
#                                 server's "listening" line, so that benchmarks run at once
#                                 (two checkouts, two builds) never meet on a port
# MARKR_BENCH_BINARY names the markr to run (default build/markr), to compare another build
# with the same clients and database (bench/README.md).
# shellcheck shell=bash

bench_psql=${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
bench_pid=""
bench_pids=()
bench_stop_cluster=0
bench_markr=${MARKR_BENCH_BINARY:-build/markr}

# shellcheck disable=SC2317  # reached through the EXIT trap
bench_cleanup() {
    local pid
    for pid in "${bench_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if ((bench_stop_cluster)); then
        bash scripts/pg-private.sh stop || true
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -x $bench_markr ]] || { echo "bench: $bench_markr is missing: run make build" >&2; exit 1; }

bench_fresh_db() {
    local name=$1 admin url
    if ! bash scripts/pg-private.sh status 2>/dev/null; then
        bench_stop_cluster=1
    fi
    bash scripts/pg-private.sh start >/dev/null
    admin=$(bash scripts/pg-private.sh url postgres)
    "$bench_psql" -X -q -v ON_ERROR_STOP=1 -d "$admin" \
        -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
    url=$(bash scripts/pg-private.sh url "$name")
    export DATABASE_URL=$url
    "$bench_markr" migrate >/dev/null
}

# A database that has run a while writes its WAL into segments that its checkpoints recycled.
# A cluster created for the run has none: the backend that first reaches each new 16 MB
# segment writes it full of zeros (and syncs it) before its own record, holding the WAL write
# lock, so that every commit behind it waits (bench/README.md, "WAL segments"). That cost
# belongs to a cluster's first minutes, not to the import path: switch through MB of WAL
# (each switch begins a new segment) and checkpoint, which recycles those segments for the
# run. The checkpoint recycles no more than max_wal_size (pg-private.sh: 2 GB).
bench_recycled_wal() {
    local segments=$(($1 / 16)) i
    for ((i = 0; i < segments; i++)); do
        printf '%s\n' "SELECT pg_logical_emit_message(false, 'markr-bench', '');" 'SELECT pg_switch_wal();'
    done | "$bench_psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" >/dev/null
    "$bench_psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c CHECKPOINT
}

bench_serve() {
    local port=$1 log=$2 i line
    shift 2
    port=$((10#$port)) # a port given as 08085 is 8085, not an octal number
    # The "listening" line is at info: whatever MARKR_LOG_LEVEL says, the port is read back.
    env MARKR_LISTEN="127.0.0.1:$port" MARKR_LOG_LEVEL=info "$@" "$bench_markr" serve 2>"$log" &
    bench_pid=$!
    bench_pids+=("$bench_pid")
    for ((i = 0; i < 100; i++)); do
        if ((port == 0)) && line=$(grep -m1 -o 'msg=listening addr=127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null); then
            port=${line##*:}
        fi
        if ((port != 0)) && curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; then
            # shellcheck disable=SC2034  # read by the scripts that source this file
            bench_served_port=$port
            return 0
        fi
        kill -0 "$bench_pid" 2>/dev/null || { echo "bench: markr serve exited; see $log" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: markr did not answer /health on port $port within 10 s; see $log" >&2
    exit 1
}
