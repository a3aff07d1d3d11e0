-- Model against market by month, from model_performance: ranked probability score (lower is better)
-- of each model version and of the de-vigged closing market on the same matches.
--
-- Bound parameters (SQLAlchemy text(), or football_pipeline.serving.queries):
--   :competition_id  a competition ('E0', ...), or NULL for every competition
--   :model_name      a model, or NULL for every model
--
-- An evaluation counts in the month its period starts (evaluations written per month give a true
-- monthly series); several in one month are averaged weighted by their number of matches.
-- rps_edge = market_rps - rps: positive where the model beat the market.
SELECT substr(CAST(mp.period_start AS TEXT), 1, 7) AS month,
       mp.competition_id,
       mp.model_name,
       mp.model_version,
       count(*) AS evaluations,
       sum(mp.n_matches) AS n_matches,
       sum(mp.rps * mp.n_matches)
           / sum(CASE WHEN mp.rps IS NOT NULL THEN mp.n_matches END) AS rps,
       sum(mp.market_rps * mp.n_matches)
           / sum(CASE WHEN mp.market_rps IS NOT NULL THEN mp.n_matches END) AS market_rps,
       sum((mp.market_rps - mp.rps) * mp.n_matches)
           / sum(CASE WHEN mp.market_rps IS NOT NULL AND mp.rps IS NOT NULL THEN mp.n_matches END)
           AS rps_edge,
       sum(mp.accuracy * mp.n_matches)
           / sum(CASE WHEN mp.accuracy IS NOT NULL THEN mp.n_matches END) AS accuracy,
       sum(mp.log_loss * mp.n_matches)
           / sum(CASE WHEN mp.log_loss IS NOT NULL THEN mp.n_matches END) AS log_loss,
       sum(mp.market_log_loss * mp.n_matches)
           / sum(CASE WHEN mp.market_log_loss IS NOT NULL THEN mp.n_matches END) AS market_log_loss
FROM model_performance AS mp
WHERE (:competition_id IS NULL OR mp.competition_id = :competition_id)
  AND (:model_name IS NULL OR mp.model_name = :model_name)
GROUP BY substr(CAST(mp.period_start AS TEXT), 1, 7), mp.competition_id, mp.model_name, mp.model_version
ORDER BY month, mp.competition_id, mp.model_name, mp.model_version
