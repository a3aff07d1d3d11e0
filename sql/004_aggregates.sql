-- 004: per-team aggregates. Idempotent.
--
-- team_stats_monthly aggregates the one-row-per-team-per-match hypertable team_match_stats by
-- time_bucket. TimescaleDB forbids UNION and sub-queries in continuous aggregates (the seed's
-- team_season_stats used both), so the aggregate reads one hypertable and nothing else; the team
-- name join and the season roll-up happen in the plain view team_season_stats on top of it.
--
-- One SELECT serves every server: a continuous aggregate with a refresh policy where the TimescaleDB
-- license allows it; a materialized view (refreshed after each load) on the Apache-licensed build,
-- which refuses continuous aggregates and policies; the same with date_trunc on plain PostgreSQL.
DO $$
DECLARE
    timescale boolean := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb');
    licensed boolean := timescale
        AND coalesce(current_setting('timescaledb.license', true), 'apache') <> 'apache';
    bucket text := CASE WHEN timescale THEN 'time_bucket(INTERVAL ''1 month'', kickoff_at)'
                        ELSE 'date_trunc(''month'', kickoff_at)' END;
    body text;
BEGIN
    IF to_regclass('team_stats_monthly') IS NOT NULL THEN
        RETURN;
    END IF;
    body := format($sql$
        SELECT %1$s AS bucket,
               team_id, competition_id, season,
               count(*) AS matches,
               count(goals_for) AS played,
               sum(CASE WHEN points = 3 THEN 1 ELSE 0 END) AS wins,
               sum(CASE WHEN points = 1 THEN 1 ELSE 0 END) AS draws,
               sum(CASE WHEN points = 0 THEN 1 ELSE 0 END) AS losses,
               sum(points) AS points,
               sum(goals_for) AS goals_for,
               sum(goals_against) AS goals_against,
               count(xg_for) AS matches_with_xg,
               sum(xg_for) AS xg_for,
               sum(xg_against) AS xg_against,
               count(shots) AS matches_with_shots,
               sum(shots) AS shots,
               sum(shots_on_target) AS shots_on_target,
               sum(corners) AS corners,
               sum(fouls) AS fouls,
               sum(yellow_cards) AS yellow_cards,
               sum(red_cards) AS red_cards
        FROM team_match_stats
        GROUP BY %1$s, team_id, competition_id, season
    $sql$, bucket);
    IF licensed THEN
        EXECUTE 'CREATE MATERIALIZED VIEW team_stats_monthly WITH (timescaledb.continuous, '
                'timescaledb.materialized_only = false) AS ' || body || ' WITH NO DATA';
        PERFORM add_continuous_aggregate_policy('team_stats_monthly', start_offset => NULL,
                                                end_offset => INTERVAL '1 hour',
                                                schedule_interval => INTERVAL '1 hour');
    ELSE
        EXECUTE 'CREATE MATERIALIZED VIEW team_stats_monthly AS ' || body;
        CREATE UNIQUE INDEX ix_team_stats_monthly_key
            ON team_stats_monthly (bucket, team_id, competition_id, season);
    END IF;
END
$$;

CREATE OR REPLACE VIEW team_season_stats AS
SELECT m.competition_id,
       m.season,
       m.team_id,
       t.name AS team_name,
       sum(m.played) AS played,
       sum(m.wins) AS wins,
       sum(m.draws) AS draws,
       sum(m.losses) AS losses,
       sum(m.points) AS points,
       sum(m.goals_for) AS goals_for,
       sum(m.goals_against) AS goals_against,
       sum(m.goals_for) - sum(m.goals_against) AS goal_difference,
       sum(m.matches_with_xg) AS matches_with_xg,
       sum(m.xg_for) AS xg_for,
       sum(m.xg_against) AS xg_against,
       sum(m.matches_with_shots) AS matches_with_shots,
       sum(m.shots) AS shots,
       sum(m.shots_on_target) AS shots_on_target,
       sum(m.corners) AS corners,
       sum(m.fouls) AS fouls,
       sum(m.yellow_cards) AS yellow_cards,
       sum(m.red_cards) AS red_cards,
       min(m.bucket) AS first_month,
       max(m.bucket) AS last_month
FROM team_stats_monthly AS m
JOIN teams AS t ON t.team_id = m.team_id
GROUP BY m.competition_id, m.season, m.team_id, t.name;
