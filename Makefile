# Markr's entry points. The work is done by scripts/ (bash, shellcheck-clean); this file
# only names it. On a fresh Debian 12 machine, as root, `make run` and `make test` install
# what is missing first (scripts/deps.sh). See README.md and ADR 0008.
#
#   make run        build and serve on :8085 (a private PostgreSQL unless DATABASE_URL is set)
#   make test       every suite in build/ and again in build-san/ (ASan+UBSan), one private
#                   PostgreSQL for both; the exit status says pass or fail
#   make bench      the benchmarks of bench/ against a private server and database
#   make bench-vault  the import vault's benchmark (async import, reprocess --all)
#   make build      build/markr (debugoptimized); make build-san: build-san/markr
#   make deps       install missing Debian packages (root) or print the command (others)
#   make clean      remove the build directories
#   make distclean  also stop and delete the private cluster (.markr-pg/) and its data

SHELL := /bin/bash

.PHONY: all deps build build-san run test bench bench-vault clean distclean browser-deps bench-live

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

# issue 4: the browser test's npm packages, exactly as tests/browser/package-lock.json says.
browser-deps: deps
	npm ci --prefix tests/browser --no-audit --no-fund

bench: build
	bash scripts/bench.sh

bench-vault: build
	bash scripts/bench-vault.sh

# issue 4: cached aggregates and streams under wrk (bench/live.sh).
bench-live: build
	bash bench/live.sh

clean:
	rm -rf build build-san

distclean: clean
	bash scripts/pg-private.sh destroy
