#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing Markr need, and only
# those that are missing: on an up-to-date machine it asks dpkg and does no apt work at all.
# As root it installs them (apt-get update first, non-interactive); as anyone else it prints
# the command to run and fails, rather than guessing at sudo.
set -euo pipefail

# Why each package is here:
packages=(
    build-essential        # gcc, make, libc headers
    meson ninja-build pkg-config
    libh2o-evloop-dev      # HTTP (h2o 2.2.5, its own event loop)
    libssl-dev             # h2o's headers include OpenSSL's; libcrypto hashes the vault's bodies
    libpq-dev              # PostgreSQL client
    libxml2-dev            # XML parsing
    libjson-c-dev          # JSON
    zlib1g-dev             # gzip and deflate request bodies; the end-to-end suites decode gzip answers
    libcmocka-dev          # unit and integration suites
    libcurl4-openssl-dev   # HTTP client: the live score feed (MARKR_FEED_URL), the end-to-end suites, the benchmark
    postgresql-15          # server binaries for the private cluster (/usr/lib/postgresql/15/bin)
    postgresql-client-15   # psql, pg_isready, createdb, pg_basebackup (the private standby)
    curl                   # health checks by hand and in scripts
    clang libclang-rt-14-dev  # libFuzzer and its sanitizers for `make fuzz` (fuzz/)
    chromium               # the dashboard's browser test (/usr/bin/chromium)
    wrk                    # load figures of bench-live and bench-load
    libxml2-utils          # xmllint: the baseline of bench-import's 10,000-result import
    python3                # scripts/test.sh counts results; bench/stream_clients.py
    libsystemd-dev         # sd_notify: readiness and stopping for markr.service (Type=notify)
    dpkg-dev debhelper     # the Debian package (debian/, scripts/package.sh)
    lintian                # checks it in `make test` (scripts/check-package.sh)
)
# node and npm run the browser test (playwright-core, axe-core: tests/browser/package-lock.json) and
# the OpenAPI validation (ajv, tests/openapi/package-lock.json).
# A machine may have them from elsewhere (NodeSource): ask Debian for them only when missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != ii* ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them as root with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
