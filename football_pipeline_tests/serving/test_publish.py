"""Publishing the registry champion's predictions: a small real EnsembleModel (tiny NUTS, 20-tree XGBoost,
the LightGBM stacks) fitted on real Premier League seasons 2020-21 to 2022-23, registered and promoted in
a temporary MLflow store, predicting the 2022-23 matches from the as-of date (1 April 2023) on."""

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from football_pipeline import pipeline
from football_pipeline.modelling import data, features, production, tracking
from football_pipeline.modelling.backtest import (
    BAYES,
    MARKET_OPEN,
    MLE_LOWER,
    XGB,
    XGB_NO_ODDS,
    BacktestConfig,
    mle_walk,
)
from football_pipeline.modelling.boosting import XGBoostConfig
from football_pipeline.modelling.dixon_coles import BayesianDixonColes, DixonColesConfig
from football_pipeline.modelling.mle import DixonColesMLE
from football_pipeline.serving import publish as publishing
from football_pipeline.serving import queries
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema
from football_pipeline_tests.conftest import TODAY, copy_bundled

AS_OF = dt.date(2023, 4, 1)
NAME = "football-pipeline-ensemble-test"
SEASONS = ("2021", "2122", "2223")


def _load(engine: sa.Engine, data_dir: Path) -> None:
    summary = pipeline.load_directory(engine, data_dir, workers=1, today=TODAY)
    assert summary.loaded == len(SEASONS) and not summary.refused


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Warehouse file, MLflow store with a promoted champion, and the fixture inputs."""
    root = tmp_path_factory.mktemp("publish")
    data_dir = root / "data"
    copy_bundled(data_dir, *(f"football-data/E0/{code}.csv" for code in SEASONS))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FOOTBALL_PIPELINE_STATE_DIR", str(root / "state"))
        env.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        engine = engines.create_engine(f"sqlite:///{root / 'warehouse.sqlite'}")
        _load(engine, data_dir)
        frame = data.with_promoted(data.split_as_of(data.load_matches(engine), AS_OF))
        engine.dispose()
        feats = features.build_features(frame)
        config = BacktestConfig(competition="E0", evaluation_seasons=("2022-2023",), window_seasons=2,
                                cadence="month", bayes=DixonColesConfig(num_warmup=100, num_samples=100, num_chains=2),
                                xgboost=XGBoostConfig(n_estimators=20))
        comp = frame[frame["competition_id"] == "E0"]
        dc = mle_walk(comp, config)
        with_odds, without = production.fit_xgboost(frame, feats, dc, config, AS_OF, features.FEATURES,
                                                    features.MARKET_FEATURES)
        mle = DixonColesMLE(config.mle)
        window = production.production_window(frame, config, AS_OF)
        mle_fit = mle.fit(window, AS_OF)
        posterior = production.thin(BayesianDixonColes(config.bayes).fit(window, AS_OF), 100)
        # The stacks' history: point-in-time MLE probabilities stand in for the Bayesian walk (cheap).
        x = feats.loc[comp.index].join(dc)
        known = x["dc_p_home"].notna() & comp["result"].isin(["H", "D", "A"]) & (comp["match_date"] < pd.Timestamp(AS_OF))
        oos = comp.loc[known, ["match_id", "match_date", "result"]].copy()
        for column in production.P:
            oos[f"{BAYES}_{column}"] = x.loc[known, f"dc_{column}"]
            oos[f"{MARKET_OPEN}_{column}"] = x.loc[known, f"market_{column}"]
            oos[f"{MLE_LOWER}_{column}"] = x.loc[known, f"dc_{column}"]
        for name, fitted in ((XGB, with_odds), (XGB_NO_ODDS, without)):
            p = fitted.predict_proba(x[known])
            for k, column in enumerate(production.P):
                oos[f"{name}_{column}"] = p[:, k]
        stacks, form = production.fit_stacks(oos, AS_OF, config)
        model = production.EnsembleModel(posterior, with_odds, without, stacks, form, features.MARKET_FEATURES,
                                         AS_OF, stacks["ensemble"].n_train, {"backtest": repr(config)})
        logged = tracking.log_run("ensemble", model=model, model_name=NAME)
        assert tracking.promote_if_better(NAME, logged.registered_version, 0.2).promoted
    return {"root": root, "data_dir": data_dir, "frame": frame, "features": feats, "mle_fit": mle_fit, "mle": mle,
            "model": model, "version": logged.registered_version, "run_id": logged.run_id}


@pytest.fixture
def store(built, monkeypatch):
    monkeypatch.setenv("FOOTBALL_PIPELINE_STATE_DIR", str(built["root"] / "state"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{built['root'] / 'mlflow.db'}")
    return built


@pytest.fixture
def sqlite_engine(built, tmp_path):
    for suffix in ("", "-wal", "-shm"):
        source = built["root"] / f"warehouse.sqlite{suffix}"
        if source.exists():
            shutil.copyfile(source, tmp_path / f"warehouse.sqlite{suffix}")
    engine = engines.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, built):
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_engine")
        return
    engine = engines.create_engine(request.getfixturevalue("postgres_url"))
    _load(engine, built["data_dir"])
    yield engine
    engine.dispose()


def _publish(built, engine, name=NAME, frame=None, **kwargs):
    return publishing.publish(engine, name, built["frame"] if frame is None else frame, built["features"],
                              built["mle_fit"], built["mle"], "E0", AS_OF, **kwargs)


def _rows(engine) -> list[dict]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            sa.select(schema.predictions).order_by(schema.predictions.c.match_id)).mappings()]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_publish_serves_next_matchday_and_republishing_replaces(store, engine):
    upcoming = production.upcoming(store["frame"], "E0", AS_OF)
    report = _publish(store, engine)
    assert report.model_version == store["version"] and report.mlflow_run_id == store["run_id"]
    assert report.fixtures == len(upcoming) > 50 and report.rows_written == len(upcoming)
    assert report.replaced == 0 and not report.skipped
    assert report.next_matchday == AS_OF  # Man City v Liverpool, Saturday 1 April 2023

    rows = _rows(engine)
    assert len(rows) == len(upcoming)
    assert {r["match_id"] for r in rows} == set(upcoming["match_id"])
    for row in rows:
        assert row["home_win_pct"] + row["draw_pct"] + row["away_win_pct"] == pytest.approx(100, abs=1e-9)
        assert (row["model_name"], row["model_version"], row["model_type"]) == (NAME, store["version"], "ensemble")
        assert row["mlflow_run_id"] == store["run_id"]
        assert row["training_size"] == store["model"].training_size
        assert 0.1 < row["expected_home_goals"] < 5 and 0.1 < row["expected_away_goals"] < 5
        assert 0 < row["entropy"] <= np.log(3) + 1e-9
        interval = _json(row["credible_interval"])
        assert set(interval) == {"home_win_pct", "draw_pct", "away_win_pct"}
        for lo, hi in interval.values():
            assert 0 <= lo <= hi <= 100
        assert "elo_diff" in _json(row["features"]) and "market_p_home" in _json(row["features"])
        assert _json(row["hyperparameters"])["stack"] in ("ensemble", "ensemble_no_odds")

    served = queries.next_matchday(engine, as_of=dt.datetime(2023, 4, 1, tzinfo=dt.UTC),
                                   competition_id="E0", model_name=NAME)
    assert 5 <= len(served) <= 10
    assert served[0]["match_id"] == "E0:2022-2023:manchester-city:liverpool"
    teams = [t for r in served for t in (r["home_team_id"], r["away_team_id"])]
    assert len(teams) == len(set(teams)), "a matchday has every team at most once"
    for row in served:
        assert row["home_win_pct"] + row["draw_pct"] + row["away_win_pct"] == pytest.approx(100, abs=0.1)
        assert row["model_version"] == store["version"]
        assert row["pinnacle_home"] is not None  # the market beside the model

    again = _publish(store, engine)
    assert again.rows_written == len(upcoming) and again.replaced == len(upcoming)
    after = _rows(engine)
    assert len(after) == len(rows), "re-publishing the same version replaces, never duplicates"
    assert [(r["home_win_pct"], r["draw_pct"]) for r in after] == [(r["home_win_pct"], r["draw_pct"]) for r in rows]
    # Each publish is logged in the same transaction: what, for which competition, how long.
    log = schema.publish_log
    with engine.connect() as connection:
        logged = connection.execute(sa.select(log).order_by(log.c.publish_id)).mappings().all()
    assert [(r["model_version"], r["competition_id"], r["rows_written"], r["replaced"]) for r in logged] == [
        (store["version"], "E0", len(upcoming), 0), (store["version"], "E0", len(upcoming), len(upcoming))]
    assert all(0 < r["duration_seconds"] < 600 and r["finished_at"] >= r["started_at"] for r in logged)


def test_no_champion_or_unloadable_champion_writes_nothing(store, sqlite_engine):
    first = _publish(store, sqlite_engine)
    before = _rows(sqlite_engine)
    assert len(before) == first.rows_written

    with pytest.raises(publishing.ChampionUnavailableError, match="'no-such-model' has no champion"):
        _publish(store, sqlite_engine, name="no-such-model")

    def broken(name):
        raise OSError("artifact store unreachable")

    with pytest.raises(publishing.ChampionUnavailableError,
                       match=rf"champion v{store['version']} of registered model '{NAME}' could not be loaded: "
                             "artifact store unreachable"):
        _publish(store, sqlite_engine, model_loader=broken)
    assert _rows(sqlite_engine) == before, "the previous predictions stay served, untouched"
    with sqlite_engine.connect() as connection:  # only the publish that wrote rows is logged
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.publish_log)).scalar_one() == 1


def test_a_failing_insert_rolls_the_whole_publish_back(store, sqlite_engine, monkeypatch):
    _publish(store, sqlite_engine)
    before = _rows(sqlite_engine)
    real = publishing.percentages

    def last_row_broken(p):
        pct = real(p)
        pct[-1] = [50.0, 50.0, 50.0]  # violates the CHECK (probabilities sum to 100), on the last row only
        return pct

    monkeypatch.setattr(publishing, "percentages", last_row_broken)
    with pytest.raises(sa.exc.IntegrityError, match="probabilities_sum_to_100|CHECK"):
        _publish(store, sqlite_engine)
    assert _rows(sqlite_engine) == before, "nothing half-published: the deletes and inserts rolled back"

    # From an empty table too: no row at all.
    with sqlite_engine.begin() as connection:
        connection.execute(schema.predictions.delete())
    with pytest.raises(sa.exc.IntegrityError):
        _publish(store, sqlite_engine)
    assert _rows(sqlite_engine) == []


def test_a_fixture_with_an_unknown_team_is_skipped_and_named(store, sqlite_engine):
    frame = store["frame"].copy()
    upcoming = production.upcoming(frame, "E0", AS_OF)
    bad = upcoming.index[3]
    frame.loc[bad, "away_team_id"] = "atlantis-fc"
    report = _publish(store, sqlite_engine, frame=frame)
    assert [(s.match_id, s.reason) for s in report.skipped] == [
        (frame.loc[bad, "match_id"], "team not in teams: atlantis-fc")]
    assert report.rows_written == len(upcoming) - 1
    assert frame.loc[bad, "match_id"] not in {r["match_id"] for r in _rows(sqlite_engine)}
    assert "atlantis-fc" in report.summary()


def test_percentages_sum_to_exactly_100():
    p = np.array([[1 / 3, 1 / 3, 1 / 3], [0.4555, 0.2222, 0.3223], [0.99995, 0.00004, 0.00001], [2, 1, 1]])
    pct = publishing.percentages(p)
    assert np.all(np.round(pct.sum(axis=1), 9) == 100.0)
    assert pct[0].tolist() == [33.4, 33.3, 33.3]
    assert pct[3].tolist() == [50.0, 25.0, 25.0]
    assert np.all(np.abs(pct - 100 * p / p.sum(axis=1, keepdims=True)) <= 0.1)
    with pytest.raises(ValueError):
        publishing.percentages(np.array([[np.nan, 0.5, 0.5]]))


def test_serving_asset_publishes_and_reports(store, tmp_path, sqlite_engine):
    import dagster as dg

    from football_pipeline.assets.models import BoostedModels, ModelInputs
    from football_pipeline.assets.serving import predictions
    from football_pipeline.resources import WarehouseResource
    from football_pipeline.resources.models import ModelsResource

    url = sqlite_engine.url.render_as_string(hide_password=False)
    sqlite_engine.dispose()
    result = predictions(
        context=dg.build_asset_context(),
        inputs=ModelInputs(store["frame"], store["features"], AS_OF),
        boosted=BoostedModels(None, None, store["mle_fit"], store["mle"]),
        warehouse=WarehouseResource(url=url), models=ModelsResource(registered_model=NAME, as_of=AS_OF.isoformat()))
    meta = result.metadata
    assert meta["model_version"] == store["version"]
    assert meta["rows_written"] == meta["fixtures"] > 50
    assert meta["next_matchday"] == AS_OF.isoformat()

    with pytest.raises(dg.Failure, match="'missing-model' has no champion"):
        predictions(context=dg.build_asset_context(),
                    inputs=ModelInputs(store["frame"], store["features"], AS_OF),
                    boosted=BoostedModels(None, None, store["mle_fit"], store["mle"]),
                    warehouse=WarehouseResource(url=url), models=ModelsResource(registered_model="missing-model"))
