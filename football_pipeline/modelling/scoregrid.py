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
    mean = grid.mean(axis=0)
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
    out["p_over_2_5"] = (mean * ((i + j) > 2.5)).sum(axis=(-2, -1))
    out["p_btts"] = (mean * ((i > 0) & (j > 0))).sum(axis=(-2, -1))
    flat = mean.reshape(len(mean), -1).argmax(axis=1)
    out["most_likely_score"] = [f"{k // grid.shape[-1]}-{k % grid.shape[-1]}" for k in flat]
    return out
