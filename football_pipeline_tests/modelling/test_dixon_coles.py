"""The Bayesian Dixon-Coles model on real Premier League results (small sampler settings)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion import football_data
from football_pipeline.modelling import metrics
from football_pipeline.modelling.dixon_coles import BayesianDixonColes, DixonColesConfig, predict
from football_pipeline.quality.validate import validate
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline_tests.conftest import TODAY


def season_matches(code: str) -> pd.DataFrame:
    relative = f"football-data/E0/{code}.csv"
    season = Season.from_football_data_code(code)
    parsed = football_data.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative, competition_id="E0",
                                 season=season)
    frame = validate(parsed, Vocabulary.load(), pd.Timestamp(TODAY)).matches
    return frame.assign(season=season.key)[["match_date", "season", "home_team_id", "away_team_id",
                                            "home_goals", "away_goals"]]


@pytest.fixture(scope="module")
def fitted():
    matches = pd.concat([season_matches("2122"), season_matches("2223")], ignore_index=True)
    model = BayesianDixonColes(DixonColesConfig(num_warmup=300, num_samples=300, num_chains=2, warm_warmup=100))
    as_of = dt.date(2023, 3, 1)
    return matches, model, model.fit(matches, as_of), as_of


def test_fit_converges_and_ranks_the_teams_as_the_table_did(fitted):
    matches, _, posterior, as_of = fitted
    assert posterior.diagnostics["r_hat_max"] < 1.05 and posterior.diagnostics["divergences"] == 0
    assert posterior.n_matches == int((pd.to_datetime(matches["match_date"]) < pd.Timestamp(as_of)).sum())
    strength = dict(zip(posterior.teams, posterior.samples["attack"].mean(0) - posterior.samples["defence"].mean(0),
                        strict=True))
    best = sorted(strength, key=strength.get, reverse=True)[:3]
    assert "manchester-city" in best and "arsenal" in best + sorted(strength, key=strength.get, reverse=True)[3:4]
    assert np.abs(posterior.samples["attack"].mean(0).sum()) < 1e-4  # sum to zero
    assert posterior.samples["home_advantage"].mean() > 0 and -0.25 < posterior.samples["rho"].mean() < 0.1


def test_predictions_are_proper_and_beat_a_uniform_forecast(fitted):
    matches, _, posterior, as_of = fitted
    later = matches[pd.to_datetime(matches["match_date"]) >= pd.Timestamp(as_of)].head(60)
    out = predict(posterior, list(later["home_team_id"]), list(later["away_team_id"]), "2022-2023")
    p = out[["p_home", "p_draw", "p_away"]].to_numpy()
    assert np.allclose(p.sum(axis=1), 1) and (out["p_home_lo"] <= out["p_home"]).all()
    assert (out["p_home"] <= out["p_home_hi"]).all()
    result = np.sign(later["home_goals"].to_numpy() - later["away_goals"].to_numpy())
    y = np.where(result > 0, 0, np.where(result == 0, 1, 2))
    assert metrics.rps(p, y).mean() < metrics.rps(np.full_like(p, 1 / 3), y).mean()


def test_warm_refit_reuses_the_sampler_and_still_converges(fitted):
    matches, model, _, as_of = fitted
    posterior = model.fit(matches, as_of + dt.timedelta(days=7), warm=True)
    assert posterior.diagnostics["r_hat_max"] < 1.05
    unknown = predict(posterior, ["a-team-never-seen"], ["manchester-city"])
    assert unknown["p_away"].iloc[0] > unknown["p_home"].iloc[0]


def test_adjusted_goals_and_their_dispersion_apply_only_where_xg_exists():
    matches = season_matches("2223").copy()
    half = len(matches) // 2
    matches["home_xg"] = np.where(np.arange(len(matches)) < half, 1.7, np.nan)
    matches["away_xg"] = np.where(np.arange(len(matches)) < half, 0.6, np.nan)
    as_of = dt.date(2023, 6, 1)
    config = DixonColesConfig(xi=0.0)  # equal decay weights: what remains is the dispersion
    played, _, _, _, args, kwargs = BayesianDixonColes(config).model_arrays(matches, as_of)
    n = len(played)
    with_xg = np.isfinite(played["home_xg"].to_numpy(dtype=float))
    weight = np.asarray(args[3])[:n]
    np.testing.assert_allclose(weight[with_xg], 1 / config.dispersion)
    np.testing.assert_allclose(weight[~with_xg], 1.0)
    home = played["home_goals"].to_numpy(dtype=float)
    share = config.xg_share
    assert 0 < share < 1
    np.testing.assert_allclose(kwargs["home_score"][:n][with_xg], (1 - share) * home[with_xg] + share * 1.7,
                               rtol=1e-6)
    np.testing.assert_allclose(kwargs["home_score"][:n][~with_xg], home[~with_xg])
    np.testing.assert_array_equal(kwargs["home_goals"][:n], home.astype(int))  # tau sees the actual scores
    # Goals only: the classic model, every weight one.
    _, _, _, _, classic, scores = BayesianDixonColes(DixonColesConfig(xi=0.0, xg_share=0.0)).model_arrays(
        matches, as_of)
    np.testing.assert_allclose(np.asarray(classic[3])[:n], 1.0)
    np.testing.assert_allclose(scores["home_score"][:n], home)


def test_a_second_cold_fit_then_a_continued_refit():
    # NumPyro re-initialises its kernel differently on a second run of the same sampler; the continued
    # refit must not depend on that (it once failed with a vmap rank error after two cold fits).
    matches = season_matches("2223")
    model = BayesianDixonColes(DixonColesConfig(num_warmup=60, num_samples=60, num_chains=2))
    day = dt.date(2023, 6, 1)
    modes = [model.fit(matches, day).mode, model.fit(matches, day).mode,
             model.fit(matches, day + dt.timedelta(days=7), warm=True).mode]
    assert modes == ["cold", "cold", "continue"]


def test_teams_new_to_the_window_start_a_continued_refit_at_the_hierarchy_centre():
    # A slot's last position before its team arrives is a draw from the padding's standard normal; the
    # continued refit has no warm-up, so a new team starts at its hierarchy's centre instead.
    matches = season_matches("2223")
    model = BayesianDixonColes(DixonColesConfig(num_warmup=100, num_samples=100, num_chains=2))
    first = model.fit(matches, dt.date(2022, 8, 6))  # the opening Friday: one match, two teams
    assert len(first.teams) == 2
    before = {k: np.asarray(v) for k, v in model._state.z.items()}
    _, teams, _, slots, args, kwargs = model.model_arrays(matches, dt.date(2022, 8, 14))
    z = model._start_new_teams(model._state.z, args[4], kwargs["team_lower"])
    new = [s for t, s in zip(teams, slots, strict=True) if t not in first.teams]
    old = [model._slots[t] for t in first.teams]
    assert len(new) == 18
    assert np.abs(before["raw_attack"][:, new]).max() > 0.1  # where the padding's prior left them
    np.testing.assert_array_equal(np.asarray(z["raw_attack"])[:, new], 0.0)
    np.testing.assert_array_equal(np.asarray(z["raw_defence"])[:, new], 0.0)
    np.testing.assert_array_equal(np.asarray(z["raw_attack"])[:, old], before["raw_attack"][:, old])
    posterior = model.fit(matches, dt.date(2022, 8, 14), warm=True)
    assert posterior.mode == "continue" and len(posterior.teams) == 20
