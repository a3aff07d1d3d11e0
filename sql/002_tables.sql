-- Generated from football_pipeline/warehouse/schema.py by `football-pipeline schema-sql`.
-- Do not edit: change schema.py and add a migration; a test checks this file is current.

CREATE TABLE IF NOT EXISTS competitions (
	competition_id VARCHAR(8) NOT NULL,
	name TEXT NOT NULL,
	country VARCHAR(3) NOT NULL,
	tier SMALLINT NOT NULL,
	understat_league TEXT,
	fbref_comp_id INTEGER,
	CONSTRAINT pk_competitions PRIMARY KEY (competition_id)
);

COMMENT ON COLUMN competitions.competition_id IS 'football-data division code';

CREATE TABLE IF NOT EXISTS match_features (
	match_id VARCHAR(160) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	match_date DATE NOT NULL,
	final BOOLEAN NOT NULL,
	as_of DATE NOT NULL,
	feature_version VARCHAR(16) NOT NULL,
	inputs_digest VARCHAR(20),
	features JSON NOT NULL,
	computed_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_match_features PRIMARY KEY (match_id)
);

CREATE INDEX IF NOT EXISTS ix_match_features_competition_id_match_date ON match_features (competition_id, match_date);

COMMENT ON COLUMN match_features.final IS 'true: the match was played before as_of, its features never change; false: a fixture''s provisional features, replaced by the next sync';
COMMENT ON COLUMN match_features.as_of IS 'results on or after this date were hidden';
COMMENT ON COLUMN match_features.feature_version IS 'hash of the feature names and code';
COMMENT ON COLUMN match_features.inputs_digest IS 'digest of the match''s warehouse row (played matches)';
COMMENT ON COLUMN match_features.features IS 'feature name -> value (null: missing)';

CREATE TABLE IF NOT EXISTS model_performance (
	evaluation_id SERIAL NOT NULL,
	model_name VARCHAR(64) NOT NULL,
	model_version VARCHAR(64) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	period_start DATE NOT NULL,
	period_end DATE NOT NULL,
	n_matches INTEGER NOT NULL,
	accuracy FLOAT,
	accuracy_home FLOAT,
	accuracy_draw FLOAT,
	accuracy_away FLOAT,
	log_loss FLOAT,
	rps FLOAT,
	brier FLOAT,
	ece FLOAT,
	calibration_slope FLOAT,
	calibration_intercept FLOAT,
	market_rps FLOAT,
	market_log_loss FLOAT,
	rps_vs_market FLOAT,
	rps_vs_market_se FLOAT,
	mlflow_run_id VARCHAR(64),
	evaluated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_model_performance PRIMARY KEY (evaluation_id),
	CONSTRAINT uq_model_performance_model_name_model_version_competiti_d543 UNIQUE (model_name, model_version, competition_id, season, period_start, period_end)
);

COMMENT ON COLUMN model_performance.accuracy_home IS 'share of home wins the model made its most likely outcome';
COMMENT ON COLUMN model_performance.accuracy_draw IS 'share of draws the model made its most likely outcome';
COMMENT ON COLUMN model_performance.accuracy_away IS 'share of away wins the model made its most likely outcome';
COMMENT ON COLUMN model_performance.market_rps IS 'de-vigged closing market on the same matches';
COMMENT ON COLUMN model_performance.rps_vs_market IS 'mean per-match RPS minus the closing market''s, same matches';
COMMENT ON COLUMN model_performance.rps_vs_market_se IS 'its standard error, clustered by match date';

CREATE TABLE IF NOT EXISTS odds (
	match_id VARCHAR(160) NOT NULL,
	bookmaker VARCHAR(32) NOT NULL,
	market VARCHAR(16) NOT NULL,
	line FLOAT NOT NULL,
	outcome VARCHAR(8) NOT NULL,
	phase VARCHAR(8) NOT NULL,
	price FLOAT NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	CONSTRAINT pk_odds PRIMARY KEY (match_id, bookmaker, market, line, outcome, phase)
);

CREATE INDEX IF NOT EXISTS ix_odds_competition_id_season ON odds (competition_id, season);

