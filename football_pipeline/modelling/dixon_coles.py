"""Bayesian Dixon-Coles, written once in NumPyro and sampled by NUTS on JAX (CPU, or GPU when JAX has one).

    log λ_home = μ + home[season] + attack[h] + defence[a]
    log λ_away = μ + attack[a] + defence[h]
    P(x, y) ∝ τ(x, y; λ_home, λ_away, ρ) Poisson(x; λ_home) Poisson(y; λ_away)      (Dixon & Coles 1997)

Attack and defence are hierarchical, non-centred and sum to zero over the teams in the data; home
advantage follows a random walk over seasons; each match's log-likelihood is weighted by
exp(-ξ · days before the fit date) (Dixon-Coles time decay). Teams never seen get the hierarchy's
mean (a league-average team).

Speed: arrays are padded to fixed capacities (padding has weight 0), so the jitted sampler compiles
once and every refit of a walk-forward backtest reuses it; chains are vectorised; a refit can start
from the previous fit's adapted step size and mass matrix (`warm=True`), skipping warm-up.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.infer import MCMC, NUTS

MODEL_TYPE = "bayesian_dixon_coles"


@dataclass(frozen=True)
class DixonColesConfig:
    xi: float = 0.0019  # time decay per day (half-life about a year)
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    target_accept: float = 0.9
    max_goals: int = 10
    warm_warmup: int = 200  # warm-up steps of a warm-started refit
    match_block: int = 256  # matches are padded up to a multiple of this: few shapes, few compilations
    team_capacity: int = 48
    season_capacity: int = 6


def make_model(n_seasons: int):
    """The model for `n_seasons` home-advantage slots (a static shape, so the sampler compiles once)."""

    def model(home, away, season, weight, team_mask, home_goals=None, away_goals=None):
        n_teams = jnp.sum(team_mask)
        sigma_attack = numpyro.sample("sigma_attack", dist.HalfNormal(0.5))
        sigma_defence = numpyro.sample("sigma_defence", dist.HalfNormal(0.5))
        with numpyro.plate("teams", team_mask.shape[0]):
            z_attack = numpyro.sample("z_attack", dist.Normal(0.0, 1.0))
            z_defence = numpyro.sample("z_defence", dist.Normal(0.0, 1.0))
        # Sum to zero over the teams present (padding slots are left out of the centring).
        attack = numpyro.deterministic(
            "attack", sigma_attack * (z_attack - jnp.sum(z_attack * team_mask) / n_teams) * team_mask)
        defence = numpyro.deterministic(
            "defence", sigma_defence * (z_defence - jnp.sum(z_defence * team_mask) / n_teams) * team_mask)
        intercept = numpyro.sample("intercept", dist.Normal(0.2, 0.5))
        home_first = numpyro.sample("home_first", dist.Normal(0.25, 0.2))
        sigma_home = numpyro.sample("sigma_home", dist.HalfNormal(0.05))
        z_home = numpyro.sample("z_home", dist.Normal(0.0, 1.0).expand([n_seasons - 1]).to_event(1))
        home_advantage = numpyro.deterministic(
            "home_advantage", home_first + jnp.concatenate([jnp.zeros(1), jnp.cumsum(sigma_home * z_home)]))
        rho = numpyro.sample("rho", dist.Uniform(-0.25, 0.25))
        lam = jnp.exp(intercept + home_advantage[season] + attack[home] + defence[away])
        mu = jnp.exp(intercept + attack[away] + defence[home])
        if home_goals is not None:
            loglik = dist.Poisson(lam).log_prob(home_goals) + dist.Poisson(mu).log_prob(away_goals)
            loglik = loglik + jnp.log(jnp.clip(_tau(home_goals, away_goals, lam, mu, rho), 1e-10))
            numpyro.factor("weighted_loglik", jnp.sum(weight * loglik))

    return model


def _tau(x, y, lam, mu, rho):
    return jnp.where(
        (x == 0) & (y == 0), 1 - lam * mu * rho,
        jnp.where((x == 0) & (y == 1), 1 + lam * rho,
                  jnp.where((x == 1) & (y == 0), 1 + mu * rho, jnp.where((x == 1) & (y == 1), 1 - rho, 1.0))))


@dataclass
class Posterior:
    teams: list[str]
    seasons: list[str]
    samples: dict[str, np.ndarray]  # flattened over chains
    diagnostics: dict[str, float]
    fit_seconds: float
    n_matches: int
    as_of: dt.date
    config: DixonColesConfig = field(default_factory=DixonColesConfig)

    def team_index(self, team_id: str) -> int | None:
        try:
            return self.teams.index(team_id)
        except ValueError:
            return None


class BayesianDixonColes:
    """Fits reuse one compiled sampler (per configuration); see the module docstring."""

    def __init__(self, config: DixonColesConfig | None = None):
        self.config = config or DixonColesConfig()
        model = make_model(self.config.season_capacity)
        common = {"num_samples": self.config.num_samples, "num_chains": self.config.num_chains,
                  "chain_method": "vectorized", "progress_bar": False, "jit_model_args": True}
        # Two samplers (each compiles once): a cold start, and short-warm-up refits from the last state.
        self._cold = MCMC(NUTS(model, target_accept_prob=self.config.target_accept),
                          num_warmup=self.config.num_warmup, **common)
        self._warm = MCMC(NUTS(model, target_accept_prob=self.config.target_accept),
                          num_warmup=self.config.warm_warmup, **common)
        self._last: dict | None = None

    def fit(self, matches: pd.DataFrame, as_of: dt.date, seed: int = 0, warm: bool = False) -> Posterior:
        """Fit on `matches` played before `as_of` (columns: match_date, season, home_team_id, away_team_id,
        home_goals, away_goals)."""
        cfg = self.config
        played = matches[(pd.to_datetime(matches["match_date"]) < pd.Timestamp(as_of))
                         & matches["home_goals"].notna() & matches["away_goals"].notna()]
        teams = sorted(set(played["home_team_id"]) | set(played["away_team_id"]))
        seasons = sorted(played["season"].unique())[-cfg.season_capacity:]
        played = played[played["season"].isin(seasons)].sort_values("match_date")
        teams = sorted(set(played["home_team_id"]) | set(played["away_team_id"]))
        capacity = max(cfg.match_block, -(-len(played) // cfg.match_block) * cfg.match_block)
        if len(teams) > cfg.team_capacity:
            raise ValueError(f"{len(teams)} teams exceed team_capacity {cfg.team_capacity}")
        n = len(played)
        index = {t: i for i, t in enumerate(teams)}
        season_index = {s: cfg.season_capacity - len(seasons) + i for i, s in enumerate(seasons)}
        arrays = {
            "home": np.zeros(capacity, dtype=np.int32),
            "away": np.zeros(capacity, dtype=np.int32),
            "season": np.zeros(capacity, dtype=np.int32),
            "weight": np.zeros(capacity, dtype=np.float32),
            "home_goals": np.zeros(capacity, dtype=np.int32),
            "away_goals": np.zeros(capacity, dtype=np.int32),
        }
        arrays["home"][:n] = played["home_team_id"].map(index).to_numpy()
        arrays["away"][:n] = played["away_team_id"].map(index).to_numpy()
        arrays["season"][:n] = played["season"].map(season_index).to_numpy()
        days = (pd.Timestamp(as_of) - pd.to_datetime(played["match_date"])).dt.days.to_numpy()
        arrays["weight"][:n] = np.exp(-cfg.xi * days)
        arrays["home_goals"][:n] = played["home_goals"].astype(int).to_numpy()
        arrays["away_goals"][:n] = played["away_goals"].astype(int).to_numpy()
        team_mask = np.zeros(cfg.team_capacity, dtype=np.float32)
        team_mask[: len(teams)] = 1.0

        started = time.perf_counter()
        args = (arrays["home"], arrays["away"], arrays["season"], arrays["weight"], team_mask)
        kwargs = {"home_goals": arrays["home_goals"], "away_goals": arrays["away_goals"]}
        if warm and self._last is not None:
            # Start each chain where the previous fit's chain ended; a short warm-up re-adapts.
            mcmc = self._warm
            mcmc.run(jax.random.PRNGKey(seed), *args, init_params=self._last, **kwargs)
        else:
            mcmc = self._cold
            mcmc.run(jax.random.PRNGKey(seed), *args, **kwargs)
        self._last = mcmc.last_state.z
        grouped = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
        seconds = time.perf_counter() - started
        diagnostics = _diagnostics(grouped, len(teams), len(seasons), cfg.season_capacity)
        diagnostics["divergences"] = divergences
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in grouped.items()}
        flat["attack"] = flat["attack"][:, : len(teams)]
        flat["defence"] = flat["defence"][:, : len(teams)]
        flat["home_advantage"] = flat["home_advantage"][:, cfg.season_capacity - len(seasons):]
        return Posterior(teams, list(seasons), flat, diagnostics, seconds, n, as_of, cfg)


def _diagnostics(grouped: dict[str, np.ndarray], n_teams: int, n_seasons: int, capacity: int) -> dict[str, float]:
    """Worst R-hat and smallest bulk/tail ESS over the parameters that the data inform (ArviZ; NumPyro's
    split R-hat and ESS where ArviZ is not installed, e.g. on a bare GPU image)."""
    keep = {
        "attack": grouped["attack"][..., :n_teams], "defence": grouped["defence"][..., :n_teams],
        "home_advantage": grouped["home_advantage"][..., capacity - n_seasons:],
        **{k: grouped[k] for k in ("intercept", "rho", "sigma_attack", "sigma_defence", "home_first")},
    }
    try:
        import arviz as az
    except ImportError:
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

        rhat = max(float(np.nanmax(split_gelman_rubin(v))) for v in keep.values())
        ess = min(float(np.nanmin(effective_sample_size(v))) for v in keep.values())
        return {"r_hat_max": rhat, "ess_bulk_min": ess, "ess_tail_min": float("nan")}
    data = az.from_dict(posterior=keep)
    rhat = az.rhat(data)
    bulk = az.ess(data, method="bulk")
    tail = az.ess(data, method="tail")
    highest = max(float(np.nanmax(rhat[v].values)) for v in rhat.data_vars)
    lowest_bulk = min(float(np.nanmin(bulk[v].values)) for v in bulk.data_vars)
    lowest_tail = min(float(np.nanmin(tail[v].values)) for v in tail.data_vars)
    return {"r_hat_max": highest, "ess_bulk_min": lowest_bulk, "ess_tail_min": lowest_tail}


def score_matrices(posterior: Posterior, home_ids: list[str], away_ids: list[str], season: str | None = None,
                   draws: int | None = None) -> np.ndarray:
    """P(home goals = i, away goals = j) per posterior draw: (draws, matches, G+1, G+1)."""
    s = posterior.samples
    total = len(s["intercept"]) if draws is None else min(draws, len(s["intercept"]))
    pick = slice(0, total)

    def strength(key: str, team: str) -> np.ndarray:
        i = posterior.team_index(team)
        return s[key][pick, i] if i is not None else np.zeros(total)

    home_adv = s["home_advantage"][pick, -1] if season is None or season not in posterior.seasons else \
        s["home_advantage"][pick, posterior.seasons.index(season)]
    lam = np.exp(s["intercept"][pick][:, None] + home_adv[:, None]
                 + np.stack([strength("attack", h) for h in home_ids], 1)
                 + np.stack([strength("defence", a) for a in away_ids], 1))
    mu = np.exp(s["intercept"][pick][:, None] + np.stack([strength("attack", a) for a in away_ids], 1)
                + np.stack([strength("defence", h) for h in home_ids], 1))
    goals = np.arange(posterior.config.max_goals + 1)
    from scipy.stats import poisson

    px = poisson.pmf(goals[None, None, :], lam[..., None])
    py = poisson.pmf(goals[None, None, :], mu[..., None])
    grid = px[..., :, None] * py[..., None, :]
    rho = s["rho"][pick][:, None]
    grid[..., 0, 0] *= 1 - lam * mu * rho
    grid[..., 0, 1] *= 1 + lam * rho
    grid[..., 1, 0] *= 1 + mu * rho
    grid[..., 1, 1] *= 1 - rho
    return grid / grid.sum(axis=(-2, -1), keepdims=True)


def predict(posterior: Posterior, home_ids: list[str], away_ids: list[str], season: str | None = None) -> pd.DataFrame:
    """1X2 probabilities (posterior mean and 90% interval), expected goals, entropy, totals and BTTS."""
    grid = score_matrices(posterior, home_ids, away_ids, season)
    i, j = np.indices(grid.shape[-2:])
    home_win = (grid * (i > j)).sum(axis=(-2, -1))
    draw = (grid * (i == j)).sum(axis=(-2, -1))
    away_win = (grid * (i < j)).sum(axis=(-2, -1))
    mean = grid.mean(axis=0)
    p = np.stack([home_win.mean(0), draw.mean(0), away_win.mean(0)], axis=1)
    p = p / p.sum(axis=1, keepdims=True)
    out = pd.DataFrame({"home_team_id": home_ids, "away_team_id": away_ids,
                        "p_home": p[:, 0], "p_draw": p[:, 1], "p_away": p[:, 2]})
    for name, values in (("home", home_win), ("draw", draw), ("away", away_win)):
        out[f"p_{name}_lo"] = np.quantile(values, 0.05, axis=0)
        out[f"p_{name}_hi"] = np.quantile(values, 0.95, axis=0)
    out["expected_home_goals"] = (mean * i).sum(axis=(-2, -1))
    out["expected_away_goals"] = (mean * j).sum(axis=(-2, -1))
    out["entropy"] = -(p * np.log(np.clip(p, 1e-15, 1))).sum(axis=1)
    out["p_over_2_5"] = (mean * ((i + j) > 2.5)).sum(axis=(-2, -1))
    out["p_btts"] = (mean * ((i > 0) & (j > 0))).sum(axis=(-2, -1))
    return out
