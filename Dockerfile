# Markr in a container: a build stage that makes the Debian package (debian/, as `make deb`
# does), and a runtime stage that installs it, so the image runs what `make test` checked:
# the same binary, migrations in /usr/share/markr/migrations (the installed default) and
# the `markr` system user made by the package. Debian 12 (bookworm) in both. The suites are
# not run here (they need a PostgreSQL): the package is built with DEB_BUILD_OPTIONS=nocheck,
# which skips them, and the nocheck build profile, which drops the build dependencies only
# the suites need (libcmocka-dev); without the profile dpkg-buildpackage refuses to start.
# scripts/check-package.sh checks that this stage installs every build dependency left.
#
#   docker build -t markr .
#   docker run --rm -e DATABASE_URL=postgresql://... -p 8085:8085 markr sh -c 'markr migrate && exec markr serve'
#
# docker-compose.yml runs it beside PostgreSQL 15.

FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential debhelper dpkg-dev meson ninja-build pkgconf python3 \
        libh2o-evloop-dev libssl-dev libpq-dev libxml2-dev libjson-c-dev zlib1g-dev libsystemd-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/markr
COPY . .
# dpkg-buildpackage writes the .deb beside the source tree, in /src.
RUN DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /src/markr_*.deb /tmp/
# The package pulls in its shared libraries; curl only serves the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/markr_*.deb curl \
 && rm -rf /var/lib/apt/lists/* /tmp/markr_*.deb
ENV MARKR_LISTEN=0.0.0.0:8085
# markr also reads ./.env; this directory has none, so settings come from the environment.
WORKDIR /var/lib/markr
USER markr
EXPOSE 8085
# Liveness only (no database call); /ready tells whether the database and schema are there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${MARKR_LISTEN##*:}/health" >/dev/null || exit 1
CMD ["markr", "serve"]
