# Markr in a container: a build stage with the -dev packages and meson, and a runtime stage
# with only the shared libraries, the binary and the SQL migrations. Debian 12 (bookworm)
# in both, so the image runs what `make test` tested. Tests are not run here (they need
# ../shared and a PostgreSQL); the image builds with -Dtests=false.
#
#   docker build -t markr .
#   docker run --rm -e DATABASE_URL=postgresql://... -p 8085:8085 markr sh -c 'markr migrate && exec markr serve'
#
# docker-compose.yml runs it beside PostgreSQL 15.

FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential meson ninja-build pkg-config \
        libh2o-evloop-dev libssl-dev libpq-dev libxml2-dev libjson-c-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=debugoptimized --prefix=/usr -Dtests=false \
 && meson compile -C /build \
 && meson install -C /build --destdir /out --strip

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# curl only serves the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libh2o-evloop0.13 libpq5 libxml2 libjson-c5 libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10001 --home-dir /var/lib/markr --create-home \
        --shell /usr/sbin/nologin markr
COPY --from=build /out/usr/bin/markr /usr/bin/markr
COPY migrations/ /usr/share/markr/migrations/
ENV MARKR_MIGRATIONS_DIR=/usr/share/markr/migrations \
    MARKR_LISTEN=0.0.0.0:8085
# markr also reads ./.env; this directory has none, so settings come from the environment.
WORKDIR /var/lib/markr
USER markr
EXPOSE 8085
# Liveness only (no database call); /ready tells whether the database and schema are there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${MARKR_LISTEN##*:}/health" >/dev/null || exit 1
CMD ["markr", "serve"]
