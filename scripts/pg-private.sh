#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for `make run`, `make test` and `make bench` (ADR 0008).
#
#   scripts/pg-private.sh start         initialise if needed, start, create database `markr`
#   scripts/pg-private.sh stop          stop it (fast shutdown); nothing to do if stopped
#   scripts/pg-private.sh status        exit 0 when running, 3 when not
#   scripts/pg-private.sh env [DBNAME]  print DATABASE_URL='<conninfo>', quoted for the shell:
#                                       eval "$(scripts/pg-private.sh env)" sets it (DBNAME
#                                       defaults to markr); export DATABASE_URL after it
#   scripts/pg-private.sh url [DBNAME]  print the bare conninfo, for scripts: X=$(... url)
#   scripts/pg-private.sh destroy       stop it and delete its directory (all its data)
#   scripts/pg-private.sh standby-start [DBNAME]  start the primary if needed, then a hot
#                                       standby of it (made with pg_basebackup -R, streaming
#                                       replication through a slot; made again when it
#                                       cannot catch up) in standby/ beside it
#   scripts/pg-private.sh standby-stop  stop the standby only; nothing to do if stopped
#   scripts/pg-private.sh standby-env [DBNAME]  print MARKR_READ_DATABASE_URL=<conninfo>
#   (`stop` and `destroy` stop the standby too.)
#
# Everything lives in the git-ignored .markr-pg/ of the repository (data/, run/ for the
# socket, log/). It listens on a unix socket only (no TCP), on
# port MARKR_PG_PORT (environment, else .env; default 55432), with trust authentication for user `postgres`: only
# whoever can reach the socket directory can connect. initdb refuses to run as root, so as
# root the cluster belongs to the `postgres` system user; when that user cannot reach the
# project directory (a clone under /root, say), or the path is too long for a unix socket,
# the cluster moves to a directory under /tmp named from the requested one, and we say so.
# as_standby swaps the globals for the standby in a subshell, on purpose:
# shellcheck disable=SC2030,SC2031
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pgbin=${MARKR_PG_BIN:-/usr/lib/postgresql/15/bin}

