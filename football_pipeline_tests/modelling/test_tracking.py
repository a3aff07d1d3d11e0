"""MLflow tracking: runs, the pyfunc round trip, registry versions and champion gating, on a SQLite store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from football_pipeline import settings
from football_pipeline.modelling import tracking


class SoftmaxModel:
    """A tiny picklable 1X2 model (module level, so the pickle finds it by import)."""

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=float)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        z = np.outer(frame["x"].to_numpy(dtype=float), self.weights) + np.array([0.3, 0.0, -0.2])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh SQLite tracking store per test; MLflow's process-wide URIs are reset afterwards."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # tracking.py sets MLFLOW_REGISTRY_URI process-wide (through mlflow.set_registry_uri): registering
    # it here makes monkeypatch remove it again after the test.
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield uri
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"x": np.linspace(-1.0, 1.0, n)}, index=[f"m{i}" for i in range(n)])


def test_experiment_per_family_in_the_default_store_under_the_state_dir(monkeypatch):
    # No MLFLOW_TRACKING_URI: the embedded default, a SQLite store in the state folder.
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    default = f"sqlite:///{settings.state_dir() / 'mlflow.db'}"
    first = tracking.experiment_for("bayesian_dixon_coles")
    assert (settings.state_dir() / "mlflow.db").is_file()
    assert tracking.experiment_for("bayesian_dixon_coles") == first
    assert tracking.experiment_for("xgboost") != first
    experiment = _client(default).get_experiment(first)
    assert experiment.name == "football-pipeline/bayesian_dixon_coles"
    assert experiment.artifact_location.startswith((settings.state_dir() / "mlartifacts").as_uri())


def test_log_run_records_params_metrics_artifacts_and_tags(store, tmp_path):
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    importance = tmp_path / "fi.csv"
    importance.write_text("feature,gain\nelo_diff,0.4\n")
    logged = tracking.log_run(
        "xgboost",
        params={
            "max_depth": 4,
            "learning_rate": 0.05,
            "window": {"seasons": ["2018-2019", "2019-2020"], "refit": "matchweek"},
            "weird key?": None,
            "long": "x" * 10_000,
        },
        metrics={"rps": 0.1985, "log_loss": np.float64(0.98), "ece": float("nan"), "rps/2018-2019": 0.2},
        artifacts={"reliability": plot, "feature_importance.csv": importance},
        tags={"dagster_run_id": "abc-123", "dagster_partition": "2023-08-12", "unused": None},
    )
    assert logged.model_uri is None and logged.registered_version is None

    run = _client(store).get_run(logged.run_id)
    assert run.info.experiment_id == tracking.experiment_for("xgboost")
    params = run.data.params
    assert params["max_depth"] == "4"
    assert params["learning_rate"] == "0.05"
    assert json.loads(params["window.seasons"]) == ["2018-2019", "2019-2020"]
    assert params["window.refit"] == "matchweek"
    assert params["weird key_"] == "None"
    assert len(params["long"]) <= 6000 and params["long"].startswith("xxx")
    assert run.data.metrics == {"rps": 0.1985, "log_loss": 0.98, "rps/2018-2019": 0.2}
    tags = run.data.tags
    assert tags["dagster_run_id"] == "abc-123"
    assert tags["dagster_partition"] == "2023-08-12"
    assert tags["family"] == "xgboost"
    assert tags["skipped_metrics"] == "ece"
    assert "unused" not in tags

    names = {a.path for a in _client(store).list_artifacts(logged.run_id)}
    assert names == {"reliability.png", "feature_importance.csv"}
    downloaded = mlflow.artifacts.download_artifacts(
        run_id=logged.run_id, artifact_path="feature_importance.csv", dst_path=str(tmp_path / "dl")
    )
    assert Path(downloaded).read_text() == importance.read_text()
    # Artifacts live under the state folder, nothing in the working directory.
    assert list(Path.cwd().iterdir()) == []
    assert any((settings.state_dir() / "mlartifacts" / "xgboost").rglob("reliability.png"))


def test_bad_artifacts_fail_before_any_run(store, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        tracking.log_run("ensemble", params={}, metrics={}, artifacts={"plot": tmp_path / "missing.png"})
    with pytest.raises(TypeError, match="predict_proba"):
        tracking.log_run("ensemble", model=object())
    assert _client(store).get_experiment_by_name("football-pipeline/ensemble") is None


def test_pyfunc_round_trip_through_the_champion(store):
    model = SoftmaxModel([1.0, 0.0, -1.0])
    frame = _frame()
    logged = tracking.log_run(
        "ensemble",
        params={"weights": [1.0, 0.0, -1.0]},
        metrics={"rps": 0.199},
        tags={"dagster_run_id": "run-1"},
        model=model,
        model_name="football-ensemble",
        input_example=frame.head(2),
    )
    assert logged.registered_version == "1"
    assert logged.model_uri
    version = _client(store).get_model_version("football-ensemble", "1")
    assert version.run_id == logged.run_id

    promotion = tracking.promote_if_better("football-ensemble", logged.registered_version, 0.199)
    assert promotion.promoted and promotion.previous_version is None
    assert tracking.champion("football-ensemble").version in ("1", 1)

    loaded = tracking.load_champion("football-ensemble")
    predicted = loaded.predict(frame)
    assert list(predicted.columns) == ["p_home", "p_draw", "p_away"]
    assert list(predicted.index) == list(frame.index)
    np.testing.assert_allclose(predicted.to_numpy().sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(predicted.to_numpy(), model.predict_proba(frame), rtol=0, atol=1e-12)

    # The model's files gone: a clear error naming the model, not a bare MLflow traceback.
    shutil.rmtree(settings.state_dir() / "mlartifacts")
    with pytest.raises(tracking.ChampionUnavailableError, match="football-ensemble"):
        tracking.load_champion("football-ensemble")


def test_promotion_moves_the_champion_only_on_a_strictly_better_score(store):
    versions = [
        tracking.log_run(
            "backtest", params={"i": i}, metrics={}, model=SoftmaxModel([i, 0, -i]), model_name="m"
        ).registered_version
        for i in range(1, 4)
    ]
    assert versions == ["1", "2", "3"]

    first = tracking.promote_if_better("m", "1", 0.2000)
    assert first.promoted and "no champion yet" in first.reason

    worse = tracking.promote_if_better("m", "2", 0.2010)
    assert not worse.promoted
    assert worse.reason == "rps 0.2010 does not beat champion v1 0.2000: champion stays"
    assert (worse.previous_version, worse.previous_score) == ("1", 0.2)
    assert str(tracking.champion("m").version) == "1"
    assert _client(store).get_model_version("m", "2").tags["backtest_rps"] == "0.201"

    tie = tracking.promote_if_better("m", "3", 0.2000)
    assert not tie.promoted and str(tracking.champion("m").version) == "1"

    not_a_number = tracking.promote_if_better("m", "3", float("nan"))
    assert not not_a_number.promoted and str(tracking.champion("m").version) == "1"

    better = tracking.promote_if_better("m", "3", 0.1985)
    assert better.promoted
    assert better.reason == "rps 0.1985 < champion v1 0.2000: v3 promoted"
    assert (better.previous_version, better.previous_score) == ("1", 0.2)
    assert str(tracking.champion("m").version) == "3"

    again = tracking.promote_if_better("m", "3", 0.1985)
    assert not again.promoted and "already holds champion" in again.reason

    # Higher-is-better metric the champion has no score for: promoted, and the reason says so.
    unscored = tracking.promote_if_better("m", "2", 0.55, metric="accuracy", lower_is_better=False)
    assert unscored.promoted and "champion v3 has no recorded accuracy" in unscored.reason
    assert unscored.previous_score is None
    higher = tracking.promote_if_better("m", "3", 0.56, metric="accuracy", lower_is_better=False)
    assert higher.promoted and higher.reason == "accuracy 0.5600 > champion v2 0.5500: v3 promoted"


def test_a_refit_on_newer_data_refreshes_the_champion_only_on_the_same_backtest(store):
    versions = [
        tracking.log_run("ensemble", params={"i": i}, model=SoftmaxModel([i, 0, -i]), model_name="m").registered_version
        for i in range(1, 6)
    ]
    first = tracking.promote_if_better("m", versions[0], 0.2000, backtest="bt-a", as_of="2023-01-02")
    assert first.promoted
    tags = _client(store).get_model_version("m", "1").tags
    assert (tags["backtest_version"], tags["trained_as_of"]) == ("bt-a", "2023-01-02")

    # The same backtest (configuration and code), newer data: the weekly retrain takes over, also when
    # its score moved with the matches played since.
    refresh = tracking.promote_if_better("m", versions[1], 0.2000, backtest="bt-a", as_of="2023-01-09")
    assert refresh.promoted and "refresh" in refresh.reason and "2023-01-02" in refresh.reason
    assert str(tracking.champion("m").version) == "2"
    moved = tracking.promote_if_better("m", versions[2], 0.2004, backtest="bt-a", as_of="2023-01-16")
    assert moved.promoted and str(tracking.champion("m").version) == "3"

    # Not newer, another backtest (a changed configuration or code) that does not beat it, or no
    # backtest given: the champion stays.
    same_day = tracking.promote_if_better("m", versions[3], 0.2004, backtest="bt-a", as_of="2023-01-16")
    other = tracking.promote_if_better("m", versions[3], 0.2004, backtest="bt-b", as_of="2023-02-01")
    unknown = tracking.promote_if_better("m", versions[3], 0.2004, as_of="2023-02-01")
    assert not any(p.promoted for p in (same_day, other, unknown))
    assert str(tracking.champion("m").version) == "3"

    # A champion recorded without those tags is only beaten by a strictly better score.
    better = tracking.promote_if_better("m", versions[4], 0.1990)
    assert better.promoted
    stays = tracking.promote_if_better("m", versions[3], 0.1990, backtest="bt-a", as_of="2024-01-01")
    assert not stays.promoted and str(tracking.champion("m").version) == "5"


def test_a_season_turn_under_auto_evaluation_refreshes_the_champion(store):
    """`auto` moves the evaluation seasons at a season's turn: the backtest's identity changes and the
    two backtests share too few matches to compare (or, when a season's first matches join the one
    before, score the shared season alike). The same lineage (settings and code) trained later takes
    over; another lineage must still beat the champion on shared matches."""
    versions = [tracking.log_run("ensemble", params={"i": i}, model=SoftmaxModel([i, 0, -i]),
                                 model_name="m").registered_version for i in range(1, 5)]
    last_season = pd.Series(0.20, index=[f"E0:2022:{k}" for k in range(380)])
    assert tracking.promote_if_better("m", versions[0], 0.20, backtest="bt-2022", as_of="2023-08-01",
                                      match_scores=last_season, lineage="lineage-a").promoted
    assert _client(store).get_model_version("m", versions[0]).tags["model_lineage"] == "lineage-a"
    # The new season's first matches beside the last one: the shared season is scored alike (a tie).
    first_weeks = pd.concat([last_season, pd.Series(0.21, index=[f"E0:2023:{k}" for k in range(40)])])
    tie = tracking.promote_if_better("m", versions[1], float(first_weeks.mean()), backtest="bt-2022+2023",
                                     as_of="2023-09-18", match_scores=first_weeks, lineage="lineage-a")
    assert tie.promoted and "refitted on newer data, evaluated on seasons the as-of date moved to" in tie.reason
    assert tie.common_matches == 380
    # The 100th match: the new season alone, 40 matches in common with the champion's: not comparable,
    # and still the same model refitted.
    alone = pd.Series(0.21, index=[f"E0:2023:{k}" for k in range(110)])
    turn = tracking.promote_if_better("m", versions[2], 0.21, backtest="bt-2023", as_of="2023-10-23",
                                      match_scores=alone, lineage="lineage-a")
    assert turn.promoted and "only 40 matches in common" in turn.reason and "promoted as a refresh" in turn.reason
    # Another lineage (changed settings or code, or pinned seasons) must beat it on shared matches.
    other = tracking.promote_if_better("m", versions[3], 0.21, backtest="bt-other", as_of="2023-10-30",
                                       match_scores=alone, lineage="lineage-b")
    assert not other.promoted and str(tracking.champion("m").version) == str(versions[2])


def test_a_challenger_is_compared_with_the_champion_on_the_matches_both_backtests_scored(store):
    versions = [tracking.log_run("ensemble", params={"i": i}, model=SoftmaxModel([i, 0, -i]),
                                 model_name="m").registered_version for i in range(1, 5)]
    rng = np.random.default_rng(0)
    ids = [f"E0:{k}" for k in range(600)]
    champion_scores = pd.Series(rng.uniform(0.1, 0.3, 400), index=ids[:400])
    assert tracking.promote_if_better("m", versions[0], float(champion_scores.mean()),
                                      match_scores=champion_scores).promoted
    # An easier season makes a lower overall score, but on the 200 shared matches the challenger is worse.
    easier = pd.concat([champion_scores.iloc[200:] + 0.01, pd.Series(0.05, index=ids[400:])])
    assert easier.mean() < champion_scores.mean()
    worse = tracking.promote_if_better("m", versions[1], float(easier.mean()), match_scores=easier)
    assert not worse.promoted and "on the 200 matches both backtests scored" in worse.reason
    assert worse.common_matches == 200
    assert worse.score_on_common == pytest.approx(champion_scores.iloc[200:].mean() + 0.01)
    assert worse.champion_score_on_common == pytest.approx(champion_scores.iloc[200:].mean())
    # Too few matches in common: not comparable, whatever the overall scores say.
    apart = pd.Series(0.01, index=[f"I1:{k}" for k in range(300)] + ids[:50])
    far = tracking.promote_if_better("m", versions[2], float(apart.mean()), match_scores=apart)
    assert not far.promoted and "only 50 matches in common" in far.reason
    assert str(tracking.champion("m").version) == versions[0]
    # Better on the shared matches: promoted, and its own scores are kept for the next challenger.
    sharper = champion_scores.iloc[100:] - 0.005
    better = tracking.promote_if_better("m", versions[3], float(sharper.mean()), match_scores=sharper)
    assert better.promoted and better.common_matches == 300
    assert str(tracking.champion("m").version) == versions[3]
    kept = tracking._match_scores(_client(store), tracking.champion("m"))
    pd.testing.assert_series_equal(kept, sharper, check_names=False, check_index_type=False)


def test_missing_champion_is_a_clear_error(store):
    assert tracking.champion("nobody") is None
    with pytest.raises(tracking.ChampionUnavailableError, match="'nobody' has no champion"):
        tracking.load_champion("nobody")

    tracking.log_run("xgboost", model=SoftmaxModel([1, 0, -1]), model_name="unpromoted")
    assert tracking.champion("unpromoted") is None
    with pytest.raises(tracking.ChampionUnavailableError, match="'unpromoted' has no champion"):
        tracking.load_champion("unpromoted")


def test_flatten_params_makes_valid_keys_and_bounded_values():
    flat = tracking.flatten_params(
        {"a": {"b": {"c": 1}}, "odd/../key": 2, "a.b.c": 3, "vals": np.array([1, 2]), "empty": {}}
    )
    assert flat["a.b.c"] == "1"
    assert flat["a.b.c_2"] == "3"  # a clash after flattening keeps both values
    assert flat["odd/_/key"] == "2"
    assert flat["vals"] == "[1, 2]"
    assert flat["empty"] == "{}"
    assert len(tracking.flatten_params({"k": "y" * 7000})["k"]) == 6000
