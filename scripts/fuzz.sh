#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, and runs each for MARKR_FUZZ_SECONDS (default
# 60) from a corpus seeded with fuzz/seeds/ and the school board's fixture
# (tests/fixtures/). The corpus grows in build-fuzz/corpus/ from run to run; a finding
# is written to build-fuzz/artifacts/ and fails the run (exit status 1).
#
#   make fuzz                           every target, 60 s each
#   MARKR_FUZZ_SECONDS=30 make fuzz     CI's bounded run (.ci/run)
#   build-fuzz/fuzz/fuzz_xml FILE       replay one input
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${MARKR_FUZZ_SECONDS:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: MARKR_FUZZ_SECONDS must be a positive integer" >&2; exit 2; }
dir=build-fuzz

if [[ ! -f $dir/build.ninja ]]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Dsanitize=true -Dtests=false -Dwerror=true
fi
ninja -C "$dir"

fixture=tests/fixtures/sample_results.xml
status=0
for target in xml request headers body event_stream; do
    corpus=$dir/corpus/$target
    mkdir -p "$corpus" "$dir/artifacts"
    cp -n fuzz/seeds/"$target"/* "$corpus"/
    if [[ $target == xml ]]; then
        cp -n "$fixture" "$corpus"/sample_results.xml
    fi
    dict=()
    if [[ -f fuzz/$target.dict ]]; then
        dict=(-dict="fuzz/$target.dict")
    fi
    echo "=== fuzz_$target for ${seconds} s (corpus $corpus)"
    # -max_len lets mutations grow past libFuzzer's default 4 KiB towards documents with a
    # few results; ASAN_OPTIONS makes a leak a finding too.
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$dir/fuzz/fuzz_$target" "${dict[@]}" -max_len=65536 -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$target-" "$corpus" \
        2> >(grep -v -E '^#[0-9]|# Uses: ' >&2); then
        echo "fuzz: fuzz_$target found a problem; the input is in $dir/artifacts/" >&2
        status=1
    fi
done
exit "$status"
