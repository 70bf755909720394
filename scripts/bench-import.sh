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
# (b) and (c) also print where the CPU went, from the kernel's accounting: per import (or
# transaction), markr's, its client's and the database's; for (b) the ratio that the
# database's share alone allows, for (c) the floor that the backends' CPU puts under the
# import's wall time (bench/README.md).
# The sides are measured alternately, MARKR_BENCH_ROUNDS times (3), and the medians compared:
# the machine is shared, so only figures of one run compare. Every side writes its WAL into
# recycled segments, as on a database that has run a while (bench_recycled_wal, ADR 0042).
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
# The run writes about 1.3 GB of WAL: all of it into recycled segments (bench-lib.sh).
bench_recycled_wal 1536
bench_serve "${MARKR_BENCH_IMPORT_PORT:-0}" "$work/markr.log"
port=$bench_served_port
url=http://127.0.0.1:$port
export MARKR_BENCH_URL=$url

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Where the CPU goes, from the kernel's accounting, in ms: the whole machine's busy time
# (/proc/stat: user, nice, system, irq, softirq; not steal, which no process of ours spent),
# one process's own (utime and stime in /proc/PID/stat), the waited-for children of this
# shell (bash's times: the clients), and the database's (below). The machine's figure holds
# whatever else ran meanwhile: run on a quiet machine. In the C locale, so that `times` and
# EPOCHREALTIME write their decimals with a point.
export LC_ALL=C
clk=$(getconf CLK_TCK)
machine_ms() { awk -v t="$clk" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) * 1000 / t }' /proc/stat; }
process_ms() { sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$clk" '{ print ($12 + $13) * 1000 / t }'; }
# Sets children to the CPU of this shell's waited-for children so far, in ms: `times` must
# run in this shell (a subshell's children are not this shell's).
children_now() {
    times >"$work/times"
    children=$(awk 'END { split($0, f, /[ ms]+/); print (f[1] * 60 + f[2] + f[3] * 60 + f[4]) * 1000 }' "$work/times")
}
# The database is the postmaster (named by its data directory) and its children, live or
# ended: the postmaster reaps every one of them, and its cutime and cstime then hold what an
# ended one spent (a pgbench side's backends, autovacuum workers); one that has ended but is
# not reaped yet still has its /proc entry.
postmaster=$(head -n 1 "$("$bench_psql" -X -At -d "$DATABASE_URL" -c 'SHOW data_directory')/postmaster.pid")
dbname=$("$bench_psql" -X -At -d "$DATABASE_URL" -c 'SELECT current_database()')
postmaster_children() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" '{ pid = $1; sub(/^.*\) /, ""); if ($2 == pm) print pid }'
}
# One pass over /proc, so that a child reaped meanwhile is counted once, live or in the
# postmaster's cutime and cstime; taken again if the postmaster reaped one during the pass.
database_ms() {
    local ms=0 reaped before
    reaped=$(sed 's/^.*) //' "/proc/$postmaster/stat" | awk '{ print $14 + $15 }')
    before=-1
    while [[ $reaped != "$before" ]]; do
        before=$reaped
        ms=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" -v t="$clk" '
            { pid = $1; sub(/^.*\) /, "") }
            pid == pm { total += $12 + $13 + $14 + $15 }
            pid != pm && $2 == pm { total += $12 + $13 }
            END { print total * 1000 / t }')
        reaped=$(sed 's/^.*) //' "/proc/$postmaster/stat" | awk '{ print $14 + $15 }')
    done
    echo "$ms"
}
# Only the backends of connections to the benchmark's database (markr's, which stay open),
# without the background processes (WAL writer, checkpointer, autovacuum).
backends_ms() {
    local pid total=0
    for pid in $(postmaster_children); do
        if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "^postgres: [^ ]* $dbname "; then
            total=$(sum "$total" "$(process_ms "$pid" 2>/dev/null || echo 0)")
        fi
    done
    echo "$total"
}
sum() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
# Adds $2 - $3 to the variable named $1.
add() {
    local -n total=$1
    total=$(awk -v t="$total" -v a="$2" -v b="$3" 'BEGIN { print t + a - b }')
}
# $1 / $2, with $3 decimals (3).
per() { awk -v a="$1" -v n="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f", d, a / n }'; }
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
b_markr=() b_pgb=() b_full=()
# The CPU of each side over all rounds (ms): the machine's, the client's, the database's,
# markr's own, and what each side did (imports, transactions).
cpu_markr=0 cpu_markr_client=0 cpu_markr_db=0 cpu_markr_server=0 done_markr=0
cpu_pgb=0 cpu_pgb_client=0 cpu_pgb_db=0 done_pgb=0
cpu_full=0 cpu_full_client=0 cpu_full_db=0 done_full=0
# Runs "${@:4}" (which sets out), adding the machine's, the clients' and the database's CPU
# meanwhile to the variables named $1, $2 and $3.
measured() {
    local machine=$1 client=$2 db=$3 m0 c0 d0
    shift 3
    d0=$(database_ms) m0=$(machine_ms)
    children_now # after the readings above, whose subshells are children too
    c0=$children
    "$@"
    children_now
    add "$machine" "$(machine_ms)" "$m0"
    add "$client" "$children" "$c0"
    add "$db" "$(database_ms)" "$d0"
}
run_markr() { out=$("$bin" concurrent 8 "$secs"); }
run_pgb() { out=$("$@" -c 8 -j 2 -T "$secs" "$DATABASE_URL" 2>/dev/null); }
pgb_tps() { sed -n 's/^tps = \([0-9]*\.[0-9]\).* (without initial connection time)/\1/p' <<<"$out"; }
pgb_done() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out"; }
for ((r = 1; r <= rounds; r++)); do
    s0=$(process_ms "$bench_pid")
    measured cpu_markr cpu_markr_client cpu_markr_db run_markr
    add cpu_markr_server "$(process_ms "$bench_pid")" "$s0"
    b_markr+=("$(field imports_per_s <<<"$out")")
    done_markr=$((done_markr + $(field imports <<<"$out")))
    measured cpu_pgb cpu_pgb_client cpu_pgb_db run_pgb "${pgb[@]}"
    b_pgb+=("$(pgb_tps)")
    done_pgb=$((done_pgb + $(pgb_done)))
    measured cpu_full cpu_full_client cpu_full_db run_pgb "${full[@]}"
    b_full+=("$(pgb_tps)")
    done_full=$((done_full + $(pgb_done)))
    echo "    round $r: markr ${b_markr[-1]} imports/s, pgbench ${b_pgb[-1]} tps, pgbench of the whole work ${b_full[-1]} tps"
