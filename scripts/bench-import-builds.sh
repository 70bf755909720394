#!/usr/bin/env bash
# Alternates imports between several builds of markr, each serving its own fresh database
# (migrated by that build) on the private cluster, so that builds are compared under the same
# load (bench/README.md). Not a test: it prints figures.
#   bash scripts/bench-import-builds.sh ROUNDS NAME=PATH/TO/markr...
# KIND=big (the default): `build/bench/items_bench import`, sample-shaped 10,000-result
# imports, RUNS per round and build (5). KIND=single: `build/bench/import_bench single`, the
# p50 of RUNS (300) 30-result imports from one client, as (a) of `make bench-import` sends
# them. A database of its own per build also keeps one build's announcements from waking the
# other's listeners. SLOW=MS logs every statement that takes MS or more into $logs/NAME.log
# (MARKR_SLOW_QUERY_MS; SLOW=1: all of them), naming where the time went.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 2 ]] || { echo "usage: $0 ROUNDS NAME=markr..." >&2; exit 2; }
kind=${KIND:-big}
case $kind in
big) client=build/bench/items_bench ;;
single) client=build/bench/import_bench ;;
*) echo "bench: KIND is big or single, not $kind" >&2; exit 2 ;;
esac
[[ -x $client ]] || { echo "bench: $client is missing: run make build" >&2; exit 1; }
logs=$(mktemp -d)
echo "logs: $logs"
bash scripts/pg-private.sh start >/dev/null
rounds=$1; shift
psql=${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
admin=$(bash scripts/pg-private.sh url postgres)
# Consecutive ports from MARKR_BENCH_PORT, or free ones (0, the default: read back from each
# server's "listening" line, as bench-lib.sh's bench_serve does).
port=$((10#${MARKR_BENCH_PORT:-0})); pids=(); names=(); ports=()
# shellcheck disable=SC2317  # reached through the EXIT trap
stop_servers() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait
}
trap stop_servers EXIT
for spec in "$@"; do
  name=${spec%%=*}; bin=${spec#*=}
  db=markr_bench_build_$name
  "$psql" -X -q -d "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  url=$(bash scripts/pg-private.sh url "$db")
  DATABASE_URL=$url "$bin" migrate >/dev/null
  DATABASE_URL=$url MARKR_LISTEN=127.0.0.1:$port MARKR_LOG_LEVEL=info MARKR_SLOW_QUERY_MS=${SLOW:-100000} "$bin" serve 2>"$logs/$name.log" &
  pids+=($!); names+=("$name")
  bound=$port
  for ((i = 0; i < 100; i++)); do
    if ((bound == 0)) && line=$(grep -m1 -o 'msg=listening addr=127\.0\.0\.1:[0-9]*' "$logs/$name.log"); then
      bound=${line##*:}
    fi
    ((bound != 0)) && curl -fsS -o /dev/null "http://127.0.0.1:$bound/health" 2>/dev/null && break
    sleep 0.1
  done
  ((bound != 0)) || { echo "bench: $name did not say where it listens; see $logs/$name.log" >&2; exit 1; }
  ports+=("$bound")
  ((port == 0)) || port=$((port+1))
done
for r in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    if [[ $kind == single ]]; then
      out=$(MARKR_BENCH_URL=http://127.0.0.1:${ports[$i]} "$client" single "${RUNS:-300}" "$logs/doc30.xml" 2>&1 | tail -1)
    else
      out=$(MARKR_BENCH_URL=http://127.0.0.1:${ports[$i]} MARKR_BENCH_RUNS=${RUNS:-5} "$client" import 2>&1 | tail -3 | tr '\n' ' ')
    fi
    echo "round $r ${names[$i]}: $out (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
