"""Bayesian Dixon-Coles, written once in NumPyro and sampled by NUTS on JAX (CPU, or GPU when JAX has one).

    log λ_home = μ + home[season] + attack[h] + defence[a]
    log λ_away = μ + attack[a] + defence[h]
    P(x, y) ∝ τ(x, y; λ_home, λ_away, ρ) Poisson(x; λ_home) Poisson(y; λ_away)      (Dixon & Coles 1997)

What the Poisson terms score is a team's *adjusted goals*: (1 - s)·goals + s·xG, with s = `xg_share`
where Understat's xG exists (goals alone elsewhere): chances created say more about a team's strength
than the few that went in. The Poisson log-density is evaluated at that non-integer count (a
quasi-likelihood, as in xG-based rating models), while τ and ρ are learned from the actual scores, so
the low-score correction keeps its meaning. Adjusted goals vary about half as much as Poisson counts
(`dispersion`), which the weights account for. With s = 0 this is the classic model. Measured on EPL
2018-23 with maximum likelihood (monthly refits, same windows): goals alone RPS 0.2024; s = 0.6 with a
half-life of ~6 months 0.1999, hence the defaults.

Attack and defence are hierarchical (centred), and sum to zero over the teams in the data; home
advantage follows a random walk over seasons; each match's log-likelihood is weighted by
exp(-ξ · days before the fit date) (Dixon-Coles time decay). Promoted teams (first season back in the
competition) get a shared attack/defence shift learned from the promotions in the window, on top of
their own matches; a team never seen gets the hierarchy's mean plus that shift. With
`BacktestConfig.lower_division` the windows (`backtest.window`) also hold the division below's earlier
seasons (E0: E1, goals only, so plain Poisson rows): last season's second-tier results rate the
promoted teams on the same scale, second-tier teams centre on a level of their own, and the shift is
what the step up costs beyond that.

Speed: arrays are padded to fixed capacities (padding has weight 0), so each jitted sampler compiles
once per padded size and every refit of a walk-forward backtest reuses it; chains are vectorised;
teams keep stable parameter slots; a refit within the same seasons continues from the previous
fit's final state with its adapted step size and mass matrix (`warm=True`: no warm-up at all), and a
refit after a season change re-adapts briefly (`warm_warmup`) from the previous position.
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
from numpyro.infer import MCMC, NUTS, init_to_median
from numpyro.infer.util import potential_energy

from football_pipeline.modelling.scoregrid import outcome_summary, score_grid

MODEL_TYPE = "bayesian_dixon_coles"


@dataclass(frozen=True)
class DixonColesConfig:
    xi: float = 0.004  # time decay per day (half-life about six months)
    xg_share: float = 0.6  # share of xG in the adjusted goals the Poisson terms score (0: goals only)
    # Quasi-likelihood dispersion of adjusted goals (variance / mean given the rates; Poisson: 1). Measured
    # on EPL windows 2016-2023 with s = 0.6: 0.44-0.51 (goals alone: 0.97-1.05). The weighted log-likelihood
    # is divided by it, so the posterior is as wide as the information in the data, not twice as wide.
    dispersion: float = 0.5
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    target_accept: float = 0.9
    # Trees of at most 2^5 leapfrog steps (the centred form takes about 15 per draw, the non-centred 31).
    # Measured on matchweek refits of EPL 2019-21 (xG windows, 4 x 500 draws, 87 fits): depth 4 took
    # 246 s with a median bulk ESS of 302 (R-hat up to 1.058), depth 5 325 s with 1,593 (R-hat <= 1.016,
    # 1 divergence), depth 6 432 s with 1,812 and 26 divergences.
    max_tree_depth: int = 5
    max_goals: int = 10
    warm_warmup: int = 200  # warm-up steps of a warm-started refit
    match_block: int = 256  # matches are padded up to a multiple of this: few shapes, few compilations
    team_capacity: int = 48  # E0 windows; with the division below (E0 + E1) up to 47 teams
    normalise_weights: bool = True
    season_capacity: int = 6
    # Scale of the HalfNormal prior on the home-advantage random walk's season-to-season step (log goals).
    home_step_scale: float = 0.05


def make_model(n_seasons: int, home_step_scale: float = 0.05):
    """The model for `n_seasons` home-advantage slots (a static shape, so the sampler compiles once)."""

    def model(home, away, season, weight, team_mask, home_new, away_new, home_goals=None, away_goals=None,
              home_score=None, away_score=None, team_lower=None):
        n_teams = jnp.sum(team_mask)
        sigma_attack = numpyro.sample("sigma_attack", dist.HalfNormal(0.5))
        sigma_defence = numpyro.sample("sigma_defence", dist.HalfNormal(0.5))
        # Teams of the division below (`team_lower`: each team's share of its window matches played there)
        # centre on a level of their own: one hierarchy over both divisions would take the gap between
        # them for spread among teams and shrink the top flight's best teams toward the second tier's.
        lower_attack = numpyro.sample("lower_attack", dist.Normal(-0.2, 0.3))
        lower_defence = numpyro.sample("lower_defence", dist.Normal(0.2, 0.3))
        lower = jnp.zeros_like(team_mask) if team_lower is None else team_lower
        # Centred: with a window of three seasons every team has dozens of matches, so the data pin each
        # team's level far more tightly than the hierarchy does, and the centred geometry is the better
        # conditioned one (non-centred needed deeper trees for the same R-hat). Padding slots sample a
        # standard normal that touches nothing.
        present = team_mask > 0
        with numpyro.plate("teams", team_mask.shape[0]):
            raw_attack = numpyro.sample("raw_attack", dist.Normal(jnp.where(present, lower_attack * lower, 0.0),
                                                                  jnp.where(present, sigma_attack, 1.0)))
            raw_defence = numpyro.sample("raw_defence", dist.Normal(jnp.where(present, lower_defence * lower, 0.0),
                                                                    jnp.where(present, sigma_defence, 1.0)))
        raw_attack = raw_attack * team_mask
        raw_defence = raw_defence * team_mask
        # Sum to zero over the teams present (padding slots are left out of the centring).
        attack = numpyro.deterministic("attack", (raw_attack - jnp.sum(raw_attack) / n_teams) * team_mask)
        defence = numpyro.deterministic("defence", (raw_defence - jnp.sum(raw_defence) / n_teams) * team_mask)
        intercept = numpyro.sample("intercept", dist.Normal(0.2, 0.5))
        # Home advantage: a random walk over seasons anchored at the newest season (the one predicted), so
        # the unused oldest slots of the fixed-size walk never blur the parameters the data inform.
        home_current = numpyro.sample("home_current", dist.Normal(0.25, 0.2))
        sigma_home = numpyro.sample("sigma_home", dist.HalfNormal(home_step_scale))
        z_home = numpyro.sample("z_home", dist.Normal(0.0, 1.0).expand([n_seasons - 1]).to_event(1))
        steps_back = jnp.cumsum((sigma_home * z_home)[::-1])[::-1]
        home_advantage = numpyro.deterministic(
            "home_advantage", home_current - jnp.concatenate([steps_back, jnp.zeros(1)]))
        rho = numpyro.sample("rho", dist.Uniform(-0.2, 0.2))
        # Promoted teams: a shift shared by every team in its first season up (learned from earlier
        # promotions in the window), on top of whatever its own matches say.
        promoted_attack = numpyro.sample("promoted_attack", dist.Normal(-0.1, 0.2))
        promoted_defence = numpyro.sample("promoted_defence", dist.Normal(0.1, 0.2))
        home_attack = attack[home] + promoted_attack * home_new
        away_attack = attack[away] + promoted_attack * away_new
        home_defence = defence[home] + promoted_defence * home_new
        away_defence = defence[away] + promoted_defence * away_new
        lam = jnp.exp(intercept + home_advantage[season] + home_attack + away_defence)
        mu = jnp.exp(intercept + away_attack + home_defence)
        if home_goals is not None:
            x = home_goals if home_score is None else home_score  # adjusted goals (see the docstring)
            y = away_goals if away_score is None else away_score
            # Poisson log-density written out: it is evaluated at non-integer adjusted goals, which
            # NumPyro's Poisson refuses when argument validation is on.
            loglik = _poisson_logpmf(x, lam) + _poisson_logpmf(y, mu)
            loglik = loglik + jnp.log(jnp.clip(_tau(home_goals, away_goals, lam, mu, rho), 1e-10))
            numpyro.factor("weighted_loglik", jnp.sum(weight * loglik))

    return model


def _has_xg(played: pd.DataFrame) -> np.ndarray:
    if "home_xg" not in played or "away_xg" not in played:
        return np.zeros(len(played), dtype=bool)
    return (np.isfinite(played["home_xg"].to_numpy(dtype=float))
            & np.isfinite(played["away_xg"].to_numpy(dtype=float)))


def adjusted_goals(played: pd.DataFrame, side: str, xg_share: float) -> np.ndarray:
    """(1 - xg_share)·goals + xg_share·xG for one side of each match; goals alone where xG is missing."""
    goals = played[f"{side}_goals"].to_numpy(dtype=float)
    if xg_share <= 0 or f"{side}_xg" not in played:
        return goals
    xg = played[f"{side}_xg"].to_numpy(dtype=float)
    return np.where(np.isfinite(xg), (1 - xg_share) * goals + xg_share * xg, goals)


def _poisson_logpmf(count, rate):
    count = jnp.asarray(count, dtype=jnp.result_type(float))
    return jax.scipy.special.xlogy(count, rate) - jax.scipy.special.gammaln(count + 1.0) - rate


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
    mode: str = "cold"  # cold | warm | continue: how the sampler started

    def team_index(self, team_id: str) -> int | None:
        try:
            return self.teams.index(team_id)
        except ValueError:
            return None


class BayesianDixonColes:
    """Fits reuse one compiled sampler (per configuration); see the module docstring."""

    def __init__(self, config: DixonColesConfig | None = None):
        self.config = config or DixonColesConfig()
        self._model = make_model(self.config.season_capacity, self.config.home_step_scale)
        self._samplers: dict[tuple[int, str], MCMC] = {}
        self._slots: dict[str, int] = {}  # team -> parameter slot, stable across refits
        self._state = None  # the last run's final state (position and adapted step size / mass matrix)
        self._state_seasons: tuple[str, ...] | None = None
        self._state_mask: np.ndarray | None = None  # the team slots present in the last fit
        self._energy_fn = None
        self._continue_fn = None

    def warm_state(self) -> dict | None:
        """What the next warm refit starts from: the last fit's final sampler state (positions, adapted step
        size and mass matrix), its seasons, the team slots it used. A walk-forward backtest keeps it after
        each refit so that a later walk can resume there (`backtest.WalkCheckpoint`); None before a fit."""
        if self._state is None:
            return None
        return {"state": self._state, "seasons": self._state_seasons, "mask": np.array(self._state_mask),
                "slots": dict(self._slots)}

    def restore_warm_state(self, saved: dict | None) -> None:
        """Continue from a `warm_state()` (None: as if nothing had been fitted). With the same seed, the
        next fit draws exactly what it would have drawn right after the fit that left the state."""
        if saved is None:
            self._state, self._state_seasons, self._state_mask, self._slots = None, None, None, {}
            return
        self._state, self._state_seasons = saved["state"], saved["seasons"]
        self._state_mask, self._slots = np.array(saved["mask"]), dict(saved["slots"])

    def _sampler(self, capacity: int, kind: str) -> MCMC:
        """One compiled sampler per (padded match count, kind): "cold" (full warm-up), "warm" (short
        warm-up from the last position). Continuing refits run in `_continue`."""
        key = (capacity, kind)
        if key not in self._samplers:
            warmup = {"cold": self.config.num_warmup, "warm": self.config.warm_warmup}[kind]
            self._samplers[key] = MCMC(
                # Chains start at the median of a few prior draws: from NumPyro's default uniform(-2, 2) a
                # centred chain can start a team five hierarchy-sigmas out and spend its warm-up there.
                NUTS(self._model, target_accept_prob=self.config.target_accept,
                     max_tree_depth=self.config.max_tree_depth, init_strategy=init_to_median(num_samples=15)),
                num_warmup=max(warmup, 1),
                num_samples=self.config.num_samples, num_chains=self.config.num_chains,
                chain_method="vectorized", progress_bar=False, jit_model_args=True)
        return self._samplers[key]

    def _continue(self, state, args: tuple, kwargs: dict):
        """`num_samples` NUTS transitions from `state` with its adapted step size and mass matrix, as one
        function jitted once per array shape. (NumPyro's `MCMC.run` re-traces its sampling loop on every
        call, which costs seconds per refit and keeps every compiled copy in memory: over a season of
        refits, gigabytes.)"""
        if self._continue_fn is None:
            # A kernel of our own, initialised on one chain so that its `sample` is the single-chain
            # transition, vectorised here. (The MCMC's kernel cannot be reused: whether its `sample` is
            # batched depends on how NumPyro last initialised it, and a second cold run changes that.)
            kernel = NUTS(self._model, target_accept_prob=self.config.target_accept,
                          max_tree_depth=self.config.max_tree_depth)
            one_chain = jax.tree_util.tree_map(lambda leaf: leaf[0], state.z)
            kernel.init(jax.random.PRNGKey(0), 0, one_chain, args, kwargs)
            transition = jax.vmap(kernel.sample, in_axes=(0, None, None))
            length = self.config.num_samples

            def run(start, model_args, model_kwargs):
                def step(current, _):
                    current = transition(current, model_args, model_kwargs)
                    return current, (current.z, current.diverging)

                end, (positions, diverging) = jax.lax.scan(step, start, None, length=length)
                constrain = kernel.postprocess_fn(model_args, model_kwargs)
                samples = jax.vmap(jax.vmap(constrain))(positions)  # (draws, chains, ...)
                return samples, diverging, end

            self._continue_fn = jax.jit(run)
        samples, diverging, end = self._continue_fn(state, args, kwargs)
        grouped = {k: np.swapaxes(np.asarray(v), 0, 1) for k, v in samples.items()}
        return grouped, np.asarray(diverging), end

    def _start_new_teams(self, z: dict, team_mask: np.ndarray, team_lower: np.ndarray) -> dict:
        """A team new to the window starts a warm refit at its hierarchy's centre: its slot's last position
        is a draw from the padding's standard normal, several hierarchy-sigmas out (the continuing refit
        has no warm-up to walk it back)."""
        new = (np.asarray(team_mask) > 0) & (self._state_mask == 0)
        if not new.any():
            return z
        z = dict(z)
        for site, level in (("raw_attack", "lower_attack"), ("raw_defence", "lower_defence")):
            centre = z[level][:, None] * jnp.asarray(team_lower)[None, :]
            z[site] = jnp.where(jnp.asarray(new)[None, :], centre, z[site])
        return z

    def _energy(self, z: dict, args: tuple, kwargs: dict):
        """Potential energy and its gradient at each chain's position `z`, for these model arguments."""
        if self._energy_fn is None:
            model = self._model

            def one(position, model_args, model_kwargs):
                return potential_energy(model, model_args, model_kwargs, position)

            self._energy_fn = jax.jit(jax.vmap(jax.value_and_grad(one), in_axes=(0, None, None)))
        return self._energy_fn(z, args, kwargs)

    def _assign_slots(self, teams: list[str]) -> list[int]:
        """Stable slots: a team keeps its parameters' position from one refit to the next, so a warm
        start continues each team's chain where it was; teams gone from the window free theirs."""
        capacity = self.config.team_capacity
        if len(teams) > capacity:
            raise ValueError(f"{len(teams)} teams exceed team_capacity {capacity}")
        wanted = set(teams)
        for team in teams:
            if team in self._slots:
                continue
            used = set(self._slots.values())
            free = [i for i in range(capacity) if i not in used]
            if not free:
                evict = next(t for t in self._slots if t not in wanted)
                free = [self._slots.pop(evict)]
            self._slots[team] = free[0]
        return [self._slots[t] for t in teams]

    def model_arrays(self, matches: pd.DataFrame, as_of: dt.date):
        """The window's matches and the padded model arguments for a fit as of `as_of`: (played, teams,
        seasons, slots, args, kwargs) with args = (home, away, season, weight, team_mask, home_new,
        away_new) and kwargs = {home_goals, away_goals}. Assigns the teams' parameter slots."""
        cfg = self.config
        played = matches[(pd.to_datetime(matches["match_date"]) < pd.Timestamp(as_of))
                         & matches["home_goals"].notna() & matches["away_goals"].notna()]
        seasons = sorted(played["season"].unique())[-cfg.season_capacity:]
        played = played[played["season"].isin(seasons)].sort_values("match_date")
        teams = sorted(set(played["home_team_id"]) | set(played["away_team_id"]))
        if played.empty:
            raise ValueError(f"no played matches before {as_of} to fit on")
        slots = self._assign_slots(teams)
        n = len(played)
        capacity = max(cfg.match_block, -(-n // cfg.match_block) * cfg.match_block)
        index = dict(zip(teams, slots, strict=True))
        season_index = {s: cfg.season_capacity - len(seasons) + i for i, s in enumerate(seasons)}
        arrays = {
            "home": np.zeros(capacity, dtype=np.int32),
            "away": np.zeros(capacity, dtype=np.int32),
            "season": np.zeros(capacity, dtype=np.int32),
            "weight": np.zeros(capacity, dtype=np.float32),
            "home_new": np.zeros(capacity, dtype=np.float32),
            "away_new": np.zeros(capacity, dtype=np.float32),
            "home_goals": np.zeros(capacity, dtype=np.int32),
            "away_goals": np.zeros(capacity, dtype=np.int32),
            "home_score": np.zeros(capacity, dtype=np.float32),
            "away_score": np.zeros(capacity, dtype=np.float32),
        }
        arrays["home"][:n] = played["home_team_id"].map(index).to_numpy()
        arrays["away"][:n] = played["away_team_id"].map(index).to_numpy()
        arrays["season"][:n] = played["season"].map(season_index).to_numpy()
        days = (pd.Timestamp(as_of) - pd.to_datetime(played["match_date"])).dt.days.to_numpy()
        weight = np.exp(-cfg.xi * days)
        # Decay sets the matches' relative say; scaled to a mean of one, the window still carries as much
        # information as it has matches (unscaled, the posterior would be too wide, the forecasts too timid).
        weight = weight / weight.mean() if cfg.normalise_weights else weight
        # The dispersion belongs to the rows scored on adjusted goals; rows without xG are plain Poisson.
        blended = _has_xg(played) if cfg.xg_share > 0 else np.zeros(n, dtype=bool)
        arrays["weight"][:n] = weight / np.where(blended, cfg.dispersion, 1.0)
        team_lower = np.zeros(cfg.team_capacity, dtype=np.float32)
        if "lower_division" in played:  # rows from the division below (`backtest.window`)
            below = played["lower_division"].to_numpy(dtype=bool)
            sides = pd.DataFrame({"team": np.concatenate([arrays["home"][:n], arrays["away"][:n]]),
                                  "weight": np.tile(weight, 2), "below": np.tile(weight * below, 2)})
            share = sides.groupby("team")[["below", "weight"]].sum()
            team_lower[share.index.to_numpy()] = (share["below"] / share["weight"]).to_numpy()
        for side in ("home", "away"):
            column = f"{side}_newness" if f"{side}_newness" in played else f"{side}_promoted"
            if column in played:
                arrays[f"{side}_new"][:n] = played[column].fillna(0).to_numpy(dtype=np.float32)
        arrays["home_goals"][:n] = played["home_goals"].astype(int).to_numpy()
        arrays["away_goals"][:n] = played["away_goals"].astype(int).to_numpy()
        for side in ("home", "away"):
            arrays[f"{side}_score"][:n] = adjusted_goals(played, side, cfg.xg_share)
        team_mask = np.zeros(cfg.team_capacity, dtype=np.float32)
        team_mask[slots] = 1.0

        args = (arrays["home"], arrays["away"], arrays["season"], arrays["weight"], team_mask,
                arrays["home_new"], arrays["away_new"])
        kwargs = {"home_goals": arrays["home_goals"], "away_goals": arrays["away_goals"],
                  "home_score": arrays["home_score"], "away_score": arrays["away_score"], "team_lower": team_lower}
        return played, teams, list(seasons), slots, args, kwargs

    def fit(self, matches: pd.DataFrame, as_of: dt.date, seed: int = 0, warm: bool = False) -> Posterior:
        """Fit on `matches` played before `as_of` (columns: match_date, season, home_team_id, away_team_id,
        home_goals, away_goals; optional home_newness/away_newness or home_promoted/away_promoted, see
        `data.with_promoted`)."""
        cfg = self.config
        played, teams, seasons, slots, args, kwargs = self.model_arrays(matches, as_of)
        n = len(played)
        capacity = len(args[0])

        started = time.perf_counter()
        rng = jax.random.PRNGKey(seed)
        if warm and self._state is not None:
            self._state = self._state._replace(z=self._start_new_teams(self._state.z, args[4], kwargs["team_lower"]))
        if warm and self._state is not None and self._state_seasons == tuple(seasons):
            # Same seasons as the last fit: go on from its final state with its adapted step size and
            # mass matrix, no warm-up (the posterior moved by a matchweek of data).
            # The state's potential energy and gradient belong to the old data: recompute them for the
            # new data, or NUTS would weigh the starting point by a stale energy (and never leave it).
            energy, gradient = self._energy(self._state.z, args, kwargs)
            state = self._state._replace(potential_energy=energy, z_grad=gradient,
                                         rng_key=jax.random.split(rng, cfg.num_chains))
            grouped, diverging, last = self._continue(state, args, kwargs)
            mode = "continue"
        elif warm and self._state is not None:
            # A new season in the window shifts the home-advantage walk: re-adapt briefly from the last position.
            mcmc = self._sampler(capacity, "warm")
            mcmc.run(rng, *args, init_params=self._state.z, **kwargs)
            mode = "warm"
        else:
            mcmc = self._sampler(capacity, "cold")
            mcmc.run(rng, *args, **kwargs)
            mode = "cold"
        if mode != "continue":
            last = mcmc.last_state
            grouped = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
            diverging = np.asarray(mcmc.get_extra_fields()["diverging"])
        self._state, self._state_seasons, self._state_mask = last, tuple(seasons), np.asarray(args[4])
        divergences = int(np.asarray(diverging).sum())
        seconds = time.perf_counter() - started
        diagnostics = _diagnostics(grouped, slots, len(seasons), cfg.season_capacity)
        diagnostics["divergences"] = divergences
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in grouped.items()}
        flat["attack"] = flat["attack"][:, slots]
        flat["defence"] = flat["defence"][:, slots]
        flat["home_advantage"] = flat["home_advantage"][:, cfg.season_capacity - len(seasons):]
        flat = {k: v for k, v in flat.items() if not k.startswith(("z_", "raw_"))}
        return Posterior(teams, list(seasons), flat, diagnostics, seconds, n, as_of, cfg, mode)


def _diagnostics(grouped: dict[str, np.ndarray], slots: list[int], n_seasons: int, capacity: int) -> dict[str, float]:
    """Worst R-hat and smallest bulk/tail ESS over the parameters that the data inform (ArviZ; NumPyro's
    split R-hat and ESS where ArviZ is not installed, e.g. on a bare GPU image).

    `r_hat_max` is the rank-normalised split R-hat of Vehtari et al. (2021), the larger of two halves
    reported beside it: `r_hat_bulk_max`, whether the chains agree on where each parameter lies, and
    `r_hat_folded_max`, computed on |draw - median|, whether they agree on its spread. NUTS draws here are
    antithetic in location (lag-1 autocorrelation about -0.25, bulk ESS above the number of draws) but
    positively autocorrelated in spread (about +0.34), so with 500 draws per chain the folded half is the
    noisier one and the one that crosses 1.01 (see README, "Not done yet")."""
    keep = {
        "attack": grouped["attack"][..., slots], "defence": grouped["defence"][..., slots],
        "home_advantage": grouped["home_advantage"][..., capacity - n_seasons:],
        **{k: grouped[k] for k in ("intercept", "rho", "sigma_attack", "sigma_defence", "home_current",
                                     "promoted_attack", "promoted_defence")},
    }
    try:
        import arviz as az
    except ImportError:
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

        rhat = max(float(np.nanmax(split_gelman_rubin(v))) for v in keep.values())
        ess = min(float(np.nanmin(effective_sample_size(v))) for v in keep.values())
        return {"r_hat_max": rhat, "r_hat_bulk_max": rhat, "r_hat_folded_max": float("nan"),
                "ess_bulk_min": ess, "ess_tail_min": float("nan")}
    data = az.from_dict(posterior=keep)

    def worst(statistic) -> float:
        return max(float(np.nanmax(statistic[v].values)) for v in statistic.data_vars)

    def least(statistic) -> float:
        return min(float(np.nanmin(statistic[v].values)) for v in statistic.data_vars)

    bulk, folded = worst(az.rhat(data, method="z_scale")), worst(az.rhat(data, method="folded"))
    # ArviZ's default ("rank") R-hat of each parameter is the larger of its two halves: so is the worst.
    return {"r_hat_max": max(bulk, folded), "r_hat_bulk_max": bulk, "r_hat_folded_max": folded,
            "ess_bulk_min": least(az.ess(data, method="bulk")), "ess_tail_min": least(az.ess(data, method="tail"))}


def score_matrices(posterior: Posterior, home_ids: list[str], away_ids: list[str], season: str | None = None,
                   draws: int | None = None, home_promoted=None, away_promoted=None) -> np.ndarray:
    """P(home goals = i, away goals = j) per posterior draw: (draws, matches, G+1, G+1)."""
    s = posterior.samples
    total = len(s["intercept"]) if draws is None else min(draws, len(s["intercept"]))
    pick = slice(0, total)

    def strength(key: str, team: str) -> np.ndarray:
        i = posterior.team_index(team)
        return s[key][pick, i] if i is not None else np.zeros(total)

    def flags(values) -> np.ndarray:
        return np.zeros(len(home_ids)) if values is None else np.nan_to_num(np.asarray(values, dtype=float))

    home_new, away_new = flags(home_promoted)[None, :], flags(away_promoted)[None, :]
    home_adv = s["home_advantage"][pick, -1] if season is None or season not in posterior.seasons else \
        s["home_advantage"][pick, posterior.seasons.index(season)]
    shift_attack = s["promoted_attack"][pick][:, None]
    shift_defence = s["promoted_defence"][pick][:, None]
    home_attack = np.stack([strength("attack", h) for h in home_ids], 1) + shift_attack * home_new
    away_attack = np.stack([strength("attack", a) for a in away_ids], 1) + shift_attack * away_new
    home_defence = np.stack([strength("defence", h) for h in home_ids], 1) + shift_defence * home_new
    away_defence = np.stack([strength("defence", a) for a in away_ids], 1) + shift_defence * away_new
    lam = np.exp(s["intercept"][pick][:, None] + home_adv[:, None] + home_attack + away_defence)
    mu = np.exp(s["intercept"][pick][:, None] + away_attack + home_defence)
    return score_grid(lam, mu, s["rho"][pick], posterior.config.max_goals)


def predict(posterior: Posterior, home_ids: list[str], away_ids: list[str], season: str | None = None,
            home_promoted=None, away_promoted=None) -> pd.DataFrame:
    """1X2 probabilities (posterior mean and 90% interval), expected goals, entropy, totals and BTTS."""
    grid = score_matrices(posterior, home_ids, away_ids, season, home_promoted=home_promoted,
                          away_promoted=away_promoted)
    out = outcome_summary(grid)
    out.insert(0, "home_team_id", list(home_ids))
    out.insert(1, "away_team_id", list(away_ids))
    return out
