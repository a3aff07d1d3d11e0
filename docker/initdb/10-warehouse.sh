#!/usr/bin/env bash
# First start of the TimescaleDB container: the warehouse schema from the numbered, idempotent sql/ files.
set -euo pipefail
for file in /sql/*.sql; do
    echo "warehouse DDL: $file"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$file"
done
