-- 005: least-privilege reader role. Idempotent.
-- football_reader (NOLOGIN; grant it to login roles) reads the football tables and views, and not the
-- raw file archive, the quarantine (raw rows) or the load bookkeeping.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'football_reader') THEN
        CREATE ROLE football_reader NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'this role may not create roles: football_reader not created';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'football_reader') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO football_reader', current_schema());
        GRANT SELECT ON competitions, teams, team_aliases, team_resolutions, matches, team_match_stats, odds, xg, elo_ratings, lineups, shots,
                        predictions, publish_log, model_performance, match_features, team_stats_monthly, team_season_stats
            TO football_reader;
    END IF;
END
$$;
