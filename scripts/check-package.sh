#!/usr/bin/env bash
# The Debian package, checked as an operator would meet it (part of `make test`):
#   1. builds it (scripts/package.sh, DEB_BUILD_OPTIONS=nocheck: the suites ran already);
#   2. lintian finds no error (its warnings and notes are printed);
#   3. it holds the binary, the unit, the manual page, the migrations and the conffile;
#   4. unpacked into a scratch root, its markr reports the changelog's version and the
#      installed migrations as its default, and migrates a fresh database from them;
#   5. it starts as the unit's ExecStart says, with the unit's EnvironmentFile and a
#      working directory of its own, under a stand-in for systemd's notification socket:
#      READY=1 arrives, /ready answers 200, and SIGTERM brings STOPPING=1 and exit 0;
#   6. the Dockerfile's build stage, which cannot be run here (no Docker engine), installs
#      every build dependency that debian/control asks for under the build profiles its
#      dpkg-buildpackage sets.
# Needs MARKR_TEST_DATABASE_URL (a superuser conninfo; scripts/test.sh sets it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "check-package: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[[ -n ${MARKR_TEST_DATABASE_URL:-} ]] || die "MARKR_TEST_DATABASE_URL is not set (run it through scripts/test.sh)"
for tool in lintian dpkg-deb psql python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/deps.sh (as root) first"
done

scratch=$(mktemp -d /tmp/markr-package.XXXXXX)
db=markr_package_$$
server_pid="" notify_pid=""
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    [[ -n $server_pid ]] && kill -KILL "$server_pid" 2>/dev/null
    [[ -n $notify_pid ]] && kill "$notify_pid" 2>/dev/null
    psql -X -q -d "$MARKR_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf -- "$scratch"
}
trap cleanup EXIT

