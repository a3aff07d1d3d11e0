-- 001: TimescaleDB when the server offers it; plain PostgreSQL otherwise. Idempotent.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'timescaledb is available but this role may not create it: continuing as plain PostgreSQL';
END
$$;
