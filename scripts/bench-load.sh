#!/usr/bin/env bash
# `make bench-load`: a bounded load test on loopback. wrk (bench/load.lua) sends a
# mix of imports (1 in 10, ten results each) and reads of the same test (aggregate and a
# page of results) from MARKR_LOAD_CONNECTIONS connections (default 32) for
# MARKR_LOAD_SECONDS (default 30), after a 5 s warm-up, and prints throughput, p50/p99,
# errors (non-2xx and socket errors), imports answered 201 against those stored (lost
# imports), and the server's memory before and after. Not a test: it prints figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${MARKR_LOAD_SECONDS:-30}
conns=${MARKR_LOAD_CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "bench: wrk is missing: run make deps" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench_load
bench_serve "${MARKR_BENCH_LOAD_PORT:-0}" /tmp/markr-bench-load.log
port=$bench_served_port
base=http://127.0.0.1:$port

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$bench_pid/status"; }
sql() { "$bench_psql" -X -q -t -A -d "$DATABASE_URL" -c "$1"; }

echo "command: make bench-load   (MARKR_LOAD_SECONDS=$secs MARKR_LOAD_CONNECTIONS=$conns; $(nproc) CPUs; $(date -u +%FT%TZ))"
wrk -t2 -c"$conns" -d5s -s bench/load.lua "$base" -- warmup >/dev/null # caches, pools, allocator
sleep 1 # requests cut off by wrk's stop finish before the counts
before_imports=$(sql "SELECT count(*) FROM imports WHERE status = 'accepted'")
before_marks=$(sql "SELECT count(*) FROM marks WHERE test_id = 'load'")
rss_before=$(rss_kib)

echo "wrk -t2 -c$conns -d${secs}s -s bench/load.lua $base"
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/load.lua "$base" -- measured)
line=$(grep '^load:' <<<"$out") || { echo "bench: wrk gave no summary:" >&2; echo "$out" >&2; exit 1; }
sleep 1
rss_after=$(rss_kib)
imports=$(($(sql "SELECT count(*) FROM imports WHERE status = 'accepted'") - before_imports))
marks=$(($(sql "SELECT count(*) FROM marks WHERE test_id = 'load'") - before_marks))

created=$(sed -E 's/.*created=([0-9]+).*/\1/' <<<"$line")
errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
echo "   ${line#load: }"
# wrk stops with up to one request per connection in flight: the server may store those
# imports without wrk counting their 201, so stored >= answered; fewer would be a loss.
lost=$((created > imports ? created - imports : 0))
echo "   imports answered 201: $created; stored: $imports imports with $marks new marks ($((created * 10)) expected at least)"
echo "   lost imports: $lost (target 0; $((imports - created + lost)) more stored than answered: cut off in flight by wrk's stop); errors: $errors (target 0)"
echo "   server RSS: $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB after (growth $(((rss_after - rss_before) / 1024)) MiB)"