COMMENT ON COLUMN odds.market IS '1x2 | over_under | asian_handicap';
COMMENT ON COLUMN odds.line IS 'goals line or home handicap; 0 for 1x2';
COMMENT ON COLUMN odds.outcome IS 'home | draw | away | over | under';
COMMENT ON COLUMN odds.phase IS 'opening (pre-match) | closing';
COMMENT ON COLUMN odds.price IS 'decimal odds';

CREATE TABLE IF NOT EXISTS publish_log (
	publish_id SERIAL NOT NULL,
	model_name VARCHAR(64) NOT NULL,
	model_version VARCHAR(64) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE NOT NULL,
	duration_seconds FLOAT NOT NULL,
	fixtures INTEGER NOT NULL,
	rows_written INTEGER NOT NULL,
	replaced INTEGER NOT NULL,
	skipped INTEGER NOT NULL,
	CONSTRAINT pk_publish_log PRIMARY KEY (publish_id)
);

CREATE INDEX IF NOT EXISTS ix_publish_log_finished_at ON publish_log (finished_at);

COMMENT ON COLUMN publish_log.duration_seconds IS 'from loading the champion to the rows written (the commit excluded)';
COMMENT ON COLUMN publish_log.skipped IS 'fixtures left out (unknown team)';

CREATE TABLE IF NOT EXISTS quarantine (
	quarantine_id SERIAL NOT NULL,
	source VARCHAR(16) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	source_file TEXT NOT NULL,
	source_sha256 VARCHAR(64) NOT NULL,
	source_row INTEGER,
	check_name VARCHAR(32) NOT NULL,
	reason TEXT NOT NULL,
	raw_row TEXT NOT NULL,
	quarantined_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_quarantine PRIMARY KEY (quarantine_id)
);

CREATE INDEX IF NOT EXISTS ix_quarantine_source_competition_id_season ON quarantine (source, competition_id, season);

COMMENT ON COLUMN quarantine.source_row IS 'line number (header = 1), or record number for JSON';

CREATE TABLE IF NOT EXISTS raw_files (
	sha256 VARCHAR(64) NOT NULL,
	size_bytes INTEGER NOT NULL,
	content BYTEA NOT NULL,
	first_seen_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_raw_files PRIMARY KEY (sha256)
);


CREATE TABLE IF NOT EXISTS teams (
	team_id VARCHAR(64) NOT NULL,
	name TEXT NOT NULL,
	country VARCHAR(3) NOT NULL,
	CONSTRAINT pk_teams PRIMARY KEY (team_id),
	CONSTRAINT uq_teams_name UNIQUE (name)
);

COMMENT ON COLUMN teams.team_id IS 'stable slug, e.g. manchester-city';

CREATE TABLE IF NOT EXISTS xg (
	match_id VARCHAR(160) NOT NULL,
	source VARCHAR(16) NOT NULL,
	source_match_id TEXT NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	kickoff_at TIMESTAMP WITH TIME ZONE NOT NULL,
	home_xg FLOAT,
	away_xg FLOAT,
	forecast_home FLOAT,
	forecast_draw FLOAT,
	forecast_away FLOAT,
	CONSTRAINT pk_xg PRIMARY KEY (match_id, source)
);

CREATE INDEX IF NOT EXISTS ix_xg_competition_id_season ON xg (competition_id, season);

COMMENT ON COLUMN xg.kickoff_at IS 'the source''s own kick-off time (UTC)';
COMMENT ON COLUMN xg.forecast_home IS 'the source''s own pre-computed win probability';

CREATE TABLE IF NOT EXISTS elo_ratings (
	team_id VARCHAR(64) NOT NULL,
	valid_from DATE NOT NULL,
	valid_to DATE NOT NULL,
	elo FLOAT NOT NULL,
	source VARCHAR(16) DEFAULT 'clubelo' NOT NULL,
	CONSTRAINT pk_elo_ratings PRIMARY KEY (team_id, valid_from),
	CONSTRAINT fk_elo_ratings_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id)
);


