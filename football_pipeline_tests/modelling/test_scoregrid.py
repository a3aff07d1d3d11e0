"""The score matrix's markets (scoregrid.py) against grids with known answers: totals, both teams to
score, exact scores and the posterior-mean matrix they are all read from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from football_pipeline.modelling.scoregrid import exact_scores, outcome_summary, score_grid, score_matrix_mean

LAM = np.array([[1.7, 0.4, 2.6, 1.1]])
MU = np.array([[0.9, 2.2, 0.8, 1.1]])


@pytest.fixture(scope="module")
def independent() -> pd.DataFrame:
    """rho = 0 and a grid wide enough that the truncated tail is below 1e-9: plain independent Poisson."""
    return outcome_summary(score_grid(LAM, MU, np.array([0.0]), max_goals=25))


def test_totals_are_the_poisson_tail_of_the_summed_rates(independent):
    for line, column in ((1, "p_over_1_5"), (2, "p_over_2_5"), (3, "p_over_3_5")):
        np.testing.assert_allclose(independent[column], poisson.sf(line, LAM[0] + MU[0]), atol=1e-6)


def test_over_lines_are_monotone_and_btts_is_the_product_of_scoring(independent):
    assert (independent["p_over_1_5"] >= independent["p_over_2_5"]).all()
    assert (independent["p_over_2_5"] >= independent["p_over_3_5"]).all()
    assert (independent["p_over_1_5"] > independent["p_over_3_5"]).all()
    np.testing.assert_allclose(independent["p_btts"], (1 - np.exp(-LAM[0])) * (1 - np.exp(-MU[0])), atol=1e-6)


def test_existing_columns_keep_their_names_and_order(independent):
    assert list(independent.columns) == [
        "p_home", "p_draw", "p_away", "expected_home_goals", "expected_away_goals", "entropy", "p_over_2_5",
        "p_btts", "most_likely_score", "p_most_likely_score", "p_over_1_5", "p_over_3_5"]


def test_most_likely_score_comes_with_its_probability(independent):
    assert list(independent["most_likely_score"]) == ["1-0", "0-2", "2-0", "1-1"]
    expected = [poisson.pmf(h, lam) * poisson.pmf(a, mu)
                for (h, a), lam, mu in zip([(1, 0), (0, 2), (2, 0), (1, 1)], LAM[0], MU[0], strict=True)]
    np.testing.assert_allclose(independent["p_most_likely_score"], expected, atol=1e-9)


def test_exact_scores_sum_to_one_over_the_grid_and_top_n_is_sorted():
    grid = score_grid(LAM, MU, np.array([-0.06]), max_goals=10)
    size = 11 * 11
    every = exact_scores(grid, top=size)
    assert list(every.columns) == ["match", "score", "p"]
    assert len(every) == 4 * size
    np.testing.assert_allclose(every.groupby("match")["p"].sum(), 1.0, atol=1e-12)
    assert every.groupby("match")["score"].nunique().eq(size).all()
    top = exact_scores(grid, top=5)
    assert list(top["match"]) == [m for m in range(4) for _ in range(5)]
    for _, scores in top.groupby("match"):
        assert (np.diff(scores["p"].to_numpy()) <= 0).all()
    # The top 5 are the five largest cells of each posterior-mean matrix.
    largest = np.sort(grid[0].reshape(4, -1), axis=1)[:, ::-1][:, :5]
    np.testing.assert_allclose(top["p"].to_numpy().reshape(4, 5), largest)
    first = top.groupby("match").head(1).reset_index(drop=True)
    summary = outcome_summary(grid)
    assert list(first["score"]) == list(summary["most_likely_score"])
    np.testing.assert_allclose(first["p"], summary["p_most_likely_score"])
    # A score label reads home-away and points at its cell.
    for row in top.itertuples():
        h, a = map(int, row.score.split("-"))
        assert row.p == grid[0, row.match, h, a]


def test_top_larger_than_the_grid_is_the_whole_grid_and_below_one_is_an_error():
    grid = score_grid(LAM, MU, np.array([0.0]), max_goals=3)
    assert len(exact_scores(grid, top=1000)) == 4 * 16
    with pytest.raises(ValueError, match="top"):
        exact_scores(grid, top=0)


def test_dixon_coles_scales_nil_nil_by_one_minus_lam_mu_rho_before_normalising():
    lam, mu, rho = np.array([[1.3, 0.7]]), np.array([[1.0, 1.6]]), -0.12
    goals = np.arange(11)
    plain = score_grid(lam, mu, np.array([0.0]), max_goals=10)[0]
    corrected = score_grid(lam, mu, np.array([rho]), max_goals=10)[0]
    for m in range(2):
        raw = np.outer(poisson.pmf(goals, lam[0, m]), poisson.pmf(goals, mu[0, m]))
        tau = np.ones_like(raw)
        tau[0, 0], tau[0, 1] = 1 - lam[0, m] * mu[0, m] * rho, 1 + lam[0, m] * rho
        tau[1, 0], tau[1, 1] = 1 + mu[0, m] * rho, 1 - rho
        scale = (raw * tau).sum()
        assert corrected[m, 0, 0] * scale == pytest.approx(raw[0, 0] * (1 - lam[0, m] * mu[0, m] * rho), rel=1e-12)
        # Cells τ leaves alone change only by the normalisation.
        assert corrected[m, 3, 2] / plain[m, 3, 2] == pytest.approx(raw.sum() / scale, rel=1e-12)


def test_several_draws_are_averaged_into_one_matrix():
    rng = np.random.default_rng(3)
    lam = np.exp(rng.normal(0.3, 0.3, (50, 3)))
    mu = np.exp(rng.normal(0.1, 0.3, (50, 3)))
    grid = score_grid(lam, mu, rng.uniform(-0.1, 0.0, 50), max_goals=12)
    mean = score_matrix_mean(grid)
    assert mean.shape == (3, 13, 13)
    np.testing.assert_allclose(mean, sum(grid[d] for d in range(50)) / 50, rtol=1e-12)
    np.testing.assert_allclose(mean.sum(axis=(-2, -1)), 1.0, atol=1e-12)
    out = outcome_summary(grid)
    per_draw = [outcome_summary(grid[d:d + 1]) for d in range(50)]
    for column in ("p_over_1_5", "p_over_2_5", "p_over_3_5", "p_btts", "expected_home_goals"):
        np.testing.assert_allclose(out[column], np.mean([p[column] for p in per_draw], axis=0), rtol=1e-12)
    # The exact scores come from the averaged matrix, not from any single draw.
    top = exact_scores(grid, top=1)
    h, a = np.divmod(mean.reshape(3, -1).argmax(axis=1), 13)
    assert list(top["score"]) == [f"{x}-{y}" for x, y in zip(h, a, strict=True)]
    np.testing.assert_allclose(top["p"], mean.reshape(3, -1).max(axis=1))
    np.testing.assert_allclose(out["p_most_likely_score"], top["p"])
    assert {"p_home_lo", "p_home_hi"} <= set(out.columns)
