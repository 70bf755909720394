#!/usr/bin/env bash
# `make run`: installs what is missing (as root), builds markr (only it: not the tests and
# benchmarks), and serves Markr in the foreground. Without DATABASE_URL (in the environment
# or in ./.env) it starts the private cluster of scripts/pg-private.sh and points
# DATABASE_URL at it; a cluster started here is stopped when markr ends, including on Ctrl-C.
# Then `markr migrate` and `markr serve` on MARKR_LISTEN, which is 127.0.0.1:8085 here
# unless the environment or ./.env says otherwise: a developer's machine should not serve
# its network by surprise (the service's own default, for containers and the package,
# stays 0.0.0.0:8085). It says where it listens and where the dashboard is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
bash scripts/build.sh build --only=markr

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

# markr reads ./.env itself (the environment wins); a setting there is the user's choice.
# Prints the value .env gives NAME (the first line that sets it, as markr reads it).
dotenv_value() {
    local line value
    [[ -f .env ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*(.*)$ ]]; then
            value=${BASH_REMATCH[2]}
            value=${value%"${value##*[![:space:]]}"}
            if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
                value=${BASH_REMATCH[1]}
            fi
            printf '%s' "$value"
            return 0
        fi
    done <.env
}
dotenv_sets_database_url() {
    [[ -n $(dotenv_value DATABASE_URL) ]]
}

if [[ -n ${DATABASE_URL:-} ]]; then
    echo "run: using DATABASE_URL from the environment"
elif dotenv_sets_database_url; then
    echo "run: using DATABASE_URL from .env"
else
    if ! bash scripts/pg-private.sh status 2>/dev/null; then
        stop_cluster=1
    fi
    bash scripts/pg-private.sh start
    DATABASE_URL=$(bash scripts/pg-private.sh url)
    export DATABASE_URL
    echo "run: DATABASE_URL=$DATABASE_URL"
fi

listen=${MARKR_LISTEN:-$(dotenv_value MARKR_LISTEN)}
if [[ -z $listen ]]; then
    listen=127.0.0.1:8085
    export MARKR_LISTEN=$listen
fi
port=${listen##*:}
host=${listen%:*}
case $host in
    0.0.0.0) where="every IPv4 address of this machine"; host=127.0.0.1 ;;
    "[::]") where="every address of this machine"; host="[::1]" ;;
    *) where=$host ;;
esac
build/markr migrate
if [[ $port == 0 ]]; then
    echo "run: serving on $where, on a free port (markr's msg=listening line says which)"
else
    echo "run: serving on $where, port $port; the dashboard: http://$host:$port/ (MARKR_LISTEN changes it)"
fi

# Not exec: this shell stays to stop the cluster afterwards. A background child of a
# non-interactive shell starts with SIGINT ignored (and markr takes its stop signals from a
# signalfd, which never sees an ignored signal), so Ctrl-C, SIGINT and SIGTERM are all
# passed on as SIGTERM, which markr treats as "stop".
build/markr serve &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM HUP
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid" || true
done
status=0
wait "$pid" || status=$?
pid=""
exit "$status"
