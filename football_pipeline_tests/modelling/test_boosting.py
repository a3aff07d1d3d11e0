"""XGBoost on features and the LightGBM stack over base models' out-of-sample probabilities (boosting.py),
on outcomes simulated from known probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from football_pipeline.modelling import metrics
from football_pipeline.modelling.boosting import (
    StackConfig,
    StackModel,
    XGBoostConfig,
    XGBoostModel,
    log_pool,
    log_pool_weights,
    pool_weights,
)

AS_OF = pd.Timestamp("2024-01-01")
P = ["p_home", "p_draw", "p_away"]


def simulate(n: int, seed: int, sharpen: float = 2.0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A history of `n` matches over two years before AS_OF whose outcomes are drawn from `truth`, with three
    base models: `truth` (the generating distribution), `noise` (unrelated Dirichlet draws) and `over`
    (the truth with its logits multiplied by `sharpen`: overconfident)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 0.8, (n, 3))
    logits[:, 0] += 0.3
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    over = np.exp(sharpen * logits) / np.exp(sharpen * logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({
        "match_date": AS_OF - pd.to_timedelta(np.sort(rng.integers(1, 700, n))[::-1], unit="D"),
        "result": np.array(["H", "D", "A"])[y]})
    for name, p in (("truth", truth), ("noise", rng.dirichlet([2, 2, 2], n)), ("over", over)):
        for k, column in enumerate(P):
            frame[f"{name}_{column}"] = p[:, k]
    return frame, truth, y


@pytest.fixture(scope="module")
def history():
    return simulate(3000, 0)


@pytest.fixture(scope="module")
def stack(history):
    frame, _, _ = history
    return StackModel(["truth", "noise"]).fit(frame, AS_OF)


def _columns(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[[f"{name}_{c}" for c in P]].to_numpy()


# --- the linear pool ---------------------------------------------------------------------------------


def test_pool_weights_go_to_the_generating_distribution(history):
    frame, truth, y = history
    weights = pool_weights([_columns(frame, "noise"), truth], y, np.ones(len(y)))
    assert weights.shape == (2,) and weights.sum() == pytest.approx(1.0)
    assert weights[1] > 0.95


def test_pool_weights_follow_recent_performance():
    """Model `a` is the truth on the newest half of the rows and noise on the oldest, `b` the reverse: a
    recency weighting favours `a`, the reversed weighting `b`."""
    frame, truth, y = simulate(3000, 1)
    noise = _columns(frame, "noise")
    newest = np.arange(len(y)) >= len(y) // 2
    a = np.where(newest[:, None], truth, noise)
    b = np.where(newest[:, None], noise, truth)
    recency = 0.5 ** (np.arange(len(y))[::-1] / 300)
    assert pool_weights([a, b], y, recency)[0] > 0.8
    assert pool_weights([a, b], y, recency[::-1])[1] > 0.8


# --- the geometric pool ------------------------------------------------------------------------------


def test_log_pool_recovers_the_blend_that_generated_the_outcomes():
    """Outcomes drawn from the geometric blend p_a^0.7 p_b^0.5 (normalised) of two unrelated forecasts:
    the fitted weights are that blend's, and neither forecast alone scores as well."""
    rng = np.random.default_rng(3)
    n = 20000
    a, b = rng.dirichlet([3, 2, 3], n), rng.dirichlet([3, 2, 3], n)
    truth = np.exp(log_pool(np.array([0.7, 0.5]), [a, b]))
    np.testing.assert_allclose(truth.sum(axis=1), 1.0)
    y = (truth.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    weights = log_pool_weights([a, b], y, np.ones(n))
    np.testing.assert_allclose(weights, [0.7, 0.5], atol=0.06)
    pooled = metrics.log_loss(np.exp(log_pool(weights, [a, b])), y).mean()
    assert pooled < min(metrics.log_loss(a, y).mean(), metrics.log_loss(b, y).mean()) - 0.01


def test_stack_with_the_geometric_pool_puts_its_weight_on_the_truth(history):
    frame, truth, y = history
    stack = StackModel(["truth", "noise"], StackConfig(pool="logarithmic")).fit(frame, AS_OF)
    weights = stack.weights_by_model()
    assert weights["truth"] > 0.8 and abs(weights["noise"]) < 0.15
    p = stack.predict_proba(frame)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert np.abs(p - truth).max() < 0.15
    with pytest.raises(ValueError, match="'linear' or 'logarithmic', not 'geometric'"):
        StackConfig(pool="geometric")


# --- the stack ---------------------------------------------------------------------------------------


def test_stack_over_the_truth_needs_little_boosting(stack, history):
    frame, truth, y = history
    assert stack.n_train == len(frame)
    assert stack.weights_by_model()["truth"] > 0.95
    # The pool is already the generating distribution: the hold-out keeps few LightGBM rounds (of 40),
    # and the truth needs no recalibration.
    assert stack.rounds <= 15
    assert 0.85 < stack.temperatures_by_model()["truth"] < 1.15
    p = stack.predict_proba(frame)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert np.abs(p - truth).max() < 0.15
    assert metrics.log_loss(p, y).mean() < metrics.log_loss(_columns(frame, "noise"), y).mean() - 0.1


def test_temperature_softens_an_overconfident_base_model():
    frame, _, y = simulate(3000, 2, sharpen=2.0)
    stack = StackModel(["over"], StackConfig(n_estimators=0)).fit(frame, AS_OF)
    assert stack.rounds == 0 and stack.booster is None
    assert 1.7 < stack.temperatures_by_model()["over"] < 2.3  # logits were doubled: a temperature near 2 undoes it
    over = _columns(frame, "over")
    p = stack.predict_proba(frame)
    assert metrics.log_loss(p, y).mean() < metrics.log_loss(over, y).mean()
    raw = StackModel(["over"], StackConfig(n_estimators=0, calibrate=False)).fit(frame, AS_OF)
    assert raw.temperatures_by_model() == {"over": 1.0}
    np.testing.assert_allclose(raw.predict_proba(frame), over / over.sum(axis=1, keepdims=True), atol=1e-6)


def test_each_base_model_is_calibrated_before_pooling():
    """A timid copy of the truth (logits halved) and an overconfident one (doubled): each gets its own
    temperature (about 0.5 and 2), so the pool of the two is close to the truth, which neither is."""
    frame, truth, y = simulate(4000, 5, sharpen=2.0)
    timid = np.exp(0.5 * np.log(truth)) / np.exp(0.5 * np.log(truth)).sum(axis=1, keepdims=True)
    for k, column in enumerate(P):
        frame[f"timid_{column}"] = timid[:, k]
    stack = StackModel(["timid", "over"], StackConfig(n_estimators=0)).fit(frame, AS_OF)
    temperatures = stack.temperatures_by_model()
    assert 0.4 < temperatures["timid"] < 0.6 and 1.7 < temperatures["over"] < 2.3
    p = stack.predict_proba(frame)
    assert np.abs(p - truth).max() < 0.05
    raw = StackModel(["timid", "over"], StackConfig(n_estimators=0, calibrate=False)).fit(frame, AS_OF)
    calibrated = metrics.log_loss(p, y).mean()
    assert abs(calibrated - metrics.log_loss(truth, y).mean()) < 0.001
    assert calibrated < metrics.log_loss(raw.predict_proba(frame), y).mean() - 0.002


def test_stack_needs_min_rows_of_complete_history(history):
    frame, _, _ = history
    short = frame.head(150)
    with pytest.raises(ValueError, match="fewer than 200"):
        StackModel(["truth", "noise"]).fit(short, AS_OF)
    # Rows without a base model's prediction do not count.
    gappy = frame.head(260).copy()
    gappy.loc[gappy.index[:100], "noise_p_home"] = np.nan
    with pytest.raises(ValueError, match="160 out-of-sample"):
        StackModel(["truth", "noise"]).fit(gappy, AS_OF)
    with pytest.raises(RuntimeError):
        StackModel(["truth"]).predict_proba(frame)


def test_stack_predicts_from_base_predictions_alone(stack, history):
    """Predicting upcoming matches reads only their base-model probabilities: no result, no date; each row's
    prediction depends on that row only, and refitting on the same history gives the same model."""
    frame, _, _ = history
    fixtures = simulate(50, 3)[0].drop(columns=["result", "match_date"])
    p = stack.predict_proba(fixtures)
    assert p.shape == (50, 3) and np.allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(stack.predict_proba(fixtures.iloc[10:20]), p[10:20], rtol=1e-12)
    again = StackModel(["truth", "noise"]).fit(frame.sample(frac=1.0, random_state=0), AS_OF)  # row order ignored
    np.testing.assert_allclose(again.predict_proba(fixtures), p, rtol=1e-9)


# --- XGBoost -----------------------------------------------------------------------------------------


def test_xgboost_learns_from_the_informative_feature():
    rng = np.random.default_rng(4)
    n = 1500
    frame = pd.DataFrame({"strength_gap": rng.normal(0, 1, n), "shoe_size": rng.normal(0, 1, n),
                          "rest_days": rng.integers(2, 10, n).astype(float)})
    logits = np.column_stack([1.2 * frame["strength_gap"], np.zeros(n), -1.2 * frame["strength_gap"]])
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    model = XGBoostModel(["strength_gap", "shoe_size", "rest_days"], XGBoostConfig(n_estimators=60, n_jobs=1))
    with pytest.raises(RuntimeError):
        model.predict_proba(frame)
    model.fit(frame.iloc[:1000], y[:1000])
    assert model.n_train == 1000
    importance = model.importance()
    assert list(importance.columns) == ["feature", "gain"]
    assert set(importance["feature"]) <= {"strength_gap", "shoe_size", "rest_days"}
    assert importance["feature"].iat[0] == "strength_gap"
    later = frame.iloc[1000:]
    p = model.predict_proba(later)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert metrics.rps(p, y[1000:]).mean() < metrics.rps(np.full_like(p, 1 / 3), y[1000:]).mean() - 0.02
    # Column order in the frame does not matter: the model reads its features by name.
    np.testing.assert_allclose(model.predict_proba(later[["rest_days", "shoe_size", "strength_gap"]]), p)
