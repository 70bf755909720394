#!/usr/bin/env bash
# `make run`: installs what is missing (as root), builds, and serves Markr in the foreground.
# Without DATABASE_URL (in the environment or in ./.env) it starts the private cluster of
# scripts/pg-private.sh and points DATABASE_URL at it; a cluster started here is stopped when
# markr ends, including on Ctrl-C. Then `markr migrate` and `markr serve` (MARKR_LISTEN,
# default 0.0.0.0:8085).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
bash scripts/build.sh build

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

# markr reads ./.env itself (the environment wins); a DATABASE_URL there is the user's choice.
dotenv_sets_database_url() {
    [[ -f .env ]] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?DATABASE_URL[[:space:]]*=[[:space:]]*[^[:space:]]' .env
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
    url=$(bash scripts/pg-private.sh env)
    export DATABASE_URL=${url#DATABASE_URL=}
    echo "run: DATABASE_URL=$DATABASE_URL"
fi

build/markr migrate

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
