"""The warehouse tables (SQLAlchemy Core), one definition for SQLite, PostgreSQL and TimescaleDB.

`sql/002_tables.sql` is generated from this module (`football-pipeline schema-sql`) and a test keeps
the two equal. Tables partitioned on time in TimescaleDB (`matches`, `team_match_stats`) carry the time
column in their primary key, as hypertables require.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)


def _loaded_at() -> sa.Column:
    return sa.Column("loaded_at", TS, nullable=False, server_default=sa.func.current_timestamp())


competitions = sa.Table(
    "competitions",
    metadata,
    sa.Column("competition_id", sa.String(8), primary_key=True, comment="football-data division code"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("country", sa.String(3), nullable=False),
    sa.Column("tier", sa.SmallInteger, nullable=False),
    sa.Column("understat_league", sa.Text),
    sa.Column("fbref_comp_id", sa.Integer),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("team_id", sa.String(64), primary_key=True, comment="stable slug, e.g. manchester-city"),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("country", sa.String(3), nullable=False),
)

team_aliases = sa.Table(
    "team_aliases",
    metadata,
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("country", sa.String(3), primary_key=True),
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False, index=True),
)

team_resolutions = sa.Table(
    "team_resolutions",
    metadata,
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("country", sa.String(3), primary_key=True),
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False, index=True),
    sa.Column("decision", sa.String(16), nullable=False, comment="new_team | renamed | shared_matches | clubelo_name"),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("first_seen_file", sa.Text, nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("decided_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("accepted_at", TS, comment="when a person accepted it into the curated files"),
)  # the clubs and spellings the curated vocabulary did not know, and what the loads decided

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("kickoff_at", TS, primary_key=True, comment="UTC; midnight UTC when the time is unknown"),
    sa.Column("match_date", sa.Date, nullable=False),
    sa.Column("kickoff_time_known", sa.Boolean, nullable=False),
    sa.Column("competition_id", sa.String(8), sa.ForeignKey("competitions.competition_id"), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("home_team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False, index=True),
    sa.Column("away_team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, comment="completed | scheduled"),
    sa.Column("home_goals", sa.SmallInteger),
    sa.Column("away_goals", sa.SmallInteger),
    sa.Column("result", sa.String(1), comment="H | D | A"),
    sa.Column("ht_home_goals", sa.SmallInteger),
    sa.Column("ht_away_goals", sa.SmallInteger),
    sa.Column("referee", sa.Text),
    sa.Column("attendance", sa.Integer),
    sa.Column("primary_source", sa.String(16), nullable=False),
    sa.Column("sources", sa.Text, nullable=False, comment="comma-separated sources that hold this match"),
    sa.Column("data_quality_score", sa.Float, nullable=False, comment="0-1"),
    _loaded_at(),
    sa.Index("ix_matches_competition_id_season", "competition_id", "season"),
)

team_match_stats = sa.Table(
    "team_match_stats",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), primary_key=True),
    sa.Column("kickoff_at", TS, primary_key=True),
    sa.Column("opponent_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("is_home", sa.Boolean, nullable=False),
    sa.Column("goals_for", sa.SmallInteger),
    sa.Column("goals_against", sa.SmallInteger),
    sa.Column("points", sa.SmallInteger),
    sa.Column("xg_for", sa.Float),
    sa.Column("xg_against", sa.Float),
    sa.Column("shots", sa.SmallInteger),
    sa.Column("shots_on_target", sa.SmallInteger),
    sa.Column("woodwork", sa.SmallInteger),
    sa.Column("corners", sa.SmallInteger),
    sa.Column("fouls", sa.SmallInteger),
    sa.Column("offsides", sa.SmallInteger),
    sa.Column("yellow_cards", sa.SmallInteger),
    sa.Column("red_cards", sa.SmallInteger),
    sa.Column("possession", sa.SmallInteger, comment="percent, from the FBref match report"),
    sa.Index("ix_team_match_stats_competition_id_season", "competition_id", "season"),
)

odds = sa.Table(
    "odds",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("bookmaker", sa.String(32), primary_key=True),
    sa.Column("market", sa.String(16), primary_key=True, comment="1x2 | over_under | asian_handicap"),
    sa.Column("line", sa.Float, primary_key=True, comment="goals line or home handicap; 0 for 1x2"),
    sa.Column("outcome", sa.String(8), primary_key=True, comment="home | draw | away | over | under"),
    sa.Column("phase", sa.String(8), primary_key=True, comment="opening (pre-match) | closing"),
    sa.Column("price", sa.Float, nullable=False, comment="decimal odds"),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Index("ix_odds_competition_id_season", "competition_id", "season"),
)

xg = sa.Table(
    "xg",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("source_match_id", sa.Text, nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("kickoff_at", TS, nullable=False, comment="the source's own kick-off time (UTC)"),
    sa.Column("home_xg", sa.Float),
    sa.Column("away_xg", sa.Float),
    sa.Column("forecast_home", sa.Float, comment="the source's own pre-computed win probability"),
    sa.Column("forecast_draw", sa.Float),
    sa.Column("forecast_away", sa.Float),
    sa.Index("ix_xg_competition_id_season", "competition_id", "season"),
)

lineups = sa.Table(
    "lineups",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), primary_key=True),
    sa.Column("player", sa.Text, primary_key=True),
    sa.Column("fbref_player_id", sa.String(16)),
    sa.Column("shirt_number", sa.SmallInteger),
    sa.Column("starter", sa.Boolean, nullable=False),
    sa.Column("formation", sa.String(16)),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Index("ix_lineups_competition_id_season", "competition_id", "season"),
)

shots = sa.Table(
    "shots",
    metadata,
    sa.Column("understat_shot_id", sa.String(16), primary_key=True),
    sa.Column("match_id", sa.String(160), nullable=False, index=True),
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("minute", sa.SmallInteger),
    sa.Column("player", sa.Text),
    sa.Column("understat_player_id", sa.String(16)),
    sa.Column("x", sa.Float, comment="0-1 along the pitch towards goal"),
    sa.Column("y", sa.Float),
    sa.Column("xg", sa.Float, nullable=False),
    sa.Column("result", sa.String(16), comment="Goal | SavedShot | BlockedShot | MissedShots | ShotOnPost | OwnGoal"),
    sa.Column("situation", sa.String(24)),
    sa.Column("shot_type", sa.String(16)),
    sa.Column("last_action", sa.String(32)),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Index("ix_shots_competition_id_season", "competition_id", "season"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("quarantine_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.String(64), nullable=False),
    sa.Column("source_row", sa.Integer, comment="line number (header = 1), or record number for JSON"),
    sa.Column("check_name", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_row", sa.Text, nullable=False),
    sa.Column("quarantined_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Index("ix_quarantine_source_competition_id_season", "source", "competition_id", "season"),
)

raw_files = sa.Table(
    "raw_files",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("first_seen_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
)

source_files = sa.Table(
    "source_files",
    metadata,
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("competition_id", sa.String(8), primary_key=True),
    sa.Column("season", sa.String(9), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("raw_files.sha256"), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, comment="file + parser + vocabulary"),
    sa.Column("status", sa.String(16), nullable=False, comment="loaded | blocked | failed"),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("rows_quarantined", sa.Integer, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("checked_at", TS, nullable=False),
)

elo_ratings = sa.Table(
    "elo_ratings",
    metadata,
    sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date, nullable=False),
    sa.Column("elo", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default="clubelo"),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("model_name", sa.String(64), primary_key=True),
    sa.Column("model_version", sa.String(64), primary_key=True),
    sa.Column("kickoff_at", TS, nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("home_team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("away_team_id", sa.String(64), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("home_win_pct", sa.Float, nullable=False),
    sa.Column("draw_pct", sa.Float, nullable=False),
    sa.Column("away_win_pct", sa.Float, nullable=False),
    sa.Column("expected_home_goals", sa.Float),
    sa.Column("expected_away_goals", sa.Float),
    sa.Column("credible_interval", sa.JSON, comment="90% intervals of the probabilities"),
    sa.Column("entropy", sa.Float),
    sa.Column("model_type", sa.String(32), nullable=False),
    sa.Column("training_size", sa.Integer),
    sa.Column("features", sa.JSON),
    sa.Column("hyperparameters", sa.JSON),
    sa.Column("mlflow_run_id", sa.String(64)),
    sa.Column("predicted_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.CheckConstraint(
        "abs(home_win_pct + draw_pct + away_win_pct - 100) <= 0.1", name="probabilities_sum_to_100"
    ),
    sa.Index("ix_predictions_kickoff_at", "kickoff_at"),
    # The next-matchday query (sql/examples/next_matchday.sql): a competition's upcoming matches in
    # kick-off order, read from the index alone (PostgreSQL).
    sa.Index("ix_predictions_competition_id_kickoff_at_match_id", "competition_id", "kickoff_at", "match_id",
             postgresql_include=["home_team_id", "away_team_id"]),
)

# One row per publish that wrote predictions (serving/publish.py, in the same transaction as the rows):
# what was published and how long it took. The Prometheus publish-latency histogram reads it.
publish_log = sa.Table(
    "publish_log",
    metadata,
    sa.Column("publish_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_name", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=False),
    sa.Column("duration_seconds", sa.Float, nullable=False,
              comment="from loading the champion to the rows written (the commit excluded)"),
    sa.Column("fixtures", sa.Integer, nullable=False),
    sa.Column("rows_written", sa.Integer, nullable=False),
    sa.Column("replaced", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False, comment="fixtures left out (unknown team)"),
    sa.Index("ix_publish_log_finished_at", "finished_at"),
)

model_performance = sa.Table(
    "model_performance",
    metadata,
    sa.Column("evaluation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_name", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("n_matches", sa.Integer, nullable=False),
    sa.Column("accuracy", sa.Float),
    sa.Column("accuracy_home", sa.Float, comment="share of home wins the model made its most likely outcome"),
    sa.Column("accuracy_draw", sa.Float, comment="share of draws the model made its most likely outcome"),
    sa.Column("accuracy_away", sa.Float, comment="share of away wins the model made its most likely outcome"),
    sa.Column("log_loss", sa.Float),
    sa.Column("rps", sa.Float),
    sa.Column("brier", sa.Float),
    sa.Column("ece", sa.Float),
    sa.Column("calibration_slope", sa.Float),
    sa.Column("calibration_intercept", sa.Float),
    sa.Column("market_rps", sa.Float, comment="de-vigged closing market on the same matches"),
    sa.Column("market_log_loss", sa.Float),
    sa.Column("rps_vs_market", sa.Float, comment="mean per-match RPS minus the closing market's, same matches"),
    sa.Column("rps_vs_market_se", sa.Float, comment="its standard error, clustered by match date"),
    sa.Column("mlflow_run_id", sa.String(64)),
    sa.Column("evaluated_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.UniqueConstraint("model_name", "model_version", "competition_id", "season", "period_start", "period_end"),
)

match_features = sa.Table(
    "match_features",
    metadata,
    sa.Column("match_id", sa.String(160), primary_key=True),
    sa.Column("competition_id", sa.String(8), nullable=False),
    sa.Column("season", sa.String(9), nullable=False),
    sa.Column("match_date", sa.Date, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False,
              comment="true: the match was played before as_of, its features never change; false: a fixture's "
                      "provisional features, replaced by the next sync"),
    sa.Column("as_of", sa.Date, nullable=False, comment="results on or after this date were hidden"),
    sa.Column("feature_version", sa.String(16), nullable=False, comment="hash of the feature names and code"),
    sa.Column("inputs_digest", sa.String(20), comment="digest of the match's warehouse row (played matches)"),
    sa.Column("features", sa.JSON, nullable=False, comment="feature name -> value (null: missing)"),
    sa.Column("computed_at", TS, nullable=False),
    sa.Index("ix_match_features_competition_id_match_date", "competition_id", "match_date"),
)

# Tables rewritten per competition x season partition by a load.
PARTITIONED = (matches, team_match_stats, odds, xg, lineups, shots)
