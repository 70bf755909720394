#!/usr/bin/env bash
# The dependency rule of the hexagon, checked (a unit suite of `make test`): src/domain and
# src/application include only the C library's headers and their own, and their meson
# libraries link nothing from outside. h2o's and json-c's headers sit in /usr/include, so
# the compiler alone would let `#include <h2o.h>` through; this check does not.
#
#   scripts/check-layers.sh [SOURCE_ROOT]   check a tree (default: this one); exit 1 on a breach
#   scripts/check-layers.sh --self-test     prove that the check catches each kind of breach
set -euo pipefail

# The C library (C11 and the POSIX headers the inner layers may need), nothing else.
allowed='assert.h ctype.h errno.h float.h inttypes.h limits.h math.h stdalign.h stdarg.h stdatomic.h
stdbool.h stddef.h stdint.h stdio.h stdlib.h string.h strings.h time.h'

# Prints one line per breach in the tree at $1; returns 1 when there is any.
check() {
    local root=$1 layer file line header target status=0
    for layer in domain application; do
        [[ -d $root/src/$layer ]] || { echo "layers: $root/src/$layer is missing"; return 1; }
        while IFS= read -r -d '' file; do
            while IFS= read -r line; do
                if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^>]+)\> ]]; then
                    header=${BASH_REMATCH[1]}
                    if [[ " ${allowed//$'\n'/ } " != *" $header "* ]]; then
                        echo "layers: ${file#"$root"/} includes <$header>, which is not the C library's"
                        status=1
                    fi
                elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
                    header=${BASH_REMATCH[1]}
                    # Relative to the file, or to src/ (the include directory of every library).
                    target=$(realpath -m -- "$(dirname -- "$file")/$header")
                    [[ -e $target ]] || target=$(realpath -m -- "$root/src/$header")
                    case ${target#"$(realpath -- "$root")"/} in
                        src/domain/*) ;;
                        src/application/*) [[ $layer == application ]] || {
                            echo "layers: ${file#"$root"/} includes \"$header\": the domain depends on nothing"
                            status=1
                        } ;;
                        *)
                            echo "layers: ${file#"$root"/} includes \"$header\", outside src/domain and src/application"
                            status=1
                            ;;
                    esac
                fi
            done <"$file"
        done < <(find "$root/src/$layer" -type f \( -name '*.c' -o -name '*.h' \) -print0)
        # libm is the C library's; any other dependency (a dependency() or an *_dep) is not.
        if grep -E '^[^#]*\bdependencies[[:space:]]*:' "$root/src/$layer/meson.build" |
            grep -qE 'dependency\(|_dep\b'; then
            echo "layers: src/$layer/meson.build links a package; $layer must link none but the C library"
            status=1
        fi
    done
    return "$status"
}

self_test() {
    local here tmp breach out
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    tmp=$(mktemp -d)
    trap 'rm -rf -- "$tmp"' RETURN
    for breach in system adapter domain-up linked; do
        rm -rf -- "$tmp/tree"
        mkdir -p -- "$tmp/tree/src"
        cp -R -- "$here/src/domain" "$here/src/application" "$tmp/tree/src/"
        mkdir -p -- "$tmp/tree/src/interfaces/http"
        case $breach in
            system) printf '#include <h2o.h>\n' >>"$tmp/tree/src/application/ports.h" ;;
            adapter) printf '#include "interfaces/http/server.h"\n' >>"$tmp/tree/src/application/ports.h" ;;
            domain-up) printf '#include "../application/ports.h"\n' >>"$tmp/tree/src/domain/result.h" ;;
            linked) printf "x = static_library('x', 'a.c', dependencies : [json_dep])\n" >>"$tmp/tree/src/domain/meson.build" ;;
        esac
        if out=$(check "$tmp/tree"); then
            echo "layers: self-test: a $breach breach was not caught"
            return 1
        fi
        echo "layers: self-test: $breach caught: $out"
    done
    check "$here" >/dev/null
    echo "layers: self-test passed"
}

if [[ ${1:-} == --self-test ]]; then
    self_test
else
    root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
    check "$root"
    echo "layers: src/domain and src/application include and link nothing from outside"
fi