# 6, first, as it takes no time: the Dockerfile's build stage against debian/control. The
# stage's packages are the words of its `apt-get install`; the dependencies are those that
# dpkg's own parser keeps under the profiles the stage's dpkg-buildpackage is given
# (debhelper-compat is provided by debhelper).
docker_profiles=$(sed -n 's/^RUN .*DEB_BUILD_PROFILES=\([^ ]*\) .*dpkg-buildpackage.*/\1/p' Dockerfile)
docker_packages=$(perl -0ne 'm/^FROM\s+\S+\s+AS\s+build\n(.*?)(?=^FROM|\z)/ms or die "no build stage\n";
    my $stage = $1; $stage =~ s/\\\n/ /g;
    $stage =~ /apt-get install\s+(.*?)(?:&&|\n)/ or die "no apt-get install in the build stage\n";
    print join("\n", grep { !/^-/ } split " ", $1), "\n"' Dockerfile)
build_deps=$(PROFILES=$docker_profiles perl -MDpkg::Control::Info -MDpkg::Deps -e '
    my $source = Dpkg::Control::Info->new("debian/control")->get_source;
    my $deps = deps_parse($source->{"Build-Depends"}, build_dep => 1, reduce_profiles => 1,
                          build_profiles => [split /,/, $ENV{PROFILES}]);
    deps_iterate($deps, sub { print $_[0]->{package}, "\n"; 1 })')
for dep in $build_deps; do
    [[ $dep == debhelper-compat ]] && dep=debhelper
    grep -qx -- "$dep" <<<"$docker_packages" ||
        die "the Dockerfile's build stage does not install $dep, which dpkg-buildpackage needs there (build profiles: ${docker_profiles:-none})"
done
say "the Dockerfile's build stage installs every build dependency (build profiles: ${docker_profiles:-none})"

# 1. Build, with the profile the Dockerfile uses (the suites ran already).
deb=$(DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck bash scripts/package.sh | tail -n 1)
version=$(dpkg-parsechangelog -S Version)
say "built $deb ($(stat -c %s -- "$deb") bytes)"

# 2. lintian: errors fail, warnings are shown.
lintian_out=$scratch/lintian.txt
if ! lintian --fail-on error "$deb" >"$lintian_out" 2>&1; then
    cat -- "$lintian_out" >&2
    die "lintian reports errors"
fi
# (As root lintian first says that it would rather not run as root: not about the package.)
sed -i '/^running with root privileges is not recommended!$/d' -- "$lintian_out"
if [[ -s $lintian_out ]]; then
    say "lintian (no errors):"
    sed 's/^/    /' -- "$lintian_out" >&2
else
    say "lintian: clean"
fi

# 3. Contents.
contents=$scratch/contents.txt
dpkg-deb -c "$deb" >"$contents"
for path in ./usr/bin/markr ./lib/systemd/system/markr.service ./usr/share/man/man1/markr.1.gz \
    ./usr/share/markr/migrations/0001_initial.sql ./etc/markr/markr.env; do
    grep -q -- " $path\$" "$contents" || die "the package lacks $path"
done
grep -q -- '^-rw-r----- root/root .* ./etc/markr/markr.env$' "$contents" || die "/etc/markr/markr.env is not 0640 root:root"
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/markr/markr.env ||
    die "/etc/markr/markr.env is not a conffile"
for f in migrations/*.sql; do
    grep -q -- " ./usr/share/markr/$f\$" "$contents" || die "the package lacks /usr/share/markr/$f"
done

# 4. The unpacked binary: version, default migrations, migrate.
root=$scratch/root
dpkg-deb -x "$deb" "$root"
markr=$root/usr/bin/markr
[[ $("$markr" --version) == "markr $version" ]] || die "markr --version says '$("$markr" --version)', not 'markr $version'"
"$markr" --help | grep -qF "MARKR_MIGRATIONS_DIR defaults to /usr/share/markr/migrations." ||
    die "the packaged markr does not default to /usr/share/markr/migrations"
psql -X -q -v ON_ERROR_STOP=1 -d "$MARKR_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
url=$(python3 -c 'import sys; print(sys.argv[1].replace("dbname=postgres", "dbname=" + sys.argv[2]))' \
    "$MARKR_TEST_DATABASE_URL" "$db")
[[ $url == *"dbname=$db"* ]] || die "cannot derive a conninfo for $db from MARKR_TEST_DATABASE_URL"
# The installed migrations are under the scratch root here, as /usr/share/markr/migrations would be.
export MARKR_MIGRATIONS_DIR=$root/usr/share/markr/migrations
DATABASE_URL=$url "$markr" migrate >"$scratch/migrate.txt" 2>&1 || { cat -- "$scratch/migrate.txt" >&2; die "markr migrate failed"; }
grep -q "applied 0001_initial" "$scratch/migrate.txt" || { cat -- "$scratch/migrate.txt" >&2; die "markr migrate applied nothing"; }

# 5. Serve as the unit says.
unit=$root/lib/systemd/system/markr.service
exec_start=$(sed -n 's/^ExecStart=//p' -- "$unit")
env_file=$(sed -n 's/^EnvironmentFile=//p' -- "$unit")
[[ $exec_start == /usr/bin/markr\ serve && $env_file == /etc/markr/markr.env ]] ||
    die "unexpected unit: ExecStart=$exec_start EnvironmentFile=$env_file"
grep -qx 'Type=notify' -- "$unit" || die "the unit is not Type=notify"

# A stand-in for systemd's notification socket: prints each datagram, one state a line.
notify_socket=$scratch/notify.sock
python3 -u - "$notify_socket" >"$scratch/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    for line in s.recv(4096).decode().splitlines():
        print(line)
PY
notify_pid=$!
for ((i = 0; i < 100; i++)); do [[ -S $notify_socket ]] && break; sleep 0.1; done
[[ -S $notify_socket ]] || die "the notification socket did not appear"

workdir=$scratch/var-lib-markr # WorkingDirectory=/var/lib/markr: an empty directory
mkdir -- "$workdir"
log=$scratch/serve.log
: >"$log" # before the server starts, so that reading it cannot race its creation
(
    cd "$workdir"
    # EnvironmentFile= syntax: NAME=VALUE lines; comments and blank lines ignored.
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        export "${line?}"
    done <"$root$env_file"
    export DATABASE_URL=$url MARKR_LISTEN=127.0.0.1:0 NOTIFY_SOCKET=$notify_socket
    exec "$root${exec_start%% *}" "${exec_start#* }"
) >"$log" 2>&1 &
server_pid=$!

port=""
for ((i = 0; i < 300; i++)); do
    # markr logs in logfmt: time=... level=info msg=listening addr=127.0.0.1:PORT
    port=$(sed -n 's/^time=[^ ]* level=info msg=listening addr=127\.0\.0\.1:\([0-9]*\)$/\1/p' -- "$log")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat -- "$log" >&2; die "the packaged markr exited"; }
    sleep 0.1
done
[[ -n $port ]] || { cat -- "$log" >&2; die "the packaged markr did not listen within 30 s"; }
for ((i = 0; i < 300; i++)); do grep -qx READY=1 -- "$scratch/notify.txt" && break; sleep 0.1; done
grep -qx READY=1 -- "$scratch/notify.txt" || die "no READY=1 notification"
status=""
for ((i = 0; i < 300; i++)); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)
    [[ $status == 200 ]] && break
    sleep 0.1
done
[[ $status == 200 ]] || { cat -- "$log" >&2; die "/ready answered $status, not 200"; }
say "the packaged markr serves on 127.0.0.1:$port, /ready 200, notified: $(paste -sd' ' -- "$scratch/notify.txt")"

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[[ $rc == 0 ]] || { cat -- "$log" >&2; die "markr exited $rc after SIGTERM"; }
for ((i = 0; i < 100; i++)); do grep -qx STOPPING=1 -- "$scratch/notify.txt" && break; sleep 0.1; done
grep -qx STOPPING=1 -- "$scratch/notify.txt" || die "no STOPPING=1 notification"
say "passed: markr $version"
