-- 007 (migration 0003): what prediction consumers read. Idempotent.
--
-- latest_predictions: one row per (match_id, model_name), the one with the newest predicted_at
-- (ties broken by the higher model_version), so a re-published model version replaces the older
-- one for readers while every version stays in predictions. Written as an anti-join rather than a
-- window function so that a filter on the view (competition, kick-off, team) reaches the predictions
-- indexes; the same text serves SQLite (football_pipeline/warehouse/sqlite_views.py).
CREATE OR REPLACE VIEW latest_predictions AS
SELECT p.match_id,
       p.model_name,
       p.model_version,
       p.kickoff_at,
       p.competition_id,
       p.season,
       p.home_team_id,
       p.away_team_id,
       p.home_win_pct,
       p.draw_pct,
       p.away_win_pct,
       p.expected_home_goals,
       p.expected_away_goals,
       p.credible_interval,
       p.entropy,
       p.model_type,
       p.training_size,
       p.features,
       p.hyperparameters,
       p.mlflow_run_id,
       p.predicted_at
FROM predictions AS p
WHERE NOT EXISTS (
    SELECT 1
    FROM predictions AS newer
    WHERE newer.match_id = p.match_id
      AND newer.model_name = p.model_name
      AND (newer.predicted_at > p.predicted_at
           OR (newer.predicted_at = p.predicted_at AND newer.model_version > p.model_version))
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'football_reader') THEN
        GRANT SELECT ON latest_predictions TO football_reader;
    END IF;
END
$$;
