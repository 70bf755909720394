# Markr's entry points. The work is done by scripts/ (bash, shellcheck-clean); this file
# only names it. On a fresh Debian 12 machine, as root, `make run` and `make test` install
# what is missing first (scripts/deps.sh). See README.md and ADR 0008.
#
#   make run        build and serve on :8085 (a private PostgreSQL unless DATABASE_URL is set)
#   make test       every suite in build/ and again in build-san/ (ASan+UBSan), then the
#                   Debian package's check, one private PostgreSQL for all; the exit status
#                   says pass or fail
#   make bench      the core's benchmark (import, aggregate, /health) against a private
#                   server and database, then bench-import: imports against pgbench and
#                   xmllint; bench-vault: async import and reprocess --all;
#                   bench-live: cached aggregates and streams under wrk; bench-load: 30 s
#                   of mixed imports and reads; bench-items: item analysis of a
#                   100,000-student test; bench-replica: reads on a streaming
#                   standby against the primary alone (bench/README.md)
#   make bench-pg-instructions  the database's instructions per transaction of
#                   bench/import_tx.sql and bench/import_tx_full.sql under callgrind (a
#                   throw-away cluster; needs valgrind; not part of make bench)
#   make fuzz       the libFuzzer targets of fuzz/ (clang, ASan+UBSan), MARKR_FUZZ_SECONDS each (60)
#   make deb        the Debian package, build-deb/markr_VERSION_ARCH.deb (scripts/package.sh)
#   make build      build/markr (debugoptimized); make build-san: build-san/markr
#   make deps       install missing Debian packages (root) or print the command (others)
#   make clean      remove the build directories
#   make distclean  also stop and delete the private cluster (.markr-pg/) and its data

SHELL := /bin/bash

.PHONY: all deps build build-san browser-deps run test deb bench bench-import bench-vault bench-live bench-load bench-items bench-replica bench-pg-instructions fuzz clean distclean

all: build

deps:
	bash scripts/deps.sh

build: deps
	bash scripts/build.sh build

build-san: deps
	bash scripts/build.sh build-san -Dsanitize=true

run:
	bash scripts/run.sh

test: build build-san browser-deps
	bash scripts/test.sh build build-san

# The npm packages of the browser test and of the OpenAPI validation, exactly as their
# package-lock.json files say.
browser-deps: deps
	npm ci --prefix tests/browser --no-audit --no-fund
	npm ci --prefix tests/openapi --no-audit --no-fund

deb: deps
	bash scripts/package.sh

bench: build
	bash scripts/bench.sh

bench-import: build
	bash scripts/bench-import.sh

bench-vault: build
	bash scripts/bench-vault.sh

bench-live: build
	bash bench/live.sh

bench-load: build
	bash scripts/bench-load.sh

bench-items: build
	bash scripts/bench-items.sh

bench-replica: build
	bash scripts/bench-replica.sh

bench-pg-instructions: build
	bash scripts/bench-pg-instructions.sh bench/import_tx.sql bench/import_tx_full.sql

fuzz: deps
	bash scripts/fuzz.sh

clean:
	rm -rf build build-san build-fuzz build-deb

distclean: clean
	bash scripts/pg-private.sh destroy
