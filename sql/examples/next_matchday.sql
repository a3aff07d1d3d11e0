-- A competition's next matchday: the latest predictions, with the market's latest pre-match 1X2 prices beside them.
--
-- Bound parameters (SQLAlchemy text(), or football_pipeline.serving.queries):
--   :competition_id  the competition ('E0', 'SP1', ...)
--   :as_of           UTC timestamp; matches kicking off after it are upcoming
--   :model_name      the model whose latest predictions to show (the champion), or NULL for every model
--
-- The next matchday is the upcoming predicted matches in kick-off order up to, not including, the first
-- match of a team that already plays in it: every team plays once in a matchday, whether the round runs
-- Friday to Monday or midweek. A matchday of T teams has at most T/2 matches, so the first 30 upcoming
-- matches (leagues of up to 58 teams) always hold it and the match that ends it; reading no further
-- keeps the query's cost independent of how much of the season is left.
--
-- Market: Pinnacle's and the market average's ('market_avg') 1X2 prices, each the closing prices where
-- the match has all three, otherwise the opening ones (football-data's fixtures feed carries the
-- opening, pre-match prices). market_*_pct are Pinnacle's prices (the market average's where Pinnacle
-- has none) as percentages summing to 100, the overround removed in proportion.
WITH fixtures AS (
    SELECT p.kickoff_at, p.match_id, min(p.home_team_id) AS home_team_id, min(p.away_team_id) AS away_team_id
    FROM predictions AS p
    WHERE p.competition_id = :competition_id AND p.kickoff_at > :as_of
    GROUP BY p.kickoff_at, p.match_id
    ORDER BY p.kickoff_at, p.match_id
    LIMIT 30
),
sides AS (
    SELECT kickoff_at, match_id, home_team_id AS team_id FROM fixtures
    UNION ALL
    SELECT kickoff_at, match_id, away_team_id AS team_id FROM fixtures
),
next_round AS (
    SELECT min(kickoff_at) AS starts_at
    FROM (SELECT kickoff_at, row_number() OVER (PARTITION BY team_id ORDER BY kickoff_at, match_id) AS nth
          FROM sides) AS appearances
    WHERE nth = 2
),
matchday AS (
    SELECT f.match_id
    FROM fixtures AS f
    WHERE NOT EXISTS (SELECT 1 FROM next_round AS r WHERE r.starts_at <= f.kickoff_at)
),
-- The rule of the latest_predictions view (newest predicted_at per match and model, ties to the higher
-- model_version), applied to the matchday's few rows: cheaper here than the view's anti-join.
ranked AS (
    SELECT p.*,
           row_number() OVER (PARTITION BY p.match_id, p.model_name
                              ORDER BY p.predicted_at DESC, p.model_version DESC) AS newest
    FROM predictions AS p
    JOIN matchday AS d ON d.match_id = p.match_id
    WHERE (:model_name IS NULL OR p.model_name = :model_name)
),
prices AS (
    SELECT o.match_id,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'closing' AND o.outcome = 'home' THEN o.price END) AS pc_home,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'closing' AND o.outcome = 'draw' THEN o.price END) AS pc_draw,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'closing' AND o.outcome = 'away' THEN o.price END) AS pc_away,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'opening' AND o.outcome = 'home' THEN o.price END) AS po_home,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'opening' AND o.outcome = 'draw' THEN o.price END) AS po_draw,
           max(CASE WHEN o.bookmaker = 'pinnacle' AND o.phase = 'opening' AND o.outcome = 'away' THEN o.price END) AS po_away,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'closing' AND o.outcome = 'home' THEN o.price END) AS ac_home,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'closing' AND o.outcome = 'draw' THEN o.price END) AS ac_draw,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'closing' AND o.outcome = 'away' THEN o.price END) AS ac_away,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'opening' AND o.outcome = 'home' THEN o.price END) AS ao_home,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'opening' AND o.outcome = 'draw' THEN o.price END) AS ao_draw,
           max(CASE WHEN o.bookmaker = 'market_avg' AND o.phase = 'opening' AND o.outcome = 'away' THEN o.price END) AS ao_away
    FROM odds AS o
    WHERE o.match_id IN (SELECT match_id FROM matchday)
      AND o.bookmaker IN ('pinnacle', 'market_avg') AND o.market = '1x2' AND o.line = 0
    GROUP BY o.match_id
),
quotes AS (
    SELECT match_id,
           CASE WHEN pc_home IS NOT NULL AND pc_draw IS NOT NULL AND pc_away IS NOT NULL THEN 'closing'
                WHEN po_home IS NOT NULL AND po_draw IS NOT NULL AND po_away IS NOT NULL THEN 'opening'
           END AS pinnacle_phase,
           CASE WHEN ac_home IS NOT NULL AND ac_draw IS NOT NULL AND ac_away IS NOT NULL THEN 'closing'
                WHEN ao_home IS NOT NULL AND ao_draw IS NOT NULL AND ao_away IS NOT NULL THEN 'opening'
           END AS market_avg_phase,
           pc_home, pc_draw, pc_away, po_home, po_draw, po_away,
           ac_home, ac_draw, ac_away, ao_home, ao_draw, ao_away
    FROM prices
),
chosen AS (
    SELECT match_id, pinnacle_phase, market_avg_phase,
           CASE pinnacle_phase WHEN 'closing' THEN pc_home WHEN 'opening' THEN po_home END AS pinnacle_home,
           CASE pinnacle_phase WHEN 'closing' THEN pc_draw WHEN 'opening' THEN po_draw END AS pinnacle_draw,
           CASE pinnacle_phase WHEN 'closing' THEN pc_away WHEN 'opening' THEN po_away END AS pinnacle_away,
           CASE market_avg_phase WHEN 'closing' THEN ac_home WHEN 'opening' THEN ao_home END AS market_avg_home,
           CASE market_avg_phase WHEN 'closing' THEN ac_draw WHEN 'opening' THEN ao_draw END AS market_avg_draw,
           CASE market_avg_phase WHEN 'closing' THEN ac_away WHEN 'opening' THEN ao_away END AS market_avg_away
    FROM quotes
),
implied AS (
    SELECT chosen.*,
           1.0 / coalesce(pinnacle_home, market_avg_home) AS inv_home,
           1.0 / coalesce(pinnacle_draw, market_avg_draw) AS inv_draw,
           1.0 / coalesce(pinnacle_away, market_avg_away) AS inv_away
    FROM chosen
)
SELECT lp.competition_id,
       c.name AS competition,
       lp.season,
       lp.kickoff_at,
       lp.match_id,
       lp.home_team_id,
       home.name AS home_team,
       lp.away_team_id,
       away.name AS away_team,
       lp.model_name,
       lp.model_version,
       lp.home_win_pct,
       lp.draw_pct,
       lp.away_win_pct,
       lp.expected_home_goals,
       lp.expected_away_goals,
       lp.entropy,
       lp.predicted_at,
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
FROM ranked AS lp
JOIN competitions AS c ON c.competition_id = lp.competition_id
JOIN teams AS home ON home.team_id = lp.home_team_id
JOIN teams AS away ON away.team_id = lp.away_team_id
LEFT JOIN implied AS i ON i.match_id = lp.match_id
WHERE lp.newest = 1
ORDER BY lp.kickoff_at, lp.match_id, lp.model_name
