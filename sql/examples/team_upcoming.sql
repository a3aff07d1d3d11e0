-- A team's upcoming fixtures with the latest predictions, from the team's side.
--
-- Bound parameters (SQLAlchemy text(), or football_pipeline.serving.queries):
--   :team_id     the team's id (teams.team_id, e.g. 'arsenal')
--   :as_of       UTC timestamp; matches kicking off after it are upcoming
--   :model_name  the model whose latest predictions to show, or NULL for every model
SELECT lp.kickoff_at,
       lp.competition_id,
       lp.season,
       lp.match_id,
       CASE WHEN lp.home_team_id = :team_id THEN 'home' ELSE 'away' END AS venue,
       CASE WHEN lp.home_team_id = :team_id THEN lp.away_team_id ELSE lp.home_team_id END AS opponent_id,
       opponent.name AS opponent,
       CASE WHEN lp.home_team_id = :team_id THEN lp.home_win_pct ELSE lp.away_win_pct END AS win_pct,
       lp.draw_pct,
       CASE WHEN lp.home_team_id = :team_id THEN lp.away_win_pct ELSE lp.home_win_pct END AS loss_pct,
       CASE WHEN lp.home_team_id = :team_id THEN lp.expected_home_goals ELSE lp.expected_away_goals END
           AS expected_goals_for,
       CASE WHEN lp.home_team_id = :team_id THEN lp.expected_away_goals ELSE lp.expected_home_goals END
           AS expected_goals_against,
       lp.model_name,
       lp.model_version,
       lp.predicted_at
FROM latest_predictions AS lp
JOIN teams AS opponent
  ON opponent.team_id = CASE WHEN lp.home_team_id = :team_id THEN lp.away_team_id ELSE lp.home_team_id END
WHERE (lp.home_team_id = :team_id OR lp.away_team_id = :team_id)
  AND lp.kickoff_at > :as_of
  AND (:model_name IS NULL OR lp.model_name = :model_name)
ORDER BY lp.kickoff_at, lp.match_id, lp.model_name
