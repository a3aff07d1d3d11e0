-- 003: time-partitioned tables become hypertables on kick-off time (TimescaleDB only). Idempotent.
-- Their primary keys include kickoff_at, as hypertables require of unique constraints.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('matches', by_range('kickoff_at', INTERVAL '1 year'),
                                  if_not_exists => TRUE, migrate_data => TRUE);
        PERFORM create_hypertable('team_match_stats', by_range('kickoff_at', INTERVAL '1 year'),
                                  if_not_exists => TRUE, migrate_data => TRUE);
    END IF;
END
$$;
