#!/bin/sh
# Run once by the postgres image when it initialises the primary's volume
# (docker-entrypoint-initdb.d): lets the compose network stream WAL to the `db-standby`
# service of the `replica` profile (docker-compose.yml), with the same password rule as the
# image's other network entries.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
