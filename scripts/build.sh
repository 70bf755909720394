#!/usr/bin/env bash
# Configures (once) and compiles one build directory:
#   scripts/build.sh DIR [--only=TARGET] [MESON_OPTION...]
# `make build` uses build/ (debugoptimized), `make build-san` build-san/ with -Dsanitize=true.
# --only=TARGET compiles that target and what it needs (`make run`: markr alone, not the
# tests and benchmarks).
# The project's own builds treat warnings as errors, and their markr finds the migrations of
# this source tree by default (an installed one finds <prefix>/share/markr/migrations).
# A directory whose configuration never completed is set up afresh; a configured one is only
# compiled (ninja re-runs meson by itself when a meson.build changes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $# -ge 1 ]] || { echo "usage: $0 DIR [MESON_OPTION...]" >&2; exit 2; }
dir=$1
shift
only=()
args=()
for arg in "$@"; do
    case $arg in
        --only=?*) only+=("${arg#--only=}") ;;
        *) args+=("$arg") ;;
    esac
done
# The directory is removed when its set-up is incomplete: accept only build directories.
[[ $dir =~ ^build[A-Za-z0-9_-]*$ ]] || { echo "build: '$dir' is not a build directory name (build*)" >&2; exit 2; }

if [[ ! -f "$dir/build.ninja" ]]; then
    rm -rf -- "$dir"
    meson setup "$dir" --buildtype=debugoptimized -Dwerror=true -Dmigrations_dir="$PWD/migrations" ${args[@]+"${args[@]}"}
fi
meson compile -C "$dir" ${only[@]+"${only[@]}"}
