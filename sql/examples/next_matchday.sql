-- Next matchday's predictions per competition, with the market's latest pre-match 1X2 prices beside them.
--
-- Bound parameters (SQLAlchemy text(), or football_pipeline.serving.queries):
--   :as_of           UTC timestamp; matches kicking off after it are upcoming
--   :competition_id  a competition ('E0', 'SP1', ...), or NULL for every competition
--   :model_name      the model whose latest predictions to show, or NULL for every model
--
-- A competition's next matchday is its upcoming matches in kick-off order up to, not including, the
-- first match of a team that already plays in it: every team plays once in a matchday, whether the
-- round runs Friday to Monday or midweek.
--
-- Market: Pinnacle's and the market average's ('market_avg') 1X2 prices, each the closing prices where
-- the match has all three, otherwise the opening ones (football-data's fixtures feed carries the
-- opening, pre-match prices). market_*_pct are Pinnacle's prices (the market average where Pinnacle
-- has none) turned into percentages summing to 100, the overround removed in proportion.
WITH upcoming AS (
    SELECT lp.match_id, lp.model_name, lp.model_version, lp.competition_id, lp.season, lp.kickoff_at,
           lp.home_team_id, lp.away_team_id, lp.home_win_pct, lp.draw_pct, lp.away_win_pct,
           lp.expected_home_goals, lp.expected_away_goals, lp.entropy, lp.predicted_at
    FROM latest_predictions AS lp
    WHERE lp.kickoff_at > :as_of
      AND (:competition_id IS NULL OR lp.competition_id = :competition_id)
      AND (:model_name IS NULL OR lp.model_name = :model_name)
),
appearances AS (
    SELECT sides.competition_id, sides.kickoff_at,
           row_number() OVER (PARTITION BY sides.competition_id, sides.team_id
                              ORDER BY sides.kickoff_at, sides.match_id) AS nth
    FROM (
        SELECT competition_id, match_id, kickoff_at, home_team_id AS team_id FROM upcoming
        UNION
        SELECT competition_id, match_id, kickoff_at, away_team_id AS team_id FROM upcoming
    ) AS sides
),
next_round AS (
    SELECT competition_id, min(kickoff_at) AS starts_at
    FROM appearances
    WHERE nth = 2
    GROUP BY competition_id
),
matchday AS (
    SELECT u.*
    FROM upcoming AS u
    LEFT JOIN next_round AS r ON r.competition_id = u.competition_id
    WHERE r.starts_at IS NULL OR u.kickoff_at < r.starts_at
),
quotes AS (
    SELECT o.match_id, o.bookmaker, o.phase,
           max(CASE WHEN o.outcome = 'home' THEN o.price END) AS home,
           max(CASE WHEN o.outcome = 'draw' THEN o.price END) AS draw,
           max(CASE WHEN o.outcome = 'away' THEN o.price END) AS away
    FROM odds AS o
    WHERE o.match_id IN (SELECT match_id FROM matchday)
      AND o.market = '1x2' AND o.line = 0
      AND o.bookmaker IN ('pinnacle', 'market_avg')
      AND o.phase IN ('opening', 'closing')
    GROUP BY o.match_id, o.bookmaker, o.phase
    HAVING count(DISTINCT o.outcome) = 3
),
latest_quotes AS (
    SELECT q.*,
           row_number() OVER (PARTITION BY q.match_id, q.bookmaker
                              ORDER BY CASE q.phase WHEN 'closing' THEN 0 ELSE 1 END) AS pick
    FROM quotes AS q
),
market AS (
    SELECT match_id,
           max(CASE WHEN bookmaker = 'pinnacle' THEN phase END) AS pinnacle_phase,
           max(CASE WHEN bookmaker = 'pinnacle' THEN home END) AS pinnacle_home,
           max(CASE WHEN bookmaker = 'pinnacle' THEN draw END) AS pinnacle_draw,
           max(CASE WHEN bookmaker = 'pinnacle' THEN away END) AS pinnacle_away,
           max(CASE WHEN bookmaker = 'market_avg' THEN phase END) AS market_avg_phase,
           max(CASE WHEN bookmaker = 'market_avg' THEN home END) AS market_avg_home,
           max(CASE WHEN bookmaker = 'market_avg' THEN draw END) AS market_avg_draw,
           max(CASE WHEN bookmaker = 'market_avg' THEN away END) AS market_avg_away
    FROM latest_quotes
    WHERE pick = 1
    GROUP BY match_id
),
implied AS (
    SELECT market.*,
           1.0 / coalesce(pinnacle_home, market_avg_home) AS inv_home,
           1.0 / coalesce(pinnacle_draw, market_avg_draw) AS inv_draw,
           1.0 / coalesce(pinnacle_away, market_avg_away) AS inv_away
    FROM market
)
SELECT d.competition_id,
       c.name AS competition,
       d.season,
       d.kickoff_at,
       d.match_id,
       d.home_team_id,
       home.name AS home_team,
       d.away_team_id,
       away.name AS away_team,
       d.model_name,
       d.model_version,
       d.home_win_pct,
       d.draw_pct,
       d.away_win_pct,
       d.expected_home_goals,
       d.expected_away_goals,
       d.entropy,
       d.predicted_at,
       i.pinnacle_phase,
       i.pinnacle_home,
       i.pinnacle_draw,
       i.pinnacle_away,
       i.market_avg_phase,
       i.market_avg_home,
       i.market_avg_draw,
       i.market_avg_away,
       100 * i.inv_home / (i.inv_home + i.inv_draw + i.inv_away) AS market_home_pct,
       100 * i.inv_draw / (i.inv_home + i.inv_draw + i.inv_away) AS market_draw_pct,
       100 * i.inv_away / (i.inv_home + i.inv_draw + i.inv_away) AS market_away_pct
FROM matchday AS d
JOIN competitions AS c ON c.competition_id = d.competition_id
JOIN teams AS home ON home.team_id = d.home_team_id
JOIN teams AS away ON away.team_id = d.away_team_id
LEFT JOIN implied AS i ON i.match_id = d.match_id
ORDER BY d.competition_id, d.kickoff_at, d.match_id, d.model_name