done
bm=$(printf '%s\n' "${b_markr[@]}" | median) bp=$(printf '%s\n' "${b_pgb[@]}" | median)
bf=$(printf '%s\n' "${b_full[@]}" | median)
echo "    markr:   MARKR_BENCH_URL=$url $bin concurrent 8 $secs"
echo "    pgbench: $shown_pgb -c 8 -j 2 -T $secs"
echo "    markr $bm imports/s, pgbench $bp tps: ratio $(ratio "$bm" "$bp") (target >= 0.8)"
echo "    markr's whole database work: ${shown_pgb/import_tx.sql/import_tx_full.sql} -c 8 -j 2 -T $secs"
echo "    markr $bm imports/s, pgbench of the whole work $bf tps: ratio $(ratio "$bm" "$bf") (no target)"
# CPU per import or transaction, and the ratio that the database's share of markr's imports
# alone allows: as if markr and its client cost nothing and the machine stayed as busy as
# pgbench kept it (pgbench's CPU per transaction over that share).
# One side's line: LABEL, its count, then the machine's, the client's and the database's CPU
# and, for markr's side, markr's own; what is left is "other".
cpu_line() {
    local label=$1 n=$2 all=$3 client=$4 db=$5 server=${6:-} own="" rest
    rest=$(awk -v m="$all" -v a="$client" -v b="$db" -v c="${server:-0}" 'BEGIN { print m - a - b - c }')
    [[ -z $server ]] || own=" + markr $(per "$server" "$n")"
    echo "      $label $(per "$all" "$n") ms = client $(per "$client" "$n")$own + database $(per "$db" "$n") + other $(per "$rest" "$n")"
}
echo "    CPU per import or transaction (kernel accounting over the rounds):"
cpu_line "markr:  " "$done_markr" "$cpu_markr" "$cpu_markr_client" "$cpu_markr_db" "$cpu_markr_server"
cpu_line "pgbench:" "$done_pgb" "$cpu_pgb" "$cpu_pgb_client" "$cpu_pgb_db"
cpu_line "pgbench of the whole work:" "$done_full" "$cpu_full" "$cpu_full_client" "$cpu_full_db"
db_bound=$(awk -v p="$cpu_pgb" -v np="$done_pgb" -v d="$cpu_markr_db" -v nd="$done_markr" 'BEGIN { printf "%.2f", (p / np) / (d / nd) }')
echo "    the database's share of markr's imports alone allows a ratio of $db_bound (pgbench's CPU per transaction over it: markr and its client free, the machine as busy as under pgbench)"

