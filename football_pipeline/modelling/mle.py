"""Maximum-likelihood Dixon-Coles (Dixon & Coles 1997), time-weighted: the reference the Bayesian model
must beat, and the source of the point-in-time "Dixon-Coles strengths" features.

Same likelihood as `dixon_coles.make_model` (Poisson terms on adjusted goals, low-score correction τ
on the actual scores, exp(-ξ·days) weights), fitted by L-BFGS on a jitted JAX gradient. Arrays are padded to fixed capacities so the
gradient compiles once for a whole backtest. Sum-to-zero attack/defence via a quadratic penalty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import minimize

from football_pipeline.modelling.dixon_coles import adjusted_goals
from football_pipeline.modelling.scoregrid import outcome_summary, score_grid

MODEL_TYPE = "dixon_coles_mle"


@dataclass(frozen=True)
class MLEConfig:
    xi: float = 0.004
    xg_share: float = 0.6  # as DixonColesConfig.xg_share: the same model, fitted by maximum likelihood
    team_capacity: int = 96
    match_block: int = 512
    max_goals: int = 10


@dataclass
class MLEFit:
    teams: list[str]
    attack: np.ndarray
    defence: np.ndarray
    intercept: float
    home: float
    rho: float
    n_matches: int
    as_of: dt.date
    converged: bool

    def strengths(self, team_id: str) -> tuple[float, float]:
        try:
            i = self.teams.index(team_id)
        except ValueError:
            return 0.0, 0.0
        return float(self.attack[i]), float(self.defence[i])


def _negative_loglik(params, home, away, weight, home_goals, away_goals, home_score, away_score, team_mask,
                     capacity):
    attack = params[:capacity] * team_mask
    defence = params[capacity:2 * capacity] * team_mask
    intercept, home_adv, raw_rho = params[2 * capacity], params[2 * capacity + 1], params[2 * capacity + 2]
    rho = 0.2 * jnp.tanh(raw_rho)
    lam = jnp.exp(intercept + home_adv + attack[home] + defence[away])
    mu = jnp.exp(intercept + attack[away] + defence[home])
    x, y = home_goals, away_goals
    tau = jnp.where((x == 0) & (y == 0), 1 - lam * mu * rho,
                    jnp.where((x == 0) & (y == 1), 1 + lam * rho,
                              jnp.where((x == 1) & (y == 0), 1 + mu * rho,
                                        jnp.where((x == 1) & (y == 1), 1 - rho, 1.0))))
    loglik = (home_score * jnp.log(lam) - lam + away_score * jnp.log(mu) - mu
              - jax.scipy.special.gammaln(home_score + 1.0) - jax.scipy.special.gammaln(away_score + 1.0)
              + jnp.log(jnp.clip(tau, 1e-10)))
    penalty = 100.0 * (jnp.sum(attack) ** 2 + jnp.sum(defence) ** 2) + 1e-4 * (
        jnp.sum(attack ** 2) + jnp.sum(defence ** 2))
    return -jnp.sum(weight * loglik) / jnp.maximum(jnp.sum(weight), 1.0) * 1000.0 + penalty


_value_and_grad = jax.jit(jax.value_and_grad(_negative_loglik), static_argnums=(9,))


def window_arrays(played: pd.DataFrame, teams: list[str], as_of: dt.date, xi: float, capacity: int,
                  xg_share: float = 0.0):
    index = {t: i for i, t in enumerate(teams)}
    n = len(played)
    size = max(capacity, -(-n // capacity) * capacity)
    out = {k: np.zeros(size, dtype=np.int32) for k in ("home", "away", "home_goals", "away_goals")}
    out["weight"] = np.zeros(size, dtype=np.float32)
    out["home"][:n] = played["home_team_id"].map(index).to_numpy()
    out["away"][:n] = played["away_team_id"].map(index).to_numpy()
    out["home_goals"][:n] = played["home_goals"].astype(int).to_numpy()
    out["away_goals"][:n] = played["away_goals"].astype(int).to_numpy()
    for side in ("home", "away"):
        out[f"{side}_score"] = np.zeros(size, dtype=np.float32)
        out[f"{side}_score"][:n] = adjusted_goals(played, side, xg_share)
    days = (pd.Timestamp(as_of) - pd.to_datetime(played["match_date"])).dt.days.to_numpy()
    out["weight"][:n] = np.exp(-xi * days)
    return out


class DixonColesMLE:
    def __init__(self, config: MLEConfig | None = None):
        self.config = config or MLEConfig()
        self._last: dict[str, float] = {}

    def warm_state(self) -> dict[str, float]:
        """Where the next fit starts (the last fit's estimates): saved to resume a walk bit for bit."""
        return dict(self._last)

    def restore_warm_state(self, state: dict[str, float]) -> None:
        self._last = dict(state)

    def fit(self, played: pd.DataFrame, as_of: dt.date) -> MLEFit:
        """Fit on `played` (matches before `as_of` with goals; the caller picks the window)."""
        cfg = self.config
        played = played[played["home_goals"].notna() & (pd.to_datetime(played["match_date"]) < pd.Timestamp(as_of))]
        teams = sorted(set(played["home_team_id"]) | set(played["away_team_id"]))
        if len(teams) > cfg.team_capacity:
            raise ValueError(f"{len(teams)} teams exceed team_capacity {cfg.team_capacity}")
        arrays = window_arrays(played, teams, as_of, cfg.xi, cfg.match_block, cfg.xg_share)
        capacity = cfg.team_capacity
        mask = np.zeros(capacity, dtype=np.float32)
        mask[: len(teams)] = 1.0
        start = np.zeros(2 * capacity + 3)
        start[2 * capacity], start[2 * capacity + 1] = 0.2, 0.25
        for i, team in enumerate(teams):  # warm start from the previous fit
            if f"a:{team}" in self._last:
                start[i], start[capacity + i] = self._last[f"a:{team}"], self._last[f"d:{team}"]
        if "intercept" in self._last:
            start[2 * capacity:] = self._last["intercept"], self._last["home"], self._last["raw_rho"]
        args = (arrays["home"], arrays["away"], arrays["weight"], arrays["home_goals"], arrays["away_goals"],
                arrays["home_score"], arrays["away_score"], mask, capacity)

        def objective(x):
            value, grad = _value_and_grad(jnp.asarray(x, dtype=jnp.float32), *args)
            return float(value), np.asarray(grad, dtype=float)

        result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        x = result.x
        attack, defence = x[:capacity][: len(teams)], x[capacity:2 * capacity][: len(teams)]
        self._last = {**{f"a:{t}": attack[i] for i, t in enumerate(teams)},
                      **{f"d:{t}": defence[i] for i, t in enumerate(teams)},
                      "intercept": x[2 * capacity], "home": x[2 * capacity + 1], "raw_rho": x[2 * capacity + 2]}
        return MLEFit(teams, attack.copy(), defence.copy(), float(x[2 * capacity]), float(x[2 * capacity + 1]),
                      float(0.2 * np.tanh(x[2 * capacity + 2])), len(played), as_of, bool(result.success))

    def predict(self, fit: MLEFit, home_ids, away_ids) -> pd.DataFrame:
        ha = np.array([fit.strengths(t) for t in home_ids]).reshape(-1, 2)
        aa = np.array([fit.strengths(t) for t in away_ids]).reshape(-1, 2)
        lam = np.exp(fit.intercept + fit.home + ha[:, 0] + aa[:, 1])
        mu = np.exp(fit.intercept + aa[:, 0] + ha[:, 1])
        grid = score_grid(lam[None], mu[None], np.array([fit.rho]), self.config.max_goals)
        out = outcome_summary(grid)
        out.insert(0, "home_team_id", list(home_ids))
        out.insert(1, "away_team_id", list(away_ids))
        return out
