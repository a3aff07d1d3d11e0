"""The Dixon-Coles score matrix and everything that falls out of it (1X2, expected goals, totals,
both-teams-to-score, exact scores), shared by the Bayesian and maximum-likelihood models."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson


def score_grid(lam: np.ndarray, mu: np.ndarray, rho: np.ndarray, max_goals: int = 10) -> np.ndarray:
    """P(home goals = i, away goals = j) for rates `lam`, `mu` of shape (draws, matches) and `rho` of
    shape (draws,): an array (draws, matches, G+1, G+1), each matrix normalised to 1."""
    goals = np.arange(max_goals + 1)
    px = poisson.pmf(goals[None, None, :], lam[..., None])
    py = poisson.pmf(goals[None, None, :], mu[..., None])
    grid = px[..., :, None] * py[..., None, :]
    rho = np.asarray(rho)[:, None]
    grid[..., 0, 0] *= 1 - lam * mu * rho
    grid[..., 0, 1] *= 1 + lam * rho
    grid[..., 1, 0] *= 1 + mu * rho
    grid[..., 1, 1] *= 1 - rho
    grid = np.clip(grid, 0.0, None)
    return grid / grid.sum(axis=(-2, -1), keepdims=True)


def outcome_summary(grid: np.ndarray) -> pd.DataFrame:
    """Posterior-mean (or point) probabilities from a (draws, matches, G+1, G+1) grid; with several
    draws also the 90% interval of each 1X2 probability."""
    i, j = np.indices(grid.shape[-2:])
    home_win = (grid * (i > j)).sum(axis=(-2, -1))
    draw = (grid * (i == j)).sum(axis=(-2, -1))
    away_win = (grid * (i < j)).sum(axis=(-2, -1))
    mean = score_matrix_mean(grid)
    p = np.stack([home_win.mean(0), draw.mean(0), away_win.mean(0)], axis=1)
    p = p / p.sum(axis=1, keepdims=True)
    out = pd.DataFrame({"p_home": p[:, 0], "p_draw": p[:, 1], "p_away": p[:, 2]})
    if grid.shape[0] > 1:
        for name, values in (("home", home_win), ("draw", draw), ("away", away_win)):
            out[f"p_{name}_lo"] = np.quantile(values, 0.05, axis=0)
            out[f"p_{name}_hi"] = np.quantile(values, 0.95, axis=0)
    out["expected_home_goals"] = (mean * i).sum(axis=(-2, -1))
    out["expected_away_goals"] = (mean * j).sum(axis=(-2, -1))
    out["entropy"] = -(p * np.log(np.clip(p, 1e-15, 1))).sum(axis=1)
    out["p_over_2_5"] = _over(mean, 2.5)
    out["p_btts"] = (mean * ((i > 0) & (j > 0))).sum(axis=(-2, -1))
    flat = mean.reshape(len(mean), -1)
    best = flat.argmax(axis=1)
    out["most_likely_score"] = _labels(*np.divmod(best, grid.shape[-1]))
    out["p_most_likely_score"] = flat[np.arange(len(flat)), best]
    out["p_over_1_5"] = _over(mean, 1.5)
    out["p_over_3_5"] = _over(mean, 3.5)
    return out


def score_matrix_mean(grid: np.ndarray) -> np.ndarray:
    """The posterior predictive score matrix (matches, G+1, G+1): the average of the draws' matrices,
    each normalised, so it sums to 1 and every market below is read off the same numbers."""
    return np.asarray(grid).mean(axis=0)


def exact_scores(grid: np.ndarray, top: int = 5) -> pd.DataFrame:
    """The `top` most likely exact scores per match from the posterior-mean matrix, in long form
    (match = row position in the grid, score "h-a", p), most likely first; ties keep grid order, so the
    first row of each match is `outcome_summary`'s most_likely_score."""
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    mean = score_matrix_mean(grid)
    flat = mean.reshape(len(mean), -1)
    top = min(top, flat.shape[1])
    order = np.argsort(-flat, axis=1, kind="stable")[:, :top]
    home, away = np.divmod(order.ravel(), mean.shape[-1])
    return pd.DataFrame({"match": np.repeat(np.arange(len(flat)), top), "score": _labels(home, away),
                         "p": np.take_along_axis(flat, order, axis=1).ravel()})


def _over(mean: np.ndarray, line: float) -> np.ndarray:
    """P(total goals > line) from a (matches, G+1, G+1) matrix."""
    i, j = np.indices(mean.shape[-2:])
    return (mean * ((i + j) > line)).sum(axis=(-2, -1))


def _labels(home: np.ndarray, away: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.add(home.astype(str), "-"), away.astype(str))
