#!/usr/bin/env bash
# The database's instructions per transaction of pgbench scripts (`make bench-pg-instructions`;
# not part of `make test` or `make bench`: it is slow and needs valgrind). Wall clocks on a
# shared machine vary by 2-3 x from minute to minute; the instructions a backend executes do
# not, so database-side changes are decided by them (bench/README.md).
#
#   scripts/bench-pg-instructions.sh SCRIPT.sql...
#
# A throw-away cluster in a temporary directory, made by scripts/pg-private.sh (MARKR_PG_DIR),
# so that its settings are those of the private cluster of `make run`, `make test` and
# `make bench`; it is migrated by `${MARKR_BENCH_BINARY:-build/markr} migrate` (an older build
# brings its own migrations). The 30-result document that bench/import_tx.sql and
# bench/import_tx_full.sql store as their body (-D body=...) is made as scripts/bench-import.sh
# makes it: `markr serve` (the same binary) on 127.0.0.1:MARKR_BENCH_PG_SERVE_PORT (0: a free port)
# against that cluster, and one import of build/bench/import_bench, which writes the document
# it sent. The server is stopped and the cluster restarted under
#   valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=<tmp>/cg/cg.%p
# and, for each script, after a warm-up run of MARKR_BENCH_PG_WARMUP transactions (20), the
# backend of a run of N1 and of a run of N2 transactions on one connection
# (MARKR_BENCH_PG_TX1, MARKR_BENCH_PG_TX2: 100 and 300) give
#   instructions per transaction = (Ir(N2) - Ir(N1)) / (N2 - N1),
# which cancels the connection's start and end. The backend that ran a script is the one new
# process that ran a portal (PortalRun, one of the postgres binary's exported symbols; its
# static ones are not known to callgrind): pgbench's setup connection runs no statement, and
# autovacuum workers and the other auxiliary processes run none through a portal. The scripts
# run one after another in the same database. The cluster is stopped and the temporary
# directory removed on every exit; no other cluster is touched.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SCRIPT.sql..." >&2; exit 2; }
# The scripts as given (for the figures) and as absolute paths (we run from the checkout).
scripts=()
for script in "$@"; do
    [[ -f $script && -r $script ]] || { echo "bench-pg-instructions: $script is not a readable file" >&2; exit 1; }
    scripts+=("$(realpath -e -- "$script")")
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pgbin=${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}
pgbench=$pgbin/pgbench
importer=build/bench/import_bench
serve_port=${MARKR_BENCH_PG_SERVE_PORT:-0}
warmup=${MARKR_BENCH_PG_WARMUP:-20}
n1=${MARKR_BENCH_PG_TX1:-100}
n2=${MARKR_BENCH_PG_TX2:-300}

say() { echo "bench-pg-instructions: $*" >&2; }
die() { say "$*"; exit 1; }

