#!/usr/bin/env bash
# `make bench-live`: figures of the live reads, with wrk on this machine.
#  1. requests per second of GET /results/{id}/aggregate for an unchanged 10,000-student
#     test, as a ratio to GET /health in the same run (target: 0.5 or more);
#  2. median latency of that request for a one-million-student test (target: 1 ms or less),
#     with the same request computed by the database (cache flushed before each) as baseline;
#  3. idle stream clients one instance holds and memory per client (target: 10,000).
# Uses the private cluster (started and stopped here if it was not running) and a fresh
# database markr_bench_live. Prints every command it measures with.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

port=${MARKR_BENCH_LIVE_PORT:-18087}
clients=${MARKR_BENCH_STREAMS:-10000}
secs=${MARKR_BENCH_SECONDS:-5}
command -v wrk >/dev/null || { echo "bench: wrk is missing: run make deps" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_fresh_db markr_bench_live
echo "bench: loading bench-10k (10,000 students) and bench-1m (1,000,000 students) in SQL"
"$bench_psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" <<'SQL'
INSERT INTO marks (test_id, student_number, available, obtained, import_id)
SELECT 'bench-10k', lpad(i::text, 8, '0'), 20, (i::bigint * 7919 % 21)::int, 0 FROM generate_series(1, 10000) AS i;
INSERT INTO marks (test_id, student_number, available, obtained, import_id)
SELECT 'bench-1m', lpad(i::text, 8, '0'), 20, (i::bigint * 7919 % 21)::int, 0 FROM generate_series(1, 1000000) AS i;
VACUUM ANALYZE marks;
SQL

bench_serve "$port" /tmp/markr-bench-live.log
pid=$bench_pid
for ((i = 0; i < 100; i++)); do
    grep -q 'change feed up' /tmp/markr-bench-live.log 2>/dev/null && break
    sleep 0.1
done
base=http://127.0.0.1:$port
curl -fsS -o /dev/null "$base/results/bench-10k/aggregate"
curl -fsS -o /dev/null "$base/results/bench-1m/aggregate"

rps() { # prints requests/s of wrk on $1
    wrk -t1 -c32 -d"${secs}s" "$1" | awk '/^Requests\/sec/ {print $2}'
}
echo
echo "1. cached aggregate vs /health: wrk -t1 -c32 -d${secs}s, alternated twice"
h1=$(rps "$base/health"); a1=$(rps "$base/results/bench-10k/aggregate")
h2=$(rps "$base/health"); a2=$(rps "$base/results/bench-10k/aggregate")
awk -v h1="$h1" -v h2="$h2" -v a1="$a1" -v a2="$a2" 'BEGIN {
    h = (h1 + h2) / 2; a = (a1 + a2) / 2;
    printf "   /health %.0f req/s, /results/bench-10k/aggregate %.0f req/s: ratio %.2f (target >= 0.5)\n", h, a, a / h }'

echo
echo "2. median latency, 1,000,000 students: wrk -t1 -c1 -d${secs}s --latency $base/results/bench-1m/aggregate"
wrk -t1 -c1 -d"${secs}s" --latency "$base/results/bench-1m/aggregate" | awk '/^ +50%/ {print "   cached: median " $2 " (target <= 1ms)"}'
flush="$bench_psql -X -q -d '$DATABASE_URL' -c \"SELECT pg_notify('markr_changes', '{\\\"import_id\\\":0,\\\"flush\\\":true}')\""
times=()
for ((i = 0; i < 5; i++)); do
    eval "$flush" >/dev/null
    sleep 0.05
    times+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$base/results/bench-1m/aggregate")")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{t[NR] = $1} END {printf "   baseline, computed by the database after a flush (curl, 5 runs): median %.1f ms\n", t[3] * 1000}'

echo
echo "3. idle streams: python3 bench/stream_clients.py 127.0.0.1 $port /results/bench-10k/aggregate/stream $clients $pid ..."
doc='<mcq-test-results><mcq-test-result><student-number>new-1</student-number><test-id>bench-10k</test-id><summary-marks available="20" obtained="20"/></mcq-test-result></mcq-test-results>'
python3 bench/stream_clients.py 127.0.0.1 "$port" /results/bench-10k/aggregate/stream "$clients" "$pid" \
    "curl -fsS -H 'Content-Type: text/xml+markr' --data '$doc' $base/import"