# MARKR_PG_PORT from the environment, else from ./.env (as markr reads its settings), else 55432.
dotenv_value() {
    local name=$1 line value=""
    [[ -f "$root/.env" ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?${name}[[:space:]]*=[[:space:]]*(.*)$ ]]; then
            value=${BASH_REMATCH[2]}
            value=${value%"${value##*[![:space:]]}"}
            if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
                value=${BASH_REMATCH[1]}
            fi
            break # the first one counts, as in markr
        fi
    done <"$root/.env"
    printf '%s' "$value"
}
port=${MARKR_PG_PORT:-$(dotenv_value MARKR_PG_PORT)}
port=${port:-55432}
# The standby listens on the next port unless MARKR_PG_STANDBY_PORT says otherwise.
standby_port=${MARKR_PG_STANDBY_PORT:-$(dotenv_value MARKR_PG_STANDBY_PORT)}
# MARKR_PG_DIR moves the cluster elsewhere (the outage test makes a throwaway one).
preferred_base=${MARKR_PG_DIR:-$root/.markr-pg}
[[ $preferred_base == /* ]] || preferred_base=$PWD/$preferred_base

say() { echo "pg-private: $*" >&2; }
die() { say "$*"; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

owner_name() {
    if is_root; then echo postgres; else id -un; fi
}

# Runs a command as the owner of the cluster, from a directory every user can enter (initdb
# fails when it cannot resolve its working directory, for example /root as `postgres`).
as_owner() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Makes dir (mode 700) belong to the cluster's owner and checks that the owner can really
# use it: an ancestor that the owner may not traverse makes the test fail. A directory that
# exists already must be a real directory of ours (the /tmp fallback is shared ground).
prepare_dir() {
    local dir=$1 owner
    if [[ -e $dir || -L $dir ]]; then
        [[ -d $dir && ! -L $dir ]] || return 1
        owner=$(stat -c %U -- "$dir")
        [[ $owner == "$(owner_name)" || $owner == "$(id -un)" ]] || return 1
    else
        mkdir -- "$dir" || return 1
    fi
    chmod 700 -- "$dir" || return 1
    if is_root; then
        chown postgres:postgres -- "$dir" || return 1
    fi
    as_owner test -w "$dir" -a -x "$dir" 2>/dev/null
}

# A unix socket path is limited to 107 bytes, and the socket is <dir>/.s.PGSQL.<port>.
socket_fits() {
    local dir=$1
    (( ${#dir} + ${#port} + 11 <= 107 ))
}

# Chooses the base directory; prints it. Deterministic, so that start, stop and env agree.
# The fallback is named from the requested directory (not from the checkout), so that two
# clusters asked for in different places (the suite's own and a test's throwaway one under
# MARKR_PG_DIR) never fall back to the same directory.
choose_base() {
    local fallback
    fallback="/tmp/markr-pg-$(id -u)-$(printf '%s' "$preferred_base" | cksum | cut -d' ' -f1)"
    if [[ -d "$fallback/data" && ! -d "$preferred_base/data" ]]; then
        # An earlier start already fell back; keep using it.
        printf '%s\n' "$fallback"
        return
    fi
    if socket_fits "$preferred_base/run" && prepare_dir "$preferred_base"; then
        printf '%s\n' "$preferred_base"
        return
    fi
    say "$preferred_base is not usable by user $(owner_name) (an untraversable parent directory, or a path too long for a unix socket); using $fallback instead"
    rmdir -- "$preferred_base" 2>/dev/null || true
    prepare_dir "$fallback" || die "cannot use $fallback (not a directory of $(owner_name)'s?): remove it and try again"
    printf '%s\n' "$fallback"
}

require_binaries() {
    [[ -x "$pgbin/initdb" && -x "$pgbin/pg_ctl" && -x "$pgbin/pg_isready" && -x "$pgbin/psql" ]] ||
        die "PostgreSQL 15 binaries not found in $pgbin: run scripts/deps.sh (as root) first"
}

# The state of the process named by postmaster.pid: alive, zombie (killed, not yet reaped by
# init: the pid still exists, so pg_ctl and the next postmaster would take it for alive) or none.
postmaster_state() {
    local pid state
    [[ -r "$data/postmaster.pid" ]] || { echo none; return; }
    pid=$(head -n 1 -- "$data/postmaster.pid")
    [[ $pid =~ ^[0-9]+$ ]] || { echo none; return; }
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || state=""
    case $state in
        "") echo none ;;
        Z | X) echo zombie ;;
        *) echo alive ;;
    esac
}

is_running() {
    [[ -f "$data/PG_VERSION" && $(postmaster_state) == alive ]] &&
        as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# A postmaster that was killed leaves postmaster.pid behind; PostgreSQL ignores it when the
# pid is gone, but not while the pid is a zombie. Wait a little for init, then remove it.
clear_stale_pid() {
    local i
    for ((i = 0; i < 20; i++)); do
        [[ $(postmaster_state) == zombie ]] || return 0
        sleep 0.25
    done
    say "removing the stale postmaster.pid of a killed server"
    rm -f -- "$data/postmaster.pid"
}

# The socket directory and port of the running server (postmaster.pid lines 4 and 5), else
# the configured ones.
current_endpoint() {
    local pid_port="" pid_sock=""
    if is_running && [[ -r "$data/postmaster.pid" ]]; then
        pid_port=$(sed -n 4p "$data/postmaster.pid")
        pid_sock=$(sed -n 5p "$data/postmaster.pid")
    fi
    ep_port=${pid_port:-$port}
    ep_sock=${pid_sock:-$sockdir}
}

# libpq conninfo quoting: values with spaces, quotes or backslashes go in single quotes.
conninfo_value() {
    local v=$1
    if [[ $v =~ [[:space:]\'\\] || -z $v ]]; then
        v=${v//\\/\\\\}
        v=${v//\'/\\\'}
        printf "'%s'" "$v"
    else
        printf '%s' "$v"
    fi
}

conninfo() {
    local dbname=$1
    current_endpoint
    printf 'host=%s port=%s user=postgres dbname=%s' \
        "$(conninfo_value "$ep_sock")" "$ep_port" "$(conninfo_value "$dbname")"
}

# The settings of the cluster in $data (the primary's, or the standby's under as_standby).
write_settings() {
    # Rewritten at every start so that MARKR_PG_PORT and the paths are current. Tuned for a
    # development machine; fsync and synchronous_commit stay on, durability is under test.
    # wal_level, max_wal_senders and hot_standby are PostgreSQL 15's defaults, written out
    # because the standby (standby-start) depends on them.
    local conf="$data/markr.conf" quoted_sockdir=${sockdir//\'/\'\'}
    cat >"$conf" <<CONF
# Written by scripts/pg-private.sh at every start; edits are lost.
listen_addresses = ''
port = $port
unix_socket_directories = '$quoted_sockdir'
wal_level = replica
max_wal_senders = 10
hot_standby = on
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 256MB
work_mem = 64MB
maintenance_work_mem = 256MB
max_wal_size = 2GB
max_slot_wal_keep_size = 4GB
fsync = on
synchronous_commit = on
full_page_writes = on
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
CONF
    if is_root; then
        chown postgres:postgres -- "$conf"
    fi
    chmod 600 -- "$conf"
}

init_cluster() {
    if [[ -d "$data" && ! -f "$data/PG_VERSION" ]]; then
        # Left by an initdb that was interrupted: it is ours and holds nothing.
        say "removing the incomplete cluster in $data"
        rm -rf -- "$data"
    fi
    say "initialising a new cluster in $data"
    as_owner mkdir -p -- "$data"
    as_owner chmod 700 -- "$data"
    as_owner "$pgbin/initdb" -D "$data" -A trust -U postgres --encoding=UTF8 --locale=C \
        --no-instructions >"$logdir/initdb.log" 2>&1 ||
        { cat "$logdir/initdb.log" >&2; die "initdb failed"; }
    printf "\ninclude = 'markr.conf'\n" | as_owner tee -a "$data/postgresql.conf" >/dev/null
}

wait_ready() {
    local i
    current_endpoint
    for ((i = 0; i < 120; i++)); do
        if "$pgbin/pg_isready" -q -h "$ep_sock" -p "$ep_port" -d postgres -U postgres; then
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 -- "$logdir/postgres.log" >&2 || true
    die "the server did not become ready within 60 s; log: $logdir/postgres.log"
}

ensure_database() {
    local exists
    exists=$("$pgbin/psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$(conninfo postgres)" \
        -c "SELECT 1 FROM pg_database WHERE datname = 'markr'")
    if [[ $exists != 1 ]]; then
        # Two starts racing may both try; the loser's error is harmless if the database exists.
        "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -d "$(conninfo postgres)" -c 'CREATE DATABASE markr' 2>/dev/null ||
            [[ $("$pgbin/psql" -X -q -t -A -d "$(conninfo postgres)" \
                -c "SELECT 1 FROM pg_database WHERE datname = 'markr'") == 1 ]] ||
            die "cannot create database markr"
    fi
}

cmd_start() {
    require_binaries
    as_owner mkdir -p -- "$sockdir" "$logdir"
    as_owner chmod 700 -- "$sockdir" "$logdir"
    if is_running; then
        current_endpoint
        if [[ $ep_port != "$port" ]]; then
            say "already running on port $ep_port (MARKR_PG_PORT asks for $port; stop it to change)"
        else
            say "already running ($sockdir, port $ep_port)"
        fi
    else
        [[ -f "$data/PG_VERSION" ]] || init_cluster
        clear_stale_pid
        write_settings
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$logdir/postgres.log" -w -t 60 start >/dev/null ||
            { tail -n 30 -- "$logdir/postgres.log" >&2 || true; die "could not start; log: $logdir/postgres.log"; }
        say "started ($sockdir, port $port, log $logdir/postgres.log)"
    fi
    wait_ready
    ensure_database
}

# --- the standby: a hot standby of the primary, in <base>/standby, on standby_port ---------

# Runs "$@" with the globals of the standby's cluster in place of the primary's (in a
# subshell: the primary's stay as they were).
as_standby() {
    (
        data=$base/standby/data
        sockdir=$base/standby/run
        logdir=$base/standby/log
        port=$standby_port
        "$@"
    )
}

# initdb -A trust already lets `local replication all` in; a cluster made otherwise gets
# the line (the socket's directory is mode 700, so only its owner reaches it).
ensure_replication_hba() {
    if ! as_owner grep -Eq '^[[:space:]]*local[[:space:]]+replication[[:space:]]' "$data/pg_hba.conf"; then
        printf 'local replication all trust\n' | as_owner tee -a "$data/pg_hba.conf" >/dev/null
        as_owner "$pgbin/pg_ctl" -D "$data" reload >/dev/null
    fi
}

# The standby streams through a physical replication slot, so the primary keeps the WAL it
# has not received while it is stopped (benchmarks write gigabytes meanwhile), up to
# max_slot_wal_keep_size. Past that the slot is lost and the standby can never catch up:
# it is made again from a fresh base backup, as is one made without the slot.
standby_slot=markr_standby

# The slot's wal_status on the primary ("reserved", "extended", "unreserved", "lost"), or
# nothing when there is no such slot.
standby_slot_status() {
    "$pgbin/psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" \
        -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$standby_slot'"
}

standby_start_here() {
    local primary=$1 slot
    socket_fits "$sockdir" || die "$sockdir is too long for a unix socket"
    as_owner mkdir -p -- "$base/standby" "$sockdir" "$logdir"
    as_owner chmod 700 -- "$base/standby" "$sockdir" "$logdir"
    slot=$(standby_slot_status "$primary") || die "could not read the primary's replication slots"
    if [[ -f "$data/PG_VERSION" && ( -z $slot || $slot == lost ) ]]; then
        say "the standby cannot catch up (slot ${slot:-missing}): making it again"
        if is_running; then
            as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
        fi
        as_owner rm -rf -- "$data"
    fi
    if is_running; then
        say "standby already running ($sockdir, port $port)"
    else
        if [[ ! -f "$data/PG_VERSION" ]]; then
            as_owner rm -rf -- "$data"
            if [[ -n $slot ]]; then
                "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -d "$primary" \
                    -c "SELECT pg_drop_replication_slot('$standby_slot')" >/dev/null ||
                    die "could not drop the replication slot $standby_slot"
            fi
            say "making the standby in $data (pg_basebackup -R, slot $standby_slot)"
            as_owner "$pgbin/pg_basebackup" -D "$data" -R -X stream -C -S "$standby_slot" -c fast -d "$primary" \
                >"$logdir/basebackup.log" 2>&1 ||
                { cat "$logdir/basebackup.log" >&2; as_owner rm -rf -- "$data"; die "pg_basebackup failed"; }
        fi
        clear_stale_pid
        write_settings
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$logdir/postgres.log" -w -t 60 start >/dev/null ||
            { tail -n 30 -- "$logdir/postgres.log" >&2 || true; die "could not start the standby; log: $logdir/postgres.log"; }
        say "standby started ($sockdir, port $port, log $logdir/postgres.log)"
    fi
    wait_ready
}

cmd_standby_start() {
    cmd_start
    ensure_replication_hba
    as_standby standby_start_here "$(conninfo postgres) application_name=markr-standby"
}

standby_stop_here() {
    if ! is_running; then
        say "standby not running"
        return 0
    fi
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    say "standby stopped"
}

cmd_standby_stop() {
    as_standby standby_stop_here
}

standby_env_here() {
    printf 'MARKR_READ_DATABASE_URL=%s\n' "$(conninfo "$1")"
}

cmd_stop() {
    [[ ! -d "$base/standby/data" ]] || cmd_standby_stop
    if ! is_running; then
        say "not running"
        return 0
    fi
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    say "stopped"
}

cmd_destroy() {
    cmd_stop
    rm -rf -- "$base"
    say "removed $base"
}

cmd_status() {
    if is_running; then
        current_endpoint
        say "running in $base (socket $ep_sock, port $ep_port)"
        return 0
    fi
    say "not running ($base)"
    return 3
}

usage() {
    echo "usage: $0 start|stop|status|env [DBNAME]|url [DBNAME]|destroy|standby-start|standby-stop|standby-env [DBNAME]" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || (( 10#$port < 1 || 10#$port > 65535 )); then
    die "MARKR_PG_PORT must be a port number, not '$port'"
fi
port=$((10#$port))
standby_port=${standby_port:-$((port + 1))}
if ! [[ $standby_port =~ ^[0-9]{1,5}$ ]] || (( 10#$standby_port < 1 || 10#$standby_port > 65535 )) ||
    (( 10#$standby_port == port )); then
    die "MARKR_PG_STANDBY_PORT must be a port number other than MARKR_PG_PORT, not '$standby_port'"
fi
standby_port=$((10#$standby_port))

case $1 in
    start | stop | status | env | url | destroy | standby-start | standby-stop | standby-env) ;;
    *) usage ;;
esac

if is_root && ! id -u postgres >/dev/null 2>&1; then
    # No `postgres` user yet: PostgreSQL is not installed, so nothing can be running.
    case $1 in
        status) say "not running (PostgreSQL 15 is not installed)"; exit 3 ;;
        stop | destroy | standby-stop) say "not running (PostgreSQL 15 is not installed)"; exit 0 ;;
        *) die "PostgreSQL 15 is not installed (no user postgres): run scripts/deps.sh first" ;;
    esac
fi

base=$(choose_base)
data=$base/data
sockdir=$base/run
logdir=$base/log

case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    destroy) cmd_destroy ;;
    # Single quotes keep the spaces of the conninfo; a quote inside is written '\''.
    env) url=$(conninfo "${2:-markr}"); printf "DATABASE_URL='%s'\n" "${url//\'/\'\\\'\'}" ;;
    url) conninfo "${2:-markr}"; echo ;;
    standby-start) cmd_standby_start ;;
    standby-stop) cmd_standby_stop ;;
    standby-env) as_standby standby_env_here "${2:-markr}" ;;
esac
