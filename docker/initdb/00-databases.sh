#!/usr/bin/env bash
# First start of the TimescaleDB container: databases for Dagster's storage and MLflow's backend store.
set -euo pipefail
for db in "${DAGSTER_POSTGRES_DB:-dagster}" "${MLFLOW_POSTGRES_DB:-mlflow}"; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -tc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c "CREATE DATABASE \"$db\""
done
