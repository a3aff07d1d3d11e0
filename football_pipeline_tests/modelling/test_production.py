"""The models in service (production.py): the served ensemble as one object, its parts, and the
point-in-time inputs of upcoming fixtures.

The ensemble is assembled from small parts: a hand-made posterior (known draws, so no sampler run), XGBoost
on two synthetic features, and both LightGBM stacks fitted by `fit_stacks` on a simulated out-of-sample
history."""

from __future__ import annotations

import datetime as dt

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from football_pipeline.modelling import features
from football_pipeline.modelling.backtest import (
    BAYES,
    DC_FEATURES,
    ENSEMBLE,
    ENSEMBLE_NO_ODDS,
    MARKET_OPEN,
    MLE_LOWER,
    XGB,
    XGB_NO_ODDS,
    BacktestConfig,
)
from football_pipeline.modelling.boosting import XGBoostConfig, XGBoostModel
from football_pipeline.modelling.dixon_coles import DixonColesConfig, Posterior
from football_pipeline.modelling.dixon_coles import predict as bayes_predict
from football_pipeline.modelling.mle import DixonColesMLE, MLEConfig
from football_pipeline.modelling.production import (
    EnsembleModel,
    fit_stacks,
    fit_xgboost,
    fixture_inputs,
    production_window,
    stack_metrics,
    thin,
    upcoming,
)
from football_pipeline_tests.modelling.test_data import real_frame

P = ["p_home", "p_draw", "p_away"]
AS_OF = dt.date(2024, 1, 1)
TEAMS = ["arsenal", "brentford", "chelsea", "derby"]
TINY_XGB = XGBoostConfig(n_estimators=20, n_jobs=1)


