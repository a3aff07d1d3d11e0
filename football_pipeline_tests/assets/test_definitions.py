"""The one Definitions loads, with its assets, checks, jobs and partitions."""

from __future__ import annotations

import dagster as dg
import pytest

from football_pipeline import partitions
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "ingestion/football_data_matches", "ingestion/understat_matches", "ingestion/fbref_matches",
        "warehouse/teams",
        "warehouse/matches", "warehouse/team_match_stats", "warehouse/odds", "warehouse/xg",
        "warehouse/team_season_stats", "warehouse/elo_ratings",
        "models/match_features", "models/backtest", "models/bayesian_dixon_coles", "models/xgboost",
        "models/ensemble", "serving/predictions",
    }
    for name in ("reference_job", "partitions_job", "aggregates_job", "models_job", "publish_job"):
        assert defs.resolve_job_def(name) is not None


def test_model_checks_that_guard_the_champion_are_blocking():
    graph = defs.resolve_asset_graph()
    blocking = {(key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
                for key in graph.asset_check_keys}
    for check in (("models/bayesian_dixon_coles", "r_hat"), ("models/bayesian_dixon_coles", "effective_sample_size"),
                  ("models/bayesian_dixon_coles", "no_divergences"), ("models/ensemble", "beats_champion"),
                  ("models/match_features", "no_missing_values"), ("models/backtest", "enough_matches"),
                  ("models/bayesian_dixon_coles", "enough_training_matches"), ("models/xgboost", "enough_training_matches")):
        assert blocking[check] is True, check
    # Warnings that must not stop a retrain.
    for check in (("models/backtest", "bayesian_beats_mle"), ("models/backtest", "evaluation_is_recent")):
        assert blocking[check] is False, check


def test_partitions_cover_every_competition_and_season():
    keys = partitions.PARTITIONS.get_partition_keys()
    competitions = {k.keys_by_dimension["competition"] for k in keys}
    seasons = sorted({k.keys_by_dimension["season"] for k in keys})
    assert competitions == {c.competition_id for c in COMPETITIONS}
    assert seasons[0] == "1993-1994" and seasons[-1] >= "2026-2027"
    assert partitions.split("E0|2022-2023") == ("E0", partitions.Season(2022))


def test_quality_checks_are_declared_and_blocking():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for name in ("schema", "teams_known", "value_ranges", "consistency", "temporal", "no_duplicates",
                 "outliers", "file_complete"):
        assert ("ingestion/football_data_matches", name) in checks
        assert ("ingestion/understat_matches", name) in checks
    assert ("warehouse/matches", "referential_integrity") in checks
    specs = {spec.key.name: spec for spec in defs.resolve_assets_def(["ingestion", "football_data_matches"]).check_specs}
    assert specs["teams_known"].blocking and specs["file_complete"].blocking


def test_model_settings_come_from_the_environment(monkeypatch):
    from football_pipeline.resources.models import from_environment

    monkeypatch.setenv("FOOTBALL_MODELS_CADENCE", "matchweek")
    monkeypatch.setenv("FOOTBALL_MODELS_DRAWS", "2000")
    monkeypatch.setenv("FOOTBALL_MODELS_MAX_R_HAT", "1.02")
    monkeypatch.setenv("FOOTBALL_MODELS_EVALUATION_SEASONS", "2021-2022,2022-2023")
    models = from_environment()
    assert (models.cadence, models.draws, models.max_r_hat) == ("matchweek", 2000, 1.02)
    assert models.backtest_config().evaluation_seasons == ("2021-2022", "2022-2023")
    assert models.chains == 4  # unset: the default
    assert from_environment(draws=10).draws == 10  # explicit settings win
    monkeypatch.setenv("FOOTBALL_MODELS_CHAINS", "four")
    with pytest.raises(ValueError, match="FOOTBALL_MODELS_CHAINS='four': not a valid int"):
        from_environment()
