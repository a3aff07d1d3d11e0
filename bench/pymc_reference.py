"""PyMC transcription of the product's Bayesian Dixon-Coles model: a reference for the speed ratio only.

This module exists ONLY so that `bench/bench_dixon_coles.py` can time PyMC's default sampler
(`pm.sample()`: NUTS on PyTensor's C backend, 1,000 tuning + 1,000 draws per chain) on exactly the
same model and the same data as the product's NumPyro fit, as the models issue asks ("report the
ratio against PyMC's default sampler on the same model in the same run"). The product never imports
it: the model is written once, in NumPyro (`football_pipeline/modelling/dixon_coles.py`, `make_model`).

"The same model" is checked, not assumed: `football_pipeline_tests/bench/test_pymc_reference.py`
evaluates both log densities at several points on real Premier League data and requires them to
agree up to one constant that is the same at every point (both libraries keep every normalising
constant, so it is zero in practice: about 6e-9 nats), both on the constrained values (no Jacobian)
and in the unconstrained space the samplers move in (with the transforms' Jacobians; the coordinates
are the same in both libraries: log for the scales, logit for rho's interval).

Transcribed site by site from `make_model`:
  * sigma_attack, sigma_defence ~ HalfNormal(0.5); lower_attack ~ Normal(-0.2, 0.3), lower_defence ~
    Normal(0.2, 0.3); raw_attack ~ Normal(lower_attack * team_lower, sigma_attack) over the teams in the
    data (`team_lower`: each team's share of lower-division matches), Normal(0, 1) over padding slots
    (pure prior in both), the same for raw_defence (centred); attack/defence = (raw - mean of raw over
    the masked teams) * mask (sum to zero over the teams in the data);
  * intercept ~ Normal(0.2, 0.5);
  * home_current ~ Normal(0.25, 0.2), sigma_home ~ HalfNormal(0.05), z_home ~ Normal(0, 1) over the
    n_seasons - 1 older slots; home_advantage = home_current - [reverse cumsum of sigma_home * z_home, 0]
    (a random walk anchored at the newest season);
  * rho ~ Uniform(-0.2, 0.2); promoted_attack ~ Normal(-0.1, 0.2), promoted_defence ~ Normal(0.1, 0.2)
    added to a promoted team's attack/defence;
  * Potential = sum(weight * (Poisson(x; lam) + Poisson(y; mu) + log(max(tau, 1e-10)))).

The padded arrays are the ones `BayesianDixonColes.fit` samples on: `fit_arrays` below calls the
product's `model_arrays` (time-decay weights scaled to a mean of one, promoted-team newness).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from football_pipeline.modelling.dixon_coles import BayesianDixonColes, DixonColesConfig


def fit_arrays(matches: pd.DataFrame, as_of: dt.date, config: DixonColesConfig | None = None) -> dict:
    """The padded model arguments a fresh `BayesianDixonColes` fits on (`model_arrays`, the product's own
    code): {"args": (home, away, season, weight, team_mask, home_new, away_new), "kwargs": {home_goals,
    away_goals, home_score, away_score}, "teams", "seasons", "n"}."""
    played, teams, seasons, _, args, kwargs = BayesianDixonColes(config).model_arrays(matches, as_of)
    return {"args": args, "kwargs": kwargs, "teams": teams, "seasons": seasons, "n": len(played)}


def _tau(x, y, lam, mu, rho):
    return pt.switch(
        pt.eq(x, 0) & pt.eq(y, 0), 1 - lam * mu * rho,
        pt.switch(pt.eq(x, 0) & pt.eq(y, 1), 1 + lam * rho,
                  pt.switch(pt.eq(x, 1) & pt.eq(y, 0), 1 + mu * rho,
                            pt.switch(pt.eq(x, 1) & pt.eq(y, 1), 1 - rho, 1.0))))


def make_pymc_model(home, away, season, weight, team_mask, home_new, away_new, home_goals, away_goals,
                    home_score=None, away_score=None, team_lower=None, n_seasons: int | None = None) -> pm.Model:
    """The PyMC model on the product's padded arrays (argument order as `make_model`'s model function).
    `n_seasons`: the home-advantage slots (the product's `season_capacity`; default the config's)."""
    n_seasons = n_seasons or DixonColesConfig().season_capacity
    mask = np.asarray(team_mask, dtype=np.float64)
    x = np.asarray(home_goals, dtype=np.int64)
    y = np.asarray(away_goals, dtype=np.int64)
    # Adjusted goals (the product's xG blend) in the Poisson terms; the actual scores in τ.
    xs = np.asarray(x if home_score is None else home_score, dtype=np.float64)
    ys = np.asarray(y if away_score is None else away_score, dtype=np.float64)
    home, away, season = (np.asarray(v, dtype=np.int64) for v in (home, away, season))
    home_new, away_new, weight = (np.asarray(v, dtype=np.float64) for v in (home_new, away_new, weight))
    lower = np.zeros_like(mask) if team_lower is None else np.asarray(team_lower, dtype=np.float64)
    with pm.Model() as model:
        n_teams = mask.sum()
        sigma_attack = pm.HalfNormal("sigma_attack", 0.5)
        sigma_defence = pm.HalfNormal("sigma_defence", 0.5)
        lower_attack = pm.Normal("lower_attack", -0.2, 0.3)
        lower_defence = pm.Normal("lower_defence", 0.2, 0.3)
        present = mask > 0
        raw_attack = pm.Normal("raw_attack", pt.switch(present, lower_attack * lower, 0.0),
                               pt.switch(present, sigma_attack, 1.0), shape=mask.shape[0]) * mask
        raw_defence = pm.Normal("raw_defence", pt.switch(present, lower_defence * lower, 0.0),
                                pt.switch(present, sigma_defence, 1.0), shape=mask.shape[0]) * mask
        attack = pm.Deterministic("attack", (raw_attack - pt.sum(raw_attack) / n_teams) * mask)
        defence = pm.Deterministic("defence", (raw_defence - pt.sum(raw_defence) / n_teams) * mask)
        intercept = pm.Normal("intercept", 0.2, 0.5)
        home_current = pm.Normal("home_current", 0.25, 0.2)
        sigma_home = pm.HalfNormal("sigma_home", 0.05)
        z_home = pm.Normal("z_home", 0.0, 1.0, shape=n_seasons - 1)
        steps_back = pt.cumsum((sigma_home * z_home)[::-1])[::-1]
        home_advantage = pm.Deterministic(
            "home_advantage", home_current - pt.concatenate([steps_back, pt.zeros(1)]))
        rho = pm.Uniform("rho", -0.2, 0.2)
        promoted_attack = pm.Normal("promoted_attack", -0.1, 0.2)
        promoted_defence = pm.Normal("promoted_defence", 0.1, 0.2)
        home_attack = attack[home] + promoted_attack * home_new
        away_attack = attack[away] + promoted_attack * away_new
        home_defence = defence[home] + promoted_defence * home_new
        away_defence = defence[away] + promoted_defence * away_new
        lam = pt.exp(intercept + home_advantage[season] + home_attack + away_defence)
        mu = pt.exp(intercept + away_attack + home_defence)
        # Poisson log-density at a non-integer count, as jax.scipy / NumPyro evaluate it (PyMC's Poisson
        # accepts integers only).
        loglik = (xs * pt.log(lam) - lam - pt.gammaln(xs + 1.0)) + (ys * pt.log(mu) - mu - pt.gammaln(ys + 1.0))
        loglik = loglik + pt.log(pt.maximum(_tau(x, y, lam, mu, rho), 1e-10))
        pm.Potential("weighted_loglik", pt.sum(weight * loglik))
    return model
