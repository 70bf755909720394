#!/usr/bin/env bash
# The import path against the database's own work (part of `make bench`; alone:
# `make bench-import`). A fresh database `markr_bench_import`, `markr serve` on
# 127.0.0.1 (a free port, or MARKR_BENCH_IMPORT_PORT; default settings), and three comparisons, each printing both sides, their
# ratio and the commands that produced them (bench/README.md):
#   (a) p50 of a 30-result (16 KiB) import, one client, against pgbench -c 1 running
#       bench/import_tx.sql (the same database work) with -M prepared;
#   (b) imports/s of 8 concurrent importing clients against pgbench -c 8 -j 2 of it;
#   (c) p50 of a 10,000-result import against `xmllint --stream --noout` of the document.
# (a) and (b) also measure bench/import_tx_full.sql, markr's whole database work today (names
# rows, answer sheets, the announcement), to tell what markr adds to its own work (no target).
# The sides are measured alternately, MARKR_BENCH_ROUNDS times (3), and the medians compared:
# the machine is shared, so only figures of one run compare.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${MARKR_BENCH_ROUNDS:-3}
bin=build/bench/import_bench
pgbench=${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench
[[ -x $bin ]] || { echo "bench: $bin is missing: run make build" >&2; exit 1; }
[[ -x $pgbench ]] || { echo "bench: $pgbench is missing (package postgresql-15): run make deps" >&2; exit 1; }
if ! command -v xmllint >/dev/null; then
    # Only the benchmark needs it: installed here as root, else the command is printed.
    echo "bench: xmllint is missing; installing libxml2-utils (scripts/deps.sh)" >&2
    bash scripts/deps.sh
fi

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work"; bench_cleanup' EXIT
bench_fresh_db markr_bench_import
bench_serve "${MARKR_BENCH_IMPORT_PORT:-0}" "$work/markr.log"
port=$bench_served_port
url=http://127.0.0.1:$port
export MARKR_BENCH_URL=$url

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Warm-up: the server's connections and the database's caches; also writes the 30-result
# document that pgbench's transaction stores as its body.
"$bin" single 50 "$work/doc30.xml" >/dev/null
body=$(<"$work/doc30.xml")
pgb=("$pgbench" -n -M prepared -f bench/import_tx.sql -D "body=$body")
full=("$pgbench" -n -M prepared -f bench/import_tx_full.sql -D "body=$body")
"${pgb[@]}" -c 1 -j 1 -t 50 "$DATABASE_URL" >/dev/null 2>&1
"${full[@]}" -c 1 -j 1 -t 50 "$DATABASE_URL" >/dev/null 2>&1
runs=300
shown_pgb="$pgbench -n -M prepared -f bench/import_tx.sql -D body=\"\$(cat doc30.xml)\""

echo "import vs the database's own work ($bench_markr), $(nproc) cores, $rounds alternating rounds (medians)"
echo "(a) 30-result import ($(wc -c <"$work/doc30.xml") bytes), p50 of $runs, one client"
# The p50 of pgbench's per-transaction log of the script given, one client.
pgb_p50() {
    rm -f "$work"/pgb_log*
    "$@" -c 1 -j 1 -t "$runs" -l --log-prefix="$work/pgb_log" "$DATABASE_URL" >/dev/null 2>&1
    cat "$work"/pgb_log* | awk '{ print $3 / 1000 }' | median
}
a_markr=() a_pgb=() a_full=()
for ((r = 1; r <= rounds; r++)); do
    a_markr+=("$("$bin" single "$runs" "$work/doc30.xml" | field p50_ms)")
    a_pgb+=("$(pgb_p50 "${pgb[@]}")")
    a_full+=("$(pgb_p50 "${full[@]}")")
    echo "    round $r: markr ${a_markr[-1]} ms, pgbench ${a_pgb[-1]} ms, pgbench of the whole work ${a_full[-1]} ms"
done
am=$(printf '%s\n' "${a_markr[@]}" | median) ap=$(printf '%s\n' "${a_pgb[@]}" | median)
af=$(printf '%s\n' "${a_full[@]}" | median)
echo "    markr:   MARKR_BENCH_URL=$url $bin single $runs doc30.xml"
echo "    pgbench: $shown_pgb -c 1 -j 1 -t $runs -l  (p50 of the per-transaction log)"
echo "    p50: markr $am ms, pgbench $ap ms: ratio $(ratio "$am" "$ap") (target <= 1.3)"
echo "    markr's whole database work: ${shown_pgb/import_tx.sql/import_tx_full.sql} -c 1 -j 1 -t $runs -l"
echo "    p50: markr $am ms, pgbench of the whole work $af ms: ratio $(ratio "$am" "$af") (no target)"

secs=${MARKR_BENCH_SECONDS:-5}
echo "(b) 8 concurrent clients, ${secs} s each"
# pgbench's transactions per second of the script given, 8 clients.
pgb_tps() {
    "$@" -c 8 -j 2 -T "$secs" "$DATABASE_URL" 2>/dev/null |
        sed -n 's/^tps = \([0-9]*\.[0-9]\).* (without initial connection time)/\1/p'
}
b_markr=() b_pgb=() b_full=()
for ((r = 1; r <= rounds; r++)); do
    b_markr+=("$("$bin" concurrent 8 "$secs" | field imports_per_s)")
    b_pgb+=("$(pgb_tps "${pgb[@]}")")
    b_full+=("$(pgb_tps "${full[@]}")")
    echo "    round $r: markr ${b_markr[-1]} imports/s, pgbench ${b_pgb[-1]} tps, pgbench of the whole work ${b_full[-1]} tps"
done
bm=$(printf '%s\n' "${b_markr[@]}" | median) bp=$(printf '%s\n' "${b_pgb[@]}" | median)
bf=$(printf '%s\n' "${b_full[@]}" | median)
echo "    markr:   MARKR_BENCH_URL=$url $bin concurrent 8 $secs"
echo "    pgbench: $shown_pgb -c 8 -j 2 -T $secs"
echo "    markr $bm imports/s, pgbench $bp tps: ratio $(ratio "$bm" "$bp") (target >= 0.8)"
echo "    markr's whole database work: ${shown_pgb/import_tx.sql/import_tx_full.sql} -c 8 -j 2 -T $secs"
echo "    markr $bm imports/s, pgbench of the whole work $bf tps: ratio $(ratio "$bm" "$bf") (no target)"

big_runs=5
echo "(c) 10,000-result import, p50 of $big_runs"
c_markr=() c_xml=()
"$bin" big 1 "$work/doc10k.xml" >/dev/null
for ((r = 1; r <= rounds; r++)); do
    c_markr+=("$("$bin" big "$big_runs" "$work/doc10k.xml" | field p50_ms)")
    times=()
    for ((i = 0; i < big_runs; i++)); do
        start=$(date +%s%N)
        xmllint --stream --noout "$work/doc10k.xml"
        times+=("$(( ($(date +%s%N) - start) / 1000 ))")
    done
    c_xml+=("$(printf '%s\n' "${times[@]}" | median | awk '{ print $1 / 1000 }')")
    echo "    round $r: markr ${c_markr[-1]} ms, xmllint ${c_xml[-1]} ms"
done
cm=$(printf '%s\n' "${c_markr[@]}" | median) cx=$(printf '%s\n' "${c_xml[@]}" | median)
echo "    markr:   MARKR_BENCH_URL=$url $bin big $big_runs doc10k.xml ($(wc -c <"$work/doc10k.xml") bytes)"
echo "    xmllint: xmllint --stream --noout doc10k.xml  (p50 of $big_runs, wall time)"
echo "    p50: markr $cm ms, xmllint $cx ms: ratio $(ratio "$cm" "$cx") (target <= 1.5)"