for v in MARKR_BENCH_PG_WARMUP=$warmup MARKR_BENCH_PG_TX1=$n1 MARKR_BENCH_PG_TX2=$n2; do
    [[ ${v#*=} =~ ^[1-9][0-9]{0,5}$ ]] || die "the transaction counts must be whole numbers from 1 to 999999, not $v"
done
((n2 > n1)) || die "MARKR_BENCH_PG_TX2 ($n2) must be greater than MARKR_BENCH_PG_TX1 ($n1)"
if ! [[ $serve_port =~ ^[0-9]{1,5}$ ]] || ((10#$serve_port > 65535)); then
    die "MARKR_BENCH_PG_SERVE_PORT must be a port number, not '$serve_port'"
fi
# A development tool: valgrind is not one of scripts/deps.sh's packages (every CI run would
# install it for nothing).
command -v valgrind >/dev/null || die "valgrind is missing: install it (as root) with apt-get install valgrind"
[[ -x $pgbench && -x $pgbin/postgres && -x $pgbin/pg_ctl && -x $pgbin/pg_isready ]] ||
    die "the PostgreSQL 15 binaries are missing from $pgbin (package postgresql-15): run make deps"
[[ -x $importer ]] || die "$importer is missing: run make build"

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

# Everything lives in $work: the cluster (pg/, made by pg-private.sh, which gives it to the
# `postgres` user when we are root), the callgrind files (cg/) and the document. The
# `postgres` user must traverse $work and write cg/.
work=$(mktemp -d)
chmod 711 -- "$work"
pg=$work/pg
cg=$work/cg
export MARKR_PG_DIR=$pg
export MARKR_PG_PORT=${MARKR_PG_PORT:-55432} # a socket of its own directory: no clash

is_root() { [[ $(id -u) -eq 0 ]]; }
as_owner() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    bench_cleanup
    if [[ -n ${pgbench_pid:-} ]]; then
        kill -TERM "$pgbench_pid" 2>/dev/null || true
        wait "$pgbench_pid" 2>/dev/null || true
    fi
    if [[ -f $pg/data/postmaster.pid ]]; then
        as_owner "$pgbin/pg_ctl" -D "$pg/data" -m immediate -w -t 120 stop >/dev/null 2>&1 || true
    fi
    bash scripts/pg-private.sh destroy >/dev/null 2>&1 || true
    rm -rf -- "$work"
}
trap cleanup EXIT

# 1. The cluster, its database `markr` and markr's migrations, at native speed.
bash scripts/pg-private.sh start 2>"$work/pg-private.log" || { cat "$work/pg-private.log" >&2; exit 1; }
# pg-private.sh moves a cluster that its owner cannot reach; this one must stay in $work.
[[ -f $pg/data/PG_VERSION ]] || { cat "$work/pg-private.log" >&2; die "the cluster is not in $pg"; }
export DATABASE_URL
DATABASE_URL=$(bash scripts/pg-private.sh url markr)
"$bench_markr" migrate >/dev/null

# 2. The 30-result document, as scripts/bench-import.sh makes it.
bench_serve "$((10#$serve_port))" "$work/markr.log"
MARKR_BENCH_URL=http://127.0.0.1:$bench_served_port "$importer" single 1 "$work/doc30.xml" >/dev/null
kill -TERM "$bench_pid"
wait "$bench_pid" 2>/dev/null || true
body=$(<"$work/doc30.xml")

# 3. The same cluster again, under callgrind.
bash scripts/pg-private.sh stop 2>/dev/null
mkdir -m 700 -- "$cg"
if is_root; then
    chown postgres:postgres -- "$cg"
fi
log=$pg/log/callgrind-postgres.log
# valgrind must be the postmaster's own process (pg_ctl would start postgres itself); it runs
# in the background, as the cluster's owner, until cleanup stops it.
# shellcheck disable=SC2016  # expanded by the inner shell
as_owner bash -c 'valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$1/cg.%p" \
    "$2/postgres" -D "$3" >"$4" 2>&1 </dev/null &' _ "$cg" "$pgbin" "$pg/data" "$log"
# The socket directory is pg-private.sh's; it listens once valgrind has started it.
for ((i = 0; ; i++)); do
    url=$(bash scripts/pg-private.sh url markr)
    "$pgbin/pg_isready" -q -d "$url" && break
    ((i < 600)) || { tail -n 30 "$log" >&2; die "the cluster under callgrind did not start within 5 minutes"; }
    sleep 0.5
done

# The callgrind files present now (the cluster's owner writes them; we may read them).
cg_files() { find "$cg" -maxdepth 1 -name 'cg.*' -printf '%f\n' | sort; }

# Sets ir to the total Ir of the backend of one run of script $1 for $2 transactions on one
# connection: the one new callgrind file of a process that ran a portal, once every new file
# is complete. pgbench runs in the background so that a signal ends us (and it) at once.
ir=""
pgbench_pid=""
backend_ir() {
    local script=$1 tx=$2 before f found complete i
    before=$(cg_files)
    "$pgbench" -n -M prepared -f "$script" -D "body=$body" -c 1 -j 1 -t "$tx" "$url" >"$work/pgbench.log" 2>&1 &
    pgbench_pid=$!
    wait "$pgbench_pid" || { cat "$work/pgbench.log" >&2; die "pgbench failed on $script"; }
    pgbench_pid=""
    # The backend writes its file when it exits, just after pgbench disconnects.
    for ((i = 0; i < 1200; i++)); do
        found=() complete=1
        for f in $(comm -13 <(printf '%s\n' "$before") <(cg_files)); do
            if ! grep -q '^totals:' "$cg/$f"; then
                complete=0 # still being written
            elif grep -Eq '^c?fn=\([0-9]+\) PortalRun$' "$cg/$f"; then
                found+=("$f")
            fi
        done
        if ((complete && ${#found[@]} == 1)); then
            ir=$(awk '/^totals:/ { print $2 }' "$cg/${found[0]}")
            [[ $ir =~ ^[0-9]+$ ]] || die "no instruction count in $cg/${found[0]}"
            return 0
        fi
        ((${#found[@]} <= 1)) || die "more than one backend ran $script: ${found[*]}"
        sleep 0.1
    done
    die "no complete callgrind file of $script's backend within 2 minutes"
}

# shellcheck disable=SC2016  # shown, not run
shown_body='-D body="$(cat doc30.xml)"'
echo "database instructions per transaction ($bench_markr migrate; backend Ir under callgrind, (Ir($n2 tx) - Ir($n1 tx)) / $((n2 - n1)) on one connection, after $warmup warm-up tx)"
echo "document: $(wc -c <"$work/doc30.xml") bytes, 30 results (as scripts/bench-import.sh's doc30.xml)"
for ((k = 0; k < ${#scripts[@]}; k++)); do
    script=${scripts[k]} given=${*:k+1:1}
    backend_ir "$script" "$warmup"
    backend_ir "$script" "$n1"
    a=$ir
    backend_ir "$script" "$n2"
    b=$ir
    echo "$given: $(((b - a) / (n2 - n1))) instructions per transaction (Ir $a for $n1 tx, $b for $n2 tx)"
    echo "    reproduce: MARKR_BENCH_BINARY=$bench_markr MARKR_BENCH_PG_TX1=$n1 MARKR_BENCH_PG_TX2=$n2 MARKR_BENCH_PG_WARMUP=$warmup scripts/bench-pg-instructions.sh $given"
    echo "    each run:  $pgbench -n -M prepared -f $given $shown_body -c 1 -j 1 -t N  (postmaster under valgrind --tool=callgrind --trace-children=yes)"
done
