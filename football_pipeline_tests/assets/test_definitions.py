"""The one Definitions loads, with its assets, checks, jobs and partitions."""

from __future__ import annotations

import datetime as dt

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


def test_the_seasons_follow_the_calendar_without_reimporting(monkeypatch):
    # The season dimension is dynamic (the instance lists the registered seasons); in this process it
    # also holds every season of the calendar as of the moment it is asked, never as of the import.
    season = partitions.PARTITIONS.get_partitions_def_for_dimension("season")
    assert isinstance(season, dg.DynamicPartitionsDefinition) and season.name == "season"
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "2027-06-30")
    assert partitions.PARTITIONS.get_partition_keys()[-1] == "N1|2026-2027"
    assert not partitions.PARTITIONS.has_partition_key("E0|2027-2028")
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "2027-07-01")
    assert partitions.PARTITIONS.get_partition_keys()[-1] == "N1|2027-2028"
    assert partitions.PARTITIONS.has_partition_key("E0|2027-2028")
    # An asset of the partitions materializes a calendar season on an instance that registered nothing.
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("partitions_job")
        context = _loading_context(instance)
        job.validate_partition_key("E0|2027-2028", selected_asset_keys=None, context=context)
        with pytest.raises(dg.DagsterUnknownPartitionError):
            job.validate_partition_key("E0|2030-2031", selected_asset_keys=None, context=context)
        instance.add_dynamic_partitions("season", ["2030-2031"])  # a registered season is known too
        job.validate_partition_key("E0|2030-2031", selected_asset_keys=None, context=context)
        with dg.partition_loading_context(new_ctx=context):
            valid = partitions.PARTITIONS.filter_valid_partition_keys(
                {"E0|2027-2028", "E0|2030-2031", "E0|2031-2032", "XX|2027-2028"})
        assert {str(k) for k in valid} == {"E0|2027-2028", "E0|2030-2031"}


def _loading_context(instance):
    with dg.partition_loading_context(dynamic_partitions_store=instance) as context:
        return context


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
    assert from_environment().resume_backtest is True
    monkeypatch.setenv("FOOTBALL_MODELS_RESUME_BACKTEST", "false")
    models = from_environment()
    assert (models.cadence, models.draws, models.max_r_hat) == ("matchweek", 2000, 1.02)
    assert models.resume_backtest is False
    assert models.backtest_config().evaluation_seasons == ("2021-2022", "2022-2023")
    assert models.chains == 4  # unset: the default
    assert from_environment(draws=10).draws == 10  # explicit settings win
    # An explicit setting that does not fit is named as the field, not as a variable the user never set.
    with pytest.raises(ValueError, match=r"^draws=0: Input should be greater than or equal to 1$"):
        from_environment(draws=0)
    monkeypatch.setenv("FOOTBALL_MODELS_CHAINS", "four")
    with pytest.raises(ValueError, match="FOOTBALL_MODELS_CHAINS='four': not a valid int"):
        from_environment()