def posterior(draws: int = 300, seed: int = 0) -> Posterior:
    rng = np.random.default_rng(seed)
    attack = np.array([0.4, -0.2, 0.1, -0.3]) + rng.normal(0, 0.05, (draws, 4))
    defence = np.array([-0.3, 0.2, -0.1, 0.2]) + rng.normal(0, 0.05, (draws, 4))
    samples = {
        "intercept": rng.normal(0.15, 0.02, draws), "home_advantage": rng.normal(0.25, 0.03, (draws, 1)),
        "attack": attack - attack.mean(axis=1, keepdims=True), "defence": defence - defence.mean(axis=1, keepdims=True),
        "rho": rng.uniform(-0.1, -0.02, draws), "promoted_attack": rng.normal(-0.1, 0.02, draws),
        "promoted_defence": rng.normal(0.1, 0.02, draws)}
    return Posterior(TEAMS, ["2023-2024"], samples, {"r_hat_max": 1.0}, 1.5, 760, AS_OF,
                     DixonColesConfig(num_warmup=100, num_samples=draws // 2, num_chains=2), "cold")


def oos_history(n: int = 700, seed: int = 1) -> pd.DataFrame:
    """Simulated out-of-sample predictions of the five base models before AS_OF, outcomes drawn from truth."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 0.7, (n, 3)) + [0.3, 0.0, 0.0]
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    oos = pd.DataFrame({"match_date": pd.Timestamp(AS_OF) - pd.to_timedelta(np.arange(n, 0, -1), unit="D"),
                        "result": np.array(["H", "D", "A"])[y]})
    for name, scale in ((BAYES, 0.3), (MLE_LOWER, 0.35), (XGB, 0.6), (XGB_NO_ODDS, 0.8), (MARKET_OPEN, 0.1)):
        noisy = np.exp(logits + rng.normal(0, scale, (n, 3)))
        for k, column in enumerate(P):
            oos[f"{name}_{column}"] = noisy[:, k] / noisy.sum(axis=1)
    # Some matches had no pre-match prices: the no-odds stack still trains on them.
    oos.loc[oos.index[:50], [f"{MARKET_OPEN}_{c}" for c in P]] = np.nan
    # A match on the as-of date itself is not history.
    later = oos.iloc[[-1]].assign(match_date=pd.Timestamp(AS_OF))
    return pd.concat([oos, later], ignore_index=True)


def fixtures(n: int = 12, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    home = rng.integers(0, 4, n)
    away = (home + rng.integers(1, 4, n)) % 4
    out = pd.DataFrame({"home_team_id": np.array(TEAMS)[home], "away_team_id": np.array(TEAMS)[away],
                        "season": "2023-2024", "home_newness": 0.0, "away_newness": 0.0,
                        "gap": rng.normal(0, 1, n), "noise": rng.normal(0, 1, n)}, index=np.arange(100, 100 + n))
    p = rng.dirichlet([5, 3, 3], n)
    for k, column in enumerate(P):
        out[f"market_{column}"] = p[:, k]
    out.loc[out.index[::3], [f"market_{c}" for c in P]] = np.nan  # no prices yet for every third fixture
    strengths = rng.dirichlet([5, 3, 3], n)  # the ML strengths fit's probabilities (`fixture_inputs`)
    for k, column in enumerate(P):
        out[f"dc_{column}"] = strengths[:, k]
    return out


@pytest.fixture(scope="module")
def ensemble() -> EnsembleModel:
    rng = np.random.default_rng(3)
    n = 600
    train = pd.DataFrame({"gap": rng.normal(0, 1, n), "noise": rng.normal(0, 1, n)})
    p = rng.dirichlet([5, 3, 3], n)
    for k, column in enumerate(P):
        train[f"market_{column}"] = p[:, k]
    y = (p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    with_odds = XGBoostModel(["gap", "noise", "market_p_home", "market_p_draw", "market_p_away"], TINY_XGB)
    without = XGBoostModel(["gap", "noise"], TINY_XGB)
    config = BacktestConfig()
    stacks, form = fit_stacks(oos_history(), AS_OF, config)
    return EnsembleModel(posterior(), with_odds.fit(train, y), without.fit(train, y), stacks, form,
                         ["market_p_home", "market_p_draw", "market_p_away"], AS_OF, stacks[ENSEMBLE].n_train)


# --- thinning ----------------------------------------------------------------------------------------


def test_thin_keeps_evenly_spaced_draws():
    full = posterior(draws=1000)
    small = thin(full, 100)
    assert len(small.samples["intercept"]) == 100
    pick = np.linspace(0, 999, 100).astype(int)
    assert pick[0] == 0 and pick[-1] == 999
    for name, values in full.samples.items():
        np.testing.assert_array_equal(small.samples[name], values[pick])
    assert (small.teams, small.seasons, small.n_matches, small.as_of) == (full.teams, full.seasons, 760, AS_OF)
    assert small.config == full.config and small.diagnostics == full.diagnostics
    # Fewer draws than asked: all of them, in order.
    few = posterior(draws=50)
    np.testing.assert_array_equal(thin(few, 400).samples["attack"], few.samples["attack"])
    # A thinned posterior predicts (nearly) what the full one does.
    a = bayes_predict(full, ["arsenal"], ["derby"])[P].to_numpy()
    b = bayes_predict(small, ["arsenal"], ["derby"])[P].to_numpy()
    np.testing.assert_allclose(a, b, atol=0.02)


# --- the served ensemble -----------------------------------------------------------------------------


def test_fit_stacks_trains_on_history_before_the_as_of_date(ensemble):
    stacks, form = ensemble.stacks, ensemble.form
    assert set(stacks) == {ENSEMBLE, ENSEMBLE_NO_ODDS}
    assert stacks[ENSEMBLE].base_models == [BAYES, MLE_LOWER, XGB, MARKET_OPEN]
    assert stacks[ENSEMBLE_NO_ODDS].base_models == [BAYES, MLE_LOWER, XGB_NO_ODDS]
    assert stacks[ENSEMBLE].n_train == 700 - 50  # rows without prices left out; the as-of day left out
    assert stacks[ENSEMBLE_NO_ODDS].n_train == 700
    # The market is the sharpest base model: the pool leans on it.
    weights = stacks[ENSEMBLE].weights_by_model()
    assert max(weights, key=weights.get) == MARKET_OPEN
    assert set(form) == {BAYES, MLE_LOWER, XGB, XGB_NO_ODDS, MARKET_OPEN}
    assert form[MARKET_OPEN] < form[XGB_NO_ODDS]  # mean RPS over the recent window: lower is better
    logged = stack_metrics(stacks)
    assert logged[f"{ENSEMBLE}_weight_{MARKET_OPEN}"] == weights[MARKET_OPEN]
    assert set(logged) >= {f"{ENSEMBLE_NO_ODDS}_temperature_{BAYES}", f"{ENSEMBLE}_lightgbm_rounds"}
    assert all(0.5 <= logged[f"{name}_temperature_{m}"] <= 3.0 for name in stacks for m in stacks[name].base_models)


def test_ensemble_predicts_proper_probabilities_with_the_right_stack(ensemble):
    games = fixtures()
    out = ensemble.predict_frame(games)
    assert list(out.index) == list(games.index)
    p = out[P].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(ensemble.predict_proba(games), p)
    priced = games["market_p_home"].notna().to_numpy()
    assert (out["stack"] == np.where(priced, ENSEMBLE, ENSEMBLE_NO_ODDS)).all()
    base = ensemble.base_predictions(games)
    assert base.loc[~priced, f"{MARKET_OPEN}_p_home"].isna().all()
    # The stacks' ML member is the strengths fit the fixture frame carries.
    np.testing.assert_array_equal(base[[f"{MLE_LOWER}_{c}" for c in P]].to_numpy(), games[[f"dc_{c}" for c in P]].to_numpy())
    np.testing.assert_allclose(p[~priced], ensemble.stacks[ENSEMBLE_NO_ODDS].predict_proba(base[~priced]))
    np.testing.assert_allclose(p[priced], ensemble.stacks[ENSEMBLE].predict_proba(base[priced]))
    assert (out["expected_home_goals"] > 0).all() and (out["p_home_lo"] <= out["p_home_hi"]).all()
    # Goal markets from the Bayesian model's score matrix: nested totals lines, proper probabilities.
    assert ((out["p_over_1_5"] >= out["p_over_2_5"]) & (out["p_over_2_5"] >= out["p_over_3_5"])).all()
    assert out[["p_over_1_5", "p_over_3_5", "p_btts", "p_most_likely_score"]].apply(lambda c: c.between(0, 1)).all().all()
    np.testing.assert_array_equal(out["p_btts"].to_numpy(), base[f"{BAYES}_p_btts"].to_numpy())
    # No prices for any fixture yet: every row goes to the no-odds stack, with the same answers as above.
    bare = ensemble.predict_frame(games.assign(**{f"market_{c}": np.nan for c in P}))
    assert (bare["stack"] == ENSEMBLE_NO_ODDS).all()
    np.testing.assert_allclose(bare.loc[~priced, P].to_numpy(), p[~priced])


def test_ensemble_survives_a_pickle_round_trip(ensemble):
    games = fixtures(seed=5)
    again = cloudpickle.loads(cloudpickle.dumps(ensemble))
    np.testing.assert_array_equal(again.predict_proba(games), ensemble.predict_proba(games))
    assert again.stacks[ENSEMBLE].rounds == ensemble.stacks[ENSEMBLE].rounds


# --- point-in-time inputs from the warehouse frame ---------------------------------------------------


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return real_frame()


def test_upcoming_and_production_window(frame):
    as_of = dt.date(2021, 1, 1)
    rows = upcoming(frame, "E0", as_of)
    assert len(rows) and (rows["match_date"] >= pd.Timestamp(as_of)).all()
    assert rows["match_date"].is_monotonic_increasing
    assert len(rows) + (frame["match_date"] < pd.Timestamp(as_of)).sum() == len(frame)
    assert upcoming(frame, "SP1", as_of).empty
    train = production_window(frame, BacktestConfig(window_seasons=2), as_of)
    assert set(train["season"]) == {"2019-2020", "2020-2021"}
    assert (train["match_date"] < pd.Timestamp(as_of)).all() and train["home_goals"].notna().all()
    # After the last match: the window ends with the newest season.
    late = production_window(frame, BacktestConfig(window_seasons=1), dt.date(2030, 1, 1))
    assert set(late["season"]) == {"2021-2022"} and len(late) == 380
    with pytest.raises(ValueError, match="no matches before"):
        production_window(frame, BacktestConfig(), dt.date(2000, 1, 1))
    # With the division below loaded, its earlier window seasons join (the current one's do not).
    below = frame[frame["season"].isin(["2019-2020", "2020-2021"])].assign(
        competition_id="E1", match_id=lambda f: "E1" + f["match_id"].str[2:])
    both = production_window(pd.concat([frame, below]), BacktestConfig(window_seasons=2, lower_division=True), as_of)
    assert both.groupby(["competition_id", "season"]).size().to_dict() == {
        ("E0", "2019-2020"): 380, ("E0", "2020-2021"): len(train) - 380, ("E1", "2019-2020"): 380}
    assert (both.loc[both["competition_id"] == "E1", ["home_promoted", "away_newness"]] == 0).all().all()
    # The Bayesian model's window leaves the division below out by default; the ML strengths fit's takes it in.
    default = BacktestConfig(window_seasons=2)
    assert set(production_window(pd.concat([frame, below]), default, as_of)["competition_id"]) == {"E0"}
    strengths = production_window(pd.concat([frame, below]), default, as_of, default.strengths_lower_division)
    assert len(strengths) == len(both) and set(strengths["competition_id"]) == {"E0", "E1"}


def test_fit_xgboost_trains_only_before_the_as_of_date(frame):
    feats = features.build_features(frame)
    dc = pd.DataFrame(np.random.default_rng(0).normal(0, 1, (len(frame), len(DC_FEATURES))), index=frame.index,
                      columns=DC_FEATURES)
    dc.loc[frame["season"] == "2018-2019"] = np.nan  # as mle_walk leaves the first season
    config = BacktestConfig(xgboost=TINY_XGB)
    as_of = dt.date(2021, 1, 1)
    with_odds, without = fit_xgboost(frame, feats, dc, config, as_of, features.FEATURES, features.MARKET_FEATURES)
    expected = int(((frame["match_date"] < pd.Timestamp(as_of)) & (frame["season"] != "2018-2019")).sum())
    assert with_odds.n_train == without.n_train == expected
    assert set(features.MARKET_FEATURES) <= set(with_odds.features)
    assert not set(features.MARKET_FEATURES) & set(without.features)
    assert set(DC_FEATURES) <= set(without.features)
    with pytest.raises(ValueError, match="too few to train XGBoost"):
        fit_xgboost(frame, feats, dc, config, dt.date(2019, 9, 1), features.FEATURES, features.MARKET_FEATURES)


def test_fixture_inputs_carry_what_the_ensemble_reads(frame):
    feats = features.build_features(frame)
    as_of = dt.date(2022, 3, 1)
    config = BacktestConfig(window_seasons=2)
    mle = DixonColesMLE(MLEConfig())
    fit = mle.fit(production_window(frame, config, as_of), as_of)
    rows = upcoming(frame, "E0", as_of)
    inputs = fixture_inputs(frame, feats, rows, fit, mle)
    assert list(inputs.index) == list(rows.index)
    assert {"home_team_id", "away_team_id", "season", "home_newness", "away_newness", *DC_FEATURES,
            *features.FEATURES, *features.MARKET_FEATURES} <= set(inputs.columns)
    np.testing.assert_allclose(inputs[["dc_p_home", "dc_p_draw", "dc_p_away"]].sum(axis=1), 1.0, atol=1e-9)
    city = inputs["home_team_id"] == "manchester-city"
    assert (inputs.loc[city, "dc_home_attack"] == fit.strengths("manchester-city")[0]).all()
    assert inputs["market_p_home"].notna().all()  # the bundled files carry pre-match prices


def test_a_batch_spanning_two_seasons_gets_each_seasons_home_advantage(ensemble):
    two = posterior()
    draws = len(two.samples["intercept"])
    two.seasons = ["2022-2023", "2023-2024"]
    two.samples["home_advantage"] = np.column_stack([np.full(draws, 0.05), np.full(draws, 0.45)])
    model = EnsembleModel(two, ensemble.xgboost, ensemble.xgboost_no_odds, ensemble.stacks, ensemble.form,
                          ensemble.market_features, AS_OF, ensemble.training_size)
    batch = fixtures(8)
    batch.loc[batch.index[:4], "season"] = "2022-2023"
    together = model.base_predictions(batch)
    for _season, part in batch.groupby("season"):
        alone = model.base_predictions(part)
        np.testing.assert_allclose(together.loc[part.index, f"{BAYES}_p_home"], alone[f"{BAYES}_p_home"])
    # The newer season's larger home advantage shows: the same pairing is likelier a home win there.
    same = batch.iloc[[0, 0]].assign(season=["2022-2023", "2023-2024"])
    p = model.base_predictions(same.set_axis([1, 2]))[f"{BAYES}_p_home"].to_numpy()
    assert p[1] > p[0] + 0.05
