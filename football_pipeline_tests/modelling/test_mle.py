"""Maximum-likelihood Dixon-Coles (mle.py) and the shared score matrix (scoregrid.py), on matches simulated
from known parameters: the fit must recover them, weight recent matches over old ones, and give proper
1X2 probabilities."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson, spearmanr

from football_pipeline.modelling.mle import DixonColesMLE, MLEConfig
from football_pipeline.modelling.scoregrid import outcome_summary, score_grid

TEAMS = 10
AS_OF = dt.date(2024, 1, 1)
INTERCEPT, HOME, RHO = 0.1, 0.3, -0.1


def true_strengths(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    attack = np.linspace(-0.4, 0.4, TEAMS)
    rng.shuffle(attack)
    defence = rng.normal(0.0, 0.2, TEAMS)
    return attack - attack.mean(), defence - defence.mean()


def simulate(n: int, days: tuple[int, int], seed: int, attack: np.ndarray, defence: np.ndarray) -> pd.DataFrame:
    """Scores drawn from the Dixon-Coles distribution itself (the τ-corrected grid), dated `days` before AS_OF."""
    rng = np.random.default_rng(seed)
    home = rng.integers(0, TEAMS, n)
    away = (home + rng.integers(1, TEAMS, n)) % TEAMS
    lam = np.exp(INTERCEPT + HOME + attack[home] + defence[away])
    mu = np.exp(INTERCEPT + attack[away] + defence[home])
    grid = score_grid(lam[None], mu[None], np.array([RHO]), 10)[0].reshape(n, -1)
    k = (grid.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    return pd.DataFrame({
        "match_date": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(days[0], days[1], n), unit="D"),
        "home_team_id": [f"t{i}" for i in home], "away_team_id": [f"t{i}" for i in away],
        "home_goals": (k // 11).astype(float), "away_goals": (k % 11).astype(float)})


@pytest.fixture(scope="module")
def truth():
    return true_strengths()


@pytest.fixture(scope="module")
def fitted(truth):
    attack, defence = truth
    played = simulate(2000, (1, 365), 11, attack, defence)
    model = DixonColesMLE(MLEConfig(xi=0.0))
    return played, model, model.fit(played, AS_OF)


def _by_team(fit, values: np.ndarray) -> np.ndarray:
    return np.array([values[int(team[1:])] for team in fit.teams])


# --- maximum likelihood ------------------------------------------------------------------------------


def test_fit_recovers_the_generating_parameters(fitted, truth):
    _, _, fit = fitted
    attack, defence = truth
    assert fit.converged and fit.n_matches == 2000
    assert fit.teams == sorted(f"t{i}" for i in range(TEAMS))
    assert abs(fit.home - HOME) < 0.05
    assert abs(fit.intercept - INTERCEPT) < 0.06
    assert -0.2 < fit.rho < 0.0  # the sign of the low-score correction is recovered
    assert spearmanr(fit.attack, _by_team(fit, attack)).statistic > 0.9
    assert spearmanr(fit.defence, _by_team(fit, defence)).statistic > 0.85
    assert np.abs(fit.attack - _by_team(fit, attack)).max() < 0.12
    assert abs(fit.attack.sum()) < 1e-3 and abs(fit.defence.sum()) < 1e-3  # sum to zero


def test_fit_uses_only_played_matches_before_as_of(fitted):
    played, _, fit = fitted
    extra = pd.DataFrame({
        "match_date": [pd.Timestamp(AS_OF), pd.Timestamp(AS_OF) + pd.Timedelta(days=3), pd.Timestamp("2023-12-30")],
        "home_team_id": ["t0", "t1", "t2"], "away_team_id": ["t1", "t2", "t3"],
        "home_goals": [9.0, 9.0, np.nan], "away_goals": [0.0, 0.0, np.nan]})
    again = DixonColesMLE(MLEConfig(xi=0.0)).fit(pd.concat([played, extra], ignore_index=True), AS_OF)
    assert again.n_matches == fit.n_matches
    np.testing.assert_allclose(again.attack, fit.attack, atol=1e-4)
    np.testing.assert_allclose(again.home, fit.home, atol=1e-4)


def test_old_matches_barely_matter_under_time_decay(truth):
    """Giving team t0 three extra goals in every match it played 4-5 years ago moves its attack far less
    than the same change in its matches of the last year (exp(-0.0019 · days) weights)."""
    attack, defence = truth
    recent = simulate(700, (1, 365), 21, attack, defence)
    old = simulate(700, (1500, 1800), 22, attack, defence)

    def t0_attack(recent: pd.DataFrame, old: pd.DataFrame) -> float:
        fit = DixonColesMLE(MLEConfig()).fit(pd.concat([recent, old], ignore_index=True), AS_OF)
        return fit.strengths("t0")[0]

    def boosted(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[frame["home_team_id"] == "t0", "home_goals"] += 3
        frame.loc[frame["away_team_id"] == "t0", "away_goals"] += 3
        return frame

    base = t0_attack(recent, old)
    moved_by_old = abs(t0_attack(recent, boosted(old)) - base)
    moved_by_recent = abs(t0_attack(boosted(recent), old) - base)
    assert moved_by_recent > 0.3
    assert moved_by_old < 0.15 * moved_by_recent


def test_predictions_are_proper_and_favour_the_stronger_side(fitted, truth):
    _, model, fit = fitted
    attack, defence = truth
    strength = attack - defence
    best, worst = f"t{int(np.argmax(strength))}", f"t{int(np.argmin(strength))}"
    out = model.predict(fit, [best, worst, "t0"], [worst, best, "t0"])
    p = out[["p_home", "p_draw", "p_away"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert (p > 0).all()
    assert list(out["home_team_id"]) == [best, worst, "t0"]
    assert out["p_home"].iat[0] > 0.6 > out["p_away"].iat[0]
    assert out["p_away"].iat[1] > out["p_home"].iat[1]
    # Same team on both sides: only home advantage separates them.
    assert out["p_home"].iat[2] > out["p_away"].iat[2]
    assert out["expected_home_goals"].iat[0] > out["expected_away_goals"].iat[0]


def test_unknown_team_gets_league_average_strengths(fitted):
    _, model, fit = fitted
    assert fit.strengths("never-seen") == (0.0, 0.0)
    out = model.predict(fit, ["never-seen"], ["also-new"])
    lam, mu = np.exp(fit.intercept + fit.home), np.exp(fit.intercept)
    assert out["expected_home_goals"].iat[0] == pytest.approx(lam, rel=1e-3)
    assert out["expected_away_goals"].iat[0] == pytest.approx(mu, rel=1e-3)
    # An average side beats the weakest team at home less often than the strongest does.
    weakest = fit.teams[int(np.argmin(fit.attack - fit.defence))]
    strongest = fit.teams[int(np.argmax(fit.attack - fit.defence))]
    vs = model.predict(fit, ["never-seen", strongest], [weakest, weakest])
    assert vs["p_home"].iat[0] < vs["p_home"].iat[1]


def test_warm_start_reaches_the_same_optimum(fitted):
    played, model, fit = fitted
    cold = DixonColesMLE(MLEConfig(xi=0.0)).fit(played, AS_OF)
    warm = model.fit(played, AS_OF)  # starts from `fit`
    np.testing.assert_allclose(warm.attack, cold.attack, atol=2e-3)
    assert warm.home == pytest.approx(cold.home, abs=2e-3)
    assert cold.home == pytest.approx(fit.home, abs=2e-3)


def test_too_many_teams_for_the_capacity_is_an_error(fitted):
    played, _, _ = fitted
    with pytest.raises(ValueError, match="team_capacity"):
        DixonColesMLE(MLEConfig(team_capacity=5)).fit(played, AS_OF)


# --- score grid --------------------------------------------------------------------------------------


def test_grid_without_correction_is_the_product_of_poisson_pmfs():
    lam, mu = np.array([[1.4, 0.6]]), np.array([[1.1, 2.3]])
    grid = score_grid(lam, mu, np.array([0.0]), max_goals=8)
    assert grid.shape == (1, 2, 9, 9)
    goals = np.arange(9)
    for m in range(2):
        expected = np.outer(poisson.pmf(goals, lam[0, m]), poisson.pmf(goals, mu[0, m]))
        np.testing.assert_allclose(grid[0, m], expected / expected.sum(), rtol=1e-12)
        assert grid[0, m].sum() == pytest.approx(1.0)


def test_outcomes_sum_to_one_and_expected_goals_match_the_rates():
    lam, mu = np.array([[1.7, 0.4, 2.6]]), np.array([[0.9, 2.2, 0.8]])
    out = outcome_summary(score_grid(lam, mu, np.array([-0.08]), max_goals=15))
    p = out[["p_home", "p_draw", "p_away"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    # τ leaves expected goals almost unchanged (it only moves mass among 0-0, 1-0, 0-1, 1-1).
    np.testing.assert_allclose(out["expected_home_goals"], lam[0], rtol=0.03)
    np.testing.assert_allclose(out["expected_away_goals"], mu[0], rtol=0.03)
    zero = outcome_summary(score_grid(lam, mu, np.array([0.0]), max_goals=15))
    np.testing.assert_allclose(zero["expected_home_goals"], lam[0], rtol=1e-6)
    np.testing.assert_allclose(zero["p_btts"], (1 - np.exp(-lam[0])) * (1 - np.exp(-mu[0])), rtol=1e-6)
    assert list(zero["most_likely_score"]) == ["1-0", "0-2", "2-0"]
    assert "p_home_lo" not in out  # a point estimate has no interval


def test_negative_rho_raises_the_low_draws():
    lam, mu = np.array([[1.3]]), np.array([[1.0]])
    plain = score_grid(lam, mu, np.array([0.0]))[0, 0]
    corrected = score_grid(lam, mu, np.array([-0.1]))[0, 0]
    assert corrected[0, 0] > plain[0, 0] and corrected[1, 1] > plain[1, 1]
    assert corrected[1, 0] < plain[1, 0] and corrected[0, 1] < plain[0, 1]
    before = outcome_summary(plain[None, None])["p_draw"].iat[0]
    after = outcome_summary(corrected[None, None])["p_draw"].iat[0]
    assert after > before


def test_several_draws_give_a_posterior_mean_and_interval():
    rng = np.random.default_rng(0)
    lam = np.exp(rng.normal(0.3, 0.1, (200, 2)))
    mu = np.exp(rng.normal(0.1, 0.1, (200, 2)))
    out = outcome_summary(score_grid(lam, mu, rng.uniform(-0.1, 0.0, 200)))
    assert (out["p_home_lo"] < out["p_home"]).all() and (out["p_home"] < out["p_home_hi"]).all()
    assert (out["p_away_lo"] < out["p_away_hi"]).all()
    np.testing.assert_allclose(out[["p_home", "p_draw", "p_away"]].sum(axis=1), 1.0)


def test_reference_fit_uses_the_bayesian_models_decay_and_xg_blend():
    """The ML fit is the reference the Bayesian model must beat on the same windows: the same time decay
    and the same adjusted goals, or the comparison says nothing about the Bayesian machinery."""
    from football_pipeline.modelling.dixon_coles import DixonColesConfig

    assert MLEConfig().xi == DixonColesConfig().xi
    assert MLEConfig().xg_share == DixonColesConfig().xg_share