def test_evaluation_seasons_follow_the_as_of_date_unless_set(monkeypatch):
    from football_pipeline.modelling.backtest import stale_evaluation
    from football_pipeline.resources.models import from_environment
    from football_pipeline_tests.modelling.test_data import real_frame

    matches = real_frame()  # E0 2018-19 .. 2021-22
    models = from_environment(as_of="2021-03-01")  # unset: auto
    assert models.automatic_evaluation and models.evaluation_seasons == "auto"
    assert models.backtest_config(matches).evaluation_seasons == ("2020-2021",)
    assert models.backtest_config(matches, dt.date(2021, 9, 20)).evaluation_seasons == ("2020-2021", "2021-2022")
    assert models.missing_history(matches) is None
    # Chosen from the data: none given is an error; data with no season to evaluate on is told why.
    with pytest.raises(ValueError, match="chosen from the matches: none given"):
        models.backtest_config()
    assert models.missing_history(matches, dt.date(2018, 10, 1)) == (
        "E0 needs 2 season(s) before 2018-2019 (burn-in and training), has 0")
    assert models.missing_history(matches.iloc[:0]) == "no E0 data for evaluation season(s) 2020-2021"
    # Two seasons of data: the first cannot be evaluated (nothing before it to train on).
    two = matches[matches["season"] >= "2020-2021"]
    assert models.missing_history(two) == "E0 needs 2 season(s) before 2020-2021 (burn-in and training), has 0"
    # Stale only where the data is: told to load seasons rather than to change the setting.
    config = models.backtest_config(matches, dt.date(2026, 12, 7))
    assert config.evaluation_seasons == ("2021-2022",)
    assert "load 2025-2026 and 2026-2027" in stale_evaluation(config, dt.date(2026, 12, 7), automatic=True)
    monkeypatch.setenv("FOOTBALL_MODELS_EVALUATION_SEASONS", "2019-2020")
    pinned = from_environment(as_of="2021-03-01")
    assert not pinned.automatic_evaluation
    assert pinned.backtest_config().evaluation_seasons == pinned.backtest_config(matches).evaluation_seasons == (
        "2019-2020",)


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("FOOTBALL_MODELS_CADENCE", "weekly", "FOOTBALL_MODELS_CADENCE='weekly': Input should be 'matchweek', 'week' or 'month'"),
    ("FOOTBALL_MODELS_WINDOW_SEASONS", "7", "FOOTBALL_MODELS_WINDOW_SEASONS=7: Input should be less than or equal to 6"),
    ("FOOTBALL_MODELS_BURN_IN_SEASONS", "-1", "FOOTBALL_MODELS_BURN_IN_SEASONS=-1: Input should be greater than or equal to 0"),
    ("FOOTBALL_MODELS_CHAINS", "1", "FOOTBALL_MODELS_CHAINS=1: Input should be greater than or equal to 2"),
    ("FOOTBALL_MODELS_MAX_R_HAT", "0.99", "FOOTBALL_MODELS_MAX_R_HAT=0.99: Input should be greater than 1"),
    ("FOOTBALL_MODELS_LOWER_DIVISION", "maybe", "FOOTBALL_MODELS_LOWER_DIVISION='maybe': Input should be a valid boolean"),
    ("FOOTBALL_MODELS_EVALUATION_SEASONS", "2022-23", "evaluation season '2022-23' is not a season"),
    ("FOOTBALL_MODELS_EVALUATION_SEASONS", " , ", "no evaluation seasons given"),
])
def test_model_settings_that_mean_nothing_are_refused_naming_the_variable(monkeypatch, variable, value, reason):
    from football_pipeline.resources.models import from_environment

    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as refused:
        from_environment()
    assert str(refused.value).startswith(reason)


def test_the_launchpad_refuses_model_settings_before_a_run_starts():
    from football_pipeline.resources.models import ModelsResource

    job = defs.resolve_job_def("models_job")
    # The cadence is an enum of the config schema: a run with `weekly` is never created.
    with pytest.raises(dg.DagsterInvalidConfigError, match="cadence not in enum type"):
        dg.validate_run_config(job, {"resources": {"models": {"config": {"cadence": "weekly"}}}})
    dg.validate_run_config(job, {"resources": {"models": {"config": {"cadence": "matchweek"}}}})
    # Ranges and seasons the schema cannot express fail the resource's initialisation, which the run's
    # first model step (match_features) performs before computing anything.
    for config, reason in (({"window_seasons": 0}, "window_seasons\n  Input should be greater than or equal to 1"),
                           ({"evaluation_seasons": "2022-23"}, "evaluation season '2022-23' is not a season"),
                           ({"as_of": "2023/05/01"}, "as_of '2023/05/01' is not an ISO date")):
        with pytest.raises(dg.DagsterResourceFunctionError) as refused:
            with dg.build_resources({"models": ModelsResource()}, resource_config={"models": {"config": config}}):
                pass
        assert reason in str(refused.value.__cause__), str(refused.value.__cause__)
