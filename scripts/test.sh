#!/usr/bin/env bash
# Runs every suite of each build directory given (`make test`: build build-san), then the
# Debian package's check, against one private PostgreSQL cluster, started here and stopped
# on the way out, whatever happened.
# The suites find the server through MARKR_TEST_DATABASE_URL (superuser, maintenance
# database `postgres`): each makes and drops its own databases there. When the caller
# already set MARKR_TEST_DATABASE_URL, that server is used and no cluster is started.
# The read-replica suite (e2e_replica) also needs a streaming hot standby of that server,
# named by MARKR_TEST_STANDBY_URL: with the private cluster, one is started beside it
# (scripts/pg-private.sh standby-start) and stopped with it; without one the suite is skipped.
#
# A sanitizer report anywhere (a suite's output, or the log of a server an end-to-end suite
# started) fails the run even if the suite itself passed. The last line is
# "tests: N passed, M failed", counted over every directory; the exit status agrees with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $# -ge 1 ]] || { echo "usage: $0 BUILD_DIR..." >&2; exit 2; }

stop_cluster=0
marker=$(mktemp /tmp/markr-test-start.XXXXXX)
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    if ((stop_cluster)); then
        bash scripts/pg-private.sh stop || true
    fi
    rm -f -- "$marker"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${MARKR_TEST_DATABASE_URL:-} ]]; then
    echo "test: using the server of MARKR_TEST_DATABASE_URL from the environment"
else
    # A cluster that was already running (a `make run` in another terminal) is shared and
    # left running; one started here is stopped on exit.
    if ! bash scripts/pg-private.sh status 2>/dev/null; then
        stop_cluster=1
    fi
    bash scripts/pg-private.sh start
    MARKR_TEST_DATABASE_URL=$(bash scripts/pg-private.sh url postgres)
    export MARKR_TEST_DATABASE_URL
    echo "test: MARKR_TEST_DATABASE_URL=$MARKR_TEST_DATABASE_URL"
    if [[ -z ${MARKR_TEST_STANDBY_URL:-} ]]; then
        bash scripts/pg-private.sh standby-start
        url=$(bash scripts/pg-private.sh standby-env postgres)
        export MARKR_TEST_STANDBY_URL=${url#MARKR_READ_DATABASE_URL=}
        echo "test: MARKR_TEST_STANDBY_URL=$MARKR_TEST_STANDBY_URL"
    fi
fi

# What ASan, LSan and UBSan print when they find something.
sanitizer_report='^==[0-9]+==ERROR: (AddressSanitizer|LeakSanitizer)|^SUMMARY: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|:[0-9]+:[0-9]+: runtime error: '

# Prints "PASSED FAILED SKIPPED" for a build directory's last meson test run.
count_results() {
    python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
except OSError:
    failed = 1  # meson test did not get as far as writing its log
print(passed, failed, skipped)
PY
}

# A server that an end-to-end suite started and did not stop would outlive the run: stop it
# (recognised by its executable and the MARKR_TEST_DATABASE_URL it inherited) and say so.
stop_strays() {
    local dir=$1 exe proc pid
    exe=$(readlink -f -- "$dir/markr" 2>/dev/null) || return 0
    for proc in /proc/[0-9]*; do
        [[ $(readlink -- "$proc/exe" 2>/dev/null) == "$exe" ]] || continue
        grep -qz '^MARKR_TEST_DATABASE_URL=' "$proc/environ" 2>/dev/null || continue
        pid=${proc#/proc/}
        echo "test: warning: the $dir suites left markr running (pid $pid); stopping it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    done
}

total_passed=0 total_failed=0 total_skipped=0 status=0
for dir in "$@"; do
    multiplier=1
    if [[ $dir == *san* ]]; then
        multiplier=3 # sanitized code runs a few times slower
    fi
    echo
    echo "=== meson test -C $dir"
    rm -f -- "$dir/meson-logs/testlog.json"
    if ! meson test -C "$dir" --print-errorlogs --timeout-multiplier "$multiplier"; then
        status=1
    fi
    stop_strays "$dir"
    read -r passed failed skipped < <(count_results "$dir")

    logs=()
    if [[ -f "$dir/meson-logs/testlog.txt" ]]; then
        logs+=("$dir/meson-logs/testlog.txt")
    fi
    # The end-to-end harness sends each server's output to /tmp/markr-e2e-*.log.
    while IFS= read -r -d '' log; do
        logs+=("$log")
    done < <(find /tmp -maxdepth 1 -name 'markr-e2e-*.log' -newer "$marker" -print0 2>/dev/null)
    if ((${#logs[@]})) && reports=$(grep -E -l -- "$sanitizer_report" "${logs[@]}"); then
        echo "test: sanitizer reports in $dir:" >&2
        while IFS= read -r file; do
            echo "--- $file" >&2
            grep -E -m 5 -- "$sanitizer_report" "$file" >&2 || true
            failed=$((failed + 1))
        done <<<"$reports"
        status=1
    fi
    touch -- "$marker"

    echo "test: $dir: $passed passed, $failed failed"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
done

# The Debian package, built, linted, unpacked and served (scripts/check-package.sh): one
# more suite in the count.
echo
echo "=== the Debian package (scripts/check-package.sh)"
if bash scripts/check-package.sh; then
    echo "test: package: 1 passed, 0 failed"
    total_passed=$((total_passed + 1))
else
    echo "test: package: 0 passed, 1 failed"
    total_failed=$((total_failed + 1))
fi

if ((total_failed)); then
    status=1
fi
echo
if ((total_skipped)); then
    echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
else
    echo "tests: $total_passed passed, $total_failed failed"
fi
exit "$status"
