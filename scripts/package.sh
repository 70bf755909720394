#!/usr/bin/env bash
# `make deb`: builds the Debian package (debian/, dh with meson) from this working tree, in
# build-deb/ so that nothing is written beside the checkout: the tracked files and the
# untracked ones git does not ignore are copied to build-deb/src/markr-VERSION/, and
# dpkg-buildpackage -us -uc -b runs there. Prints the path of the .deb on its last line.
# DEB_BUILD_OPTIONS and DEB_BUILD_PROFILES are passed through (nocheck in the first skips the
# unit suites of the build; the nocheck profile drops the build dependencies only they need).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "package: $*" >&2; }
die() { say "$*"; exit 1; }

command -v dpkg-buildpackage >/dev/null 2>&1 || die "dpkg-buildpackage not found: run scripts/deps.sh (as root) first"
version=$(dpkg-parsechangelog -S Version)
# The package and the program must agree on what version this is.
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
[[ $version == "$meson_version" ]] ||
    die "debian/changelog says $version but meson.build says $meson_version: add a changelog entry (dch -v $meson_version)"

out=build-deb
tree=$out/src/markr-$version
rm -rf -- "$out"
mkdir -p -- "$tree"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files deleted in the working tree but still tracked are left out.
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
        tar --null -T - -cf - | tar -xf - -C "$tree"
else
    tar --exclude='./build*' --exclude=./.markr-pg --exclude=./.env --exclude='./tests/browser/node_modules' \
        --exclude='./tests/openapi/node_modules' \
        -cf - . | tar -xf - -C "$tree"
fi

log=$PWD/$out/dpkg-buildpackage.log
say "building markr $version (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-}); log $log"
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
    tail -n 40 -- "$log" >&2
    die "dpkg-buildpackage failed; log $log"
fi
deb=$out/markr_${version}_$(dpkg --print-architecture).deb
mv -- "$out"/src/*.deb "$out"/
[[ -f $deb ]] || die "dpkg-buildpackage made no $deb"
printf '%s\n' "$deb"
