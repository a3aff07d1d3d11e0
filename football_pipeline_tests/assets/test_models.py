"""The model assets end to end on real Premier League files (small sampler settings): features,
walk-forward backtest into model_performance, the Bayesian fit with its blocking convergence checks,
XGBoost, and the ensemble registered in MLflow with the champion gate."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import mlflow
import numpy as np
import pytest
import sqlalchemy as sa

from football_pipeline import pipeline
from football_pipeline.assets import models
from football_pipeline.modelling import feature_store, production, tracking
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import ModelsResource
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema
from football_pipeline_tests.conftest import TODAY, copy_bundled

NAME = "test-ensemble"


def settings(**overrides) -> ModelsResource:
    values = {"as_of": "2022-03-01", "evaluation_seasons": "2021-2022", "burn_in_seasons": 1, "cadence": "month",
              "backtest_draws": 50, "draws": 200, "warmup": 200, "chains": 2, "min_ess": 50.0, "max_r_hat": 1.05,
              "registered_model": NAME}
    return ModelsResource(**{**values, **overrides})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "WAREHOUSE_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("FOOTBALL_PIPELINE_STATE_DIR", str(root / "state"))
        data_dir = root / "data"
        copy_bundled(data_dir, *(f"football-data/E0/{code}.csv" for code in ("1920", "2021", "2122")))
        url = f"sqlite:///{root / 'warehouse.db'}"
        engine = engines.create_engine(url)
        pipeline.load_directory(engine, data_dir, today=TODAY)
        resources = {"warehouse": WarehouseResource(url=url), "models": settings(),
                     "io_manager": dg.FilesystemIOManager(base_dir=str(root / "storage"))}
        with dg.instance_for_test() as instance:
            result = dg.materialize(models.ASSETS, resources=resources, instance=instance, raise_on_error=False)
            champion = tracking.champion(NAME)
            served = tracking.load_champion(NAME) if champion is not None else None
            # A second retrain whose Bayesian fit fails its convergence check must not touch the champion.
            failing = {**resources, "models": settings(min_ess=1e9)}
            second = dg.materialize(models.ASSETS, resources=failing, instance=instance, raise_on_error=False,
                                    selection=[models.bayesian_dixon_coles, models.ensemble])
            champion_after = tracking.champion(NAME)
            # The next weekly retrain, a week of results later: the same models refitted take over. Its
            # evaluation season is chosen from the as-of date (`auto`, the default): 2021-22, as set before.
            weekly = {**resources, "models": settings(as_of="2022-03-08", evaluation_seasons="auto")}
            third = dg.materialize(models.ASSETS, resources=weekly, instance=instance, raise_on_error=False)
            champion_refreshed = tracking.champion(NAME)
            # An evaluation season with too few matches yet: the backtest's blocking check fails and the
            # ensemble is not retrained (its other inputs come from the previous run's storage). No
            # burn-in season: the check is about the evaluation season, and the walk stays short.
            early = {**resources, "models": settings(as_of="2021-08-25", burn_in_seasons=0)}
            short = dg.materialize(models.ASSETS, resources=early,
                                   instance=instance, raise_on_error=False,
                                   selection=[models.match_features, models.backtest, models.ensemble])
            champion_last = tracking.champion(NAME)
            # A retrain a few weeks into the first season of data: too little history for either model.
            first = {**resources, "models": settings(as_of="2019-10-01")}
            tiny = dg.materialize(models.ASSETS, resources=first, instance=instance, raise_on_error=False,
                                  selection=[models.match_features, models.bayesian_dixon_coles,
                                             models.xgboost_model, models.ensemble])
            champion_tiny = tracking.champion(NAME)
            client = mlflow.MlflowClient()
            yield {"result": result, "second": second, "third": third, "short": short, "tiny": tiny, "champion_tiny": champion_tiny,
                   "engine": engine,
                   "champion": champion, "champion_after": champion_after, "champion_refreshed": champion_refreshed,
                   "champion_last": champion_last, "client": client, "served": served,
                   "bayes_artifacts": _artifacts(client, result, "models/bayesian_dixon_coles"),
                   "ensemble_artifacts": _artifacts(client, result, "models/ensemble"),
                   "xgboost_artifacts": _artifacts(client, result, "models/xgboost")}
        mlflow.set_tracking_uri(None)
        engine.dispose()


def _artifacts(client, result, asset: str) -> set[str]:
    event = next((e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset), None)
    if event is None:
        return set()
    return {a.path for a in client.list_artifacts(event.materialization.metadata["mlflow_run_id"].value)}


def checks(result) -> dict[str, bool]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}


def test_every_model_asset_materializes_and_its_checks_pass(world):
    result = world["result"]
    assert result.success
    assert checks(result) == {
        "models/match_features:no_missing_values": True, "models/backtest:enough_matches": True,
        "models/backtest:bayesian_beats_mle": checks(result)["models/backtest:bayesian_beats_mle"],
        "models/backtest:evaluation_is_recent": True,
        "models/bayesian_dixon_coles:enough_training_matches": True, "models/xgboost:enough_training_matches": True,
        "models/bayesian_dixon_coles:r_hat": True, "models/bayesian_dixon_coles:effective_sample_size": True,
        "models/bayesian_dixon_coles:no_divergences": True, "models/ensemble:beats_champion": True}
    r_hat = next(e for e in result.get_asset_check_evaluations() if e.check_name == "r_hat").metadata
    # The worst R-hat is the larger of its location (bulk) and spread (folded) halves, both shown.
    assert r_hat["r_hat_max"].value == max(r_hat["r_hat_bulk_max"].value, r_hat["r_hat_folded_max"].value) < 1.05
    features = result.output_for_node("models__match_features")
    assert features.as_of == dt.date(2022, 3, 1)
    upcoming = features.frame[features.frame["match_date"] >= "2022-03-01"]
    assert len(upcoming) > 80 and upcoming["home_goals"].isna().all()  # results from the as-of date on are hidden


def _features_metadata(result) -> dict:
    event = next(e for e in result.get_asset_materialization_events()
                 if e.asset_key.to_user_string() == "models/match_features")
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_match_features_are_stored_incrementally_by_date(world):
    first, weekly, early = (_features_metadata(world[k]) for k in ("result", "third", "short"))
    assert first["recomputed_from"] == "2019-08-09" and first["final_rows_kept"] == 0
    # A week later only that week's results (and the fixtures) are written; the rest is kept.
    assert "2022-03-01" <= weekly["recomputed_from"] < "2022-03-08"
    assert weekly["final_rows_kept"] == first["final_rows_written"]
    assert 0 < weekly["final_rows_written"] <= 20 and not weekly["backfill"]
    # A backfill to an earlier date reads history but rewrites nothing.
    assert early["backfill"] and early["final_rows_written"] == 0 and early["provisional_rows_written"] == 0
    stored = feature_store.read(world["engine"])
    assert len(stored) == first["matches"]
    assert (stored["final"] == (stored["match_date"] < "2022-03-08")).all()
    features = world["third"].output_for_node("models__match_features").features
    ids = world["third"].output_for_node("models__match_features").frame["match_id"].to_numpy()
    assert np.allclose(stored.loc[ids, "elo_diff"].to_numpy(dtype=float), features["elo_diff"].to_numpy(),
                       equal_nan=True)


def test_backtest_rows_land_in_model_performance(world):
    table = schema.model_performance
    with world["engine"].connect() as connection:
        rows = connection.execute(sa.select(table).where(table.c.season == "all",
                                                         table.c.model_version.like("%@2022-03-01"))).mappings().all()
        versions = connection.execute(sa.select(table.c.model_version).distinct()).scalars().all()
    # Each backtest date keeps its own rows (the weekly retrain and the early run added theirs).
    assert sorted(v.split("@")[1] for v in versions) == ["2021-08-25", "2022-03-01", "2022-03-08"]
    by_model = {r["model_name"]: r for r in rows}
    assert {"bayesian_dixon_coles", "dixon_coles_mle", "xgboost", "ensemble", "ensemble_no_odds", "market"} <= set(by_model)
    for row in by_model.values():
        # 2021-22 up to the as-of date: the matches played before 1 March 2022, no later ones.
        assert 200 <= row["n_matches"] <= 280 and row["period_end"] < dt.date(2022, 3, 1)
        assert 0.15 < row["rps"] < 0.23 and row["accuracy"] < 0.6
        assert row["market_rps"] is not None and row["mlflow_run_id"]
        # Accuracy per outcome: draws are rarely a model's most likely outcome, home wins often are.
        assert row["accuracy_home"] > row["accuracy_draw"] and 0 <= row["accuracy_draw"] < 0.3
        assert 0 < row["accuracy_away"] < 1
        if row["model_name"] == "market":
            assert row["rps_vs_market"] is None
        else:  # the paired difference against the closing market, on the same matches
            assert row["rps_vs_market"] == pytest.approx(row["rps"] - row["market_rps"], abs=1e-12)
            assert 0 < row["rps_vs_market_se"] < 0.01


def test_mlflow_runs_carry_the_dagster_run_and_the_champion_is_registered(world):
    result, client = world["result"], world["client"]
    materialization = next(e for e in result.get_asset_materialization_events()
                           if e.asset_key.to_user_string() == "models/ensemble")
    run_id = materialization.materialization.metadata["mlflow_run_id"].value
    run = client.get_run(run_id)
    assert run.data.tags["dagster_run_id"] == result.run_id
    assert "backtest_rps" in run.data.metrics
    assert world["champion"] is not None and world["champion"].run_id == run_id
    assert "posterior_summary.csv" in world["bayes_artifacts"]
    # The registered champion is the whole stack as one pyfunc: it predicts upcoming fixtures.
    ensemble = result.output_for_node("models__ensemble")
    inputs = result.output_for_node("models__match_features")
    boosted = result.output_for_node("models__xgboost")
    rows = production.upcoming(inputs.frame, "E0", inputs.as_of).head(10)
    fixtures = production.fixture_inputs(inputs.frame, inputs.features, rows, boosted.mle_fit, boosted.mle)
    served = world["served"].predict(fixtures)
    assert list(served.columns) == ["p_home", "p_draw", "p_away"]
    assert np.allclose(served.to_numpy(), ensemble.predict_proba(fixtures), atol=1e-9)
    assert np.allclose(served.sum(axis=1), 1.0)


def test_a_model_that_fails_convergence_leaves_the_champion_in_service(world):
    second = world["second"]
    assert not second.success
    assert checks(second)["models/bayesian_dixon_coles:effective_sample_size"] is False
    assert "models/ensemble" not in {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert world["champion_after"].version == world["champion"].version


def test_the_weekly_refit_of_the_same_models_refreshes_the_champion(world):
    third = world["third"]
    assert third.success
    assert checks(third)["models/ensemble:beats_champion"] is True
    event = next(e for e in third.get_asset_materialization_events() if e.asset_key.to_user_string() == "models/ensemble")
    # One more week scored: the new version either beats the champion's RPS or, as the same models
    # refitted on newer data, refreshes it (`test_tracking` pins the rule down on fixed scores).
    reason = event.materialization.metadata["promotion"].value
    assert "refresh" in reason or " < champion " in reason
    # Compared on the matches both backtests scored (all of the champion's: the same walk, a week longer).
    assert "matches both backtests scored" in reason
    refreshed = world["champion_refreshed"]
    assert int(refreshed.version) > int(world["champion"].version)
    assert refreshed.tags["trained_as_of"] == "2022-03-08"
    assert refreshed.tags["backtest_version"] == world["champion"].tags["backtest_version"]
    # The weekly run chose its season (`auto`), the first pinned it: one backtest, two lineages.
    assert refreshed.tags["model_lineage"].startswith("lineage-")
    assert refreshed.tags["model_lineage"] != world["champion"].tags["model_lineage"]


def _backtest_metadata(result) -> dict:
    return _metadata(result, "models/backtest")


def _metadata(result, asset: str) -> dict:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset)
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_the_weekly_backtest_takes_over_last_weeks_refits_from_mlflow(world):
    first, third = world["result"], world["third"]
    before, after = _backtest_metadata(first), _backtest_metadata(third)
    assert before["refits_taken_over"] == 0 and before["resumed_from_mlflow_run"].startswith("none")
    assert "walk_checkpoint.pkl.gz" in {a.path for a in world["client"].list_artifacts(before["mlflow_run_id"])}
    # The monthly blocks before March, whose inputs a week of results did not change, are taken over from
    # the first backtest's checkpoint; March's block (its results were hidden then) and later are refitted.
    assert before["evaluation_seasons"] == after["evaluation_seasons"] == "2021-2022"
    assert after["resumed_from_mlflow_run"] == before["mlflow_run_id"]
    old, new = first.output_for_node("models__backtest"), third.output_for_node("models__backtest")
    assert after["refits_taken_over"] == int((old.fits["refit_date"] < dt.date(2022, 3, 1)).sum()) > 10
    assert new.fits["reused"].sum() == after["refits_taken_over"] and not new.fits["reused"].all()
    # The stacks' blocks of 2021-22 before March, and the ML Dixon-Coles blocks before March of every
    # season (2019-20's too, where nothing is fitted), are taken over as well.
    assert before["stack_blocks_taken_over"] == before["mle_blocks_taken_over"] == 0
    assert after["stack_blocks_taken_over"] == int(((old.fits["refit_date"] < dt.date(2022, 3, 1))
                                                    & (old.fits["season"] == "2021-2022")).sum()) > 3
    assert after["mle_blocks_taken_over"] > after["refits_taken_over"]
    # The production XGBoost fit's strengths walk takes over blocks from the newest checkpoint (last
    # week's, or this run's where the backtest ran first).
    assert _metadata(third, "models/xgboost")["mle_blocks_taken_over"] >= after["mle_blocks_taken_over"]
    earlier = new.predictions["date"] < dt.date(2022, 3, 1)
    assert earlier.sum() > 0
    assert new.predictions[earlier].reset_index(drop=True).equals(
        old.predictions[old.predictions["date"] < dt.date(2022, 3, 1)].reset_index(drop=True))


def test_too_few_matches_in_an_evaluation_season_fail_a_check_and_keep_the_champion(world):
    short = world["short"]
    assert not short.success
    assert checks(short)["models/backtest:enough_matches"] is False
    evaluation = next(e for e in short.get_asset_check_evaluations() if e.check_name == "enough_matches")
    assert "too few scored matches in 2021-2022" in evaluation.description
    assert "models/ensemble" not in {e.asset_key.to_user_string() for e in short.get_asset_materialization_events()}
    assert world["champion_last"].version == world["champion_refreshed"].version


def test_too_little_history_fails_the_model_checks_with_the_reason_and_keeps_the_champion(world):
    tiny = world["tiny"]
    assert not tiny.success
    evaluations = {e.asset_key.to_user_string(): e for e in tiny.get_asset_check_evaluations()
                   if e.check_name == "enough_training_matches"}
    assert set(evaluations) == {"models/bayesian_dixon_coles", "models/xgboost"}
    bayes, xgb = evaluations["models/bayesian_dixon_coles"], evaluations["models/xgboost"]
    assert not bayes.passed and not xgb.passed
    found = bayes.metadata["played_matches"].value
    assert 50 < found < 200  # the first weeks of 2019-20
    assert f"E0: {found} played matches in the Bayesian model's window before 2019-10-01, fewer than 200" \
        in bayes.description
    # No Dixon-Coles strengths in the first season of data, so nothing for XGBoost to train on.
    assert xgb.metadata["played_matches"].value == 0 and "XGBoost not trained" in xgb.description
    materialized = {e.asset_key.to_user_string() for e in tiny.get_asset_materialization_events()}
    assert materialized == {"models/match_features"}
    assert world["champion_tiny"].version == world["champion_refreshed"].version


def test_every_family_logs_its_model_and_artifacts_to_its_own_experiment(world):
    result, client = world["result"], world["client"]
    assert "posterior_summary.csv" in world["bayes_artifacts"]
    assert "feature_importance.csv" in world["xgboost_artifacts"]
    assert {"reliability.png", "stack_weights.csv", "feature_importance.csv"} <= world["ensemble_artifacts"]
    # The Bayesian and XGBoost models are registered, each version from its asset's run, and loadable.
    inputs = result.output_for_node("models__match_features")
    rows = production.upcoming(inputs.frame, "E0", inputs.as_of).head(5)
    for asset, name in (("models/bayesian_dixon_coles", "football-pipeline-bayesian-dixon-coles"),
                        ("models/xgboost", "football-pipeline-xgboost")):
        event = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset)
        metadata = event.materialization.metadata
        version = client.get_model_version(name, metadata["version"].value)
        assert version.run_id == metadata["mlflow_run_id"].value
    bayes_event = next(e for e in result.get_asset_materialization_events()
                       if e.asset_key.to_user_string() == "models/bayesian_dixon_coles")
    posterior_model = mlflow.pyfunc.load_model(
        f"models:/football-pipeline-bayesian-dixon-coles/{bayes_event.materialization.metadata['version'].value}")
    served = posterior_model.predict(rows[["home_team_id", "away_team_id", "season", "home_newness", "away_newness"]])
    np.testing.assert_allclose(served.to_numpy().sum(axis=1), 1.0, atol=1e-9)
    # The backtest: one run per model family in that family's experiment, beside the combined run.
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "models/backtest")
    family_runs = event.materialization.metadata["mlflow_family_runs"].value
    assert set(family_runs) == {"bayesian_dixon_coles", "xgboost", "ensemble"}
    for family, run_id in family_runs.items():
        run = client.get_run(run_id)
        assert client.get_experiment(run.info.experiment_id).name == f"football-pipeline/{family}"
        assert run.data.tags["run_type"] == "backtest" and run.data.tags["dagster_run_id"] == result.run_id
        assert "market.rps" in run.data.metrics
        assert {a.path for a in client.list_artifacts(run_id)} == {"reliability.png", "scores.csv"}


def test_the_lineage_follows_the_evaluation_seasons_as_set_not_as_chosen():
    from football_pipeline.modelling.backtest import BacktestConfig

    early, later = (BacktestConfig(evaluation_seasons=s) for s in (("2022-2023", "2023-2024"), ("2023-2024",)))
    # `auto` moved the seasons: another backtest, the same lineage.
    assert models.backtest_version(early) != models.backtest_version(later)
    assert models.model_lineage(early, "auto") == models.model_lineage(later, "auto")
    # Pinned seasons are part of the settings; so is everything else in the configuration.
    assert models.model_lineage(early, "2022-2023,2023-2024") != models.model_lineage(later, "2023-2024")
    assert models.model_lineage(early, "auto") != models.model_lineage(early, "2022-2023,2023-2024")
    wider = BacktestConfig(evaluation_seasons=("2023-2024",), window_seasons=4)
    assert models.model_lineage(wider, "auto") != models.model_lineage(later, "auto")