CREATE TABLE IF NOT EXISTS lineups (
	match_id VARCHAR(160) NOT NULL,
	team_id VARCHAR(64) NOT NULL,
	player TEXT NOT NULL,
	fbref_player_id VARCHAR(16),
	shirt_number SMALLINT,
	starter BOOLEAN NOT NULL,
	formation VARCHAR(16),
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	CONSTRAINT pk_lineups PRIMARY KEY (match_id, team_id, player),
	CONSTRAINT fk_lineups_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_lineups_competition_id_season ON lineups (competition_id, season);


CREATE TABLE IF NOT EXISTS matches (
	match_id VARCHAR(160) NOT NULL,
	kickoff_at TIMESTAMP WITH TIME ZONE NOT NULL,
	match_date DATE NOT NULL,
	kickoff_time_known BOOLEAN NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	home_team_id VARCHAR(64) NOT NULL,
	away_team_id VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	home_goals SMALLINT,
	away_goals SMALLINT,
	result VARCHAR(1),
	ht_home_goals SMALLINT,
	ht_away_goals SMALLINT,
	referee TEXT,
	attendance INTEGER,
	primary_source VARCHAR(16) NOT NULL,
	sources TEXT NOT NULL,
	data_quality_score FLOAT NOT NULL,
	loaded_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_matches PRIMARY KEY (match_id, kickoff_at),
	CONSTRAINT fk_matches_competition_id_competitions FOREIGN KEY(competition_id) REFERENCES competitions (competition_id),
	CONSTRAINT fk_matches_home_team_id_teams FOREIGN KEY(home_team_id) REFERENCES teams (team_id),
	CONSTRAINT fk_matches_away_team_id_teams FOREIGN KEY(away_team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_matches_away_team_id ON matches (away_team_id);

CREATE INDEX IF NOT EXISTS ix_matches_competition_id_season ON matches (competition_id, season);

CREATE INDEX IF NOT EXISTS ix_matches_home_team_id ON matches (home_team_id);

COMMENT ON COLUMN matches.kickoff_at IS 'UTC; midnight UTC when the time is unknown';
COMMENT ON COLUMN matches.status IS 'completed | scheduled';
COMMENT ON COLUMN matches.result IS 'H | D | A';
COMMENT ON COLUMN matches.sources IS 'comma-separated sources that hold this match';
COMMENT ON COLUMN matches.data_quality_score IS '0-1';

CREATE TABLE IF NOT EXISTS predictions (
	match_id VARCHAR(160) NOT NULL,
	model_name VARCHAR(64) NOT NULL,
	model_version VARCHAR(64) NOT NULL,
	kickoff_at TIMESTAMP WITH TIME ZONE NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	home_team_id VARCHAR(64) NOT NULL,
	away_team_id VARCHAR(64) NOT NULL,
	home_win_pct FLOAT NOT NULL,
	draw_pct FLOAT NOT NULL,
	away_win_pct FLOAT NOT NULL,
	expected_home_goals FLOAT,
	expected_away_goals FLOAT,
	credible_interval JSON,
	entropy FLOAT,
	model_type VARCHAR(32) NOT NULL,
	training_size INTEGER,
	features JSON,
	hyperparameters JSON,
	mlflow_run_id VARCHAR(64),
	predicted_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_predictions PRIMARY KEY (match_id, model_name, model_version),
	CONSTRAINT ck_predictions_probabilities_sum_to_100 CHECK (abs(home_win_pct + draw_pct + away_win_pct - 100) <= 0.1),
	CONSTRAINT fk_predictions_home_team_id_teams FOREIGN KEY(home_team_id) REFERENCES teams (team_id),
	CONSTRAINT fk_predictions_away_team_id_teams FOREIGN KEY(away_team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_predictions_competition_id_kickoff_at_match_id ON predictions (competition_id, kickoff_at, match_id) INCLUDE (home_team_id, away_team_id);

CREATE INDEX IF NOT EXISTS ix_predictions_kickoff_at ON predictions (kickoff_at);

COMMENT ON COLUMN predictions.credible_interval IS '90% intervals of the probabilities';

CREATE TABLE IF NOT EXISTS shots (
	understat_shot_id VARCHAR(16) NOT NULL,
	match_id VARCHAR(160) NOT NULL,
	team_id VARCHAR(64) NOT NULL,
	minute SMALLINT,
	player TEXT,
	understat_player_id VARCHAR(16),
	x FLOAT,
	y FLOAT,
	xg FLOAT NOT NULL,
	result VARCHAR(16),
	situation VARCHAR(24),
	shot_type VARCHAR(16),
	last_action VARCHAR(32),
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	CONSTRAINT pk_shots PRIMARY KEY (understat_shot_id),
	CONSTRAINT fk_shots_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_shots_competition_id_season ON shots (competition_id, season);

CREATE INDEX IF NOT EXISTS ix_shots_match_id ON shots (match_id);

COMMENT ON COLUMN shots.x IS '0-1 along the pitch towards goal';
COMMENT ON COLUMN shots.result IS 'Goal | SavedShot | BlockedShot | MissedShots | ShotOnPost | OwnGoal';

CREATE TABLE IF NOT EXISTS source_files (
	source VARCHAR(16) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	path TEXT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	fingerprint VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	rows_loaded INTEGER NOT NULL,
	rows_quarantined INTEGER NOT NULL,
	message TEXT,
	checked_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_source_files PRIMARY KEY (source, competition_id, season),
	CONSTRAINT fk_source_files_sha256_raw_files FOREIGN KEY(sha256) REFERENCES raw_files (sha256)
);

COMMENT ON COLUMN source_files.fingerprint IS 'file + parser + vocabulary';
COMMENT ON COLUMN source_files.status IS 'loaded | blocked | failed';

CREATE TABLE IF NOT EXISTS team_aliases (
	source VARCHAR(16) NOT NULL,
	country VARCHAR(3) NOT NULL,
	alias TEXT NOT NULL,
	team_id VARCHAR(64) NOT NULL,
	CONSTRAINT pk_team_aliases PRIMARY KEY (source, country, alias),
	CONSTRAINT fk_team_aliases_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_team_aliases_team_id ON team_aliases (team_id);


CREATE TABLE IF NOT EXISTS team_match_stats (
	match_id VARCHAR(160) NOT NULL,
	team_id VARCHAR(64) NOT NULL,
	kickoff_at TIMESTAMP WITH TIME ZONE NOT NULL,
	opponent_id VARCHAR(64) NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	is_home BOOLEAN NOT NULL,
	goals_for SMALLINT,
	goals_against SMALLINT,
	points SMALLINT,
	xg_for FLOAT,
	xg_against FLOAT,
	shots SMALLINT,
	shots_on_target SMALLINT,
	woodwork SMALLINT,
	corners SMALLINT,
	fouls SMALLINT,
	offsides SMALLINT,
	yellow_cards SMALLINT,
	red_cards SMALLINT,
	possession SMALLINT,
	CONSTRAINT pk_team_match_stats PRIMARY KEY (match_id, team_id, kickoff_at),
	CONSTRAINT fk_team_match_stats_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id),
	CONSTRAINT fk_team_match_stats_opponent_id_teams FOREIGN KEY(opponent_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_team_match_stats_competition_id_season ON team_match_stats (competition_id, season);

COMMENT ON COLUMN team_match_stats.possession IS 'percent, from the FBref match report';

CREATE TABLE IF NOT EXISTS team_resolutions (
	source VARCHAR(16) NOT NULL,
	country VARCHAR(3) NOT NULL,
	alias TEXT NOT NULL,
	team_id VARCHAR(64) NOT NULL,
	decision VARCHAR(16) NOT NULL,
	evidence TEXT NOT NULL,
	first_seen_file TEXT NOT NULL,
	competition_id VARCHAR(8) NOT NULL,
	season VARCHAR(9) NOT NULL,
	decided_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	accepted_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_team_resolutions PRIMARY KEY (source, country, alias),
	CONSTRAINT fk_team_resolutions_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (team_id)
);

CREATE INDEX IF NOT EXISTS ix_team_resolutions_team_id ON team_resolutions (team_id);

COMMENT ON COLUMN team_resolutions.decision IS 'new_team | renamed | shared_matches | clubelo_name';
COMMENT ON COLUMN team_resolutions.accepted_at IS 'when a person accepted it into the curated files';