big_runs=5
echo "(c) 10,000-result import, p50 of $big_runs"
c_markr=() c_xml=()
# (b)'s imports leave autovacuum work behind (ANALYZE and VACUUM of marks), and dirty buffers
# that a checkpoint would write during (c): done here, they stay out of (c), which measures
# one import's path. The checkpoint also recycles the segments that (a) and (b) wrote.
"$bench_psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c 'VACUUM (ANALYZE)' -c CHECKPOINT
"$bin" big 1 "$work/doc10k.xml" >/dev/null
cpu_big_server=0 cpu_big_db=0 cpu_big_backends=0 cpu_xml=0
for ((r = 1; r <= rounds; r++)); do
    s0=$(process_ms "$bench_pid") d0=$(database_ms) k0=$(backends_ms)
    c_markr+=("$("$bin" big "$big_runs" "$work/doc10k.xml" | field p50_ms)")
    add cpu_big_server "$(process_ms "$bench_pid")" "$s0"
    add cpu_big_db "$(database_ms)" "$d0"
    add cpu_big_backends "$(backends_ms)" "$k0"
    children_now
    x0=$children
    times=()
    for ((i = 0; i < big_runs; i++)); do
        start=${EPOCHREALTIME/./}
        xmllint --stream --noout "$work/doc10k.xml"
        times+=("$((${EPOCHREALTIME/./} - start))")
    done
    children_now
    add cpu_xml "$children" "$x0"
    c_xml+=("$(printf '%s\n' "${times[@]}" | median | awk '{ print $1 / 1000 }')")
    echo "    round $r: markr ${c_markr[-1]} ms, xmllint ${c_xml[-1]} ms"
done
cm=$(printf '%s\n' "${c_markr[@]}" | median) cx=$(printf '%s\n' "${c_xml[@]}" | median)
echo "    markr:   MARKR_BENCH_URL=$url $bin big $big_runs doc10k.xml ($(wc -c <"$work/doc10k.xml") bytes)"
echo "    xmllint: xmllint --stream --noout doc10k.xml  (p50 of $big_runs, wall time)"
echo "    p50: markr $cm ms, xmllint $cx ms: ratio $(ratio "$cm" "$cx") (target <= 1.5)"
# One import is one transaction, run by one backend: the backends' CPU per import is a floor
# under its wall time, however the rest overlaps with it.
big_n=$((rounds * big_runs))
big_backends=$(per "$cpu_big_backends" "$big_n" 0)
echo "    CPU per import (kernel accounting over the rounds): markr $(per "$cpu_big_server" "$big_n" 0) ms, database $(per "$cpu_big_db" "$big_n" 0) ms, of which markr's backends $big_backends ms; xmllint $(per "$cpu_xml" "$big_n" 0) ms"
echo "    the backends' CPU alone (one transaction on one backend per import) is $(ratio "$big_backends" "$cx") x xmllint's wall time"
